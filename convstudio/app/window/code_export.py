"""Edit ▸ Copy as PyTorch / Copy as NumPy/OpenCV: the pipeline as code, on the clipboard.

The code comes from :mod:`convstudio.core.codegen`: an ``nn.Sequential`` with the weights embedded
that reproduces the pipeline (padding modes and asymmetric padding included), or a standalone
NumPy + OpenCV script. The number of input channels is the current image's (the kernel form of a
conv layer adapts to it); without an image, what the first layer that fixes it expects.

The window makes the text on a worker thread (:func:`generate`, from
``InsightController.copy_code`` in ``window/insight_actions.py``) and puts it on the clipboard
when it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convstudio.core import Conv2d, ConvStudioError, Pipeline
from convstudio.core.codegen import to_numpy_opencv, to_pytorch

__all__ = ["INPUT_CHANNELS", "KINDS", "code_for", "default_in_channels", "generate"]

KINDS = {
    "pytorch": ("PyTorch", to_pytorch),
    "numpy": ("NumPy/OpenCV", to_numpy_opencv),
}


def _conv_input_channels(layer: Conv2d) -> int | None:
    return None if layer.weight is None else int(layer.weight.shape[1] * layer.groups)


#: The number of input channels a layer type fixes (None: it takes any); types not listed take any.
INPUT_CHANNELS: dict[str, Callable[[Any], int | None]] = {
    "conv2d": _conv_input_channels,
    "conv_transpose2d": lambda layer: int(layer.weight.shape[0]),  # [in][out/groups][kh][kw]
}


def default_in_channels(pipeline: Pipeline, image_shape=None) -> int:
    """The image's channels, else what the first enabled layer that fixes them expects, else 3."""
    if image_shape is not None:
        return int(image_shape[0])
    for layer in pipeline.layers:
        fixes = INPUT_CHANNELS.get(layer.type)
        c = fixes(layer) if fixes is not None and layer.enabled else None
        if c is not None:
            return c
    return 3


def code_for(kind: str, pipeline: Pipeline, in_channels: int) -> str:
    """Source text; PipelineError / ValueError when the channels do not chain."""
    _, fn = KINDS[kind]
    return fn(pipeline, in_channels=in_channels)


def generate(kind: str, pipeline: Pipeline, in_channels: int) -> str:
    """:func:`code_for` as a worker's job: a bare ValueError becomes a ConvStudioError with the
    same text, so that the worker reports it as it is (a PipelineError already is one)."""
    try:
        return code_for(kind, pipeline, in_channels)
    except ValueError as exc:
        if isinstance(exc, ConvStudioError):
            raise
        raise ConvStudioError(str(exc)) from None

