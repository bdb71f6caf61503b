"""The widgets of a :class:`~convstudio.app.views.map_grid.FeatureMapGrid` and their events:
:class:`GridControlsMixin` builds the controls, the grid / large-map stack and the colour bar, wires
them, and handles the mouse over the small views (hover, click, zoom and pan) and the controls.

A mixin rather than a part object: the grid's tests and its owners read these widgets as the grid's
own attributes (``grid._mode_combo``, ``grid._stack``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsWidget,
    QHBoxLayout,
    QSpinBox,
    QStackedWidget,
    QToolButton,
)

from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import AUTO, DISPLAY_MODES, DIVERGING_LUT, GREY_LUT
from convstudio.app.views.display import ALL_CHANNELS, MODE_LABELS, PixelInfo, color_map
from convstudio.app.views.flow import FlowBar, FlowLayout
from convstudio.app.views.image_view import BACKGROUND, ImageView, LeaveFilter, graphics_view
from convstudio.app.views.linker import ViewLinker, while_alive

if TYPE_CHECKING:
    from convstudio.app.views.map_tile import MapTile

__all__ = ["GridControlsMixin", "MIN_MAP_HEIGHT"]

#: The least height a grid's maps and its colour bar get (pixels).
MIN_MAP_HEIGHT = 40


class GridControlsMixin:
    """Widgets and event handlers of a :class:`~convstudio.app.views.map_grid.FeatureMapGrid` (which
    holds the state, the signals and the drawing)."""

    # ---- building
    def _build_controls(self) -> QHBoxLayout:
        """The row of controls above the maps (returned as a layout)."""
        self._mode_combo = QComboBox()
        for mode in (AUTO, *DISPLAY_MODES):
            self._mode_combo.addItem(MODE_LABELS[mode], mode)
        self._mode_combo.setToolTip("How values map to colours. Contrast: maps larger than 64 x 64 "
                                    "end the scale where the brightest 0.35 % saturate; smaller "
                                    "ones scale to their largest value")
        # Narrower than its longest label when room is short (the label is then elided): two
        # views side by side must leave the docks room on a 1280-pixel screen.
        self._mode_combo.setMinimumWidth(
            self._mode_combo.fontMetrics().horizontalAdvance(MODE_LABELS["diverging"]) + 40)
        self._lock_box = QCheckBox("Lock levels")
        self._lock_box.setToolTip("Keep one colour scale across layers")
        self._color_box = QCheckBox("Colour")
        self._color_box.setChecked(True)
        self._color_box.setToolTip("Show 3 or 4 channels as one RGB image")
        self._color_box.setVisible(False)
        self._page_combo = QComboBox()
        self._page_combo.setToolTip("Channels shown in the grid")
        self._page_combo.setVisible(False)
        self._channel_spin = QSpinBox()
        self._channel_spin.setPrefix("channel ")
        self._channel_spin.setVisible(False)
        # Tool buttons: as wide as their word (a push button takes 80 px in many styles)
        self._grid_button = QToolButton()
        self._grid_button.setText("Grid")
        self._grid_button.setToolTip("Back to all channels")
        self._grid_button.setVisible(False)
        self._fit_button = QToolButton()
        self._fit_button.setText("Fit")
        self._fit_button.setToolTip("Zoom to show the whole map")

        # The controls wrap to a second row in a narrow view (app/views/flow.py): in one row
        # they made each view at least 350 px wide, the window wider than a 1024-pixel screen.
        self._controls_bar = FlowBar()
        self._controls_bar.setObjectName("gridControls")
        flow = FlowLayout(self._controls_bar, spacing=6)
        for w in (self._mode_combo, self._lock_box, self._color_box, self._page_combo,
                  self._channel_spin, self._grid_button, self._fit_button):
            flow.addWidget(w)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self._controls_bar, 1)
        return controls

    def _build_middle(self, view_id: str) -> QHBoxLayout:
        """The grid / large-map stack and the colour bar beside it (returned as a layout)."""
        # ---- middle: the grid or one large map, and the colour bar
        self._grid_view = graphics_view()
        self._grid_root = QGraphicsWidget()
        self._grid_view.setCentralItem(self._grid_root)
        self._focus_view = ImageView(view_id=view_id, show_readout=False, auto_fit=False)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._grid_view)
        self._stack.addWidget(self._focus_view)
        # (a graphics view asks for 68 px at least: on a 512-pixel-high screen every view of the
        # window gives some of that up, the maps shrink instead of the window growing past it)
        for view in (self._grid_view, self._focus_view):
            view.setMinimumHeight(MIN_MAP_HEIGHT)

        self._bar_view = pg.GraphicsLayoutWidget()
        self._bar_view.setBackground(BACKGROUND)
        self._bar_view.setFixedWidth(78)
        self._bar_view.setMinimumHeight(MIN_MAP_HEIGHT)
        self._bar = pg.ColorBarItem(values=(0, 1), colorMap=color_map(GREY_LUT), interactive=False,
                                    width=14, colorMapMenu=False)
        color_map(DIVERGING_LUT)  # made once, here: its 255 colours take a first result 10-20 ms
        self._bar_view.addItem(self._bar)

        middle = QHBoxLayout()
        middle.setContentsMargins(0, 0, 0, 0)
        middle.setSpacing(2)
        middle.addWidget(self._stack, 1)
        middle.addWidget(self._bar_view)
        return middle

    def _wire(self, linker: ViewLinker | None) -> None:
        """Connect the controls, the mouse and the persistent ViewBox; link it through ``linker``."""
        self._mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        self._lock_box.toggled.connect(self._on_lock_box_changed)
        self._color_box.toggled.connect(self._on_color_box_changed)
        self._page_combo.currentIndexChanged.connect(self._on_page_changed)
        self._channel_spin.valueChanged.connect(self._on_channel_spin_changed)
        self._grid_button.clicked.connect(self._on_grid_button_clicked)
        self._fit_button.clicked.connect(self.auto_range)
        # Signals of the grid's own children reach it through while_alive: a child that emits
        # while the grid is being destroyed (a ViewBox resized as the views go) finds no slot.
        scene = self._grid_view.scene()
        scene.sigMouseMoved.connect(while_alive(self, "_on_grid_mouse_moved"))
        scene.sigMouseClicked.connect(while_alive(self, "_on_grid_mouse_clicked"))
        self._grid_view.viewport().installEventFilter(LeaveFilter(self._on_grid_mouse_left, self))
        self._focus_view.hovered.connect(while_alive(self, "_set_hover"))
        self._focus_view.clicked.connect(self.clicked)
        self._focus_view.doubleClicked.connect(while_alive(self, "_on_focus_double_clicked"))
        self.view_box().sigRangeChanged.connect(while_alive(self, "_on_region_changed"))
        self._linker = linker if linker is not None else ViewLinker(self)
        self._linker.link(self.view_box())

    def _tile_at(self, pos) -> MapTile | None:
        for tile in self._tiles:
            if tile.sceneBoundingRect().contains(pos):
                return tile
        return None

    # ---- zoom and pan requests from the tiles: all go through the one ViewBox
    def _zoom_about(self, centre, factor: float) -> None:
        r = self.view_rect()
        cx, cy = centre.x(), centre.y()
        new = QRectF(
            cx + (r.x() - cx) * factor, cy + (r.y() - cy) * factor, r.width() * factor, r.height() * factor
        )
        self.view_box().setRange(rect=new, padding=0)

    def _pan_by(self, dx: float, dy: float) -> None:
        self.view_box().setRange(rect=self.view_rect().translated(dx, dy), padding=0)

    def _on_region_changed(self, view_box: pg.ViewBox, *_args: Any) -> None:
        rect = view_box.targetRect()
        for tile in self._pool:
            tile.set_view_rect(rect)

    # ---- handlers
    def _on_mode_combo_changed(self, index: int) -> None:
        self.set_mode(self._mode_combo.itemData(index))

    def _on_lock_box_changed(self, checked: bool) -> None:
        # Lock to what is on screen now; the owner may then share one scale across grids.
        levels = self.current_levels() if checked else None
        self.set_shared_levels(levels)  # also clears the box when there is nothing to lock to
        if (levels is not None) == checked:
            self.levelsLockChanged.emit(checked)

    def _on_color_box_changed(self, _checked: bool) -> None:
        if self._x is None:
            return
        if self._focused is not None:
            self._focused = None
            self.focusChanged.emit(None)
        self._update_pages()
        self._show_current()

    def _on_page_changed(self, index: int) -> None:
        if index < 0 or index == self._page:
            return
        self._page = index
        self._show_current()

    def _on_channel_spin_changed(self, value: int) -> None:
        if self._focused is not None:
            self.set_focused_channel(value)

    def _on_grid_button_clicked(self) -> None:
        self.set_focused_channel(None)

    def _on_focus_double_clicked(self, _info: PixelInfo) -> None:
        self.set_focused_channel(None)

    def _on_grid_mouse_moved(self, pos) -> None:
        self._set_hover(self.pixel_info_at_scene_pos(pos))

    def _on_grid_mouse_left(self) -> None:
        self._set_hover(None)

    def _on_grid_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        info = self.pixel_info_at_scene_pos(ev.scenePos())
        if info is None:
            return
        if ev.double():
            if info.channel != ALL_CHANNELS:
                self.set_focused_channel(info.channel)
        else:
            self.clicked.emit(info)

    def _set_hover(self, info: PixelInfo | None) -> None:
        if info == self._last_hover:
            return
        self._last_hover = info
        self._readout.setText(info.text() if info is not None else " ")
        self.hovered.emit(info)
