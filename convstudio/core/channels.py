"""Image or feature maps: how a layer's channels are written to files.

One rule, used by ``convstudio apply`` and by the app's File ▸ Export (README, "apply";
docs/user-guide.md, "Export"):

* A layer's output is still an **image** while every enabled layer up to it acts on each channel
  alone: conv2d in the ``kernel`` form, pooling, pad, stride, the activations (and upsampling).
  An image keeps the usual layout: C = 1 one gray file, C = 3 one RGB file, C = 4 one RGBA file,
  any other C one gray file per channel.
* After any enabled conv2d in the ``weight`` form (it may mix channels or change their count) the
  channels are **feature maps**: one gray file per channel, ``NAME_c00.png``, ``NAME_c01.png``, ...
  (a single map is the one gray file ``NAME.png``). Unless a normalisation is asked for, feature
  maps holding negative values are written with ``signed`` (0 is mid-grey); everything else with
  ``clip``.

``channels="split"`` writes one file per channel for images too. ``.npy`` files always hold the
whole ``(C, H, W)`` array. Several channel files are written all or nothing, with one mapping to
8/16 bits for all of them, so that the channels stay comparable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import PipelineError
from .layers import Layer

__all__ = [
    "CHANNEL_MODES",
    "PER_CHANNEL_LAYER_TYPES",
    "auto_normalize",
    "output_is_image",
    "output_paths",
    "save_output",
    "split_channels",
]

#: ``auto``: images as one file, feature maps one file per channel; ``split``: always per channel.
CHANNEL_MODES = ("auto", "split")

#: Layer types that act on each channel on its own (besides conv2d in the ``kernel`` form).
PER_CHANNEL_LAYER_TYPES = frozenset({
    "maxpool2d", "avgpool2d", "pad", "stride", "upsample",
    "relu", "leaky_relu", "abs", "sigmoid", "tanh",
})


def _layers(pipeline) -> Sequence[Layer]:
    return pipeline.layers if hasattr(pipeline, "layers") else tuple(pipeline)


def output_is_image(pipeline, layer_index: int) -> bool:
    """True when the output of layer `layer_index` (0 = the input) is still an image: every
    enabled layer up to it acts on each channel alone (conv2d with a ``kernel``, pooling, pad,
    stride, activations). False once a conv2d with a ``weight`` (or any layer that may mix
    channels) came before it or is it: its channels are feature maps.

    `pipeline` is a :class:`~convstudio.core.Pipeline` or a sequence of layers.
    """
    layers = _layers(pipeline)
    if not 0 <= layer_index <= len(layers):
        raise PipelineError(f"there is no layer {layer_index}: the pipeline has {len(layers)} "
                            "layers (0 is the input)")
    for layer in layers[:layer_index]:
        if not layer.enabled:
            continue  # passes its input through
        if layer.type == "conv2d" and getattr(layer, "weight", None) is None:
            continue  # the kernel form: one kernel for each channel on its own
        if layer.type not in PER_CHANNEL_LAYER_TYPES:
            return False
    return True


def split_channels(pipeline, layer_index: int, channels: str = "auto") -> bool:
    """Whether layer `layer_index`'s output is written one file per channel: always for
    ``channels="split"``; for ``"auto"`` when it holds feature maps (see :func:`output_is_image`)."""
    if channels not in CHANNEL_MODES:
        raise ValueError(f"channels must be one of {', '.join(CHANNEL_MODES)}, got {channels!r}")
    return channels == "split" or not output_is_image(pipeline, layer_index)


def auto_normalize(pipeline, layer_index: int, y: np.ndarray) -> str:
    """The normalisation used when none is asked for: ``signed`` for feature maps that hold a
    negative value, ``clip`` otherwise (images, and feature maps that are all >= 0)."""
    if output_is_image(pipeline, layer_index):
        return "clip"
    return "signed" if bool(np.any(np.asarray(y) < 0)) else "clip"


def output_paths(path: str | os.PathLike, channels: int, *, split: bool) -> list[Path]:
    """The files :func:`save_output` writes for a ``channels``-channel array at `path`."""
    from .imageio import _channel_paths

    target = Path(os.fspath(path))
    if target.suffix.lower() == ".npy" or channels == 1 or (channels in (3, 4) and not split):
        return [target]
    return _channel_paths(target, channels)


def save_output(path: str | os.PathLike, y: np.ndarray, *, split: bool,
                normalize: str = "clip", depth: int = 8) -> list[Path]:
    """Write `y` (``(C, H, W)`` or ``(H, W)``) like :func:`~convstudio.core.save_image`, but one
    gray file per channel when `split` (see :func:`output_paths` for the names).

    Returns the files written.
    """
    from . import imageio

    a = np.asarray(y)
    ext = Path(os.fspath(path)).suffix.lower()
    if not split or ext == ".npy" or a.ndim != 3 or a.shape[0] not in (3, 4):
        # save_image itself writes C = 1 as one gray file and C = 2, 5, ... one file per channel
        return imageio.save_image(path, a, normalize=normalize, depth=depth)

    # 3 or 4 channels that save_image would combine into one RGB(A) file: one gray file each,
    # with the same checks, the same single mapping for all channels, written all or nothing.
    name = imageio._display_name(path)
    target = Path(name)
    if ext not in imageio.SUPPORTED_WRITE_EXTENSIONS:
        raise imageio.ImageIOError(
            f"cannot write '{name}': unsupported extension '{target.suffix}' "
            f"(supported: {', '.join(imageio.SUPPORTED_WRITE_EXTENSIONS)})")
    if normalize not in imageio.NORMALIZE_MODES:
        raise ValueError(f"unknown normalize mode {normalize!r}; expected one of "
                         f"{', '.join(map(repr, imageio.NORMALIZE_MODES))}")
    if isinstance(depth, bool) or depth not in (8, 16):
        raise ValueError(f"depth must be 8 or 16, got {depth!r}")
    chw = imageio._as_chw(a, name)
    paths = output_paths(target, chw.shape[0], split=True)
    files: list[tuple[Path, bytes]] = []
    try:
        if ext in (".tif", ".tiff"):
            data = np.asarray(chw, dtype=np.float32)
            for c, p in enumerate(paths):
                files.append((p, imageio._encode(".tiff", np.ascontiguousarray(data[c]), str(p))))
        else:
            if depth == 16 and ext != ".png":
                raise imageio.ImageIOError(
                    f"cannot write '{name}': {ext.lstrip('.').upper()} holds only 8-bit samples; "
                    "use depth=8, or .png or .tif")
            unit = imageio.normalize_for_display(chw, normalize)
            maxval, dtype = (65535.0, np.uint16) if depth == 16 else (255.0, np.uint8)
            unit *= np.float32(maxval)
            samples = np.rint(unit).astype(dtype)
            del unit
            for c, p in enumerate(paths):
                files.append((p, imageio._encode(ext, np.ascontiguousarray(samples[c]), str(p))))
    except MemoryError:
        raise imageio.ImageIOError(f"cannot write '{name}': not enough memory to encode it") from None
    imageio._atomic_write_many(files)
    return [p for p, _ in files]
