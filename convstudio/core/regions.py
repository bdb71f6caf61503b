"""Regions of a layer's input and output, and computing a layer on a region only.

A :class:`Region` is a set of rows times a set of columns of one layer's input or output, each a
sorted array of distinct indices. Usually both are ranges (a tile and its halo); they are sets so
that circular padding, which wraps a tile at the top border round to the bottom rows, needs only
those rows rather than the whole axis (see docs/scale.md, "Exact tiles").

Every layer type that can be tiled has two methods, which :mod:`convstudio.core.tiling` calls:

``input_region(out_region, in_shape) -> Region``
    The input rows and columns the outputs in `out_region` read (padding cells map to the input
    cells that the padding mode copies; constant padding reads nothing).
``forward_region(x, in_region, out_region, in_shape) -> ndarray``
    The outputs in `out_region`, exactly as a whole-image run computes them, from `x`, the layer's
    input held at `in_region` (a superset of ``input_region(out_region)``).

Windowed layers (conv2d, pooling, pad, stride) describe themselves per axis with an
:class:`AxisWindow` and use :func:`window_input_region` / :func:`window_forward_region`;
element-wise layers use :func:`pointwise_input_region` / :func:`pointwise_forward_region`. A new
layer type adds its own pair (docs/developing.md, "Adding a layer type").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import fastpaths, ops

__all__ = [
    "Region",
    "AxisWindow",
    "window",
    "window_sum",
    "runs",
    "window_input_region",
    "window_forward_region",
    "pointwise_input_region",
    "pointwise_forward_region",
    "avg_pool_divisor",
]


def _index_array(v) -> np.ndarray:
    a = np.asarray(v, dtype=np.int64).reshape(-1)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Region:
    """Rows x columns of one layer's input or output: two sorted arrays of distinct indices."""

    rows: np.ndarray
    cols: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", _index_array(self.rows))
        object.__setattr__(self, "cols", _index_array(self.cols))

    @classmethod
    def box(cls, r0: int, r1: int, c0: int, c1: int) -> Region:
        """The rectangle of rows r0 .. r1 - 1 and columns c0 .. c1 - 1."""
        return cls(np.arange(r0, r1), np.arange(c0, c1))

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), len(self.cols))

    @property
    def size(self) -> int:
        return len(self.rows) * len(self.cols)

    def bounds(self) -> tuple[int, int, int, int]:
        """(r0, r1, c0, c1): the bounding box, end-exclusive."""
        return (int(self.rows[0]), int(self.rows[-1]) + 1, int(self.cols[0]), int(self.cols[-1]) + 1)

    def blocks(self) -> list[tuple[int, int, int, int]]:
        """The region as rectangles (r0, r1, c0, c1): every run of rows times every run of columns."""
        return [(a, b, c, d) for a, b in runs(self.rows) for c, d in runs(self.cols)]

    def contains(self, other: Region) -> bool:
        return bool(np.isin(other.rows, self.rows).all() and np.isin(other.cols, self.cols).all())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        return np.array_equal(self.rows, other.rows) and np.array_equal(self.cols, other.cols)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        def axis(a):
            return " + ".join(f"{s}:{e}" for s, e in runs(a)) or "empty"
        return f"Region(rows {axis(self.rows)}, cols {axis(self.cols)})"


def runs(idx: np.ndarray) -> list[tuple[int, int]]:
    """Sorted distinct indices as maximal ranges ``(start, stop)``: [0 1 2 7 8] -> [(0, 3), (7, 9)]."""
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [len(idx)]))
    return [(int(idx[a]), int(idx[b - 1]) + 1) for a, b in zip(starts, stops)]


@dataclass(frozen=True)
class AxisWindow:
    """What output index i of a windowed layer reads along one axis.

    Output i reads the padded input at ``i*stride + offset ... i*stride + offset + span - 1``; the
    padded axis is the `n` input cells with `before` and `after` cells of padding in `mode` (a
    name of ``ops.PAD_MODES``). With `extend` (ceil-mode pooling) windows may also hang past the
    padded axis; those cells, like constant padding, hold the layer's fill value.
    """

    n: int
    span: int
    stride: int = 1
    offset: int = 0
    before: int = 0
    after: int = 0
    mode: str = "zeros"
    extend: bool = False
    _map: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def constant(self) -> bool:
        return ops.PAD_MODES[self.mode] == "constant"

    def source(self, p: np.ndarray) -> np.ndarray:
        """Input index each padded coordinate in `p` holds, or -1 for a constant cell."""
        r = p - self.before
        if self.constant or (self.before == 0 and self.after == 0):
            return np.where((r >= 0) & (r < self.n), r, -1)
        if self._map is None:
            # numpy.pad's own index arithmetic, as ops._source_rows: exact for every mode and for
            # padding wider than the axis (which keeps mirroring or wrapping).
            m = np.pad(np.arange(self.n), (self.before, self.after), mode=ops.PAD_MODES[self.mode])
            object.__setattr__(self, "_map", m)
        inside = (p >= 0) & (p < len(self._map))
        return np.where(inside, self._map[np.clip(p, 0, len(self._map) - 1)], -1)

    def padded_coords(self, o0: int, o1: int) -> tuple[np.ndarray, int]:
        """Padded coordinates read by outputs o0 .. o1 - 1, and the stride that walks them.

        Overlapping or touching windows (span >= stride) read one range, walked at the layer's
        stride; windows with gaps between them (a stride layer, pooling with a stride over the
        window) read only their own cells, packed next to each other, walked at the span.
        """
        first = o0 * self.stride + self.offset
        if self.span >= self.stride:
            return np.arange(first, (o1 - 1) * self.stride + self.offset + self.span), self.stride
        starts = np.arange(o0, o1) * self.stride + self.offset
        return (starts[:, None] + np.arange(self.span)[None, :]).reshape(-1), self.span

    def input_indices(self, out_idx: np.ndarray) -> np.ndarray:
        """Sorted distinct input indices that the outputs `out_idx` read."""
        parts = [self.source(self.padded_coords(a, b)[0]) for a, b in runs(out_idx)]
        if not parts:
            return np.zeros(0, np.int64)
        src = np.concatenate(parts)
        return np.unique(src[src >= 0])


@functools.lru_cache(maxsize=512)
def window(n: int, span: int, stride: int = 1, offset: int = 0, before: int = 0, after: int = 0,
           mode: str = "zeros", extend: bool = False) -> AxisWindow:
    """A shared :class:`AxisWindow` (its index map is built once per layer and axis)."""
    return AxisWindow(n, span, stride, offset, before, after, mode, extend)


def window_sum(block: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               out_hw: tuple[int, int]) -> np.ndarray:
    """Window sums of a padded block, added in the order ops.avg_pool adds them (rows first, taps
    in order), so that a tile's sums are the whole image's bits."""
    total = fastpaths.pool_reduce(block, kernel, stride, (1, 1), out_hw, np.add)
    if total is None:
        rows = ops._window_reduce_axis(block, 1, kernel[0], stride[0], 1, out_hw[0], np.add)
        total = ops._window_reduce_axis(rows, 2, kernel[1], stride[1], 1, out_hw[1], np.add)
    return total


def window_input_region(windows: tuple[AxisWindow, AxisWindow], out_region: Region) -> Region:
    """Input region that a windowed layer reads for `out_region` (rows and columns separately)."""
    return Region(windows[0].input_indices(out_region.rows), windows[1].input_indices(out_region.cols))


def _positions(held: np.ndarray, src: np.ndarray) -> tuple[np.ndarray | slice, np.ndarray | None]:
    """Where the input indices `src` (-1: constant) sit in the held axis: a slice when they are
    one plain run, else an index array; plus the mask of constant cells (None when there is none)."""
    const = src < 0
    pos = np.searchsorted(held, np.where(const, held[0], src))
    pos = np.minimum(pos, len(held) - 1)
    missing = (held[pos] != src) & ~const
    if missing.any():
        raise ValueError(f"input index {int(src[missing][0])} is outside the region held "
                         "(the tile plan and the layer disagree)")
    if not const.any():
        if len(pos) and pos[-1] - pos[0] == len(pos) - 1 and np.all(np.diff(pos) == 1):
            return slice(int(pos[0]), int(pos[-1]) + 1), None
        return pos, None
    return pos, const


def _gather(x: np.ndarray, in_region: Region, src_r: np.ndarray, src_c: np.ndarray,
            fill: float) -> np.ndarray:
    """The padded block of padded coordinates (src_r x src_c) from x held at `in_region`."""
    if in_region.size == 0:  # the outputs read padding only (a wide border, a 1 x 1 kernel)
        return np.full((x.shape[0], len(src_r), len(src_c)), fill, np.float32)
    pr, cr = _positions(in_region.rows, src_r)
    pc, cc = _positions(in_region.cols, src_c)
    block = x[:, pr] if isinstance(pr, slice) else np.take(x, pr, axis=1)
    block = block[:, :, pc] if isinstance(pc, slice) else np.take(block, pc, axis=2)
    if cr is not None or cc is not None:
        block = np.array(block, dtype=np.float32, copy=True)
        if cr is not None:
            block[:, cr, :] = np.float32(fill)
        if cc is not None:
            block[:, :, cc] = np.float32(fill)
    return block


def window_forward_region(
    windows: tuple[AxisWindow, AxisWindow],
    x: np.ndarray,
    in_region: Region,
    out_region: Region,
    compute: Callable[[np.ndarray, tuple[int, int], tuple[np.ndarray, np.ndarray]], np.ndarray],
    *,
    fill: float = 0.0,
) -> np.ndarray:
    """Outputs of a windowed layer at `out_region`, block by block.

    For every run of output rows times every run of output columns the padded input those
    outputs read is gathered from `x` (constant cells set to `fill`), then
    ``compute(block, stride, (out_rows, out_cols))`` turns the block into exactly those outputs,
    with no padding of its own: the block already holds it, as the whole-image run pads.
    """
    wr, wc = windows
    parts_r = []
    for r0, r1 in runs(out_region.rows):
        coords_r, sh = wr.padded_coords(r0, r1)
        src_r = wr.source(coords_r)
        parts_c = []
        for c0, c1 in runs(out_region.cols):
            coords_c, sw = wc.padded_coords(c0, c1)
            block = _gather(x, in_region, src_r, wc.source(coords_c), fill)
            parts_c.append(compute(block, (sh, sw), (np.arange(r0, r1), np.arange(c0, c1))))
        parts_r.append(parts_c[0] if len(parts_c) == 1 else np.concatenate(parts_c, axis=2))
    out = parts_r[0] if len(parts_r) == 1 else np.concatenate(parts_r, axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)


def avg_pool_divisor(win: AxisWindow, kernel: int, out_idx: np.ndarray, include_pad: bool) -> np.ndarray:
    """The divisor of average-pooling outputs `out_idx` along one axis, as ops.avg_pool counts it
    for the whole image (a ceil-mode window never counts beyond the padding)."""
    start = out_idx * win.stride - win.before
    end = np.minimum(start + kernel, win.n + win.after)
    if include_pad:
        return (end - start).astype(np.float32)
    return (np.minimum(end, win.n) - np.maximum(start, 0)).astype(np.float32)


def pointwise_input_region(self, out_region: Region, in_shape) -> Region:
    """Element-wise layers read exactly the cells they write."""
    return out_region


def pointwise_forward_region(self, x: np.ndarray, in_region: Region, out_region: Region,
                             in_shape) -> np.ndarray:
    """Element-wise layers: the layer's own forward on the cells of `out_region`."""
    if in_region != out_region:
        x = _gather(x, in_region, out_region.rows, out_region.cols, 0.0)
    return self._forward(np.ascontiguousarray(x))
