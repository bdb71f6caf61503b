"""The effective receptive field as a heat map over the input view.

:func:`convstudio.core.explain.effective_receptive_field_part` gives the exact gradient of one
output value with respect to the input values of the box it is computed from (0 everywhere
else). :class:`ErfOverlay` draws it on a
:class:`~convstudio.app.views.map_grid.FeatureMapGrid` (the input view) as an image in the input's
own pixel grid that reads as its legend ("red positive, blue negative, transparent: no
influence"): one red (:data:`ERF_POSITIVE`) and one blue (:data:`ERF_NEGATIVE`), the opacity
growing with |gradient|. A pixel with no influence is fully transparent, so the image shows
through unchanged; the strongest pixel is opaque, exactly the legend's colour. (A ramp through a
diverging LUT's white centre would make weak influence look pale and the strongest the darkest.)
While the heat map shows, the solid fills of the grid's boxes (a pinned receptive field's tint)
are left out, so they do not tint it either. A true-colour view shows the sum over the channels;
a channel view shows that channel's gradient.

Like :class:`~convstudio.app.views.value_labels.ValueLabels`, the heat images are children of the grid's
``ImageItem`` objects, so they follow zoom, pan and placement without any bookkeeping; a map
shrunk for display (its item then holds one pixel per block of the map) gets the heat image scaled
back to the map's own pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QTransform

from convstudio.app.model.throttle import Debouncer
from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import NEGATIVE_RGB, POSITIVE_RGB
from convstudio.app.views.display import ALL_CHANNELS
from convstudio.app.views.map_grid import FeatureMapGrid
from convstudio.app.views.overlay import detach_items

__all__ = ["ERF_NEGATIVE", "ERF_POSITIVE", "ErfOverlay", "HeatImages", "erf_rgba", "erf_summary",
           "heat_images"]

ERF_POSITIVE = POSITIVE_RGB
"""The legend's red: an input pixel whose increase increases the value (the strongest is opaque)."""
ERF_NEGATIVE = NEGATIVE_RGB
"""The legend's blue: an input pixel whose increase decreases the value."""

_MIN_ALPHA = 48  # the faintest nonzero influence still shows
_MAX_ALPHA = 255  # the strongest is the legend's colour itself


class HeatImages(NamedTuple):
    """What :meth:`ErfOverlay.set_erf` shows, made on a worker by :func:`heat_images`."""

    erf: np.ndarray
    """(C, h, w) gradient over the box of the map whose first pixel is `origin`."""
    rgba: np.ndarray
    """``erf_rgba`` of the channels' sum over that box."""
    scale: float
    """The sum's largest magnitude."""
    channel_rgba: list[np.ndarray]
    """Every channel's own ``erf_rgba`` over that box."""
    origin: tuple[int, int]
    """(row, col) of the box's first pixel in the map."""


def heat_images(g: np.ndarray, origin: tuple[int, int] = (0, 0)) -> HeatImages:
    """The heat images of gradient `g`, whose first pixel is at `origin` (row, col) of the map,
    cut to the box that holds every nonzero value of `g` (a pixel's field is small beside a
    photo: a full-size RGBA image per channel would be built here and coloured on the GUI thread
    for nothing); outside it the heat map is transparent anyway. All zero: one transparent
    pixel at `origin`."""
    rows = np.flatnonzero(np.any(g != 0, axis=(0, 2)))
    cols = np.flatnonzero(np.any(g != 0, axis=(0, 1)))
    if rows.size and cols.size:
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    else:
        r0, r1, c0, c1 = 0, min(1, g.shape[1]), 0, min(1, g.shape[2])
    g = g[:, r0:r1, c0:c1]
    total = g.sum(axis=0)
    scale = float(np.abs(total).max()) if total.size else 0.0
    channels = [erf_rgba(g[c], float(np.abs(g[c]).max()) if g[c].size else 0.0)
                for c in range(g.shape[0])]
    return HeatImages(g, erf_rgba(total, scale), scale, channels,
                      (int(origin[0]) + r0, int(origin[1]) + c0))


def erf_rgba(plane: np.ndarray, m: float | None = None) -> np.ndarray:
    """``(H, W, 4) uint8``: :data:`ERF_POSITIVE` or :data:`ERF_NEGATIVE` by sign, alpha growing
    with |value| from a visible minimum to opaque at `m` (0 where the value is exactly 0). `m` is
    the magnitude that maps to the strongest colour (default max |plane|)."""
    a = np.asarray(plane, dtype=np.float32)
    if m is None:
        m = float(np.abs(a).max()) if a.size else 0.0
    out = np.zeros(a.shape + (4,), dtype=np.uint8)
    if not m > 0:
        return out
    t = np.clip(a / m, -1.0, 1.0)
    out[..., :3] = np.where((a < 0)[..., None], np.array(ERF_NEGATIVE, np.uint8),
                              np.array(ERF_POSITIVE, np.uint8))
    mag = np.sqrt(np.abs(t))
    alpha = _MIN_ALPHA + (_MAX_ALPHA - _MIN_ALPHA) * mag
    out[..., 3] = np.where(a != 0, np.rint(alpha), 0).astype(np.uint8)
    return out


def erf_summary(g: np.ndarray, origin: tuple[int, int] = (0, 0)) -> dict:
    """Numbers the panel prints: extent of the nonzero part, sum, the strongest input pixel, in
    the map's coordinates (`g`'s first pixel is at `origin`, row and col)."""
    total = g.sum(axis=0)
    nonzero = np.any(g != 0, axis=0)
    nz = np.argwhere(nonzero)
    info = {"sum": float(g.sum(dtype=np.float64)),
            "max_abs": float(np.abs(g).max()) if g.size else 0.0,
            "nonzero": int(np.count_nonzero(nonzero))}
    if nz.size:
        (r0, c0), (r1, c1) = nz.min(axis=0) + origin, nz.max(axis=0) + origin
        info["extent"] = (int(r0), int(r1) + 1, int(c0), int(c1) + 1)
        k = int(np.argmax(np.abs(total)))
        info["peak"] = (k // total.shape[1] + int(origin[0]), k % total.shape[1] + int(origin[1]))
    else:
        info["extent"] = None
        info["peak"] = None
    return info


class ErfOverlay(QObject):
    """Heat-map children on every map a grid shows. Call :meth:`set_erf` with the gradient
    ``(C, H, W)`` (in the grid's map pixels) or None."""

    def __init__(self, grid: FeatureMapGrid) -> None:
        super().__init__(grid)
        self._grid = grid
        self._erf: np.ndarray | None = None
        self._sum_rgba: np.ndarray | None = None
        self._channel_rgba: list[np.ndarray] | None = None
        self._origin = (0, 0)  # (row, col) of the map pixel where the gradient and its images start
        self._shape: tuple[int, ...] | None = None  # (C, H, W) of the maps it belongs to
        self._scale = 0.0
        # (parent map item, heat item, (row, col) of the map pixel where the heat image starts)
        self._items: list[tuple[pg.ImageItem, pg.ImageItem, tuple[int, int]]] = []
        self._watched: list[pg.ImageItem] = []
        self._key: tuple | None = None
        self._refresh = Debouncer(0, parent=self)  # many changes in one turn: one refresh
        self._refresh.triggered.connect(self.refresh)
        grid.focusChanged.connect(self.schedule)
        self._watch(grid.focus_view().image_item())

    # ---------------------------------------------------------------- public
    def set_erf(self, g: np.ndarray | None, sum_rgba: np.ndarray | None = None, *,
                scale: float | None = None, channel_rgba: list[np.ndarray] | None = None,
                origin: tuple[int, int] = (0, 0), shape: tuple[int, ...] | None = None) -> None:
        """Show gradient `g` (None hides the heat map): ``(C, h, w)`` over the box of the maps
        whose first pixel is `origin` ``(row, col)`` (the whole maps by default; 0 outside), of
        maps of `shape` ``(C, H, W)`` (default: `g`'s own); on maps of another shape (another
        image, or the preview switched) nothing is drawn.
        `sum_rgba` is ``erf_rgba(g.sum(0))``, `scale` ``abs(g.sum(0)).max()`` and
        `channel_rgba` every channel's own heat image over the same box, if already computed
        (in a worker, :func:`heat_images`: 2.3 s for the channels of a whole 24 MP input on
        the GUI thread)."""
        self._erf = g
        self._channel_rgba = channel_rgba if g is not None else None
        self._origin = (int(origin[0]), int(origin[1]))
        self._shape = None if g is None else tuple(shape if shape is not None else g.shape)
        if g is None:
            self._sum_rgba = None
            self._scale = 0.0
        else:
            if scale is None:
                scale = float(np.abs(g.sum(axis=0)).max()) if g.size else 0.0
            self._scale = float(scale)
            self._sum_rgba = sum_rgba
        self._key = None
        self.refresh()

    def show_heat(self, heat: HeatImages, shape: tuple[int, ...]) -> None:
        """Show what :func:`heat_images` made (on a worker), on maps of `shape` ``(C, H, W)``."""
        self.set_erf(heat.erf, heat.rgba, scale=heat.scale, channel_rgba=heat.channel_rgba,
                     origin=heat.origin, shape=shape)

    def erf(self) -> np.ndarray | None:
        return self._erf

    def heat_items(self) -> list[pg.ImageItem]:
        """The heat images shown now (tests)."""
        return [heat for _, heat, _ in self._items if shiboken6.isValid(heat)]

    def schedule(self, *_args) -> None:
        self._refresh.trigger()

    def stop(self) -> None:
        self._refresh.cancel()

    def refresh(self) -> None:
        self._refresh.cancel()
        grid = self._grid
        if not shiboken6.isValid(grid):
            return
        for item in grid.tile_image_items():
            self._watch(item)
        targets = self._targets()
        key = (id(self._erf), tuple((id(item), ch) for item, ch in targets))
        if key == self._key:
            self._fit_to_maps()  # a map may have been shrunk for display in another step
            return
        self._clear()
        self._key = key
        grid.set_overlay_fills(self._erf is None or not targets)
        if self._erf is None:
            return
        origin = self._origin
        for item, ch in targets:
            if ch == ALL_CHANNELS:
                if self._sum_rgba is None:
                    self._sum_rgba = erf_rgba(self._erf.sum(axis=0), self._scale)
                rgba = self._sum_rgba
            else:
                if not 0 <= ch < self._erf.shape[0]:
                    continue
                if self._channel_rgba is not None and ch < len(self._channel_rgba):
                    rgba = self._channel_rgba[ch]
                else:
                    plane = self._erf[ch]
                    rgba = erf_rgba(plane, float(np.abs(plane).max()))
            heat = pg.ImageItem()
            heat.setImage(rgba, autoLevels=False)  # uint8 RGBA, no levels: shown as it is
            heat.setParentItem(item)
            heat.setZValue(3)
            self._items.append((item, heat, origin))
        self._fit_to_maps()

    # ---------------------------------------------------------------- internals
    def _fit_to_maps(self) -> None:
        """Place each heat image on its map's own pixels: a map shown smaller than its pixels is
        held by its item one pixel per ``s x s`` block (the item scaled by ``s``), and a map
        zoomed into may be held from a pixel other than its first (a crop: the item moved)."""
        placement = self._grid.placement()
        (jr, jc), (x0, y0) = placement.jump, placement.origin
        for parent, heat, (r0, c0) in self._items:
            if not (shiboken6.isValid(parent) and shiboken6.isValid(heat)):
                continue
            t = parent.transform()
            sx = jc / t.m11() if t.m11() else 1.0
            sy = jr / t.m22() if t.m22() else 1.0
            dx = (x0 + c0 * jc - t.m31()) / t.m11() if t.m11() else 0.0
            dy = (y0 + r0 * jr - t.m32()) / t.m22() if t.m22() else 0.0
            want = QTransform(sx, 0.0, 0.0, sy, dx, dy)
            if heat.transform() != want:
                heat.setTransform(want)

    def _targets(self) -> list[tuple[pg.ImageItem, int]]:
        grid = self._grid
        x = grid.maps()
        if self._erf is None or x is None or x.ndim != 3:
            return []
        if x.shape[1:] != self._shape[1:]:  # (another image's gradient, or the preview's)
            return []
        focused = grid.focused_channel()
        if focused is not None:
            return [(grid.focus_view().image_item(), focused)]
        items, channels = grid.tile_image_items(), grid.channels_shown()
        if len(items) != len(channels):
            return []
        return list(zip(items, channels))

    def _clear(self) -> None:
        detach_items(heat for _parent, heat, _origin in self._items)
        self._items = []
        self._key = None

    def _watch(self, item: pg.ImageItem) -> None:
        if any(item is w for w in self._watched):
            return
        self._watched.append(item)
        item.sigImageChanged.connect(self.schedule)
