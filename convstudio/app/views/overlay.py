"""Rectangle overlays (receptive-field boxes and the like) drawn in input coordinates on the maps of an
:class:`~convstudio.app.views.image_view.ImageView` or a
:class:`~convstudio.app.views.map_grid.FeatureMapGrid`: the item that draws one, how its pen and
brush are chosen, and how an overlay's items leave the scene (:func:`detach_items`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import shiboken6
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from convstudio.app.qtsetup import pg

__all__ = ["DEFAULT_OVERLAY_PEN", "OverlayRect", "detach_items", "normalise_overlay", "shown_brush"]


DEFAULT_OVERLAY_PEN = pg.mkPen((255, 220, 0), width=2)


class OverlayRect(QGraphicsRectItem):
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


def normalise_overlay(rect, pen, brush):
    if isinstance(rect, QRectF):
        rect = (rect.x(), rect.y(), rect.width(), rect.height())
    x, y, w, h = (float(v) for v in rect)
    pen = DEFAULT_OVERLAY_PEN if pen is None else pg.mkPen(pen)
    brush = pg.mkBrush(None) if brush is None else pg.mkBrush(brush)
    return (x, y, w, h), pen, brush


def shown_brush(brush, fills: bool):
    """The brush an overlay is drawn with: without fills, a solid (tinting) brush is left out;
    patterns such as the padding hatch stay."""
    if fills or brush.style() != Qt.BrushStyle.SolidPattern:
        return brush
    return pg.mkBrush(None)


def detach_items(items: Iterable) -> None:
    """Take graphics items out of their parent and scene (the overlays' way to clear). An item
    whose C++ side is already gone (its view was destroyed first) is skipped."""
    for item in items:
        if not shiboken6.isValid(item):
            continue
        scene = item.scene()
        item.setParentItem(None)
        if scene is not None:
            scene.removeItem(item)
