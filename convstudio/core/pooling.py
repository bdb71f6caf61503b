"""The pooling layers: max and average pooling over a (dilated, for max) window.

Re-exported by :mod:`convstudio.core.layers`, which registers them in ``LAYER_TYPES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import ops, regions
from .errors import PipelineError
from .layerbase import Layer
from .layerspec import (
    MAX_DILATION,
    MAX_KERNEL,
    MAX_STRIDE,
    AxisStep,
    PaddingSpec,
    Pads,
    Shape,
    _bool,
    _padding,
    _padding_to_json,
    _pair,
    _pair_text,
    _pair_to_json,
    _resolve_padding,
)

__all__ = ["MaxPool2d", "AvgPool2d"]


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

    # -- tiles (core/regions.py, docs/scale.md): the padding is a constant (-inf or 0), and
    #    ceil-mode windows may hang past it
    def _windows(self, in_shape: Shape) -> tuple[regions.AxisWindow, regions.AxisWindow]:
        t, b, l, r = self.pads
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_pair
        return (regions.window(in_shape[1], dh * (kh - 1) + 1, sh, 0, t, b, "zeros", self.ceil_mode),
                regions.window(in_shape[2], dw * (kw - 1) + 1, sw, 0, l, r, "zeros", self.ceil_mode))

    def input_region(self, out_region: regions.Region, in_shape: Shape) -> regions.Region:
        return regions.window_input_region(self._windows(in_shape), out_region)

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

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        def compute(block, stride, _indices):
            return ops.max_pool(block, self.kernel_size, stride=stride, dilation=self.dilation)

        return regions.window_forward_region(self._windows(in_shape), x, in_region, out_region, compute,
                                             fill=-np.inf)


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

    def forward_region(self, x: np.ndarray, in_region: regions.Region, out_region: regions.Region,
                       in_shape: Shape) -> np.ndarray:
        wr, wc = self._windows(in_shape)
        (kh, kw), include = self.kernel_size, self.count_include_pad

        def compute(block, stride, indices):
            rows, cols = indices
            total = regions.window_sum(block, (kh, kw), stride, (len(rows), len(cols)))
            # the whole image's divisors for these outputs (ops.avg_pool's rule)
            total /= (regions.avg_pool_divisor(wr, kh, rows, include)[:, None]
                      * regions.avg_pool_divisor(wc, kw, cols, include)[None, :])
            return total

        return regions.window_forward_region((wr, wc), x, in_region, out_region, compute)

