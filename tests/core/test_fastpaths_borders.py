"""The core's pad-free depthwise correlation (core/borders.py), its stride-aware paths and its threads.

References are independent of the core: ``numpy.pad`` + ``scipy.signal.correlate2d`` in float64,
subsampled for strides (the correlation of the dilated kernel). Tolerance as in test_fastpaths.py:
|fast - ref| <= 1e-5 * (the same sum with |w| and |x|) + 1e-6 * its maximum.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.signal import correlate2d

from convstudio.core import borders, fastpaths, jit, ops

NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
            "symmetric": "symmetric"}


def reference(x, w, pads, mode="zeros", stride=(1, 1), dilation=(1, 1), groups=1):
    """float64: pad with numpy, correlate each (output, input) channel pair with scipy."""
    top, bottom, left, right = pads
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (top, bottom), (left, right)), mode=NP_MODES[mode])
    cout, cin_g, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    kd = np.zeros((cout, cin_g, (kh - 1) * dh + 1, (kw - 1) * dw + 1))
    kd[:, :, ::dh, ::dw] = w
    cout_g = cout // groups
    planes = []
    for o in range(cout):
        g = o // cout_g
        acc = sum(correlate2d(xp[g * cin_g + c], kd[o, c], mode="valid") for c in range(cin_g))
        planes.append(acc[::sh, ::sw])
    return np.stack(planes)


def assert_close(got, x, w, pads, mode="zeros", stride=(1, 1), dilation=(1, 1), groups=1):
    ref = reference(x, w, pads, mode, stride, dilation, groups)
    mag = reference(np.abs(x), np.abs(w), pads, mode, stride, dilation, groups)
    assert got.shape == ref.shape and got.dtype == np.float32
    tol = 1e-5 * mag + 1e-6 * (mag.max() if mag.size else 0.0) + 1e-30
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(err <= tol), f"max err {err.max():.3g}"


@pytest.fixture(autouse=True)
def _small_work_units(monkeypatch):
    """Small images, but many strips, column chunks, FFT tiles and pool tasks."""
    monkeypatch.setattr(fastpaths, "_PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(fastpaths, "_SCRATCH_FLOATS", 1 << 9)
    monkeypatch.setattr(fastpaths, "_BLAS_SINGLE_MNK", 1 << 8)
    monkeypatch.setattr(fastpaths, "_PINNED_GEMM_FACTOR", 1)
    monkeypatch.setattr(fastpaths, "_FFT_TILE_ELEMS", 1 << 10)
    monkeypatch.setattr(fastpaths, "_FFT_TILE_W", 32)
    fastpaths.set_num_threads(2)
    yield
    fastpaths.set_num_threads(None)


def nan_output(x, w, pads, stride, dilation):
    """The output array of correlating the padded `x` with `w`, filled with NaN."""
    _, h, wd = x.shape
    top, bottom, left, right = pads
    kh, kw = w.shape[2:]
    ho = ops.output_size(h + top + bottom, kh, stride=stride[0], dilation=dilation[0])
    wo = ops.output_size(wd + left + right, kw, stride=stride[1], dilation=dilation[1])
    return np.full((w.shape[0], ho, wo), np.nan, dtype=np.float32)


def _split(x, w, pads, mode, stride, dilation, groups, path):
    _, h, wd = x.shape
    top, bottom, left, right = pads
    out = nan_output(x, w, pads, stride, dilation)
    borders.correlate_split(x, pads, ops._source_rows(h, top, bottom, mode), ops._source_rows(wd, left, right, mode),
                            w, out, stride=stride, dilation=dilation, groups=groups, path=path)
    return out


@pytest.mark.parametrize("path", borders.SPLIT_PATHS)
@pytest.mark.parametrize("mode", list(NP_MODES))
@pytest.mark.parametrize(("ksize", "pads", "stride", "dilation"), [
    ((3, 3), (1, 1, 1, 1), (1, 1), (1, 1)),
    ((5, 4), (2, 3, 1, 2), (2, 3), (1, 1)),
    ((3, 5), (2, 2, 4, 4), (1, 2), (2, 2)),
    ((7, 7), (3, 3, 3, 3), (3, 2), (1, 1)),
    ((9, 9), (4, 4, 4, 4), (1, 1), (1, 1)),  # wider than the input: no interior at all
])
def test_split_correlation_matches_the_padded_one(path, mode, ksize, pads, stride, dilation):
    rng = np.random.default_rng(sum(ksize) + len(mode))
    x = rng.standard_normal((3, 8, 11)).astype(np.float32)
    if ksize == (9, 9):
        x = x[:, :6, :7]
    for m, shared in ((1, True), (2, False)):  # the kernel form; a depthwise multiplier, own kernels
        k = rng.standard_normal((1 if shared else 3 * m, 1) + ksize)
        w = np.broadcast_to(k, (3 * m, 1) + ksize).astype(np.float32)
        got = _split(x, w, pads, mode, stride, dilation, 3, path)
        assert_close(got, x, w, pads, mode, stride, dilation, groups=3)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_conv2d_path_without_the_padded_copy_is_never_banded(monkeypatch, mode):
    monkeypatch.setattr(jit, "_state", False)  # the NumPy paths: the compiled one has its own test
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 37, 29)).astype(np.float32)
    w = rng.standard_normal((2, 1, 3, 5)).astype(np.float32)
    bias = np.array([0.5, -2.0], np.float32)
    pads = (1, 1, 2, 2)
    assert fastpaths.choose_path((2, 39, 33), w, groups=2) in borders.SPLIT_PATHS
    whole = ops.pad_correlate(x, pads, mode=mode, weight=w, bias=bias, groups=2)
    # an input above the banding threshold is still split whole: the split makes no padded copy
    calls = []
    real = borders.correlate_split
    monkeypatch.setattr(borders, "correlate_split", lambda xs, *a, **k: calls.append(xs.shape) or real(xs, *a, **k))
    monkeypatch.setattr(fastpaths, "_BAND_MIN_BYTES", 0)
    monkeypatch.setattr(fastpaths, "_BAND_BYTES", 2 * 33 * 4 * 6)
    large = ops.pad_correlate(x, pads, mode=mode, weight=w, bias=bias, groups=2)
    assert calls == [x.shape]
    np.testing.assert_array_equal(large, whole)
    assert_close(whole - bias[:, None, None], x, w, pads, mode, groups=2)


@pytest.mark.parametrize(("stride", "dilation"), [((1, 2), (1, 1)), ((2, 2), (1, 1)), ((2, 3), (1, 2)),
                                                  ((3, 2), (1, 3)), ((1, 4), (1, 1))])
@pytest.mark.parametrize("ksize", [(1, 1), (3, 3), (2, 5), (7, 4)])
def test_rowgemm_at_a_column_stride_computes_only_kept_columns(stride, dilation, ksize):
    rng = np.random.default_rng(ksize[1] * 7 + stride[1])
    x = rng.standard_normal((2, 23, 41)).astype(np.float32)
    w = rng.standard_normal((4, 1) + ksize).astype(np.float32)  # multiplier 2
    xp = ops.pad(x, (0, 0, 0, 0))
    ho = ops.output_size(23, ksize[0], stride=stride[0], dilation=dilation[0])
    wo = ops.output_size(41, ksize[1], stride=stride[1], dilation=dilation[1])
    for path in ("rowgemm", "fft"):
        out = np.full((4, ho, wo), np.nan, np.float32)
        assert fastpaths.correlate_into(xp, w, out, stride=stride, dilation=dilation, groups=2, path=path)
        assert_close(out, x, w, (0, 0, 0, 0), stride=stride, dilation=dilation, groups=2)


def test_stride_paths_keep_a_nan_inside_its_windows():
    x = np.ones((1, 12, 17), np.float32)
    x[0, 5, 8] = np.nan
    w = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    for stride in ((2, 2), (1, 3)):
        out = np.empty((1, ops.output_size(12, 3, stride=stride[0]), ops.output_size(17, 3, stride=stride[1])),
                       np.float32)
        with np.errstate(invalid="ignore"):
            fastpaths.correlate_into(x, w, out, stride=stride, path="rowgemm")
        rows = np.arange(out.shape[1])[:, None] * stride[0]
        cols = np.arange(out.shape[2])[None, :] * stride[1]
        inside = (rows <= 5) & (5 <= rows + 2) & (cols <= 8) & (8 <= cols + 2)
        np.testing.assert_array_equal(np.isnan(out[0]), inside)
        finite = reference(np.where(np.isnan(x), 0, x), w, (0, 0, 0, 0), stride=stride)
        np.testing.assert_allclose(out[0][~inside], finite[0][~inside], rtol=1e-5)


def test_generic_code_runs_on_the_pool_and_stays_exact(monkeypatch):
    monkeypatch.setattr(fastpaths, "enabled", False)
    monkeypatch.setattr(ops, "_STRIP_ELEMS", 1 << 10)  # many strips, several row blocks
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 21, 26)).astype(np.float32)
    for shape, groups, stride in (((6, 2, 3, 2), 2, (2, 1)), ((4, 1, 3, 3), 4, (1, 2))):
        w = rng.standard_normal(shape).astype(np.float32)
        got = ops.correlate(x, w, stride=stride, groups=groups)
        assert_close(got, x, w, (0, 0, 0, 0), stride=stride, groups=groups)


@pytest.mark.parametrize("case", ["rowgemm", "stacked", "lowrank", "fft", "dense", "generic", "split"]
                         + (["direct", "direct-stride"] if jit.available() else []))
def test_results_do_not_depend_on_the_thread_count(monkeypatch, case):
    """Threads split rows and tiles, never a sum: every thread count gives the same bits."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 40, 45)).astype(np.float32)
    depthwise = rng.standard_normal((3, 1, 5, 5)).astype(np.float32)
    dense = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def run():
        if case == "split":
            monkeypatch.setattr(jit, "_state", False)  # the NumPy split, not the compiled loop
            try:
                return ops.pad_correlate(x, (2, 2, 2, 2), mode="reflect", weight=depthwise, groups=3)
            finally:
                monkeypatch.setattr(jit, "_state", None)
        if case.startswith("direct"):  # the compiled loop reads the padding itself
            s = 2 if case == "direct-stride" else 1
            out = np.empty((3, ops.output_size(44, 5, stride=s), ops.output_size(49, 5, stride=s)), np.float32)
            fastpaths.direct_into(x, depthwise, out, groups=3, stride=(s, s),
                                  src_rows=ops._source_rows(40, 2, 2, "reflect"),
                                  src_cols=ops._source_rows(45, 2, 2, "reflect"), left=2)
            return out
        if case == "generic":
            monkeypatch.setattr(fastpaths, "enabled", False)
            try:
                return ops.correlate(x, dense, stride=(1, 2))
            finally:
                monkeypatch.setattr(fastpaths, "enabled", True)
        w = dense if case == "dense" else depthwise
        stride = (2, 2) if case == "stacked" else (1, 1)
        ho = ops.output_size(40, w.shape[2], stride=stride[0])
        wo = ops.output_size(45, w.shape[3], stride=stride[1])
        out = np.empty((w.shape[0], ho, wo), np.float32)
        path = "rowgemm" if case == "stacked" else case
        fastpaths.correlate_into(x, w, out, stride=stride, groups=1 if case == "dense" else 3, path=path)
        return out

    results = []
    for threads in (1, 2, 3, 5):
        fastpaths.set_num_threads(threads)
        results.append(run())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_blas_is_pinned_to_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    assert fastpaths.blas_pinned()
    infos = threadpoolctl.threadpool_info()
    blas = [i for i in infos if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux only")
def test_pool_threads_work_at_the_callers_priority(monkeypatch):
    """The window nices its worker threads; the pool threads that run a niced caller's tasks
    take its nice value (else a 24 MP render would still crowd out the GUI thread)."""
    import os
    import threading

    monkeypatch.setattr(fastpaths, "_threads_override", 2)
    seen: dict[int, int] = {}
    started = threading.Barrier(2, timeout=20)

    def task():
        started.wait()  # two threads at once: the caller and a pool thread
        tid = threading.get_native_id()
        seen[tid] = os.getpriority(os.PRIO_PROCESS, tid)

    def caller(nice: int) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        fastpaths.parallel([task, task])

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=caller, args=(min(19, base + 3),))
    t.start()
    t.join()
    assert len(seen) == 2 and set(seen.values()) == {min(19, base + 3)}
