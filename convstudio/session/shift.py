"""Translation equivariance, measured: shift the input by (dy, dx) and compare a layer's maps.

The tutorial derives convolution from translation invariance: the same weights at every position
(docs/user-guide.md, "Shift the input"). So a convolution's map of a shifted input is the
original map shifted by the same amount, divided by the layer's jump (the product of the strides
before it), except near the border, where padding or the shift's fill enters the window. A pooled
map, coarser, changes less when the input moves by less than its jump.

:func:`compare_shift` runs the pipeline on the input and on the shifted input through
:meth:`convstudio.core.Pipeline.run` and returns a :class:`ShiftComparison`: both maps, the
shifted map moved back where the jump divides the shift, the difference, and which positions are
away from the border (their receptive field sees no padding and nothing the shift brought in or
wrapped around). No Qt: the app calls it in a background job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from convstudio.core import Pipeline, PipelineError, cancel
from convstudio.core.pipeline import as_chw

__all__ = ["SHIFT_MODES", "MAX_SHIFT", "ShiftComparison", "shift_image", "compare_shift", "interior_mask"]

#: How the pixels the shift uncovers are filled: wrapped around from the other side, or zeros.
SHIFT_MODES = {"circular": "circular (wrapped around)", "zeros": "zero-filled"}
#: The largest shift offered, in input pixels.
MAX_SHIFT = 256


def shift_image(x: np.ndarray, dy: int, dx: int, mode: str = "circular") -> np.ndarray:
    """`x` (C, H, W) moved `dy` rows down and `dx` columns right: ``out[:, i, j] = x[:, i - dy,
    j - dx]``; the uncovered pixels wrap around (``"circular"``) or are 0 (``"zeros"``)."""
    if mode not in SHIFT_MODES:
        raise PipelineError(f"unknown shift mode '{mode}' (known: {', '.join(SHIFT_MODES)})")
    x = as_chw(x)
    if mode == "circular":
        return np.roll(x, (int(dy), int(dx)), axis=(1, 2))
    out = np.zeros_like(x)
    _, h, w = x.shape
    dy, dx = int(dy), int(dx)
    if abs(dy) < h and abs(dx) < w:
        out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            x[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _axis_interior(n_out: int, n_in: int, start: int, jump: int, size: int, d: int) -> np.ndarray:
    """Output positions along one axis whose window, in the original input and moved by `d`,
    lies on input pixels that both images share unchanged (no padding, no fill, no wrap)."""
    i = np.arange(n_out)
    lo = start + i * jump
    hi = lo + size  # exclusive
    ok = (lo >= max(0, -d)) & (hi <= n_in - max(0, d))
    if d % jump == 0:
        ok &= (i + d // jump >= 0) & (i + d // jump < n_out)
    return ok


def interior_mask(pipeline: Pipeline, layer: int, in_shape, dy: int, dx: int) -> np.ndarray | None:
    """``(H_out, W_out) bool``: the positions of layer `layer` whose value the shift cannot change
    but by moving it (None when the layer's receptive field is not in whole pixels)."""
    rf = pipeline.receptive_fields()[layer]
    if not rf.is_integral:
        return None
    shapes = pipeline.output_shapes(in_shape)
    _, h_out, w_out = shapes[layer]
    _, h, w = shapes[0]
    rows = _axis_interior(h_out, h, rf.start[0], rf.jump[0], rf.size[0], dy)
    cols = _axis_interior(w_out, w, rf.start[1], rf.jump[1], rf.size[1], dx)
    return rows[:, None] & cols[None, :]


@dataclass(frozen=True)
class ShiftComparison:
    """A layer's maps for the input and the shifted input (all ``(C, H_out, W_out)``).

    ``aligned`` is the shifted map moved back by (dy / jump, dx / jump) when the layer's jump
    divides the shift (else None); ``difference`` is ``aligned - original`` then, else
    ``shifted - original`` position by position. ``interior`` marks the positions away from the
    border (None: the layer's receptive field is fractional).
    """

    layer: int
    dy: int
    dx: int
    mode: str
    jump: tuple[int, int] | None
    original: np.ndarray
    shifted: np.ndarray
    aligned: np.ndarray | None
    difference: np.ndarray
    interior: np.ndarray | None

    @cached_property
    def max_interior_difference(self) -> float | None:
        """The largest |difference| away from the border (None if there is no such position).
        Computed once (whole-map work: the app asks for it off the GUI thread first)."""
        if self.interior is None or not self.interior.any():
            return None
        best = np.float64(0.0)
        for c, rows in _pieces(self.difference.shape):
            m = self.interior[rows]
            if m.any():  # (np.maximum, not max(): a NaN stays NaN)
                best = np.maximum(best, np.max(np.abs(self.difference[c, rows]), where=m, initial=0.0))
        return float(best)

    @cached_property
    def change(self) -> float:
        """How much the map changed where it is, position by position: sum |shifted - original|
        over sum |original| (0: unchanged; 2: a thin feature moved off itself entirely). Only
        positions away from the border count (all of them if none is). Computed once."""
        mask = self.interior if self.interior is not None and self.interior.any() else None
        moved = total = 0.0
        for c, rows in _pieces(self.original.shape):
            o = self.original[c, rows].astype(np.float64)
            d = np.abs(self.shifted[c, rows] - o)
            np.abs(o, out=o)
            m = None if mask is None else mask[rows]
            moved += float(d.sum(where=m) if m is not None else d.sum())
            total += float(o.sum(where=m) if m is not None else o.sum())
        return moved / total if total > 0 else moved


#: Values per piece of the comparisons' sums: float64 temporaries stay a few MB, and a cancelled
#: comparison stops between pieces.
PIECE_VALUES = 1 << 19


def _pieces(shape: tuple[int, ...]) -> Iterator[tuple[int, slice]]:
    """(channel, rows) pieces of a ``(C, H, W)`` map, checking for cancellation between them."""
    c_count, h, w = shape
    step = max(1, PIECE_VALUES // max(1, w))
    for c in range(c_count):
        for r0 in range(0, h, step):
            cancel.check()
            yield c, slice(r0, min(h, r0 + step))


def compare_shift(pipeline: Pipeline, image, layer: int, dy: int, dx: int, mode: str = "circular", *,
                  cancelled: Callable[[], bool] | None = None) -> ShiftComparison:
    """Run `pipeline` up to `layer` (1-based) on `image` and on ``shift_image(image, dy, dx,
    mode)`` and compare the two maps (see :class:`ShiftComparison`)."""
    x = as_chw(image)
    if not 1 <= layer <= len(pipeline):
        raise PipelineError(f"layer must be between 1 and {len(pipeline)}, got {layer}")
    if max(abs(int(dy)), abs(int(dx))) > MAX_SHIFT:
        raise PipelineError(f"a shift of at most {MAX_SHIFT} pixels, got ({dy}, {dx})")
    xs = shift_image(x, dy, dx, mode)
    original = pipeline.run(x, upto=layer, cancelled=cancelled)[-1]
    shifted = pipeline.run(xs, upto=layer, cancelled=cancelled)[-1]
    rf = pipeline.receptive_fields()[layer]
    jump = tuple(int(j) for j in rf.jump) if rf.is_integral else None
    aligned = None
    if jump is not None and dy % jump[0] == 0 and dx % jump[1] == 0:
        aligned = np.roll(shifted, (-(dy // jump[0]), -(dx // jump[1])), axis=(1, 2))
        difference = aligned - original
    else:
        difference = shifted - original
    return ShiftComparison(layer, int(dy), int(dx), mode, jump, original, shifted, aligned, difference,
                           interior_mask(pipeline, layer, x.shape, int(dy), int(dx)))
