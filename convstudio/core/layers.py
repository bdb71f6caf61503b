"""Layer types: one frozen dataclass each, with validation, JSON (de)serialisation, shape and
receptive-field arithmetic and the forward pass.

A layer never holds mutable state: editing a layer means building a new one
(``dataclasses.replace``), which is what lets the app cache outputs and keep undo history cheaply.

Limits (refused, not allocated):

* kernel / pooling window sides up to ``MAX_KERNEL`` (255);
* ``MAX_CHANNELS`` (4096) input or output channels per conv layer and ``MAX_WEIGHTS`` (16 Mi)
  numbers in one weight tensor;
* stride and dilation up to ``MAX_STRIDE`` (1024) and ``MAX_DILATION`` (255), padding up to
  ``MAX_PADDING`` (4096) per side;
* a layer output of more than ``MAX_OUTPUT_ELEMENTS`` (512 Mi floats, 2 GiB).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import ops
from .errors import PipelineError

__all__ = [
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
    "LAYER_TYPES",
    "layer_from_dict",
    "Shape",
    "AxisStep",
    "MAX_KERNEL",
    "MAX_CHANNELS",
    "MAX_WEIGHTS",
    "MAX_STRIDE",
    "MAX_DILATION",
    "MAX_PADDING",
    "MAX_OUTPUT_ELEMENTS",
    "CONV_PAD_MODES",
    "PAD_LAYER_MODES",
]

MAX_KERNEL = 255
MAX_CHANNELS = 4096
MAX_WEIGHTS = 1 << 24
MAX_STRIDE = 1024
MAX_DILATION = 255
MAX_PADDING = 4096
MAX_OUTPUT_ELEMENTS = 1 << 29

CONV_PAD_MODES = ("zeros", "reflect", "replicate", "circular")
PAD_LAYER_MODES = CONV_PAD_MODES + ("constant",)

Shape = tuple[int, int, int]
Pads = tuple[int, int, int, int]
PaddingSpec = Any  # "same" | "valid" | int | (ph, pw) | (top, bottom, left, right)


@dataclass(frozen=True)
class AxisStep:
    """How one layer transforms (receptive field, jump, start) along one axis.

    r_L = r + (kernel - 1) * j;  s_L = s + shift * j;  j_L = j * stride.
    """

    kernel: int = 1
    stride: int = 1
    shift: int = 0


# --------------------------------------------------------------------------------------------
# Validation helpers: each raises PipelineError naming the key; the pipeline adds the layer index.


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _int(v: Any, key: str, *, lo: int, hi: int) -> int:
    if not _is_int(v):
        raise PipelineError(f"must be an integer, got {_describe(v)}", key=key)
    if not lo <= v <= hi:
        raise PipelineError(f"must be between {lo} and {hi}, got {v}", key=key)
    return int(v)


def _pair(v: Any, key: str, *, lo: int, hi: int) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise PipelineError(f"must be an integer or a pair [h, w], got a list of {len(v)}", key=key)
        return (_int(v[0], key, lo=lo, hi=hi), _int(v[1], key, lo=lo, hi=hi))
    n = _int(v, key, lo=lo, hi=hi)
    return (n, n)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _fits_float32(v: Any) -> bool:
    """True for a finite number that float32 can hold (ints too large for a float included)."""
    try:
        return abs(float(v)) <= _FLOAT32_MAX
    except OverflowError:
        return False


def _number(v: Any, key: str) -> float:
    if not _is_number(v):
        raise PipelineError(f"must be a number, got {_describe(v)}", key=key)
    if not _fits_float32(v):
        raise PipelineError(f"must be a finite number within float32 range, got {_describe(v)}",
                            key=key)
    return float(v)


def _bool(v: Any, key: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise PipelineError(f"must be true or false, got {_describe(v)}", key=key)
    return bool(v)


def _choice(v: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise PipelineError(f"must be one of {', '.join(choices)}; got {_describe(v)}", key=key)
    return v


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v) if len(v) < 40 else repr(v[:37] + "...")
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")  # as JSON spells them
    if _is_number(v):
        r = repr(v)
        return r if len(r) < 40 else r[:20] + f"... ({len(r)} characters)"
    return type(v).__name__


def _numeric_array(v: Any, key: str, ndim: int, *, max_side: int | None = None) -> np.ndarray:
    """A rectangular nested list of finite numbers with exactly `ndim` levels -> float32 array."""
    shape: list[int] = []

    def walk(node: Any, depth: int, path: str) -> None:
        if depth == ndim:
            if not _is_number(node):
                raise PipelineError(f"element {path} must be a number, got {_describe(node)}", key=key)
            if not _fits_float32(node):
                raise PipelineError(f"element {path} must be a finite number within float32 range, "
                                    f"got {_describe(node)}", key=key)
            return
        if not isinstance(node, (list, tuple)):
            raise PipelineError(
                f"must be a {ndim}-D nested list; {path or 'the value'} is {_describe(node)}", key=key)
        if len(node) == 0:
            raise PipelineError(f"{path or 'the value'} is empty", key=key)
        if len(shape) == depth:
            shape.append(len(node))
            if max_side is not None and depth >= ndim - 2 and len(node) > max_side:
                raise PipelineError(f"kernel side {len(node)} is over the limit of {max_side}", key=key)
        elif shape[depth] != len(node):
            raise PipelineError(
                f"is ragged: {path or 'the value'} has {len(node)} entries where {shape[depth]} were "
                "expected", key=key)
        if math.prod(shape) > MAX_WEIGHTS:
            raise PipelineError(f"has more than {MAX_WEIGHTS} numbers", key=key)
        for i, child in enumerate(node):
            walk(child, depth + 1, f"{path}[{i}]")

    if isinstance(v, np.ndarray):
        if v.ndim != ndim or v.size == 0:
            raise PipelineError(f"must be a non-empty {ndim}-D array, got shape {v.shape}", key=key)
        if v.dtype.kind not in "iuf":
            raise PipelineError(f"must be an array of real numbers, got dtype {v.dtype}", key=key)
        if max_side is not None and max(v.shape[-2:]) > max_side:
            raise PipelineError(f"kernel side {max(v.shape[-2:])} is over the limit of {max_side}",
                                key=key)
        if v.size > MAX_WEIGHTS:
            raise PipelineError(f"has more than {MAX_WEIGHTS} numbers", key=key)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            arr = np.array(v, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise PipelineError("must contain only finite numbers within float32 range", key=key)
    else:
        walk(v, 0, "")  # every element is a number within float32 range
        arr = np.array(v, dtype=np.float64).astype(np.float32)
    arr.setflags(write=False)
    return arr


def _padding(v: Any, key: str = "padding") -> PaddingSpec:
    if isinstance(v, str):
        if v not in ("same", "valid"):
            raise PipelineError(f"must be 'same', 'valid', an integer, [ph, pw] or "
                                f"[top, bottom, left, right]; got {_describe(v)}", key=key)
        return v
    if isinstance(v, (list, tuple)):
        if len(v) not in (2, 4):
            raise PipelineError("must be an integer, [ph, pw] or [top, bottom, left, right]; "
                                f"got a list of {len(v)}", key=key)
        return tuple(_int(p, key, lo=0, hi=MAX_PADDING) for p in v)
    return _int(v, key, lo=0, hi=MAX_PADDING)


def _resolve_padding(spec: PaddingSpec, kernel: tuple[int, int], dilation: tuple[int, int]) -> Pads:
    """(top, bottom, left, right) for a padding spec.

    "same" pads d*(k - 1) in total per axis, ceil(total/2) on top/left and floor(total/2) on
    bottom/right, as the tutorial splits it (OpenCV's anchor k//2 agrees).
    """
    if spec == "valid":
        return (0, 0, 0, 0)
    if spec == "same":
        th = dilation[0] * (kernel[0] - 1)
        tw = dilation[1] * (kernel[1] - 1)
        return ((th + 1) // 2, th // 2, (tw + 1) // 2, tw // 2)
    if isinstance(spec, tuple):
        if len(spec) == 2:
            return (spec[0], spec[0], spec[1], spec[1])
        return spec  # type: ignore[return-value]
    return (spec, spec, spec, spec)


def _padding_to_json(spec: PaddingSpec) -> Any:
    return list(spec) if isinstance(spec, tuple) else spec


def _pair_to_json(p: tuple[int, int]) -> Any:
    return p[0] if p[0] == p[1] else list(p)


def _check_keys(d: dict, allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise PipelineError(f"unknown key (allowed: {', '.join(sorted(allowed))})", key=str(k))


def _check_output(shape: Shape, key: str | None) -> Shape:
    """`key` names the setting that decides the output size (the window, for most layers)."""
    c, h, w = shape
    if h < 1 or w < 1:
        raise PipelineError(f"output would be {h} x {w}: the window is larger than its padded input",
                            key=key)
    if c * h * w > MAX_OUTPUT_ELEMENTS:
        raise PipelineError(
            f"output {c} x {h} x {w} ({c * h * w * 4 / 2**30:.1f} GiB) is over the limit of "
            f"{MAX_OUTPUT_ELEMENTS * 4 // 2**30} GiB", key=key)
    return shape


def _array_key(a: np.ndarray | None) -> Any:
    return None if a is None else (a.shape, a.tobytes())


# --------------------------------------------------------------------------------------------


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
    def output_shape(self, in_shape: Shape) -> Shape:
        """Shape of the output for an input of `in_shape`; PipelineError if it does not fit."""
        if not self.enabled:
            return tuple(in_shape)  # type: ignore[return-value]
        return _check_output(self._output_shape(tuple(in_shape)), self._size_key)

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


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Conv2d(Layer):
    """2-D cross-correlation.

    Exactly one of `weight` ``(Cout, Cin // groups, kh, kw)`` or `kernel` ``(kh, kw)`` is set. The
    kernel form applies the same kernel to every channel on its own (groups = Cout = Cin = C), as
    image editors filter RGB. `scale` multiplies the weights, not the bias; `flip` rotates every
    kernel by 180 degrees (true convolution).
    """

    type: ClassVar[str] = "conv2d"
    _keys: ClassVar[frozenset[str]] = frozenset(
        {"weight", "kernel", "bias", "scale", "stride", "padding", "padding_mode", "dilation",
         "groups", "flip"})

    weight: np.ndarray | None = None
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None
    # Kernel form: one bias number for every channel, given as a bare number or a one-element
    # list (README, "The pipeline file"); bias_list remembers which, so that saving keeps the form.
    bias_shared: bool = False
    scale: float = 1.0
    stride: tuple[int, int] = (1, 1)
    padding: PaddingSpec = 0
    padding_mode: str = "zeros"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    flip: bool = False
    bias_list: bool = field(default=False, kw_only=True)

    _pairs: ClassVar[dict[str, tuple[int, int]]] = {
        "stride": (1, MAX_STRIDE), "dilation": (1, MAX_DILATION)}

    def _validate(self) -> None:
        _int(self.groups, "groups", lo=1, hi=MAX_CHANNELS)
        _choice(self.padding_mode, "padding_mode", CONV_PAD_MODES)
        _number(self.scale, "scale")
        _bool(self.flip, "flip")
        if (self.weight is None) == (self.kernel is None):
            raise PipelineError("give exactly one of 'weight' or 'kernel'", key="weight")
        for name, nd in (("weight", 4), ("kernel", 2)):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, np.ndarray) and v.dtype == np.float32
                                      and v.ndim == nd and not v.flags.writeable):
                object.__setattr__(self, name, _numeric_array(v, name, nd, max_side=MAX_KERNEL))
        if self.bias is not None and not (isinstance(self.bias, np.ndarray)
                                          and not self.bias.flags.writeable):
            b = np.array(self.bias, dtype=np.float32).reshape(-1)
            b.setflags(write=False)
            object.__setattr__(self, "bias", b)
        if self.kernel is not None and self.bias is not None and self.bias.shape[0] == 1 \
                and not self.bias_shared:
            # The kernel form with a one-element bias list: that number for every channel.
            object.__setattr__(self, "bias_shared", True)
            object.__setattr__(self, "bias_list", True)
        if self.weight is not None:
            cout, cin_g = self.weight.shape[:2]
            if cout > MAX_CHANNELS or cin_g > MAX_CHANNELS:
                raise PipelineError(f"more than {MAX_CHANNELS} channels", key="weight")
            if cout % self.groups:
                raise PipelineError(
                    f"{cout} output channels cannot be split into {self.groups} groups", key="groups")
            if cin_g * self.groups > MAX_CHANNELS:
                raise PipelineError(f"more than {MAX_CHANNELS} input channels", key="groups")
            if self.bias is not None and self.bias.shape[0] != cout:
                raise PipelineError(
                    f"has {self.bias.shape[0]} numbers but the layer has {cout} output channels",
                    key="bias")

    # -- JSON
    @classmethod
    def _parse(cls, d: dict, **common: Any) -> Conv2d:
        kw: dict[str, Any] = dict(common)
        has_w, has_k = "weight" in d, "kernel" in d
        if has_w == has_k:
            raise PipelineError("conv2d needs exactly one of 'weight' (4-D) or 'kernel' (2-D)",
                                key="kernel" if has_k else "weight")
        if has_w:
            kw["weight"] = _numeric_array(d["weight"], "weight", 4, max_side=MAX_KERNEL)
        else:
            kw["kernel"] = _numeric_array(d["kernel"], "kernel", 2, max_side=MAX_KERNEL)
        if "bias" in d and d["bias"] is not None:
            b = d["bias"]
            if has_k and _is_number(b):
                kw["bias"] = np.array([_number(b, "bias")], dtype=np.float32)
                kw["bias_shared"] = True
            else:
                kw["bias"] = _numeric_array(b, "bias", 1)
                if has_k and kw["bias"].shape[0] == 1:
                    # [b] with the kernel form: b for every channel, saved back as [b]
                    kw["bias_shared"] = kw["bias_list"] = True
        if "scale" in d:
            kw["scale"] = _number(d["scale"], "scale")
        if "stride" in d:
            kw["stride"] = _pair(d["stride"], "stride", lo=1, hi=MAX_STRIDE)
        if "padding" in d:
            kw["padding"] = _padding(d["padding"])
        if "padding_mode" in d:
            kw["padding_mode"] = _choice(d["padding_mode"], "padding_mode", CONV_PAD_MODES)
        if "dilation" in d:
            kw["dilation"] = _pair(d["dilation"], "dilation", lo=1, hi=MAX_DILATION)
        if "groups" in d:
            # With the kernel form the grouping is implied (one group per channel); the key is
            # accepted for symmetry and ignored.
            g = _int(d["groups"], "groups", lo=1, hi=MAX_CHANNELS)
            if has_w:
                kw["groups"] = g
        if "flip" in d:
            kw["flip"] = _bool(d["flip"], "flip")
        return cls(**kw)

    def _params_json(self) -> dict:
        d: dict[str, Any] = {}
        if self.weight is not None:
            d["weight"] = self.weight.tolist()
        else:
            d["kernel"] = self.kernel.tolist()  # type: ignore[union-attr]
        if self.bias is not None:
            shared_number = self.bias_shared and not self.bias_list
            d["bias"] = float(self.bias[0]) if shared_number else self.bias.tolist()
        if self.scale != 1.0:
            d["scale"] = self.scale
        d["stride"] = _pair_to_json(self.stride)
        d["padding"] = _padding_to_json(self.padding)
        d["padding_mode"] = self.padding_mode
        d["dilation"] = _pair_to_json(self.dilation)
        if self.weight is not None:
            d["groups"] = self.groups
        d["flip"] = self.flip
        return d

    # -- geometry
    @property
    def _size_key(self) -> str:  # type: ignore[override]
        return "weight" if self.weight is not None else "kernel"

    @property
    def kernel_size(self) -> tuple[int, int]:
        src = self.weight if self.weight is not None else self.kernel
        return (int(src.shape[-2]), int(src.shape[-1]))  # type: ignore[union-attr]

    @property
    def pads(self) -> Pads:
        return _resolve_padding(self.padding, self.kernel_size, self.dilation)

    def channels(self, in_channels: int) -> tuple[int, int]:
        """(Cin, Cout) for an input of `in_channels` channels (the kernel form adapts)."""
        if self.weight is None:
            return in_channels, in_channels
        return self.weight.shape[1] * self.groups, self.weight.shape[0]

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        cin, cout = self.channels(c)
        if cin != c:
            raise PipelineError(
                f"expects {cin} input channels ({self.groups} group(s) of {self.weight.shape[1]}) "
                f"but its input has {c}", key="weight")
        if self.kernel is not None and self.bias is not None and not self.bias_shared \
                and self.bias.shape[0] != c:
            raise PipelineError(f"has {self.bias.shape[0]} numbers but the input has {c} channels",
                                key="bias")
        t, b, l, r = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        return (cout,
                ops.output_size(h, kh, stride=sh, pad_total=t + b, dilation=dh),
                ops.output_size(w, kw, stride=sw, pad_total=l + r, dilation=dw))

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        t, _, l, _ = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        return (AxisStep(dh * (kh - 1) + 1, sh, -t), AxisStep(dw * (kw - 1) + 1, sw, -l))

    def _params(self, in_shape: Shape) -> int:
        if self.weight is not None:
            n = self.weight.size
        else:
            n = self.kernel.size  # type: ignore[union-attr]
        if self.bias is not None:
            n += 1 if self.bias_shared else self.bias.shape[0]
        return int(n)

    @property
    def is_linear(self) -> bool:
        return (not self.enabled) or (self.bias is None or not np.any(self.bias))

    # -- compute
    def effective_weight(self, in_channels: int) -> np.ndarray:
        """The ``(Cout, Cin // groups, kh, kw) float32`` weight actually applied: scaled, flipped
        and, for the kernel form, repeated per channel."""
        w = self.weight if self.weight is not None else np.broadcast_to(
            self.kernel, (in_channels, 1) + self.kernel.shape)  # type: ignore[union-attr]
        if self.flip:
            w = w[..., ::-1, ::-1]
        if self.scale != 1.0:
            w = w * np.float32(self.scale)
        return np.ascontiguousarray(w, dtype=np.float32)

    def effective_bias(self, in_channels: int) -> np.ndarray | None:
        if self.bias is None:
            return None
        if self.bias_shared:
            return np.full(in_channels, self.bias[0], dtype=np.float32)
        return self.bias

    def effective_groups(self, in_channels: int) -> int:
        return self.groups if self.weight is not None else in_channels

    def _forward(self, x: np.ndarray) -> np.ndarray:
        c = x.shape[0]
        # = ops.correlate(ops.pad(x, ...), ...); large inputs are padded band by band
        return ops.pad_correlate(x, self.pads, mode=self.padding_mode,
                                 weight=self.effective_weight(c), bias=self.effective_bias(c),
                                 stride=self.stride, dilation=self.dilation,
                                 groups=self.effective_groups(c))

    def describe(self) -> str:
        kh, kw = self.kernel_size
        if self.weight is not None:
            cout, cin_g = self.weight.shape[:2]
            ch = f"{cin_g * self.groups}->{cout}"
            if self.groups > 1:
                ch += f" g{self.groups}"
        else:
            ch = "per channel"
        extra = []
        if self.stride != (1, 1):
            extra.append(f"s{_pair_text(self.stride)}")
        if self.dilation != (1, 1):
            extra.append(f"d{_pair_text(self.dilation)}")
        if self.padding not in (0, "valid"):
            extra.append(f"pad {self.padding if isinstance(self.padding, (str, int)) else list(self.padding)}")
        return " ".join([f"conv {kh}x{kw}", ch] + extra)


def _pair_text(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


@dataclass(frozen=True, eq=False)
class _Pool(Layer):
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None  # None: the window size
    padding: PaddingSpec = 0
    ceil_mode: bool = False

    _keys: ClassVar[frozenset[str]] = frozenset({"kernel_size", "stride", "padding", "ceil_mode"})
    _size_key: ClassVar[str | None] = "kernel_size"
    _pairs: ClassVar[dict[str, tuple[int, int]]] = {
        "kernel_size": (1, MAX_KERNEL), "stride": (1, MAX_STRIDE)}

    def _validate(self) -> None:
        _bool(self.ceil_mode, "ceil_mode")

    @classmethod
    def _parse_common(cls, d: dict) -> dict:
        if "kernel_size" not in d:
            raise PipelineError("is required", key="kernel_size")
        kw: dict[str, Any] = {"kernel_size": _pair(d["kernel_size"], "kernel_size", lo=1, hi=MAX_KERNEL)}
        if "stride" in d and d["stride"] is not None:
            kw["stride"] = _pair(d["stride"], "stride", lo=1, hi=MAX_STRIDE)
        if "padding" in d:
            kw["padding"] = _padding(d["padding"])
        if "ceil_mode" in d:
            kw["ceil_mode"] = _bool(d["ceil_mode"], "ceil_mode")
        return kw

    @property
    def dilation_pair(self) -> tuple[int, int]:
        return (1, 1)

    @property
    def strides(self) -> tuple[int, int]:
        return self.stride if self.stride is not None else self.kernel_size

    @property
    def pads(self) -> Pads:
        return _resolve_padding(self.padding, self.kernel_size, self.dilation_pair)

    def _params_json(self) -> dict:
        d: dict[str, Any] = {"kernel_size": _pair_to_json(self.kernel_size)}
        if self.stride is not None:
            d["stride"] = _pair_to_json(self.stride)
        d["padding"] = _padding_to_json(self.padding)
        d["ceil_mode"] = self.ceil_mode
        return d

    def _max_pad(self, k: int, d: int) -> int:
        return k // 2

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        t, b, l, r = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_pair
        for side, p, k, d in (("top", t, kh, dh), ("bottom", b, kh, dh), ("left", l, kw, dw),
                              ("right", r, kw, dw)):
            if p > self._max_pad(k, d):
                why = f" (the kernel size {k} without the dilation, as in PyTorch)" if d > 1 else ""
                raise PipelineError(
                    f"{side} padding {p} is more than half the window ({self._max_pad(k, d)} at "
                    f"most){why}", key="padding")
        return (c,
                ops.pool_output_size(h, kh, stride=sh, pad_before=t, pad_after=b, dilation=dh,
                                     ceil_mode=self.ceil_mode),
                ops.pool_output_size(w, kw, stride=sw, pad_before=l, pad_after=r, dilation=dw,
                                     ceil_mode=self.ceil_mode))

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        t, _, l, _ = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_pair
        return (AxisStep(dh * (kh - 1) + 1, sh, -t), AxisStep(dw * (kw - 1) + 1, sw, -l))

    def describe(self) -> str:
        kh, kw = self.kernel_size
        s = f"{self.type[:3]}pool {kh}x{kw}"
        if self.strides != self.kernel_size:
            s += f" s{_pair_text(self.strides)}"
        if self.pads != (0, 0, 0, 0):
            s += " padded"
        return s


@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool):
    """Max pooling; padding is -inf so it never wins. Supports dilation, like PyTorch.

    As in PyTorch, each side's padding is at most half the kernel size ``k // 2``, whatever the
    dilation (PyTorch refuses ``kernel_size=3, dilation=2, padding=2`` although the dilated
    window spans 5).
    """

    type: ClassVar[str] = "maxpool2d"
    _keys: ClassVar[frozenset[str]] = _Pool._keys | {"dilation"}
    _pairs: ClassVar[dict[str, tuple[int, int]]] = {**_Pool._pairs, "dilation": (1, MAX_DILATION)}
    dilation: tuple[int, int] = (1, 1)

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> MaxPool2d:
        kw = cls._parse_common(d)
        if "dilation" in d:
            kw["dilation"] = _pair(d["dilation"], "dilation", lo=1, hi=MAX_DILATION)
        return cls(**kw, **common)

    @property
    def dilation_pair(self) -> tuple[int, int]:
        return self.dilation

    def _max_pad(self, k: int, d: int) -> int:
        # PyTorch checks twice: pad <= ((k - 1) * d + 1) // 2 (pooling_output_shape) and
        # pad <= k // 2 (pool2d_shape_check, on the kernel size without dilation), so the
        # second, stricter one decides: F.max_pool2d(x, 3, dilation=2, padding=2) is refused.
        return min(k // 2, (d * (k - 1) + 1) // 2)

    def _params_json(self) -> dict:
        d = super()._params_json()
        if self.dilation != (1, 1):
            d["dilation"] = _pair_to_json(self.dilation)
        return d

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.max_pool(x, self.kernel_size, stride=self.strides, pads=self.pads,
                            dilation=self.dilation, ceil_mode=self.ceil_mode)


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool):
    """Average pooling; zero padding counts in the divisor unless count_include_pad is false."""

    type: ClassVar[str] = "avgpool2d"
    _keys: ClassVar[frozenset[str]] = _Pool._keys | {"count_include_pad"}
    count_include_pad: bool = True

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> AvgPool2d:
        kw = cls._parse_common(d)
        if "count_include_pad" in d:
            kw["count_include_pad"] = _bool(d["count_include_pad"], "count_include_pad")
        return cls(**kw, **common)

    def _params_json(self) -> dict:
        d = super()._params_json()
        d["count_include_pad"] = self.count_include_pad
        return d

    @property
    def is_linear(self) -> bool:
        return True

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.avg_pool(x, self.kernel_size, stride=self.strides, pads=self.pads,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)


@dataclass(frozen=True, eq=False)
class Pad(Layer):
    """Explicit padding layer (all conv modes plus 'constant' with a value).

    The mode defaults to "zeros"; in a pipeline file a `value` given without a `mode` selects
    "constant" (otherwise the value would be silently ignored).
    """

    type: ClassVar[str] = "pad"
    _keys: ClassVar[frozenset[str]] = frozenset({"padding", "mode", "value"})
    _size_key: ClassVar[str | None] = "padding"
    padding: PaddingSpec = 0
    mode: str = "zeros"
    value: float = 0.0

    def _validate(self) -> None:
        if self.padding == "same":
            raise PipelineError("'same' needs a kernel; give the pad layer numbers", key="padding")
        _choice(self.mode, "mode", PAD_LAYER_MODES)
        _number(self.value, "value")

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> Pad:
        if "padding" not in d:
            raise PipelineError("is required", key="padding")
        p = _padding(d["padding"])
        if p == "same":
            raise PipelineError("'same' needs a kernel; give the pad layer numbers", key="padding")
        kw: dict[str, Any] = {"padding": p}
        if "mode" in d:
            kw["mode"] = _choice(d["mode"], "mode", PAD_LAYER_MODES)
        if "value" in d:
            kw["value"] = _number(d["value"], "value")
            if "mode" not in d:
                # A value without a mode means constant padding with it (PyTorch's F.pad default
                # mode is "constant" too), not zeros with the value silently ignored.
                kw["mode"] = "constant"
        return cls(**kw, **common)

    @property
    def pads(self) -> Pads:
        return _resolve_padding(self.padding, (1, 1), (1, 1))

    def _params_json(self) -> dict:
        d: dict[str, Any] = {"padding": _padding_to_json(self.padding), "mode": self.mode}
        if self.mode == "constant":
            d["value"] = self.value
        return d

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        t, b, l, r = self.pads
        return (c, h + t + b, w + l + r)

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        t, _, l, _ = self.pads
        return (AxisStep(1, 1, -t), AxisStep(1, 1, -l))

    @property
    def is_linear(self) -> bool:
        return self.mode != "constant" or self.value == 0.0

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.pad(x, self.pads, mode=self.mode, value=self.value)

    def describe(self) -> str:
        return f"pad {list(self.pads)} {self.mode}"


@dataclass(frozen=True, eq=False)
class Stride(Layer):
    """Subsampling: keeps rows offset_h, offset_h + s_h, ... and likewise columns."""

    type: ClassVar[str] = "stride"
    _keys: ClassVar[frozenset[str]] = frozenset({"stride", "offset"})
    _size_key: ClassVar[str | None] = "offset"
    stride: tuple[int, int] = (2, 2)
    offset: tuple[int, int] = (0, 0)

    _pairs: ClassVar[dict[str, tuple[int, int]]] = {
        "stride": (1, MAX_STRIDE), "offset": (0, MAX_STRIDE - 1)}

    def _validate(self) -> None:
        for axis in (0, 1):
            if not 0 <= self.offset[axis] < self.stride[axis]:
                raise PipelineError(
                    f"offset {self.offset[axis]} must be at least 0 and less than the stride "
                    f"{self.stride[axis]}", key="offset")

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> Stride:
        kw: dict[str, Any] = {}
        if "stride" in d:
            kw["stride"] = _pair(d["stride"], "stride", lo=1, hi=MAX_STRIDE)
        if "offset" in d:
            kw["offset"] = _pair(d["offset"], "offset", lo=0, hi=MAX_STRIDE - 1)
        return cls(**kw, **common)

    def _params_json(self) -> dict:
        return {"stride": _pair_to_json(self.stride), "offset": _pair_to_json(self.offset)}

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        (sh, sw), (oh, ow) = self.stride, self.offset
        return (c, -(-(h - oh) // sh), -(-(w - ow) // sw))

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        return (AxisStep(1, self.stride[0], self.offset[0]), AxisStep(1, self.stride[1], self.offset[1]))

    @property
    def is_linear(self) -> bool:
        return True

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.subsample(x, self.stride, self.offset)

    def describe(self) -> str:
        return f"stride {_pair_text(self.stride)}"


@dataclass(frozen=True, eq=False)
class ReLU(Layer):
    type: ClassVar[str] = "relu"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.relu(x)


@dataclass(frozen=True, eq=False)
class LeakyReLU(Layer):
    type: ClassVar[str] = "leaky_relu"
    _keys: ClassVar[frozenset[str]] = frozenset({"negative_slope"})
    negative_slope: float = 0.01

    def _validate(self) -> None:
        _number(self.negative_slope, "negative_slope")

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> LeakyReLU:
        kw = {}
        if "negative_slope" in d:
            kw["negative_slope"] = _number(d["negative_slope"], "negative_slope")
        return cls(**kw, **common)

    def _params_json(self) -> dict:
        return {"negative_slope": self.negative_slope}

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.leaky_relu(x, self.negative_slope)

    def describe(self) -> str:
        return f"leaky_relu {self.negative_slope:g}"


@dataclass(frozen=True, eq=False)
class Abs(Layer):
    type: ClassVar[str] = "abs"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.absolute(x)


@dataclass(frozen=True, eq=False)
class Sigmoid(Layer):
    type: ClassVar[str] = "sigmoid"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.sigmoid(x)


@dataclass(frozen=True, eq=False)
class Tanh(Layer):
    type: ClassVar[str] = "tanh"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.tanh(x)


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, Pad, Stride, ReLU, LeakyReLU, Abs, Sigmoid, Tanh)
}


def layer_from_dict(d: Any) -> Layer:
    """Build a layer from its JSON object; PipelineError (without layer index) if malformed."""
    if not isinstance(d, dict):
        raise PipelineError(f"a layer must be a JSON object, got {_describe(d)}")
    t = d.get("type")
    if t is None:
        raise PipelineError("is required", key="type")
    if not isinstance(t, str) or t not in LAYER_TYPES:
        raise PipelineError(f"unknown layer type {_describe(t)} (known: {', '.join(LAYER_TYPES)})",
                            key="type")
    return LAYER_TYPES[t].from_dict(d)
