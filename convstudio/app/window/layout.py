"""The main window's layout: the central views, the docks and their default places and sizes
(wide or compact), the status bar, and saving and restoring geometry, dock state and view
settings.

:class:`WindowLayout` is mixed into :class:`~convstudio.app.window.main_window.MainWindow`.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from convstudio.app.editing.kernel_editor import KernelEditor
from convstudio.app.i18n import made_at_run_time
from convstudio.app.model.throttle import Debouncer
from convstudio.app.panels.layer_list import LayerListPanel
from convstudio.app.panels.layer_params import LayerParamsEditor
from convstudio.app.views.elided_label import ElidedLabel, TitleLabel
from convstudio.app.views.feature_view import FeatureMapGrid, ViewLinker
from convstudio.app.window.actions import DEFAULT_LAYER_MODE

__all__ = ["WindowLayout"]


class WindowLayout:
    """Where the window's parts sit, and how that is remembered (a mixin of ``MainWindow``)."""

    # ================================================================== building
    def _build_centre(self) -> None:
        self.linker = ViewLinker(self)
        self.input_view = FeatureMapGrid(view_id="input", true_color=True)
        self.input_view.set_linker(self.linker)
        self.layer_view = FeatureMapGrid(view_id="layer")
        self.layer_view.set_linker(self.linker)

        # Titles longer than their column ("1  detectors: conv 3x3 3->4 ... (106 ms)") end in
        # "…", the whole title in the tooltip.
        self._input_title = TitleLabel()
        self._input_title.setObjectName("inputTitle")
        self._layer_title = TitleLabel()
        self._layer_title.setObjectName("layerTitle")
        for label in (self._input_title, self._layer_title):
            made_at_run_time(label)  # (app/window/layer_display.py)
        for t in (self._input_title, self._layer_title):
            f = t.font()
            f.setBold(True)
            t.setFont(f)
            t.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            t.setTextFormat(Qt.TextFormat.PlainText)

        self._layer_message = QLabel()
        self._layer_message.setObjectName("layerMessage")
        made_at_run_time(self._layer_message)
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
        # Room for a layer's name and shape; the default layout gives it 330 px, and the user
        # may narrow it to this on a small screen (1024 x 600).
        self.layer_panel.setMinimumWidth(240)
        self.kernel_editor = KernelEditor()
        self.params_editor = LayerParamsEditor(self.doc)
        self.layers_dock = self._dock("Layers", "layersDock", self.layer_panel,
                                      Qt.DockWidgetArea.LeftDockWidgetArea)
        self.kernel_dock = self._dock("Kernel", "kernelDock", self.kernel_editor,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.params_dock = self._dock("Layer parameters", "paramsDock", self.params_editor,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self._default_layout_pending = True
        # (MainWindow.event: the window's layout changed, its minimum height may have grown)
        self._screen_check = Debouncer(30, parent=self)
        self._screen_check.triggered.connect(self._keep_on_screen)

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
        stacked = compact and self._left_column_too_tall()
        if stacked:
            # A screen too short for the Layers above the Kernel (911 x 512: 1366 x 768 at
            # 150 %): the Kernel is a tab beside the Layers.
            self.tabifyDockWidget(self.layers_dock, self.kernel_dock)
            self.layers_dock.raise_()
        elif compact:
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
        self._stacked_left = stacked

    def _left_column_too_tall(self) -> bool:
        """Whether the Layers and the Kernel, one above the other, need more height than the
        window leaves them (less the menu, tool and status bars). Like the compact layout itself,
        decided on the window's size, which is the screen's on a first start."""
        bars = sum(bar.sizeHint().height() for bar in (self.menuBar(), self.statusBar(),
                                                        getattr(self, "toolbar", None)) if bar is not None)
        separator = self.style().pixelMetric(self.style().PixelMetric.PM_DockWidgetSeparatorExtent, None, self)
        need = (self.layers_dock.minimumSizeHint().height() + self.kernel_dock.minimumSizeHint().height()
                + separator)
        return need > self.height() - bars

    def _keep_on_screen(self) -> None:
        """After the docks' minimum heights grew (a lesson opened, a conv layer's kernel shown, a
        Learn dock tabbed over Seeing why), Qt grows the window to them: where it no longer fits
        its screen, the Kernel becomes a tab beside the Layers, as on a short screen from the
        start, and the window goes back to the screen's height."""
        available = self._screen_geometry()
        if available is None or not self.isVisible() or self.isMaximized() or self.isFullScreen():
            return
        room = available.height() - (self.frameGeometry().height() - self.geometry().height())
        minimum = self.minimumSizeHint().height()
        if minimum <= room:
            # Grown by Qt past the screen (to a minimum that has fallen since, or before the
            # Kernel became a tab below): back to the screen. A window taller than the screen
            # for another reason (sized so on purpose) stays as it is.
            if self.height() > room and (getattr(self, "_pushed_taller", False)
                                         or getattr(self, "_shrink_to_screen", False)):
                self.resize(self.width(), room)
            self._pushed_taller = self._shrink_to_screen = False
            return
        if self.height() > minimum:
            return  # taller than it must be: sized so on purpose
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        if (self.dockWidgetArea(self.kernel_dock) == left == self.dockWidgetArea(self.layers_dock)
                and not self.kernel_dock.isFloating() and not self.layers_dock.isFloating()
                and self.kernel_dock.toggleViewAction().isChecked()  # (open, perhaps a tab behind)
                and self.layers_dock.toggleViewAction().isChecked()
                and self.layers_dock not in self.tabifiedDockWidgets(self.kernel_dock)):
            self.tabifyDockWidget(self.layers_dock, self.kernel_dock)  # (the Kernel on top)
            self._stacked_left = True
            self._shrink_to_screen = True
            self._screen_check.trigger()  # (the new minimum holds on a later turn)

    def _apply_default_dock_sizes(self) -> None:
        if getattr(self, "_stacked_left", False):
            self.resizeDocks([self.layers_dock, self.params_dock], [330, 300], Qt.Orientation.Horizontal)
            return
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

    def _apply_pending_default_layout(self) -> None:
        """On the first show: the default layout, sized to the window (unless one was restored)."""
        if self._default_layout_pending:
            # Dock sizes only take once the window has its size.
            self._default_layout_pending = False
            compact = self._wants_compact_layout()
            if compact or getattr(self, "_compact_layout", False):  # (arranged before it showed)
                self._arrange_default_docks(compact)
            self._apply_default_dock_sizes()

    def reset_layout(self) -> None:
        self._arrange_default_docks(self._wants_compact_layout())
        for dock in (self.layers_dock, self.kernel_dock, self.params_dock):
            dock.show()
        self.toolbar.show()
        self._apply_default_dock_sizes()
        self.insight.reset_layout()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.image_label = QLabel()
        self.image_label.setObjectName("imageInfo")
        self.summary_label = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
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
        # a long path is shortened in its middle, not cut, and a fresh message keeps room for
        # about 48 characters beside the layer summary (which yields: its tooltip has it all)
        self.message_label = ElidedLabel(keep_chars=48)
        self.message_label.setObjectName("statusMessage")
        self.message_label.setStyleSheet("color: #1f5fa8;")
        self.message_label.setMaximumWidth(520)
        self.readout_label.setMinimumWidth(260)
        # A message stays until a few seconds after the last one (show_message sets how long).
        self._message_clear = Debouncer(6000, parent=self)
        self._message_clear.triggered.connect(self._clear_message)
        made_at_run_time(self.image_label, "text", "toolTip")  # (app/window/layer_display.py)
        made_at_run_time(self.summary_label, "text", "toolTip")
        for label in (self.message_label, self.readout_label, self.busy_label):
            made_at_run_time(label)
        sb.addWidget(self.image_label)
        sb.addWidget(self.summary_label, 1)
        sb.addPermanentWidget(self.message_label)
        sb.addPermanentWidget(self.readout_label)
        sb.addPermanentWidget(self.preview_label)
        sb.addPermanentWidget(self.busy_label)

    def _clear_message(self) -> None:
        """The message's time is up: its text goes, and its tooltip with it."""
        self.message_label.clear()
        self.message_label.setToolTip("")

    # ================================================================== settings
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
            if self._default_layout_pending and self._wants_compact_layout():
                # Before the window first shows: the wide layout's minimum height (the Kernel
                # above the Layer parameters) would make it grow past a small screen first.
                self._arrange_default_docks(True)
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
        s.setValue("view/mode", self.view_state.display_mode)
        s.sync()
