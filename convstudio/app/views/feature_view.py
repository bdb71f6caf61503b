"""Image and feature-map views: one map (:class:`ImageView`), all channels of a layer
(:class:`FeatureMapGrid`), and the geometry that places every layer in INPUT pixel coordinates
(:class:`Placement`).

Why input coordinates: a feature map pixel is drawn as a ``jump x jump`` square centred on the centre of
its receptive field. Then every view of every layer shares one coordinate system, so synced zoom / pan
(:class:`ViewLinker`) is plain range copying and a receptive-field box computed for any layer can be drawn
on any view.

Coordinates are ``(x, y) = (column, row)`` with y pointing down (row 0 at the top); input pixel
``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``.

Arrays are ``(C, H, W) float32`` (``(H, W)`` is accepted as one channel) and are never copied for
display, except ``|x|`` in the abs mode and the alpha composite of an RGBA image. Do not mutate an array
after handing it to a view; the views keep a reference to read values under the cursor.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPen, QTransform
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsGridLayout,
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QGraphicsWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import (
    AUTO,
    DISPLAY_MODES,
    DIVERGING_LUT,
    GREY_LUT,
    Display,
    check_levels,
    display_for,
    finite_range,
    map_display,
)

__all__ = [
    "ALL_CHANNELS",
    "INPUT_PLACEMENT",
    "MAX_VIEWS",
    "FeatureMapGrid",
    "ImageView",
    "PixelInfo",
    "Placement",
    "ViewLinker",
    "as_placement",
    "content_rect",
    "display_block_reduce",
    "format_number",
    "pixel_at_scene",
    "placement_transform",
    "receptive_field_rect",
    "scene_rect_of_pixel",
]


ALL_CHANNELS = -1
"""``PixelInfo.channel`` of a true-colour view: the value is then a tuple, one entry per channel."""

MAX_VIEWS = 64
"""Default cap on the small views a :class:`FeatureMapGrid` shows at once (more go on further pages)."""

MODE_LABELS = {
    AUTO: "Auto",
    "diverging": "Diverging (0 = white)",
    "clip": "Clip to [0, 1]",
    "abs": "Absolute |x|",
    "minmax": "Min to max",
    "contrast": "Contrast",
}

_BACKGROUND = QColor(32, 32, 32)
_DEFAULT_OVERLAY_PEN = pg.mkPen((255, 220, 0), width=2)


# --------------------------------------------------------------------------------------------------
# Pixel readout payload
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PixelInfo:
    """One pixel of one view, as reported by the ``hovered`` and ``clicked`` signals.

    ``row`` / ``col`` index the map shown (its own pixels, not the input's). ``value`` is the raw value
    of ``x[channel, row, col]`` (not ``|x|`` in the abs mode); in a true-colour view ``channel`` is
    :data:`ALL_CHANNELS` and ``value`` a tuple of every channel's value.
    """

    view_id: str
    channel: int
    row: int
    col: int
    value: float | tuple

    def text(self) -> str:
        """Readout text such as ``"x 12  y 40  c 3  value -0.1234"``."""
        if isinstance(self.value, tuple):
            name = "rgba" if len(self.value) == 4 else "rgb" if len(self.value) == 3 else "value"
            values = ", ".join(_fmt(v) for v in self.value)
            return f"x {self.col}  y {self.row}  {name} ({values})"
        return f"x {self.col}  y {self.row}  c {self.channel}  value {_fmt(self.value)}"


def format_number(v: float, spec: str = ".4g") -> str:
    """``format(v, spec)``, but a zero is never written with a minus sign: ``-0.0`` (and a tiny
    negative value that ``spec`` rounds to zero) prints as ``0`` (a blur's range is ``[0, 1]``,
    not ``[-0, 1]``)."""
    text = format(float(v) + 0.0, spec)  # -0.0 + 0.0 is +0.0
    digits = text.partition("e")[0]
    if text.startswith("-") and any(c.isdigit() for c in digits) and not any(
            c in "123456789" for c in digits):
        text = text[1:]
    return text


def _fmt(v: float) -> str:
    if v == 0 or (1e-3 <= abs(v) < 1e5):
        return format_number(v, ".4f")
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.4e}"


# --------------------------------------------------------------------------------------------------
# Placement: where a layer's pixels sit in input coordinates (pure functions, no Qt needed)
# --------------------------------------------------------------------------------------------------


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        a, b = v
    except (TypeError, ValueError):
        raise ValueError(f"Placement.{name} must be an int or a pair of ints, got {v!r}") from None
    return int(a), int(b)


@dataclass(frozen=True)
class Placement:
    """Receptive field of a layer per axis ``(rows, cols)``: where its pixels sit on the input.

    Output pixel ``i`` covers input rows ``start + i*jump ... start + i*jump + size - 1`` (likewise
    columns); ``start`` is negative where the window reaches into padding. The input itself is
    ``Placement()`` (jump 1, start 0, size 1). Ints are accepted for both axes.

    Drawing rule: pixel ``(i, j)`` is a ``jump_c x jump_r`` rectangle centred on its receptive field's
    centre, column centre ``start_c + j*jump_c + (size_c - 1)/2 + 0.5`` in input coordinates, so its left
    edge is ``start_c + (size_c - jump_c)/2 + j*jump_c``. Neighbouring pixels tile without gaps.
    """

    jump: tuple[int, int] = (1, 1)
    start: tuple[int, int] = (0, 0)
    size: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jump", _pair(self.jump, "jump"))
        object.__setattr__(self, "start", _pair(self.start, "start"))
        object.__setattr__(self, "size", _pair(self.size, "size"))
        if min(self.jump) < 1 or min(self.size) < 1:
            raise ValueError(f"Placement jump and size must be >= 1, got {self}")

    @classmethod
    def from_receptive_field(cls, rf: Any) -> Placement:
        """From anything with ``jump``, ``start`` and ``size`` (e.g. ``convstudio.core.ReceptiveField``)."""
        return cls(jump=rf.jump, start=rf.start, size=rf.size)

    @property
    def origin(self) -> tuple[float, float]:
        """``(x, y)`` of the top-left corner of pixel (0, 0) in input coordinates."""
        return (
            self.start[1] + (self.size[1] - self.jump[1]) / 2,
            self.start[0] + (self.size[0] - self.jump[0]) / 2,
        )


INPUT_PLACEMENT = Placement()


def as_placement(p: Any) -> Placement:
    """``None`` -> the input placement; a :class:`Placement` as is; a receptive-field-like object converted.
    """
    if p is None:
        return INPUT_PLACEMENT
    if isinstance(p, Placement):
        return p
    return Placement.from_receptive_field(p)


def scene_rect_of_pixel(placement: Placement, i: int, j: int) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` in input coordinates of the square that draws pixel ``(i, j)`` (row, col)."""
    x0, y0 = placement.origin
    jr, jc = placement.jump
    return (x0 + j * jc, y0 + i * jr, float(jc), float(jr))


def pixel_at_scene(placement: Placement, x: float, y: float) -> tuple[int, int]:
    """``(i, j)`` (row, col) of the pixel drawn at input coordinates ``(x, y)``.

    The inverse of :func:`scene_rect_of_pixel` (half-open squares). The result may lie outside the map;
    the caller checks the bounds.
    """
    x0, y0 = placement.origin
    jr, jc = placement.jump
    return math.floor((y - y0) / jr), math.floor((x - x0) / jc)


def receptive_field_rect(placement: Placement, i: int, j: int) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` in input coordinates of the input window that pixel ``(i, j)`` sees.

    ``[start + i*jump, start + i*jump + size)`` per axis; it may reach beyond the image (padding).
    """
    sr, sc = placement.start
    jr, jc = placement.jump
    hr, hc = placement.size
    return (float(sc + j * jc), float(sr + i * jr), float(hc), float(hr))


def content_rect(placement: Placement, height: int, width: int) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` in input coordinates covered by a ``height x width`` map."""
    x0, y0 = placement.origin
    jr, jc = placement.jump
    return (x0, y0, float(width * jc), float(height * jr))


def placement_transform(placement: Placement, step: tuple[int, int] = (1, 1)) -> QTransform:
    """The ImageItem transform: item pixel ``(col, row)`` -> input coordinates.

    ``step = (rows, cols)``: the item holds every ``step``-th pixel of the map (``map[::sr, ::sc]``),
    so each of its pixels stands for a ``sr x sc`` block.
    """
    x0, y0 = placement.origin
    jr, jc = placement.jump
    sr, sc = step
    return QTransform(float(jc * sc), 0.0, 0.0, float(jr * sr), float(x0), float(y0))


# --------------------------------------------------------------------------------------------------
# Synced zoom and pan
# --------------------------------------------------------------------------------------------------


class ViewLinker(QObject):
    """Keeps the visible region of any number of ViewBoxes the same.

    Every view shows input coordinates, so linking is copying the *target* rectangle (the region asked
    for, before the aspect-ratio lock widens one axis to fit the widget) from the view that changed to
    all others. Copying the target rather than the visible range means views of different shapes never
    drift apart, and a resize (which changes only the visible range) moves nothing.

    Views that are deleted are forgotten automatically; owners that re-create views should still
    :meth:`unlink` the old ones first.
    """

    rangeChanged = Signal(object)
    """The shared target rectangle (QRectF, input coordinates) after it changed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._views: dict[int, tuple[pg.ViewBox, Any]] = {}
        self._rect: QRectF | None = None
        self._busy = False

    # ---- membership
    def link(self, view_box: pg.ViewBox) -> None:
        """Add a view; it takes the current shared region if there is one."""
        key = id(view_box)
        if key in self._views:
            return

        def forget(*_args: Any, _key: int = key) -> None:
            self._views.pop(_key, None)

        self._views[key] = (view_box, forget)
        view_box.sigRangeChanged.connect(self._on_range_changed)
        view_box.destroyed.connect(forget)
        if self._rect is not None:
            self._busy = True
            try:
                view_box.setRange(rect=QRectF(self._rect), padding=0)
            finally:
                self._busy = False

    def unlink(self, view_box: pg.ViewBox) -> None:
        """Remove a view (no error if it was not linked)."""
        entry = self._views.pop(id(view_box), None)
        if entry is None or not shiboken6.isValid(view_box):
            return
        _, forget = entry
        connections = ((view_box.sigRangeChanged, self._on_range_changed), (view_box.destroyed, forget))
        for signal, slot in connections:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def views(self) -> list[pg.ViewBox]:
        """The linked views that still exist."""
        self._prune()
        return [vb for vb, _ in self._views.values()]

    def target_rect(self) -> QRectF | None:
        """The shared region (input coordinates), or None before any view reported one."""
        return None if self._rect is None else QRectF(self._rect)

    def set_rect(self, rect: QRectF | tuple[float, float, float, float]) -> None:
        """Show ``rect`` (a QRectF or ``(x, y, w, h)``) in every linked view."""
        if not isinstance(rect, QRectF):
            rect = QRectF(*rect)
        self._apply(QRectF(rect), source=None)

    # ---- internals
    def _prune(self) -> None:
        for key in [k for k, (vb, _) in self._views.items() if not shiboken6.isValid(vb)]:
            del self._views[key]

    def _on_range_changed(self, view_box: pg.ViewBox, *_args: Any) -> None:
        if self._busy or id(view_box) not in self._views or not shiboken6.isValid(view_box):
            return
        rect = view_box.targetRect()
        if self._rect is not None and rect == self._rect:
            return
        self._apply(rect, source=view_box)

    def _apply(self, rect: QRectF, source: pg.ViewBox | None) -> None:
        if rect.width() <= 0 or rect.height() <= 0:
            return
        self._rect = QRectF(rect)
        self._prune()
        self._busy = True
        try:
            for vb, _ in list(self._views.values()):
                if vb is not source:
                    vb.setRange(rect=QRectF(rect), padding=0)
        finally:
            self._busy = False
        self.rangeChanged.emit(QRectF(rect))


# --------------------------------------------------------------------------------------------------
# One map on one ViewBox
# --------------------------------------------------------------------------------------------------


def _as_chw(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 2:
        return x[None]
    if x.ndim != 3:
        raise ValueError(f"expected an (H, W) or (C, H, W) array, got shape {x.shape}")
    return x


def _rgb_for_display(x: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` view (C = 3) or alpha composite over a checkerboard (C = 4)."""
    if x.shape[0] == 3:
        return x.transpose(1, 2, 0)  # a view; pyqtgraph reads it as it scales to 8 bits
    alpha = x[3]
    if float(alpha.min()) >= 1.0:
        return x[:3].transpose(1, 2, 0)
    h, w = alpha.shape
    a = np.clip(alpha, 0.0, 1.0)
    rows = (np.arange(h) // 8) % 2
    cols = (np.arange(w) // 8) % 2
    checker = np.where((rows[:, None] ^ cols[None, :]) == 1, 0.6, 0.4).astype(np.float32)
    back = checker * (1.0 - a)
    out = np.empty((h, w, 3), dtype=np.float32)
    for k in range(3):
        np.multiply(x[k], a, out=out[..., k])
        out[..., k] += back
    return out


def display_block_reduce(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A map shrunk for display: one value per ``rows x cols`` block, the block's value of largest
    magnitude (sign kept; a tie goes to the positive one). Shape
    ``(ceil(H / rows), ceil(W / cols))``, the shape of ``a[::rows, ::cols]``.

    Taking every ``rows``-th pixel (or the block mean) loses a 1 or 2 pixel wide edge, however
    strong; the block extreme keeps it at full strength. Blocks at the right and bottom edges may be
    partial. NaN in a block makes the block NaN. ``rows = cols = 1`` returns ``a`` itself.
    """
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {a.shape}")
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError(f"block size must be at least 1, got {rows} x {cols}")
    if rows == cols == 1 or a.size == 0:
        return a
    # Strided slices, one per offset in the block, combined elementwise: ten times faster than
    # reducing a (H/r, r, W/c, c) reshape over its short axes.
    hi = a[:, ::cols].copy()
    lo = hi.copy()
    for k in range(1, cols):
        s = a[:, k::cols]  # one column fewer when the last block is partial
        n = s.shape[1]
        np.maximum(hi[:, :n], s, out=hi[:, :n])
        np.minimum(lo[:, :n], s, out=lo[:, :n])
    hi2, lo2 = hi[::rows].copy(), lo[::rows].copy()
    for k in range(1, rows):
        n = hi[k::rows].shape[0]
        np.maximum(hi2[:n], hi[k::rows], out=hi2[:n])
        np.minimum(lo2[:n], lo[k::rows], out=lo2[:n])
    return np.where(-lo2 > hi2, lo2, hi2)


_COLOR_MAPS: dict[int, pg.ColorMap] = {}


def _color_map(lut: np.ndarray) -> pg.ColorMap:
    cmap = _COLOR_MAPS.get(id(lut))
    if cmap is None:
        cmap = pg.ColorMap(pos=np.linspace(0.0, 1.0, len(lut)), color=lut)
        _COLOR_MAPS[id(lut)] = cmap
    return cmap


class _OverlayRect(QGraphicsRectItem):
    """A rectangle overlay with a dark halo under its pen, so it shows on any colour."""

    def paint(self, painter, option, widget=None) -> None:
        pen = self.pen()
        if pen.style() != Qt.PenStyle.NoPen:
            halo = QPen(QColor(0, 0, 0, 170))
            halo.setCosmetic(pen.isCosmetic())
            halo.setWidthF(pen.widthF() + 2)
            painter.setPen(halo)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect())
        super().paint(painter, option, widget)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        # Cosmetic pens are measured in screen pixels; pad by a few of them in item units so the halo
        # is repainted (and erased) with the item at any zoom.
        r = super().boundingRect()
        scene = self.scene()
        views = scene.views() if scene is not None else []
        if not views:
            return r
        t = self.deviceTransform(views[0].viewportTransform())
        sx, sy = math.hypot(t.m11(), t.m12()), math.hypot(t.m21(), t.m22())
        if sx == 0 or sy == 0:
            return r
        return r.adjusted(-4 / sx, -4 / sy, 4 / sx, 4 / sy)


def _pixel_info(
    source: np.ndarray | None, channel: int, placement: Placement, x: float, y: float, view_id: str
) -> PixelInfo | None:
    """The pixel of ``source[channel]`` drawn at input coordinates ``(x, y)``, or None off the map."""
    if source is None:
        return None
    i, j = pixel_at_scene(placement, x, y)
    _, h, w = source.shape
    if not (0 <= i < h and 0 <= j < w):
        return None
    if channel == ALL_CHANNELS:
        value: float | tuple = tuple(float(v) for v in source[:, i, j])
    else:
        value = float(source[channel, i, j])
    return PixelInfo(view_id, channel, i, j, value)


_PAINT_FORMATS = {
    # what pyqtgraph renders -> what QPainter draws without converting on every paint
    QImage.Format.Format_Indexed8: QImage.Format.Format_ARGB32_Premultiplied,  # maps with a LUT
    QImage.Format.Format_Grayscale8: QImage.Format.Format_RGB32,
    QImage.Format.Format_RGB888: QImage.Format.Format_RGB32,  # true colour
}


class _MapImageItem(pg.ImageItem):
    """An ImageItem that keeps its rendering in a format the raster engine draws directly.

    pyqtgraph turns a map with a LUT into an indexed image, which Qt converts to ARGB on every
    paint: a grid repaints all its maps whenever one changes (or the view moves), and those
    conversions were half of each repaint. Converting once per rendering is about as cheap as
    one of them.

    A single-valued map shown smaller than its pixels (``autoDownsample``) is shrunk with
    :func:`display_block_reduce` instead of pyqtgraph's block mean, which would fade a thin
    strong edge to a fraction of its value.
    """

    def render(self) -> None:
        image = self.image
        if (self.autoDownsample and image is not None and image.ndim == 2 and image.size
                and self.axisOrder == "row-major"):
            xds, yds = self._computeDownsampleFactors()
            if xds is not None and (xds, yds) != (1, 1):
                # pyqtgraph renders the reduced map with its own downsampling off, then draws the
                # rendering over the full map's rectangle (width() / height() read self.image)
                self.image, self.autoDownsample = display_block_reduce(image, yds, xds), False
                self._imageNanLocations = None
                try:
                    super().render()
                finally:
                    self.image, self.autoDownsample = image, True
                    self._imageNanLocations = None
                self._lastDownsample = (xds, yds)
                self._to_paint_format()
                return
        super().render()
        self._to_paint_format()

    def _to_paint_format(self) -> None:
        qimage = self.qimage
        if qimage is not None and qimage.format() in _PAINT_FORMATS:
            self.qimage = qimage.convertToFormat(_PAINT_FORMATS[qimage.format()])


class _RegionViewBox(pg.ViewBox):
    """A ViewBox that announces every change of its *target* region with ``sigRangeChanged``.

    pyqtgraph emits ``sigRangeChanged`` only when the visible range changes. With the aspect lock a
    new target can leave the visible range as it was (``(0.5, 0, 7, 6)`` and then ``(0, 0, 8, 6)`` in
    a 4:3 box both show ``(0, 0, 8, 6)``), and whoever follows the target (a grid's small views, the
    :class:`ViewLinker`, the value labels) would keep the old region. Here such a change is
    announced too (with ``changed = [False, False]``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # (its updateViewRange calls announce nothing)
        self._announced = self.targetRect()
        self.sigRangeChanged.connect(self._note_announced)

    def _note_announced(self, *_args: Any) -> None:
        self._announced = self.targetRect()

    def updateViewRange(self, forceX: bool = False, forceY: bool = False) -> None:  # noqa: N802
        super().updateViewRange(forceX, forceY)  # emits sigRangeChanged if the visible range moved
        announced = getattr(self, "_announced", None)
        if announced is not None and self.targetRect() != announced:
            self.sigRangeChanged.emit(self, self.state["viewRange"], [False, False])


class _Cell:
    """The content of an :class:`ImageView`: one ViewBox, its ImageItem and the rectangle overlays."""

    def __init__(self) -> None:
        self.vb = _RegionViewBox(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.0)
        self.item = _MapImageItem(autoDownsample=True)  # big images are reduced to screen size first
        self.vb.addItem(self.item)
        self.overlays: dict[Hashable, QGraphicsRectItem] = {}
        self.overlay_fills = True
        self.source: np.ndarray | None = None
        self.channel = 0
        self.placement = INPUT_PLACEMENT

    def show_map(self, source: np.ndarray, channel: int, display: Display, placement: Placement) -> None:
        self.source, self.channel, self.placement = source, channel, placement
        self.item.setTransform(placement_transform(placement))
        self.item.setImage(
            display.prepare(source[channel]), autoLevels=False, levels=display.levels, lut=display.lut
        )

    def show_rgb(self, source: np.ndarray, placement: Placement) -> None:
        self.source, self.channel, self.placement = source, ALL_CHANNELS, placement
        self.item.setTransform(placement_transform(placement))
        self.item.setImage(_rgb_for_display(source), autoLevels=False, levels=(0.0, 1.0), lut=None)

    def info_at(self, x: float, y: float, view_id: str) -> PixelInfo | None:
        return _pixel_info(self.source, self.channel, self.placement, x, y, view_id)

    def info_at_scene_pos(self, pos, view_id: str) -> PixelInfo | None:
        p = self.vb.mapSceneToView(pos)
        return self.info_at(p.x(), p.y(), view_id)

    def set_overlay(self, key: Hashable, rect, pen, brush) -> None:
        item = self.overlays.get(key)
        if item is None:
            item = _OverlayRect()
            item.setZValue(10)
            self.vb.addItem(item, ignoreBounds=True)  # boxes reaching into padding do not widen "fit"
            self.overlays[key] = item
        item.setRect(QRectF(*rect))
        item.setPen(pen)
        item.setBrush(_shown_brush(brush, self.overlay_fills))

    def remove_overlay(self, key: Hashable) -> None:
        item = self.overlays.pop(key, None)
        if item is not None:
            self.vb.removeItem(item)


def _normalise_overlay(rect, pen, brush):
    if isinstance(rect, QRectF):
        rect = (rect.x(), rect.y(), rect.width(), rect.height())
    x, y, w, h = (float(v) for v in rect)
    pen = _DEFAULT_OVERLAY_PEN if pen is None else pg.mkPen(pen)
    brush = pg.mkBrush(None) if brush is None else pg.mkBrush(brush)
    return (x, y, w, h), pen, brush


def _shown_brush(brush, fills: bool):
    """The brush an overlay is drawn with: without fills, a solid (tinting) brush is left out;
    patterns such as the padding hatch stay."""
    if fills or brush.style() != Qt.BrushStyle.SolidPattern:
        return brush
    return pg.mkBrush(None)


def _same_display(a: Display | None, b: Display | None) -> bool:
    """Whether two displays colour every value alike (the LUTs are module constants)."""
    return (a is not None and b is not None and a.mode == b.mode and a.levels == b.levels
            and a.lut is b.lut and a.absolute == b.absolute)


def _needs_fit(old: tuple | None, new: tuple) -> bool:
    """Refit the view when there was nothing before or the content's size changed by more than 25 %."""
    if old is None:
        return True
    return any(abs(n - o) > 0.25 * max(abs(o), 1.0) for o, n in zip(old[2:], new[2:]))


class _LeaveFilter(QObject):
    """Calls back when the mouse leaves a widget (GraphicsScene has no leave signal)."""

    def __init__(self, callback, parent: QObject) -> None:
        super().__init__(parent)
        self._callback = callback

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Leave:
            self._callback()
        return False


def _graphics_view() -> pg.GraphicsView:
    gv = pg.GraphicsView(background=_BACKGROUND)
    gv.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    gv.setMouseTracking(True)
    return gv


def _readout_label() -> QLabel:
    label = QLabel(" ")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    font = label.font()
    font.setStyleHint(font.StyleHint.Monospace)
    font.setFamily("monospace")
    label.setFont(font)
    return label


# --------------------------------------------------------------------------------------------------
# ImageView: one map or one RGB image
# --------------------------------------------------------------------------------------------------


class ImageView(QWidget):
    """One 2-D map or one RGB image on a ViewBox (aspect locked, row 0 at the top, no axes).

    Content is drawn in input coordinates through its :class:`Placement`, so overlays (receptive-field
    boxes) are given in input pixel coordinates and zoom can be linked with a :class:`ViewLinker`.

    Signals
    -------
    hovered(PixelInfo | None)
        The pixel under the cursor changed; None when the cursor leaves the image.
    clicked(PixelInfo)
        Left click without a drag on a pixel.
    doubleClicked(PixelInfo)
        Left double click on a pixel.
    """

    hovered = Signal(object)
    clicked = Signal(object)
    doubleClicked = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        view_id: str = "image",
        title: str = "",
        show_readout: bool = True,
        auto_fit: bool = True,
    ) -> None:
        super().__init__(parent)
        self.view_id = view_id
        self._auto_fit = auto_fit
        self._last_scene_pos = None
        self._cell = _Cell()
        self._mode = AUTO
        self._display: Display | None = None
        self._content: tuple | None = None
        self._last_hover: PixelInfo | None = None
        self._overlay_specs: dict[Hashable, tuple] = {}

        self._title = QLabel(title)
        self._title.setVisible(bool(title))
        self._gv = _graphics_view()
        self._gv.setCentralItem(self._cell.vb)
        self._readout = _readout_label()
        self._readout.setVisible(show_readout)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._title)
        layout.addWidget(self._gv, 1)
        layout.addWidget(self._readout)

        scene = self._gv.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._gv.viewport().installEventFilter(_LeaveFilter(self._on_mouse_left, self))

    # ---- content
    def set_image(
        self,
        x: np.ndarray,
        *,
        mode: str = AUTO,
        levels: tuple[float, float] | None = None,
        placement: Placement | Any | None = None,
        channel: int | None = None,
        title: str | None = None,
    ) -> None:
        """Show ``x``: ``(H, W)`` or ``(1, H, W)`` as a map, ``(3|4, H, W)`` in true colour.

        Parameters
        ----------
        x : ndarray
            ``(H, W)`` or ``(C, H, W)`` float32. True colour (RGB, levels [0, 1]; C = 4 composites the
            alpha over a checkerboard) unless ``channel`` is given; any other C shows channel 0.
        mode : str
            ``"auto"`` or one of :data:`~convstudio.app.views.colormaps.DISPLAY_MODES` (maps only).
        levels : (lo, hi), optional
            Explicit levels (e.g. a whole layer's, or locked shared ones) instead of this map's own.
        placement : Placement, optional
            Where the map sits in input coordinates (default: it is the input).
        channel : int, optional
            Show this channel of a ``(C, H, W)`` array as a map.
        """
        x = _as_chw(x)
        placement = as_placement(placement)
        c = x.shape[0]
        if channel is not None and not 0 <= channel < c:
            raise ValueError(f"channel {channel} out of range for {c} channels")
        if title is not None:
            self.set_title(title)
        if channel is None and c in (3, 4):
            self._display = None
            self._mode = mode
            self._cell.show_rgb(x, placement)
        else:
            ch = 0 if channel is None else channel
            data = x[ch]
            self._mode = mode
            self._display = display_for(data, mode, shared_levels=levels)
            self._cell.show_map(x, ch, self._display, placement)
        self._fit_if_new(content_rect(placement, x.shape[1], x.shape[2]))
        self._refresh_hover()

    def clear(self) -> None:
        """Show nothing."""
        self._cell.item.clear()
        self._cell.source = None
        self._display = None
        self._content = None
        self._set_hover(None)

    def set_title(self, title: str) -> None:
        self._title.setText(title)
        self._title.setVisible(bool(title))

    def title(self) -> str:
        return self._title.text()

    def mode(self) -> str:
        """The mode asked for (possibly ``"auto"``)."""
        return self._mode

    def resolved_mode(self) -> str | None:
        """The mode in effect (``"rgb"`` for true colour, None when empty)."""
        if self._cell.source is None:
            return None
        return "rgb" if self._display is None else self._display.mode

    def current_levels(self) -> tuple[float, float] | None:
        """Levels in use; ``(0, 1)`` for true colour; None when empty."""
        if self._cell.source is None:
            return None
        return (0.0, 1.0) if self._display is None else self._display.levels

    def current_lut(self) -> np.ndarray | None:
        return None if self._display is None else self._display.lut

    def channel(self) -> int | None:
        """Channel shown (:data:`ALL_CHANNELS` for true colour), None when empty."""
        return None if self._cell.source is None else self._cell.channel

    def placement(self) -> Placement:
        return self._cell.placement

    # ---- access
    def view_box(self) -> pg.ViewBox:
        return self._cell.vb

    def image_item(self) -> pg.ImageItem:
        return self._cell.item

    def graphics_view(self) -> pg.GraphicsView:
        return self._gv

    def readout_text(self) -> str:
        return self._readout.text().strip()

    def auto_range(self) -> None:
        """Fit the view to the content (linked views follow)."""
        if self._content is not None:
            self._cell.vb.setRange(rect=QRectF(*self._content), padding=0)

    # ---- overlays (input coordinates)
    def add_rect_overlay(self, key: Hashable, rect, pen=None, brush=None) -> None:
        """Draw (or move) rectangle ``key``; ``rect`` = ``(x, y, w, h)`` in input pixel coordinates."""
        spec = _normalise_overlay(rect, pen, brush)
        self._overlay_specs[key] = spec
        self._cell.set_overlay(key, *spec)

    def remove_overlay(self, key: Hashable) -> None:
        self._overlay_specs.pop(key, None)
        self._cell.remove_overlay(key)

    def clear_overlays(self) -> None:
        for key in list(self._overlay_specs):
            self.remove_overlay(key)

    def overlay_keys(self) -> list:
        return list(self._overlay_specs)

    def overlay_item(self, key: Hashable) -> QGraphicsRectItem | None:
        return self._cell.overlays.get(key)

    def set_overlay_fills(self, on: bool) -> None:
        """Draw the solid fills of the rectangle overlays (True, the default) or only their outlines
        and hatches (False: a heat map under them shows in its own colours)."""
        on = bool(on)
        if on == self._cell.overlay_fills:
            return
        self._cell.overlay_fills = on
        for key, spec in self._overlay_specs.items():
            self._cell.set_overlay(key, *spec)

    def overlay_fills(self) -> bool:
        return self._cell.overlay_fills

    # ---- readout
    def pixel_info_at(self, x: float, y: float) -> PixelInfo | None:
        """The pixel drawn at input coordinates ``(x, y)``, or None (what the mouse handlers use)."""
        return self._cell.info_at(x, y, self.view_id)

    def _fit_if_new(self, rect: tuple) -> None:
        refit = self._auto_fit and _needs_fit(self._content, rect)
        self._content = rect
        if refit:
            self.auto_range()

    def _on_mouse_moved(self, pos) -> None:
        self._last_scene_pos = pos
        self._set_hover(self._cell.info_at_scene_pos(pos, self.view_id))

    def _refresh_hover(self) -> None:
        pos = self._last_scene_pos
        if pos is not None and self._last_hover is not None:
            self._set_hover(self._cell.info_at_scene_pos(pos, self.view_id))

    def _on_mouse_left(self) -> None:
        self._last_scene_pos = None
        self._set_hover(None)

    def _set_hover(self, info: PixelInfo | None) -> None:
        if info == self._last_hover:
            return
        self._last_hover = info
        self._readout.setText(info.text() if info is not None else " ")
        self.hovered.emit(info)

    def _on_mouse_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        info = self._cell.info_at_scene_pos(ev.scenePos(), self.view_id)
        if info is None:
            return
        (self.doubleClicked if ev.double() else self.clicked).emit(info)


# --------------------------------------------------------------------------------------------------
# FeatureMapGrid: every channel of one layer
# --------------------------------------------------------------------------------------------------


def _screen_steps(item: QGraphicsItem, scale: float, placement: Placement) -> tuple[int, int]:
    """(rows, cols) subsampling that leaves at least one map pixel per device pixel.

    `scale` is device-independent pixels per input unit; a map pixel covers ``jump`` input units.
    """
    scene = item.scene()
    views = scene.views() if scene is not None else []
    dpr = views[0].devicePixelRatioF() if views else 1.0
    steps = []
    for jump in placement.jump:
        px = scale * jump * dpr  # device pixels per map pixel
        steps.append(max(1, int(1.0 / px)) if 0 < px < 1 else 1)
    return steps[0], steps[1]


class _Tile(QGraphicsWidget):
    """One small map of a grid: a clipped frame that shows a region of input coordinates.

    Lighter than a ViewBox (the grid may hold 64 of them and zoom them all on every wheel step): the
    region comes from the grid, wheel and left-drag ask the grid to zoom / pan, and the grid moves all
    tiles at once.

    A map larger than the tile on screen is handed to its ImageItem shrunk to about one map pixel
    per device pixel (each ``s x s`` block shown as its value of largest magnitude,
    :func:`display_block_reduce`, the item scaled by ``s``): a thin strong edge stays visible where
    taking every ``s``-th pixel would drop it, and pyqtgraph converts a tile-sized image to colours
    instead of the whole map (8 MP for a layer of eight 1 MP maps) on every new result. Zooming in
    lowers the step, down to every pixel.
    """

    def __init__(self, grid: FeatureMapGrid) -> None:
        super().__init__()
        self._grid = grid
        self._view = QRectF(0, 0, 1, 1)
        self.group: QGraphicsRectItem | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(16, 16)
        self.setPreferredSize(120, 120)
        # content: input coordinates -> tile coordinates through one transform
        self.group = QGraphicsRectItem(self)
        self.group.setPen(Qt.PenStyle.NoPen)
        self.item = _MapImageItem()
        self.item.setParentItem(self.group)
        self._label_back = QGraphicsRectItem(self)
        self._label_back.setPen(Qt.PenStyle.NoPen)
        self._label_back.setBrush(QColor(0, 0, 0, 170))
        self._label_back.setZValue(1000)
        self._label = QGraphicsSimpleTextItem(self._label_back)
        self._label.setBrush(QColor(235, 235, 235))
        self._label.setPos(3, 1)
        self.overlays: dict[Hashable, QGraphicsRectItem] = {}
        self.source: np.ndarray | None = None
        self.channel = 0
        self.placement = INPUT_PLACEMENT
        self._display: Display | None = None  # None: true colour
        self._steps = (1, 1)

    # ---- content
    def show_map(self, source: np.ndarray, channel: int, display: Display, placement: Placement) -> None:
        self.source, self.channel, self.placement, self._display = source, channel, placement, display
        self._steps = self._wanted_steps()
        self._put_image()

    def show_rgb(self, source: np.ndarray, placement: Placement) -> None:
        self.source, self.channel, self.placement, self._display = source, ALL_CHANNELS, placement, None
        self._steps = self._wanted_steps()
        self._put_image()

    def steps(self) -> tuple[int, int]:
        """(rows, cols) subsampling of the map in the ImageItem now (1: every pixel)."""
        return self._steps

    def _wanted_steps(self) -> tuple[int, int]:
        return _screen_steps(self.item, self.group.transform().m11(), self.placement)

    def _put_image(self) -> None:
        sr, sc = self._steps
        sub = (slice(None, None, sr), slice(None, None, sc))
        self.item.setTransform(placement_transform(self.placement, self._steps))
        if self._display is None:
            x = self.source if self._steps == (1, 1) else self.source[(slice(None),) + sub]
            self.item.setImage(_rgb_for_display(x), autoLevels=False, levels=(0.0, 1.0), lut=None)
        else:
            d = self._display
            data = display_block_reduce(self.source[self.channel], sr, sc)
            self.item.setImage(d.prepare(data), autoLevels=False, levels=d.levels, lut=d.lut)

    def retarget(self, source: np.ndarray) -> None:
        """Show the same values from another array (other channels of the layer changed): the
        colours already rendered stay, and the old array is let go."""
        self.source = source
        if self._display is None or self._display.absolute or self._steps != (1, 1):
            return  # true colour is not retargeted; |x| and shrunk maps are copies (no old array)
        data = source[self.channel]
        image = self.item.image
        if image is not None and image.shape == data.shape:
            # pyqtgraph keeps the data in `image` and its rendering in `qimage`; equal values
            # need no new rendering (setImage would convert the map to colours again).
            self.item.image = data

    def hide_and_forget(self) -> None:
        """Out of the grid: hidden, and no reference to the layer kept."""
        self.setVisible(False)
        self.source = None
        self._display = None
        self.item.clear()

    def set_label(self, text: str) -> None:
        self._label.setText(text)
        r = self._label.boundingRect()
        self._label_back.setRect(0, 0, r.width() + 6, r.height() + 2)

    def label_text(self) -> str:
        return self._label.text()

    def info_at_scene_pos(self, pos, view_id: str) -> PixelInfo | None:
        p = self.group.mapFromScene(pos)
        return _pixel_info(self.source, self.channel, self.placement, p.x(), p.y(), view_id)

    def scene_pos_of(self, x: float, y: float):
        """Scene position of input coordinates ``(x, y)`` in this tile."""
        return self.group.mapToScene(QPointF(x, y))

    # ---- region shown
    def set_view_rect(self, rect: QRectF) -> None:
        self._view = QRectF(rect)
        self._update_transform()

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(ev)
        self._update_transform()

    def _update_transform(self) -> None:
        w, h = self.size().width(), self.size().height()
        r = self._view
        if self.group is None or w <= 0 or h <= 0 or r.width() <= 0 or r.height() <= 0:
            return
        s = min(w / r.width(), h / r.height())
        dx = (w - r.width() * s) / 2 - r.x() * s
        dy = (h - r.height() * s) / 2 - r.y() * s
        self.group.setTransform(QTransform(s, 0.0, 0.0, s, dx, dy))
        if self.source is not None:
            steps = self._wanted_steps()
            if steps != self._steps:
                self._steps = steps
                self._put_image()

    # ---- look and mouse
    def paint(self, painter, option, widget=None) -> None:
        painter.fillRect(self.rect(), QColor(18, 18, 18))

    def wheelEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        ev.accept()
        centre = self.group.mapFromParent(ev.pos())
        self._grid._zoom_about(centre, 1.02 ** (-ev.delta() / 8))

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's drag protocol)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        a = self.group.mapFromParent(ev.lastPos())
        b = self.group.mapFromParent(ev.pos())
        self._grid._pan_by(a.x() - b.x(), a.y() - b.y())

    def set_overlay(self, key: Hashable, rect, pen, brush) -> None:
        item = self.overlays.get(key)
        if item is None:
            item = _OverlayRect(self.group)
            item.setZValue(10)
            self.overlays[key] = item
        item.setRect(QRectF(*rect))
        item.setPen(pen)
        item.setBrush(_shown_brush(brush, self._grid.overlay_fills()))

    def remove_overlay(self, key: Hashable) -> None:
        item = self.overlays.pop(key, None)
        if item is not None:
            item.setParentItem(None)
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)


class FeatureMapGrid(QWidget):
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
        self._tiles: list[_Tile] = []  # the ones in the grid now
        self._pool: list[_Tile] = []  # every tile made so far (at most max_views)
        self._content: tuple | None = None
        self._overlay_specs: dict[Hashable, tuple] = {}
        self._overlay_fills = True
        self._channel_lows: dict[int, float] = {}  # finite minimum of a map (auto / contrast)
        self._last_hover: PixelInfo | None = None
        self._bar_shows: tuple[np.ndarray, tuple[float, float]] | None = None  # (lut, levels)

        # ---- top: title and controls
        self._title = QLabel("")
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        self._grid_button = QPushButton("Grid")
        self._grid_button.setToolTip("Back to all channels")
        self._grid_button.setVisible(False)
        self._fit_button = QPushButton("Fit")
        self._fit_button.setToolTip("Zoom to show the whole map")

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for w in (self._mode_combo, self._lock_box, self._color_box, self._page_combo,
                  self._channel_spin, self._grid_button, self._fit_button):
            controls.addWidget(w)
        controls.addStretch(1)

        # ---- middle: the grid or one large map, and the colour bar
        self._grid_view = _graphics_view()
        self._grid_root = QGraphicsWidget()
        self._grid_view.setCentralItem(self._grid_root)
        self._focus_view = ImageView(view_id=view_id, show_readout=False, auto_fit=False)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._grid_view)
        self._stack.addWidget(self._focus_view)

        self._bar_view = pg.GraphicsLayoutWidget()
        self._bar_view.setBackground(_BACKGROUND)
        self._bar_view.setFixedWidth(78)
        self._bar = pg.ColorBarItem(values=(0, 1), colorMap=_color_map(GREY_LUT), interactive=False,
                                    width=14, colorMapMenu=False)
        _color_map(DIVERGING_LUT)  # made once, here: its 255 colours take a first result 10-20 ms
        self._bar_view.addItem(self._bar)

        middle = QHBoxLayout()
        middle.setContentsMargins(0, 0, 0, 0)
        middle.setSpacing(2)
        middle.addWidget(self._stack, 1)
        middle.addWidget(self._bar_view)

        self._readout = _readout_label()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self._title)
        layout.addLayout(controls)
        layout.addLayout(middle, 1)
        layout.addWidget(self._readout)

        # ---- wiring
        self._mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        self._lock_box.toggled.connect(self._on_lock_box_changed)
        self._color_box.toggled.connect(self._on_color_box_changed)
        self._page_combo.currentIndexChanged.connect(self._on_page_changed)
        self._channel_spin.valueChanged.connect(self._on_channel_spin_changed)
        self._grid_button.clicked.connect(self._on_grid_button_clicked)
        self._fit_button.clicked.connect(self.auto_range)
        scene = self._grid_view.scene()
        scene.sigMouseMoved.connect(self._on_grid_mouse_moved)
        scene.sigMouseClicked.connect(self._on_grid_mouse_clicked)
        self._grid_view.viewport().installEventFilter(_LeaveFilter(self._on_grid_mouse_left, self))
        self._focus_view.hovered.connect(self._set_hover)
        self._focus_view.clicked.connect(self.clicked)
        self._focus_view.doubleClicked.connect(self._on_focus_double_clicked)
        self.view_box().sigRangeChanged.connect(self._on_region_changed)
        self._linker = linker if linker is not None else ViewLinker(self)
        self._linker.link(self.view_box())

    # ================================================================ public API
    def set_maps(self, x: np.ndarray, *, title: str = "", placement: Placement | Any | None = None,
                 data_range: tuple[float, float] | None = None,
                 changed: Sequence[int] | None = None) -> None:
        """Show every channel of ``x`` (``(C, H, W)`` or ``(H, W)`` float32) placed by ``placement``.

        ``placement`` (a :class:`Placement` or a core ``ReceptiveField``; None = the input itself) puts
        the maps in input coordinates. ``data_range``, the finite ``(min, max)`` of ``x``, saves scanning
        it when the caller knows it already (the renderer measures every layer in its worker).
        ``changed``: the channels in which ``x`` differs from the maps shown now, when the caller knows
        that (an edit changed a few); if the shape, the placement and the colour scale stay, only those
        channels are redrawn. The focused channel is kept when it still exists. The views are refitted
        only when the layer's extent changed a lot (see :meth:`auto_range`).
        """
        x = _as_chw(x)
        placement = as_placement(placement)
        old_x, old_display, old_placement = self._x, self._display, self._placement
        if changed is not None and old_x is not None and old_x.shape == x.shape:
            for ch in changed:
                self._channel_lows.pop(int(ch), None)
        else:
            self._channel_lows.clear()
        self._x = x
        self._placement = placement
        self._title_text = title
        self._data_range = finite_range(x) if data_range is None else (
            float(data_range[0]), float(data_range[1]))
        if (changed is not None and old_x is not None and old_x.shape == x.shape
                and old_placement == placement and not self._showing_rgb()):
            self._update_display()
            if _same_display(old_display, self._display):
                self._redraw_channels(x, set(changed))
                self._update_title_and_bar()
                return
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

    def color_bar(self) -> pg.ColorBarItem:
        return self._bar

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
        spec = _normalise_overlay(rect, pen, brush)
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
            self._page_combo.addItem(f"channels {first}-{last}")
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
            tile = _Tile(self)
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
            c, h, w = x.shape
            parts.append(f"{c} x {h} x {w}")
            if self._showing_rgb():
                parts.append("RGB" if c == 3 else "RGBA")
            else:
                lo, hi = self._data_range
                parts.append(f"range [{format_number(lo)}, {format_number(hi)}]")
                if self._focused is None and self._display.mode == "diverging" and any(
                        t._display is not None and t._display.mode != "diverging"
                        for t in self._tiles if t.source is not None):
                    parts.append("grey: maps without negatives")
                if self._shared is not None:
                    parts.append("levels locked")
        self._title.setText("   ".join(parts))
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
                    self._bar.setColorMap(_color_map(lut))
                self._bar.setLevels(levels)
                self._bar_shows = (lut, levels)

    def _fit_if_new(self, rect: tuple) -> None:
        refit = _needs_fit(self._content, rect)
        self._content = rect
        if refit:
            self.auto_range()

    def _tile_at(self, pos) -> _Tile | None:
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
