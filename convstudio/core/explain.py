"""Seeing why: the effective receptive field (exact gradients of one output value with respect to
the input) and the arithmetic behind one output value, written out as the tutorial does.

The effective receptive field back-propagates a one-hot through the stack: a conv layer by
transposed correlation with the same stride, dilation, groups and padding mode; average pooling by
spreading over its window with the same divisor; max pooling through the winning cell of the
current image (the first maximum in scan order on ties, as PyTorch does); activations through their
derivative at the current values; pad and stride layers by routing each value back to where it came
from (reflect, replicate and circular padding fold their gradient back onto the cells they copied).

At the kinks the derivative is one-sided; the choices are PyTorch's autograd (docs/semantics.md,
"Activations"): ReLU'(0) = 0, leaky ReLU'(0) = negative_slope, abs'(0) = sign(0) = 0. The result equals
``torch.autograd.grad(y[layer][channel, row, col], x)`` for the same stack evaluated on the same
values (checked against it on random stacks with ties and exact zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .errors import PipelineError
from .layers import (
    Abs,
    AvgPool2d,
    Conv2d,
    Layer,
    LeakyReLU,
    MaxPool2d,
    Pad,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
)
from .pipeline import Pipeline, as_chw

__all__ = ["effective_receptive_field", "explain_pixel", "pad_source_index", "format_expression",
           "float32_sum_bound", "FLOAT32_UNIT_ROUNDOFF"]


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


def _pool_geometry(layer, x):
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_pair
    return kh, kw, sh, sw, dh, dw, layer.pads


def _maxpool_winners(layer: MaxPool2d, x: np.ndarray, ho: int, wo: int):
    """Row and column (in padded coordinates) of the winning cell of every window."""
    kh, kw, sh, sw, dh, dw, pads = _pool_geometry(layer, x)
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


def _avg_divisors(layer: AvgPool2d, x: np.ndarray, ho: int, wo: int) -> np.ndarray:
    kh, kw, sh, sw, _, _, (top, bottom, left, right) = _pool_geometry(layer, x)
    h, w = x.shape[1:]

    def axis(n, k, s, pb, pa, count):
        start = np.arange(count) * s - pb
        end = np.minimum(start + k, n + pa)
        if layer.count_include_pad:
            return end - start
        return np.minimum(end, n) - np.maximum(start, 0)

    return np.outer(axis(h, kh, sh, top, bottom, ho), axis(w, kw, sw, left, right, wo)).astype(float)


def _avgpool_backward(layer: AvgPool2d, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    kh, kw, sh, sw, _, _, pads = _pool_geometry(layer, x)
    ho, wo = g.shape[1:]
    top, bottom, left, right = pads
    h, w = x.shape[1:]
    # each window covers at most its part inside the padded input: cells past it are dropped
    hp = max(h + top + bottom, (ho - 1) * sh + kh)
    wp = max(w + left + right, (wo - 1) * sw + kw)
    gs = g / _avg_divisors(layer, x, ho, wo)[None]
    gp = np.zeros((x.shape[0], hp, wp))
    for a in range(kh):
        for b in range(kw):
            gp[:, _tap(a, ho, sh), _tap(b, wo, sw)] += gs
    return _unpad_grad(gp, x.shape, pads, "zeros")


def _layer_backward(layer: Layer, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. the layer input x, given the gradient g w.r.t. its output y."""
    if not layer.enabled:
        return g
    if isinstance(layer, Conv2d):
        return _conv_backward(layer, x, g)
    if isinstance(layer, MaxPool2d):
        return _maxpool_backward(layer, x, g)
    if isinstance(layer, AvgPool2d):
        return _avgpool_backward(layer, x, g)
    if isinstance(layer, Pad):
        return _unpad_grad(g, x.shape, layer.pads, layer.mode)
    if isinstance(layer, Stride):
        out = np.zeros(x.shape)
        out[:, layer.offset[0]::layer.stride[0], layer.offset[1]::layer.stride[1]] = g
        return out
    if isinstance(layer, ReLU):
        return g * (x > 0)
    if isinstance(layer, LeakyReLU):
        return g * np.where(x > 0, 1.0, layer.negative_slope)
    if isinstance(layer, Abs):
        return g * np.sign(x)
    if isinstance(layer, Sigmoid):
        y64 = y.astype(np.float64)
        return g * y64 * (1.0 - y64)
    if isinstance(layer, Tanh):
        y64 = y.astype(np.float64)
        return g * (1.0 - y64 * y64)
    raise PipelineError(f"no gradient for layer type {layer.type}")  # pragma: no cover


def _check_position(shapes, layer: int, channel: int, row: int, col: int) -> None:
    if not 0 <= layer < len(shapes):
        raise PipelineError(f"layer must be between 0 and {len(shapes) - 1}, got {layer}")
    c, h, w = shapes[layer]
    if not (0 <= channel < c and 0 <= row < h and 0 <= col < w):
        raise PipelineError(f"position (channel {channel}, row {row}, col {col}) is outside "
                            f"layer {layer}'s output of {c} x {h} x {w}")


def effective_receptive_field(
    pipeline: Pipeline, image: Any, layer: int, channel: int, row: int, col: int, *,
    outputs: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Exact gradient of output value ``[layer][channel, row, col]`` w.r.t. every input value.

    Parameters
    ----------
    pipeline : Pipeline
    image : (H, W) or (C, H, W) array
    layer : int
        1-based layer index (0 is the input itself: the result is then a one-hot).
    channel, row, col : int
        Position in that layer's output.
    outputs : list of arrays, optional
        ``pipeline.run(image)`` if already computed.

    Returns
    -------
    (C, H, W) float32
        For a stack of only linear layers this is the composed kernel placed at the pixel.
    """
    x = as_chw(image)
    shapes = pipeline.output_shapes(x.shape)
    _check_position(shapes, layer, channel, row, col)
    if outputs is None:
        outputs = pipeline.run(x, upto=layer) if layer else []
    acts = [x] + list(outputs[:layer])
    g = np.zeros(shapes[layer])
    g[channel, row, col] = 1.0
    for i in range(layer, 0, -1):
        g = _layer_backward(pipeline.layers[i - 1], acts[i - 1], acts[i], g)
    return g.astype(np.float32)


# ---------------------------------------------------------------------------------- inspector


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.4g}"


#: Unit roundoff of float32 (half the distance from 1 to the next float32).
FLOAT32_UNIT_ROUNDOFF = 2.0 ** -24


def float32_sum_bound(abs_sum: float, terms: int, result: float) -> float:
    """Largest difference between the exact value of a sum of `terms` products and the float32
    value the core computes for it, whatever the order of the additions.

    ``gamma(n) * sum |w x|`` with ``gamma(n) = n u / (1 - n u)`` (Higham, *Accuracy and Stability
    of Numerical Algorithms*, 2002, eq. 3.5) bounds the rounding of the products and the
    additions; one more half unit in the last place covers rounding the result to float32.
    The ordering-free form covers every path of the core (direct sums, GEMMs of any blocking,
    Winograd's tiles, whose error is bounded by the window's own sum; the float64 FFT is more
    accurate still). See docs/semantics.md, "How exact the numbers are".

    Examples
    --------
    >>> float32_sum_bound(4.0, 4, 19.0) < 1e-5
    True
    """
    n = (terms + 1) * FLOAT32_UNIT_ROUNDOFF  # + 1: a bias added after the products
    gamma = n / (1.0 - n) if n < 1.0 else float("inf")
    return gamma * abs_sum + FLOAT32_UNIT_ROUNDOFF * abs(result)


def format_expression(values, weights, result: float, bias: float | None = None) -> str:
    """'0×0 + 1×1 + 3×2 + 4×3 = 19', the tutorial's way of writing one output value."""
    terms = [f"{_fmt(v)}×{_fmt(w)}" for v, w in zip(np.ravel(values), np.ravel(weights))]
    if bias:
        terms.append(_fmt(bias))
    return " + ".join(terms).replace("+ -", "- ") + f" = {_fmt(result)}"


def _rounding(info: dict, exact: float, bound: float) -> None:
    """Record how the map's float32 value relates to the exact float64 arithmetic: `bound` is
    float32's rounding bound for this sum, and `within_bound` says whether the map's value lies
    inside it (False means the map is not what this arithmetic gives, beyond rounding)."""
    out = info["output"]
    diff = abs(out - exact) if np.isfinite(out) and np.isfinite(exact) else (
        0.0 if out == exact or (np.isnan(out) and np.isnan(exact)) else float("inf"))
    info.update(bound=bound, within_bound=bool(diff <= bound))


def _window(xp_index_rows, xp_index_cols, x_channel, constant=0.0):
    """Values of a window given padded-coordinate source indices (-1: padding constant)."""
    vals = np.full((xp_index_rows.size, xp_index_cols.size), constant, dtype=np.float64)
    mask = (xp_index_rows[:, None] >= 0) & (xp_index_cols[None, :] >= 0)
    r = np.clip(xp_index_rows, 0, None)
    c = np.clip(xp_index_cols, 0, None)
    vals[mask] = x_channel[np.ix_(r, c)][mask]
    return vals, ~mask


def explain_pixel(
    pipeline: Pipeline, image: Any, layer: int, channel: int, row: int, col: int, *,
    outputs: list[np.ndarray] | None = None,
) -> dict:
    """How output value ``[layer][channel, row, col]`` was computed, as plain JSON-able numbers.

    For conv2d: per input channel the window (padding cells filled with what the padding mode
    put there and flagged in ``padding``), the kernel actually applied (scaled, flipped), the
    products and their sum, then the bias and the total. For pooling: the window, the padding
    flags, the winner (max) or the divisor (avg). For pad / stride layers: where the value came
    from. For activations: input and output. Rows/cols are input-of-layer coordinates.
    """
    x = as_chw(image)
    shapes = pipeline.output_shapes(x.shape)
    if layer < 1:
        raise PipelineError("layer must be at least 1 (0 is the input, computed by nothing)")
    _check_position(shapes, layer, channel, row, col)
    if outputs is None:
        outputs = pipeline.run(x, upto=layer)
    inp = x if layer == 1 else outputs[layer - 2]
    out_value = float(outputs[layer - 1][channel, row, col])
    lyr = pipeline.layers[layer - 1]
    info: dict[str, Any] = {"layer": layer, "type": lyr.type, "channel": channel, "row": row,
                            "col": col, "output": out_value}
    if not lyr.enabled:
        info.update(kind="identity", input=float(inp[channel, row, col]))
        return info
    h, w = inp.shape[1:]
    if isinstance(lyr, Conv2d):
        c_in = inp.shape[0]
        wt = lyr.effective_weight(c_in)
        groups = lyr.effective_groups(c_in)
        cout, cin_g, kh, kw = wt.shape
        grp = channel // (cout // groups)
        top, bottom, left, right = lyr.pads
        (sh, sw), (dh, dw) = lyr.stride, lyr.dilation
        rows_p = row * sh + np.arange(kh) * dh
        cols_p = col * sw + np.arange(kw) * dw
        src_r = pad_source_index(h, top, bottom, lyr.padding_mode)[rows_p]
        src_c = pad_source_index(w, left, right, lyr.padding_mode)[cols_p]
        per_channel = []
        total = 0.0
        for c in range(cin_g):
            ci = grp * cin_g + c
            vals, _ = _window(src_r, src_c, inp[ci])
            in_pad = (rows_p[:, None] < top) | (rows_p[:, None] >= top + h) | \
                     (cols_p[None, :] < left) | (cols_p[None, :] >= left + w)
            k = wt[channel, c].astype(np.float64)
            prod = vals * k
            s = float(prod.sum())
            total += s
            per_channel.append({
                "input_channel": int(ci), "rows": (rows_p - top).tolist(),
                "cols": (cols_p - left).tolist(), "window": vals.tolist(), "kernel": k.tolist(),
                "products": prod.tolist(), "padding": in_pad.tolist(), "sum": s,
                "expression": format_expression(vals, k, s)})
        b = lyr.effective_bias(c_in)
        bias = float(b[channel]) if b is not None else 0.0
        abs_sum = sum(float(np.abs(p["products"]).sum()) for p in per_channel) + abs(bias)
        _rounding(info, total + bias, float32_sum_bound(abs_sum, cin_g * kh * kw, total + bias))
        info.update(kind="conv", inputs=per_channel, bias=bias, total=total + bias,
                    expression=" + ".join(_fmt(p["sum"]) for p in per_channel)
                    + (f" + {_fmt(bias)}" if bias else "") + f" = {_fmt(total + bias)}")
        return info
    if isinstance(lyr, (MaxPool2d, AvgPool2d)):
        kh, kw, sh, sw, dh, dw, (top, bottom, left, right) = _pool_geometry(lyr, inp)
        rows_p = row * sh + np.arange(kh) * dh
        cols_p = col * sw + np.arange(kw) * dw
        r_in, c_in = rows_p - top, cols_p - left
        inside = ((r_in >= 0) & (r_in < h))[:, None] & ((c_in >= 0) & (c_in < w))[None, :]
        vals = np.full((kh, kw), -np.inf if isinstance(lyr, MaxPool2d) else 0.0)
        rr, cc = np.clip(r_in, 0, h - 1), np.clip(c_in, 0, w - 1)
        vals[inside] = inp[channel][np.ix_(rr, cc)][inside]
        # cells beyond bottom/right padding (ceil mode) count neither as value nor in the divisor
        beyond = (rows_p >= h + top + bottom)[:, None] | (cols_p >= w + left + right)[None, :]
        info.update(rows=r_in.tolist(), cols=c_in.tolist(),
                    window=[[None if not np.isfinite(v) else float(v) for v in rv] for rv in vals],
                    padding=(~inside).tolist(), beyond=beyond.tolist())
        if isinstance(lyr, MaxPool2d):
            flat = np.where(inside, vals, -np.inf).ravel()
            k = int(np.argmax(flat))  # first maximum in scan order, as PyTorch
            info.update(kind="max", winner=[int(r_in[k // kw]), int(c_in[k % kw])],
                        winner_index=[k // kw, k % kw], total=float(flat[k]))
        else:
            div = float(_avg_divisors(lyr, inp, shapes[layer][1], shapes[layer][2])[row, col])
            s = float(vals[inside].sum())
            n_in = int(inside.sum())
            # the core sums n values, then divides: one more rounding of a value <= the sum
            bound = float32_sum_bound(float(np.abs(vals[inside]).sum()), n_in + 1, s) / div
            _rounding(info, s / div, bound)
            info.update(kind="avg", sum=s, divisor=div, total=s / div,
                        expression=f"({' + '.join(_fmt(v) for v in vals[inside])}) / {_fmt(div)}"
                                   f" = {_fmt(s / div)}")
        return info
    if isinstance(lyr, Pad):
        top, bottom, left, right = lyr.pads
        sr = int(pad_source_index(h, top, bottom, lyr.mode)[row])
        sc = int(pad_source_index(w, left, right, lyr.mode)[col])
        src = None if sr < 0 or sc < 0 else [sr, sc]
        info.update(kind="pad", source=src,
                    input=float(inp[channel, sr, sc]) if src else None, total=out_value)
        return info
    if isinstance(lyr, Stride):
        sr, sc = lyr.offset[0] + row * lyr.stride[0], lyr.offset[1] + col * lyr.stride[1]
        info.update(kind="stride", source=[sr, sc], input=float(inp[channel, sr, sc]),
                    total=out_value)
        return info
    info.update(kind="activation", input=float(inp[channel, row, col]), total=out_value)
    return info


# ---------------------------------------------------------------------------------- combined kernel


class CombinedKernel:
    """The single conv layer equivalent to a run of linear layers, away from the borders.

    Attributes
    ----------
    weight : (Cout, Cin, rh, rw) float32
        The composed kernel: its size is the run's receptive field.
    bias : (Cout,) float32
        The composed offset (biases pushed through the later layers).
    stride : (int, int)
        The run's jump.
    start : (int, int)
        Where output pixel 0's window starts (negative: it begins in the padding).
    """

    def __init__(self, weight, bias, stride, start):
        self.weight, self.bias, self.stride, self.start = weight, bias, stride, start

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.weight.shape[2]), int(self.weight.shape[3]))


LINEAR_TYPES = (Conv2d, AvgPool2d, Pad, Stride)


def combined_kernel(layers: list[Layer] | tuple[Layer, ...], in_channels: int) -> CombinedKernel:
    """Compose a run of linear layers (conv, average pooling, pad, stride; disabled layers pass)
    into one equivalent kernel by back-propagating one-hots from an interior output pixel.

    Near the borders padding makes the run differ from any single kernel; the combined kernel
    describes every output pixel whose window lies inside the image.
    """
    active = [l for l in layers if l.enabled]
    for l in active:
        if not isinstance(l, LINEAR_TYPES):
            raise PipelineError(f"{l.type} is not linear: a run with it has no single kernel")
    sub = Pipeline(tuple(layers))
    rf = sub.receptive_fields()[-1]
    pos, size = [], []
    for ax in (0, 1):
        r, j, s = rf.size[ax], rf.jump[ax], rf.start[ax]
        i0 = -(-max(0, -s) // j)  # first output index whose window starts inside the input
        pos.append(i0)
        size.append(s + i0 * j + r + 2 * j + r)
    x = np.zeros((in_channels, size[0], size[1]), dtype=np.float32)
    shapes = sub.output_shapes(x.shape)
    cout = shapes[-1][0]
    outputs = sub.run(x)
    r0, c0 = rf.start[0] + pos[0] * rf.jump[0], rf.start[1] + pos[1] * rf.jump[1]
    weight = np.zeros((cout, in_channels, rf.size[0], rf.size[1]), dtype=np.float32)
    for o in range(cout):
        g = effective_receptive_field(sub, x, len(layers), o, pos[0], pos[1], outputs=outputs)
        weight[o] = g[:, r0:r0 + rf.size[0], c0:c0 + rf.size[1]]
    bias = (outputs[-1][:, pos[0], pos[1]] if outputs else np.zeros(cout)).astype(np.float32)
    return CombinedKernel(weight, bias, rf.jump, rf.start)
