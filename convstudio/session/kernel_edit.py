"""Which array of a layer the kernel editor shows, and the layer an edited array makes.

No Qt: the main window asks :func:`editable_weights` what to put in the editor and hands an
edited array to :func:`with_weights`. One entry of :data:`EDITABLE_WEIGHTS` per layer type with
weights a user edits cell by cell (docs/developing.md, "Adding a layer type"); a type without
one shows no kernel in the editor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from convstudio.core import Conv2d, Layer, PipelineError

__all__ = ["EDITABLE_WEIGHTS", "EditableWeights", "editable_weights", "with_weights"]


@dataclass(frozen=True)
class EditableWeights:
    """How the kernel editor reads and writes one layer type's weights.

    ``get(layer)`` is the array shown (2-D or 4-D float32); ``replace(layer, w)`` the layer with
    `w` in its place, raising :class:`~convstudio.core.PipelineError` when `w` does not fit.
    """

    get: Callable[[Any], np.ndarray]
    replace: Callable[[Any, np.ndarray], Layer]


def _conv_weights(layer: Conv2d) -> np.ndarray:
    return layer.kernel if layer.kernel is not None else layer.weight


def _conv_with(layer: Conv2d, w: np.ndarray) -> Conv2d:
    # The layer's __post_init__ validates the rest (docs/pipeline-format.md).
    if layer.kernel is not None:
        if w.ndim != 2:
            raise PipelineError("the per-channel form needs a 2-D kernel", key="kernel")
        return dataclasses.replace(layer, kernel=w)
    if w.ndim != 4:
        raise PipelineError("the weight form needs a 4-D weight", key="weight")
    return dataclasses.replace(layer, weight=w)


#: Layer type -> how its weights are edited.
EDITABLE_WEIGHTS: dict[str, EditableWeights] = {
    "conv2d": EditableWeights(_conv_weights, _conv_with),
}


def editable_weights(layer: Layer | None) -> np.ndarray | None:
    """The array the kernel editor shows for `layer`; None for no layer or a type without weights."""
    access = None if layer is None else EDITABLE_WEIGHTS.get(layer.type)
    return None if access is None else access.get(layer)


def with_weights(layer: Layer, w: np.ndarray) -> Layer:
    """`layer` with its editable weights replaced by `w` (float32).

    Raises
    ------
    PipelineError
        `w` has the wrong number of axes for the layer's form, the layer refuses it, or the
        layer's type has no editable weights.
    """
    access = EDITABLE_WEIGHTS.get(layer.type)
    if access is None:
        raise PipelineError(f"a {layer.type} layer has no weights to edit")
    return access.replace(layer, np.asarray(w, np.float32))
