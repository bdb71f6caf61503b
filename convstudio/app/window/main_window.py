"""The main window: the input beside the selected layer's feature maps, the layer stack, the
kernel editor and the layer parameters in docks, menus, toolbar and status bar.

:class:`MainWindow` wires the rooms together: the Document (image, pipeline, selection), the
Renderer, the panels and views, and the Learn and Insight controllers. Its parts live beside it:
:mod:`~convstudio.app.window.layout` (central views, docks, status bar, saved geometry),
:mod:`~convstudio.app.window.actions` (actions, menus, toolbar, the View and Help commands),
:mod:`~convstudio.app.window.files` (opening, saving, recent files, drops, paste, export) and
:mod:`~convstudio.app.window.layer_display` (what the views and titles show, and messages).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from convstudio.app.model.document import Document
from convstudio.app.model.renderer import Renderer
from convstudio.app.model.worker import process_events_until
from convstudio.app.views.feature_view import Placement
from convstudio.app.window.actions import DEFAULT_LAYER_MODE, WindowActions
from convstudio.app.window.files import (
    IMAGE_FILTER,
    MAX_RECENT,
    PIPELINE_FILTER,
    WindowFiles,
    _ImageLoader,
    default_pipeline,
    qimage_to_array,
)
from convstudio.app.window.insight import InsightController
from convstudio.app.window.layer_display import LayerDisplay
from convstudio.app.window.layout import WindowLayout
from convstudio.app.window.learn import LearnController
from convstudio.core import Conv2d, PipelineError
from convstudio.resources import resource_path

__all__ = ["MainWindow", "default_pipeline", "qimage_to_array", "MAX_RECENT", "IMAGE_FILTER",
           "PIPELINE_FILTER", "DEFAULT_LAYER_MODE"]


class MainWindow(WindowLayout, WindowActions, WindowFiles, LayerDisplay, QMainWindow):
    """ConvStudio's main window.

    The document's state is not here: the Document holds the image, the pipeline and the
    selection, and the Renderer computes. The window holds what belongs to the screen and the
    session: its widgets, docks and actions (``actions_by_name``, ``mode_actions``); the settings
    store it saves its layout and recent files to; caches of what the views show, so that an
    unchanged map is not redrawn; the background image loads and a token that drops a stale
    one; the one error dialog open; and whether it is closing, so that shutting down happens once.

    Parameters
    ----------
    document, renderer : optional
        Made here if not given. The window shuts the renderer down when it closes.
    settings : QSettings, optional
        Where geometry, dock layout and recent files live (tests pass a temporary one).
    first_launch : bool
        Load the default sample and pipeline so that the window is never empty.
    """

    #: Every status-bar message (what an action did, or why it was refused).
    statusMessage = Signal(str)

    def __init__(self, document: Document | None = None, renderer: Renderer | None = None, *,
                 settings: QSettings | None = None, first_launch: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConvStudioMainWindow")
        self.doc = document if document is not None else Document(self)
        self.renderer = renderer if renderer is not None else Renderer(self.doc, self)
        self.settings = settings if settings is not None else QSettings("ConvStudio", "ConvStudio")
        # What is on screen, so that nothing is redrawn that has not changed (LayerDisplay).
        self._shown_input: np.ndarray | None = None
        self._shown_output: np.ndarray | None = None
        self._shown_placement: Placement | None = None
        self._shown_index = -1
        self._kernel_hint = ""  # why the kernel editor is empty, as it says now
        self._error_box: QMessageBox | None = None  # the one error dialog open, if any
        self._closing = False
        self._loaders: set[_ImageLoader] = set()  # background image reads (WindowFiles)
        self._load_token = 0  # the newest image load; older results are dropped

        self.setWindowTitle("ConvStudio")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        icon = resource_path("icons", "convstudio.svg")
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))

        self._build_centre()
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self.learn = LearnController(self)  # Learn menu, Lesson dock, numbers on tiny maps
        self.insight = InsightController(self)  # receptive fields, inspector, cross-check...
        self._restore_settings()

        if first_launch and self.doc.image is None:
            self.load_default()
        self._refresh_all()

    # ================================================================== wiring
    def _connect(self) -> None:
        d, r = self.doc, self.renderer
        d.imageChanged.connect(self._on_image_changed)
        d.pipelineChanged.connect(self._on_pipeline_changed)
        d.selectionChanged.connect(self._on_selection_changed)
        d.dirtyChanged.connect(self._on_dirty_changed)
        d.filePathChanged.connect(self._on_file_path_changed)
        r.started.connect(self._on_render_started)
        r.layerUpdated.connect(self._on_layer_updated)
        r.layerComputed.connect(self._on_layer_computed)
        r.finished.connect(self._on_render_finished)
        self.kernel_editor.weightEdited.connect(self._on_kernel_edited)
        self.kernel_editor.message.connect(self.show_message)
        self.layer_panel.message.connect(self.show_message)
        self.params_editor.message.connect(self.show_message)
        for view in (self.input_view, self.layer_view):
            view.hovered.connect(self._on_pixel_hovered)
        self.layer_view.modeChanged.connect(self._on_mode_changed)
        self.layer_view.levelsLockChanged.connect(self._on_levels_lock_changed)

    @property
    def busy(self) -> bool:
        """Whether anything is still in flight: an image load, the renderer's latest run, or a
        job of the "seeing why" panels."""
        return bool(self._loaders) or self.renderer.busy or self.insight.busy

    def wait_idle(self, timeout_ms: int = 60_000) -> bool:
        """Process events until nothing is in flight (True) or time ran out (False).

        Idle must hold across a full turn of the event loop: results that arrive start the
        panels' own jobs and zero-interval refresh timers, which must run too.
        """
        return process_events_until(lambda: not self.busy, timeout_ms, quiet_turns=2)

    # ================================================================== kernel editor <-> Document
    def _sync_kernel_editor(self) -> None:
        layer = self.doc.selected_layer
        ed = self.kernel_editor
        if not isinstance(layer, Conv2d):
            hint = ("Select a conv layer to edit its kernel." if layer is None else
                    f"A {layer.type} layer has no kernel: select a conv layer to edit one.")
            if ed.weight() is not None or self._kernel_hint != hint:
                ed.clear_weight(hint)
                self._kernel_hint = hint
            return
        self._kernel_hint = ""
        w = layer.kernel if layer.kernel is not None else layer.weight
        shown = ed.weight()
        if shown is None or shown.shape != w.shape or not np.array_equal(shown, w):
            ed.set_weight(w)
        ed.set_editable(True)

    def _on_kernel_edited(self, w: np.ndarray) -> None:
        i = self.doc.selected
        layer = self.doc.selected_layer
        if not isinstance(layer, Conv2d):
            return
        old = layer.kernel if layer.kernel is not None else layer.weight
        w = np.asarray(w, np.float32)
        merge_key = None
        if w.shape == old.shape:
            diff = np.flatnonzero(w.ravel() != old.ravel())
            if diff.size == 1:
                merge_key = ("cell", int(diff[0]))
        try:
            if layer.kernel is not None:
                if w.ndim != 2:
                    raise PipelineError("the per-channel form needs a 2-D kernel", key="kernel")
                new = dataclasses.replace(layer, kernel=w)
            else:
                if w.ndim != 4:
                    raise PipelineError("the weight form needs a 4-D weight", key="weight")
                new = dataclasses.replace(layer, weight=w)
        except PipelineError as exc:
            self.show_message(f"Layer {i}: {exc.reason}")
            self.kernel_editor.set_weight(old)
            return
        what = "kernel cell" if merge_key else "kernel"
        self.doc.replace_layer(i, new, text=f"Layer {i}: edit {what}", merge_key=merge_key)

    # ================================================================== Qt events
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._apply_pending_default_layout()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drop(event)

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.doc.dirty and not self.confirm_discard():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Save the settings and stop the worker thread (idempotent)."""
        if self._closing:
            return
        self._closing = True
        try:
            self.save_settings()
        finally:
            self.insight.shutdown()
            self.renderer.shutdown()
            for loader in list(self._loaders):
                loader.wait()
            self._loaders.clear()
