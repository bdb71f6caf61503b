"""Placement: where a layer's pixels sit in input coordinates (pure geometry; Qt only for the
ImageItem transform).

A feature map pixel is drawn as a ``jump x jump`` square centred on the centre of its receptive field,
so every view of every layer shares the input's coordinate system. Coordinates are ``(x, y) = (column,
row)`` with y pointing down (row 0 at the top); input pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from PySide6.QtGui import QTransform

__all__ = [
    "INPUT_PLACEMENT",
    "Placement",
    "as_placement",
    "content_rect",
    "pixel_at_scene",
    "placement_transform",
    "receptive_field_rect",
    "scene_rect_of_pixel",
]


def _number(v: Any) -> int | Fraction:
    """A whole number as an int; a fraction of a pixel (after upsampling layers) stays exact."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f


def _pair(v: Any, name: str) -> tuple[int | Fraction, int | Fraction]:
    try:
        if isinstance(v, (int, np.integer, Fraction)):
            return _number(v), _number(v)
        a, b = v
        return _number(a), _number(b)
    except (TypeError, ValueError):
        raise ValueError(f"Placement.{name} must be a number or a pair of numbers, got {v!r}") from None


@dataclass(frozen=True)
class Placement:
    """Receptive field of a layer per axis ``(rows, cols)``: where its pixels sit on the input.

    Output pixel ``i`` covers input rows ``start + i*jump ... start + i*jump + size - 1`` (likewise
    columns); ``start`` is negative where the window reaches into padding. The input itself is
    ``Placement()`` (jump 1, start 0, size 1). Ints are accepted for both axes. After upsampling
    layers the values may be exact fractions (jump 1/2: two map pixels per input pixel).

    Drawing rule: pixel ``(i, j)`` is a ``jump_c x jump_r`` rectangle centred on its receptive field's
    centre, column centre ``start_c + j*jump_c + (size_c - 1)/2 + 0.5`` in input coordinates, so its left
    edge is ``start_c + (size_c - jump_c)/2 + j*jump_c``. Neighbouring pixels tile without gaps.
    """

    jump: tuple[int | Fraction, int | Fraction] = (1, 1)
    start: tuple[int | Fraction, int | Fraction] = (0, 0)
    size: tuple[int | Fraction, int | Fraction] = (1, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jump", _pair(self.jump, "jump"))
        object.__setattr__(self, "start", _pair(self.start, "start"))
        object.__setattr__(self, "size", _pair(self.size, "size"))
        if min(self.jump) <= 0 or min(self.size) < 1:
            raise ValueError(f"Placement jump must be > 0 and size >= 1, got {self}")

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


def placement_transform(placement: Placement, step: tuple[int, int] = (1, 1),
                        offset: tuple[int, int] = (0, 0)) -> QTransform:
    """The ImageItem transform: item pixel ``(col, row)`` -> input coordinates.

    ``step = (rows, cols)``: the item holds every ``step``-th pixel of the map (``map[::sr, ::sc]``),
    so each of its pixels stands for a ``sr x sc`` block. ``offset = (row, col)``: the item holds
    the map from that pixel on (a crop, ``map[row:, col:]``).
    """
    x0, y0 = placement.origin
    jr, jc = placement.jump
    sr, sc = step
    r, c = offset
    return QTransform(float(jc * sc), 0.0, 0.0, float(jr * sr), float(x0 + c * jc), float(y0 + r * jr))
