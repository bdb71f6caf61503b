"""Edit ▸ Copy as PyTorch / Copy as NumPy/OpenCV: the pipeline as code, on the clipboard.

The code comes from :mod:`convstudio.core.codegen`: an ``nn.Sequential`` with the weights embedded
that reproduces the pipeline (padding modes and asymmetric padding included), or a standalone
NumPy + OpenCV script. The number of input channels is the current image's (the kernel form of a
conv layer adapts to it); without an image, what the first layer that fixes it expects.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from convstudio.core import Conv2d, Pipeline
from convstudio.core.codegen import to_numpy_opencv, to_pytorch

__all__ = ["KINDS", "code_for", "copy_code", "default_in_channels"]

KINDS = {
    "pytorch": ("PyTorch", to_pytorch),
    "numpy": ("NumPy/OpenCV", to_numpy_opencv),
}


def default_in_channels(pipeline: Pipeline, image_shape=None) -> int:
    """The image's channels, else what the first conv with a full weight expects, else 3."""
    if image_shape is not None:
        return int(image_shape[0])
    for layer in pipeline.layers:
        if isinstance(layer, Conv2d) and layer.enabled and layer.weight is not None:
            return int(layer.weight.shape[1] * layer.groups)
    return 3


def code_for(kind: str, pipeline: Pipeline, in_channels: int) -> str:
    """Source text; PipelineError / ValueError when the channels do not chain."""
    _, fn = KINDS[kind]
    return fn(pipeline, in_channels=in_channels)


def copy_code(kind: str, pipeline: Pipeline, in_channels: int) -> str:
    """Put the code on the clipboard and return it."""
    text = code_for(kind, pipeline, in_channels)
    QGuiApplication.clipboard().setText(text)
    return text
