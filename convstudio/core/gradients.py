"""Exact gradients through every layer type: the backward pass behind the effective receptive
field (:mod:`convstudio.core.explain`) and fitting (:mod:`convstudio.core.fit`).

:func:`layer_backward` takes the gradient with respect to a layer's output to the gradient with
respect to its input, in float64, through ``BACKWARD``: one entry per layer type. A conv layer
goes back by transposed correlation with the same stride, dilation, groups and padding mode, a
transposed convolution by the correlation it is the adjoint of; average pooling spreads over its
window with the same divisor, max pooling goes through the winning cell of the current image (the
first maximum in scan order on ties, as PyTorch does); upsampling gathers what each input pixel
was spread to; activations multiply by their derivative at the current values; pad and stride
layers route each value back to where it came from (reflect, replicate, circular and symmetric
padding fold their gradient back onto the cells they copied).

At the kinks the derivative is one-sided; the choices are PyTorch's autograd (docs/semantics.md,
"Activations"): ReLU'(0) = 0, leaky ReLU'(0) = negative_slope, abs'(0) = sign(0) = 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import ops
from .errors import PipelineError
from .layers import AvgPool2d, Conv2d, ConvTranspose2d, Layer, MaxPool2d, Upsample

__all__ = ["BACKWARD", "layer_backward", "pad_source_index", "avg_divisors", "pool_geometry"]


def pad_source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the index of the input it copies (-1: a constant)."""
    idx = np.arange(n)
    np_mode = ops.PAD_MODES[mode]
    if np_mode == "constant":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=np_mode)


def _unpad_grad(g: np.ndarray, shape: tuple[int, int, int], pads, mode: str) -> np.ndarray:
    """Gradient w.r.t. the unpadded input from the gradient w.r.t. the padded one: every padded
    cell hands its gradient to the input cell it copied (nothing for constants)."""
    c, h, w = shape
    top, bottom, left, right = pads
    hp, wp = g.shape[1], g.shape[2]
    # a ceil-mode pooling window may reach past the padding: those cells copy nothing
    rows = pad_source_index(h, top, bottom, mode)
    cols = pad_source_index(w, left, right, mode)
    rows = np.concatenate([rows, -np.ones(hp - rows.size, int)])
    cols = np.concatenate([cols, -np.ones(wp - cols.size, int)])
    rmask, cmask = rows >= 0, cols >= 0
    tmp = np.zeros((c, h, wp), dtype=g.dtype)
    np.add.at(tmp, (slice(None), rows[rmask]), g[:, rmask])
    out = np.zeros((c, h, w), dtype=g.dtype)
    np.add.at(out, (slice(None), slice(None), cols[cmask]), tmp[:, :, cmask])
    return out


def _tap(start: int, count: int, step: int) -> slice:
    return slice(start, start + (count - 1) * step + 1, step)


def _conv_backward(layer: Conv2d, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    c = x.shape[0]
    w = layer.effective_weight(c).astype(np.float64)
    groups = layer.effective_groups(c)
    cout, cin_g, kh, kw = w.shape
    cout_g = cout // groups
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    pads = layer.pads
    hp, wp = x.shape[1] + pads[0] + pads[1], x.shape[2] + pads[2] + pads[3]
    ho, wo = g.shape[1], g.shape[2]
    gp = np.zeros((c, hp, wp))
    for grp in range(groups):
        go = g[grp * cout_g:(grp + 1) * cout_g]           # (cout_g, ho, wo)
        wg = w[grp * cout_g:(grp + 1) * cout_g]           # (cout_g, cin_g, kh, kw)
        dst = gp[grp * cin_g:(grp + 1) * cin_g]
        for a in range(kh):
            for b in range(kw):
                dst[:, _tap(a * dh, ho, sh), _tap(b * dw, wo, sw)] += np.tensordot(
                    wg[:, :, a, b], go, axes=(0, 0))
    return _unpad_grad(gp, x.shape, pads, layer.padding_mode)


def pool_geometry(layer, x):
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_pair
    return kh, kw, sh, sw, dh, dw, layer.pads


def _maxpool_winners(layer: MaxPool2d, x: np.ndarray, ho: int, wo: int):
    """Row and column (in padded coordinates) of the winning cell of every window."""
    kh, kw, sh, sw, dh, dw, pads = pool_geometry(layer, x)
    need_h, need_w = (ho - 1) * sh + dh * (kh - 1) + 1, (wo - 1) * sw + dw * (kw - 1) + 1
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (top, max(bottom, need_h - x.shape[1] - top)),
                    (left, max(right, need_w - x.shape[2] - left))),
                constant_values=-np.inf)
    best = np.full((x.shape[0], ho, wo), -np.inf)
    br = np.zeros(best.shape, int)
    bc = np.zeros(best.shape, int)
    base_r = (np.arange(ho) * sh)[None, :, None]
    base_c = (np.arange(wo) * sw)[None, None, :]
    first = True
    for a in range(kh):
        for b in range(kw):
            v = xp[:, _tap(a * dh, ho, sh), _tap(b * dw, wo, sw)]
            # strictly greater: the first maximum in scan order wins ties, as in PyTorch
            better = (v > best) | first
            first = False
            best = np.where(better, v, best)
            br = np.where(better, base_r + a * dh, br)
            bc = np.where(better, base_c + b * dw, bc)
    return br, bc, xp.shape


def _maxpool_backward(layer: MaxPool2d, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    ho, wo = g.shape[1:]
    br, bc, pshape = _maxpool_winners(layer, x, ho, wo)
    gp = np.zeros(pshape)
    ch = np.broadcast_to(np.arange(x.shape[0])[:, None, None], g.shape)
    np.add.at(gp, (ch, br, bc), g)
    return _unpad_grad(gp, x.shape, layer.pads, "zeros")


def avg_divisors(layer: AvgPool2d, x: np.ndarray, ho: int, wo: int) -> np.ndarray:
    kh, kw, sh, sw, _, _, (top, bottom, left, right) = pool_geometry(layer, x)
    h, w = x.shape[1:]

    def axis(n, k, s, pb, pa, count):
        start = np.arange(count) * s - pb
        end = np.minimum(start + k, n + pa)
        if layer.count_include_pad:
            return end - start
        return np.minimum(end, n) - np.maximum(start, 0)

    return np.outer(axis(h, kh, sh, top, bottom, ho), axis(w, kw, sw, left, right, wo)).astype(float)


def _avgpool_backward(layer: AvgPool2d, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    kh, kw, sh, sw, _, _, pads = pool_geometry(layer, x)
    ho, wo = g.shape[1:]
    top, bottom, left, right = pads
    h, w = x.shape[1:]
    # each window covers at most its part inside the padded input: cells past it are dropped
    hp = max(h + top + bottom, (ho - 1) * sh + kh)
    wp = max(w + left + right, (wo - 1) * sw + kw)
    gs = g / avg_divisors(layer, x, ho, wo)[None]
    gp = np.zeros((x.shape[0], hp, wp))
    for a in range(kh):
        for b in range(kw):
            gp[:, _tap(a, ho, sh), _tap(b, wo, sw)] += gs
    return _unpad_grad(gp, x.shape, pads, "zeros")



def _conv_transpose_backward(layer: ConvTranspose2d, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The adjoint of the scatter is a gather, i.e. a strided correlation of the zero-padded
    output gradient: dx[c, i] = sum_{o, a} w[c, o, a] * g[o, i*s + a*d - p]."""
    w = np.asarray(layer.weight, dtype=np.float64)
    cin, cout_g, kh, kw = w.shape
    groups = layer.groups
    cin_g = cin // groups
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    h, wd = x.shape[1:]
    # every index i*s + a*d lies in [0, ho + 2p): output_padding only adds rows past the last
    gp = np.pad(g, ((0, 0), (ph, ph), (pw, pw)))
    dx = np.zeros(x.shape)
    for grp in range(groups):
        go = gp[grp * cout_g:(grp + 1) * cout_g]
        wg = w[grp * cin_g:(grp + 1) * cin_g]  # (cin_g, cout_g, kh, kw)
        dst = dx[grp * cin_g:(grp + 1) * cin_g]
        for a in range(kh):
            for b in range(kw):
                dst += np.tensordot(wg[:, :, a, b], go[:, _tap(a * dh, h, sh), _tap(b * dw, wd, sw)],
                                    axes=(1, 0))
    return dx


def _upsample_backward(layer: Upsample, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Every input pixel collects the gradient of the output pixels it was spread to, with the
    weight it was spread with (1 for nearest; the interpolation weights for bilinear)."""
    c, h, w = x.shape
    sh, sw = layer.scale_factor
    if layer.mode == "nearest":
        return g.reshape(c, h, sh, w, sw).sum(axis=(2, 4))
    i0, i1, lam = ops.bilinear_taps(h, sh)
    j0, j1, mu = ops.bilinear_taps(w, sw)
    lam, mu = lam.astype(np.float64), mu.astype(np.float64)
    rows = np.zeros((c, h, g.shape[2]))
    np.add.at(rows, (slice(None), i0), g * (1.0 - lam)[None, :, None])
    np.add.at(rows, (slice(None), i1), g * lam[None, :, None])
    dx = np.zeros(x.shape)
    np.add.at(dx, (slice(None), slice(None), j0), rows * (1.0 - mu))
    np.add.at(dx, (slice(None), slice(None), j1), rows * mu)
    return dx


def _stride_backward(layer, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    out = np.zeros(x.shape)
    out[:, layer.offset[0]::layer.stride[0], layer.offset[1]::layer.stride[1]] = g
    return out


def _sigmoid_backward(layer, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    y64 = y.astype(np.float64)
    return g * y64 * (1.0 - y64)


def _tanh_backward(layer, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    y64 = y.astype(np.float64)
    return g * (1.0 - y64 * y64)


def _no_output(fn: Callable) -> Callable:
    """A backward that needs only (layer, x, g) as one of the BACKWARD signature."""
    return lambda layer, x, y, g: fn(layer, x, g)


#: Layer type -> backward(layer, x, y, g): the gradient w.r.t. the input x, given the gradient g
#: w.r.t. the output y (both float64 arrays, x and y the layer's actual values).
BACKWARD: dict[str, Callable[[Layer, np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "conv2d": _no_output(_conv_backward),
    "conv_transpose2d": _no_output(_conv_transpose_backward),
    "maxpool2d": _no_output(_maxpool_backward),
    "avgpool2d": _no_output(_avgpool_backward),
    "pad": lambda layer, x, y, g: _unpad_grad(g, x.shape, layer.pads, layer.mode),
    "stride": _no_output(_stride_backward),
    "upsample": _no_output(_upsample_backward),
    "relu": lambda layer, x, y, g: g * (x > 0),
    "leaky_relu": lambda layer, x, y, g: g * np.where(x > 0, 1.0, layer.negative_slope),
    "abs": lambda layer, x, y, g: g * np.sign(x),
    "sigmoid": _sigmoid_backward,
    "tanh": _tanh_backward,
}


def layer_backward(layer: Layer, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. the layer input x, given the gradient g w.r.t. its output y."""
    if not layer.enabled:
        return g
    backward = BACKWARD.get(layer.type)
    if backward is None:  # pragma: no cover - every registered type has an entry (tested)
        raise PipelineError(f"no gradient for layer type {layer.type}")
    return backward(layer, x, y, g)
