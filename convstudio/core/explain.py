"""Seeing why: the effective receptive field (exact gradients of one output value with respect to
the input) and the arithmetic behind one output value, written out as the tutorial does.

The effective receptive field back-propagates a one-hot through the stack with
:func:`convstudio.core.gradients.layer_backward` (one backward per layer type, PyTorch's choices at
the kinks). The result equals ``torch.autograd.grad(y[layer][channel, row, col], x)`` for the same
stack evaluated on the same values (checked against it on random stacks with ties and exact zeros).

The inspector (:func:`explain_pixel`) has one entry per layer type in ``INSPECTORS``; each fills
the plain-JSON dict that ``convstudio info --explain`` prints and the app's inspector shows.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from . import cancel, regions
from .errors import PipelineError
from .formatting import format_short
from .gradients import avg_divisors, layer_backward, pad_source_index, pool_geometry
from .layers import AvgPool2d, Conv2d, Layer, Pad, Stride
from .pipeline import Pipeline, as_chw

__all__ = ["effective_receptive_field", "effective_receptive_field_part", "explain_pixel",
           "pad_source_index", "format_expression", "float32_sum_bound", "FLOAT32_UNIT_ROUNDOFF",
           "INSPECTORS"]

#: The backward pass of one layer (kept under this name for :mod:`convstudio.core.fit`).
_layer_backward = layer_backward


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
    part, (r0, c0) = effective_receptive_field_part(pipeline, x, layer, channel, row, col,
                                                    outputs=outputs)
    if part.shape == x.shape:
        return part
    g = np.zeros(x.shape, np.float32)
    g[:, r0:r0 + part.shape[1], c0:c0 + part.shape[2]] = part
    return g


def effective_receptive_field_part(
    pipeline: Pipeline, image: Any, layer: int, channel: int, row: int, col: int, *,
    outputs: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`effective_receptive_field` on a box of the input: ``(part, (r0, c0))``, where
    ``part`` ``(C, h, w)`` is the gradient over input rows ``r0:r0 + h`` and columns
    ``c0:c0 + w``, and every input value outside that box has a gradient of exactly 0.

    The box is the part of the image the value is computed from (see :func:`_erf_window`), the
    whole image where no smaller part reads the same values. A pixel's field is small beside a
    photo: the box saves a full-size array (288 MB for a 24 MP RGB input) and the scans of it.
    `outputs` (``pipeline.run(image)``) are used only when the box is the whole image."""
    x = as_chw(image)
    shapes = pipeline.output_shapes(x.shape)
    _check_position(shapes, layer, channel, row, col)
    window = _erf_window(pipeline, layer, row, col, x.shape)
    if window is not None:
        # The value depends on this part of the image alone (see _erf_window): the same layers
        # on the part give the same gradient, up to the float32 rounding of the forward pass
        # (the core may take another of its paths on a smaller map), computed on that part
        # instead of whole maps (seconds at full resolution).
        r0, r1, c0, c1, i, j = window
        part, (a, b) = effective_receptive_field_part(
            Pipeline(pipeline.layers[:layer]), x[:, r0:r1, c0:c1], layer, channel, i, j)
        return part, (r0 + a, c0 + b)
    if outputs is None:
        outputs = pipeline.run(x, upto=layer) if layer else []
    acts = [x] + list(outputs[:layer])
    g = np.zeros(shapes[layer])
    g[channel, row, col] = 1.0
    for i in range(layer, 0, -1):
        cancel.check()  # (whole maps at full resolution: seconds; a newer request stops it)
        g = _layer_backward(pipeline.layers[i - 1], acts[i - 1], acts[i], g)
    return g.astype(np.float32), (0, 0)


def _erf_window(pipeline: Pipeline, layer: int, row: int, col: int,
               shape: tuple[int, int, int]) -> tuple[int, int, int, int, int, int] | None:
    """``(r0, r1, c0, c1, i, j)``: the same layers run on ``x[:, r0:r1, c0:c1]`` compute the
    value of output ``(row, col)`` of `layer` at ``(i, j)`` from the same input values, through
    the same padding; None when that part would be the whole image (or the receptive field is
    fractional).

    Per axis, the cells that value reads are followed back layer by layer (each layer's
    :class:`~convstudio.core.regions.AxisWindow`: its padding's source cells included, so a
    reflected or replicated border reads the cells it copies). The part is the range of the
    input's cells among them, started on a multiple of the layer's jump (so that every layer's
    grid falls on the same pixels), moved to the image's first cell where the value reads the
    padding before it, and to its last where it reads the padding after it. It is taken only if,
    at every layer, the cells each needed output reads on the part are the cells it reads on the
    whole image (padding for padding); else the whole axis (circular padding, which copies the
    far edge, ends there)."""
    if layer < 1:
        return None
    rf = pipeline.receptive_fields()[layer]
    if not rf.is_integral:
        return None
    layers = pipeline.layers[:layer]
    for lay in layers:
        if lay.enabled and not callable(getattr(lay, "_windows", None)) \
                and getattr(type(lay), "input_region", None) is not regions.pointwise_input_region:
            return None  # a layer whose reads are not described per axis
    shapes = pipeline.output_shapes(shape)[:layer + 1]
    parts = [_erf_axis(layers, shapes, ax, index, int(rf.jump[ax]))
             for ax, index in ((0, row), (1, col))]
    (r0, r1, i), (c0, c1, j) = parts
    if (r1 - r0) * (c1 - c0) >= shape[1] * shape[2]:
        return None
    return r0, r1, c0, c1, i, j


def _axis_windows(layers, shapes, ax: int):
    """Each layer's AxisWindow along axis `ax` for inputs of `shapes`, None for an element-wise
    (or disabled) layer."""
    return [lay._windows(shapes[k])[ax] if lay.enabled and callable(getattr(lay, "_windows", None))
            else None for k, lay in enumerate(layers)]


def _erf_axis(layers, shapes, ax: int, index: int, jump: int) -> tuple[int, int, int]:
    """(first, stop, index on the part) of the input along axis `ax` (see _erf_window)."""
    n = shapes[0][ax + 1]
    full = _axis_windows(layers, shapes, ax)
    need = [(index, index)]  # needed outputs, from the last layer back to the input
    for k in range(len(layers), 0, -1):
        a, b = need[-1]
        win = full[k - 1]
        if win is not None:
            src = win.input_indices(np.arange(a, b + 1))
            if len(src) == 0:  # the value reads padding alone
                return 0, n, index
            a, b = int(src[0]), int(src[-1])
        need.append((a, b))
    need.reverse()  # need[k]: the outputs of layer k (0: the input's cells) the value depends on
    lo, hi = need[0]
    first = lo // jump * jump
    for start, stop in ((first, hi + 1), (0, hi + 1), (first, n), (0, n)):
        if (start, stop) == (0, n) or _same_reads(layers, shapes, ax, full, need, start, stop):
            return start, stop, index - start // jump
    raise AssertionError("unreachable")


def _reads(win: regions.AxisWindow, coords: np.ndarray, shift: int) -> np.ndarray:
    """The cell each padded coordinate reads, plus `shift`; -1 for constant padding and -2 past
    the padded axis (a ceil-mode window's overhang, which an average's divisor leaves out)."""
    src = win.source(coords)
    return np.where(src >= 0, src + shift,
                    np.where(coords < win.before + win.n + win.after, -1, -2))


def _same_reads(layers, shapes, ax, full, need, start: int, stop: int) -> bool:
    """True if every needed output of every layer, run on input cells start .. stop - 1 along
    axis `ax`, reads the same cells (or the same padding) as on the whole image."""
    part_shape = list(shapes[0])
    part_shape[ax + 1] = stop - start
    try:
        part_shapes = Pipeline(layers).output_shapes(tuple(part_shape))
    except PipelineError:  # too small for a layer's window
        return False
    part = _axis_windows(layers, part_shapes, ax)
    shift = start  # the part's first cell of layer k-1, counted on the whole image's grid
    for k in range(1, len(layers) + 1):
        step = full[k - 1].stride if full[k - 1] is not None else 1
        if shift % step:
            return False  # (a multiple of the jump never is)
        out_shift = shift // step
        a, b = need[k]
        if a - out_shift < 0 or b - out_shift >= part_shapes[k][ax + 1]:
            return False
        if full[k - 1] is not None:
            coords = full[k - 1].padded_coords(a, b + 1)[0]
            coords_part = part[k - 1].padded_coords(a - out_shift, b - out_shift + 1)[0]
            if not np.array_equal(_reads(part[k - 1], coords_part, shift),
                                  _reads(full[k - 1], coords, 0)):
                return False
        shift = out_shift
    return True


# ---------------------------------------------------------------------------------- inspector


def _fmt(v: float) -> str:
    """One number of a written-out sum (core/formatting.py's short form, integers in full)."""
    return format_short(v, whole_below=1e9)


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
    products and their sum, then the bias and the total. For conv_transpose2d: per input channel
    the input values that reach the pixel, the kernel taps they meet, products and sums. For
    pooling: the window, the padding flags, the winner (max) or the divisor (avg). For upsample:
    the source values and their weights. For pad / stride layers: where the value came from. For
    activations: input and output. Rows/cols are input-of-layer coordinates.
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
    inspect = INSPECTORS.get(lyr.type)
    if inspect is None:  # pragma: no cover - every registered type has an entry (tested)
        raise PipelineError(f"no explanation for layer type {lyr.type}")
    inspect(lyr, inp, info, shapes[layer])
    return info


def _inspect_conv(lyr: Conv2d, inp: np.ndarray, info: dict, out_shape) -> None:
    channel, row, col = info["channel"], info["row"], info["col"]
    h, w = inp.shape[1:]
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
    in_pad = (rows_p[:, None] < top) | (rows_p[:, None] >= top + h) | \
             (cols_p[None, :] < left) | (cols_p[None, :] >= left + w)
    per_channel = []
    for c in range(cin_g):
        ci = grp * cin_g + c
        vals, _ = _window(src_r, src_c, inp[ci])
        k = wt[channel, c].astype(np.float64)
        prod = vals * k
        s = float(prod.sum())
        per_channel.append({
            "input_channel": int(ci), "rows": (rows_p - top).tolist(),
            "cols": (cols_p - left).tolist(), "window": vals.tolist(), "kernel": k.tolist(),
            "products": prod.tolist(), "padding": in_pad.tolist(), "sum": s,
            "expression": format_expression(vals, k, s)})
    b = lyr.effective_bias(c_in)
    _sum_of_channels(info, "conv", per_channel, float(b[channel]) if b is not None else 0.0,
                     cin_g * kh * kw)


def _sum_of_channels(info: dict, kind: str, per_channel: list[dict], bias: float, terms: int) -> None:
    """The per-channel sums plus the bias, with float32's rounding bound for the whole sum."""
    total = sum(p["sum"] for p in per_channel) + bias
    abs_sum = sum(float(np.abs(p["products"]).sum()) for p in per_channel) + abs(bias)
    _rounding(info, total, float32_sum_bound(abs_sum, terms, total))
    info.update(kind=kind, inputs=per_channel, bias=bias, total=total,
                expression=" + ".join(_fmt(p["sum"]) for p in per_channel)
                + (f" + {_fmt(bias)}" if bias else "") + f" = {_fmt(total)}")


def _transpose_taps(pos: int, n: int, k: int, s: int, p: int, d: int) -> list[tuple[int, int]]:
    """(kernel tap, input index) pairs that scatter into output index `pos` along one axis:
    pos = i*s + a*d - p with 0 <= i < n."""
    return [(a, (pos + p - a * d) // s) for a in range(k)
            if (pos + p - a * d) % s == 0 and 0 <= (pos + p - a * d) // s < n]


def _inspect_conv_transpose(lyr, inp: np.ndarray, info: dict, out_shape) -> None:
    channel, row, col = info["channel"], info["row"], info["col"]
    wt = np.asarray(lyr.weight, dtype=np.float64)
    cin, cout_g, kh, kw = wt.shape
    cin_g = cin // lyr.groups
    grp, o = divmod(channel, cout_g)
    (sh, sw), (ph, pw), (dh, dw) = lyr.stride, lyr.padding, lyr.dilation
    rt = _transpose_taps(row, inp.shape[1], kh, sh, ph, dh)
    ct = _transpose_taps(col, inp.shape[2], kw, sw, pw, dw)
    ri, ci_ = [i for _, i in rt], [j for _, j in ct]
    ra, cb = [a for a, _ in rt], [b for b, _ in ct]
    per_channel = []
    for c in range(cin_g):
        ci = grp * cin_g + c
        vals = inp[ci].astype(np.float64)[np.ix_(ri, ci_)]
        k = wt[ci, o][np.ix_(ra, cb)]
        prod = vals * k
        s = float(prod.sum())
        per_channel.append({
            "input_channel": int(ci), "rows": ri, "cols": ci_, "kernel_rows": ra, "kernel_cols": cb,
            "window": vals.tolist(), "kernel": k.tolist(), "products": prod.tolist(), "sum": s,
            "expression": format_expression(vals, k, s) if prod.size else "no input value lands here = 0"})
    bias = float(lyr.bias[channel]) if lyr.bias is not None else 0.0
    _sum_of_channels(info, "conv_transpose", per_channel, bias, cin_g * len(rt) * len(ct))


def _bilinear_source(dst: int, n: int, s: int) -> list[tuple[int, Fraction]]:
    """(input index, weight) pairs of output index `dst` along one axis, exactly: PyTorch's
    src = (dst + 1/2)/s - 1/2 clamped at 0, between floor(src) and the next index (clamped)."""
    src = max(Fraction(2 * dst + 1, 2 * s) - Fraction(1, 2), Fraction(0))
    i0 = min(int(src), n - 1)
    lam = src - i0
    i1 = min(i0 + 1, n - 1)
    return [(i0, 1 - lam)] + ([(i1, lam)] if lam else [])


def _inspect_upsample(lyr, inp: np.ndarray, info: dict, out_shape) -> None:
    channel, row, col = info["channel"], info["row"], info["col"]
    (sh, sw), h, w = lyr.scale_factor, inp.shape[1], inp.shape[2]
    if lyr.mode == "nearest":
        # PyTorch's floor(dst * in / out), in exact integers
        rows, cols = [(row * h // (h * sh), Fraction(1))], [(col * w // (w * sw), Fraction(1))]
    else:
        rows, cols = _bilinear_source(row, h, sh), _bilinear_source(col, w, sw)
    sources = [{"row": i, "col": j, "weight": float(a * b), "value": float(inp[channel, i, j])}
               for i, a in rows for j, b in cols]
    total = sum(t["weight"] * t["value"] for t in sources)
    abs_sum = sum(abs(t["weight"] * t["value"]) for t in sources)
    # nearest copies a value; bilinear rounds its float32 weights, two products and a sum per
    # axis: well inside gamma(8)
    _rounding(info, total, 0.0 if lyr.mode == "nearest" else float32_sum_bound(abs_sum, 8, total))
    info.update(kind="upsample", mode=lyr.mode, sources=sources, total=total,
                expression=format_expression([t["value"] for t in sources],
                                             [t["weight"] for t in sources], total))


def _inspect_pool(lyr, inp: np.ndarray, info: dict, out_shape) -> None:
    row, col, channel = info["row"], info["col"], info["channel"]
    h, w = inp.shape[1:]
    is_max = lyr.type == "maxpool2d"
    kh, kw, sh, sw, dh, dw, (top, bottom, left, right) = pool_geometry(lyr, inp)
    rows_p = row * sh + np.arange(kh) * dh
    cols_p = col * sw + np.arange(kw) * dw
    r_in, c_in = rows_p - top, cols_p - left
    inside = ((r_in >= 0) & (r_in < h))[:, None] & ((c_in >= 0) & (c_in < w))[None, :]
    vals = np.full((kh, kw), -np.inf if is_max else 0.0)
    rr, cc = np.clip(r_in, 0, h - 1), np.clip(c_in, 0, w - 1)
    vals[inside] = inp[channel][np.ix_(rr, cc)][inside]
    # cells beyond bottom/right padding (ceil mode) count neither as value nor in the divisor
    beyond = (rows_p >= h + top + bottom)[:, None] | (cols_p >= w + left + right)[None, :]
    info.update(rows=r_in.tolist(), cols=c_in.tolist(),
                window=[[None if not np.isfinite(v) else float(v) for v in rv] for rv in vals],
                padding=(~inside).tolist(), beyond=beyond.tolist())
    if is_max:
        flat = np.where(inside, vals, -np.inf).ravel()
        k = int(np.argmax(flat))  # first maximum in scan order, as PyTorch
        info.update(kind="max", winner=[int(r_in[k // kw]), int(c_in[k % kw])],
                    winner_index=[k // kw, k % kw], total=float(flat[k]))
        return
    div = float(avg_divisors(lyr, inp, out_shape[1], out_shape[2])[row, col])
    s = float(vals[inside].sum())
    n_in = int(inside.sum())
    # the core sums n values, then divides: one more rounding of a value <= the sum
    bound = float32_sum_bound(float(np.abs(vals[inside]).sum()), n_in + 1, s) / div
    _rounding(info, s / div, bound)
    info.update(kind="avg", sum=s, divisor=div, total=s / div,
                expression=f"({' + '.join(_fmt(v) for v in vals[inside])}) / {_fmt(div)}"
                           f" = {_fmt(s / div)}")


def _inspect_pad(lyr: Pad, inp: np.ndarray, info: dict, out_shape) -> None:
    h, w = inp.shape[1:]
    top, bottom, left, right = lyr.pads
    sr = int(pad_source_index(h, top, bottom, lyr.mode)[info["row"]])
    sc = int(pad_source_index(w, left, right, lyr.mode)[info["col"]])
    src = None if sr < 0 or sc < 0 else [sr, sc]
    info.update(kind="pad", source=src,
                input=float(inp[info["channel"], sr, sc]) if src else None, total=info["output"])


def _inspect_stride(lyr: Stride, inp: np.ndarray, info: dict, out_shape) -> None:
    sr, sc = lyr.offset[0] + info["row"] * lyr.stride[0], lyr.offset[1] + info["col"] * lyr.stride[1]
    info.update(kind="stride", source=[sr, sc], input=float(inp[info["channel"], sr, sc]),
                total=info["output"])


def _inspect_activation(lyr: Layer, inp: np.ndarray, info: dict, out_shape) -> None:
    info.update(kind="activation", input=float(inp[info["channel"], info["row"], info["col"]]),
                total=info["output"])


#: Layer type -> inspector(layer, layer input, info dict to fill, output shape).
INSPECTORS: dict[str, Callable[[Any, np.ndarray, dict, tuple], None]] = {
    "conv2d": _inspect_conv,
    "conv_transpose2d": _inspect_conv_transpose,
    "maxpool2d": _inspect_pool,
    "avgpool2d": _inspect_pool,
    "pad": _inspect_pad,
    "stride": _inspect_stride,
    "upsample": _inspect_upsample,
    **{t: _inspect_activation for t in ("relu", "leaky_relu", "abs", "sigmoid", "tanh")},
}


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
# Linear too, but their output steps by a fraction of an input pixel: no single strided kernel.
_GRID_CHANGING_TYPES = frozenset({"conv_transpose2d", "upsample"})


def combined_kernel(layers: list[Layer] | tuple[Layer, ...], in_channels: int) -> CombinedKernel:
    """Compose a run of linear layers (conv, average pooling, pad, stride; disabled layers pass)
    into one equivalent kernel by back-propagating one-hots from an interior output pixel.

    Near the borders padding makes the run differ from any single kernel; the combined kernel
    describes every output pixel whose window lies inside the image.
    """
    active = [l for l in layers if l.enabled]
    for l in active:
        if not isinstance(l, LINEAR_TYPES):
            if l.type in _GRID_CHANGING_TYPES:
                raise PipelineError(f"{l.type} is linear but makes several output pixels per input "
                                    "pixel: a run with it has no single kernel")
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
