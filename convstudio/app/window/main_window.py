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

import numpy as np
from PySide6.QtCore import QEvent, QSettings, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.model.big_image import BigImage
from convstudio.app.model.document import Document
from convstudio.app.model.renderer import Renderer
from convstudio.app.model.view_state import ViewState
from convstudio.app.model.worker import Worker, process_events_until
from convstudio.app.panels.learner import install_learner
from convstudio.app.views import shrink
from convstudio.app.views.feature_view import Placement
from convstudio.app.window.actions import DEFAULT_LAYER_MODE, WindowActions
from convstudio.app.window.explore import install_explore
from convstudio.app.window.files import (
    IMAGE_FILTER,
    MAX_RECENT,
    WindowFiles,
    default_pipeline,
    qimage_to_array,
)
from convstudio.app.window.insight import InsightController
from convstudio.app.window.layer_display import LayerDisplay
from convstudio.app.window.layout import WindowLayout
from convstudio.app.window.learn import LearnController
from convstudio.app.window.pipeline_files import PIPELINE_FILTER, WindowPipelineFiles
from convstudio.core import PipelineError
from convstudio.resources import resource_path
from convstudio.session.kernel_edit import editable_weights, with_weights

__all__ = ["MainWindow", "default_pipeline", "qimage_to_array", "MAX_RECENT", "IMAGE_FILTER",
           "PIPELINE_FILTER", "DEFAULT_LAYER_MODE"]


class MainWindow(WindowLayout, WindowActions, WindowFiles, WindowPipelineFiles, LayerDisplay, QMainWindow):
    """ConvStudio's main window.

    The document's state is not here: the Document holds the image, the pipeline and the
    selection, and the Renderer computes. How they are looked at is not here either: the
    :class:`~convstudio.app.model.view_state.ViewState` (``view_state``) holds the display mode,
    the level lock, the clicked pixel and the image being loaded, and the window and the views
    observe it. The window holds its widgets, docks and actions (``actions_by_name``,
    ``mode_actions``); the settings store it saves its layout and recent files to; caches of what
    the views show, so that an unchanged map is not redrawn; the worker that reads images in the
    background; the one error dialog open; and whether it is closing, so that shutting down
    happens once.

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
        self.view_state = ViewState(self, display_mode=DEFAULT_LAYER_MODE)
        # What is on screen, so that nothing is redrawn that has not changed (LayerDisplay).
        self._shown_input: np.ndarray | None = None
        self._shown_output: np.ndarray | None = None
        self._shown_placement: Placement | None = None
        self._shown_index = -1
        self._kernel_hint = ""  # why the kernel editor is empty, as it says now
        self._error_box: QMessageBox | None = None  # the one error dialog open, if any
        self._closing = False
        self.image_loader = Worker("ConvStudio image loader", self)  # (WindowFiles)
        self._init_pipeline_files()  # pipeline files are read and written on workers (WindowPipelineFiles)
        self._in_close_event = False
        self.big_image = BigImage(self.doc, self)  # the image is a preview of a larger file (WindowFiles)

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
        self.learner = install_learner(self)  # Learn ▸ Learn a kernel... (app/panels/learner.py)
        self.explore = install_explore(self)  # shift control, sliding-window player, weight hover
        self.insight = InsightController(self)  # receptive fields, inspector, cross-check...
        self._restore_settings()

        if first_launch and self.doc.image is None:
            self.load_default()
        self._refresh_all()

    # ================================================================== wiring
    def _connect(self) -> None:
        d, r = self.doc, self.renderer
        d.imageChanged.connect(self._on_image_changed)
        d.imageChanged.connect(self._show_preview_scale)  # after the window's own labels
        d.pipelineChanged.connect(self._on_pipeline_changed)
        d.selectionChanged.connect(self._on_selection_changed)
        d.dirtyChanged.connect(self._on_dirty_changed)
        d.filePathChanged.connect(self._on_file_path_changed)
        notifier().languageChanged.connect(self._on_language_changed)  # (app/window/layer_display.py)
        made_at_run_time(self, "windowTitle")
        r.started.connect(self._on_render_started)
        r.layerUpdated.connect(self._on_layer_updated)
        r.layerComputed.connect(self._on_layer_computed)
        r.finished.connect(self._on_render_finished)
        r.finished.connect(self._show_preview_scale)  # after the window's own preview label
        self.kernel_editor.weightEdited.connect(self._on_kernel_edited)
        self.kernel_editor.message.connect(self.show_message)
        self.layer_panel.message.connect(self.show_message)
        self.params_editor.message.connect(self.show_message)
        self.params_editor.keepAlphaToggled.connect(self.set_keep_alpha)
        for view in (self.input_view, self.layer_view):
            view.hovered.connect(self._on_pixel_hovered)
        self.image_loader.done.connect(self._on_image_loaded)
        self.image_loader.failed.connect(self._on_image_load_failed)
        self.image_loader.progressed.connect(self._on_image_load_progress)
        # The view state is the truth; the menus, the grid's boxes and the status bar follow it,
        # and what the user changes in the grid goes to it.
        vs = self.view_state
        self.layer_view.set_mode(vs.display_mode)
        vs.displayModeChanged.connect(self._show_display_mode)
        vs.levelsLockChanged.connect(self._show_levels_lock)
        vs.loadingChanged.connect(self._show_loading)
        self.layer_view.modeChanged.connect(vs.set_display_mode)
        self.layer_view.levelsLockChanged.connect(self._on_grid_levels_lock)

    @property
    def busy(self) -> bool:
        """Whether anything is still in flight: an image load, a pipeline file being read or
        written, the renderer's latest run, a job of the "seeing why" panels or of the Learn
        docks (shift, sliding window, weight hover), the learner's target file, or the image of a
        session being restored."""
        learner = self.learner.dialog
        saver = getattr(self, "autosaver", None)  # (set by app/launch.py)
        return (self.image_loader.busy or self.pipeline_files_busy or self.renderer.busy
                or self.insight.busy or self.explore.busy
                or (learner is not None and learner.target_loading is not None)
                or (saver is not None and saver.restoring is not None))

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
        w = editable_weights(layer)
        if w is None:
            hint = (tr("Select a conv layer to edit its kernel.") if layer is None else
                    tr("A {type} layer has no kernel: select a conv layer to edit one.").format(type=layer.type))
            if ed.weight() is not None or self._kernel_hint != hint:
                ed.clear_weight(hint)
                self._kernel_hint = hint
            return
        self._kernel_hint = ""
        shown = ed.weight()
        if shown is None or shown.shape != w.shape or not np.array_equal(shown, w):
            ed.set_weight(w)
        ed.set_editable(True)

    def _on_kernel_edited(self, w: np.ndarray) -> None:
        i = self.doc.selected
        layer = self.doc.selected_layer
        old = editable_weights(layer)
        if old is None:
            return
        w = np.asarray(w, np.float32)
        merge_key = None
        if w.shape == old.shape:
            diff = np.flatnonzero(w.ravel() != old.ravel())
            if diff.size == 1:
                merge_key = ("cell", int(diff[0]))
        try:
            new = with_weights(layer, w)
        except PipelineError as exc:
            self.show_message(tr("Layer {n}: {why}").format(n=i, why=exc.reason))
            self.kernel_editor.set_weight(old)
            return
        text = tr("Layer {n}: edit kernel cell") if merge_key else tr("Layer {n}: edit kernel")
        self.doc.replace_layer(i, new, text=text.format(n=i), merge_key=merge_key)

    # ================================================================== Qt events
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._apply_pending_default_layout()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # docks shown, hidden or their minimum changed
            self._screen_check.trigger()  # (app/window/layout.py, _keep_on_screen)
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        old, new = event.oldSize().height(), event.size().height()
        if 0 < old < new <= self.minimumSizeHint().height():
            self._pushed_taller = True  # Qt grew the window to its minimum (_keep_on_screen)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drop(event)

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._in_close_event:  # (closed again while the first close waits for a save)
            event.ignore()
            return
        self._in_close_event = True
        try:
            # A save in flight is written first: the window never closes under it, and once it
            # is written there may be nothing left to ask about (or, if it failed, there is).
            if not self.wait_for_saves():
                self.show_message(tr("The pipeline is still being saved: the window stays open until "
                                     "it is written."), error=True)
                event.ignore()
                return
            if self.doc.dirty and not self.confirm_discard():
                event.ignore()
                return
            self.shutdown()
            event.accept()
        finally:
            self._in_close_event = False

    def shutdown(self) -> None:
        """Save the settings and stop the worker threads (idempotent). Saves of the pipeline
        asked for are written first."""
        if self._closing:
            return
        self._closing = True
        try:
            self.wait_for_saves()
            self.save_settings()
        finally:
            self.insight.shutdown()
            self.renderer.shutdown()
            self.image_loader.shutdown()
            self.pipeline_reader.shutdown()
            self.pipeline_writer.shutdown(60_000)
            self.learner.shutdown()
            self.explore.shutdown()
            shrink.shutdown()  # the maps' background shrinking (a later view starts it again)
