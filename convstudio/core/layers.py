"""Layer types: one frozen dataclass each, with validation, JSON (de)serialisation, shape and
receptive-field arithmetic and the forward pass.

This module is the public face of the layers: it holds the convolution, padding, stride and
activation layers and the ``LAYER_TYPES`` registry, and re-exports the base class
(:mod:`convstudio.core.layerbase`), the pooling layers (:mod:`convstudio.core.pooling`), the
transposed convolution and upsampling (:mod:`convstudio.core.upsampling`) and the limits and
validation helpers (:mod:`convstudio.core.layerspec`).

A layer never holds mutable state: editing a layer means building a new one
(``dataclasses.replace``), which is what lets the app cache outputs and keep undo history cheaply.

The limits (``MAX_KERNEL``, ``MAX_CHANNELS``, ``MAX_OUTPUT_ELEMENTS`` ...) are described in
:mod:`convstudio.core.layerspec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import ops, regions
from .errors import PipelineError
from .layerbase import Layer
from .layerspec import (
    CONV_PAD_MODES,
    MAX_CHANNELS,
    MAX_DILATION,
    MAX_KERNEL,
    MAX_OUTPUT_ELEMENTS,
    MAX_PADDING,
    MAX_STRIDE,
    MAX_WEIGHTS,
    PAD_LAYER_MODES,
    AxisStep,
    PaddingSpec,
    Pads,
    Shape,
    _bool,
    _check_scaled,
    _choice,
    _describe,
    _int,
    _is_number,
    _number,
    _numeric_array,
    _padding,
    _padding_to_json,
    _pair,
    _pair_text,
    _pair_to_json,
    _resolve_padding,
)
from .pooling import AvgPool2d, MaxPool2d
from .upsampling import UPSAMPLE_MODES, ConvTranspose2d, Upsample

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
    "ConvTranspose2d",
    "Upsample",
    "UPSAMPLE_MODES",
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
        _check_scaled(self.weight if self.weight is not None else self.kernel, self.scale)
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

    # -- tiles (core/regions.py, docs/scale.md)
    def _windows(self, in_shape: Shape) -> tuple[regions.AxisWindow, regions.AxisWindow]:
        t, b, l, r = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        return (regions.window(in_shape[1], dh * (kh - 1) + 1, sh, 0, t, b, self.padding_mode),
                regions.window(in_shape[2], dw * (kw - 1) + 1, sw, 0, l, r, self.padding_mode))

    def input_region(self, out_region: regions.Region, in_shape: Shape) -> regions.Region:
        return regions.window_input_region(self._windows(in_shape), out_region)

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        c = in_shape[0]
        w, b, g = self.effective_weight(c), self.effective_bias(c), self.effective_groups(c)

        def compute(block, stride, _indices):
            return ops.correlate(block, w, bias=b, stride=stride, dilation=self.dilation, groups=g)

        return regions.window_forward_region(self._windows(in_shape), x, in_region, out_region, compute)

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

    # -- tiles (core/regions.py, docs/scale.md)
    def _windows(self, in_shape: Shape) -> tuple[regions.AxisWindow, regions.AxisWindow]:
        t, b, l, r = self.pads
        return (regions.window(in_shape[1], 1, 1, 0, t, b, self.mode),
                regions.window(in_shape[2], 1, 1, 0, l, r, self.mode))

    def input_region(self, out_region: regions.Region, in_shape: Shape) -> regions.Region:
        return regions.window_input_region(self._windows(in_shape), out_region)

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        fill = self.value if self.mode == "constant" else 0.0
        return regions.window_forward_region(self._windows(in_shape), x, in_region, out_region,
                                             lambda block, _stride, _indices: block, fill=fill)

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

    # -- tiles (core/regions.py): each output reads one cell, so the gathered block is the output
    def _windows(self, in_shape: Shape) -> tuple[regions.AxisWindow, regions.AxisWindow]:
        return (regions.window(in_shape[1], 1, self.stride[0], self.offset[0]),
                regions.window(in_shape[2], 1, self.stride[1], self.offset[1]))

    def input_region(self, out_region: regions.Region, in_shape: Shape) -> regions.Region:
        return regions.window_input_region(self._windows(in_shape), out_region)

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        return regions.window_forward_region(self._windows(in_shape), x, in_region, out_region,
                                             lambda block, _stride, _indices: block)

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
    input_region = regions.pointwise_input_region  # tiles: element-wise (core/regions.py)
    forward_region = regions.pointwise_forward_region

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.relu(x)


@dataclass(frozen=True, eq=False)
class LeakyReLU(Layer):
    type: ClassVar[str] = "leaky_relu"
    input_region = regions.pointwise_input_region  # tiles: element-wise (core/regions.py)
    forward_region = regions.pointwise_forward_region
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
    input_region = regions.pointwise_input_region  # tiles: element-wise (core/regions.py)
    forward_region = regions.pointwise_forward_region

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.absolute(x)


@dataclass(frozen=True, eq=False)
class Sigmoid(Layer):
    type: ClassVar[str] = "sigmoid"
    input_region = regions.pointwise_input_region  # tiles: element-wise (core/regions.py)
    forward_region = regions.pointwise_forward_region

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.sigmoid(x)


@dataclass(frozen=True, eq=False)
class Tanh(Layer):
    type: ClassVar[str] = "tanh"
    input_region = regions.pointwise_input_region  # tiles: element-wise (core/regions.py)
    forward_region = regions.pointwise_forward_region

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.tanh(x)


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.type: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, Pad, Stride, ReLU, LeakyReLU, Abs, Sigmoid, Tanh,
                ConvTranspose2d, Upsample)
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
