"""An optional compiled loop for one-input-channel (depthwise) correlations: the ``direct`` path.

NumPy cannot fuse the taps of a small kernel: every formulation it offers writes an
intermediate per output and reads it back (``rowgemm``'s G, three floats per output for a 3 x 3
kernel, or one pass per tap), and issues one call per row and strip. On one thread that put a
3 x 3 depthwise layer at 2.5-3.5x OpenCV's fused loop, and the many short calls stop scaling
past a few threads (docs/performance.md, "Round 4" and "Round 5"). When `numba` is installed (the ``fast``
extra, which the set-up scripts install), this module compiles one loop that keeps a row chunk
of outputs in cache and adds the taps into it, with the GIL released for a whole row block:
the core's thread pool then runs its tasks truly in parallel.

Without numba nothing changes: :func:`available` is False, the cost model never offers
``direct``, and the NumPy paths compute everything. ``CONVSTUDIO_JIT=0`` turns it off too.

Numbers: each output is the sum of its kernel's products, taken eight taps at a time (in the
kernel's row-major order, the eight added pairwise, then added to the running sum) in float32,
without fused multiply-adds; it differs from the other paths only by float32 rounding, within
the bound of docs/semantics.md. A given input gives the same bits on any thread count: tasks
split rows, never a sum. An inf or nan stays in the outputs whose windows hold it, as in the
plain sums. The padding is read where it comes from (the input row and column that each padded
one copies), so no padded copy is built, and the padded copy read as an input gives the same
bits.

The compiled code is cached on disk by numba (beside this file, or in ``NUMBA_CACHE_DIR``), so
only the first run on a machine pays the compile (3-6 s; later processes load it in 0.3-0.5 s).
The window loads it on a background thread while it opens (``app/launch.py``).
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["available", "ready", "warm_up", "depthwise_rows"]

# Outputs per row chunk: the chunk's accumulator (4 KiB) and its input rows stay in L1/L2.
_CHUNK = 1024

_lock = threading.Lock()
_kernel = None  # the compiled loop, once compiled
_state: bool | None = None  # available(): None until asked


def _enabled_by_env() -> bool:
    return os.environ.get("CONVSTUDIO_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


def available() -> bool:
    """Whether the ``direct`` path can run: numba importable and not turned off.

    Only looks for the package (no import, which costs about 0.2 s): the cost model asks this
    for every layer."""
    global _state
    if _state is None:
        _state = _enabled_by_env() and importlib.util.find_spec("numba") is not None
    return _state


def _accum_py(src, base, toff, c, c0, acc, a0, n):  # pragma: no cover - compiled
    """acc[a0 + j] = sum_k c[c0 + k] * src[base + toff[k] + j] for j < n, the taps taken eight
    (then four, two, one) at a time: the accumulator is read and written once per group, the
    products of a group stay in registers (this, not the arithmetic, is what limits a tap-by-tap
    loop).

    Every index is an unsigned integer into the whole arrays: numba wraps negative signed
    indices around (a test per element, which stops LLVM vectorising), and each slice of an
    array costs two atomic reference-count updates (about 20 ns: 8 slices per group of taps
    cost more than the products of 128 outputs)."""
    ntaps = toff.shape[0]
    u = np.uint64
    n = u(n)
    a0 = u(a0)
    k = 0
    first = True
    while k < ntaps:
        left = ntaps - k
        if left >= 8:
            s0, s1, s2, s3 = u(base + toff[k]), u(base + toff[k + 1]), u(base + toff[k + 2]), u(base + toff[k + 3])
            s4, s5, s6, s7 = u(base + toff[k + 4]), u(base + toff[k + 5]), u(base + toff[k + 6]), u(base + toff[k + 7])
            k0, k1, k2, k3 = c[c0 + k], c[c0 + k + 1], c[c0 + k + 2], c[c0 + k + 3]
            k4, k5, k6, k7 = c[c0 + k + 4], c[c0 + k + 5], c[c0 + k + 6], c[c0 + k + 7]
            if first:
                for j in range(n):
                    acc[a0 + j] = (((k0 * src[s0 + j] + k1 * src[s1 + j]) + (k2 * src[s2 + j] + k3 * src[s3 + j]))
                                   + ((k4 * src[s4 + j] + k5 * src[s5 + j]) + (k6 * src[s6 + j] + k7 * src[s7 + j])))
            else:
                for j in range(n):
                    acc[a0 + j] += (((k0 * src[s0 + j] + k1 * src[s1 + j]) + (k2 * src[s2 + j] + k3 * src[s3 + j]))
                                    + ((k4 * src[s4 + j] + k5 * src[s5 + j]) + (k6 * src[s6 + j] + k7 * src[s7 + j])))
            k += 8
        elif left >= 4:
            s0, s1, s2, s3 = u(base + toff[k]), u(base + toff[k + 1]), u(base + toff[k + 2]), u(base + toff[k + 3])
            k0, k1, k2, k3 = c[c0 + k], c[c0 + k + 1], c[c0 + k + 2], c[c0 + k + 3]
            if first:
                for j in range(n):
                    acc[a0 + j] = (k0 * src[s0 + j] + k1 * src[s1 + j]) + (k2 * src[s2 + j] + k3 * src[s3 + j])
            else:
                for j in range(n):
                    acc[a0 + j] += (k0 * src[s0 + j] + k1 * src[s1 + j]) + (k2 * src[s2 + j] + k3 * src[s3 + j])
            k += 4
        elif left >= 2:
            s0, s1 = u(base + toff[k]), u(base + toff[k + 1])
            k0, k1 = c[c0 + k], c[c0 + k + 1]
            if first:
                for j in range(n):
                    acc[a0 + j] = k0 * src[s0 + j] + k1 * src[s1 + j]
            else:
                for j in range(n):
                    acc[a0 + j] += k0 * src[s0 + j] + k1 * src[s1 + j]
            k += 2
        else:
            s0 = u(base + toff[k])
            k0 = c[c0 + k]
            if first:
                for j in range(n):
                    acc[a0 + j] = k0 * src[s0 + j]
            else:
                for j in range(n):
                    acc[a0 + j] += k0 * src[s0 + j]
            k += 1
        first = False


def _edges_py(x, base, scol, lo, hi, need, dst, d0, lp, sw):  # pragma: no cover - compiled
    """The padding's columns c < lo and hi <= c < need of the row at `base`, gathered from scol
    (-1: zero), into dst[d0 + (c % sw)*lp + c // sw] (sw = 1: dst[d0 + c])."""
    for c in range(lo):
        v = scol[c]
        dst[d0 + (c % sw) * lp + c // sw] = x[base + v] if v >= 0 else 0.0
    for c in range(max(hi, lo), need):
        v = scol[c]
        dst[d0 + (c % sw) * lp + c // sw] = x[base + v] if v >= 0 else 0.0


def _fill_py(x, rs, w_in, sr, left, scol, dst, d0, need):  # pragma: no cover - compiled
    """dst[d0 + c] = padded input row `sr` at padded column c, for c < need: the input's own
    columns copied as one run, the padding's gathered from scol (-1: zero); sr < 0 is a zero
    row. (Unsigned indices, no slices: see :func:`_accum_py`.)"""
    u = np.uint64
    if sr < 0:
        for c in range(u(need)):
            dst[u(d0) + c] = 0.0
        return
    base = sr * rs
    lo = min(left, need)
    hi = min(left + w_in, need)
    _edges(x, base, scol, lo, hi, need, dst, d0, need, 1)
    if hi > lo:
        dd, ss = u(d0 + lo), u(base + lo - left)
        for c in range(u(hi - lo)):
            dst[dd + c] = x[ss + c]


def _deal2_py(x, rs, w_in, sr, left, scol, ring, d0, lp, need):  # pragma: no cover - compiled
    """Padded input row `sr` (as :func:`_fill_py`), columns c < need, dealt straight into its two
    column phases: ring[d0 + (c % 2)*lp + c // 2]. The input's own columns go a pair at a time
    with a constant stride of 2, which LLVM turns into vector shuffles (one pass over the row; a
    copy at a run-time stride, or 64-bit words split into halves, measured 1.6x slower)."""
    u = np.uint64
    if sr < 0:
        for c in range(need):
            ring[d0 + (c % 2) * lp + c // 2] = 0.0
        return
    base = sr * rs
    lo = min(left, need)
    hi = min(left + w_in, need)
    _edges(x, base, scol, lo, hi, need, ring, d0, lp, 2)
    c = lo
    if c < hi and c % 2 == 1:
        ring[d0 + lp + c // 2] = x[base + c - left]
        c += 1
    npairs = (hi - c) // 2
    if npairs > 0:
        ss, ev, od = u(base + c - left), u(d0 + c // 2), u(d0 + lp + c // 2)
        two = u(2)
        for k in range(u(npairs)):
            ring[ev + k] = x[ss + two * k]
            ring[od + k] = x[ss + two * k + u(1)]
        c += 2 * npairs
    if c < hi:
        ring[d0 + c // 2] = x[base + c - left]


def _rows_py(x, rs, w_in, srow, left, scol, w, o, ot, oi, oj, wo, i0, i1, sh, sw, dh,
             dw, chunk):  # pragma: no cover - compiled
    """O[t, i, j] = sum over the taps (a, b) of w[t, a, b] * P[i*sh + a*dh, j*sw + b*dw] for
    rows i0 <= i < i1 and 0 <= j < wo, where P is the padded input: P[r, c] = x[srow[r]*rs +
    col], col = c - left for the input's own w_in columns, scol[c] for the padding (an index
    of -1 in srow or scol is a zero), and O[t, i, j] = o[t*ot + i*oi + j*oj] (the input plane
    and the outputs as flat runs of memory); w is (m, kh, kw).

    Each padded row the outputs need is built once, into a ring of span_h rows (slot r %
    span_h); at a column stride it is dealt into its sw column phases there (ring[slot, p, k] =
    P[r, p + k*sw]), so that every tap reads a contiguous run. Outputs with oj == 1 are summed
    in place, others through a chunk buffer."""
    m, kh, kw = w.shape
    ntaps = kh * kw
    coef = w.reshape(m * ntaps)
    span_h = (kh - 1) * dh + 1
    span_w = (kw - 1) * dw + 1
    need = (wo - 1) * sw + span_w  # padded columns the outputs read
    lp = (need + sw - 1) // sw  # columns per phase (need, without a stride)
    slot_len = sw * lp
    ring = np.empty(span_h * slot_len, np.float32)
    prow = np.empty(need if sw > 1 else 1, np.float32)
    acc = np.empty(chunk, np.float32)
    toff = np.empty(ntaps, np.int64)  # each tap's offset in the ring, from a chunk's start
    # a tap column's offset within a ring slot (its phase, then its place in the phase): taken
    # once here, since an integer division costs as much as a row of 100 outputs' products
    coff = np.empty(kw, np.int64)
    for b in range(kw):
        coff[b] = ((b * dw) % sw) * lp + (b * dw) // sw
    built = i0 * sh  # padded rows below this one are in the ring (none yet)
    for i in range(i0, i1):
        top = i * sh
        for r in range(max(built, top), top + span_h):
            d0 = (r % span_h) * slot_len
            if sw == 1:
                _fill(x, rs, w_in, srow[r], left, scol, ring, d0, need)
            elif sw == 2:
                _deal2(x, rs, w_in, srow[r], left, scol, ring, d0, lp, need)
            else:
                _fill(x, rs, w_in, srow[r], left, scol, prow, 0, need)
                for p in range(sw):
                    for k in range((need - p + sw - 1) // sw):
                        ring[d0 + p * lp + k] = prow[p + k * sw]
        built = top + span_h
        for a in range(kh):
            sbase = ((top + a * dh) % span_h) * slot_len
            for b in range(kw):
                toff[a * kw + b] = sbase + coff[b]
        for j0 in range(0, wo, chunk):
            n = min(chunk, wo - j0)
            for t in range(m):
                d0 = t * ot + i * oi + j0 * oj
                if oj == 1:
                    _accum(ring, j0, toff, coef, t * ntaps, o, d0, n)
                else:
                    _accum(ring, j0, toff, coef, t * ntaps, acc, 0, n)
                    for j in range(n):
                        o[d0 + j * oj] = acc[j]


_edges = None  # the compiled _edges_py
_fill = None  # the compiled _fill_py
_deal2 = None  # the compiled _deal2_py
_accum = None  # the compiled _accum_py, which the compiled _rows_py calls


def _compile(cache: bool):
    global _accum, _edges, _fill, _deal2
    import numba
    from numba import types as nt

    opts = dict(nogil=True, cache=cache, error_model="numpy", boundscheck=False)
    _accum = numba.njit(**opts)(_accum_py)
    _edges = numba.njit(**opts)(_edges_py)
    _fill = numba.njit(**opts)(_fill_py)
    _deal2 = numba.njit(**opts)(_deal2_py)
    i64 = nt.int64
    idx = nt.Array(nt.int64, 1, "C", readonly=True)
    sig = nt.void(nt.Array(nt.float32, 1, "C", readonly=True), i64, i64, idx, i64, idx,
                  nt.Array(nt.float32, 3, "C", readonly=True), nt.Array(nt.float32, 1, "C"),
                  i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
    return numba.njit(sig, **opts)(_rows_py)  # a signature: compiled (or loaded) now


def _compiled():
    global _kernel
    if _kernel is None:
        with _lock:
            if _kernel is None:
                try:
                    _kernel = _compile(cache=True)
                except RuntimeError:  # no writable cache directory: compile for this process
                    _kernel = _compile(cache=False)
    return _kernel


def ready() -> bool:
    """:func:`available`, and compiled: the first call compiles (or loads from the disk cache)
    the loop, which takes 0.3-6 s. If numba fails there (a numba that does not fit this NumPy,
    say) the path is turned off for the process and the NumPy paths take over."""
    global _state
    if not available():
        return False
    try:
        _compiled()
    except Exception as exc:  # noqa: BLE001 - whatever numba raises, the NumPy paths remain
        _state = False
        warnings.warn(f"ConvStudio: the compiled depthwise loop is off ({type(exc).__name__}: {exc}); "
                      "the NumPy paths compute everything", RuntimeWarning, stacklevel=2)
        return False
    return True


def warm_up() -> None:
    """Compile (or load from the disk cache) now, e.g. on a thread while the window opens."""
    if ready():
        depthwise_rows(np.zeros((1, 1), np.float32), np.zeros((1, 1, 1), np.float32),
                       np.zeros((1, 1, 1), np.float32), 0, 1, (1, 1), (1, 1))


def depthwise_rows(x2: np.ndarray, w3: np.ndarray, out3: np.ndarray, i0: int, i1: int,
                   stride, dilation, src_rows: np.ndarray | None = None,
                   src_cols: np.ndarray | None = None, left: int = 0) -> None:
    """Rows [i0, i1) of the valid correlation of the padded plane with the `m` kernels `w3`
    (m, kh, kw), into `out3` (m, Ho, Wo; float32, any non-negative strides).

    The padded plane is `x2` (H, W) itself, or, given `src_rows` / `src_cols` (the input row /
    column each padded row / column copies, -1 for a zero, as ``ops._source_rows`` gives them),
    the padding of `x2` with `left` columns in front: no padded copy is made. Releases the GIL
    while it runs."""
    h, w_in = x2.shape
    m, ho, wo = out3.shape
    if i1 <= i0 or m == 0 or wo == 0:
        return
    item = np.dtype(np.float32).itemsize
    if x2.dtype != np.float32 or x2.strides[1] != item or x2.strides[0] % item or x2.strides[0] < 0:
        x2 = np.ascontiguousarray(x2, dtype=np.float32)
    if h == 0 or w_in == 0:  # nothing to read: every padded value is a zero (or no output)
        x2 = np.zeros((1, 1), np.float32)
        h = w_in = 1
    rs = x2.strides[0] // item
    # the plane as one flat run of memory from its first value (rows rs apart)
    flat = as_strided(x2, shape=((h - 1) * rs + w_in,), strides=(item,), writeable=False)
    if src_rows is None:
        src_rows = np.arange(h, dtype=np.int64)
    if src_cols is None:
        src_cols = np.arange(w_in, dtype=np.int64)
    ost = out3.strides
    if out3.dtype != np.float32 or min(ost) < 0 or any(v % item for v in ost):
        raise ValueError("depthwise_rows writes float32 outputs with non-negative strides")
    ot, oi, oj = (v // item for v in ost)
    # the outputs likewise: from their first value to their last
    oflat = as_strided(out3, shape=((m - 1) * ot + (ho - 1) * oi + (wo - 1) * oj + 1,),
                       strides=(item,))
    w3 = np.ascontiguousarray(w3, dtype=np.float32)
    _compiled()(flat, rs, w_in, np.ascontiguousarray(src_rows, dtype=np.int64), int(left),
                np.ascontiguousarray(src_cols, dtype=np.int64), w3, oflat, ot, oi, oj, wo,
                int(i0), int(i1), int(stride[0]), int(stride[1]), int(dilation[0]),
                int(dilation[1]), min(_CHUNK, wo))
