"""Every channel of one layer: :class:`FeatureMapGrid`, a near-square grid of small views
(:class:`~convstudio.app.views.map_tile.MapTile`) with one colour scale, pages, and one channel shown
large on demand. Its widgets and event handlers are in :mod:`~convstudio.app.views.grid_controls`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QGraphicsGridLayout, QSizePolicy, QVBoxLayout, QWidget

from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import (
    AUTO,
    DISPLAY_MODES,
    Display,
    check_levels,
    display_for,
    finite_range,
    map_display,
)
from convstudio.app.views.display import PixelInfo, as_chw, color_map, needs_fit, same_display
from convstudio.app.views.elided_label import TitleLabel
from convstudio.app.views.grid_controls import GridControlsMixin
from convstudio.app.views.image_view import ImageView, readout_label
from convstudio.app.views.linker import ViewLinker
from convstudio.app.views.map_tile import MapTile
from convstudio.app.views.overlay import normalise_overlay
from convstudio.app.views.placement import INPUT_PLACEMENT, Placement, as_placement, content_rect
from convstudio.core.formatting import format_number, format_shape

__all__ = ["MAX_VIEWS", "FeatureMapGrid"]


MAX_VIEWS = 64
"""Default cap on the small views a :class:`FeatureMapGrid` shows at once (more go on further pages)."""


class FeatureMapGrid(GridControlsMixin, QWidget):
    """All channels of one layer output in a near-square grid of small views with one colour scale.

    The whole layer shares one set of levels (per layer by default; locked shared levels when the owner
    calls :meth:`set_shared_levels`), shown by the colour bar. At most ``max_views`` small views exist at
    once; more channels go on pages. Double-click a map (or use the channel box) to show one channel
    large; "Grid" (or a double click on the large map) goes back. With ``true_color=True`` (the input
    view) a 3- or 4-channel array is shown as one RGB image (the "Colour" box switches to the channel
    grid); ``C = 1`` is one grey map.

    All maps are drawn in input coordinates (see :class:`Placement`) and every small map shows the same
    region: the target region of one persistent ViewBox, :meth:`view_box` (also the large map's), so
    linking the grid to other views is ``linker.link(grid.view_box())``, done for you by
    :meth:`set_linker`. The small views can come and go with the channel count; that ViewBox does not.

    Signals
    -------
    hovered(PixelInfo | None), clicked(PixelInfo)
        Pixel under the cursor / left-clicked (no drag), ``view_id`` being this grid's.
    modeChanged(str)
        The display mode changed (from the combo box or :meth:`set_mode`).
    levelsLockChanged(bool)
        The user ticked or cleared "Lock levels". On ticking, the grid first locks to its own current
        levels; the owner may then share one scale with :meth:`set_shared_levels` on every grid.
    focusChanged(object)
        The focused channel (int), or None when back to the grid.
    """

    hovered = Signal(object)
    clicked = Signal(object)
    modeChanged = Signal(str)
    levelsLockChanged = Signal(bool)
    focusChanged = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        view_id: str = "layer",
        true_color: bool = False,
        max_views: int = MAX_VIEWS,
        linker: ViewLinker | None = None,
    ) -> None:
        super().__init__(parent)
        if max_views < 1:
            raise ValueError("max_views must be >= 1")
        self.view_id = view_id
        self._true_color_allowed = true_color
        self._max_views = max_views
        self._x: np.ndarray | None = None
        self._placement = INPUT_PLACEMENT
        self._title_text = ""
        self._mode = AUTO
        self._shared: tuple[float, float] | None = None
        self._display: Display | None = None
        self._data_range: tuple[float, float] = (0.0, 0.0)
        self._page = 0
        self._cols = 0
        self._focused: int | None = None
        self._tiles: list[MapTile] = []  # the ones in the grid now
        self._pool: list[MapTile] = []  # every tile made so far (at most max_views)
        self._content: tuple | None = None
        self._overlay_specs: dict[Hashable, tuple] = {}
        self._overlay_fills = True
        self._channel_lows: dict[int, float] = {}  # finite minimum of a map (auto / contrast)
        self._last_hover: PixelInfo | None = None
        self._bar_shows: tuple[np.ndarray, tuple[float, float]] | None = None  # (lut, levels)

        controls = self._build_controls()
        # The line above the maps (shape, range, notes) in one line, shortened at its end with
        # "…" when the view is narrower than it (a plain label cut it off mid-word); the whole
        # line is in its tooltip. (It takes the width it is given, as the controls' label did.)
        self._title = TitleLabel()
        self._title.setObjectName("mapsInfo")
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        middle = self._build_middle(view_id)
        self._readout = readout_label()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self._title)
        layout.addLayout(controls)
        layout.addLayout(middle, 1)
        layout.addWidget(self._readout)
        self._wire(linker)
        notifier().languageChanged.connect(self._on_language_changed)
        made_at_run_time(self._title, "text", "toolTip")
        made_at_run_time(self._page_combo, "items")

    def _on_language_changed(self, _language: str) -> None:
        """The texts made here, again in the new language (docs/developing.md, "Translations")."""
        if self._x is not None:
            self._update_pages()
        self._update_title_and_bar()

    # ================================================================ public API
    def set_maps(self, x: np.ndarray, *, title: str = "", placement: Placement | Any | None = None,
                 data_range: tuple[float, float] | None = None,
                 changed: Sequence[int] | None = None,
                 channel_ranges: np.ndarray | None = None) -> None:
        """Show every channel of ``x`` (``(C, H, W)`` or ``(H, W)`` float32) placed by ``placement``.

        ``placement`` (a :class:`Placement` or a core ``ReceptiveField``; None = the input itself) puts
        the maps in input coordinates. ``data_range``, the finite ``(min, max)`` of ``x``, saves scanning
        it when the caller knows it already (the renderer measures every layer in its worker);
        ``channel_ranges``, ``(C, 2)``, the finite ``(min, max)`` of every channel, saves scanning
        each map for its minimum (which decides whether a map is drawn grey).
        ``changed``: the channels in which ``x`` differs from the maps shown now, when the caller knows
        that (an edit changed a few); if the shape, the placement and the colour scale stay, only those
        channels are redrawn. The focused channel is kept when it still exists. The views are refitted
        only when the layer's extent changed a lot (see :meth:`auto_range`).
        """
        x = as_chw(x)
        placement = as_placement(placement)
        old_x, old_display, old_placement = self._x, self._display, self._placement
        if changed is not None and old_x is not None and old_x.shape == x.shape:
            for ch in changed:
                self._channel_lows.pop(int(ch), None)
        else:
            self._channel_lows.clear()
        if channel_ranges is not None and len(channel_ranges) == x.shape[0]:
            self._channel_lows = {c: float(lo) for c, lo in enumerate(channel_ranges[:, 0])}
        self._x = x
        self._placement = placement
        self._title_text = title
        self._data_range = finite_range(x) if data_range is None else (
            float(data_range[0]), float(data_range[1]))
        if (changed is not None and old_x is not None and old_x.shape == x.shape
                and old_placement == placement and not self._showing_rgb()):
            self._update_display()
            if same_display(old_display, self._display):
                self._redraw_channels(x, set(changed))
                self._update_title_and_bar()
                return
            # New levels: every map is coloured again below, the unchanged ones from the planes
            # their tiles shrank before (equal values in the new array).
            for tile in self._tiles:
                if tile.source is old_x and tile.channel not in changed:
                    tile.retarget(x)
        c = x.shape[0]
        if self._focused is not None and self._focused >= c:
            self._focused = None
            self.focusChanged.emit(None)
        self._color_box.setVisible(self._true_color_allowed and c in (3, 4))
        self._update_display()
        self._update_pages()
        self._show_current()
        self._fit_if_new(content_rect(self._placement, x.shape[1], x.shape[2]))

    def clear(self) -> None:
        """Show nothing."""
        self._x = None
        self._display = None
        self._content = None
        self._focused = None
        self._set_tiles(0, 1)
        self._focus_view.clear()
        self._stack.setCurrentIndex(0)
        self._update_title_and_bar()
        self._set_hover(None)

    def maps(self) -> np.ndarray | None:
        return self._x

    def placement(self) -> Placement:
        return self._placement

    def set_mode(self, mode: str) -> None:
        """``"auto"`` or one of :data:`~convstudio.app.views.colormaps.DISPLAY_MODES`; emits ``modeChanged``."""
        if mode != AUTO and mode not in DISPLAY_MODES:
            raise ValueError(f"unknown display mode {mode!r}; expected 'auto' or one of {DISPLAY_MODES}")
        if mode == self._mode:
            return
        self._mode = mode
        self._mode_combo.blockSignals(True)
        self._mode_combo.setCurrentIndex(self._mode_combo.findData(mode))
        self._mode_combo.blockSignals(False)
        self._redisplay()
        self.modeChanged.emit(mode)

    def mode(self) -> str:
        """The mode asked for (possibly ``"auto"``)."""
        return self._mode

    def resolved_mode(self) -> str | None:
        """The mode in effect (``"rgb"`` for true colour), None when empty."""
        if self._x is None:
            return None
        return "rgb" if self._showing_rgb() else self._display.mode

    def current_levels(self) -> tuple[float, float] | None:
        """The layer's levels in use (shared ones when locked); ``(0, 1)`` in true colour; None when empty."""
        if self._x is None:
            return None
        return (0.0, 1.0) if self._showing_rgb() else self._display.levels

    def current_lut(self) -> np.ndarray | None:
        """The ``(N, 3) uint8`` lookup table in use (None in true colour)."""
        return None if self._display is None or self._showing_rgb() else self._display.lut

    def set_shared_levels(self, levels: tuple[float, float] | None) -> None:
        """Lock the colour scale to ``levels`` (``(lo, hi)``), or None for per-layer levels again.

        The "Lock levels" box follows without emitting ``levelsLockChanged``.
        """
        self._shared = None if levels is None else check_levels(levels)
        self._lock_box.blockSignals(True)
        self._lock_box.setChecked(self._shared is not None)
        self._lock_box.blockSignals(False)
        self._redisplay()

    def shared_levels(self) -> tuple[float, float] | None:
        return self._shared

    def focused_channel(self) -> int | None:
        return self._focused

    def set_focused_channel(self, channel: int | None) -> None:
        """Show ``channel`` large, or None for the grid (on the page holding the last focused channel)."""
        if channel is not None:
            c = 0 if self._x is None else self._x.shape[0]
            if not 0 <= channel < c:
                raise ValueError(f"channel {channel} out of range for {c} channels")
        if channel == self._focused:
            return
        previous = self._focused
        self._focused = channel
        if channel is None and previous is not None and not self._showing_rgb():
            page = previous // self._max_views
            if page != self._page:
                self._page = page
                self._page_combo.blockSignals(True)
                self._page_combo.setCurrentIndex(page)
                self._page_combo.blockSignals(False)
        self._show_current()
        self.focusChanged.emit(channel)

    def view_count(self) -> int:
        """Number of small views now (at most ``max_views``)."""
        return len(self._tiles)

    def channels_shown(self) -> list[int]:
        """Channels that have a small view now (the current page; ``[-1]`` for one true-colour view)."""
        return [t.channel for t in self._tiles if t.source is not None]

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the small views now."""
        n = len(self._tiles)
        return (math.ceil(n / self._cols) if self._cols else 0, self._cols)

    def page(self) -> int:
        return self._page

    def page_count(self) -> int:
        if self._x is None or self._showing_rgb():
            return 1
        return max(1, math.ceil(self._x.shape[0] / self._max_views))

    def set_page(self, page: int) -> None:
        if not 0 <= page < self.page_count():
            raise ValueError(f"page {page} out of range 0..{self.page_count() - 1}")
        self._page_combo.setCurrentIndex(page)  # -> _on_page_changed

    def set_true_color(self, on: bool) -> None:
        """For a ``true_color`` grid: RGB image (True) or the channel grid (False) for 3 or 4 channels."""
        self._color_box.setChecked(on)

    def view_box(self) -> pg.ViewBox:
        """The persistent ViewBox whose target region every map of this grid shows (link this one)."""
        return self._focus_view.view_box()

    def set_linker(self, linker: ViewLinker) -> None:
        """Sync this grid's zoom / pan through ``linker`` (for good: the linked ViewBox never changes)."""
        if linker is self._linker:
            return
        self._linker.unlink(self.view_box())
        self._linker = linker
        linker.link(self.view_box())

    def linker(self) -> ViewLinker:
        return self._linker

    def auto_range(self) -> None:
        """Fit the views to the layer's extent (linked views follow)."""
        if self._content is not None:
            self.view_box().setRange(rect=QRectF(*self._content), padding=0)

    def view_rect(self) -> QRectF:
        """The region (input coordinates) every map shows at least."""
        return self.view_box().targetRect()

    def focus_view(self) -> ImageView:
        return self._focus_view

    def grid_graphics_view(self) -> pg.GraphicsView:
        return self._grid_view

    def tile_image_items(self) -> list[pg.ImageItem]:
        return [t.item for t in self._tiles]

    def tile_labels(self) -> list[str]:
        return [t.label_text() for t in self._tiles]

    def readout_text(self) -> str:
        return self._readout.text().strip()

    def tile_scene_pos(self, index: int, x: float, y: float):
        """Scene position (in :meth:`grid_graphics_view`) where small view ``index`` draws input ``(x, y)``.
        """
        return self._tiles[index].scene_pos_of(x, y)

    def pixel_info_at_scene_pos(self, pos) -> PixelInfo | None:
        """The pixel under a scene position of the grid's GraphicsView (what the mouse handlers use)."""
        tile = self._tile_at(pos)
        return None if tile is None else tile.info_at_scene_pos(pos, self.view_id)

    # ---- overlays (input coordinates, drawn on every map of the layer)
    def add_rect_overlay(self, key: Hashable, rect, pen=None, brush=None) -> None:
        """Draw (or move) rectangle ``key`` on every map; ``rect`` = ``(x, y, w, h)`` in input coordinates."""
        spec = normalise_overlay(rect, pen, brush)
        self._overlay_specs[key] = spec
        for tile in self._pool:
            tile.set_overlay(key, *spec)
        self._focus_view.add_rect_overlay(key, *spec)

    def remove_overlay(self, key: Hashable) -> None:
        self._overlay_specs.pop(key, None)
        for tile in self._pool:
            tile.remove_overlay(key)
        self._focus_view.remove_overlay(key)

    def clear_overlays(self) -> None:
        for key in list(self._overlay_specs):
            self.remove_overlay(key)

    def overlay_keys(self) -> list:
        return list(self._overlay_specs)

    def set_overlay_fills(self, on: bool) -> None:
        """Draw the solid fills of the rectangle overlays (True, the default) or only their outlines
        and hatches (False), on every map and the enlarged one: a heat map drawn on the maps (the
        ERF) then shows in its own colours, not tinted by a box's fill."""
        on = bool(on)
        if on == self._overlay_fills:
            return
        self._overlay_fills = on
        for tile in self._pool:
            for key, spec in self._overlay_specs.items():
                tile.set_overlay(key, *spec)
        self._focus_view.set_overlay_fills(on)

    def overlay_fills(self) -> bool:
        return self._overlay_fills

    # ================================================================ internals
    def _showing_rgb(self) -> bool:
        return (
            self._x is not None
            and self._true_color_allowed
            and self._x.shape[0] in (3, 4)
            and self._color_box.isChecked()
        )

    def _redraw_channels(self, x: np.ndarray, changed: set[int]) -> None:
        """The same layer with new values in `changed`: redraw those, keep the other renderings."""
        for tile in self._tiles:
            if tile.source is None:
                continue
            if tile.channel in changed:
                tile.show_map(x, tile.channel, self._map_display(tile.channel), self._placement)
            else:
                tile.retarget(x)
        if self._focused is not None:
            self._show_focus()

    def _update_display(self) -> None:
        if self._x is None:
            self._display = None
            return
        self._display = display_for(
            self._x, self._mode, shared_levels=self._shared, data_range=self._data_range
        )

    def _map_display(self, channel: int) -> Display:
        """How channel ``channel`` is drawn: the layer's display, except that in auto / contrast a
        map without negative values is grey even when the layer is diverging (see
        :func:`~convstudio.app.views.colormaps.map_display`)."""
        d = self._display
        if d is None or d.mode != "diverging" or self._mode not in (AUTO, "contrast"):
            return d
        lo = self._channel_lows.get(channel)
        if lo is None:
            plane = self._x[channel]
            lo = float(np.min(plane)) if plane.size else 0.0
            if not math.isfinite(lo):
                lo = finite_range(plane)[0]
            self._channel_lows[channel] = lo
        return map_display(d, self._mode, lo)

    def _redisplay(self) -> None:
        """Levels / LUT changed, the data did not."""
        if self._x is None:
            return
        self._update_display()
        if not self._showing_rgb():
            for tile in self._tiles:
                if tile.source is not None:
                    tile.show_map(tile.source, tile.channel, self._map_display(tile.channel),
                                  self._placement)
        if self._focused is not None:
            self._show_focus()
        self._update_title_and_bar()

    def _update_pages(self) -> None:
        pages = self.page_count()
        c = 0 if self._x is None else self._x.shape[0]
        self._page_combo.blockSignals(True)
        self._page_combo.clear()
        for p in range(pages):
            first, last = p * self._max_views, min(c, (p + 1) * self._max_views) - 1
            self._page_combo.addItem(tr("channels {first}-{last}").format(first=first, last=last))
        self._page = min(self._page, pages - 1)
        self._page_combo.setCurrentIndex(self._page)
        self._page_combo.blockSignals(False)
        self._page_combo.setVisible(pages > 1)

    def _show_current(self) -> None:
        """Put the data into the small views (current page) and, when focused, the large view."""
        x = self._x
        if x is None:
            return
        focus = self._focused is not None
        self._stack.setCurrentIndex(1 if focus else 0)
        self._grid_button.setVisible(focus)
        self._channel_spin.setVisible(focus)
        self._page_combo.setEnabled(not focus)
        if self._showing_rgb():
            self._set_tiles(1, 1)
            self._tiles[0].show_rgb(x, self._placement)
            self._tiles[0].set_label("RGBA" if x.shape[0] == 4 else "RGB")
        else:
            c = x.shape[0]
            first = self._page * self._max_views
            channels = range(first, min(c, first + self._max_views))
            self._set_tiles(len(channels), math.ceil(math.sqrt(min(c, self._max_views))))
            for tile, ch in zip(self._tiles, channels):
                tile.show_map(x, ch, self._map_display(ch), self._placement)
                tile.set_label(str(ch))
        if focus:
            self._show_focus()
        self._mode_combo.setEnabled(not self._showing_rgb() or focus)
        self._lock_box.setVisible(not self._showing_rgb())  # true colour has a fixed [0, 1] scale
        self._update_title_and_bar()

    def _show_focus(self) -> None:
        ch = self._focused
        self._channel_spin.blockSignals(True)
        self._channel_spin.setRange(0, self._x.shape[0] - 1)
        self._channel_spin.setValue(ch)
        self._channel_spin.blockSignals(False)
        # one channel of a true-colour input gets its own scale; a layer's channel keeps the layer's
        # (grey [0, m] for a map without negative values in auto / contrast, as in the grid)
        levels = self._shared if self._showing_rgb() else self._map_display(ch).levels
        self._focus_view.set_image(self._x, mode=self._mode, channel=ch, placement=self._placement,
                                   levels=levels)

    def _set_tiles(self, n: int, cols: int) -> None:
        """Have exactly ``n`` small views in ``cols`` columns.

        Tiles are pooled, never deleted: the scene may still hold one as its drag or hover item when a
        new result arrives mid-gesture, and a deleted C++ object there would crash the next mouse move.
        """
        if n == len(self._tiles) and cols == self._cols:
            return
        self._set_hover(None)
        rect = self.view_rect()
        while len(self._pool) < n:
            tile = MapTile(self)
            tile.set_view_rect(rect)
            for key, spec in self._overlay_specs.items():
                tile.set_overlay(key, *spec)
            self._pool.append(tile)
        self._tiles = self._pool[:n]
        for tile in self._pool[n:]:
            tile.hide_and_forget()
        # a fresh layout: QGraphicsGridLayout keeps the rows and columns of removed items
        grid = QGraphicsGridLayout()
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(3)
        for k, tile in enumerate(self._tiles):
            grid.addItem(tile, k // cols, k % cols)
            tile.setVisible(True)
        for r in range(math.ceil(n / cols) if n else 0):
            grid.setRowStretchFactor(r, 1)
        for c in range(cols):
            grid.setColumnStretchFactor(c, 1)
        self._grid_root.setLayout(grid)
        grid.activate()  # place the tiles now, not on the next event loop pass
        self._cols = cols

    def _update_title_and_bar(self) -> None:
        x = self._x
        parts = [self._title_text] if self._title_text else []
        if x is not None:
            parts.append(format_shape(x.shape))
            if self._showing_rgb():
                parts.append("RGB" if x.shape[0] == 3 else "RGBA")
            else:
                lo, hi = self._data_range
                parts.append(tr("range [{lo}, {hi}]").format(lo=format_number(lo), hi=format_number(hi)))
                if self._focused is None and self._display.mode == "diverging" and any(
                        t._display is not None and t._display.mode != "diverging"
                        for t in self._tiles if t.source is not None):
                    parts.append(tr("grey: maps without negatives"))
                if self._shared is not None:
                    parts.append(tr("levels locked"))
        text = "   ".join(parts)
        self._title.setText(text)  # (and its tooltip)
        show_bar = x is not None and (not self._showing_rgb() or self._focused is not None)
        self._bar_view.setVisible(show_bar)
        if show_bar:
            if self._showing_rgb():
                levels, lut = self._focus_view.current_levels(), self._focus_view.current_lut()
            else:
                d = self._display if self._focused is None else self._map_display(self._focused)
                levels, lut = d.levels, d.lut
            shown = self._bar_shows
            if lut is not None and levels is not None and (
                    shown is None or lut is not shown[0] or levels != shown[1]):
                # (only on a change: the bar redraws its gradient and axis, several ms)
                if shown is None or lut is not shown[0]:
                    self._bar.setColorMap(color_map(lut))
                self._bar.setLevels(levels)
                self._bar_shows = (lut, levels)

    def _fit_if_new(self, rect: tuple) -> None:
        refit = needs_fit(self._content, rect)
        self._content = rect
        if refit:
            self.auto_range()
