"""Writing a layer's feature maps to files: the one function behind File ▸ Export.

No Qt here. It computes the layer exactly as ``Pipeline.run`` does (``layer.forward`` layer by
layer, cancellable between layers) and writes with the core's ``save_output`` (``save_image``
plus the image / feature-map rule of :mod:`convstudio.core.channels`), so an export from the app
and ``convstudio apply PIPELINE IMAGE -o OUT --layer N [--normalize MODE] --depth D
--channels auto|split`` write the same bytes. Always full resolution: the app's preview scale
never reaches this function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from convstudio.core import Pipeline, PipelineError, as_chw, run_layers

__all__ = ["export_layer", "EXPORT_FORMATS"]

#: Extensions offered by the export dialog, with their names.
EXPORT_FORMATS = {
    ".png": "PNG image (8 or 16 bit)",
    ".tif": "TIFF (float32 values as they are)",
    ".npy": "NumPy array (float32, exact)",
}


def export_layer(
    pipeline: Pipeline,
    image: np.ndarray,
    layer_index: int,
    path: str | os.PathLike,
    *,
    normalize: str | None = None,
    depth: int = 8,
    channel: int | None = None,
    channels: str = "auto",
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    outputs: list[np.ndarray] | None = None,
) -> list[Path]:
    """Compute layer `layer_index` (0 = the input) of `pipeline` on `image` at full resolution
    and write it with :func:`convstudio.core.save_image`.

    Parameters
    ----------
    pipeline, image
        The pipeline and the full-resolution ``(C, H, W)`` input.
    layer_index : int
        0 writes the input itself; 1 ... len(pipeline) a layer's output.
    path
        Target file; its extension picks the format (see ``save_image``).
    normalize, depth
        As ``save_image`` (ignored for .npy and TIFF). ``normalize=None`` picks it as
        ``convstudio apply`` does without ``--normalize``: ``signed`` for feature maps holding
        negative values, else ``clip`` (:func:`convstudio.core.channels.auto_normalize`).
    channel : int, optional
        Write only this channel (a gray image) instead of all of them.
    channels : {"auto", "split"}
        ``"auto"``: an image stays one gray / RGB / RGBA file, feature maps (after a conv with a
        ``weight``) are one gray file per channel; ``"split"``: always one file per channel
        (see :func:`convstudio.core.channels.output_is_image`).
    cancelled : callable, optional
        Polled between layers and inside long ones; RunCancelled is raised and nothing is
        written.
    progress : callable, optional
        ``progress(done, total)`` after each layer computed.
    outputs : list of arrays, optional
        Full-resolution outputs already computed for exactly this pipeline and image.

    Returns
    -------
    list of Path
        The files written (several for feature maps, and for images with other than 1, 3 or
        4 channels).
    """
    from convstudio.core.channels import auto_normalize, save_output, split_channels

    if not 0 <= layer_index <= len(pipeline):
        raise PipelineError(f"there is no layer {layer_index}: the pipeline has "
                            f"{len(pipeline)} layers (0 is the input)")
    split = split_channels(pipeline, layer_index, channels)  # before the work: a bad mode fails fast
    if layer_index == 0:
        y = as_chw(image)
    elif outputs is not None and len(outputs) >= layer_index:
        y = outputs[layer_index - 1]
    else:
        # Only the layers up to the one exported must fit (a misfit further down does not
        # matter here). The core's own layer loop: the bytes must be the command line's.
        head = Pipeline(pipeline.layers[:layer_index])
        x = as_chw(image)
        head.output_shapes(x.shape)  # fail fast, naming the layer
        y = x
        for step in run_layers(head.layers, x, cancelled=cancelled):
            y = step.output
            if progress is not None:
                progress(step.index, layer_index)
    if channel is not None:
        if not 0 <= channel < y.shape[0]:
            raise PipelineError(f"channel {channel} does not exist: layer {layer_index} has "
                                f"{y.shape[0]} channels")
        y = y[channel:channel + 1]
    if normalize is None:
        normalize = auto_normalize(pipeline, layer_index, y)
    return save_output(path, y, split=split, normalize=normalize, depth=depth)
