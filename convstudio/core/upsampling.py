"""Layers that enlarge their input: the transposed convolution and upsampling.

Re-exported by :mod:`convstudio.core.layers`, which registers them in ``LAYER_TYPES``. Their
definitions are in docs/semantics.md ("Transposed convolution", "Upsample"), their keys in
docs/pipeline-format.md.

Both map one input pixel onto several output pixels, so an output pixel moves by a fraction of
an input pixel: their receptive-field steps are exact :class:`fractions.Fraction` values (the
bounding window of the input pixels an output pixel depends on; docs/semantics.md, "Receptive
field").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from . import ops, regions
from .errors import PipelineError
from .layerbase import Layer
from .layerspec import (
    MAX_CHANNELS,
    MAX_DILATION,
    MAX_KERNEL,
    MAX_PADDING,
    MAX_STRIDE,
    AxisStep,
    Shape,
    _choice,
    _int,
    _numeric_array,
    _pair,
    _pair_text,
    _pair_to_json,
)

__all__ = ["ConvTranspose2d", "Upsample", "UPSAMPLE_MODES", "MAX_SCALE"]

UPSAMPLE_MODES = ("nearest", "bilinear")
#: Largest upsampling factor per axis (the output limit of layerspec applies as well).
MAX_SCALE = MAX_STRIDE


def _envelope(lo_hi, scale: int) -> AxisStep:
    """The receptive-field step of a layer whose output index o reads input indices
    lo_hi(o) = (first, last), a pattern that repeats every `scale` outputs, one input further:
    the tightest window start + o/scale ... start + o/scale + size - 1 holding them all."""
    jump = Fraction(1, scale)
    first = min(lo_hi(o)[0] - o * jump for o in range(scale))
    last = max(lo_hi(o)[1] - o * jump for o in range(scale))
    return AxisStep(last - first + 1, jump, first)


@dataclass(frozen=True, eq=False)
class ConvTranspose2d(Layer):
    """PyTorch's ``ConvTranspose2d``: input value x[c, i, j] adds ``x * weight[c, o, a, b]`` to
    output (g*Cout_g + o, i*sh + a*dh - ph, j*sw + b*dw - pw); the adjoint of conv2d with the
    same weight, stride, padding, dilation and groups.

    `weight` is ``(Cin, Cout // groups, kh, kw)`` (PyTorch's layout: input channels first).
    `output_padding` adds rows / columns at the bottom / right (to pick one of the input sizes a
    strided conv2d maps to the same size); it must be smaller than the stride or the dilation.
    """

    type: ClassVar[str] = "conv_transpose2d"
    _keys: ClassVar[frozenset[str]] = frozenset(
        {"weight", "bias", "stride", "padding", "output_padding", "dilation", "groups"})
    _size_key: ClassVar[str | None] = "stride"

    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    _pairs: ClassVar[dict[str, tuple[int, int]]] = {
        "stride": (1, MAX_STRIDE), "padding": (0, MAX_PADDING),
        "output_padding": (0, MAX_STRIDE - 1), "dilation": (1, MAX_DILATION)}

    def _validate(self) -> None:
        _int(self.groups, "groups", lo=1, hi=MAX_CHANNELS)
        if self.weight is None:
            raise PipelineError("is required", key="weight")
        w = self.weight
        if not (isinstance(w, np.ndarray) and w.dtype == np.float32 and w.ndim == 4
                and not w.flags.writeable):
            object.__setattr__(self, "weight", _numeric_array(w, "weight", 4, max_side=MAX_KERNEL))
        cin, cout_g = self.weight.shape[:2]
        if cin > MAX_CHANNELS or cout_g * self.groups > MAX_CHANNELS:
            raise PipelineError(f"more than {MAX_CHANNELS} channels", key="weight")
        if cin % self.groups:
            raise PipelineError(f"{cin} input channels cannot be split into {self.groups} groups",
                                key="groups")
        if self.bias is not None:
            if not (isinstance(self.bias, np.ndarray) and not self.bias.flags.writeable):
                object.__setattr__(self, "bias", _numeric_array(np.ravel(self.bias), "bias", 1))
            if self.bias.shape[0] != cout_g * self.groups:
                raise PipelineError(f"has {self.bias.shape[0]} numbers but the layer has "
                                    f"{cout_g * self.groups} output channels", key="bias")
        for axis in (0, 1):
            op, s, d = self.output_padding[axis], self.stride[axis], self.dilation[axis]
            if op >= max(s, d):
                raise PipelineError(f"{op} must be smaller than the stride ({s}) or the dilation "
                                    f"({d}), as in PyTorch", key="output_padding")

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> ConvTranspose2d:
        if "weight" not in d:
            raise PipelineError("is required: [in][out/groups][kh][kw]", key="weight")
        kw: dict[str, Any] = {"weight": _numeric_array(d["weight"], "weight", 4, max_side=MAX_KERNEL)}
        if d.get("bias") is not None:
            kw["bias"] = _numeric_array(d["bias"], "bias", 1)
        for key, (lo, hi) in cls._pairs.items():
            if key in d:
                kw[key] = _pair(d[key], key, lo=lo, hi=hi)
        if "groups" in d:
            kw["groups"] = _int(d["groups"], "groups", lo=1, hi=MAX_CHANNELS)
        return cls(**kw, **common)

    def _params_json(self) -> dict:
        d: dict[str, Any] = {"weight": self.weight.tolist()}  # type: ignore[union-attr]
        if self.bias is not None:
            d["bias"] = self.bias.tolist()
        for key in ("stride", "padding", "output_padding", "dilation"):
            d[key] = _pair_to_json(getattr(self, key))
        d["groups"] = self.groups
        return d

    # -- geometry
    @property
    def kernel_size(self) -> tuple[int, int]:
        return (int(self.weight.shape[2]), int(self.weight.shape[3]))  # type: ignore[union-attr]

    def channels(self, in_channels: int) -> tuple[int, int]:
        """(Cin, Cout) the layer takes and gives (Cin is fixed by the weight)."""
        return int(self.weight.shape[0]), int(self.weight.shape[1]) * self.groups  # type: ignore[union-attr]

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        cin, cout = self.channels(c)
        if cin != c:
            raise PipelineError(f"expects {cin} input channels (the first axis of the weight) but "
                                f"its input has {c}", key="weight")
        size = [ops.conv_transpose_size(n, k, stride=s, padding=p, output_padding=op, dilation=d)
                for n, k, s, p, op, d in zip((h, w), self.kernel_size, self.stride, self.padding,
                                             self.output_padding, self.dilation)]
        if min(size) < 1:
            raise PipelineError(f"output would be {size[0]} x {size[1]}: the padding crops more "
                                "than the layer produces", key="padding")
        return (cout, size[0], size[1])

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        # Output o reads inputs i with i*s = o + p - a*d for a tap a: the window
        # (o + p - d*(k-1))/s ... (o + p)/s, whose ends are attained for some o.
        steps = []
        for k, s, p, d in zip(self.kernel_size, self.stride, self.padding, self.dilation):
            steps.append(AxisStep(Fraction(d * (k - 1), s) + 1, Fraction(1, s), Fraction(p - d * (k - 1), s)))
        return (steps[0], steps[1])

    def _params(self, in_shape: Shape) -> int:
        n = self.weight.size  # type: ignore[union-attr]
        return int(n + (self.bias.shape[0] if self.bias is not None else 0))

    @property
    def is_linear(self) -> bool:
        return (not self.enabled) or (self.bias is None or not np.any(self.bias))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return ops.conv_transpose(x, self.weight, bias=self.bias, stride=self.stride,
                                  padding=self.padding, output_padding=self.output_padding,
                                  dilation=self.dilation, groups=self.groups)

    def describe(self) -> str:
        kh, kw = self.kernel_size
        cin, cout = self.channels(0)
        parts = [f"convT {kh}x{kw}", f"{cin}->{cout}" + (f" g{self.groups}" if self.groups > 1 else "")]
        for label, key, neutral in (("s", "stride", (1, 1)), ("d", "dilation", (1, 1)),
                                    ("p", "padding", (0, 0)), ("op", "output_padding", (0, 0))):
            if getattr(self, key) != neutral:
                parts.append(f"{label}{_pair_text(getattr(self, key))}")
        return " ".join(parts)


@dataclass(frozen=True, eq=False)
class Upsample(Layer):
    """PyTorch's ``F.interpolate(x, scale_factor=s, mode=mode, align_corners=False)`` for integer
    factors: "nearest" repeats every value s times (source index floor(dst * H / Ho)); "bilinear"
    interpolates at src = (dst + 0.5) / s - 0.5, clamped to the border."""

    type: ClassVar[str] = "upsample"
    _keys: ClassVar[frozenset[str]] = frozenset({"scale_factor", "mode"})
    _size_key: ClassVar[str | None] = "scale_factor"
    scale_factor: tuple[int, int] = (2, 2)
    mode: str = "nearest"

    _pairs: ClassVar[dict[str, tuple[int, int]]] = {"scale_factor": (1, MAX_SCALE)}

    def _validate(self) -> None:
        _choice(self.mode, "mode", UPSAMPLE_MODES)

    @classmethod
    def _parse(cls, d: dict, **common: Any) -> Upsample:
        kw: dict[str, Any] = {}
        if "scale_factor" in d:
            kw["scale_factor"] = _pair(d["scale_factor"], "scale_factor", lo=1, hi=MAX_SCALE)
        if "mode" in d:
            kw["mode"] = _choice(d["mode"], "mode", UPSAMPLE_MODES)
        return cls(**kw, **common)

    def _params_json(self) -> dict:
        return {"scale_factor": _pair_to_json(self.scale_factor), "mode": self.mode}

    def _output_shape(self, in_shape: Shape) -> Shape:
        c, h, w = in_shape
        return (c, h * self.scale_factor[0], w * self.scale_factor[1])

    def _axis_steps(self) -> tuple[AxisStep, AxisStep]:
        return (self._axis_step(self.scale_factor[0]), self._axis_step(self.scale_factor[1]))

    def _axis_step(self, s: int) -> AxisStep:
        if self.mode == "nearest":
            return _envelope(lambda o: (o // s, o // s), s)

        def bilinear(o: int) -> tuple[int, int]:
            src = Fraction(2 * o + 1, 2 * s) - Fraction(1, 2)
            lo = math.floor(src)
            return lo, lo + (src != lo)  # the second tap's weight is src - lo

        return _envelope(bilinear, s)

    @property
    def is_linear(self) -> bool:
        return True

    def _forward(self, x: np.ndarray) -> np.ndarray:
        if self.mode == "nearest":
            return ops.upsample_nearest(x, self.scale_factor)
        return ops.upsample_bilinear(x, self.scale_factor)

    # -- tiles (core/regions.py, docs/scale.md)
    def _sources(self, axis: int, n: int, out_idx: np.ndarray):
        """(first source, second source, weight of the second) of the outputs `out_idx`."""
        s = self.scale_factor[axis]
        if self.mode == "nearest":
            return out_idx // s, out_idx // s, None
        i0, i1, lam = ops.bilinear_taps(n, s)
        return i0[out_idx], i1[out_idx], lam[out_idx]

    def input_region(self, out_region: regions.Region, in_shape: Shape) -> regions.Region:
        r0, r1, _ = self._sources(0, in_shape[1], out_region.rows)
        c0, c1, _ = self._sources(1, in_shape[2], out_region.cols)
        return regions.Region(np.union1d(r0, r1), np.union1d(c0, c1))

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        """The same float32 operations as the whole-image run, on the rows and columns held."""
        r0, r1, lam = self._sources(0, in_shape[1], out_region.rows)
        c0, c1, mu = self._sources(1, in_shape[2], out_region.cols)
        p0, p1 = np.searchsorted(in_region.rows, r0), np.searchsorted(in_region.rows, r1)
        q0, q1 = np.searchsorted(in_region.cols, c0), np.searchsorted(in_region.cols, c1)
        if self.mode == "nearest":
            return np.ascontiguousarray(x[:, p0][:, :, q0])
        lam = lam[None, :, None]
        rows = x[:, p0] * (np.float32(1) - lam) + x[:, p1] * lam
        return rows[:, :, q0] * (np.float32(1) - mu) + rows[:, :, q1] * mu

    def describe(self) -> str:
        return f"upsample x{_pair_text(self.scale_factor)} {self.mode}"
