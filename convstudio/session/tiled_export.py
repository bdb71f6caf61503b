"""File ▸ Export of an image too large to load whole: the layer computed tile by tile at full
resolution from the file, written tile by tile (docs/scale.md, "In the app").

No Qt here. The steps are those of ``convstudio apply IMAGE -o OUT --layer N [--tile T]`` on one
input (``cli_tiled.py``): the tile side is ``--tile`` when given, else the largest whose tiles fit
a quarter of the memory budget (:func:`convstudio.core.tiling.choose_tile`), rounded up to a
multiple of 16 for TIFF; the plan (:func:`~convstudio.core.tiling.plan_tiles`) reads each tile's
input region from the lazy image and runs every layer on it; a sink
(:func:`~convstudio.core.tilesinks.open_sink`) writes the tiles into temporaries renamed at the
end. So the files are the command line's, bit for bit, and a cancelled or failed export leaves
no file.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from convstudio.core import Pipeline, PipelineError, cancel
from convstudio.core.errors import ConvStudioError
from convstudio.core.tilesinks import TILED_EXTENSIONS
from convstudio.session import compute
from convstudio.session.preview import TiledSource

__all__ = ["export_tiled", "tiled_export_formats", "TiledSource"]


def tiled_export_formats() -> dict[str, str]:
    """Extensions written tile by tile, with their names (Zarr when the ``scale`` extra is there)."""
    formats = {
        ".tif": "Tiled BigTIFF (float32 values as they are, zlib)",
        ".npy": "NumPy array (float32, exact)",
    }
    if importlib.util.find_spec("zarr") is not None:
        formats[".zarr"] = "Zarr array (C, H, W), chunked by tile"
    return formats


def export_tiled(
    pipeline: Pipeline,
    source: TiledSource,
    layer_index: int,
    path: str | os.PathLike,
    *,
    channel: int | None = None,
    channels: str = "auto",
    tile: int | None = None,
    budget: int | None = None,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write layer `layer_index` (0 = the input) of `pipeline` on the image file of `source`,
    computed and written tile by tile; the files written.

    `channel` writes that channel only; `channels` is ``"auto"`` or ``"split"`` as ``apply
    --channels`` (one TIFF per channel for feature maps). `tile`: the output tile side (default:
    chosen from `budget`, by default :func:`~convstudio.session.compute.memory_budget`).
    `progress(tiles_done, tiles_total)` after each tile; `cancelled()` is polled between tiles and
    inside long layers (RunCancelled, and nothing is written).
    """
    from convstudio.core.channels import output_paths, split_channels
    from convstudio.core.lazyio import open_image
    from convstudio.core.safeio import check_not_input
    from convstudio.core.tilesinks import open_sink
    from convstudio.core.tiling import TilingUnsupported, choose_tile, plan_tiles

    target = Path(os.fspath(path))
    ext = target.suffix.lower()
    if ext not in TILED_EXTENSIONS:
        raise ConvStudioError(f"cannot write '{target.name}': an image this large is exported tile by tile, "
                              f"as {', '.join(tiled_export_formats())}")
    if not 0 <= layer_index <= len(pipeline):
        raise PipelineError(f"there is no layer {layer_index}: the pipeline has {len(pipeline)} layers "
                            "(0 is the input)")
    split = split_channels(pipeline, layer_index, channels)
    with open_image(source.path, keep_alpha=source.keep_alpha) as image:
        try:
            if tile is None:
                tile = choose_tile(pipeline, image.shape, compute.memory_budget() if budget is None else budget,
                                   layer=layer_index)
            if ext in (".tif", ".tiff"):
                tile = -(-tile // 16) * 16  # TIFF tiles are multiples of 16
            plan = plan_tiles(pipeline, image.shape, tile, layer=layer_index)
        except TilingUnsupported as exc:
            what = str(exc).split(";")[0]  # "layer k (type) cannot run on tiles yet"
            raise ConvStudioError(f"{what}: this image is too large to compute whole") from None
        shape = plan.out_shape
        if channel is not None:
            if not 0 <= channel < shape[0]:
                raise PipelineError(f"channel {channel} does not exist: layer {layer_index} has {shape[0]} channels")
            shape = (1,) + tuple(shape[1:])
        for out in output_paths(target, shape[0], split=split):
            check_not_input(out, [source.path])
        sink = open_sink(target, shape, plan.tile_size, split=split)
        try:
            with cancel.cancellable(cancelled if cancelled is not None else cancel.current()):
                for done, t in enumerate(plan, 1):
                    cancel.check()
                    block = plan.run_tile(t, image)
                    sink.write(t.box, block if channel is None else block[channel:channel + 1])
                    if progress is not None:
                        progress(done, len(plan))
            return sink.commit()
        except BaseException:
            sink.abort()
            raise
