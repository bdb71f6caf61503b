"""One map or one RGB image on one ViewBox (:class:`ImageView`), and the Qt pieces the views share:
the ImageItem that draws a map (:class:`MapImageItem`), the ViewBox that announces target changes
(:class:`RegionViewBox`), the graphics view, the readout label and the mouse-leave filter.

Content is drawn in input coordinates through its :class:`~convstudio.app.views.placement.Placement`.
Do not mutate an array after handing it to a view; the view keeps a reference to read values under
the cursor.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import AUTO, Display, display_for
from convstudio.app.views.display import (
    ALL_CHANNELS,
    PixelInfo,
    as_chw,
    needs_fit,
    pixel_info,
    rgb_for_display,
)
from convstudio.app.views.overlay import OverlayRect, normalise_overlay, shown_brush
from convstudio.app.views.placement import (
    INPUT_PLACEMENT,
    Placement,
    as_placement,
    content_rect,
    placement_transform,
)
from convstudio.app.views.shrink import EXTREME, MEAN, Window, covers, crop_blocks, crop_window, shrunk

__all__ = [
    "BACKGROUND",
    "ImageView",
    "LeaveFilter",
    "MapImageItem",
    "RegionViewBox",
    "graphics_view",
    "readout_label",
]

BACKGROUND = QColor(32, 32, 32)


_PAINT_FORMATS = {
    # what pyqtgraph renders -> what QPainter draws without converting on every paint
    QImage.Format.Format_Indexed8: QImage.Format.Format_ARGB32_Premultiplied,  # maps with a LUT
    QImage.Format.Format_Grayscale8: QImage.Format.Format_RGB32,
    QImage.Format.Format_RGB888: QImage.Format.Format_RGB32,  # true colour
}


class MapImageItem(pg.ImageItem):
    """An ImageItem that keeps its rendering in a format the raster engine draws directly.

    pyqtgraph turns a map with a LUT into an indexed image, which Qt converts to ARGB on every
    paint: a grid repaints all its maps whenever one changes (or the view moves), and those
    conversions were half of each repaint. Converting once per rendering is about as cheap as
    one of them.

    A single-valued map shown smaller than its pixels (``autoDownsample``) is shrunk with
    :func:`~convstudio.app.views.display.display_block_reduce` instead of pyqtgraph's block mean,
    which would fade a thin strong edge to a fraction of its value; a true-colour image to its
    block means. A large image is shrunk off the GUI thread (:mod:`~convstudio.app.views.shrink`).
    Zoomed in on a part of a large image, only the part around what is in view is rendered
    (:func:`~convstudio.app.views.shrink.crop_window`), again when the view leaves that part.
    """

    _crop: Window | None = None  # the part of the image rendered (None: all of it)

    def crop(self) -> Window | None:
        """``(row0, row1, col0, col1)``: the part of the image in the rendering (None: all)."""
        return self._crop

    def _visible_pixels(self) -> tuple[float, float, float, float] | None:
        vb = self.getViewBox()
        if not isinstance(vb, pg.ViewBox):
            return None
        # the ViewBox's range (its child group's coordinates, our parent's) in image pixels
        r = self.mapRectFromParent(vb.viewRect())
        return r.top(), r.bottom(), r.left(), r.right()

    def render(self) -> None:
        self._crop = None
        image = self.image
        if (self.autoDownsample and image is not None and image.ndim in (2, 3) and image.size
                and self.axisOrder == "row-major"):
            xds, yds = self._computeDownsampleFactors()
            if xds is not None:
                visible = self._visible_pixels()
                crop = None if visible is None else crop_window(visible, image.shape[:2], (yds, xds))
                if (xds, yds) == (1, 1) and crop is None:
                    super().render()
                    self._to_paint_format()
                    return
                # pyqtgraph renders the part (reduced, cropped) with its own downsampling off;
                # paint draws it over the part's rectangle of the full image. A large image is
                # shrunk in the background; until then every yds-th / xds-th pixel stands in.
                small = image
                if (xds, yds) != (1, 1):
                    kind = EXTREME if image.ndim == 2 else MEAN
                    small = shrunk(self, image, None, yds, xds, kind)
                    if small is None:
                        small = image[::yds, ::xds]
                self._render_part(np.ascontiguousarray(crop_blocks(small, crop, (yds, xds))))
                self._crop = crop
                self._lastDownsample = (xds, yds)
                return
        super().render()
        self._to_paint_format()

    def _render_part(self, part: np.ndarray) -> None:
        """Render `part` (the image shrunk, or a crop of it) in place of the whole image."""
        image = self.image
        self.image, self.autoDownsample = part, False
        # (pyqtgraph notes once per image whether it holds NaN: the part's answer is not the
        # image's, so it is asked again for each part)
        self._imageHasNans = self._imageNanLocations = None
        try:
            super().render()
        finally:
            self.image, self.autoDownsample = image, True
            self._imageHasNans = self._imageNanLocations = None
        self._to_paint_format()

    def paint(self, painter, *args) -> None:
        """pyqtgraph's paint, but a rendering of a crop is drawn over the crop's rectangle."""
        if self.image is None:
            return
        if self._renderRequired:
            self.render()
            if self._unrenderable:
                return
        if self.paintMode is not None:
            painter.setCompositionMode(self.paintMode)
        h, w = self.image.shape[:2]
        r0, r1, c0, c1 = self._crop if self._crop is not None else (0, h, 0, w)
        painter.drawImage(QRectF(c0, r0, c1 - c0, r1 - r0), self.qimage)
        if self.border is not None:
            painter.setPen(self.border)
            painter.drawRect(self.boundingRect())

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        super().viewTransformChanged()
        if self._crop is not None and not self._renderRequired:
            visible = self._visible_pixels()
            if visible is not None and not covers(self._crop, visible, self.image.shape[:2]):
                self._renderRequired = True  # panned or zoomed out of the crop
                self.update()

    def _on_shrunk(self) -> None:
        """The image shrunk in the background is ready: render again (pyqtgraph's own flag;
        its paint draws ``qimage`` unless a rendering is due)."""
        self._renderRequired = True
        self.update()

    def _to_paint_format(self) -> None:
        qimage = self.qimage
        if qimage is not None and qimage.format() in _PAINT_FORMATS:
            self.qimage = qimage.convertToFormat(_PAINT_FORMATS[qimage.format()])


class RegionViewBox(pg.ViewBox):
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
        self.vb = RegionViewBox(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.0)
        self.item = MapImageItem(autoDownsample=True)  # big images are reduced to screen size first
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
        self.item.setImage(rgb_for_display(source), autoLevels=False, levels=(0.0, 1.0), lut=None)

    def info_at(self, x: float, y: float, view_id: str) -> PixelInfo | None:
        return pixel_info(self.source, self.channel, self.placement, x, y, view_id)

    def info_at_scene_pos(self, pos, view_id: str) -> PixelInfo | None:
        p = self.vb.mapSceneToView(pos)
        return self.info_at(p.x(), p.y(), view_id)

    def set_overlay(self, key: Hashable, rect, pen, brush) -> None:
        item = self.overlays.get(key)
        if item is None:
            item = OverlayRect()
            item.setZValue(10)
            self.vb.addItem(item, ignoreBounds=True)  # boxes reaching into padding do not widen "fit"
            self.overlays[key] = item
        item.setRect(QRectF(*rect))
        item.setPen(pen)
        item.setBrush(shown_brush(brush, self.overlay_fills))

    def remove_overlay(self, key: Hashable) -> None:
        item = self.overlays.pop(key, None)
        if item is not None:
            self.vb.removeItem(item)


class LeaveFilter(QObject):
    """Calls back when the mouse leaves a widget (GraphicsScene has no leave signal)."""

    def __init__(self, callback, parent: QObject) -> None:
        super().__init__(parent)
        self._callback = callback

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Leave:
            self._callback()
        return False


def graphics_view() -> pg.GraphicsView:
    gv = pg.GraphicsView(background=BACKGROUND)
    gv.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    gv.setMouseTracking(True)
    return gv


def readout_label() -> QLabel:
    label = QLabel(" ")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    font = label.font()
    font.setStyleHint(font.StyleHint.Monospace)
    font.setFamily("monospace")
    label.setFont(font)
    return label


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
        self._gv = graphics_view()
        self._gv.setCentralItem(self._cell.vb)
        self._readout = readout_label()
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
        self._gv.viewport().installEventFilter(LeaveFilter(self._on_mouse_left, self))

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
        x = as_chw(x)
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
        spec = normalise_overlay(rect, pen, brush)
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
        refit = self._auto_fit and needs_fit(self._content, rect)
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
