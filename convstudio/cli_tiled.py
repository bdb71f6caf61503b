"""`convstudio apply` in tiles: ``--tile N``, ``--dask ADDRESS|local``, and the automatic tiled run
of an image whose whole run would not fit the memory budget (docs/scale.md, docs/cli.md).

The output tiles of the chosen layer are computed one by one (locally or on a Dask cluster) from
the input regions they need, read from the file region by region (core/lazyio.py), and written
tile by tile (.npy, .tif/.tiff, .zarr: core/tilesinks.py) or assembled and written whole (image
formats, which normalise over the whole output).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .core import cancel
from .core.lazyio import LazyImage, open_image
from .core.tilesinks import TILED_EXTENSIONS, open_sink
from .core.tiling import TilePlan, TilingUnsupported, choose_tile, plan_tiles

_LAZY_SUFFIXES = (".tif", ".tiff", ".npy", ".zarr")

__all__ = ["TiledOptions", "output_channels", "connect", "plan_for", "apply_file", "apply_batch_on_dask"]


@dataclass(frozen=True)
class TiledOptions:
    """What `apply` asked for, as the tiled run needs it (picklable: Dask workers get it)."""

    layer: int
    split: bool
    normalize: str
    depth: int
    keep_alpha: bool
    tile: int | None  # --tile N; None: chosen from the budget when the whole run does not fit
    budget: int
    progress: bool = False


def connect(address: str, **local: Any) -> Any:
    """A ``dask.distributed`` client: "local" starts a LocalCluster of worker processes on this
    machine (`local`: its options, e.g. ``n_workers``), owned by the client: closing the client
    stops it."""
    try:
        from distributed import Client
    except ImportError:
        from .core.errors import ConvStudioError

        raise ConvStudioError('--dask needs Dask: pip install "convstudio[scale]"') from None
    import logging

    # Dask's own log lines (a worker's heartbeat cut short at shutdown, a slow event loop) would
    # reach the terminal beside the one line the command line promises; what matters reaches the
    # user as that line. The local workers get the same level (silence_logs).
    logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
    if address == "local":
        local.setdefault("silence_logs", logging.CRITICAL + 1)
        return Client(processes=True, dashboard_address=":0", **local)
    return Client(address)


def plan_for(pipeline, image: LazyImage, target: Path, opts: TiledOptions,
             note: Callable[[str], None]) -> TilePlan | None:
    """The tile plan for this input, or None when the whole image is run at once (no --tile and
    it fits the budget, or a layer without a tiled form)."""
    shape = image.shape
    tile = opts.tile
    if tile is None:
        from .core.imageio import DEFAULT_MAX_PIXELS

        fits = shape[1] * shape[2] <= DEFAULT_MAX_PIXELS
        if fits and pipeline.peak_bytes(shape, upto=opts.layer) <= opts.budget:
            return None  # the whole run, as before
        try:
            tile = choose_tile(pipeline, shape, opts.budget, layer=opts.layer)  # polls cancel.check()
        except TilingUnsupported as exc:
            note(f"{image.name}: {exc}")
            return None
    if target.suffix.lower() in (".tif", ".tiff"):
        tile = -(-tile // 16) * 16  # TIFF tiles are multiples of 16
    try:
        return plan_tiles(pipeline, shape, tile, layer=opts.layer)
    except TilingUnsupported as exc:
        note(f"{image.name}: {exc}")
        return None


class _TileProgress:
    def __init__(self, total: int, name: str, enabled: bool):
        self.total, self.name, self.done = total, name, 0
        self.enabled = enabled and total > 1 and sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            end = "\n" if self.done == self.total else ""
            sys.stderr.write(f"\r{self.name[:40]}: tile {self.done}/{self.total}{end}")
            sys.stderr.flush()


def output_channels(pipeline, layer: int, source: str | Path, keep_alpha: bool) -> int:
    """Channels of layer `layer`'s output for this input, from its header."""
    shape = open_image(source, keep_alpha=keep_alpha).shape
    return pipeline.output_shapes(shape, limit=False)[layer][0]  # the size limit is the run's to apply


def apply_file(pipeline, source: str | Path, target: Path, opts: TiledOptions, *,
               client: Any = None, claim: Callable[[int], None] = lambda c: None,
               note: Callable[[str], None] = print,
               cancelled: Callable[[], bool] | None = None) -> bool | np.ndarray:
    """Run one input to `target` in tiles when asked or needed: True when written. Otherwise the
    caller runs it whole, as before: with the image when it was loaded here, else False.
    `claim(channels)` is called before anything is computed."""
    wanted = opts.tile is not None or client is not None or target.suffix.lower() == ".zarr"
    if not wanted and Path(source).suffix.lower() not in _LAZY_SUFFIXES and not Path(source).is_dir():
        # read whole anyway: the whole run's own memory check decides
        return False
    image = open_image(source, keep_alpha=opts.keep_alpha)
    # Ctrl+C / SIGTERM (or another job's failure) stop the planning and the tile loop between tiles
    with image, cancel.cancellable(cancelled) if cancelled is not None else nullcontext():
        plan = plan_for(pipeline, image, target, opts, note)
        if plan is None:
            # read whole: the pixels when they were loaded here, else load_image, with its checks
            return False if image.lazy else image.array
        claim(plan.out_shape[0])
        _write_tiles(plan, image, target, opts, client, cancelled)
    return True


def _write_tiles(plan: TilePlan, image: LazyImage, target: Path, opts: TiledOptions, client: Any,
                 cancelled: Callable[[], bool] | None) -> None:
    """Compute the tiles of `plan` (here or on the cluster) and write them to `target`."""
    from .core.channels import save_output

    if client is not None:
        from .core.tiledask import run_plan_on_client

        tiles = run_plan_on_client(client, plan, image, cancelled=cancelled)
    else:
        tiles = ((t, plan.run_tile(t, image)) for t in plan)
    progress = _TileProgress(len(plan), image.name, opts.progress)
    ext = target.suffix.lower()
    if ext in TILED_EXTENSIONS:
        sink = open_sink(target, plan.out_shape, plan.tile_size, split=opts.split)
        try:
            for t, block in tiles:
                sink.write(t.box, block)
                progress.step()
            sink.commit()
        except BaseException:
            sink.abort()
            raise
        return
    out = np.empty(plan.out_shape, np.float32)  # image formats normalise over the whole output
    for t, block in tiles:
        r0, r1, c0, c1 = t.box
        out[:, r0:r1, c0:c1] = block
        progress.step()
    save_output(target, out, split=opts.split, normalize=opts.normalize, depth=opts.depth)


def _apply_on_worker(pipeline, source: str, target: str, opts: TiledOptions) -> tuple[bool, list[str]]:
    """One file of a batch on a Dask worker: success, and the lines to print."""
    from .core import ConvStudioError, load_image
    from .core.channels import save_output

    notes: list[str] = []
    try:
        done = apply_file(pipeline, source, Path(target), opts, note=notes.append)
        if done is not True:
            x = done if done is not False else load_image(source, keep_alpha=opts.keep_alpha)
            y = x if opts.layer == 0 else pipeline.run(x, upto=opts.layer)[opts.layer - 1]
            save_output(target, y, split=opts.split, normalize=opts.normalize, depth=opts.depth)
    except (ConvStudioError, OSError, MemoryError) as exc:
        text = " ".join(str(exc).split()) or "not enough memory"
        return False, notes + [text if source in text else f"{source}: {text}"]
    return True, notes


def apply_batch_on_dask(client: Any, pipeline, jobs: list[tuple[Path, Path]], opts: TiledOptions,
                        note: Callable[[str], None]) -> list[bool]:
    """The files of a batch, one task each, on the cluster's workers (which must see the files)."""
    # The pipeline goes to every worker once, not once per file (its weights may be megabytes).
    shared = client.scatter(pipeline, broadcast=True)
    futures = [client.submit(_apply_on_worker, shared, str(src), str(dst), opts, pure=False)
               for src, dst in jobs]
    results = []
    for fut in futures:
        ok, lines = fut.result()
        for line in lines:
            note(line)
        results.append(ok)
    return results
