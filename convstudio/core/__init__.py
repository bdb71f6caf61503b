"""ConvStudio's engine: NumPy only (OpenCV for image files and the cross-check), never Qt.

The public API::

    from convstudio.core import Pipeline, load_image, save_image

    p = Pipeline.load("edges.json")
    outputs = p.run(load_image("photo.png"))   # one (C, H, W) float32 array per layer
    save_image("edges.png", outputs[-1], normalize="signed")
"""

from .errors import ConvStudioError, ImageIOError, MemoryBudgetExceeded, PipelineError
from .layers import (
    LAYER_TYPES,
    Abs,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Layer,
    LeakyReLU,
    MaxPool2d,
    Pad,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
    Upsample,
    layer_from_dict,
)
from .pipeline import (
    IncrementalRunner,
    LayerInfo,
    LayerRun,
    Pipeline,
    ReceptiveField,
    RunCancelled,
    as_chw,
    first_changed_layer,
    run_layers,
)

_LAZY = {"load_image", "save_image", "normalize_for_display"}


def __getattr__(name: str):
    # Image I/O pulls in OpenCV; load it on first use so that pipeline arithmetic stays light.
    if name in _LAZY:
        from . import imageio

        return getattr(imageio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConvStudioError",
    "ImageIOError",
    "PipelineError",
    "MemoryBudgetExceeded",
    "load_image",
    "save_image",
    "normalize_for_display",
    "LAYER_TYPES",
    "Layer",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Pad",
    "Stride",
    "ReLU",
    "LeakyReLU",
    "Abs",
    "Sigmoid",
    "Tanh",
    "ConvTranspose2d",
    "Upsample",
    "layer_from_dict",
    "Pipeline",
    "IncrementalRunner",
    "LayerInfo",
    "ReceptiveField",
    "RunCancelled",
    "LayerRun",
    "run_layers",
    "as_chw",
    "first_changed_layer",
]
