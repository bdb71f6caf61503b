"""Receptive-field boxes on the views: where a feature-map pixel's input comes from.

Hovering a pixel of the selected layer draws its theoretical receptive field on the input view;
a click pins it (several pins compare; Esc or "Clear pins" removes them). A pinned pixel of layer L
is also drawn on the maps of any EARLIER layer k that is shown (select layer k to see which of its
cells feed the pinned pixel), and as its own square on layer L's maps.

The part of a window that lies inside the map is outlined in the mark's colour (hover: yellow; pins:
a palette); the part that falls into padding (outside the map) is hatched red and the whole window
gets a dashed red outline, so a border pixel shows at a glance how much of its window is made up.

All numbers come from the core: the window of pixel (i, j) of layer L on layer k is
``Pipeline(layers[k:L]).receptive_fields()[-1].window(i, j)`` (for k = 0 that is exactly
``pipeline.receptive_fields()[L].window(i, j)``, what ``convstudio info`` prints), mapped to input
coordinates through layer k's :class:`~convstudio.app.views.feature_view.Placement`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen

from convstudio.app.views.feature_view import Placement, scene_rect_of_pixel
from convstudio.core import Pipeline

__all__ = [
    "HOVER_COLOUR",
    "PIN_COLOURS",
    "MAX_PINS",
    "Mark",
    "ReceptiveOverlay",
    "cells_rect",
    "layer_placement",
    "padding_bands",
    "split_window",
    "window_on_layer",
]

HOVER_COLOUR = (255, 220, 0)
PIN_COLOURS = ((0, 229, 255), (255, 64, 255), (118, 255, 3), (255, 145, 0), (41, 121, 255),
               (255, 255, 255))
PADDING_COLOUR = (235, 40, 40)
MAX_PINS = len(PIN_COLOURS)

Rect = tuple[float, float, float, float]  # x, y, w, h in input coordinates
Window = tuple[int, int, int, int]  # r0, r1, c0, c1 (end-exclusive) in a layer's own indices


# ------------------------------------------------------------------------------------ geometry


def layer_placement(pipeline: Pipeline, index: int, factor: int = 1) -> Placement:
    """Where layer `index`'s pixels sit in full-resolution input coordinates when the layers were
    computed on an input shrunk `factor` times (the renderer's preview)."""
    rf = pipeline.receptive_fields()[index]
    f = int(factor)
    return Placement(jump=(rf.jump[0] * f, rf.jump[1] * f), start=(rf.start[0] * f, rf.start[1] * f),
                     size=(rf.size[0] * f, rf.size[1] * f))


def window_on_layer(pipeline: Pipeline, layer: int, i: int, j: int, on: int = 0) -> Window:
    """Cells ``(r0, r1, c0, c1)`` (end-exclusive, may reach outside the map) of layer `on`'s
    output that pixel ``(i, j)`` of layer `layer` depends on; ``on = 0`` is the input."""
    if not 0 <= on <= layer:
        raise ValueError(f"layer {on} is not at or before layer {layer}")
    rf = Pipeline(pipeline.layers[on:layer]).receptive_fields()[-1]
    r0, r1, c0, c1 = rf.window(i, j)
    # after an upsampling layer the ends may be fractions: the cells are the whole numbers inside
    return (math.ceil(r0), math.floor(r1 - 1) + 1, math.ceil(c0), math.floor(c1 - 1) + 1)


def split_window(window: Window, height: int, width: int) -> Window | None:
    """The part of `window` inside a ``height x width`` map, or None if it is all padding."""
    r0, r1, c0, c1 = window
    r0, r1, c0, c1 = max(r0, 0), min(r1, height), max(c0, 0), min(c1, width)
    if r0 >= r1 or c0 >= c1:
        return None
    return (r0, r1, c0, c1)


def cells_rect(placement: Placement, window: Window) -> Rect:
    """Input-coordinate rectangle covered by the drawn squares of cells ``window``."""
    r0, r1, c0, c1 = window
    x0, y0, _, _ = scene_rect_of_pixel(placement, r0, c0)
    x1, y1, w1, h1 = scene_rect_of_pixel(placement, r1 - 1, c1 - 1)
    return (x0, y0, x1 + w1 - x0, y1 + h1 - y0)


def padding_bands(full: Rect, inside: Rect | None) -> list[Rect]:
    """`full` minus `inside` as up to four rectangles (top, bottom, left, right)."""
    if inside is None:
        return [full]
    fx, fy, fw, fh = full
    ix, iy, iw, ih = inside
    bands = []
    if iy > fy:
        bands.append((fx, fy, fw, iy - fy))
    if iy + ih < fy + fh:
        bands.append((fx, iy + ih, fw, fy + fh - iy - ih))
    if ix > fx:
        bands.append((fx, iy, ix - fx, ih))
    if ix + iw < fx + fw:
        bands.append((ix + iw, iy, fx + fw - ix - iw, ih))
    return bands


# ------------------------------------------------------------------------------------ marks


@dataclass(frozen=True)
class Mark:
    """One pixel of one layer's output: ``layer`` is 1-based, ``row`` / ``col`` index its map."""

    layer: int
    row: int
    col: int
    channel: int = 0


def _pen(colour, width: float = 2.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(*colour))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    pen.setStyle(style)
    return pen


def _hatch() -> QBrush:
    return QBrush(QColor(*PADDING_COLOUR, 200), Qt.BrushStyle.BDiagPattern)


class ReceptiveOverlay(QObject):
    """Draws the hover mark and the pinned marks on a set of views.

    Parameters
    ----------
    context : callable
        Returns ``(pipeline, shapes, factor)``: the pipeline the maps were computed with, the shapes
        of the input and every layer's output in computed (maybe preview) pixels, and the preview
        factor; or None when nothing is computed.

    state : ViewState, optional
        Where the pins live (``ViewState.pins``; the window's, so that whoever changes them, the
        overlay redraws); without one the overlay keeps its own.

    Views are added with :meth:`add_target` (anything with ``add_rect_overlay`` / ``remove_overlay``,
    e.g. a FeatureMapGrid) and a callable giving the layer index the view shows now (None: nothing).

    Signals
    -------
    pinsChanged()
        A pin was added or removed (or dropped because it no longer exists).
    """

    pinsChanged = Signal()

    def __init__(self, context: Callable[[], tuple[Pipeline, Sequence, int] | None],
                 parent: QObject | None = None, *, state=None) -> None:
        super().__init__(parent)
        from convstudio.app.model.view_state import ViewState

        self._context = context
        self._targets: list[tuple[object, Callable[[], int | None]]] = []
        self._drawn: dict[int, dict[Hashable, set]] = {}  # id(view) -> mark id -> keys
        self._hover: Mark | None = None
        self._state = state if state is not None else ViewState(self)
        self._shown: tuple[tuple[int, Mark], ...] = ()  # the pins drawn now
        self._state.pinsChanged.connect(self._on_state_pins)
        self._visible = True

    @property
    def _pins(self) -> list[tuple[int, Mark]]:
        return list(self._state.pins)

    def _set_pins(self, pins: list[tuple[int, Mark]]) -> None:
        self._shown = tuple(pins)
        self._state.set_pins(pins)

    def _on_state_pins(self, pins) -> None:
        """The pins were changed elsewhere (not through this overlay): draw what the state holds."""
        if tuple(pins) == self._shown:
            return
        for k, _ in self._shown:
            self._draw(("pin", k), None, None)
        self._shown = tuple(pins)
        for k, m in self._shown:
            self._draw(("pin", k), m, PIN_COLOURS[k])
        self.pinsChanged.emit()

    # ---------------------------------------------------------------- targets
    def add_target(self, view, layer_of: Callable[[], int | None]) -> None:
        self._targets.append((view, layer_of))
        self._drawn[id(view)] = {}

    # ---------------------------------------------------------------- state
    def pins(self) -> list[Mark]:
        return [m for _, m in self._pins]

    def pin_colours(self) -> list[tuple[int, int, int]]:
        return [PIN_COLOURS[k] for k, _ in self._pins]

    def set_visible(self, on: bool) -> None:
        """Show or hide every box (the marks are kept)."""
        self._visible = bool(on)
        self.refresh()

    def is_visible(self) -> bool:
        return self._visible

    def set_hover(self, mark: Mark | None) -> None:
        if mark == self._hover:
            return
        self._hover = mark
        self._draw("hover", mark, HOVER_COLOUR)

    def pin(self, mark: Mark) -> None:
        """Pin `mark` (a pixel already pinned is not pinned twice; the oldest pin goes when there
        are more than MAX_PINS)."""
        key = (mark.layer, mark.row, mark.col)
        pins = self._pins
        if any((m.layer, m.row, m.col) == key for _, m in pins):
            return
        used = {k for k, _ in pins}
        if len(pins) >= MAX_PINS:
            k, old = pins.pop(0)
            self._draw(("pin", k), None, None)
            used.discard(k)
        colour = next(k for k in range(len(PIN_COLOURS)) if k not in used)
        pins.append((colour, mark))
        self._draw(("pin", colour), mark, PIN_COLOURS[colour])
        self._set_pins(pins)
        self.pinsChanged.emit()

    def clear_pins(self) -> None:
        if not self._pins:
            return
        for k, _ in self._pins:
            self._draw(("pin", k), None, None)
        self._set_pins([])
        self.pinsChanged.emit()

    def refresh(self) -> None:
        """Redraw everything (the pipeline, the selection, the image or the result changed); pins
        that no longer exist are dropped."""
        ctx = self._context()
        pins = self._pins
        valid = [(k, m) for k, m in pins if ctx is not None and _exists(ctx, m)]
        dropped = [(k, m) for k, m in pins if (k, m) not in valid]
        self._set_pins(valid)
        for k, _ in dropped:
            self._draw(("pin", k), None, None)
        if self._hover is not None and (ctx is None or not _exists(ctx, self._hover)):
            self._hover = None
        self._draw("hover", self._hover, HOVER_COLOUR)
        for k, m in self._pins:
            self._draw(("pin", k), m, PIN_COLOURS[k])
        if dropped:
            self.pinsChanged.emit()

    # ---------------------------------------------------------------- geometry per view
    def parts_for(self, mark: Mark, layer_shown: int) -> dict[str, Rect]:
        """The rectangles drawn for `mark` on a view of layer `layer_shown`: ``"inside"`` (the part
        of the window inside the map), ``"outline"`` (the whole window, when it reaches padding),
        ``"pad0"``... (padding bands), or ``"pixel"`` (the mark's own square, on its own layer).
        Empty when the view shows a later layer or nothing is computed."""
        ctx = self._context()
        if ctx is None or not _exists(ctx, mark):
            return {}
        pipeline, shapes, factor = ctx
        k = layer_shown
        if k > mark.layer or k >= len(shapes) or shapes[k] is None:
            return {}
        placement = layer_placement(pipeline, k, factor)
        if k == mark.layer:
            return {"pixel": scene_rect_of_pixel(placement, mark.row, mark.col)}
        window = window_on_layer(pipeline, mark.layer, mark.row, mark.col, on=k)
        _, h, w = shapes[k]
        full = cells_rect(placement, window)
        inner = split_window(window, h, w)
        inside = cells_rect(placement, inner) if inner is not None else None
        parts: dict[str, Rect] = {}
        if inside is not None:
            parts["inside"] = inside
        if inner != window:
            parts["outline"] = full
            for n, band in enumerate(padding_bands(full, inside)):
                parts[f"pad{n}"] = band
        return parts

    def _draw(self, mark_id: Hashable, mark: Mark | None, colour) -> None:
        for view, layer_of in self._targets:
            drawn = self._drawn[id(view)]
            old = drawn.pop(mark_id, set())
            keys = set()
            layer = layer_of()
            if mark is not None and self._visible and layer is not None:
                for part, rect in self.parts_for(mark, layer).items():
                    key = ("rf", mark_id, part)
                    pen, brush = _style(part, colour)
                    view.add_rect_overlay(key, rect, pen=pen, brush=brush)
                    keys.add(key)
            for key in old - keys:
                view.remove_overlay(key)
            if keys:
                drawn[mark_id] = keys


def _style(part: str, colour):
    if part == "inside":
        return _pen(colour, 2.0), QBrush(QColor(*colour, 38))
    if part == "pixel":
        return _pen(colour, 2.0), None
    if part == "outline":
        return _pen(PADDING_COLOUR, 1.5, Qt.PenStyle.DashLine), None
    return QPen(Qt.PenStyle.NoPen), _hatch()


def _exists(ctx, mark: Mark) -> bool:
    pipeline, shapes, _ = ctx
    if not 1 <= mark.layer < len(shapes) or mark.layer > len(pipeline):
        return False
    shape = shapes[mark.layer]
    if shape is None:
        return False
    c, h, w = shape
    return 0 <= mark.row < h and 0 <= mark.col < w and 0 <= mark.channel < c
