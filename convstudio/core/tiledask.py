"""Tiled runs on Dask: ``Pipeline.to_dask`` and the tile loop of ``apply --dask`` (docs/scale.md).

One task per output tile of the plan of :mod:`convstudio.core.tiling`: it receives the input
rectangles its region needs, runs the layers on the tile and returns the tile, so the result is
the same as a local tiled run and as a whole-image run. Needs the ``scale`` extra.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .errors import ConvStudioError
from .tiling import DEFAULT_TILE, Tile, TilePlan, TilingUnsupported, plan_tiles

__all__ = ["to_dask", "TilingFallbackWarning", "require_dask", "run_plan_on_client"]


class TilingFallbackWarning(UserWarning):
    """A layer cannot be tiled: the Dask array has one chunk, computed by a whole-image run."""


def require_dask(what: str = "Dask") -> Any:
    """Import dask.array, or raise a one-line ConvStudioError naming the extra to install."""
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ConvStudioError(f"{what} needs Dask: pip install \"convstudio[scale]\"") from None
    return dask, da


def _layer_count(n_layers: int, layer: int) -> int:
    n = n_layers + 1 + layer if layer < 0 else layer
    if not 0 <= n <= n_layers:
        raise ValueError(f"layer must be between {-n_layers - 1} and {n_layers}, got {layer}")
    return n


def _assemble(plan: TilePlan, tile: Tile, *blocks: np.ndarray) -> np.ndarray:
    """Run one tile from the input rectangles of its region (in ``Region.blocks`` order)."""
    region = tile.regions[0]
    if len(blocks) == 1:
        x = np.asarray(blocks[0], dtype=np.float32)
    else:
        x = np.empty((plan.in_shape[0],) + region.shape, np.float32)
        for (r0, r1, c0, c1), b in zip(region.blocks(), blocks):
            i, j = int(np.searchsorted(region.rows, r0)), int(np.searchsorted(region.cols, c0))
            x[:, i:i + r1 - r0, j:j + c1 - c0] = b
    return plan.run_tile(tile, x=np.ascontiguousarray(x))


def _whole(pipeline, n: int, x: np.ndarray) -> np.ndarray:
    y = np.asarray(x, dtype=np.float32)
    return y if n == 0 else pipeline.run(y, upto=n)[n - 1]


def to_dask(pipeline, array: Any, *, layer: int = -1, tile: int | tuple[int, int] = DEFAULT_TILE):
    """A lazy ``dask.array`` of layer `layer`'s output (-1: the last; 0: the input), one chunk per
    output tile. `array` is a NumPy, Dask or Zarr array (or a lazy image) of shape (C, H, W) or
    (H, W); it is read region by region as the chunks are computed.

    A pipeline with a layer that has no tiled form gives a one-chunk array computed by a
    whole-image run, with a :class:`TilingFallbackWarning`.
    """
    dask, da = require_dask("Pipeline.to_dask")
    n = _layer_count(len(pipeline), layer)
    x = array if isinstance(array, da.Array) else da.from_array(array, chunks=_input_chunks(array.shape),
                                                                 asarray=False, fancy=False)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"the input must be (H, W) or (C, H, W), got shape {x.shape}")
    shape = tuple(int(s) for s in x.shape)
    try:
        plan = plan_tiles(pipeline, shape, tile, layer=n)
    except TilingUnsupported as exc:
        warnings.warn(str(exc), TilingFallbackWarning, stacklevel=2)
        out_shape = pipeline.output_shapes(shape)[n]
        task = dask.delayed(_whole, pure=True)(pipeline, n, x)
        return da.from_delayed(task, shape=out_shape, dtype=np.float32)
    plan_key = dask.delayed(plan, pure=True)
    run = dask.delayed(_assemble, pure=True)
    rows, cols = plan.grid
    c_out = plan.out_shape[0]
    grid = []
    for i in range(rows):
        line = []
        for j in range(cols):
            t = plan.tile(i, j)
            blocks = [x[:, r0:r1, c0:c1] for r0, r1, c0, c1 in t.regions[0].blocks()]
            r0, r1, c0, c1 = t.box
            line.append(da.from_delayed(run(plan_key, t, *blocks), shape=(c_out, r1 - r0, c1 - c0),
                                        dtype=np.float32))
        grid.append(line)
    return da.block(grid)


def _input_chunks(shape) -> tuple:
    side = 1024
    return tuple(min(s, side) if k >= len(shape) - 2 else s for k, s in enumerate(shape))


def _run_on_worker(plan: TilePlan, tile: Tile, source: Any) -> np.ndarray:
    return plan.run_tile(tile, source)


def run_plan_on_client(client: Any, plan: TilePlan, source: Any, *, in_flight: int = 0,
                       cancelled: Callable[[], bool] | None = None) -> Iterator[tuple[Tile, np.ndarray]]:
    """The tiles of `plan`, computed on a ``dask.distributed`` client's workers, in row-major order.

    Every worker reads its tiles' input regions from `source` itself (a lazy image pickles as its
    path: the workers must see the same file), at most `in_flight` tiles (default: two per worker
    thread) are outstanding, and the tiles come back in order for a writer on this machine.
    """
    if in_flight <= 0:
        in_flight = 2 * max(1, sum(client.nthreads().values()))
    plan_f = client.scatter(plan, broadcast=True)
    source_f = client.scatter(source, broadcast=True) if not isinstance(source, np.ndarray) else source
    tiles = iter(plan)
    pending: deque = deque()
    try:
        for t in tiles:
            pending.append((t, client.submit(_run_on_worker, plan_f, t, source_f, pure=False)))
            if len(pending) >= in_flight:
                tile, fut = pending.popleft()
                yield tile, fut.result()
            if cancelled is not None and cancelled():
                return
        while pending:
            tile, fut = pending.popleft()
            yield tile, fut.result()
    finally:
        for _, fut in pending:
            fut.cancel()
