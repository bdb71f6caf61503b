"""The compiled depthwise loop (core/jit.py, the ``direct`` path), against independent references.

References: ``numpy.pad`` + ``scipy.signal.correlate2d`` in float64 (tests/core/test_fastpaths_borders.py),
with the same tolerance as every path: |fast - ref| <= 1e-5 * (the same sum with |w| and |x|) +
1e-6 * its maximum. The path is there only with numba (the ``fast`` extra); without it the
tests of that case check that nothing offers it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastpaths_borders import NP_MODES, assert_close, nan_output, reference

from convstudio.core import Conv2d, cancel, fastpaths, jit, ops

needs_jit = pytest.mark.skipif(not jit.available(), reason="numba is not installed (the fast extra)")


def _direct(x, w, pads, mode, stride=(1, 1), dilation=(1, 1), groups=1):
    _, h, wd = x.shape
    top, bottom, left, right = pads
    out = nan_output(x, w, pads, stride, dilation)
    fastpaths.direct_into(x, w, out, stride=stride, dilation=dilation, groups=groups,
                          src_rows=ops._source_rows(h, top, bottom, mode),
                          src_cols=ops._source_rows(wd, left, right, mode), left=left)
    return out


@needs_jit
@pytest.mark.parametrize("mode", list(NP_MODES))
@pytest.mark.parametrize(("ksize", "pads", "stride", "dilation"), [
    ((3, 3), (1, 1, 1, 1), (1, 1), (1, 1)),
    ((1, 1), (0, 2, 3, 0), (1, 1), (1, 1)),
    ((5, 4), (2, 3, 1, 2), (2, 3), (1, 1)),
    ((3, 5), (2, 2, 4, 4), (1, 2), (2, 2)),
    ((7, 7), (3, 3, 3, 3), (3, 2), (1, 1)),
    ((2, 6), (0, 1, 5, 0), (2, 2), (3, 1)),
    ((9, 9), (4, 4, 4, 4), (1, 1), (1, 1)),  # the kernel larger than the image
    ((17, 3), (8, 8, 1, 1), (1, 4), (1, 1)),  # more than eight taps a kernel column
])
def test_direct_reads_the_padding_where_it_comes_from(mode, ksize, pads, stride, dilation):
    rng = np.random.default_rng(sum(ksize) * 31 + sum(pads))
    x = rng.standard_normal((3, 8, 11)).astype(np.float32)
    if ksize[0] >= 9:
        x = x[:, :6, :7]  # a view with a row stride: read in place
    for m, shared in ((1, True), (2, False)):
        k = rng.standard_normal((1 if shared else 3 * m, 1) + ksize)
        w = np.broadcast_to(k, (3 * m, 1) + ksize).astype(np.float32)
        got = _direct(x, w, pads, mode, stride, dilation, groups=3)
        assert_close(got, x, w, pads, mode, stride, dilation, groups=3)
        # the padded copy, read as it is, gives the same bits
        xp = ops.pad(x, pads, mode=mode)
        out = np.empty_like(got)
        assert fastpaths.correlate_into(xp, w, out, stride=stride, dilation=dilation, groups=3,
                                        path="direct")
        np.testing.assert_array_equal(out, got)


@needs_jit
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_geometry_matches_the_reference(data):
    """Random sizes, kernels, strides, dilations, padding (any mode, any amounts, wider than the
    image too where the mode allows) and depthwise multipliers, through the layer the user runs."""
    d = data.draw
    h, w = d(st.integers(1, 23)), d(st.integers(1, 40))
    kh, kw = d(st.integers(1, 6)), d(st.integers(1, 6))
    stride = (d(st.integers(1, 3)), d(st.integers(1, 3)))
    dilation = (d(st.integers(1, 3)), d(st.integers(1, 3)))
    mode = d(st.sampled_from(list(NP_MODES)))
    most = (h - 1, w - 1) if mode == "reflect" else (8, 8)  # reflect needs pads < the size
    pads = (d(st.integers(0, most[0])), d(st.integers(0, most[0])),
            d(st.integers(0, most[1])), d(st.integers(0, most[1])))
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    if (kh - 1) * dilation[0] + 1 > hp or (kw - 1) * dilation[1] + 1 > wp:
        return  # no output: the layer refuses it before any path runs
    cin, m = d(st.integers(1, 3)), d(st.integers(1, 2))
    rng = np.random.default_rng(d(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal((cin, h, w)) * 10.0 ** rng.integers(-3, 4, (cin, h, w))).astype(np.float32)
    weight = rng.standard_normal((cin * m, 1, kh, kw)).astype(np.float32)
    got = _direct(x, weight, pads, mode, stride, dilation, groups=cin)
    assert_close(got, x, weight, pads, mode, stride, dilation, groups=cin)


@needs_jit
def test_the_cost_model_picks_it_for_small_kernels_and_conv2d_runs_it(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.random((3, 64, 80), dtype=np.float32)
    kernel = rng.standard_normal((5, 5)).astype(np.float32)
    w = np.broadcast_to(kernel, (3, 1, 5, 5))
    assert fastpaths.choose_path((3, 68, 84), w, groups=3) == "direct"
    calls = []
    real = fastpaths.direct_into
    monkeypatch.setattr(fastpaths, "direct_into", lambda *a, **k: calls.append(1) or real(*a, **k))
    for mode in ("zeros", "reflect", "replicate", "circular"):
        got = Conv2d(kernel=kernel, padding="same", padding_mode=mode, bias=0.25).forward(x)
        assert_close(got - np.float32(0.25), x, np.ascontiguousarray(w), (2, 2, 2, 2), mode, groups=3)
    assert len(calls) == 4
    # at a stride: only the kept outputs (the input dealt into column phases)
    got = Conv2d(kernel=kernel, padding=2, stride=2).forward(x)
    assert_close(got, x, np.ascontiguousarray(w), (2, 2, 2, 2), "zeros", (2, 2), groups=3)


@needs_jit
def test_outputs_with_any_strides_and_float64_inputs():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 30, 40))[:, ::2, 1::2]  # float64, strided both ways
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    ref = reference(x, w, (0, 0, 0, 0), groups=2)
    store = np.full((2, 18, 13), np.nan, np.float32)
    out = store.transpose(0, 2, 1)  # (2, 13, 18) with a column stride of a whole row
    assert fastpaths.correlate_into(x, w, out, groups=2, path="direct")
    assert_close(out, x, w, (0, 0, 0, 0), groups=2)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@needs_jit
def test_a_nan_or_inf_stays_inside_its_windows():
    x = np.ones((1, 12, 17), np.float32)
    x[0, 5, 8] = np.nan
    x[0, 2, 2] = np.inf
    w = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    for stride in ((1, 1), (2, 2), (1, 3)):
        out = _direct(x, w, (0, 0, 0, 0), "zeros", stride)
        rows = np.arange(out.shape[1])[:, None] * stride[0]
        cols = np.arange(out.shape[2])[None, :] * stride[1]
        in_nan = (rows <= 5) & (5 <= rows + 2) & (cols <= 8) & (8 <= cols + 2)
        in_inf = (rows <= 2) & (2 <= rows + 2) & (cols <= 2) & (2 <= cols + 2)
        np.testing.assert_array_equal(np.isnan(out[0]), in_nan)
        np.testing.assert_array_equal(np.isposinf(out[0]), in_inf & ~in_nan)
        clean = ~in_nan & ~in_inf
        np.testing.assert_array_equal(out[0][clean], np.float32(45))


@needs_jit
def test_a_cancelled_run_stops_between_row_blocks(monkeypatch):
    monkeypatch.setattr(fastpaths, "_DIRECT_CHECK_MACS", 1)  # a check before every row
    x = np.ones((1, 50, 60), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    out = np.zeros((1, 48, 58), np.float32)
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 5

    with pytest.raises(cancel.RunCancelled), cancel.cancellable(cancelled):
        fastpaths.correlate_into(x, w, out, path="direct")
    assert 0 < np.count_nonzero(out.any(axis=2)) < 48  # some rows done, not all


def test_without_numba_nothing_offers_the_path(monkeypatch):
    monkeypatch.setattr(jit, "_state", False)
    w = np.ones((3, 1, 3, 3), np.float32)
    assert not fastpaths.applicable("direct", (3, 10, 10), w.shape, 3)
    assert fastpaths.choose_path((3, 100, 100), w, groups=3) != "direct"
    with pytest.raises(ValueError, match="direct"):
        fastpaths.correlate_into(np.ones((3, 10, 10), np.float32), w, np.empty((3, 8, 8), np.float32),
                                 groups=3, path="direct")
    x = np.random.default_rng(6).random((3, 20, 30), dtype=np.float32)
    got = ops.pad_correlate(x, (1, 1, 1, 1), mode="reflect", weight=w, groups=3)
    assert_close(got, x, w, (1, 1, 1, 1), "reflect", groups=3)


def test_the_environment_can_turn_it_off():
    code = ("import numpy as np; from convstudio.core import jit, fastpaths; w = np.ones((3, 1, 3, 3), 'f4'); "
            "print(jit.available(), fastpaths.choose_path((3, 50, 50), w, groups=3) == 'direct')")
    env = dict(os.environ, CONVSTUDIO_JIT="0")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


def test_a_numba_that_fails_turns_the_path_off_and_numpy_computes(monkeypatch):
    monkeypatch.setattr(jit, "_state", True)  # as if numba were there (restored afterwards)
    monkeypatch.setattr(jit, "_kernel", None)

    def broken(cache):
        raise TypeError("this numba does not fit this NumPy")

    monkeypatch.setattr(jit, "_compile", broken)
    w = np.broadcast_to(np.arange(9, dtype=np.float32).reshape(3, 3), (3, 1, 3, 3))
    assert fastpaths.choose_path((3, 40, 50), w, groups=3) == "direct"  # before the compile
    x = np.random.default_rng(8).random((3, 38, 48), dtype=np.float32)
    with pytest.warns(RuntimeWarning, match="compiled depthwise loop is off"):
        got = ops.pad_correlate(x, (1, 1, 1, 1), mode="replicate", weight=w, groups=3)
    assert_close(got, x, np.ascontiguousarray(w), (1, 1, 1, 1), "replicate", groups=3)
    assert not jit.available() and fastpaths.choose_path((3, 40, 50), w, groups=3) != "direct"
    with pytest.raises(ValueError, match="direct"):
        fastpaths.correlate_into(x, w, np.empty((3, 36, 46), np.float32), groups=3, path="direct")


def test_without_a_writable_cache_it_compiles_for_the_process(monkeypatch):
    monkeypatch.setattr(jit, "_kernel", None)
    asked = []

    def compile_(cache):
        asked.append(cache)
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return "compiled"

    monkeypatch.setattr(jit, "_compile", compile_)
    assert jit._compiled() == "compiled" and asked == [True, False]
