"""The main window: the input beside the selected layer's feature maps, the layer stack, the
kernel editor and the layer parameters in docks, menus, toolbar and status bar.

The window owns no state of its own beyond what is on screen: the Document holds the image, the
pipeline and the selection; the Renderer computes; the widgets follow their signals.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QRectF, QSettings, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.dialogs.export import ExportDialog, ExportOptions, run_export
from convstudio.app.editing.kernel_editor import KernelEditor
from convstudio.app.model.document import Document
from convstudio.app.model.renderer import Renderer
from convstudio.app.panels.layer_list import LayerListPanel, layer_label, shape_text, time_text
from convstudio.app.panels.layer_params import LayerParamsEditor
from convstudio.app.views.colormaps import AUTO, DISPLAY_MODES
from convstudio.app.views.feature_view import FeatureMapGrid, PixelInfo, Placement, ViewLinker
from convstudio.app.window.insight import InsightController
from convstudio.app.window.learn import LearnController
from convstudio.core import Conv2d, ConvStudioError, Pipeline, PipelineError, kernels
from convstudio.core.layers import MaxPool2d, ReLU
from convstudio.resources import resource_path
from convstudio.session import samples

__all__ = ["MainWindow", "default_pipeline", "MAX_RECENT", "IMAGE_FILTER", "PIPELINE_FILTER"]

MAX_RECENT = 10
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.npy);;All files (*)"
PIPELINE_FILTER = "ConvStudio pipelines (*.json);;All files (*)"
_MODE_NAMES = {AUTO: "Auto (diverging for signed data)", "diverging": "Diverging (0 = white)",
               "clip": "Clip to [0, 1]", "abs": "Absolute value", "minmax": "Min to max",
               "contrast": "Contrast (large maps: brightest 0.35 % saturate)"}

#: How the layer's maps are coloured until the user picks another way (View > Colours). Scaled to
#: max|x|, edge maps (a few strong responses) look almost white; "contrast" ends the scale where
#: 0.35 % of the values saturate, and equals max|x| on the small arrays of the lessons.
DEFAULT_LAYER_MODE = "contrast"


def default_pipeline() -> Pipeline:
    """What a first launch shows: an edge detector, its rectification and a pooling step."""
    return Pipeline((
        Conv2d(kernel=kernels.SOBEL_X, padding="same", padding_mode="reflect", name="Sobel x"),
        ReLU(),
        MaxPool2d(kernel_size=(2, 2)),
    ), name="Edges, rectified and pooled")


def _image_kind(shape: tuple[int, int, int]) -> str:
    return {1: "gray", 3: "RGB", 4: "RGBA"}.get(shape[0], f"{shape[0]} channels")


class MainWindow(QMainWindow):
    """ConvStudio's main window.

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
        self.last_error: str | None = None
        self._shown_input: np.ndarray | None = None
        self._shown_output: np.ndarray | None = None
        self._shown_placement: Placement | None = None
        self._shown_index = -1
        self._kernel_hint = ""
        self._error_box: QMessageBox | None = None
        self._closing = False
        self._loaders: set[_ImageLoader] = set()
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

    # ================================================================== building
    def _build_centre(self) -> None:
        self.linker = ViewLinker(self)
        self.input_view = FeatureMapGrid(view_id="input", true_color=True)
        self.input_view.set_linker(self.linker)
        self.layer_view = FeatureMapGrid(view_id="layer")
        self.layer_view.set_linker(self.linker)

        self._input_title = QLabel()
        self._input_title.setObjectName("inputTitle")
        self._layer_title = QLabel()
        self._layer_title.setObjectName("layerTitle")
        for t in (self._input_title, self._layer_title):
            f = t.font()
            f.setBold(True)
            t.setFont(f)
            t.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            t.setTextFormat(Qt.TextFormat.PlainText)

        self._layer_message = QLabel()
        self._layer_message.setObjectName("layerMessage")
        self._layer_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layer_message.setWordWrap(True)
        self._layer_message.setMargin(24)
        self._layer_stack = QStackedWidget()
        self._layer_stack.addWidget(self.layer_view)
        self._layer_stack.addWidget(self._layer_message)

        def column(title: QLabel, body: QWidget) -> QWidget:
            w = QWidget()
            lay = QVBoxLayout(w)
            lay.setContentsMargins(4, 4, 4, 0)
            lay.setSpacing(2)
            lay.addWidget(title)
            lay.addWidget(body, 1)
            return w

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("centreSplitter")
        self.splitter.addWidget(column(self._input_title, self.input_view))
        self.splitter.addWidget(column(self._layer_title, self._layer_stack))
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.layer_panel = LayerListPanel(self.doc)
        self.layer_panel.setMinimumWidth(330)
        self.kernel_editor = KernelEditor()
        self.params_editor = LayerParamsEditor(self.doc)
        self.layers_dock = self._dock("Layers", "layersDock", self.layer_panel,
                                      Qt.DockWidgetArea.LeftDockWidgetArea)
        self.kernel_dock = self._dock("Kernel", "kernelDock", self.kernel_editor,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.params_dock = self._dock("Layer parameters", "paramsDock", self.params_editor,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self._default_layout_pending = True

    #: The narrowest right-hand column and the lowest window in which the Kernel dock stays on
    #: the right above the Layer parameters; a smaller window gets the compact layout.
    KERNEL_COLUMN_MIN_WIDTH = 260
    WIDE_LAYOUT_MIN_HEIGHT = 860

    def _wants_compact_layout(self) -> bool:
        """Whether the window is too small for the Kernel dock beside the views (1280 x 720).

        The right-hand column gets the width that the views and the Layers dock leave, and the
        height that the bottom docks leave; there a 5 x 5 kernel and its buttons would not fit.
        """
        spare = (self.width() - self.centralWidget().minimumSizeHint().width()
                 - self.layers_dock.minimumSizeHint().width())
        return spare < self.KERNEL_COLUMN_MIN_WIDTH or self.height() < self.WIDE_LAYOUT_MIN_HEIGHT

    def _arrange_default_docks(self, compact: bool) -> None:
        """Put the side docks where they start.

        Wide: Layers on the left, Kernel above Layer parameters on the right, the bottom docks
        across the whole width. Compact: the left column runs the full height, with the Kernel
        under the Layers (the Lesson, when opened, is a tab beside the Layers); Layer parameters
        on the right.
        """
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.setCorner(Qt.Corner.BottomLeftCorner,
                       left if compact else Qt.DockWidgetArea.BottomDockWidgetArea)
        for dock in (self.layers_dock, self.kernel_dock, self.params_dock):
            dock.setFloating(False)
        self.addDockWidget(left, self.layers_dock)
        if compact:
            self.splitDockWidget(self.layers_dock, self.kernel_dock, Qt.Orientation.Vertical)
        else:
            self.addDockWidget(right, self.kernel_dock)
        self.addDockWidget(right, self.params_dock)
        learn = getattr(self, "learn", None)
        lesson = getattr(learn, "dock", None)
        if isinstance(lesson, QDockWidget):
            lesson.setFloating(False)
            if compact:
                self.tabifyDockWidget(self.layers_dock, lesson)
                self.layers_dock.raise_()
            else:
                self.addDockWidget(left, lesson)
        self._compact_layout = compact

    def _apply_default_dock_sizes(self) -> None:
        if getattr(self, "_compact_layout", False):
            # The left column: the window less the menu, tool and status bars (about 80 px);
            # the kernel gets the larger part. Each dock keeps at least its minimum.
            column = max(300, self.height() - 80)
            self.resizeDocks([self.layers_dock, self.params_dock], [330, 300], Qt.Orientation.Horizontal)
            self.resizeDocks([self.layers_dock, self.kernel_dock], [int(column * 0.4), int(column * 0.6)],
                             Qt.Orientation.Vertical)
            return
        self.resizeDocks([self.layers_dock, self.kernel_dock], [330, 370], Qt.Orientation.Horizontal)
        self.resizeDocks([self.kernel_dock, self.params_dock], [400, 500], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.image_label = QLabel()
        self.image_label.setObjectName("imageInfo")
        self.summary_label = QLabel()
        self.summary_label.setObjectName("layerSummary")
        # Ignored width: a long stack must not widen the window; the tooltip has it all.
        self.summary_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label.setMinimumWidth(40)
        self.readout_label = QLabel()
        self.readout_label.setObjectName("pixelReadout")
        f = self.readout_label.font()
        f.setStyleHint(f.StyleHint.Monospace)
        f.setFamily("monospace")
        self.readout_label.setFont(f)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("previewInfo")
        self.preview_label.setStyleSheet("color: #b26a00; font-weight: bold;")
        self.busy_label = QLabel()
        self.busy_label.setObjectName("busyInfo")
        # Messages get their own label: QStatusBar.showMessage would cover the image and
        # layer summary, which should stay readable.
        self.message_label = QLabel()
        self.message_label.setObjectName("statusMessage")
        self.message_label.setStyleSheet("color: #1f5fa8;")
        self.message_label.setMaximumWidth(520)
        self.readout_label.setMinimumWidth(260)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message_label.clear)
        sb.addWidget(self.image_label)
        sb.addWidget(self.summary_label, 1)
        sb.addPermanentWidget(self.message_label)
        sb.addPermanentWidget(self.readout_label)
        sb.addPermanentWidget(self.preview_label)
        sb.addPermanentWidget(self.busy_label)

    def _action(self, text: str, slot, *, shortcut=None, tip: str = "", icon=None,
                checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                act.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if icon is not None:
            act.setIcon(self.style().standardIcon(icon) if isinstance(icon, QStyle.StandardPixmap)
                        else icon)
        act.setCheckable(checkable)
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)  # shortcuts work even with the toolbar and menus hidden
        return act

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        a = self.actions_by_name = {}
        a["open_image"] = self._action("&Open image…", self.open_image_dialog,
                                       shortcut=QKeySequence.StandardKey.Open,
                                       tip="Open an image (PNG, JPEG, TIFF, BMP, WebP, .npy)",
                                       icon=SP.SP_DialogOpenButton)
        a["open_pipeline"] = self._action("Open &pipeline…", self.open_pipeline_dialog,
                                          shortcut="Ctrl+Shift+O", tip="Open a pipeline (.json)",
                                          icon=SP.SP_DirOpenIcon)
        a["save_pipeline"] = self._action("&Save pipeline", self.save_pipeline,
                                          shortcut=QKeySequence.StandardKey.Save,
                                          tip="Save the pipeline to its file",
                                          icon=SP.SP_DialogSaveButton)
        a["save_pipeline_as"] = self._action("Save pipeline &as…", self.save_pipeline_as,
                                             shortcut="Ctrl+Shift+S",
                                             tip="Save the pipeline to a new file")
        a["new_pipeline"] = self._action("&New pipeline", self.new_pipeline, shortcut="Ctrl+N",
                                         tip="Start with an empty pipeline")
        a["paste_image"] = self._action("Paste image from clipboard", self.paste_image,
                                        shortcut="Ctrl+Shift+V",
                                        tip="Use the image on the clipboard as the input")
        a["export"] = self._action("&Export feature maps…", self.export_dialog, shortcut="Ctrl+E",
                                   tip="Save the selected layer's maps (full resolution)",
                                   icon=SP.SP_DialogSaveButton)
        a["quit"] = self._action("&Quit", self.close, shortcut=QKeySequence.StandardKey.Quit)
        a["quit"].setMenuRole(QAction.MenuRole.QuitRole)

        stack = self.doc.undo_stack
        undo = stack.createUndoAction(self, "&Undo")
        undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        undo.setIcon(self.style().standardIcon(SP.SP_ArrowBack))
        redo = stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(self.style().standardIcon(SP.SP_ArrowForward))
        self.addAction(undo)
        self.addAction(redo)
        a["undo"], a["redo"] = undo, redo
        # (a focused parameter field would keep these keys for its own text otherwise)
        from convstudio.app.window.undo_keys import UndoKeys

        self.undo_keys = UndoKeys(self, undo, redo)

        a["zoom_in"] = self._action("Zoom &in", lambda: self.zoom(1.25),
                                    shortcut=["Ctrl++", "Ctrl+="], tip="Zoom in (all views)")
        a["zoom_out"] = self._action("Zoom &out", lambda: self.zoom(0.8), shortcut="Ctrl+-",
                                     tip="Zoom out (all views)")
        a["zoom_fit"] = self._action("&Fit to window", self.zoom_fit, shortcut="Ctrl+0",
                                     tip="Show the whole image")
        a["lock_levels"] = self._action("&Lock levels across layers", self._on_lock_levels_toggled,
                                        checkable=True,
                                        tip="Keep one colour scale while switching layers")
        a["preview"] = self._action("&Preview large images (faster)", self._on_preview_toggled,
                                    checkable=True,
                                    tip="Compute on a downscaled copy of images over 4 megapixels; "
                                        "export is always full resolution")
        a["preview"].setChecked(self.renderer.preview_enabled())
        a["prev_layer"] = self._action("Select previous layer", lambda: self._step_layer(-1),
                                       shortcut="Alt+Up")
        a["next_layer"] = self._action("Select next layer", lambda: self._step_layer(1),
                                       shortcut="Alt+Down")

        a["shortcuts"] = self._action("&Keyboard shortcuts", self.show_shortcuts, shortcut="F1")
        a["about"] = self._action("&About ConvStudio", self.show_about)
        a["about"].setMenuRole(QAction.MenuRole.AboutRole)

        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[str, QAction] = {}
        for mode in (AUTO, *DISPLAY_MODES):
            act = QAction(_MODE_NAMES.get(mode, mode), self.mode_group)
            act.setCheckable(True)
            act.setData(mode)
            act.triggered.connect(lambda _c=False, m=mode: self.set_display_mode(m))
            self.mode_actions[mode] = act
        self.mode_actions[DEFAULT_LAYER_MODE].setChecked(True)

    def _build_menus(self) -> None:
        a = self.actions_by_name
        mb = self.menuBar()
        file = mb.addMenu("&File")
        file.addAction(a["open_image"])
        self.recent_images_menu = file.addMenu("Recent &images")
        self.samples_menu = file.addMenu("Sa&mples")
        file.addAction(a["paste_image"])
        file.addSeparator()
        file.addAction(a["new_pipeline"])
        file.addAction(a["open_pipeline"])
        self.recent_pipelines_menu = file.addMenu("Recent pipe&lines")
        file.addAction(a["save_pipeline"])
        file.addAction(a["save_pipeline_as"])
        file.addSeparator()
        file.addAction(a["export"])
        file.addSeparator()
        file.addAction(a["quit"])
        self._build_samples_menu()
        self._update_recent_menus()

        edit = mb.addMenu("&Edit")
        edit.addAction(a["undo"])
        edit.addAction(a["redo"])

        view = mb.addMenu("&View")
        view.addAction(a["zoom_in"])
        view.addAction(a["zoom_out"])
        view.addAction(a["zoom_fit"])
        view.addSeparator()
        modes = view.addMenu("&Display mode")
        for act in self.mode_actions.values():
            modes.addAction(act)
        view.addAction(a["lock_levels"])
        view.addAction(a["preview"])
        view.addSeparator()
        panels = view.addMenu("&Panels")
        for dock in (self.layers_dock, self.kernel_dock, self.params_dock):
            panels.addAction(dock.toggleViewAction())
        self._panels_menu = panels
        view.addAction(self._action("Reset &layout", self.reset_layout))

        layer = mb.addMenu("&Layer")
        lp = self.layer_panel
        layer.addMenu(lp.add_menu)
        for key in ("remove", "duplicate", "move_up", "move_down", "toggle"):
            layer.addAction(lp.actions[key])
        layer.addSeparator()
        layer.addAction(a["prev_layer"])
        layer.addAction(a["next_layer"])

        kernel = mb.addMenu("&Kernel")
        kernel.addMenu(self.kernel_editor.presets_menu())
        kernel.addSeparator()
        for act in self.kernel_editor.actions_by_name().values():
            kernel.addAction(act)

        help_ = mb.addMenu("&Help")
        help_.addAction(a["shortcuts"])
        help_.addAction(a["about"])

    def _build_toolbar(self) -> None:
        a = self.actions_by_name
        tb = QToolBar("Main toolbar", self)
        tb.setObjectName("mainToolbar")
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(a["open_image"])
        samples_button = self.samples_menu.menuAction()
        samples_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        tb.addAction(samples_button)
        tb.addAction(a["open_pipeline"])
        tb.addAction(a["save_pipeline"])
        tb.addSeparator()
        tb.addAction(a["undo"])
        tb.addAction(a["redo"])
        tb.addSeparator()
        add = self.layer_panel.add_menu.menuAction()
        add.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        add.setText("Add layer")
        tb.addAction(add)
        tb.addSeparator()
        tb.addAction(a["zoom_fit"])
        tb.addAction(a["export"])
        for action in (samples_button, add):
            button = tb.widgetForAction(action)
            if button is not None:
                button.setPopupMode(button.ToolButtonPopupMode.InstantPopup)
        for action in (a["undo"], a["redo"]):
            # Icon only: the text names the command ("Undo Add conv2d layer") and would make
            # the toolbar jump on every edit; the tooltip still says it.
            button = tb.widgetForAction(action)
            if button is not None:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.toolbar = tb
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self._panels_menu.addAction(tb.toggleViewAction())

    def _build_samples_menu(self) -> None:
        menu = self.samples_menu
        menu.clear()
        menu.setToolTipsVisible(True)
        shipped = samples.shipped_samples()
        for path in shipped:
            act = menu.addAction(path.stem.replace("_", " ").capitalize())
            act.setToolTip(str(path))
            act.triggered.connect(lambda _c=False, p=path: self.open_image(p, wait=False))
        if shipped:
            menu.addSeparator()
        for pattern in samples.PATTERNS.values():
            act = menu.addAction(pattern.label)
            act.setToolTip(pattern.description)
            act.triggered.connect(lambda _c=False, n=pattern.name: self.load_pattern(n))

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

    # ================================================================== files and images
    def load_default(self) -> None:
        """The first-launch state: a shipped photo (or a test pattern) and a small pipeline."""
        shipped = {p.stem: p for p in samples.shipped_samples()}
        path = shipped.get(samples.DEFAULT_SAMPLE)
        try:
            if path is not None:
                self.doc.load_image(path)
            else:
                self.doc.set_image_array(samples.make_pattern(samples.DEFAULT_PATTERN),
                                         samples.PATTERNS[samples.DEFAULT_PATTERN].label)
        except ConvStudioError:
            self.doc.set_image_array(samples.make_pattern(samples.DEFAULT_PATTERN),
                                     samples.PATTERNS[samples.DEFAULT_PATTERN].label)
        self.doc.new_pipeline(default_pipeline())
        self.doc.select(1)

    def open_image(self, path: str | Path, *, wait: bool = True) -> bool:
        """Load an image file; on error one message, and the current image stays.

        With ``wait=False`` (what the menus, drops and recent files use) the file is read in a
        worker thread so that a large photo never freezes the window; the result arrives later
        and the return value only says that loading started.
        """
        if not wait:
            self._load_image_async(Path(path))
            return True
        self._load_token += 1  # a pending background load must not overwrite this image
        try:
            self.doc.load_image(path)
        except ConvStudioError as exc:
            self.report_error("Cannot open image", str(exc))
            return False
        except MemoryError:
            self.report_error("Cannot open image", f"'{Path(path).name}' is too large for the "
                              "memory available")
            return False
        self._add_recent("images", Path(path))
        self.show_message(f"Opened {Path(path).name}")
        return True

    def _load_image_async(self, path: Path) -> None:
        self._load_token += 1
        loader = _ImageLoader(self._load_token, path, self.doc.keep_alpha, self)
        loader.loaded.connect(self._on_image_loaded)
        loader.finished.connect(lambda l=loader: self._loaders.discard(l))
        self._loaders.add(loader)
        self.busy_label.setText(f"loading {path.name}…")
        loader.start()

    def _on_image_loaded(self, token: int, path: Path, x: np.ndarray | None, error: str) -> None:
        if token != self._load_token or self._closing:
            return  # a newer load (or a close) came after this one
        self.busy_label.setText("")
        if x is None:
            self.report_error("Cannot open image", error)
            return
        self.doc.set_loaded_image(x, path)
        self._add_recent("images", path)
        self.show_message(f"Opened {path.name}")

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
        from PySide6.QtCore import QDeadlineTimer, QEventLoop, QThread

        deadline = QDeadlineTimer(timeout_ms)
        quiet_turns = 0
        while quiet_turns < 2 and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if self.busy:
                quiet_turns = 0
                QThread.msleep(2)
            else:
                quiet_turns += 1
        return not self.busy

    def wait_for_loads(self, timeout_ms: int = 30_000) -> bool:
        """Wait until background image loads are done and their results delivered."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop, QThread

        deadline = QDeadlineTimer(timeout_ms)
        while self._loaders and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            QThread.msleep(2)
        QApplication.processEvents()
        return not self._loaders

    def load_pattern(self, name: str) -> None:
        self.doc.set_image_array(samples.make_pattern(name), samples.PATTERNS[name].label)
        self.show_message(f"Test pattern: {samples.PATTERNS[name].label}")

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_folder("images"),
                                              IMAGE_FILTER)
        if path:
            self.open_image(path, wait=False)

    def paste_image(self) -> bool:
        """Use the clipboard's image (an image, or a copied image file) as the input."""
        clip = QGuiApplication.clipboard()
        md = clip.mimeData()
        if md is not None and md.hasUrls():
            for url in md.urls():
                if url.isLocalFile():
                    return self.open_image(url.toLocalFile(), wait=False)
        img = clip.image()
        if img.isNull():
            self.show_message("The clipboard holds no image.")
            return False
        # the rule of a file opened: alpha dropped unless "keep alpha" is on
        x = qimage_to_array(img, keep_alpha=self.doc.keep_alpha)
        self.doc.set_image_array(x, "pasted image")
        c = x.shape[0]
        self.show_message(f"Pasted a {img.width()}×{img.height()} image "
                          f"({c} channel{'' if c == 1 else 's'})")
        return True

    def open_pipeline(self, path: str | Path, *, ask: bool = True) -> bool:
        """Open a pipeline file (asking first if the current one has unsaved changes)."""
        if ask and self.doc.dirty and not self.confirm_discard():
            return False
        try:
            self.doc.open_pipeline(path)
        except ConvStudioError as exc:
            self.report_error("Cannot open pipeline", str(exc))
            return False
        self._add_recent("pipelines", Path(path))
        if self.doc.selected == 0 and len(self.doc.pipeline):
            self.doc.select(len(self.doc.pipeline))
        self.show_message(f"Opened pipeline {Path(path).name}")
        return True

    def open_pipeline_dialog(self) -> None:
        if self.doc.dirty and not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open pipeline", self._last_folder("pipelines"),
                                              PIPELINE_FILTER)
        if path:
            self.open_pipeline(path, ask=False)

    def new_pipeline(self) -> None:
        if self.doc.dirty and not self.confirm_discard():
            return
        self.doc.new_pipeline(Pipeline())
        self.show_message("New empty pipeline: add layers with Layer ▸ Add")

    def save_pipeline(self) -> bool:
        if self.doc.file_path is None:
            return self.save_pipeline_as()
        return self.save_pipeline_to(self.doc.file_path)

    def save_pipeline_as(self) -> bool:
        start = str(self.doc.file_path) if self.doc.file_path else \
            str(Path(self._last_folder("pipelines")) / "pipeline.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save pipeline", start, PIPELINE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_pipeline_to(path)

    def save_pipeline_to(self, path: str | Path) -> bool:
        try:
            target = self.doc.save_pipeline(path)
        except (ConvStudioError, OSError, ValueError) as exc:
            self.report_error("Cannot save pipeline", str(exc))
            return False
        self._add_recent("pipelines", target)
        self.show_message(f"Saved {target.name}")
        return True

    def confirm_discard(self) -> bool:
        """The pipeline has unsaved changes: Save / Discard / Cancel. True means go on.

        Tests replace this method to answer without a dialog.
        """
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          "The pipeline has changes that are not saved.",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Save them first?")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_pipeline()
        return answer == QMessageBox.StandardButton.Discard

    # ================================================================== export
    def export_dialog(self) -> None:
        if self.doc.image is None:
            self.show_message("Open an image first.")
            return
        infos = self.doc.analysis()
        shapes = [self.doc.image_shape] + [i.output_shape for i in infos]
        stem = Path(self.doc.image_name or "image").stem
        folder = Path(self.settings.value("export/folder", str(Path.home())))
        dlg = ExportDialog(self.doc.pipeline, shapes, layer=self.doc.selected, folder=folder,
                           stem=stem, parent=self)
        if dlg.exec() != dlg.DialogCode.Accepted:
            return
        opts = dlg.options()
        self.settings.setValue("export/folder", str(opts.path.parent))
        self.export_layer(opts)

    def export_layer(self, options: ExportOptions) -> list[Path]:
        """Export with a progress dialog; the maps are computed at full resolution in a worker."""
        job = run_export(self.doc.pipeline, self.doc.image, options, parent=self)
        if job.was_cancelled:
            self.show_message("Export cancelled; nothing was written.")
            return []
        if job.error is not None:
            self.report_error("Export failed", str(job.error))
            return []
        names = ", ".join(p.name for p in job.paths[:3]) + (" …" if len(job.paths) > 3 else "")
        folders = sorted({str(p.parent.resolve()) for p in job.paths}) or [str(options.path.parent)]
        files = f"{len(job.paths)} files" if len(job.paths) > 1 else "1 file"
        self.show_message(f"Exported layer {options.layer} to {', '.join(folders)} "
                          f"({files}: {names})", 10_000)
        return job.paths

    # ================================================================== view
    def zoom(self, factor: float) -> None:
        vb = self.input_view.view_box()
        rect = self.linker.target_rect() or vb.targetRect()
        if rect is None or rect.isEmpty():
            return
        c = rect.center()
        w, h = rect.width() / factor, rect.height() / factor
        self.linker.set_rect(QRectF(c.x() - w / 2, c.y() - h / 2, w, h))

    def zoom_fit(self) -> None:
        """Show the whole input and the whole of the layer's maps in every (linked) view: a
        layer's extent may be smaller than the input (no padding) or reach beyond it (padding)."""
        from convstudio.app.views.feature_view import content_rect

        rects = []
        for view in (self.input_view, self.layer_view):
            x = view.maps()
            if x is None or (view is self.layer_view
                             and self._layer_stack.currentWidget() is not self.layer_view):
                continue
            rects.append(content_rect(view.placement(), x.shape[-2], x.shape[-1]))
        if not rects:
            self.input_view.auto_range()
            return
        x0 = min(r[0] for r in rects)
        y0 = min(r[1] for r in rects)
        x1 = max(r[0] + r[2] for r in rects)
        y1 = max(r[1] + r[3] for r in rects)
        self.linker.set_rect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_display_mode(self, mode: str) -> None:
        self.layer_view.set_mode(mode)

    def _on_mode_changed(self, mode: str) -> None:
        act = self.mode_actions.get(mode)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def _on_lock_levels_toggled(self, on: bool) -> None:
        if on:
            if self.layer_view.shared_levels() is None:
                levels = self.layer_view.current_levels()
                if levels is not None:
                    self.layer_view.set_shared_levels(levels)
        else:
            self.layer_view.set_shared_levels(None)

    def _on_levels_lock_changed(self, locked: bool) -> None:
        act = self.actions_by_name["lock_levels"]
        if act.isChecked() != locked:
            act.blockSignals(True)
            act.setChecked(locked)
            act.blockSignals(False)

    def _on_preview_toggled(self, on: bool) -> None:
        self.renderer.set_preview_enabled(on)

    def _step_layer(self, step: int) -> None:
        i = max(0, min(len(self.doc.pipeline), self.doc.selected + step))
        self.doc.select(i)

    def reset_layout(self) -> None:
        self._arrange_default_docks(self._wants_compact_layout())
        for dock in (self.layers_dock, self.kernel_dock, self.params_dock):
            dock.show()
        self.toolbar.show()
        self._apply_default_dock_sizes()
        self.insight.reset_layout()

    # ================================================================== Document -> views
    def _on_image_changed(self) -> None:
        self._shown_input = None
        self._shown_output = None
        self._update_image_label()
        self._update_title()
        self._update_summary()
        self._update_layer_view()

    def _on_pipeline_changed(self) -> None:
        self._sync_kernel_editor()
        self._update_summary()
        self._update_layer_view()
        self._update_title()

    def _on_selection_changed(self, _i: int) -> None:
        self._sync_kernel_editor()
        self._shown_output = None
        self._update_layer_view()

    def _on_dirty_changed(self, _dirty: bool) -> None:
        self._update_title()

    def _on_file_path_changed(self) -> None:
        self._update_title()

    def _refresh_all(self) -> None:
        self._update_image_label()
        self._update_title()
        self._sync_kernel_editor()
        self._update_summary()
        self._show_input()
        self._update_layer_view()

    def _update_title(self) -> None:
        name = self.doc.file_path.name if self.doc.file_path else "untitled pipeline"
        image = self.doc.image_name or "no image"
        self.setWindowTitle(f"{name}[*] — {image} — ConvStudio")
        self.setWindowModified(self.doc.dirty)

    def _update_image_label(self) -> None:
        shape = self.doc.image_shape
        if shape is None:
            self.image_label.setText("no image")
            return
        c, h, w = shape
        self.image_label.setText(f"{self.doc.image_name}  {w}×{h} {_image_kind(shape)}")
        self.image_label.setToolTip(f"input shape {shape_text(shape)} (C×H×W), float32")

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

    # ================================================================== renderer -> views
    def _on_render_started(self, _generation: int) -> None:
        self.busy_label.setText("computing…")

    def _on_layer_updated(self, _generation: int, index: int, update) -> None:
        # Inexact (delta) outputs too: they differ from the exact ones by float32 rounding, and
        # the exact output replaces them moments later.
        if index == self.doc.selected:
            # What changed is known relative to the output the worker sent before; if that is
            # what the view shows, it redraws only those channels.
            changed = update.changed if update.base is not None \
                and update.base is self._shown_output else None
            self._show_layer_output(index, update.output, data_range=update.data_range,
                                    changed=changed)

    def _on_layer_computed(self, _generation: int, index: int, _out: np.ndarray,
                           seconds: float) -> None:
        self.layer_panel.model.set_time(index, seconds)

    def _on_render_finished(self, generation: int, outputs: list, errors: dict) -> None:
        self.busy_label.setText("")
        self.layer_panel.model.set_run_result(self.renderer.times, errors)
        f = self.renderer.factor
        self.preview_label.setText(f"preview 1/{f}" if f > 1 else "")
        self.preview_label.setToolTip(
            f"The image has more than {self.renderer.preview_pixels / 1e6:.0f} megapixels: the "
            f"layers are computed on a copy shrunk {f}× (View ▸ Preview). Export is always full "
            "resolution." if f > 1 else "")
        self._show_input()
        self._update_layer_view()
        self._update_summary()

    def _placement(self, index: int) -> Placement:
        """Where layer `index`'s pixels sit in full-resolution input coordinates."""
        f = self.renderer.factor if self.renderer.input is not None else 1
        rf = self.doc.pipeline.receptive_fields()[index]
        return Placement(jump=(rf.jump[0] * f, rf.jump[1] * f), start=(rf.start[0] * f,
                         rf.start[1] * f), size=(rf.size[0] * f, rf.size[1] * f))

    def _show_input(self) -> None:
        x = self.renderer.input if self.renderer.input is not None else self.doc.image
        if x is None:
            self.input_view.clear()
            self._input_title.setText("0  input")
            self._shown_input = None
            return
        if x is self._shown_input:
            return
        self._shown_input = x
        f = max(1, round(self.doc.image.shape[-1] / x.shape[-1])) if self.doc.image is not None \
            else 1
        self.input_view.set_maps(x, placement=Placement(jump=f, start=0, size=f),
                                 data_range=self.renderer.input_range()
                                 if x is self.renderer.input else None)
        self._input_title.setText(f"0  input  {self.doc.image_name}")

    def _update_layer_view(self) -> None:
        i = self.doc.selected
        if self.doc.image is None:
            self._show_layer_message("Open an image (File ▸ Open image, or a sample).")
            return
        if i == 0:
            x = self.renderer.input if self.renderer.input is not None else self.doc.image
            self._layer_title.setText("0  input: every channel")
            self._show_maps(x, Placement(jump=self.renderer.factor if self.renderer.input
                                         is not None else 1, start=0,
                                         size=self.renderer.factor if self.renderer.input
                                         is not None else 1))
            return
        infos = self.doc.analysis()
        info = infos[i - 1] if i - 1 < len(infos) else None
        layer = self.doc.pipeline.layers[i - 1]
        title = f"{i}  {layer_label(layer)}"
        if info is not None and info.error is not None:
            self._layer_title.setText(title)
            self._show_layer_message(f"⚠ Layer {i} does not fit its input:\n{info.error.reason}")
            return
        if info is not None and info.waiting:
            first = next((x.index for x in infos if x.error is not None), "?")
            self._layer_title.setText(title)
            self._show_layer_message(f"Waiting: layer {first} does not fit its input, so layer "
                                     f"{i} has nothing to work on.")
            return
        if i in self.renderer.errors:
            self._layer_title.setText(title)
            self._show_layer_message(f"⚠ Layer {i} failed:\n{self.renderer.errors[i]}")
            return
        outputs = self.renderer.outputs
        if self.renderer.busy:
            if not self._same_layer_as_computed(i):
                # Layers were added, removed or moved: the last run's map i is another layer's.
                self._layer_title.setText(title)
                self._show_layer_message(f"Computing layer {i}…")
            elif i == self._shown_index and self._layer_stack.currentWidget() is self.layer_view:
                # Keep this layer's maps until the new ones arrive (no flicker while dragging).
                self._layer_title.setText(title + "   (computing…)")
            elif i <= len(outputs) and outputs[i - 1].ndim == 3:
                self._show_layer_output(i, outputs[i - 1])  # the last run's, until the new one
                self._layer_title.setText(title + "   (computing…)")
            else:
                self._layer_title.setText(title)
                self._show_layer_message(f"Computing layer {i}…")
            return
        if i > len(outputs):
            self._layer_title.setText(title)
            self._show_layer_message(f"Layer {i} has not been computed.")
            return
        self._show_layer_output(i, outputs[i - 1])

    def _same_layer_as_computed(self, i: int) -> bool:
        """Whether the last run's output `i` belongs to layer `i` of the document (the same
        stack, edited in place), so that it may stand in until the new one arrives."""
        old = self.renderer.pipeline
        new = self.doc.pipeline
        return (old is not None and len(old) == len(new)
                and all(a.type == b.type for a, b in zip(old.layers[:i], new.layers[:i])))

    def _show_layer_output(self, i: int, out: np.ndarray, *,
                           data_range: tuple[float, float] | None = None,
                           changed: tuple[int, ...] | None = None) -> None:
        layer = self.doc.pipeline.layers[i - 1]
        t = self.renderer.times[i - 1] if i - 1 < len(self.renderer.times) else None
        extra = f"   ({time_text(t)})" if t is not None else ""
        self._layer_title.setText(f"{i}  {layer_label(layer)}{extra}")
        if data_range is None:
            data_range = self.renderer.data_range(i, out)
        self._show_maps(out, self._placement(i), data_range=data_range, changed=changed)

    def _show_maps(self, x: np.ndarray, placement: Placement, *,
                   data_range: tuple[float, float] | None = None,
                   changed: tuple[int, ...] | None = None) -> None:
        self._shown_index = self.doc.selected
        self._layer_stack.setCurrentWidget(self.layer_view)
        if x is self._shown_output and placement == self._shown_placement:
            return
        self._shown_output = x
        self._shown_placement = placement
        self.layer_view.set_maps(x, placement=placement, data_range=data_range, changed=changed)

    def _show_layer_message(self, text: str) -> None:
        self._layer_message.setText(text)
        self._layer_stack.setCurrentWidget(self._layer_message)
        self._shown_output = None

    def _update_summary(self) -> None:
        if self.doc.image is None:
            self.summary_label.setText("")
            return
        parts = []
        times = self.renderer.times
        for info, layer in zip(self.doc.analysis(), self.doc.pipeline.layers):
            name = layer.type.replace("2d", "")
            if info.error is not None:
                parts.append(f"{info.index} {name} ⚠ does not fit")
            elif info.waiting:
                parts.append(f"{info.index} {name} waiting")
            else:
                t = times[info.index - 1] if info.index - 1 < len(times) else None
                parts.append(f"{info.index} {name} {shape_text(info.output_shape)}"
                             + (f" {time_text(t)}" if t is not None else ""))
        text = "  |  ".join(parts) if parts else "no layers: add one with Layer ▸ Add"
        self.summary_label.setText(text)
        self.summary_label.setToolTip("\n".join(parts))

    def _on_pixel_hovered(self, info: PixelInfo | None) -> None:
        if info is None:
            self.readout_label.setText("")
            return
        where = "input" if info.view_id == "input" else f"layer {self.doc.selected}"
        self.readout_label.setText(f"{where}: {info.text()}")

    # ================================================================== messages
    def show_message(self, text: str, timeout_ms: int = 6000, *, error: bool = False) -> None:
        style = "color: #c62828;" if error else "color: #1f5fa8;"
        if self.message_label.styleSheet() != style:  # (restyling a widget is not free)
            self.message_label.setStyleSheet(style)
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self._message_timer.start(timeout_ms)
        self.statusMessage.emit(text)

    def report_error(self, title: str, text: str) -> None:
        """One clear message (window-modal, not blocking the caller); the work stays."""
        self.last_error = text
        self.show_message(text, 10000, error=True)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "_error_box", None))
        self._error_box = box
        box.open()

    def show_shortcuts(self) -> None:
        rows = []
        for act in list(self.actions_by_name.values()) + list(self.layer_panel.actions.values()) \
                + list(self.kernel_editor.actions_by_name().values()):
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                             for s in act.shortcuts())
            if keys:
                rows.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>&nbsp;&nbsp;"
                            f"{html.escape(act.text().replace('&', '').rstrip('…'))}</td></tr>")
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts",
                          "<table>" + "".join(rows) + "</table>", QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_about(self) -> None:
        from convstudio import __version__ as version  # type: ignore[attr-defined]

        QMessageBox.about(self, "About ConvStudio",
                          f"<h3>ConvStudio {html.escape(str(version))}</h3>"
                          "<p>Design, see and understand image convolution: kernels, CNN layer "
                          "stacks, shapes and receptive fields.</p>"
                          "<p>Cross-correlation as in PyTorch; the NumPy core is the reference, "
                          "checked against OpenCV.</p>")

    # ================================================================== drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        md = event.mimeData()
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            event.acceptProposedAction()
        elif md.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        md = event.mimeData()
        handled = False
        if md.hasUrls():
            for url in md.urls():
                if url.isLocalFile():
                    handled = self.open_path(url.toLocalFile()) or handled
        elif md.hasImage():
            img = QImage(md.imageData())
            if not img.isNull():
                x = qimage_to_array(img, keep_alpha=self.doc.keep_alpha)
                self.doc.set_image_array(x, "dropped image")
                handled = True
        if handled:
            event.acceptProposedAction()
        else:
            event.ignore()

    def open_path(self, path: str | Path, *, wait: bool = False) -> bool:
        """Open a dropped file: .json as a pipeline, anything else as an image (read in the
        background unless `wait`)."""
        p = Path(path)
        if p.suffix.lower() == ".json":
            return self.open_pipeline(p)
        return self.open_image(p, wait=wait)

    # ================================================================== settings
    def _recent(self, kind: str) -> list[str]:
        value = self.settings.value(f"recent/{kind}", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def _add_recent(self, kind: str, path: Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self._recent(kind) if x != p]
        self.settings.setValue(f"recent/{kind}", items[:MAX_RECENT])
        self._update_recent_menus()

    def _last_folder(self, kind: str) -> str:
        items = self._recent(kind)
        return str(Path(items[0]).parent) if items else str(Path.home())

    def _update_recent_menus(self) -> None:
        for kind, menu, opener in (("images", self.recent_images_menu,
                                    lambda p: self.open_image(p, wait=False)),
                                   ("pipelines", self.recent_pipelines_menu, self.open_pipeline)):
            menu.clear()
            items = self._recent(kind)
            for i, p in enumerate(items):
                act = menu.addAction(f"&{(i + 1) % 10} {Path(p).name}")
                act.setToolTip(p)
                act.triggered.connect(lambda _c=False, path=p, fn=opener: fn(path))
            if items:
                menu.addSeparator()
                menu.addAction("Clear list").triggered.connect(
                    lambda _c=False, k=kind: (self.settings.setValue(f"recent/{k}", []),
                                              self._update_recent_menus()))
            menu.setEnabled(bool(items))

    def _screen_geometry(self):
        """The available geometry (QRect, logical pixels) of the screen the window is on (by its
        geometry, also before it is shown), or ``None`` without a screen."""
        screen = (QGuiApplication.screenAt(self.geometry().center()) or self.screen()
                  or QGuiApplication.primaryScreen())
        return screen.availableGeometry() if screen is not None else None

    @staticmethod
    def _screen_key(geometry) -> str:
        return "" if geometry is None else f"{geometry.width()}x{geometry.height()}"

    def _restore_settings(self) -> None:
        # A layout is only restored on a screen of the size it was saved on, and only if the
        # window still fits: a layout from a laptop comes back squeezed on a large monitor (and
        # one from a monitor overflows a laptop). Otherwise the default layout, sized to fit.
        available = self._screen_geometry()
        restored = False
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry):
            available = self._screen_geometry()  # the screen the window was saved on, if still there
            size = self.geometry().size()
            restored = (self.settings.value("window/screen", "") == self._screen_key(available)
                        and (available is None or (size.width() <= available.width()
                                                   and size.height() <= available.height())))
        if not restored:
            if available is None:
                self.resize(1440, 900)
            else:
                self.resize(min(1440, available.width()), min(900, available.height()))
                if not available.contains(self.geometry()):
                    self.move(available.topLeft())  # (a restored position that no longer fits)
        state = self.settings.value("window/state")
        if restored and isinstance(state, QByteArray) and not state.isEmpty():
            self._default_layout_pending = not self.restoreState(state)
        splitter = self.settings.value("window/splitter")
        if restored and isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        preview = self.settings.value("view/preview", True)
        preview = preview if isinstance(preview, bool) else str(preview).lower() == "true"
        self.actions_by_name["preview"].setChecked(preview)
        mode = self.settings.value("view/mode", DEFAULT_LAYER_MODE)
        self.set_display_mode(str(mode) if mode in self.mode_actions else DEFAULT_LAYER_MODE)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/screen", self._screen_key(self._screen_geometry()))
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("view/preview", self.renderer.preview_enabled())
        s.setValue("view/mode", self.layer_view.mode())
        s.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._default_layout_pending:
            # Dock sizes only take once the window has its size.
            self._default_layout_pending = False
            if self._wants_compact_layout():
                self._arrange_default_docks(True)
            self._apply_default_dock_sizes()

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


class _ImageLoader(QThread):
    """Reads one image file off the GUI thread."""

    loaded = Signal(int, object, object, str)  # token, path, array or None, error message

    def __init__(self, token: int, path: Path, keep_alpha: bool, parent=None) -> None:
        super().__init__(parent)
        self._token, self._path, self._keep_alpha = token, path, keep_alpha

    def run(self) -> None:  # worker thread
        from convstudio.core.imageio import load_image

        try:
            x = load_image(self._path, keep_alpha=self._keep_alpha)
        except ConvStudioError as exc:
            self.loaded.emit(self._token, self._path, None, str(exc))
        except MemoryError:
            self.loaded.emit(self._token, self._path, None,
                             f"'{self._path.name}' is too large for the memory available")
        else:
            self.loaded.emit(self._token, self._path, x, "")


def qimage_to_array(img: QImage, *, keep_alpha: bool = False) -> np.ndarray:
    """A QImage as ``(C, H, W) float32`` in [0, 1], by the rule of ``load_image`` for a file:
    gray images give C = 1, others RGB (C = 3); an alpha channel is dropped (not composited)
    unless `keep_alpha`, which gives C = 4 (R, G, B, A; gray repeated in R, G and B)."""
    alpha = keep_alpha and img.hasAlphaChannel()
    if img.isGrayscale() and not img.hasAlphaChannel():
        g = img.convertToFormat(QImage.Format.Format_Grayscale8)
        arr = np.frombuffer(g.constBits(), np.uint8, g.bytesPerLine() * g.height())
        arr = arr.reshape(g.height(), g.bytesPerLine())[:, :g.width()]
        return (arr.astype(np.float32) / np.float32(255.0))[None]
    # straight (not premultiplied) colour, as a file holds it; the alpha is then kept or dropped
    conv = img.convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(conv.constBits(), np.uint8, conv.bytesPerLine() * conv.height())
    arr = arr.reshape(conv.height(), conv.bytesPerLine())[:, :conv.width() * 4]
    arr = arr.reshape(conv.height(), conv.width(), 4).transpose(2, 0, 1)
    if not alpha:
        # gray with alpha (to Qt: R = G = B everywhere) keeps the gray value alone
        arr = arr[:1] if img.isGrayscale() else arr[:3]
    return np.ascontiguousarray(arr, dtype=np.float32) / np.float32(255.0)
