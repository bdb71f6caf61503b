"""The base class of every layer type: identity by value, JSON, shape and receptive-field
arithmetic and the checked forward pass. Subclasses live in :mod:`convstudio.core.layers` and
:mod:`convstudio.core.pooling`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import PipelineError
from .layerspec import (
    AxisStep,
    Shape,
    _array_key,
    _bool,
    _check_keys,
    _check_output,
    _describe,
    _padding,
    _pair,
)

__all__ = ["Layer"]


@dataclass(frozen=True, eq=False)
class Layer:
    """Base class. Subclasses set `type` and implement the hooks below."""

    type: ClassVar[str] = ""
    _keys: ClassVar[frozenset[str]] = frozenset()

    enabled: bool = field(default=True, kw_only=True)
    name: str | None = field(default=None, kw_only=True)

    # Sizes given as an int or a pair (field -> allowed range), normalised to pairs on construction
    # so that layers built in Python are held to the same rules as layers read from JSON.
    _pairs: ClassVar[dict[str, tuple[int, int]]] = {}

    def __post_init__(self) -> None:
        for name, (lo, hi) in self._pairs.items():
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _pair(v, name, lo=lo, hi=hi))
        if hasattr(self, "padding") and not isinstance(self.padding, (str, int)):
            object.__setattr__(self, "padding", _padding(self.padding))
        elif hasattr(self, "padding"):
            _padding(self.padding)
        self._validate()

    def _validate(self) -> None:
        """Checks beyond the pair sizes; PipelineError naming the key."""

    # -- identity: layers compare by value, arrays included, so the pipeline can find the first
    #    changed layer and reuse cached outputs before it. The key is computed once per layer
    #    (layers are immutable), since it copies the weights' bytes.
    def _key(self) -> tuple:
        cached = self.__dict__.get("_cached_key")
        if cached is None:
            parts = []
            for f in dataclasses.fields(self):
                v = getattr(self, f.name)
                parts.append(_array_key(v) if isinstance(v, np.ndarray) else v)
            cached = (type(self).__name__, tuple(parts))
            object.__setattr__(self, "_cached_key", cached)
        return cached

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Layer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # -- JSON
    @classmethod
    def from_dict(cls, d: dict) -> Layer:
        _check_keys(d, set(cls._keys) | {"type", "enabled", "name"})
        common = {}
        if "enabled" in d:
            common["enabled"] = _bool(d["enabled"], "enabled")
        if "name" in d:
            if d["name"] is not None and not isinstance(d["name"], str):
                raise PipelineError(f"must be a string, got {_describe(d['name'])}", key="name")
            common["name"] = d["name"]
        return cls._parse(d, **common)

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> Layer:
        return cls(**common)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            d["name"] = self.name
        d.update(self._params_json())
        if not self.enabled:
            d["enabled"] = False
        return d

    def _params_json(self) -> dict:
        return {}

    # -- arithmetic
    def output_shape(self, in_shape: Shape, *, limit: bool = True) -> Shape:
        """Shape of the output for an input of `in_shape`; PipelineError if it does not fit, or,
        with `limit`, if it is over the size one layer may hold in memory."""
        if not self.enabled:
            return tuple(in_shape)  # type: ignore[return-value]
        return _check_output(self._output_shape(tuple(in_shape)), self._size_key, limit=limit)

    def _output_shape(self, in_shape: Shape) -> Shape:
        return in_shape

    # The JSON key named when the output would be empty or too large.
    _size_key: ClassVar[str | None] = None

    def axis_steps(self) -> tuple[AxisStep, AxisStep]:
        """Receptive-field step per axis (rows, columns)."""
        if not self.enabled:
            return (AxisStep(), AxisStep())
        return self._axis_steps()

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        return (AxisStep(), AxisStep())

    def params(self, in_shape: Shape) -> int:
        """Number of weights plus biases (0 for a disabled layer, which does nothing)."""
        return self._params(tuple(in_shape)) if self.enabled else 0

    def _params(self, in_shape: Shape) -> int:
        return 0

    @property
    def is_linear(self) -> bool:
        """True if the layer is an affine map of its input that is also linear (no bias)."""
        return not self.enabled

    # -- compute
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output for ``(C, H, W) float32`` x (validated with output_shape first)."""
        if not self.enabled:
            return x
        self.output_shape(x.shape)
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        """A short human summary, e.g. 'conv2d 5x5, 3->8, stride 2'."""
        return self.type
