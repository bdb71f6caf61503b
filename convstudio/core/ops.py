"""Vectorised NumPy kernels: cross-correlation, padding, pooling, subsampling, activations.

Every function takes and returns ``(C, H, W) float32`` arrays and never allocates a buffer much larger
than its output: the correlation works on row strips so that the intermediate im2col block stays in
cache, and pooling is done as two separable 1-D passes. :func:`pad_correlate` pads and correlates
a large input band by band, so that the peak memory stays near the output's size.

These functions trust their arguments (the layer classes validate them); they are the engine, not the
front door.
"""

from __future__ import annotations

import numpy as np

from . import borders, buffers, cancel, fastpaths

__all__ = [
    "PAD_MODES",
    "pad",
    "output_size",
    "pool_output_size",
    "correlate",
    "pad_correlate",
    "max_pool",
    "avg_pool",
    "subsample",
    "conv_transpose_size",
    "conv_transpose",
    "upsample_nearest",
    "upsample_bilinear",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "absolute",
]

# Pipeline names -> numpy.pad modes. "constant" exists for the pad layer only.
PAD_MODES = {
    "zeros": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",  # mirror repeating the edge sample (OpenCV BORDER_REFLECT)
}

# Elements of one im2col strip (floats). 1 Mi floats = 4 MiB: large enough for an efficient GEMM,
# small enough to stay near the cache and to keep peak memory flat on large images.
_STRIP_ELEMS = 1 << 20


def output_size(n: int, k: int, *, stride: int = 1, pad_total: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: floor((n + p_total - d*(k - 1) - 1) / s) + 1.

    For d = 1 this is the tutorial's floor((n + p_total + s - k) / s). May be <= 0, meaning the
    window does not fit in the padded input.
    """
    return (n + pad_total - dilation * (k - 1) - 1) // stride + 1


def pool_output_size(
    n: int, k: int, *, stride: int, pad_before: int, pad_after: int, dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Pooling output length along one axis, with PyTorch's ``ceil_mode`` rule.

    With ceil_mode the division rounds up, but a last window that would start inside the
    bottom/right padding (or beyond it) is dropped.
    """
    span = n + pad_before + pad_after - dilation * (k - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if out > 0 and (out - 1) * stride >= n + pad_before:
        out -= 1
    return out


def pad(
    x: np.ndarray, pads: tuple[int, int, int, int], *, mode: str = "zeros", value: float = 0.0
) -> np.ndarray:
    """Pad the two spatial axes of ``(C, H, W)`` x by (top, bottom, left, right).

    Modes follow PyTorch's names: zeros, reflect (mirror without repeating the edge, numpy's
    'reflect'), replicate (numpy's 'edge'), circular (numpy's 'wrap'), constant (with `value`);
    and symmetric (mirror repeating the edge, numpy's 'symmetric'), which PyTorch lacks.
    """
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    np_mode = PAD_MODES[mode]
    widths = ((0, 0), (top, bottom), (left, right))
    if np_mode == "constant":
        fill = value if mode == "constant" else 0.0
        return np.pad(x, widths, mode="constant", constant_values=np.float32(fill))
    return np.pad(x, widths, mode=np_mode)


def _tap_slice(start: int, count: int, step: int) -> slice:
    return slice(start, start + (count - 1) * step + 1, step)


def correlate(
    xp: np.ndarray,
    weight: np.ndarray,
    *,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Grouped 2-D cross-correlation of an already padded input.

    Parameters
    ----------
    xp : (Cin, Hp, Wp) float32
        The padded input.
    weight : (Cout, Cin // groups, kh, kw) float32
    bias : (Cout,) float32, optional
    stride, dilation : (int, int)
    groups : int
        Cin and Cout are both split into `groups` consecutive blocks; output block g sees only
        input block g.

    Returns
    -------
    (Cout, Ho, Wo) float32
        out[o, i, j] = bias[o] + sum_{c,a,b} weight[o, c, a, b] * xp[g*Cin_g + c, i*sh + a*dh, j*sw + b*dw]
    """
    cout, cin_g, kh, kw = weight.shape
    sh, sw = stride
    dh, dw = dilation
    ho = output_size(xp.shape[1], kh, stride=sh, dilation=dh)
    wo = output_size(xp.shape[2], kw, stride=sw, dilation=dw)
    out = buffers.empty((cout, ho, wo))
    cout_g = cout // groups
    if fastpaths.correlate_into(xp, weight, out, stride=stride, dilation=dilation, groups=groups):
        pass  # a fast path chosen by the cost model filled `out`; the code below is the generic path
    elif cin_g == 1 and cout_g == 1:
        span = (kh - 1) * dh + 1  # row blocks on the core's pool; each reads its own input rows
        fastpaths.parallel_rows(
            lambda _, i0, i1: _depthwise(xp[:, i0 * sh:(i1 - 1) * sh + span], weight[:, 0], out[:, i0:i1],
                                         stride, dilation),
            ho, 1, float(out.size) * kh * kw, (_STRIP_ELEMS // 4) // max(1, wo))
    else:
        fastpaths.parallel_rows(
            lambda g, i0, i1: _dense(
                xp[g * cin_g:(g + 1) * cin_g, i0 * sh:(i1 - 1) * sh + (kh - 1) * dh + 1],
                weight[g * cout_g:(g + 1) * cout_g],
                out[g * cout_g:(g + 1) * cout_g, i0:i1],
                stride,
                dilation,
            ),
            ho, groups, float(out.size) * cin_g * kh * kw, _STRIP_ELEMS // max(1, cin_g * kh * kw * wo))
    if bias is not None:
        out += bias.astype(np.float32, copy=False)[:, None, None]
    return out


def _dense(xp, weight, out, stride, dilation) -> None:
    """im2col on row strips followed by one GEMM per strip."""
    cin, hp, wp = xp.shape
    cout, _, kh, kw = weight.shape
    _, ho, wo = out.shape
    sh, sw = stride
    dh, dw = dilation
    k = cin * kh * kw
    if k * wo > _STRIP_ELEMS:
        # Not even one output row's im2col block fits in a strip (a large kernel on a wide image):
        # accumulate tap by tap instead, which needs no more than a few rows of input and output.
        _dense_by_tap(xp, weight, out, stride, dilation)
        return
    w2 = np.ascontiguousarray(weight.reshape(cout, k), dtype=np.float32)
    rows = max(1, min(ho, _STRIP_ELEMS // max(1, k * wo)))
    cols = np.empty((cin, kh, kw, rows, wo), dtype=np.float32)
    res = np.empty((cout, rows * wo), dtype=np.float32)
    for r0 in range(0, ho, rows):
        cancel.check()
        n = min(rows, ho - r0)
        c = cols[:, :, :, :n]
        for a in range(kh):
            rs = _tap_slice(r0 * sh + a * dh, n, sh)
            for b in range(kw):
                c[:, a, b] = xp[:, rs, _tap_slice(b * dw, wo, sw)]
        r = res[:, : n * wo]
        np.matmul(w2, c.reshape(k, n * wo), out=r)
        out[:, r0:r0 + n] = r.reshape(cout, n, wo)


def _dense_by_tap(xp, weight, out, stride, dilation) -> None:
    """One (Cout x Cin) GEMM per kernel tap, accumulated over row strips."""
    cin = xp.shape[0]
    cout, _, kh, kw = weight.shape
    _, ho, wo = out.shape
    sh, sw = stride
    dh, dw = dilation
    taps = np.ascontiguousarray(weight.transpose(2, 3, 0, 1), dtype=np.float32)  # (kh, kw, Cout, Cin)
    rows = max(1, min(ho, _STRIP_ELEMS // max(1, (cin + 2 * cout) * wo)))
    src_buf = np.empty(cin * rows * wo, dtype=np.float32)
    acc_buf = np.empty(cout * rows * wo, dtype=np.float32)
    tmp_buf = np.empty(cout * rows * wo, dtype=np.float32)
    for r0 in range(0, ho, rows):
        cancel.check()
        n = min(rows, ho - r0)
        src = src_buf[: cin * n * wo].reshape(cin, n, wo)
        acc = acc_buf[: cout * n * wo].reshape(cout, n * wo)
        tmp = tmp_buf[: cout * n * wo].reshape(cout, n * wo)
        for a in range(kh):
            rs = _tap_slice(r0 * sh + a * dh, n, sh)
            for b in range(kw):
                src[...] = xp[:, rs, _tap_slice(b * dw, wo, sw)]
                if a == 0 and b == 0:
                    np.matmul(taps[a, b], src.reshape(cin, n * wo), out=acc)
                else:
                    np.matmul(taps[a, b], src.reshape(cin, n * wo), out=tmp)
                    acc += tmp
        out[:, r0:r0 + n] = acc.reshape(cout, n, wo)


def _depthwise(xp, kernels, out, stride, dilation) -> None:
    """One (kh, kw) kernel per channel: shift-and-add over the taps, strip by strip."""
    cin, hp, wp = xp.shape
    _, kh, kw = kernels.shape
    _, ho, wo = out.shape
    sh, sw = stride
    dh, dw = dilation
    rows = max(1, min(ho, (_STRIP_ELEMS // 4) // max(1, wo)))
    tmp = np.empty((rows, wo), dtype=np.float32)
    for ch in range(cin):
        x = xp[ch]
        k = kernels[ch]
        taps = [(a, b, np.float32(k[a, b])) for a in range(kh) for b in range(kw) if k[a, b] != 0]
        for r0 in range(0, ho, rows):
            cancel.check()
            n = min(rows, ho - r0)
            acc = out[ch, r0:r0 + n]
            if not taps:
                acc.fill(0.0)
                continue
            t = tmp[:n]
            for idx, (a, b, v) in enumerate(taps):
                src = x[_tap_slice(r0 * sh + a * dh, n, sh), _tap_slice(b * dw, wo, sw)]
                if idx == 0:
                    np.multiply(src, v, out=acc)
                else:
                    np.multiply(src, v, out=t)
                    acc += t


def _window_reduce_axis(x, axis, k, stride, dilation, count, reducer):
    """Reduce windows of k taps (dilated) along `axis`, keeping `count` outputs at `stride`."""
    def tap(a):
        sl = [slice(None)] * x.ndim
        sl[axis] = _tap_slice(a * dilation, count, stride)
        return x[tuple(sl)]

    acc = np.array(tap(0), dtype=np.float32, copy=True)
    for a in range(1, k):
        reducer(acc, tap(a), out=acc)
    return acc


def _pool_pad(x, pads, need_h, need_w, fill):
    """Pad to (top, bottom, left, right), then add `fill` past the bottom/right as far as the last
    (ceil-mode) window reaches."""
    top, bottom, left, right = pads
    _, h, w = x.shape
    extra_b = max(0, need_h - (h + top + bottom))
    extra_r = max(0, need_w - (w + left + right))
    widths = ((0, 0), (top, bottom + extra_b), (left, right + extra_r))
    if not any(a or b for a, b in widths):
        return x
    return np.pad(x, widths, mode="constant", constant_values=np.float32(fill))


def max_pool(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    *,
    stride: tuple[int, int],
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> np.ndarray:
    """Max pooling of ``(C, H, W) float32``; padding is -inf so it never wins."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    _, h, w = x.shape
    top, bottom, left, right = pads
    ho = pool_output_size(h, kh, stride=sh, pad_before=top, pad_after=bottom, dilation=dh,
                          ceil_mode=ceil_mode)
    wo = pool_output_size(w, kw, stride=sw, pad_before=left, pad_after=right, dilation=dw,
                          ceil_mode=ceil_mode)
    # the fast path reads the padding in place (no padded copy: 1.7-2.9x faster at 16 x 6 MP)
    fast = fastpaths.pool_reduce(x, (kh, kw), (sh, sw), (dh, dw), (ho, wo), np.maximum,
                                 pads=(top, left), fill=-np.inf)
    if fast is not None:
        return fast
    xp = _pool_pad(x, pads, (ho - 1) * sh + dh * (kh - 1) + 1, (wo - 1) * sw + dw * (kw - 1) + 1,
                   -np.inf)
    # max over a rectangle is separable: rows first, then columns.
    rows = _window_reduce_axis(xp, 1, kh, sh, dh, ho, np.maximum)
    return _window_reduce_axis(rows, 2, kw, sw, dw, wo, np.maximum)


def _avg_divisor(n, k, stride, pad_before, pad_after, count, include_pad):
    """Per-axis window lengths that PyTorch's avg_pool2d divides by."""
    start = np.arange(count) * stride - pad_before
    end = np.minimum(start + k, n + pad_after)  # a ceil-mode window never counts beyond the padding
    if include_pad:
        return (end - start).astype(np.float32)
    return (np.minimum(end, n) - np.maximum(start, 0)).astype(np.float32)


def avg_pool(
    x: np.ndarray,
    kernel_size: tuple[int, int],
    *,
    stride: tuple[int, int],
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average pooling of ``(C, H, W) float32`` with PyTorch's divisor rules."""
    (kh, kw), (sh, sw) = kernel_size, stride
    _, h, w = x.shape
    top, bottom, left, right = pads
    ho = pool_output_size(h, kh, stride=sh, pad_before=top, pad_after=bottom, ceil_mode=ceil_mode)
    wo = pool_output_size(w, kw, stride=sw, pad_before=left, pad_after=right, ceil_mode=ceil_mode)
    total = fastpaths.pool_reduce(x, (kh, kw), (sh, sw), (1, 1), (ho, wo), np.add,
                                  pads=(top, left), fill=0.0)
    if total is None:
        xp = _pool_pad(x, pads, (ho - 1) * sh + kh, (wo - 1) * sw + kw, 0.0)
        rows = _window_reduce_axis(xp, 1, kh, sh, 1, ho, np.add)
        total = _window_reduce_axis(rows, 2, kw, sw, 1, wo, np.add)
    div_h = _avg_divisor(h, kh, sh, top, bottom, ho, count_include_pad)
    div_w = _avg_divisor(w, kw, sw, left, right, wo, count_include_pad)
    total /= div_h[:, None] * div_w[None, :]
    return total


def subsample(x: np.ndarray, stride: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """Keep rows offset_h, offset_h + s_h, ... and the same for columns."""
    return np.ascontiguousarray(x[:, offset[0]::stride[0], offset[1]::stride[1]])


def relu(x: np.ndarray) -> np.ndarray:
    if x.dtype != np.float32:
        return np.maximum(x, np.float32(0))
    return np.maximum(x, np.float32(0), out=buffers.empty(x.shape))


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return np.where(x >= 0, x, x * np.float32(negative_slope)).astype(np.float32, copy=False)


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: no overflow, and full relative precision in both tails.
    e = np.exp(-np.abs(x))
    pos = np.float32(1) / (np.float32(1) + e)
    return np.where(x >= 0, pos, e * pos).astype(np.float32, copy=False)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def absolute(x: np.ndarray) -> np.ndarray:
    return np.abs(x)


# --------------------------------------------------------------------------------------------
# Padding + correlation, band by band for large inputs


def _source_rows(h: int, before: int, after: int, mode: str) -> np.ndarray:
    """Input row that each padded row copies (numpy.pad's own index arithmetic), -1 for a row of
    the constant. Padding is separable, so rows then columns is exactly what pad does."""
    idx = np.arange(h)
    np_mode = PAD_MODES[mode]
    if np_mode == "constant":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=np_mode)


def _add_bias(out: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is None:
        return out
    return np.add(out, np.asarray(bias, dtype=np.float32)[:, None, None], out=out)


def pad_correlate(x: np.ndarray, pads: tuple[int, int, int, int], *, mode: str, weight: np.ndarray,
                  bias: np.ndarray | None = None, stride=(1, 1), dilation=(1, 1),
                  groups: int = 1) -> np.ndarray:
    """``correlate(pad(x, pads, mode=mode), weight, ...)`` with bounded memory: the compiled
    loop and the depthwise split never build the padded copy; other paths pad a small input
    whole and a larger one band by band (rows taken where ``numpy.pad`` takes them), so that the
    peak stays near the output's size instead of output + a full padded copy of the input."""
    fp = fastpaths  # its cost model and thread pool decide how the bands run
    c, h, w = x.shape
    top, bottom, left, right = pads
    hp, wp = h + top + bottom, w + left + right
    cout, _, kh, kw = weight.shape
    sh, sw = stride
    dh, dw = dilation
    ho = output_size(hp, kh, stride=sh, dilation=dh)
    wo = output_size(wp, kw, stride=sw, dilation=dw)
    span_h = (kh - 1) * dh + 1
    band = max(1, ((fp._BAND_BYTES // max(1, c * wp * fp._ITEM)) - span_h) // sh + 1)
    if not fp.enabled or ho <= 0 or wo <= 0 or mode not in PAD_MODES:
        return correlate(pad(x, pads, mode=mode), weight, bias=bias, stride=stride,
                         dilation=dilation, groups=groups)
    weight = np.asarray(weight, dtype=fp._F32)
    path = fp.choose_path((c, hp, wp), weight, stride=stride, dilation=dilation, groups=groups)
    if path == "direct" and not fp.jit.ready():  # numba failed: choose again without it
        path = fp.choose_path((c, hp, wp), weight, stride=stride, dilation=dilation, groups=groups)
    src_cols = _source_rows(w, left, right, mode)
    if path == "direct":  # the compiled loop reads the padding where it comes from (core/jit.py)
        out = buffers.empty((cout, ho, wo))
        fp.direct_into(x, weight, out, stride=stride, dilation=dilation, groups=groups,
                       src_rows=_source_rows(h, top, bottom, mode), src_cols=src_cols, left=left)
        return _add_bias(out, bias)
    split = path in borders.SPLIT_PATHS and x.dtype == fp._F32  # no padded copy (core/borders.py)
    # The split never goes band by band: per band it redid the border columns and ran each
    # band's strips on one thread (docs/performance.md, round 3).
    if split or c * hp * wp * fp._ITEM <= fp._BAND_MIN_BYTES or band >= ho:
        if not split:
            return correlate(pad(x, pads, mode=mode), weight, bias=bias, stride=stride,
                             dilation=dilation, groups=groups)
        out = buffers.empty((cout, ho, wo))
        borders.correlate_split(x, pads, _source_rows(h, top, bottom, mode), src_cols, weight, out,
                                stride=stride, dilation=dilation, groups=groups, path=path)
        return _add_bias(out, bias)
    # The pool's own paths run band by band on its threads (the padding in parallel too, a band
    # still in cache when used); the generic code splits each band on the pool itself.
    pooled = path in ("rowgemm", "lowrank", "fft") or (
        path == "dense" and fp._dense_geometry(cout // groups, weight.shape[1], kh, kw, wo, sh, dh)[2]) or (
        path == "winograd" and fp._wino_geometry(weight.shape[1], cout // groups, ho, wo)[3])
    if pooled:
        band = min(band, max(8, -(-ho // (4 * fp.num_threads()))))
    if path == "fft":  # whole FFT tiles per band, or the band edges cost extra transforms
        qh = fp._fft_geometry(ho, wo, kh, kw, stride, dilation)[4]
        band = max(qh, band // qh * qh)
    src = _source_rows(h, top, bottom, mode)
    out = buffers.empty((cout, ho, wo))

    def run_band(i0: int, i1: int) -> None:
        idx = src[i0 * sh:(i1 - 1) * sh + span_h]
        lo, hi = int(idx[0]), int(idx[-1])
        if lo >= 0 and hi - lo + 1 == len(idx) and np.array_equal(idx, np.arange(lo, hi + 1)):
            rows = x[:, lo:hi + 1]  # the usual case: a plain slice, no padding rows
        else:
            rows = x[:, np.maximum(idx, 0)]
            rows[:, idx < 0] = 0.0
        ob = out[:, i0:i1]
        xb = pad(rows, (0, 0, left, right), mode=mode)
        if path == "generic":
            ob[...] = correlate(xb, weight, stride=stride, dilation=dilation, groups=groups)
        else:
            fp.correlate_into(xb, weight, ob, stride=stride, dilation=dilation, groups=groups, path=path)

    tasks = [(lambda a=i0: run_band(a, min(ho, a + band))) for i0 in range(0, ho, band)]
    if pooled:
        fp.parallel(tasks)
    else:
        for task in tasks:
            cancel.check()
            task()
    if bias is not None:
        out += np.asarray(bias, dtype=fp._F32)[:, None, None]
    return out



# --------------------------------------------------------------------------------------------
# Transposed convolution and upsampling (docs/semantics.md, "Transposed convolution", "Upsample")


def conv_transpose_size(n: int, k: int, *, stride: int = 1, padding: int = 0,
                        output_padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: (n - 1)*s - 2p + d*(k - 1) + output_padding + 1."""
    return (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def _crop_or_pad(x: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Zero-pad by (top, bottom, left, right); a negative amount crops that side instead."""
    top, bottom, left, right = pads
    xp = pad(x, (max(0, top), max(0, bottom), max(0, left), max(0, right)))
    if min(pads) >= 0:
        return xp
    hp, wp = xp.shape[1:]
    return np.ascontiguousarray(xp[:, max(0, -top):hp - max(0, -bottom), max(0, -left):wp - max(0, -right)])


def conv_transpose(
    x: np.ndarray,
    weight: np.ndarray,
    *,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    output_padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """PyTorch's ``conv_transpose2d``: every input value scatters its kernel into the output.

    Parameters
    ----------
    x : (Cin, H, W) float32
    weight : (Cin, Cout // groups, kh, kw) float32
    bias : (Cout,) float32, optional
    stride, padding, output_padding, dilation : (int, int)
    groups : int

    Returns
    -------
    (Cout, Ho, Wo) float32, Ho = :func:`conv_transpose_size`
        out[g*Cout_g + o, i*sh + a*dh - ph, j*sw + b*dw - pw] += x[g*Cin_g + c, i, j] * weight[g*Cin_g + c, o, a, b]

    Computed phase by phase (the sub-pixel decomposition): the output rows with o % s_h = r and
    columns with o % s_w = q receive only the taps a with a*d_h = r + p_h (mod s_h) (likewise
    columns), and those rows are a plain stride-1 correlation of the input, shifted, with these
    taps in reverse order. So s_h * s_w calls of :func:`correlate` (with its fast paths: FFT,
    Winograd, threads) do exactly the multiply-adds that count. A correlation of the zero-stuffed
    input would do s_h * s_w times as many (most of them on inserted zeros); a scatter of per-tap
    GEMMs does the same count but adds every tap's block into a strided view of the output, which
    is memory-bound: measured 1.8 to 4 times slower (docs/performance.md, "Transposed convolution").
    """
    cin, h, w = x.shape
    _, cout_g, kh, kw = weight.shape
    cin_g, cout = cin // groups, cout_g * groups
    (sh, sw), (oph, opw) = stride, output_padding
    ho = conv_transpose_size(h, kh, stride=sh, padding=padding[0], output_padding=oph, dilation=dilation[0])
    wo = conv_transpose_size(w, kw, stride=sw, padding=padding[1], output_padding=opw, dilation=dilation[1])
    # (Cin, Cout_g, kh, kw) -> (Cout, Cin_g, kh, kw): the weight as the correlations read it
    wc = weight.reshape(groups, cin_g, cout_g, kh, kw).transpose(0, 2, 1, 3, 4).reshape(cout, cin_g, kh, kw)
    out = buffers.empty((cout, ho, wo))
    for r in range(min(sh, ho)):
        rows = _phase(h, kh, sh, padding[0], dilation[0], r, ho)
        for q in range(min(sw, wo)):
            cols = _phase(w, kw, sw, padding[1], dilation[1], q, wo)
            dst = out[:, r::sh, q::sw]
            if rows is None or cols is None:
                dst.fill(0.0)
                continue
            (ta, pad_h, dil_h), (tb, pad_w, dil_w) = rows, cols
            sub = np.ascontiguousarray(wc[:, :, ta][:, :, :, tb], dtype=np.float32)
            xp = _crop_or_pad(x, pad_h + pad_w)
            dst[...] = correlate(xp, sub, dilation=(dil_h, dil_w), groups=groups)
    if bias is not None:
        out += bias.astype(np.float32, copy=False)[:, None, None]
    return out


def _phase(n: int, k: int, s: int, p: int, d: int, r: int, n_out: int):
    """One output phase of a transposed convolution along one axis.

    Output index o = r + m*s (m = 0, 1, ...) receives x[m + e_a] * w[a] for the taps a with
    (r + p - a*d) divisible by s, e_a = (r + p - a*d) / s. Returns (those taps in reverse order,
    i.e. by increasing e_a; the (before, after) zero padding (negative: cropping) of x that makes
    m + e_a a plain correlation index; the spacing of consecutive e_a: the correlation's
    dilation), or None if no tap reaches this phase.
    """
    taps = [a for a in range(k - 1, -1, -1) if (r + p - a * d) % s == 0]
    if not taps:
        return None
    e0 = (r + p - taps[0] * d) // s
    dil = (taps[0] - taps[1]) * d // s if len(taps) > 1 else 1
    count = -(-(n_out - r) // s)  # outputs of this phase
    last = count - 1 + e0 + dil * (len(taps) - 1)  # the last input index read
    return taps, (-e0, last - (n - 1)), dil


def upsample_nearest(x: np.ndarray, scale: tuple[int, int]) -> np.ndarray:
    """PyTorch's nearest upsampling by integer factors: out[i, j] = x[floor(i*H/Ho), floor(j*W/Wo)],
    which for Ho = s*H is x[i // s]: every value repeated s times."""
    return np.ascontiguousarray(np.repeat(np.repeat(x, scale[0], axis=1), scale[1], axis=2))


def bilinear_taps(n: int, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i0, i1, lambda) per output index for bilinear upsampling of n samples by `scale`, with
    PyTorch's half-pixel rule (align_corners=False): src = (dst + 0.5)/scale - 0.5, clamped at 0;
    out = (1 - lambda)*x[i0] + lambda*x[i1] with i1 = min(i0 + 1, n - 1)."""
    dst = np.arange(n * scale, dtype=np.float64)
    src = np.maximum((dst + 0.5) / scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.intp), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, (src - i0).astype(np.float32)


def upsample_bilinear(x: np.ndarray, scale: tuple[int, int]) -> np.ndarray:
    """PyTorch's bilinear upsampling (align_corners=False) by integer factors, rows then columns
    (the interpolation is separable)."""
    i0, i1, lam = bilinear_taps(x.shape[1], scale[0])
    lam = lam[None, :, None]
    rows = x[:, i0] * (np.float32(1) - lam) + x[:, i1] * lam
    j0, j1, mu = bilinear_taps(x.shape[2], scale[1])
    return rows[:, :, j0] * (np.float32(1) - mu) + rows[:, :, j1] * mu
