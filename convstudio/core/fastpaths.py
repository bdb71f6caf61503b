"""Fast paths behind :func:`ops.correlate` and the pooling functions.

Everything here computes exactly what the plain loops of docs/semantics.md compute (to float32
rounding): the 'valid' cross-correlation of an input that :func:`ops.pad` has already padded, with
stride, dilation and groups. Padding modes never reach this module. The paths differ only in how
they move the numbers:

``rowgemm``
    For layers whose groups see one input channel each (the ``kernel`` form, depthwise layers,
    depthwise multipliers). For one output row, the kh input rows it reads are a matrix whose rows
    are already in memory ``Wp`` floats apart, so ``G = W (m*kw, kh) @ rows (kh, Wp)`` is a BLAS
    product on a *view* of the input (no im2col). Row ``(t, b)`` of ``G`` holds column-tap ``b``
    of output ``t`` for every input column; the output is then ``sum_b G[t, b, j*sw + b*dw]``,
    one ``np.add.reduce`` over a strided view of G. A batched ``matmul`` does a strip of rows in
    one call.
``lowrank``
    The same, with ``W`` factored by an SVD as ``P (m*kw, r) @ Q (r, kh)`` when its rank r is
    small (rank 1 = a separable kernel such as a box, a Gaussian or Sobel): two thinner products.
    For r = 1 the horizontal pass multiplies and adds taps directly (a classic separable filter).
    Singular values below float32 resolution (2**-23 of the largest) are dropped: they are
    rounding noise of the float32 weights themselves.
``fft``
    Overlap-save on 2-D tiles (about 256 x 1024): each tile of the input is transformed with
    ``numpy.fft.rfft2`` in float64, multiplied by the conjugate spectrum of the (dilated) kernel
    and transformed back. Its cost does not grow with the kernel, so the cost model picks it for
    large kernels. Memory stays bounded by the tile size. An input holding inf or nan goes to
    ``rowgemm`` instead (an FFT would spread it over its whole tile).
``dense``
    Multi-channel groups (``Cin/groups > 1``): one horizontal im2col of a row strip, channels
    last-but-one, so that the kh*kw*Cin_g values one output row needs form a matrix with uniform
    strides; one batched ``matmul`` per strip then writes the output rows in place (no full
    im2col of the image).

``winograd``
    3 x 3 kernels, stride 1, dilation 1, many channels per group: Winograd F(2x2, 3x3). Each
    2 x 2 block of outputs is computed from its 4 x 4 input tile transformed by B^T d B (additions
    and subtractions only, on strided views of a deinterleaved band), 16 GEMMs (Cout x Cin) @
    (Cin x tiles) and the output transform A^T M A: 16 instead of 36 multiply-adds per (input,
    output channel) pair for every 4 outputs. Blocks of tiles run on the pool with GEMMs kept
    single-threaded; blocks whose input holds inf or nan are computed by ``dense`` instead.

``generic`` is ``ops``' own code (shift-and-add / im2col per strip), kept as the fallback and the
reference of the tests.

This module sits below :mod:`ops` and never imports it; ``ops.pad_correlate`` (what ``Conv2d``
calls) runs its band-by-band padding and correlation on this module's cost model and threads.

Work is split into (channel, row block) tasks run by a module-level thread pool (created on first
use, ``os.cpu_count()`` threads, at most 8, including the caller; ``CONVSTUDIO_NUM_THREADS`` or
:func:`set_num_threads` override it): NumPy releases the GIL in ufunc loops, in ``matmul`` and in
the FFT. NumPy's BLAS is pinned to one thread (:func:`blas_pinned`), so the pool is the only level
of threads and every GEMM runs where it is issued; where it cannot be pinned, pool GEMMs are kept
below OpenBLAS' threshold for going multi-threaded itself (M*N*K <= 2**18). Tasks split rows,
columns and tiles, never a sum: the result does not depend on the thread count.
At a stride, ``rowgemm`` stacks the column phases along K (:func:`_rowgemm_stacked`) and ``fft``
folds the spectrum before its inverse (:func:`_fold`): only the kept outputs are computed.

The module is kept whole although it is long: its paths share one cost model (``_costs``), the
scratch sizes it budgets and the one thread pool, and splitting them apart would spread those
shared numbers over several files.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import buffers, cancel, jit

__all__ = [
    "PATHS",
    "enabled",
    "num_threads",
    "set_num_threads",
    "thread_nice",
    "set_thread_nice",
    "parallel",
    "parallel_rows",
    "blas_pinned",
    "choose_path",
    "correlate_into",
    "direct_into",
    "pool_reduce",
    "good_fft_size",
]

PATHS = ("generic", "rowgemm", "lowrank", "fft", "dense", "winograd", "direct")

#: Set to False to make :func:`correlate_into` and :func:`pool_reduce` decline everything (the
#: generic code in ``ops`` then runs). Meant for tests and benchmarks.
enabled = True

_F32 = np.float32
_ITEM = 4
# OpenBLAS runs a GEMM on one thread when M*N*K <= 65536 * 4; larger calls spawn its own threads.
_BLAS_SINGLE_MNK = 1 << 18
# With BLAS pinned to one thread (blas_pinned) a pool task's GEMMs may be this many times larger.
_PINNED_GEMM_FACTOR = 16
# Threads by default: at most this many. Beyond it the memory-bound direct paths stop gaining
# (docs/performance.md, "Threads"); CONVSTUDIO_NUM_THREADS or set_num_threads ask for more.
_DEFAULT_MAX_THREADS = 8
# Floats in the per-strip scratch (G of rowgemm, the im2col strip of dense): about L2-sized.
_SCRATCH_FLOATS = 1 << 17
# Floats in the dense path's strip buffer, and the most it may need for one output row of a
# column chunk.
_DENSE_SCRATCH_FLOATS = 1 << 20
_DENSE_MAX_FLOATS = 1 << 21
# Below this many multiply-adds a call runs on the calling thread only.
_PARALLEL_MIN_WORK = 1 << 18
# Relative size under which a singular value of a kernel is float32 rounding noise.
_RANK_TOL = 2.0 ** -23
# FFT tiles (float64 elements, real side): 256 Ki = 2 MiB keeps a transform near the cache;
# a tile is at most _FFT_TILE_W wide unless the kernel needs more.
_FFT_TILE_ELEMS = 1 << 18
_FFT_TILE_W = 1024
# Conv2d pads inputs up to this many bytes whole; larger ones band by band (pad_correlate): it
# saves the padded copy's memory, not time (measured: equal at 6 MP, slower below).
_BAND_MIN_BYTES = 32 << 20
_BAND_BYTES = 4 << 20
# The fft path keeps every distinct kernel's spectrum; beyond this many bytes it declines.
_FFT_MAX_SPECTRA_BYTES = 64 << 20


# --------------------------------------------------------------------------------------------
# Threads

_pool_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_workers = 0
_threads_override: int | None = None
_tls = threading.local()  # .inside: this thread is running a task of parallel()
_blas_state: bool | None = None  # blas_pinned(): None until tried
_blas_limiter = None  # threadpoolctl's limiter; kept so that the limit is never undone


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def blas_pinned() -> bool:
    """Pin NumPy's BLAS to one thread (once, for the whole process); True if it is pinned.

    OpenBLAS' own threads spin while they wait for work, and they collapse when anything else
    runs on the machine (docs/performance.md, "Threads"). With one BLAS thread every GEMM runs
    on the thread that issues it, so the core's pool is the only level of threads, GEMMs can be
    as large as a whole strip, and a GEMM's result does not depend on how many threads exist.
    False when threadpoolctl finds no BLAS it can control: every GEMM issued from the pool is
    then kept below OpenBLAS' threshold for threading itself, as before.
    """
    global _blas_limiter, _blas_state
    if _blas_state is None:
        with _pool_lock:
            if _blas_state is None:
                try:
                    from threadpoolctl import ThreadpoolController
                    blas = ThreadpoolController().select(user_api="blas")
                    _blas_limiter = blas.limit(limits=1) if blas.info() else None
                    _blas_state = _blas_limiter is not None
                except Exception:  # noqa: BLE001 - any failure leaves BLAS as it was
                    _blas_state = False
    return _blas_state


def _gemm_cap() -> int:
    """Largest M*N*K one GEMM issued by a pool task may have."""
    return _BLAS_SINGLE_MNK * _PINNED_GEMM_FACTOR if blas_pinned() else _BLAS_SINGLE_MNK


def num_threads() -> int:
    """Threads the fast paths use, the calling thread included."""
    if _threads_override is not None:
        return _threads_override
    env = os.environ.get("CONVSTUDIO_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return min(_cpu_count(), _DEFAULT_MAX_THREADS)


def set_num_threads(n: int | None) -> None:
    """Use n threads (>= 1) from now on; None goes back to the default."""
    global _threads_override
    if n is not None and n < 1:
        raise ValueError("the number of threads must be at least 1")
    _threads_override = n


def _get_executor(workers: int) -> ThreadPoolExecutor:
    global _executor, _executor_workers
    with _pool_lock:
        if _executor is None or _executor_workers < workers:
            # An older, smaller pool is left to finish what it runs; its threads exit at shutdown.
            _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convstudio-core")
            _executor_workers = workers
        return _executor


def thread_nice() -> int | None:
    """This thread's nice value (Linux, where it is per thread), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (AttributeError, OSError):
        return None


def set_thread_nice(nice: int | None) -> None:
    """Give this thread the nice value `nice` (Linux; None or elsewhere: nothing). A value it
    may not take (going back up needs privileges) is not asked for again on this thread."""
    if nice is None or getattr(_tls, "nice", None) == nice:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        pass  # (not allowed to go back up: stay, and do not ask again)
    _tls.nice = nice


def parallel(tasks: Sequence[Callable[[], None]], *, threads: int | None = None) -> None:
    """Run the callables, on up to `threads` threads (the caller is one of them).

    The caller works through the queue too, so the call always makes progress, even when the pool
    is busy with another call. A call made from inside a task runs its tasks inline (one level of
    parallelism: band tasks run their strips themselves). The first exception is re-raised after
    every started task has finished. Every thread asks :func:`convstudio.core.cancel.check`
    before each task, with the question the caller set, and runs at the caller's CPU priority
    (on Linux, the calling thread's nice value: the window nices its background work so that
    the GUI thread gets the cores first, and the pool's threads work for it).
    """
    n = len(tasks)
    blas_pinned()
    workers = min(num_threads() if threads is None else threads, n)
    if workers <= 1 or getattr(_tls, "inside", False):  # no nested parallelism
        for task in tasks:
            cancel.check()
            task()
        return
    it = iter(tasks)
    lock = threading.Lock()
    errors: list[BaseException] = []
    question = cancel.current()  # the pool's threads ask the caller's question between tasks
    fp_errors = np.geterr()  # and treat float overflow as the caller does (run_layers: silently)
    nice = thread_nice()  # and run at its priority
    caller = threading.get_ident()

    def runner() -> None:
        _tls.inside = True
        if threading.get_ident() != caller:
            set_thread_nice(nice)
        try:
            with cancel.cancellable(question), np.errstate(**fp_errors):
                while True:
                    with lock:
                        task = next(it, None) if not errors else None
                    if task is None:
                        return
                    try:
                        cancel.check()
                        task()
                    except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                        with lock:
                            errors.append(exc)
        finally:
            _tls.inside = False

    ex = _get_executor(workers - 1)
    futures = [ex.submit(runner) for _ in range(workers - 1)]
    runner()
    for f in futures:
        if not f.cancel():  # a runner that never started has nothing to do any more
            f.result()
    if errors:
        raise errors[0]


def _row_blocks(rows: int, min_rows: int, units: int, work: float) -> list[tuple[int, int]]:
    """Split range(rows) into blocks of whole strips (min_rows) so that `units` x blocks gives
    the thread pool a few tasks per thread, or one block when the work is too small to share."""
    t = num_threads()
    if t <= 1 or work < _PARALLEL_MIN_WORK:
        return [(0, rows)]
    want = max(1, -(-4 * t // units))  # blocks per unit
    size = max(min_rows, -(-rows // want))
    size = -(-size // min_rows) * min_rows
    return [(r, min(rows, r + size)) for r in range(0, rows, size)]


def parallel_rows(fn: Callable[[int, int, int], None], rows: int, units: int, work: float,
                  min_rows: int = 1) -> None:
    """Run ``fn(unit, i0, i1)`` for every unit and block of rows (whole multiples of `min_rows`)
    on the pool: `ops`' generic code, whose GEMMs run on the pool too once BLAS is pinned."""
    blocks = _row_blocks(rows, max(1, min(rows, min_rows)), units, work)
    parallel([(lambda u=u, a=a, b=b: fn(u, a, b)) for u in range(units) for a, b in blocks])


# --------------------------------------------------------------------------------------------
# Small helpers


def _tap(start: int, count: int, step: int) -> slice:
    return slice(start, start + (count - 1) * step + 1, step)


def good_fft_size(n: int) -> int:
    """The smallest 2**a * 3**b * 5**c >= n (sizes pocketfft transforms fastest)."""
    if n <= 1:
        return 1
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _strided(buf: np.ndarray, shape: tuple, strides_items: tuple) -> np.ndarray:
    """A view of the contiguous `buf` with the given shape and strides (in items). The ndarray
    constructor checks that it stays inside `buf` and is far cheaper than ``as_strided``."""
    return np.ndarray(shape, dtype=buf.dtype, buffer=buf,
                      strides=tuple(st * buf.itemsize for st in strides_items))


def _rows_view(x2: np.ndarray, count: int, kh: int, sh: int, dh: int) -> np.ndarray:
    """(count, kh, Wp) read-only view: [i, a, :] = x2[i*sh + a*dh, :]. Build it once per task and
    slice it: ``as_strided`` itself costs microseconds."""
    rs = x2.strides[0]
    return as_strided(x2, shape=(count, kh, x2.shape[1]), strides=(sh * rs, dh * rs, x2.strides[1]),
                      writeable=False)


# --------------------------------------------------------------------------------------------
# Plans: what a path needs to know about the weights, computed once per call


class _Plan:
    """Weights rearranged for the one-input-channel paths (cin_g == 1).

    groups = Cin; each input channel g feeds m = Cout / Cin outputs g*m ... g*m + m - 1.
    ``wt[g]`` is the (m*kw, kh) matrix W[(t, b), a] = weight[g*m + t, 0, a, b]. When every group
    has the same kernels (the ``kernel`` form) only one copy is kept (``shared``), so SVDs and
    spectra are computed once.
    """

    def __init__(self, weight: np.ndarray, groups: int) -> None:
        cout, _, kh, kw = weight.shape
        self.kh, self.kw = kh, kw
        self.m = m = cout // groups
        wg = weight[:, 0].reshape(groups, m, kh, kw)
        self.shared = groups == 1 or bool(np.all(wg == wg[:1]))
        if self.shared:
            wg = wg[:1]
        self.wt = np.ascontiguousarray(wg.transpose(0, 1, 3, 2).reshape(len(wg), m * kw, kh),
                                       dtype=_F32)
        self._rank: int | None = None

    def group_index(self, g: int) -> int:
        return 0 if self.shared else g

    def rank(self) -> int:
        """Numerical rank r of W (the largest over groups), with the factors ``p`` (G, m*kw, r)
        and ``q`` (G, r, kh), W ~= p @ q, from a float64 SVD."""
        if self._rank is None:
            u, s, vt = np.linalg.svd(self.wt.astype(np.float64), full_matrices=False)
            keep = s > s[:, :1] * _RANK_TOL
            r = max(1, int(keep.sum(axis=1).max()))
            self.p = np.ascontiguousarray(u[:, :, :r] * s[:, None, :r], dtype=_F32)
            self.q = np.ascontiguousarray(vt[:, :r, :], dtype=_F32)
            self._rank = r
        return self._rank


def _plan_for(weight: np.ndarray, groups: int) -> _Plan:
    return _Plan(weight, groups)


# --------------------------------------------------------------------------------------------
# rowgemm / lowrank


def _stack_phases(kw: int, sw: int) -> bool:
    """Whether `rowgemm` at column stride `sw` stacks the column phases along K. The plain form
    computes every column of G and keeps every sw-th; the stacked one only kept columns, but
    pays for dealing the input into phases and for the zeros of W'. Measured at sw = 2 on
    1 MP RGB (docs/performance.md, round 3): plain is faster up to kw = 7 (0.50-0.58 of the
    stride-1 time against 0.74-1.04 stacked), stacked from kw = 11 (0.30 at kw = 31, plain 0.59)."""
    return kw >= 4 * sw + 1


def _rowgemm(xp: np.ndarray, plan: _Plan, out: np.ndarray, stride, dilation, lowrank: bool) -> None:
    cin, hp, wp = xp.shape
    _, ho, wo = out.shape
    kh, kw, m = plan.kh, plan.kw, plan.m
    sh, sw = stride
    dh, dw = dilation
    mk = m * kw
    r = plan.rank() if lowrank else 0
    taps_mode = lowrank and r == 1  # separable: multiply-add taps on the one intermediate row
    if sw > 1 and dh == 1 and not lowrank and _stack_phases(kw, sw):
        _rowgemm_stacked(xp, plan, out, stride, dilation)
        return

    # Columns per chunk: keep every GEMM single-threaded inside BLAS.
    if lowrank:
        per_col = max(r * kh, mk * r if not taps_mode else 1)
    else:
        per_col = mk * kh
    span = (kw - 1) * dw + 1
    need_w = (wo - 1) * sw + span
    lb_max = max(span, _BLAS_SINGLE_MNK // max(1, per_col))
    if lb_max >= need_w:
        chunk_out = wo
    else:
        chunk_out = max(1, (lb_max - span) // sw + 1)
        nchunks = -(-wo // chunk_out)
        chunk_out = -(-wo // nchunks)
    lb_full = (chunk_out - 1) * sw + span
    # Rows per strip: the scratch (G, or Y for the separable case) about L2-sized.
    rows_per = r if taps_mode else (r + mk if lowrank else mk)
    strip = max(1, min(ho, _SCRATCH_FLOATS // max(1, rows_per * lb_full)))
    chunks = [(j0, min(wo, j0 + chunk_out)) for j0 in range(0, wo, chunk_out)]
    work = float(cin) * ho * wo * (mk * kh if not lowrank else r * (kh + mk))
    blocks = _row_blocks(ho, strip, cin, work)

    def task(g: int, i0: int, i1: int) -> None:
        x2 = xp[g]
        gi = plan.group_index(g)
        outs = out[g * m:(g + 1) * m]
        rows = _rows_view(x2, ho, kh, sh, dh)
        if lowrank:
            q = plan.q[gi]
            ybuf = np.empty((strip, r, lb_full), dtype=_F32)
        if taps_mode:
            # multiply-add of shifted views of the one intermediate row (an einsum over the taps
            # would be one call, but NumPy then loops over the kw taps innermost: 3x slower)
            tbuf = np.empty((strip, chunk_out), dtype=_F32)
            coef = [[_F32(v) for v in row] for row in plan.p[gi][:, 0].reshape(m, kw)]
        else:
            gbuf = np.empty((strip, mk, lb_full), dtype=_F32)
            # hsum[t, b, i, j] = G[i, t*kw + b, b*dw + j*sw]: one reduce adds the kw taps
            hsum = _strided(gbuf, (m, kw, strip, chunk_out),
                            (kw * lb_full, lb_full + dw, mk * lb_full, sw))
            wmat = plan.p[gi] if lowrank else plan.wt[gi]
        for s0 in range(i0, i1, strip):
            cancel.check()
            n = min(strip, i1 - s0)
            for j0, j1 in chunks:
                nl = j1 - j0
                lb = (nl - 1) * sw + span
                bview = rows[s0:s0 + n, :, j0 * sw:j0 * sw + lb]
                dst = outs[:, s0:s0 + n, j0:j1]
                if lowrank:
                    y = np.matmul(q, bview, out=ybuf[:n, :, :lb])
                    if taps_mode:
                        y0 = y[:, 0]
                        t_ = tbuf[:n, :nl]
                        for t in range(m):
                            acc = dst[t]
                            np.multiply(y0[:, _tap(0, nl, sw)], coef[t][0], out=acc)
                            for b in range(1, kw):
                                np.multiply(y0[:, _tap(b * dw, nl, sw)], coef[t][b], out=t_)
                                acc += t_
                        continue
                    np.matmul(wmat, y, out=gbuf[:n, :, :lb])
                else:
                    np.matmul(wmat, bview, out=gbuf[:n, :, :lb])
                np.add.reduce(hsum[:, :, :n, :nl], axis=1, out=dst)

    parallel([(lambda g=g, a=a, b=b: task(g, a, b)) for g in range(cin) for a, b in blocks])


def _stacked_weights(wt: np.ndarray, m: int, kw: int, kh: int, sw: int, dw: int) -> np.ndarray:
    """W' (m*no, kh*sw) for _rowgemm_stacked: W'[(t, o), (a, p)] = weight of tap b with
    b*dw = o*sw + p (0 where no tap lands), from wt[(t, b), a]."""
    no = ((kw - 1) * dw) // sw + 1
    w2 = np.zeros((m, no, kh, sw), dtype=_F32)
    w3 = wt.reshape(m, kw, kh)
    for b in range(kw):
        o, p = divmod(b * dw, sw)
        w2[:, o, :, p] = w3[:, b, :]
    return w2.reshape(m * no, kh * sw)


def _direct_block(xr: np.ndarray, w3: np.ndarray, dst: np.ndarray, j0: int, stride, dilation) -> None:
    """dst[t, i, j] = sum_{a, b} w3[t, b, a] * xr[i*sh + a*dh, (j0 + j)*sw + b*dw]: the plain sums,
    for the rare strips holding inf or nan."""
    m, kw, kh = w3.shape
    _, n, nl = dst.shape
    (sh, sw), (dh, dw) = stride, dilation
    with np.errstate(invalid="ignore", over="ignore"):
        dst.fill(0.0)
        for a in range(kh):
            for b in range(kw):
                dst += w3[:, b, a][:, None, None] * xr[_tap(a * dh, n, sh), _tap(j0 * sw + b * dw, nl, sw)]


def _rowgemm_stacked(xp: np.ndarray, plan: _Plan, out: np.ndarray, stride, dilation) -> None:
    """rowgemm at a column stride sw > 1 (dilation 1 along rows), computing only the G columns
    the stride keeps. Each strip's input rows are dealt into their sw column phases, row by row
    (``d[r, p, k] = x[r, k*sw + p]``, one copy in cache); tap b reads phase p = (b*dw) % sw at
    offset o = (b*dw) // sw. Stacking the phases along K makes the kh*sw values of one window row
    a matrix with one stride, so ``G = W' (m*no, kh*sw) @ d-rows (kh*sw, Wp/sw)`` is one GEMM per
    output row as at stride 1, but over 1/sw of the columns, and out = sum_o G[(t, o), j + o] is
    one reduce (no = number of offsets; W' is zero where no tap lands)."""
    cin, hp, wp = xp.shape
    _, ho, wo = out.shape
    kh, kw, m = plan.kh, plan.kw, plan.m
    sh, sw = stride
    dw = dilation[1]
    no = ((kw - 1) * dw) // sw + 1
    mo, ks = m * no, kh * sw
    lb_max = max(no, _gemm_cap() // max(1, mo * ks))
    chunk_out = wo if lb_max >= wo + no - 1 else max(1, lb_max - no + 1)
    chunk_out = -(-wo // -(-wo // chunk_out))  # balanced
    lb_full = chunk_out + no - 1  # phase columns per chunk
    nin_of = lambda n: (n - 1) * sh + kh  # noqa: E731 - input rows of n output rows
    strip = max(1, min(ho, _SCRATCH_FLOATS // max(1, (mo + sh * sw) * lb_full)))
    chunks = [(j0, min(wo, j0 + chunk_out)) for j0 in range(0, wo, chunk_out)]
    blocks = _row_blocks(ho, strip, cin, float(cin) * ho * wo * m * kh * kw)

    def task(g: int, i0: int, i1: int) -> None:
        x2 = xp[g]
        wmat = _stacked_weights(plan.wt[plan.group_index(g)], m, kw, kh, sw, dw)
        outs = out[g * m:(g + 1) * m]
        dbuf = np.empty(nin_of(strip) * sw * lb_full, dtype=_F32)
        gbuf = np.empty((strip, mo, lb_full), dtype=_F32)
        # hsum[t, o, i, j] = G[i, t*no + o, o + j]: one reduce adds the offsets
        hsum = _strided(gbuf, (m, no, strip, chunk_out), (no * lb_full, lb_full + 1, mo * lb_full, 1))
        for s0 in range(i0, i1, strip):
            cancel.check()
            n = min(strip, i1 - s0)
            nin = nin_of(n)
            xr = x2[s0 * sh:s0 * sh + nin]
            for j0, j1 in chunks:
                nl, c0 = j1 - j0, j0 * sw
                lb = nl + no - 1
                d = dbuf[:nin * sw * lb].reshape(nin, sw, lb)
                full = min(lb, (wp - c0) // sw)  # phase columns whose sw values all exist
                for p in range(sw):  # one copy per phase: faster than one transposing copy
                    np.copyto(d[:, p, :full], xr[:, _tap(c0 + p, full, sw)])
                if full < lb:  # the last, partial column group; missing values meet zero weights
                    d[:, :, full:] = 0.0
                    rest = wp - c0 - full * sw
                    d[:, :rest, full] = xr[:, c0 + full * sw:]
                if not np.isfinite(np.add.reduce(d.reshape(-1))):
                    # inf or nan (or a sum beyond float32): W' multiplies values outside a window
                    # by its zeros, and 0 * inf is nan; direct sums keep a non-finite value local
                    _direct_block(xr, plan.wt[plan.group_index(g)].reshape(m, kw, kh),
                                  outs[:, s0:s0 + n, j0:j1], j0, (sh, sw), (1, dw))
                    continue
                rows = _strided(d, (n, ks, lb), (sh * sw * lb, lb, 1))
                np.matmul(wmat, rows, out=gbuf[:n, :, :lb])
                np.add.reduce(hsum[:, :, :n, :nl], axis=1, out=outs[:, s0:s0 + n, j0:j1])

    parallel([(lambda g=g, a=a, b=b: task(g, a, b)) for g in range(cin) for a, b in blocks])


# --------------------------------------------------------------------------------------------
# direct: the compiled loop of core/jit.py

# Multiply-adds between two cancellation checks of a direct task (a few milliseconds).
_DIRECT_CHECK_MACS = 1 << 24


def direct_into(x: np.ndarray, weight: np.ndarray, out: np.ndarray, *, stride=(1, 1),
                dilation=(1, 1), groups: int = 1, src_rows: np.ndarray | None = None,
                src_cols: np.ndarray | None = None, left: int = 0) -> None:
    """One-input-channel layers by the compiled loop (core/jit.py): `out` = the valid
    correlation of `x`, or of its padding when `src_rows` / `src_cols` say where each padded
    row / column comes from (``ops._source_rows``; `left` padded columns in front), which is
    then never built. Tasks of (channel, row block), each one call with the GIL released."""
    if x.dtype != _F32 or x.strides[-1] != _ITEM or x.strides[-2] % _ITEM or x.strides[-2] < 0:
        x = np.ascontiguousarray(x, dtype=_F32)  # once, not in every task
    cin = x.shape[0]
    _, ho, wo = out.shape
    cout, _, kh, kw = weight.shape
    m = cout // groups
    w = np.ascontiguousarray(np.asarray(weight, dtype=_F32)[:, 0].reshape(groups, m, kh, kw))
    if src_rows is not None:
        src_rows = np.ascontiguousarray(src_rows, dtype=np.int64)
    if src_cols is not None:
        src_cols = np.ascontiguousarray(src_cols, dtype=np.int64)
    macs_row = max(1, m * wo * kh * kw)
    step = max(1, _DIRECT_CHECK_MACS // macs_row)
    blocks = _row_blocks(ho, 1, cin, float(cin) * ho * macs_row)

    def task(g: int, i0: int, i1: int) -> None:
        x2, w3, o3 = x[g], w[g], out[g * m:(g + 1) * m]
        for r in range(i0, i1, step):
            cancel.check()
            jit.depthwise_rows(x2, w3, o3, r, min(i1, r + step), stride, dilation,
                               src_rows, src_cols, left)

    parallel([(lambda g=g, a=a, b=b: task(g, a, b)) for g in range(cin) for a, b in blocks])


# --------------------------------------------------------------------------------------------
# fft


def _fft_axis(need: int, ke: int, step: int, count: int, target: int) -> tuple[int, int]:
    """FFT length and outputs per tile along one axis (overlap-save with a kernel span ke)."""
    size = lambda n: step * good_fft_size(-(-n // step))  # noqa: E731 - a multiple of the stride
    if need <= target + target // 4:
        return size(need), count
    q = max(1, (max(target, 4 * ke) - ke) // step + 1)
    tiles = -(-count // q)
    q = -(-count // tiles)  # balanced
    return size((q - 1) * step + ke), q


def _fft_geometry(ho: int, wo: int, kh: int, kw: int, stride, dilation):
    """(khe, kwe, nfft_h, nfft_w, qh, qw): FFT tile size and output rows / columns per tile."""
    sh, sw = stride
    dh, dw = dilation
    khe, kwe = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    nfft_w, qw = _fft_axis((wo - 1) * sw + kwe, kwe, sw, wo, _FFT_TILE_W)
    nfft_h, qh = _fft_axis((ho - 1) * sh + khe, khe, sh, ho,
                           max(64, _FFT_TILE_ELEMS // nfft_w))
    return khe, kwe, nfft_h, nfft_w, qh, qw


def _fold_columns(nfft_w: int, sw: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the folded half spectrum's terms come from: (sw, K) indices into the rfft half
    spectrum and a mask of those taken conjugated (index past the middle: Y[W - i] = conj Y[i])."""
    ws = nfft_w // sw
    idx = np.arange(ws // 2 + 1)[None, :] + ws * np.arange(sw)[:, None]
    inside = idx <= nfft_w // 2
    return np.where(inside, idx, nfft_w - idx), ~inside


def _fold(prod: np.ndarray, sh: int, sw: int, cols) -> np.ndarray:
    """The spectrum of y[::sh, ::sw] (times sh*sw) from the rfft2 half spectrum of y: sampling
    every s-th value sums the s aliased copies of the spectrum, so the inverse transform is s
    times smaller and computes only the outputs the stride keeps."""
    if sh > 1:
        prod = prod.reshape(sh, -1, prod.shape[1]).sum(axis=0)
    if sw > 1:
        src, conj = cols
        terms = prod[:, src]  # (H / sh, sw, K)
        hs = prod.shape[0]  # a 2-D half spectrum: Y[r, W - i] = conj Y[-r mod H, i]
        np.conjugate(terms[-np.arange(hs) % hs], out=terms, where=conj[None])
        prod = terms.sum(axis=1)
    return prod


def _split(items: list, parts: int) -> list[list]:
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)]


def _fft(xp: np.ndarray, plan: _Plan, out: np.ndarray, stride, dilation) -> None:
    cin, hp, wp = xp.shape
    _, ho, wo = out.shape
    kh, kw, m = plan.kh, plan.kw, plan.m
    sh, sw = stride
    dh, dw = dilation
    khe, kwe, nfft_h, nfft_w, qh, qw = _fft_geometry(ho, wo, kh, kw, stride, dilation)
    # Conjugate spectra of the dilated kernels: circular correlation = irfft(X * conj(K)).
    nk = plan.wt.shape[0]
    spectra = np.empty((nk, m, nfft_h, nfft_w // 2 + 1), dtype=np.complex128)
    kpad = np.zeros((nfft_h, nfft_w), dtype=np.float64)
    for gi in range(nk):
        for t in range(m):
            kpad[:khe:dh, :kwe:dw] = plan.wt[gi, t * kw:(t + 1) * kw, :].T  # (kh, kw)
            np.conjugate(np.fft.rfft2(kpad), out=spectra[gi, t])
    strided = sh > 1 or sw > 1  # the inverse then runs on the folded spectrum (_fold), 1 / (sh*sw) the size
    fold_cols = _fold_columns(nfft_w, sw)
    if strided:
        spectra *= 1.0 / (sh * sw)
    tiles = [(g, i0, min(ho, i0 + qh), j0, min(wo, j0 + qw))
             for g in range(cin) for i0 in range(0, ho, qh) for j0 in range(0, wo, qw)]
    work = float(cin) * nfft_h * nfft_w * len(tiles)
    parts = 1 if work < _PARALLEL_MIN_WORK else 4 * num_threads()

    def task(mine: list) -> None:
        buf = np.empty((nfft_h, nfft_w), dtype=np.float64)
        for g, i0, i1, j0, j1 in mine:
            cancel.check()
            n, nl = i1 - i0, j1 - j0
            r0, c0 = i0 * sh, j0 * sw
            rows = min(hp - r0, (n - 1) * sh + khe)
            cols = min(wp - c0, (nl - 1) * sw + kwe)
            buf[:rows, :cols] = xp[g, r0:r0 + rows, c0:c0 + cols]
            buf[:rows, cols:] = 0.0
            buf[rows:] = 0.0
            spec = np.fft.rfft2(buf)
            sp = spectra[plan.group_index(g)]
            for t in range(m):
                prod = np.multiply(spec, sp[t], out=spec if t == m - 1 else None)
                if strided:
                    prod = _fold(prod, sh, sw, fold_cols)
                y = np.fft.irfft2(prod, s=(nfft_h // sh, nfft_w // sw))
                out[g * m + t, i0:i1, j0:j1] = y[:n, :nl]

    parallel([(lambda mine=mine: task(mine)) for mine in _split(tiles, parts)])


# --------------------------------------------------------------------------------------------
# dense (cin_g > 1)


def _dense_geometry(cout_g: int, cin_g: int, kh: int, kw: int, wo: int, sh: int, dh: int):
    """(strip rows, output columns per GEMM, pooled?) for the dense path.

    When a GEMM of at least 32 output columns fits under BLAS' single-thread size, the columns are
    chunked to fit and the pool's threads share the rows; otherwise (many channels) each GEMM is
    big, BLAS threads it, and the rows run on the calling thread only (the cost model then
    prefers the generic path).
    """
    kdim = (kh if dh == 1 else 1) * kw * cin_g
    per_col = cout_g * kdim
    # half the single-thread size: OpenBLAS ran (16 x 144) @ (144 x 56) 2.7x faster per column
    # than (16 x 144) @ (144 x 113) on the development machine
    ncols = (_BLAS_SINGLE_MNK // 2) // max(1, per_col)
    pooled = ncols >= min(wo, 32)
    if not pooled and blas_pinned():  # no BLAS threads to leave the GEMMs to: wider chunks, pooled
        ncols, pooled = max(min(wo, 32), (_gemm_cap() // 2) // max(1, per_col)), True
    if not pooled:
        ncols = wo
    else:
        ncols = min(wo, ncols)
        ncols = -(-wo // -(-wo // ncols))  # balanced chunks
    row_floats = kw * cin_g * ncols
    span_h = (kh - 1) * dh + 1
    budget = _SCRATCH_FLOATS * 2 if pooled else _DENSE_SCRATCH_FLOATS
    strip = max(1, (budget // max(1, row_floats) - span_h) // sh + 1)
    return strip, ncols, pooled


def _dense(xp: np.ndarray, weight: np.ndarray, out: np.ndarray, stride, dilation, groups: int) -> None:
    cin, hp, wp = xp.shape
    cout, cin_g, kh, kw = weight.shape
    _, ho, wo = out.shape
    sh, sw = stride
    dh, dw = dilation
    cout_g = cout // groups
    kdim = kh * kw * cin_g
    ka = kw * cin_g
    # W2[o, (a, b, c)]
    w2 = np.ascontiguousarray(weight.transpose(0, 2, 3, 1).reshape(cout, kdim), dtype=_F32)
    strip, ncols, pooled = _dense_geometry(cout_g, cin_g, kh, kw, wo, sh, dh)
    strip = min(strip, ho)
    chunks = [(j0, min(wo, j0 + ncols)) for j0 in range(0, wo, ncols)]
    row_bytes = ka * ncols * _ITEM  # one input row of the strip buffer (one column chunk)
    work = float(cout) * ho * wo * kdim
    blocks = _row_blocks(ho, strip, groups, work) if pooled else [(0, ho)]

    def task(g: int, i0: int, i1: int) -> None:
        xg = xp[g * cin_g:(g + 1) * cin_g]
        wg = w2[g * cout_g:(g + 1) * cout_g]
        og = out[g * cout_g:(g + 1) * cout_g]
        max_in = (strip - 1) * sh + (kh - 1) * dh + 1
        buf = np.empty((max_in, kw, cin_g, ncols), dtype=_F32)
        # [i, a, (b, c), j] = buf[i*sh + a*dh, b, c, j]
        bview = as_strided(buf, shape=(strip, kh, ka, ncols),
                           strides=(sh * row_bytes, dh * row_bytes, ncols * _ITEM, _ITEM), writeable=False)
        if dh == 1:  # (a, b, c) has a uniform stride: one K = kh*kw*Cin_g matrix per output row
            bmat = as_strided(buf, shape=(strip, kdim, ncols), strides=(sh * row_bytes, ncols * _ITEM, _ITEM),
                              writeable=False)
        else:
            tmp = np.empty((strip, cout_g, ncols), dtype=_F32)
        # Column chunk by column chunk over a strip of rows: each NumPy call (a gather, one
        # batched GEMM) then covers all the strip's rows, not one row (docs/performance.md,
        # "Round 5": one call per output row and chunk spent half the time in Python).
        for s0 in range(i0, i1, strip):
            n = min(strip, i1 - s0)
            r0 = s0 * sh
            nin = (n - 1) * sh + (kh - 1) * dh + 1
            dst = og[:, s0:s0 + n].transpose(1, 0, 2)  # (n, Cout_g, Wo): BLAS writes in place
            for j0, j1 in chunks:
                cancel.check()
                m = j1 - j0
                for b in range(kw):
                    buf[:nin, b, :, :m] = xg[:, r0:r0 + nin, _tap(j0 * sw + b * dw, m, sw)].transpose(1, 0, 2)
                if dh == 1:
                    np.matmul(wg, bmat[:n, :, :m], out=dst[:, :, j0:j1])
                    continue
                acc = dst[:, :, j0:j1]
                t_ = tmp[:n, :, :m]
                for a in range(kh):
                    np.matmul(wg[:, a * ka:(a + 1) * ka], bview[:n, a, :, :m], out=acc if a == 0 else t_)
                    if a:
                        acc += t_

    parallel([(lambda g=g, a=a, b=b: task(g, a, b)) for g in range(groups) for a, b in blocks],
             threads=None if pooled else 1)


# --------------------------------------------------------------------------------------------
# winograd: F(2x2, 3x3) for 3 x 3, stride 1, dilation 1 layers with many channels
#
# Output tile 2 x 2, input tile 4 x 4 (tiles 2 apart):  Y = A^T [ sum_c (G g_oc G^T) * (B^T d_c B) ] A
#     B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
#     G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
#     A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
# The sum over input channels is 16 GEMMs (one per (xi, nu) entry of the transformed tile),
# (Cout x Cin) @ (Cin x tiles): 16 * Cin * Cout multiply-adds per 4 outputs instead of 36.
# Every transform coefficient is 0 or +-1 (and the 1/2 of G, applied to the float64 weights), and
# output row/column 0 of a tile only ever reads input rows/columns 0-2, 1 only 1-3: each output's
# rounding error is bounded by its own window's sum |w||x|, as in the direct sums, and an exact
# zero window gives an exact zero. F(4x4, 3x3) (36 GEMMs per 16 outputs) would cut the GEMMs by
# 2.25x more, but its transforms (entries up to 8) mix all six rows of a tile: on a window of small
# values next to large ones its error reached 120 % of the window's own sum |w||x|.

# Floats of scratch per block of tiles (per thread): the transformed input (16 Cin per tile), the
# GEMM products (16 Cout), their partial output transform (8 Cout) and the input band.
_WINO_BLOCK_FLOATS = 1 << 20
# Below this many tiles per GEMM (Cin_g * Cout_g above 2**13) the pool's single-threaded GEMMs
# are too thin: the blocks then run on the calling thread and BLAS threads each GEMM itself.
_WINO_MIN_COLS = 32
# The cost model considers winograd only when both Cin_g and Cout_g reach this: with fewer
# channels the transforms dominate and the dense / generic paths measured faster (e.g. 24 -> 24
# and 32 -> 32 channels at 256 x 256: 1.2-1.6x slower; 48 -> 48 and up: 0.7-0.95x).
_WINO_MIN_CHANNELS = 40
# ... and outputs at least this wide and 16 rows high: on narrower images every NumPy call of the
# transforms loops over a few tiles only and the GEMMs are small (40 -> 40 channels on 32 x 32:
# 2.5x slower than generic; 64 -> 64 on 64 x 64 already faster).
_WINO_MIN_WIDTH = 64


def _wino_weights(weight: np.ndarray, groups: int) -> np.ndarray:
    """(groups, 16, Cout_g, Cin_g) float32: G g G^T for every (xi, nu), from float64 weights."""
    cout, cin_g = weight.shape[:2]
    k = np.ascontiguousarray(weight.transpose(2, 3, 0, 1), dtype=np.float64)  # (a, b, Cout, Cin_g)
    t = np.empty((4, 3) + k.shape[2:])  # G along a
    u = np.empty((4, 4) + k.shape[2:])  # then along b
    for src, dst in ((k, t), (t.transpose(1, 0, 2, 3), u.transpose(1, 0, 2, 3))):
        # rows of G: g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2
        dst[0] = src[0]
        dst[3] = src[2]
        np.add(src[0], src[2], out=dst[1])
        dst[1] *= 0.5
        np.multiply(src[1], 0.5, out=dst[2])
        np.subtract(dst[1], dst[2], out=dst[2])
        dst[1] += 0.5 * src[1]
    u = u.reshape(16, groups, cout // groups, cin_g).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(u, dtype=_F32)


def _wino_geometry(cin_g: int, cout_g: int, ho: int, wo: int):
    """(tile rows per block, tile columns per block, tiles per GEMM, pooled?)."""
    th, tw = -(-ho // 2), -(-wo // 2)
    tc = _gemm_cap() // max(1, cin_g * cout_g)
    pooled = tc >= _WINO_MIN_COLS or blas_pinned()
    tc = max(tc, _WINO_MIN_COLS) if pooled else tc
    # scratch floats per tile: E and H (6 Cin per input value, about 4 values per tile at one
    # tile row), V (16 Cin), M (16 Cout), S (8 Cout), tmp (Cout)
    per_tile = 40 * cin_g + 25 * cout_g
    tiles = max(1, _WINO_BLOCK_FLOATS // per_tile)
    if tiles >= tw:
        bc, bn = tw, max(1, min(th, tiles // tw))
    else:
        bn = 1
        bc = max(min(tw, 32), tiles)
        bc = -(-tw // -(-tw // bc))  # balanced column blocks
    if not pooled:
        tc = bn * bc
    return bn, bc, tc, pooled


def _winograd(xp: np.ndarray, weight: np.ndarray, out: np.ndarray, groups: int) -> None:
    cin, hp, wp = xp.shape
    cout, cin_g = weight.shape[:2]
    _, ho, wo = out.shape
    cout_g = cout // groups
    th, tw = -(-ho // 2), -(-wo // 2)
    u = _wino_weights(weight, groups)
    bn, bc, tc_max, pooled = _wino_geometry(cin_g, cout_g, ho, wo)
    blocks = [(ty, tx) for ty in range(0, th, bn) for tx in range(0, tw, bc)]
    per = 1
    if pooled:
        per = max(1, len(blocks) * groups // (4 * num_threads()))
        per = min(per, max(1, len(blocks) // 2))
    work = [(g, blocks[i:i + per]) for g in range(groups) for i in range(0, len(blocks), per)]

    def task(g: int, mine: list) -> None:
        L = bc + 1  # deinterleaved input columns per block row (the last one pads)
        R = 2 * bn + 2  # input rows per block
        ne_max = cin_g * R * L
        ebuf = np.empty(2 * ne_max + 1, dtype=_F32)  # even, odd columns (+1: read past the end)
        hbuf = np.empty(4 * ne_max, dtype=_F32)
        t_max = bn * bc
        vbuf = np.empty(16 * cin_g * t_max, dtype=_F32)
        mbuf = np.empty(16 * cout_g * t_max, dtype=_F32)
        sbuf = np.empty(8 * cout_g * t_max, dtype=_F32)
        tbuf = np.empty(cout_g * t_max, dtype=_F32)
        xg = xp[g * cin_g:(g + 1) * cin_g]
        og = out[g * cout_g:(g + 1) * cout_g]
        ug = u[g]
        for ty0, tx0 in mine:
            cancel.check()
            n, c = min(bn, th - ty0), min(bc, tw - tx0)
            r0, c0 = 2 * ty0, 2 * tx0
            rows, lc = 2 * n + 2, c + 1
            ra = min(rows, hp - r0)  # input rows that exist (the last block may lack one)
            ne = cin_g * rows * lc
            # 1. deinterleave: e[.., k] = x[.., c0 + 2k], o[.., k] = x[.., c0 + 2k + 1]; missing
            #    rows and columns (odd output sizes) are zeros, read only by discarded outputs
            e = ebuf[:ne].reshape(cin_g, rows, lc)
            o = ebuf[ne:2 * ne].reshape(cin_g, rows, lc)
            ke = min(lc, (wp - c0 + 1) // 2)
            ko = min(lc, (wp - c0) // 2)
            xb = xg[:, r0:r0 + ra, c0:]
            np.copyto(e[:, :ra, :ke], xb[:, :, 0:2 * ke - 1:2])
            np.copyto(o[:, :ra, :ko], xb[:, :, 1:2 * ko:2])
            if ke < lc:
                e[:, :ra, ke:] = 0.0
            if ko < lc:
                o[:, :ra, ko:] = 0.0
            if ra < rows:
                e[:, ra:] = 0.0
                o[:, ra:] = 0.0
            if not np.isfinite(np.add.reduce(ebuf[:2 * ne])):
                # inf or nan (or a sum beyond float32): the transforms would turn inf into nan in
                # outputs that only see the inf; direct sums keep it exact and local
                rr, cc = min(2 * n, ho - r0), min(2 * c, wo - c0)
                _dense(xg[:, r0:r0 + rr + 2, c0:c0 + cc + 2], weight[g * cout_g:(g + 1) * cout_g],
                       og[:, r0:r0 + rr, c0:c0 + cc], (1, 1), (1, 1), 1)
                continue
            # 2. B^T along rows, on the flat buffers (one long loop each; the last column of every
            #    row mixes in the next row: never read below)
            ebuf[2 * ne] = 0.0  # o's flat view reads one float past its end
            ef, of_ = ebuf[:ne + 1], ebuf[ne:2 * ne + 1]
            h = hbuf[:4 * ne].reshape(4, ne)
            np.subtract(ef[:-1], ef[1:], out=h[0])
            np.add(of_[:-1], ef[1:], out=h[1])
            np.subtract(ef[1:], of_[:-1], out=h[2])
            np.subtract(of_[:-1], of_[1:], out=h[3])
            # 3. B^T along columns: V[xi, nu, c, (ty, tx)]
            hh = h.reshape(4, cin_g, rows, lc)
            a0, a1 = hh[:, :, 0:2 * n:2, :c], hh[:, :, 1:2 * n:2, :c]
            a2, a3 = hh[:, :, 2:2 * n + 1:2, :c], hh[:, :, 3:2 * n + 2:2, :c]
            t = n * c
            v = vbuf[:16 * cin_g * t].reshape(4, 4, cin_g, n, c)
            np.subtract(a0, a2, out=v[0])
            np.add(a1, a2, out=v[1])
            np.subtract(a2, a1, out=v[2])
            np.subtract(a1, a3, out=v[3])
            # 4. the 16 GEMMs, in column chunks that OpenBLAS runs on this thread
            v16 = v.reshape(16, cin_g, t)
            nch = -(-t // tc_max)
            tc = -(-t // nch)
            m16 = mbuf[:16 * cout_g * t].reshape(16, cout_g, t)
            for j0 in range(0, t, tc):
                np.matmul(ug, v16[:, :, j0:j0 + tc], out=m16[:, :, j0:j0 + tc])
            # 5. A^T along xi, then along nu (flat, whole blocks), then into the output
            m = mbuf[:16 * cout_g * t].reshape(4, 4 * t * cout_g)
            s = sbuf[:8 * cout_g * t].reshape(2, 4 * t * cout_g)
            np.add(m[0], m[1], out=s[0])
            s[0] += m[2]
            np.subtract(m[1], m[2], out=s[1])
            s[1] -= m[3]
            s = s.reshape(2, 4, cout_g, n, c)
            tmp = tbuf[:t * cout_g].reshape(cout_g, n, c)
            for i in range(2):
                nv = min(n, (ho - r0 - i + 1) // 2)  # tile rows whose output row i exists
                if nv <= 0:
                    continue
                for j in range(2):
                    ncv = min(c, (wo - c0 - j + 1) // 2)
                    if ncv <= 0:
                        continue
                    si = s[i]
                    dst = og[:, r0 + i:r0 + i + 2 * nv - 1:2, c0 + j:c0 + j + 2 * ncv - 1:2]
                    if j == 0:  # y0 = s0 + s1 + s2, y1 = s1 - s2 - s3, the last op writes out
                        np.add(si[0], si[1], out=tmp)
                        np.add(tmp[:, :nv, :ncv], si[2][:, :nv, :ncv], out=dst)
                    else:
                        np.subtract(si[1], si[2], out=tmp)
                        np.subtract(tmp[:, :nv, :ncv], si[3][:, :nv, :ncv], out=dst)

    def run(g: int, mine: list) -> None:
        # the pad column of every row mixes neighbouring rows: an overflow there is harmless
        with np.errstate(over="ignore", invalid="ignore"):
            task(g, mine)

    parallel([(lambda g=g, mine=mine: run(g, mine)) for g, mine in work],
             threads=None if pooled else 1)


# --------------------------------------------------------------------------------------------
# Cost model


def _one_channel_costs(plan: _Plan, cin: int, ho: int, wo: int, outs: float, stride, dilation,
                       par: float) -> dict[str, float]:
    """The paths of one-input-channel layers, in the units of :func:`_costs`."""
    kh, kw, m = plan.kh, plan.kw, plan.m
    (sh, sw), dh = stride, dilation[0]
    ns = 1e-9
    costs: dict[str, float] = {}
    if sw > 1 and dh == 1 and _stack_phases(kw, sw):
        per = 2.5 * sh * sw + 1.2 * kw + 0.01 * kh * kw  # (refitted in round 3)
    else:
        per = 1.0 + 1.5 * (sh * sw - 1) + 0.8 * kw * sw + 0.04 * kh * kw * sw
    costs["rowgemm"] = outs * per * ns / par
    r = plan.rank()
    if r == 1:
        low = 1.0 + 0.1 * kh * sw / m + 0.7 * kw
    else:
        low = 2.0 + 0.15 * r * (kh / m + kw) * sw + 0.8 * kw
    low += 1.5 * (sh * sw - 1) + 0.8 * kw * (sw - 1)  # every column computed, as plain rowgemm
    costs["lowrank"] = outs * low * ns / par
    if jit.available():
        # the compiled loop (core/jit.py), fitted on this scale in round 4: about 0.06 ns a
        # multiply-add on the Intel machine, where rowgemm and fft ran 2x faster than this
        # model says, plus dealing each input row into its column phases at a column stride
        taps = float(kh * kw)
        if sw > 1:
            direct = 1.0 + 0.13 * taps + 0.5 * sh * sw / m
        else:
            direct = 1.0 + 0.11 * taps
        costs["direct"] = outs * direct * ns / par
    khe, kwe, nfft_h, nfft_w, qh, qw = _fft_geometry(ho, wo, kh, kw, stride, dilation)
    spectra_bytes = plan.wt.shape[0] * m * nfft_h * (nfft_w // 2 + 1) * 16
    if spectra_bytes <= _FFT_MAX_SPECTRA_BYTES:
        ntiles = cin * -(-ho // qh) * -(-wo // qw)
        area = float(nfft_h) * nfft_w
        transform = area * math.log2(max(2.0, area)) * 1.5 * ns
        inverse = m / (sh * sw) + (1.0 if sh * sw > 1 else 0.0)  # + the fold's passes
        # (x 1.25: measured 56-80 ms for 1 MP RGB in round 3, where the model said 45-56)
        costs["fft"] = 1.25 * ntiles * (transform * (1 + inverse) / 2 + area * m * 2 * ns) / par
    return costs


def _costs(xshape, weight_shape, stride, dilation, groups, plan: _Plan | None) -> dict[str, float]:
    """Estimated seconds per path.

    Per-output costs measured single-threaded (thread CPU time) on the development machine (2-core
    AMD EPYC, AVX2, OpenBLAS 0.3.31) for 1 MP planes and k = 1 ... 31; the pool's paths are then
    divided by the thread count. Only the ranking matters: every path computes the same numbers.
    """
    cin, hp, wp = xshape
    cout, cin_g, kh, kw = weight_shape
    sh, sw = stride
    dh, dw = dilation
    ho = (hp - (kh - 1) * dh - 1) // sh + 1
    wo = (wp - (kw - 1) * dw - 1) // sw + 1
    outs = float(cout) * ho * wo
    ns = 1e-9
    par = float(num_threads()) if outs * kh * kw * cin_g >= _PARALLEL_MIN_WORK else 1.0
    costs: dict[str, float] = {}
    # generic: ops' shift-and-add (one input channel) or im2col + GEMM, row blocks on the pool
    if cin_g == 1 and cout == groups:
        # (at a stride every tap is a strided copy: 3x the time per output at 2 x 2, round 3)
        strided = 1.0 if sh * sw == 1 else 0.75 * sh * sw
        costs["generic"] = outs * (0.75 * kh * kw + 0.1) * strided * ns / par
    else:
        costs["generic"] = outs * (0.12 * cin_g * kh * kw + 0.5 * cin_g * kh * kw / max(1, cout)) * ns / par
    if cin_g == 1 and plan is not None:
        costs.update(_one_channel_costs(plan, cin, ho, wo, outs, stride, dilation, par))
    # dense's buffer holds one column chunk of a strip (round 5), so the width of a whole row no
    # longer matters: wide layers (64 -> 64 3 x 3 at 4096 columns, 16 -> 16 5 x 5 at 6000) ran
    # 1.0-1.75x faster on it than on the generic path they were left to (docs/performance.md)
    ncols = _dense_geometry(cout // groups, cin_g, kh, kw, wo, sh, dh)[1] if cin_g > 1 else wo
    if cin_g > 1 and ((kh - 1) * dh + 1) * kw * cin_g * ncols <= _DENSE_MAX_FLOATS:
        kdim = kh * kw * cin_g
        strip, ncols, pooled = _dense_geometry(cout // groups, cin_g, kh, kw, wo, sh, dh)
        # Without the pool (GEMMs too big to stay single-threaded) the generic im2col, one GEMM
        # per strip, keeps BLAS' threads busier than one GEMM per output row: leave it to that.
        if pooled:
            costs["dense"] = outs * (0.09 * kdim + 0.5 * kw * cin_g / max(1, cout)) * ns / par
    cout_g = cout // max(1, groups)
    # With BLAS pinned, dense's whole-strip GEMMs measured 1.06-1.6x faster than winograd from 48
    # to 256 channels (docs/performance.md): winograd is then only run when asked for.
    if (not blas_pinned() and (kh, kw) == (3, 3) and (sh, sw) == (1, 1) and (dh, dw) == (1, 1)
            and min(cin_g, cout_g) >= _WINO_MIN_CHANNELS and wo >= _WINO_MIN_WIDTH and ho >= 16):
        # Single-thread CPU time fitted over 16 ... 128 channels, 64**2 ... 512**2 pixels:
        # 0.088 ns per GEMM multiply-add (4 Cin_g per output), 6.9 ns per output (output
        # transform), 9.3 ns per input value (deinterleave, input transform). The pool's two
        # threads gave only 1.3-1.5x (the blocks stream through the shared L3): 1 + 0.45 per extra
        # thread. Without the pool the GEMMs get BLAS' threads and the transforms one thread.
        pooled = _wino_geometry(cin_g, cout_g, ho, wo)[3]
        gemm = outs * 4 * cin_g * 0.088 * ns
        rest = (outs * 6.9 + float(cin) * ho * wo * 9.3) * ns
        if pooled:
            costs["winograd"] = (gemm + rest) / (1.0 + 0.45 * (par - 1.0))
        else:
            costs["winograd"] = gemm / par + rest
    return costs


def applicable(path: str, xshape, weight_shape, groups: int, stride=(1, 1), dilation=(1, 1)) -> bool:
    cin_g = weight_shape[1]
    if path == "generic":
        return True
    if path in ("rowgemm", "lowrank", "fft"):
        return cin_g == 1
    if path == "direct":  # the compiled loop (core/jit.py), when numba is there
        return cin_g == 1 and jit.available()
    if path == "dense":
        return cin_g > 1
    if path == "winograd":  # any groups; the cost model picks it for many channels only
        return tuple(weight_shape[2:]) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
    raise ValueError(f"unknown path {path!r}; expected one of {', '.join(PATHS)}")


def choose_path(xshape, weight: np.ndarray, *, stride=(1, 1), dilation=(1, 1), groups: int = 1,
                _plan: _Plan | None = None) -> str:
    """The path the cost model picks for this correlation."""
    cin_g = weight.shape[1]
    plan = _plan
    if cin_g == 1 and plan is None:
        plan = _plan_for(weight, groups)
    costs = _costs(xshape, weight.shape, stride, dilation, groups, plan)
    return min(costs, key=costs.__getitem__)


def correlate_into(xp: np.ndarray, weight: np.ndarray, out: np.ndarray, *, stride=(1, 1),
                   dilation=(1, 1), groups: int = 1, path: str | None = None) -> bool:
    """Fill `out` (Cout, Ho, Wo) with the valid correlation of the padded `xp`, without bias.

    With ``path=None`` the cost model chooses; False means it chose ``generic`` (or the module
    is disabled) and the caller must compute `out` itself. A forced `path` that does not apply
    raises ValueError; ``path="generic"`` returns False.
    """
    if path is None and not enabled:
        return False
    if path is not None and not applicable(path, xp.shape, weight.shape, groups, stride, dilation):
        raise ValueError(f"path {path!r} does not apply to weight {weight.shape} with groups={groups}, "
                         f"stride={tuple(stride)}, dilation={tuple(dilation)}")
    if path == "generic":
        return False
    if out.size == 0:
        return True
    stride = (int(stride[0]), int(stride[1]))
    dilation = (int(dilation[0]), int(dilation[1]))
    cin_g = weight.shape[1]
    weight = np.asarray(weight, dtype=_F32)
    plan = _plan_for(weight, groups) if cin_g == 1 else None
    if path == "direct" and not jit.ready():
        raise ValueError("path 'direct' is off: numba could not compile it")
    if path is None:
        path = choose_path(xp.shape, weight, stride=stride, dilation=dilation, groups=groups,
                           _plan=plan)
        if path == "direct" and not jit.ready():  # numba failed: choose again without it
            path = choose_path(xp.shape, weight, stride=stride, dilation=dilation, groups=groups,
                               _plan=plan)
        if path == "generic":
            return False
    if xp.dtype != _F32 or xp.strides[-1] != _ITEM or xp.strides[-2] % _ITEM:
        xp = np.ascontiguousarray(xp, dtype=_F32)
    if path == "rowgemm":
        _rowgemm(xp, plan, out, stride, dilation, lowrank=False)
    elif path == "lowrank":
        _rowgemm(xp, plan, out, stride, dilation, lowrank=True)
    elif path == "fft":
        if np.isfinite(xp).all():
            _fft(xp, plan, out, stride, dilation)
        else:  # an inf or nan would spread over a whole FFT tile; direct sums keep it in place
            _rowgemm(xp, plan, out, stride, dilation, lowrank=False)
    elif path == "direct":
        direct_into(xp, weight, out, stride=stride, dilation=dilation, groups=groups)
    elif path == "winograd":
        _winograd(xp, weight, out, groups)
    else:
        _dense(xp, weight, out, stride, dilation, groups)
    return True


# --------------------------------------------------------------------------------------------
# Pooling


def pool_reduce(xp: np.ndarray, kernel_size, stride, dilation, out_hw, reducer, *,
                pads: tuple[int, int] = (0, 0), fill: float = 0.0) -> np.ndarray | None:
    """Reduce (max or add) the windows of a ``(C, H, W) float32`` input, padded with `fill`.

    out[c, i, j] = reducer over a, b of P[c, i*sh + a*dh, j*sw + b*dw], for i < ho, j < wo,
    where P is `xp` placed at row / column `pads` = (top, left) of a frame of `fill` values as
    large as the windows reach: no padded copy is made. `fill` must leave the reducer's other
    operand as it is (-inf for ``np.maximum``, 0 for ``np.add``), so taps in the padding are
    skipped. Rows first (contiguous, SIMD), then columns, strip by strip so that the
    intermediate stays in cache, on the thread pool. Returns None (the caller falls back) when
    disabled.
    """
    if not enabled:
        return None
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    ho, wo = out_hw
    top, left = pads
    c, h, w = xp.shape
    out = buffers.empty((c, ho, wo))
    if out.size == 0:
        return out
    need_w = (wo - 1) * sw + (kw - 1) * dw + 1
    c_lo, c_hi = min(left, need_w), max(min(left, need_w), min(left + w, need_w))  # P's columns of xp
    # Rows per strip: the row reduction's intermediate (the scratch size, 512 KiB) stays in L2.
    # Half that measured 7-12 % slower on two threads (six NumPy calls a strip, each then on
    # too few rows) and as fast on one (docs/performance.md, "Round 5").
    strip = max(1, min(ho, _SCRATCH_FLOATS // max(1, need_w)))
    work = float(c) * ho * wo * (kh + kw)
    blocks = _row_blocks(ho, strip, c, work)
    fill32 = _F32(fill)

    def task(ch: int, i0: int, i1: int) -> None:
        x2 = xp[ch]
        tmp = np.empty((strip, need_w), dtype=_F32)
        for s0 in range(i0, i1, strip):
            cancel.check()
            n = min(strip, i1 - s0)
            rows = _pool_rows(x2, tmp[:n], s0, n, kh, sh, dh, top, c_lo, c_hi, left, fill32, reducer)
            acc = out[ch, s0:s0 + n]
            if kw == 1:
                np.copyto(acc, rows[:, _tap(0, wo, sw)])
                continue
            reducer(rows[:, _tap(0, wo, sw)], rows[:, _tap(dw, wo, sw)], out=acc)
            for b in range(2, kw):
                reducer(acc, rows[:, _tap(b * dw, wo, sw)], out=acc)

    parallel([(lambda ch=ch, a=a, b=b: task(ch, a, b)) for ch in range(c) for a, b in blocks])
    return out


def _pool_rows(x2, rows, s0, n, kh, sh, dh, top, c_lo, c_hi, left, fill, reducer) -> np.ndarray:
    """rows[k, col] = reducer over the kernel's rows a of P[(s0 + k)*sh + a*dh, col] (P: `x2` at
    (top, left) in a frame of `fill`): the row reduction of one strip of pool_reduce. The first
    two taps make one call when both cover the strip (as without padding); a single tap with
    nothing to pad is a view."""
    h = x2.shape[0]
    cols = slice(c_lo - left, c_hi - left)
    taps = []  # (k_lo, k_hi, view of the input rows) for the taps inside the input
    for a in range(kh):
        r0 = s0 * sh + a * dh - top  # the input row of output row s0 for this tap
        k_lo = min(n, max(0, -(r0 // sh)))  # the strip's rows whose tap is inside the input
        k_hi = max(k_lo, min(n, (h - 1 - r0) // sh + 1))
        if k_hi > k_lo:  # (else every row of the strip reads the padding: nothing to add)
            taps.append((k_lo, k_hi, x2[r0 + k_lo * sh:r0 + (k_hi - 1) * sh + 1:sh, cols]))
    need_w = rows.shape[1]
    if len(taps) == 1 and taps[0][:2] == (0, n) and (c_lo, c_hi) == (0, need_w):
        return taps[0][2]
    rows[:, :c_lo] = fill
    rows[:, c_hi:] = fill
    mid = rows[:, c_lo:c_hi]
    if not taps:
        mid[:] = fill
        return rows
    k_lo, k_hi, src = taps[0]
    mid[:k_lo] = fill
    mid[k_hi:] = fill
    rest = taps[1:]
    if rest and rest[0][:2] == (k_lo, k_hi):
        reducer(src, rest[0][2], out=mid[k_lo:k_hi])
        rest = rest[1:]
    else:
        np.copyto(mid[k_lo:k_hi], src)
    for k_lo, k_hi, src in rest:
        reducer(mid[k_lo:k_hi], src, out=mid[k_lo:k_hi])
    return rows
