"""The small views of a :class:`~convstudio.app.views.map_grid.FeatureMapGrid`: :class:`MapTile`, a
clipped frame that shows one map (or the true-colour image) over a region of input coordinates set
by the grid.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem, QGraphicsWidget, QSizePolicy

from convstudio.app.views.colormaps import Display
from convstudio.app.views.display import ALL_CHANNELS, PixelInfo, pixel_info, rgb_for_display
from convstudio.app.views.image_view import MapImageItem
from convstudio.app.views.overlay import OverlayRect, shown_brush
from convstudio.app.views.placement import INPUT_PLACEMENT, Placement, placement_transform
from convstudio.app.views.shrink import Window, covers, crop_blocks, crop_window, shrunk

if TYPE_CHECKING:
    from convstudio.app.views.map_grid import FeatureMapGrid

__all__ = ["MapTile"]


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


class MapTile(QGraphicsWidget):
    """One small map of a grid: a clipped frame that shows a region of input coordinates.

    Lighter than a ViewBox (the grid may hold 64 of them and zoom them all on every wheel step): the
    region comes from the grid, wheel and left-drag ask the grid to zoom / pan, and the grid moves all
    tiles at once.

    A map larger than the tile on screen is handed to its ImageItem shrunk to about one map pixel
    per device pixel (each ``s x s`` block shown as its value of largest magnitude,
    :func:`~convstudio.app.views.display.display_block_reduce`, the item scaled by ``s``): a thin
    strong edge stays visible where taking every ``s``-th pixel would drop it, and pyqtgraph
    converts a tile-sized image to colours instead of the whole map (8 MP for a layer of eight 1 MP
    maps) on every new result. Zooming in lowers the step, down to every pixel. Large maps are
    shrunk in the background (:mod:`~convstudio.app.views.shrink`); until then the tile shows
    every ``s``-th pixel. Zoomed in on a part of a large map, the map (or its shrunk plane) is
    cropped to the part around what the tile shows
    (:func:`~convstudio.app.views.shrink.crop_window`) before it is coloured (or made absolute,
    or composited over its checkerboard), and cropped again when a pan or zoom leaves that part.
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
        self.item = MapImageItem()
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
        self._crop: Window | None = None  # the part of the map in the ImageItem (None: all)
        # (source, channel, steps, the map shrunk at those steps), see _shrunk_plane
        self._shrunk: tuple[np.ndarray, int, tuple[int, int], np.ndarray] | None = None

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

    def crop(self) -> Window | None:
        """``(row0, row1, col0, col1)``: the part of the map in the ImageItem (None: all of it)."""
        return self._crop

    def _visible_pixels(self) -> tuple[float, float, float, float]:
        """The map pixels ``(row0, row1, col0, col1)`` that the tile's frame shows now."""
        inverse, _ok = self.group.transform().inverted()
        r = inverse.mapRect(QRectF(0, 0, self.size().width(), self.size().height()))
        x0, y0 = self.placement.origin
        jr, jc = self.placement.jump
        return (r.top() - y0) / jr, (r.bottom() - y0) / jr, (r.left() - x0) / jc, (r.right() - x0) / jc

    def _wanted_crop(self) -> Window | None:
        return crop_window(self._visible_pixels(), self.source.shape[-2:], self._steps)

    def _put_image(self) -> None:
        sr, sc = self._steps
        sub = (slice(None, None, sr), slice(None, None, sc))
        self._crop = crop = self._wanted_crop()
        offset = (0, 0) if crop is None else (crop[0], crop[2])
        self.item.setTransform(placement_transform(self.placement, self._steps, offset))
        if self._display is None:
            x = self.source if self._steps == (1, 1) else self.source[(slice(None),) + sub]
            x = crop_blocks(x.transpose(1, 2, 0), crop, self._steps).transpose(2, 0, 1)
            self.item.setImage(rgb_for_display(x), autoLevels=False, levels=(0.0, 1.0), lut=None)
        else:
            d = self._display
            plane = crop_blocks(self._shrunk_plane(), crop, self._steps)
            self.item.setImage(d.prepare(plane), autoLevels=False, levels=d.levels, lut=d.lut)

    def _shrunk_plane(self) -> np.ndarray:
        """The map at the tile's steps: kept from the last time while the values are the same
        (new levels recolour it without shrinking the map again)."""
        kept = self._shrunk
        if kept is not None and kept[0] is self.source and kept[1:3] == (self.channel, self._steps):
            return kept[3]
        sr, sc = self._steps
        data = shrunk(self, self.source, self.channel, sr, sc)
        if data is None:  # a large map: every sr-th / sc-th pixel until it is shrunk
            return self.source[self.channel][::sr, ::sc]
        self._shrunk = (self.source, self.channel, self._steps, data)
        return data

    def _on_shrunk(self) -> None:
        """The map shrunk in the background is ready (see :mod:`~convstudio.app.views.shrink`)."""
        if not (shiboken6.isValid(self) and shiboken6.isValid(self.group)):
            return  # (its grid was deleted meanwhile)
        if self.source is not None and self._display is not None:
            self._put_image()

    def retarget(self, source: np.ndarray) -> None:
        """Show the same values from another array (other channels of the layer changed): the
        colours already rendered stay, and the old array is let go."""
        if self._shrunk is not None and self._shrunk[0] is self.source:
            self._shrunk = (source,) + self._shrunk[1:]
        self.source = source
        if self._display is None or self._display.absolute or self._steps != (1, 1):
            return  # true colour is not retargeted; |x| and shrunk maps are copies (no old array)
        data = crop_blocks(source[self.channel], self._crop, (1, 1))
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
        self._shrunk = None
        self._crop = None
        self.item.clear()

    def set_label(self, text: str) -> None:
        self._label.setText(text)
        r = self._label.boundingRect()
        self._label_back.setRect(0, 0, r.width() + 6, r.height() + 2)

    def label_text(self) -> str:
        return self._label.text()

    def info_at_scene_pos(self, pos, view_id: str) -> PixelInfo | None:
        p = self.group.mapFromScene(pos)
        return pixel_info(self.source, self.channel, self.placement, p.x(), p.y(), view_id)

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
            elif not covers(self._crop, self._visible_pixels(), self.source.shape[-2:]):
                self._put_image()  # panned or zoomed out of the crop

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
            item = OverlayRect(self.group)
            item.setZValue(10)
            self.overlays[key] = item
        item.setRect(QRectF(*rect))
        item.setPen(pen)
        item.setBrush(shown_brush(brush, self._grid.overlay_fills()))

    def remove_overlay(self, key: Hashable) -> None:
        item = self.overlays.pop(key, None)
        if item is not None:
            item.setParentItem(None)
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)
