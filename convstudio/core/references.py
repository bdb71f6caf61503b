"""The independent reference of every layer type that :mod:`convstudio.core.crosscheck` compares
the NumPy core with (``convstudio check`` and the app's cross-check panel).

The reference never calls :mod:`convstudio.core.ops` (the thing being checked) nor the layers'
derived helpers (``effective_weight`` and friends): it reads only a layer's plain parameters
(weight or kernel, bias, scale, flip, groups, stride, dilation, resolved ``pads``, ...) and
recomputes everything else itself, in float64, with OpenCV primitives:

========================  ===================================================================
conv2d                    ``cv2.copyMakeBorder`` padding, then ``cv2.filter2D`` (which is a
                          cross-correlation) with ``anchor=(0, 0)`` and a dilated kernel (zeros
                          inserted), cropped to the rows/columns where the window fits and
                          subsampled by the stride; summed over the (output, input-in-group)
                          pairs, plus the bias. ``flip`` and ``scale`` are applied here.
maxpool2d                 -inf padding (``copyMakeBorder``), extra -inf as far as a ceil_mode
                          window reaches, ``cv2.dilate`` with a (dilated) rectangular structuring
                          element anchored at (0, 0), subsampled by the stride.
avgpool2d                 zero padding, ``cv2.boxFilter(normalize=False)`` for the window sums;
                          the divisor is the box sum of a mask of ones over the padded input
                          (count_include_pad) or over the real pixels only, so the PyTorch divisor
                          rules fall out of the geometry instead of being restated.
conv_transpose2d          Dumoulin & Visin's equivalence, written out: the input zero-stuffed
                          (stride - 1 zeros between samples), padded by the dilated kernel's
                          extent - 1, ``cv2.filter2D`` with the flipped, dilated kernel
                          (the full correlation = the scatter), cropped by ``padding``; rows
                          that ``output_padding`` adds past the scatter hold the bias only.
upsample                  ``cv2.resize``: INTER_NEAREST (floor(dst * in / out), PyTorch's
                          nearest rule) and INTER_LINEAR (the half-pixel rule, clamped at the
                          border, = PyTorch's bilinear with align_corners=False) at the integer
                          factors the layer allows.
pad                       ``cv2.copyMakeBorder`` (constant, reflect101, replicate, wrap,
                          reflect for "symmetric").
stride                    slicing.
relu / leaky_relu / abs   ``cv2.threshold`` (TOZERO / TOZERO_INV) and ``cv2.absdiff``.
sigmoid / tanh            ``cv2.exp`` in float64: 1 / (1 + e^-x) with x clipped to +-700, and
                          (e^2x - 1) / (e^2x + 1) with x clipped to +-20 (tanh(20) is 1 in
                          float64); no overflow and no warnings for any finite input.
========================  ===================================================================

Every shape and size rule (conv output size, PyTorch's ceil_mode rule) is restated here in a few
lines rather than imported. Padding: OpenCV 5's ``copyMakeBorder`` handles pads larger than the
image in every mode (it reflects / wraps repeatedly, exactly like ``numpy.pad``); should a build
refuse one, :func:`_pad_plane` falls back to ``numpy.pad`` with the matching mode ('reflect',
'edge', 'wrap', 'symmetric'), the documented equivalent. ``cv2.filter2D`` itself never sees BORDER_WRAP (which
it refuses): it always runs on an input padded beforehand, with BORDER_CONSTANT, and only the
rows/columns that never touch its border are kept. Large kernels make ``filter2D`` switch to a
DFT; in float64 that is still accurate to ~1e-14, so the reference is the accurate side.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .layers import Layer
from .pipeline import RunCancelled

__all__ = ["REFERENCES", "reference64", "conv_params", "poll", "Cancelled"]


# Pipeline padding-mode names -> (OpenCV border, numpy.pad mode of the fallback).
_BORDERS = {
    "zeros": (cv2.BORDER_CONSTANT, "constant"),
    "constant": (cv2.BORDER_CONSTANT, "constant"),
    "reflect": (cv2.BORDER_REFLECT_101, "reflect"),
    "replicate": (cv2.BORDER_REPLICATE, "edge"),
    "circular": (cv2.BORDER_WRAP, "wrap"),
    "symmetric": (cv2.BORDER_REFLECT, "symmetric"),
}

_SIGMOID_CLIP = 700.0  # e^700 ~ 1e304 is still finite in float64; sigmoid(-700) is 0 in float32
_TANH_CLIP = 20.0  # tanh(20) == 1.0 in float64

Cancelled = Callable[[], bool] | None


# --------------------------------------------------------------------------------------------
# Small helpers


def poll(cancelled: Cancelled) -> None:
    if cancelled is not None and cancelled():
        raise RunCancelled()


def _pad_plane(plane: np.ndarray, pads: tuple[int, int, int, int], mode: str,
               value: float = 0.0) -> np.ndarray:
    """Pad one (H, W) float64 plane by (top, bottom, left, right) with cv2.copyMakeBorder.

    Falls back to numpy.pad with the equivalent mode if OpenCV refuses the pad (older builds
    refuse some pads larger than the image); OpenCV 5.0 accepts them all and agrees with numpy.
    """
    top, bottom, left, right = (int(p) for p in pads)
    if not (top or bottom or left or right):
        return plane
    border, np_mode = _BORDERS[mode]
    fill = float(value) if mode == "constant" else 0.0
    try:
        return cv2.copyMakeBorder(plane, top, bottom, left, right, border, value=fill)
    except cv2.error:
        widths = ((top, bottom), (left, right))
        if np_mode == "constant":
            return np.pad(plane, widths, mode="constant", constant_values=fill)
        return np.pad(plane, widths, mode=np_mode)


def _conv_len(n_padded: int, k_eff: int, stride: int) -> int:
    """Output length of a window of k_eff taps sliding at `stride` over n_padded samples."""
    return (n_padded - k_eff) // stride + 1


def _pool_len(n: int, k: int, stride: int, before: int, after: int, dilation: int,
              ceil_mode: bool) -> int:
    """PyTorch's pooling output length; with ceil_mode a window starting in the bottom/right
    padding (or beyond) is dropped."""
    span = n + before + after - dilation * (k - 1) - 1
    if ceil_mode:
        out = math.ceil(span / stride) + 1
        if (out - 1) * stride >= n + before:
            out -= 1
        return out
    return span // stride + 1


def _dilated(kernel: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """A (kh, kw) kernel with dh - 1 / dw - 1 zeros inserted between its taps."""
    kh, kw = kernel.shape
    if dh == 1 and dw == 1:
        return kernel
    out = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


def _as_2d(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> contiguous float64 (C*H, W) for OpenCV's element-wise functions."""
    c, h, w = x.shape
    return np.ascontiguousarray(x, dtype=np.float64).reshape(c * h, w)


# --------------------------------------------------------------------------------------------
# Per-layer references (float64 out)


def conv_params(layer: Layer, c: int):
    """(weight (Cout, Cin/groups, kh, kw) float64, bias (Cout,) float64 or None, groups),
    rebuilt from the layer's plain attributes: scaled, flipped, the kernel form repeated."""
    if layer.weight is not None:
        w = np.asarray(layer.weight, dtype=np.float64)
        groups = int(layer.groups)
    else:
        k = np.asarray(layer.kernel, dtype=np.float64)
        w = np.broadcast_to(k, (c, 1) + k.shape)
        groups = c
    if layer.flip:
        w = w[:, :, ::-1, ::-1]
    w = np.ascontiguousarray(w) * float(layer.scale)
    bias = None
    if layer.bias is not None:
        b = np.asarray(layer.bias, dtype=np.float64).reshape(-1)
        bias = np.full(w.shape[0], b[0]) if b.shape[0] == 1 and w.shape[0] != 1 else b
    return w, bias, groups


def _ref_conv2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, wd = x.shape
    w, bias, groups = conv_params(layer, c)
    cout, cin_g, kh, kw = w.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    pads = layer.pads
    hp, wp = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = _conv_len(hp, keh, sh), _conv_len(wp, kew, sw)
    rows = slice(0, (ho - 1) * sh + 1, sh)
    cols = slice(0, (wo - 1) * sw + 1, sw)
    cout_g = cout // groups
    out = np.zeros((cout, ho, wo), dtype=np.float64)
    for g in range(groups):
        for ci in range(cin_g):
            poll(cancelled)
            plane = _pad_plane(np.ascontiguousarray(x[g * cin_g + ci], dtype=np.float64), pads,
                               layer.padding_mode)
            for o in range(g * cout_g, (g + 1) * cout_g):
                k = w[o, ci]
                if not k.any():
                    continue
                full = cv2.filter2D(plane, cv2.CV_64F, _dilated(k, dh, dw), anchor=(0, 0),
                                    borderType=cv2.BORDER_CONSTANT)
                out[o] += full[rows, cols]
    if bias is not None:
        out += bias[:, None, None]
    return out


def _ref_conv_transpose2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    cin, h, wd = x.shape
    w = np.asarray(layer.weight, dtype=np.float64)  # (Cin, Cout/groups, kh, kw)
    _, cout_g, kh, kw = w.shape
    groups = int(layer.groups)
    cin_g = cin // groups
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    full_h, full_w = (h - 1) * sh + keh, (wd - 1) * sw + kew  # where the scatter lands
    ho = full_h - 2 * ph + layer.output_padding[0]
    wo = full_w - 2 * pw + layer.output_padding[1]
    out = np.zeros((cout_g * groups, ho, wo), dtype=np.float64)
    # output row r is scatter row r + ph; past full_h (output_padding) nothing lands
    nr, nc = max(0, min(ho, full_h - ph)), max(0, min(wo, full_w - pw))
    for ci in range(cin):
        poll(cancelled)
        stuffed = np.zeros(((h - 1) * sh + 1, (wd - 1) * sw + 1), dtype=np.float64)
        stuffed[::sh, ::sw] = x[ci]
        plane = cv2.copyMakeBorder(stuffed, keh - 1, keh - 1, kew - 1, kew - 1, cv2.BORDER_CONSTANT,
                                   value=0.0)
        g = ci // cin_g
        for o in range(cout_g):
            k = w[ci, o, ::-1, ::-1]
            if not k.any():
                continue
            full = cv2.filter2D(plane, cv2.CV_64F, _dilated(np.ascontiguousarray(k), dh, dw),
                                anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            out[g * cout_g + o, :nr, :nc] += full[ph:ph + nr, pw:pw + nc]
    if layer.bias is not None:
        out += np.asarray(layer.bias, dtype=np.float64)[:, None, None]
    return out


def _ref_upsample(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, w = x.shape
    sh, sw = layer.scale_factor
    interp = cv2.INTER_NEAREST if layer.mode == "nearest" else cv2.INTER_LINEAR
    out = []
    for ch in range(c):
        poll(cancelled)
        plane = np.ascontiguousarray(x[ch], dtype=np.float64)
        out.append(cv2.resize(plane, (w * sw, h * sh), interpolation=interp).reshape(h * sh, w * sw))
    return np.stack(out)


def _pool_geometry(layer: Layer, h: int, w: int, dilation: tuple[int, int]):
    (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    (dh, dw) = dilation
    top, bottom, left, right = layer.pads
    ho = _pool_len(h, kh, sh, top, bottom, dh, layer.ceil_mode)
    wo = _pool_len(w, kw, sw, left, right, dw, layer.ceil_mode)
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # extra padding past bottom / right as far as the last (ceil_mode) window reaches
    extra_b = max(0, (ho - 1) * sh + keh - (h + top + bottom))
    extra_r = max(0, (wo - 1) * sw + kew - (w + left + right))
    rows = slice(0, (ho - 1) * sh + 1, sh)
    cols = slice(0, (wo - 1) * sw + 1, sw)
    return (top, bottom + extra_b, left, right + extra_r), (keh, kew), rows, cols


def _ref_maxpool2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, w = x.shape
    (dh, dw) = layer.dilation
    pads, (keh, kew), rows, cols = _pool_geometry(layer, h, w, (dh, dw))
    element = np.zeros((keh, kew), dtype=np.uint8)
    element[::dh, ::dw] = 1
    out = []
    for ch in range(c):
        poll(cancelled)
        plane = np.ascontiguousarray(x[ch], dtype=np.float64)
        t, b, l, r = pads
        if t or b or l or r:
            plane = cv2.copyMakeBorder(plane, t, b, l, r, cv2.BORDER_CONSTANT, value=-np.inf)
        full = cv2.dilate(plane, element, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT,
                          borderValue=-np.inf)
        out.append(full[rows, cols])
    return np.stack(out)


def _box_sums(plane: np.ndarray, keh: int, kew: int, rows: slice, cols: slice) -> np.ndarray:
    full = cv2.boxFilter(plane, cv2.CV_64F, (kew, keh), anchor=(0, 0), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)
    return full[rows, cols]


def _ref_avgpool2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, w = x.shape
    pads, (keh, kew), rows, cols = _pool_geometry(layer, h, w, (1, 1))
    t, b, l, r = pads
    top, bottom, left, right = layer.pads
    hp, wp = h + t + b, w + l + r
    # Divisor: how many cells of each window lie in the padded input (count_include_pad) or in
    # the real input; never the ceil_mode overhang.
    mask = np.zeros((hp, wp), dtype=np.float64)
    if layer.count_include_pad:
        mask[: h + top + bottom, : w + left + right] = 1.0
    else:
        mask[top: top + h, left: left + w] = 1.0
    divisor = _box_sums(mask, keh, kew, rows, cols)
    out = []
    for ch in range(c):
        poll(cancelled)
        plane = np.ascontiguousarray(x[ch], dtype=np.float64)
        if t or b or l or r:
            plane = cv2.copyMakeBorder(plane, t, b, l, r, cv2.BORDER_CONSTANT, value=0.0)
        out.append(_box_sums(plane, keh, kew, rows, cols) / divisor)
    return np.stack(out)


def _ref_pad(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    out = []
    for ch in range(x.shape[0]):
        poll(cancelled)
        out.append(_pad_plane(np.ascontiguousarray(x[ch], dtype=np.float64), layer.pads,
                              layer.mode, layer.value))
    return np.stack(out)


def _ref_stride(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    (sh, sw), (oh, ow) = layer.stride, layer.offset
    return np.array(x[:, oh::sh, ow::sw], dtype=np.float64)


def _elementwise(fn: Callable[[np.ndarray, Layer], np.ndarray]):
    def ref(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
        return fn(_as_2d(x), layer).reshape(x.shape)

    return ref


def _relu(x2: np.ndarray, layer: Layer) -> np.ndarray:
    return cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO)[1]


def _leaky_relu(x2: np.ndarray, layer: Layer) -> np.ndarray:
    pos = cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO)[1]
    neg = cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO_INV)[1]
    return pos + float(layer.negative_slope) * neg


def _abs(x2: np.ndarray, layer: Layer) -> np.ndarray:
    return cv2.absdiff(x2, np.zeros_like(x2))


def _sigmoid(x2: np.ndarray, layer: Layer) -> np.ndarray:
    e = cv2.exp(-np.clip(x2, -_SIGMOID_CLIP, _SIGMOID_CLIP))
    return 1.0 / (1.0 + e)


def _tanh(x2: np.ndarray, layer: Layer) -> np.ndarray:
    e = cv2.exp(2.0 * np.clip(x2, -_TANH_CLIP, _TANH_CLIP))
    return (e - 1.0) / (e + 1.0)


REFERENCES: dict[str, Callable[[Layer, np.ndarray, Cancelled], np.ndarray]] = {
    "conv2d": _ref_conv2d,
    "conv_transpose2d": _ref_conv_transpose2d,
    "upsample": _ref_upsample,
    "maxpool2d": _ref_maxpool2d,
    "avgpool2d": _ref_avgpool2d,
    "pad": _ref_pad,
    "stride": _ref_stride,
    "relu": _elementwise(_relu),
    "leaky_relu": _elementwise(_leaky_relu),
    "abs": _elementwise(_abs),
    "sigmoid": _elementwise(_sigmoid),
    "tanh": _elementwise(_tanh),
}


def reference64(layer: Layer, x: np.ndarray, cancelled: Cancelled = None) -> np.ndarray:
    """The reference output in float64 (x: (C, H, W), already known to fit the layer)."""
    if not layer.enabled:
        return np.asarray(x, dtype=np.float64)
    try:
        ref = REFERENCES[layer.type]
    except KeyError:
        raise NotImplementedError(f"no OpenCV reference for layer type {layer.type!r}") from None
    return ref(layer, x, cancelled)
