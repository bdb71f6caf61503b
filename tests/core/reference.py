"""A slow, obvious reference for the core's numbers, written from docs/semantics.md's formulas.

Everything here is explicit Python loops over output channels, pixels and kernel taps with float64
accumulation (Python floats). Nothing from ``convstudio.core.ops`` is used: padding is an index
mapping, not a padded array, so that a mistake in the core's padding or striding cannot be
mirrored here.

Arrays come in as anything ``np.asarray`` accepts with shape (C, H, W) and go out as float64
numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------------
# Sizes


def out_size(n: int, k: int, *, stride: int = 1, pad_total: int = 0, dilation: int = 1) -> int:
    """floor((n + p_total - d*(k - 1) - 1) / s) + 1, by counting window positions.

    A window at position i covers padded indices i*s ... i*s + d*(k - 1); it fits if its last tap
    is inside the padded length n + p_total.
    """
    count = 0
    i = 0
    while i * stride + dilation * (k - 1) < n + pad_total:
        count += 1
        i += 1
    return count


def pool_out_size(n: int, k: int, *, stride: int, pad_before: int, pad_after: int,
                  dilation: int = 1, ceil_mode: bool = False) -> int:
    """PyTorch's pooling_output_shape_pad_lr."""
    num = n + pad_before + pad_after - dilation * (k - 1) - 1
    if ceil_mode:
        num += stride - 1
    out = math.floor(num / stride) + 1
    if ceil_mode and (out - 1) * stride >= n + pad_before:
        # the last window would start in the bottom/right padding: PyTorch drops it
        out -= 1
    return out


def same_pads(k: tuple[int, int], d: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    """'same': a total of d*(k - 1) per axis, ceil(total/2) on top/left, floor on bottom/right."""
    th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
    return (th - th // 2, th // 2, tw - tw // 2, tw // 2)


# --------------------------------------------------------------------------------------------
# Padding as an index map


def source_index(i: int, n: int, mode: str) -> int | None:
    """Input index that padded position i (in input coordinates, may be < 0 or >= n) reads, or
    None where the padding is a constant."""
    if 0 <= i < n:
        return i
    if mode in ("zeros", "constant"):
        return None
    if mode == "replicate":
        return 0 if i < 0 else n - 1
    if mode == "circular":
        return i % n
    if mode == "reflect":
        if n == 1:
            return 0
        period = 2 * (n - 1)
        m = i % period
        return m if m < n else period - m
    raise ValueError(mode)


def pad(x, pads, mode="zeros", value=0.0) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    t, b, l, r = pads
    src = x.tolist()
    out = [[[0.0] * (w + l + r) for _ in range(h + t + b)] for _ in range(c)]
    fill = float(value) if mode == "constant" else 0.0
    for ch in range(c):
        for i in range(h + t + b):
            si = source_index(i - t, h, mode)
            for j in range(w + l + r):
                sj = source_index(j - l, w, mode)
                out[ch][i][j] = fill if si is None or sj is None else src[ch][si][sj]
    return np.array(out, dtype=np.float64).reshape(c, h + t + b, w + l + r)


# --------------------------------------------------------------------------------------------
# Cross-correlation


def conv2d(x, weight, bias=None, *, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1),
           groups=1, mode="zeros") -> np.ndarray:
    """out[o, i, j] = bias[o] + sum_{c, a, b} weight[o, c, a, b] * xpad[g*Cin_g + c, i*sh + a*dh,
    j*sw + b*dw], with g = o // (Cout / groups)."""
    x = np.asarray(x, dtype=np.float64)
    wt = np.asarray(weight, dtype=np.float64)
    cin, h, w = x.shape
    cout, cin_g, kh, kw = wt.shape
    assert cin == cin_g * groups and cout % groups == 0
    cout_g = cout // groups
    sh, sw = stride
    dh, dw = dilation
    t, b, l, r = pads
    ho = out_size(h, kh, stride=sh, pad_total=t + b, dilation=dh)
    wo = out_size(w, kw, stride=sw, pad_total=l + r, dilation=dw)
    xs = x.tolist()
    ws = wt.tolist()
    bs = None if bias is None else [float(v) for v in np.asarray(bias).reshape(-1)]
    out = np.zeros((cout, ho, wo), dtype=np.float64)
    for o in range(cout):
        g = o // cout_g
        for i in range(ho):
            for j in range(wo):
                acc = 0.0 if bs is None else bs[o]
                for c in range(cin_g):
                    xc = xs[g * cin_g + c]
                    for a in range(kh):
                        si = source_index(i * sh + a * dh - t, h, mode)
                        if si is None:
                            continue
                        for bb in range(kw):
                            sj = source_index(j * sw + bb * dw - l, w, mode)
                            if sj is None:
                                continue
                            acc += ws[o][c][a][bb] * xc[si][sj]
                out[o, i, j] = acc
    return out


def correlate2d_valid(x2d, k2d) -> np.ndarray:
    """The tutorial's corr2d: one channel, no padding, stride 1."""
    return conv2d(np.asarray(x2d)[None], np.asarray(k2d)[None, None])[0]


# --------------------------------------------------------------------------------------------
# Pooling (PyTorch semantics)


def max_pool(x, k, *, stride=None, pads=(0, 0, 0, 0), dilation=(1, 1), ceil_mode=False):
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    kh, kw = k
    sh, sw = stride if stride is not None else k
    dh, dw = dilation
    t, b, l, r = pads
    ho = pool_out_size(h, kh, stride=sh, pad_before=t, pad_after=b, dilation=dh, ceil_mode=ceil_mode)
    wo = pool_out_size(w, kw, stride=sw, pad_before=l, pad_after=r, dilation=dw, ceil_mode=ceil_mode)
    xs = x.tolist()
    out = np.empty((c, ho, wo), dtype=np.float64)
    for ch in range(c):
        for i in range(ho):
            for j in range(wo):
                best = -math.inf
                for a in range(kh):
                    ri = i * sh - t + a * dh
                    if not 0 <= ri < h:
                        continue  # padding never wins
                    for bb in range(kw):
                        cj = j * sw - l + bb * dw
                        if 0 <= cj < w and xs[ch][ri][cj] > best:
                            best = xs[ch][ri][cj]
                out[ch, i, j] = best
    return out


def avg_pool(x, k, *, stride=None, pads=(0, 0, 0, 0), ceil_mode=False, count_include_pad=True):
    """PyTorch's avg_pool2d: hend = min(hstart + k, H + pad_end); pool_size = (hend - hstart) *
    (wend - wstart); then clamp to the input for the count_include_pad=False divisor."""
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    kh, kw = k
    sh, sw = stride if stride is not None else k
    t, b, l, r = pads
    ho = pool_out_size(h, kh, stride=sh, pad_before=t, pad_after=b, ceil_mode=ceil_mode)
    wo = pool_out_size(w, kw, stride=sw, pad_before=l, pad_after=r, ceil_mode=ceil_mode)
    xs = x.tolist()
    out = np.empty((c, ho, wo), dtype=np.float64)
    for ch in range(c):
        for i in range(ho):
            for j in range(wo):
                hstart, wstart = i * sh - t, j * sw - l
                hend, wend = min(hstart + kh, h + b), min(wstart + kw, w + r)
                pool_size = (hend - hstart) * (wend - wstart)
                hs, ws_ = max(hstart, 0), max(wstart, 0)
                he, we = min(hend, h), min(wend, w)
                total = 0.0
                for ri in range(hs, he):
                    for cj in range(ws_, we):
                        total += xs[ch][ri][cj]
                divisor = pool_size if count_include_pad else (he - hs) * (we - ws_)
                out[ch, i, j] = total / divisor
    return out


# --------------------------------------------------------------------------------------------
# Subsampling and activations


def subsample(x, stride, offset) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    rows = list(range(offset[0], h, stride[0]))
    cols = list(range(offset[1], w, stride[1]))
    out = np.empty((c, len(rows), len(cols)), dtype=np.float64)
    for ch in range(c):
        for i, ri in enumerate(rows):
            for j, cj in enumerate(cols):
                out[ch, i, j] = x[ch, ri, cj]
    return out


def _elementwise(x, f) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.array([f(float(v)) for v in x.reshape(-1)], dtype=np.float64).reshape(x.shape)


def relu(x):
    return _elementwise(x, lambda v: v if v > 0 else 0.0)


def leaky_relu(x, slope):
    return _elementwise(x, lambda v: v if v >= 0 else v * slope)


def absolute(x):
    return _elementwise(x, abs)


def sigmoid(x):
    def s(v):
        if v >= 0:
            return 1.0 / (1.0 + math.exp(-v))
        e = math.exp(v)
        return e / (1.0 + e)
    return _elementwise(x, s)


def tanh(x):
    return _elementwise(x, math.tanh)


# --------------------------------------------------------------------------------------------
# Receptive fields: the recurrence of docs/semantics.md over a list of per-axis steps


def receptive_field(steps):
    """steps: list of dicts with keys kind ('window' or 'pad' or 'stride' or 'id'), k, s, d, pt, off.
    Returns [(r, j, s)] for the input and every layer."""
    r, j, s = 1, 1, 0
    out = [(r, j, s)]
    for st in steps:
        kind = st["kind"]
        if kind == "window":
            r = r + st.get("d", 1) * (st["k"] - 1) * j
            s = s - st.get("pt", 0) * j
            j = j * st.get("s", 1)
        elif kind == "pad":
            s = s - st["pt"] * j
        elif kind == "stride":
            s = s + st.get("off", 0) * j
            j = j * st["s"]
        out.append((r, j, s))
    return out


def axis_influence(steps, n: int) -> list[set[int]]:
    """Exact dependency along one axis: for every output index of the last layer, the set of input
    indices it reads (through every layer's taps that land on real positions; padding reads none).

    steps as for receptive_field, with also pb (bottom/right padding), pool (bool) and ceil (bool)
    for window layers and pb for pad layers, so that every layer's length is known.
    """
    deps = [{i} for i in range(n)]
    for st in steps:
        kind = st["kind"]
        n_prev = len(deps)
        k, s, d = st.get("k", 1), st.get("s", 1), st.get("d", 1)
        pt, pb, off = st.get("pt", 0), st.get("pb", 0), st.get("off", 0)
        if kind == "window":
            if st.get("pool"):
                n_out = pool_out_size(n_prev, k, stride=s, pad_before=pt, pad_after=pb, dilation=d,
                                      ceil_mode=st.get("ceil", False))
            else:
                n_out = out_size(n_prev, k, stride=s, pad_total=pt + pb, dilation=d)
            taps = [[i * s - pt + a * d for a in range(k)] for i in range(n_out)]
        elif kind == "pad":
            taps = [[i - pt] for i in range(n_prev + pt + pb)]
        elif kind == "stride":
            taps = [[m] for m in range(off, n_prev, s)]
        else:
            taps = [[i] for i in range(n_prev)]
        deps = [set().union(*(deps[m] for m in t if 0 <= m < n_prev)) for t in taps]
    return deps
