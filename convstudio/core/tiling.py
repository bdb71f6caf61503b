"""Exact tiled runs: the output of a layer computed tile by tile from the input cells it needs.

For an output tile of layer N the plan walks back through the layers, asking each for the region
of its input that the region of its output reads (``Layer.input_region``, see
:mod:`convstudio.core.regions`), down to the input image. A tile then reads only that region of
the input and runs every layer on its own region (``Layer.forward_region``), each layer padding
only where its region touches the true border of its input, with the cells its padding mode
copies there. Because every region is derived from the output indices it serves, strided layers
sample the same grid as in a whole-image run, and every value equals the whole-image run's:
bit for bit where the same arithmetic path runs, within float32 rounding where a fast path
(FFT, Winograd, BLAS blocking) chooses differently for the smaller input (docs/scale.md).

A layer type without the two region methods cannot be tiled: :func:`plan_tiles` raises
:class:`TilingUnsupported` naming it, and callers run the whole image instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cancel
from .errors import ConvStudioError, PipelineError
from .layers import Layer, Shape
from .regions import Region

__all__ = [
    "TilingUnsupported",
    "Tile",
    "TilePlan",
    "plan_tiles",
    "read_region",
    "run_tiled",
    "tileable",
    "whole_run_bytes",
    "choose_tile",
    "DEFAULT_TILE",
]

#: Output tile side used when none is given.
DEFAULT_TILE = 512
_TILE_CHOICES = (2048, 1024, 512, 256, 128, 64, 32, 16)
_OVERHEAD_BYTES = 1 << 20  # the tile plan, index maps and small temporaries, per running tile


class TilingUnsupported(ConvStudioError):
    """A layer of the pipeline has no tiled form; the image must be run whole."""


def tileable(layer: Layer) -> bool:
    """True if `layer` can run on a region (disabled layers pass their input through)."""
    return not layer.enabled or (callable(getattr(layer, "input_region", None))
                                 and callable(getattr(layer, "forward_region", None)))


@dataclass(frozen=True, eq=False)
class Tile:
    """One output tile: its place in the grid, its box in layer N's output (end-exclusive) and
    ``regions[k]``, the region of layer k's output it needs (``regions[0]``: of the input)."""

    index: tuple[int, int]
    box: tuple[int, int, int, int]
    regions: tuple[Region, ...]

    @property
    def input_region(self) -> Region:
        return self.regions[0]


def _edges(n: int, step: int) -> list[int]:
    return list(range(0, n, step)) + [n]


def _gathered_shape(layer, in_shape, in_region: Region, out_region: Region) -> tuple[int, int, int]:
    """The shape of the padded block a windowed layer gathers for `out_region` (at most: the
    rows and columns its windows span), or of `in_region` for any other layer."""
    windows = getattr(layer, "_windows", None)
    if windows is None:
        return (in_shape[0],) + in_region.shape
    wr, wc = windows(in_shape)
    oh, ow = out_region.shape
    return (in_shape[0], max(0, oh - 1) * wr.stride + wr.span, max(0, ow - 1) * wc.stride + wc.span)


class TilePlan:
    """The tiles of layer `len(layers)`'s output for an input of `in_shape`, in row-major order.

    Use :func:`plan_tiles` to build one. Tiles are derived on demand (``plan.tile(i, j)``), so a
    plan for a gigapixel image costs nothing until its tiles are asked for.
    """

    def __init__(self, layers: Sequence[Layer], shapes: Sequence[Shape], tile: tuple[int, int]):
        self.layers = tuple(layers)
        self.shapes = tuple(tuple(s) for s in shapes)
        self.tile_size = (int(tile[0]), int(tile[1]))
        _, h, w = self.shapes[-1]
        self._rows = _edges(h, self.tile_size[0])
        self._cols = _edges(w, self.tile_size[1])

    @property
    def in_shape(self) -> Shape:
        return self.shapes[0]  # type: ignore[return-value]

    @property
    def out_shape(self) -> Shape:
        return self.shapes[-1]  # type: ignore[return-value]

    @property
    def grid(self) -> tuple[int, int]:
        return (len(self._rows) - 1, len(self._cols) - 1)

    def __len__(self) -> int:
        return self.grid[0] * self.grid[1]

    def box(self, i: int, j: int) -> tuple[int, int, int, int]:
        return (self._rows[i], self._rows[i + 1], self._cols[j], self._cols[j + 1])

    def tile(self, i: int, j: int) -> Tile:
        box = self.box(i, j)
        region = Region.box(*box)
        chain = [region]
        for k in range(len(self.layers) - 1, -1, -1):
            cancel.check()
            layer = self.layers[k]
            if layer.enabled:
                try:
                    region = layer.input_region(region, self.shapes[k])
                except PipelineError as exc:
                    raise exc.at_layer(k + 1) from None
            chain.append(region)
        return Tile((i, j), box, tuple(reversed(chain)))

    def __iter__(self) -> Iterator[Tile]:
        rows, cols = self.grid
        for i in range(rows):
            for j in range(cols):
                yield self.tile(i, j)

    def run_tile(self, tile: Tile, source: Any = None, *, x: np.ndarray | None = None) -> np.ndarray:
        """Layer N's output on `tile`: ``(C, rows, cols) float32``.

        The input region is read from `source` (anything indexable as ``source[:, r0:r1, c0:c1]``
        with shape (C, H, W), see :func:`read_region`), or given already read as `x`.
        """
        if x is None:
            x = read_region(source, tile.regions[0])
        for k, layer in enumerate(self.layers):
            cancel.check()
            out = tile.regions[k + 1]
            if out.size == 0:
                # The tile's outputs read nothing of this layer's output (a tile of padding
                # only, added by a later layer): an empty block keeps the shapes right.
                x = np.zeros((self.shapes[k + 1][0],) + out.shape, np.float32)
            elif layer.enabled:
                x = layer.forward_region(x, tile.regions[k], out, self.shapes[k])
        return x

    # -- sizes
    def tile_bytes(self, tile: Tile) -> int:
        """Estimated peak bytes of running `tile`: at each layer the input region, the padded
        block gathered from it, and the layer's own peak on that block (core/memory.py), whose
        output is the tile's output region only."""
        from .memory import array_bytes, layer_peak_bytes

        peak = 4 * self.shapes[0][0] * tile.regions[0].size
        for k, layer in enumerate(self.layers):
            held = 4 * self.shapes[k][0] * tile.regions[k].size
            if not layer.enabled:
                peak = max(peak, held)
                continue
            block = _gathered_shape(layer, self.shapes[k], tile.regions[k], tile.regions[k + 1])
            out = array_bytes((self.shapes[k + 1][0],) + tile.regions[k + 1].shape)
            # The block holds the padding already: the layer's run on it makes the tile's
            # outputs, not the (maybe much larger) output of the block padded once more.
            own = layer_peak_bytes(layer, block) - array_bytes(layer.output_shape(block)) + out
            peak = max(peak, held + own)
        return peak + _OVERHEAD_BYTES

    def peak_tile_bytes(self) -> int:
        """Largest :meth:`tile_bytes` over the first, a middle and the last tile of each axis."""
        rows, cols = self.grid
        picks = sorted({(i, j) for i in {0, rows // 2, rows - 1} for j in {0, cols // 2, cols - 1}})
        peak = 0
        for i, j in picks:
            cancel.check()  # a large tile's regions take a while on a deep stack
            peak = max(peak, self.tile_bytes(self.tile(i, j)))
        return peak

    def halo(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Input cells an inner tile reads beyond its own footprint, ((above, below), (left,
        right)): how far neighbouring tiles' reads overlap. It is the receptive-field arithmetic
        of docs/semantics.md, ``-start`` above and ``size - jump + start`` below (at least 0);
        tiles at the image's border read less on that side (circular padding: the other
        border's cells instead). Measured on a tile with a tile on each side, in this plan or,
        when the image is under three tiles long, in the plan of a longer image."""
        (above, below), _ = self._inner(1)._halo_at(1)
        _, (left, right) = self._inner(2)._halo_at(2)
        return ((above, below), (left, right))

    def _inner(self, axis: int) -> TilePlan:
        """A plan with at least three tiles along `axis` (1: rows, 2: columns): this one, or the
        same layers and tiles on an input longer along that axis."""
        if self.grid[axis - 1] >= 3:
            return self
        shape = list(self.shapes[0])
        shape[axis] += 4 * self.tile_size[axis - 1] * self._jumps()[axis - 1]
        try:
            return plan_tiles(self.layers, shape, self.tile_size)
        except PipelineError:  # a layer's output would be over its limit: measure on this plan
            return self

    def _halo_at(self, axis: int) -> tuple[tuple[int, int], tuple[int, int]]:
        rows, cols = self.grid
        t = self.tile(rows // 2 if axis == 1 else 0, cols // 2 if axis == 2 else 0)
        (r0, r1, c0, c1), (a0, a1, b0, b1) = t.regions[0].bounds(), t.box
        jr, jc = self._jumps()
        return ((max(0, a0 * jr - r0), max(0, r1 - a1 * jr)), (max(0, b0 * jc - c0), max(0, c1 - b1 * jc)))

    def _jumps(self) -> tuple[int, int]:
        jr = jc = 1
        for layer in self.layers:
            sr, sc = layer.axis_steps()
            jr, jc = jr * sr.stride, jc * sc.stride
        return (math.ceil(jr), math.ceil(jc))


def plan_tiles(pipeline_or_layers: Any, in_shape: Sequence[int], tile: int | tuple[int, int] = DEFAULT_TILE,
               *, layer: int | None = None) -> TilePlan:
    """The tile plan of layer `layer` (default: the last; 0 = the input itself).

    Raises PipelineError if the pipeline does not fit the input (naming the layer), and
    :class:`TilingUnsupported` if a layer up to `layer` has no tiled form.
    """
    from .pipeline import Pipeline

    layers = tuple(getattr(pipeline_or_layers, "layers", pipeline_or_layers))
    n = len(layers) if layer is None else int(layer)
    if not 0 <= n <= len(layers):
        raise ValueError(f"layer must be between 0 and {len(layers)}, got {n}")
    layers = layers[:n]
    shapes = Pipeline(layers).output_shapes(in_shape, limit=False)  # tiles, not whole layers, are held
    for k, lay in enumerate(layers):
        if not tileable(lay):
            raise TilingUnsupported(f"layer {k + 1} ({lay.type}) cannot run on tiles yet; "
                                    "the whole image is computed at once")
    size = (tile, tile) if isinstance(tile, (int, np.integer)) else tuple(tile)
    if min(size) < 1:
        raise ValueError(f"the tile size must be at least 1, got {tile}")
    return TilePlan(layers, shapes, size)  # type: ignore[arg-type]


def read_region(source: Any, region: Region) -> np.ndarray:
    """``(C, rows, cols) float32``: `region` of `source`, read rectangle by rectangle.

    `source` is a ``(C, H, W)`` or ``(H, W)`` array-like (NumPy, a memory map, Zarr, a
    :mod:`convstudio.core.lazyio` image); only the cells of `region` are read.
    """
    blocks = region.blocks()
    two_d = len(source.shape) == 2

    def read(r0, r1, c0, c1):
        a = source[r0:r1, c0:c1] if two_d else source[:, r0:r1, c0:c1]
        a = np.asarray(a)
        return (a[None] if two_d else a).astype(np.float32, copy=False)

    if len(blocks) == 1:
        return np.ascontiguousarray(read(*blocks[0]))
    c = 1 if two_d else source.shape[0]
    out = np.empty((c,) + region.shape, np.float32)  # no blocks: an empty region, nothing read
    for r0, r1, c0, c1 in blocks:
        i = int(np.searchsorted(region.rows, r0))
        j = int(np.searchsorted(region.cols, c0))
        out[:, i:i + r1 - r0, j:j + c1 - c0] = read(r0, r1, c0, c1)
    return out


def run_tiled(
    pipeline_or_layers: Any,
    source: Any,
    *,
    layer: int | None = None,
    tile: int | tuple[int, int] = DEFAULT_TILE,
    out: np.ndarray | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Layer `layer`'s output of `source`, computed tile by tile into `out` (allocated if None).

    Equal to ``Pipeline.run(source)[layer - 1]`` (docs/scale.md says how exactly); only one
    tile's regions are held at a time besides `out`.
    """
    shape = tuple(source.shape) if len(source.shape) == 3 else (1,) + tuple(source.shape)
    plan = plan_tiles(pipeline_or_layers, shape, tile, layer=layer)
    if out is None:
        out = np.empty(plan.out_shape, np.float32)
    with cancel.cancellable(cancelled if cancelled is not None else cancel.current()):
        for t in plan:
            r0, r1, c0, c1 = t.box
            out[:, r0:r1, c0:c1] = plan.run_tile(t, source)
    return out


def whole_run_bytes(pipeline_or_layers: Any, in_shape: Sequence[int], *, layer: int | None = None) -> int:
    """Peak bytes of a whole-image ``apply`` (``Pipeline.peak_bytes``, core/memory.py)."""
    from .pipeline import Pipeline

    layers = tuple(getattr(pipeline_or_layers, "layers", pipeline_or_layers))
    return Pipeline(layers).peak_bytes(in_shape, upto=layer)


def choose_tile(pipeline_or_layers: Any, in_shape: Sequence[int], budget: int, *,
                layer: int | None = None, cancelled: Callable[[], bool] | None = None) -> int:
    """The largest tile side (2048, 1024, ... 16) whose tiles need at most a quarter of
    `budget` bytes, leaving room for the output's writer and the reader's caches.

    Each side is judged first by one whole tile near the middle (with the halo on every side
    that the grid allows: about the most a tile needs), and only a side that passes is checked on the edge tiles too
    (:meth:`TilePlan.peak_tile_bytes`), so a refused side costs one tile's regions. Between
    tiles the loop asks :func:`convstudio.core.cancel.check`, with `cancelled` when given
    (Ctrl+C, SIGTERM or a newer job stop it within one tile's regions).
    """
    if cancelled is not None:
        with cancel.cancellable(cancelled):
            return choose_tile(pipeline_or_layers, in_shape, budget, layer=layer)
    limit = budget // 4
    for side in _TILE_CHOICES:
        cancel.check()
        plan = plan_tiles(pipeline_or_layers, in_shape, side, layer=layer)
        rows, cols = plan.grid
        # a whole tile (the last one may be cut), and one of those peak_tile_bytes looks at
        screen = plan.tile(rows // 2 if rows >= 3 else 0, cols // 2 if cols >= 3 else 0)
        if plan.tile_bytes(screen) <= limit and plan.peak_tile_bytes() <= limit:
            return side
    return _TILE_CHOICES[-1]
