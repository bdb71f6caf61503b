"""The vectorised kernels of convstudio.core.ops against the plain-loop reference."""

from __future__ import annotations

import contextlib
import importlib
import warnings

import numpy as np
import pytest
import reference as ref
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convstudio.core import ops

FAST = settings(max_examples=60, deadline=None)
MODES = ("zeros", "reflect", "replicate", "circular")

try:  # the optional fast paths behind ops.correlate and the pooling functions
    fastpaths = importlib.import_module("convstudio.core.fastpaths")
except ImportError:  # pragma: no cover - the generic code is all there is
    fastpaths = None

# "default": what ops runs (the cost model may pick a fast path); "generic": ops' own code only.
ENGINES = ("default", "generic")


@contextlib.contextmanager
def engine(name: str):
    if fastpaths is None or name == "default":
        yield
        return
    saved = fastpaths.enabled
    fastpaths.enabled = False
    try:
        yield
    finally:
        fastpaths.enabled = saved


def random(seed: int, shape, lo=-1.0, hi=1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


def assert_close(actual: np.ndarray, expected: np.ndarray, *, magnitude: float | None = None) -> None:
    """float32 result, exact shape, ~1e-5 relative to the size of the terms that were summed."""
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    scale = magnitude if magnitude is not None else float(np.abs(expected).max(initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * max(1.0, scale))


def conv_magnitude(x, w, b=None) -> float:
    """An upper bound of |every term| summed: max|x| * max_o sum|w[o]| + max|b|."""
    m = float(np.abs(x).max()) * float(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max())
    return m + (0.0 if b is None else float(np.abs(b).max()))


# ------------------------------------------------------------------------------------ sizes


def test_output_size_matches_counting_window_positions():
    for n in range(1, 13):
        for k in range(1, 6):
            for s in range(1, 5):
                for p in range(0, 7):
                    for d in range(1, 4):
                        expected = ref.out_size(n, k, stride=s, pad_total=p, dilation=d)
                        got = ops.output_size(n, k, stride=s, pad_total=p, dilation=d)
                        if expected >= 1:
                            assert got == expected, (n, k, s, p, d)
                        else:
                            assert got <= 0, (n, k, s, p, d)


def test_output_size_for_d1_is_the_tutorial_formula():
    for n in range(1, 20):
        for k in range(1, n + 1):
            for s in range(1, 6):
                for p in range(0, 5):
                    assert ops.output_size(n, k, stride=s, pad_total=p) == (n + p + s - k) // s


def test_pool_output_size_matches_pytorch_rule():
    for n in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 6):
                for d in range(1, 3):
                    half = (d * (k - 1) + 1) // 2
                    for pb in range(0, half + 1):
                        for pa in range(0, half + 1):
                            for ceil in (False, True):
                                expected = ref.pool_out_size(n, k, stride=s, pad_before=pb, pad_after=pa,
                                                             dilation=d, ceil_mode=ceil)
                                got = ops.pool_output_size(n, k, stride=s, pad_before=pb, pad_after=pa,
                                                           dilation=d, ceil_mode=ceil)
                                if expected >= 1:
                                    assert got == expected, (n, k, s, d, pb, pa, ceil)
                                else:
                                    assert got <= 0


@pytest.mark.parametrize("n, k, s, p, floor_out, ceil_out", [
    (5, 2, 2, 0, 2, 3),   # ceil keeps a last, partial window starting inside the input
    (4, 2, 3, 1, 2, 2),   # ceil would give 3, but the 3rd window starts in the right padding
    (4, 3, 2, 1, 2, 3),   # ceil keeps a window that starts on the last pixel
    (6, 3, 3, 0, 2, 2),
])
def test_pool_output_size_ceil_mode_examples(n, k, s, p, floor_out, ceil_out):
    kw = dict(stride=s, pad_before=p, pad_after=p)
    assert ops.pool_output_size(n, k, ceil_mode=False, **kw) == floor_out
    assert ops.pool_output_size(n, k, ceil_mode=True, **kw) == ceil_out


# ------------------------------------------------------------------------------------ padding


@pytest.mark.parametrize("mode, np_mode", [
    ("zeros", "constant"), ("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_pad_modes_match_numpy_and_reference(mode, np_mode):
    for h in range(1, 5):
        for w in range(1, 5):
            x = random(h * 10 + w, (2, h, w))
            for pads in [(0, 0, 0, 0), (1, 0, 0, 2), (2, 3, 1, 1), (h - 1, 0, w - 1, 0), (5, 4, 6, 3)]:
                if mode == "reflect" and h == 1 and (pads[0] or pads[1]):
                    continue  # numpy cannot reflect a single row (there is nothing to mirror)
                if mode == "reflect" and w == 1 and (pads[2] or pads[3]):
                    continue
                got = ops.pad(x, pads, mode=mode)
                t, b, l, r = pads
                expected = np.pad(x, ((0, 0), (t, b), (l, r)), mode=np_mode)
                assert got.dtype == np.float32
                np.testing.assert_array_equal(got, expected)
                np.testing.assert_array_equal(got, ref.pad(x, pads, mode))


def test_pad_reflect_does_not_repeat_the_edge():
    x = np.array([[[1, 2, 3, 4]]], dtype=np.float32)
    np.testing.assert_array_equal(ops.pad(x, (0, 0, 2, 2), mode="reflect")[0, 0], [3, 2, 1, 2, 3, 4, 3, 2])
    np.testing.assert_array_equal(ops.pad(x, (0, 0, 2, 2), mode="replicate")[0, 0], [1, 1, 1, 2, 3, 4, 4, 4])
    np.testing.assert_array_equal(ops.pad(x, (0, 0, 2, 2), mode="circular")[0, 0], [3, 4, 1, 2, 3, 4, 1, 2])
    np.testing.assert_array_equal(ops.pad(x, (0, 0, 2, 2), mode="zeros")[0, 0], [0, 0, 1, 2, 3, 4, 0, 0])


def test_pad_constant_value():
    x = random(1, (3, 2, 3))
    got = ops.pad(x, (1, 2, 0, 3), mode="constant", value=0.5)
    np.testing.assert_array_equal(got, ref.pad(x, (1, 2, 0, 3), "constant", 0.5))
    assert got.dtype == np.float32
    # "zeros" ignores a value: only the pad layer's "constant" mode uses it
    np.testing.assert_array_equal(ops.pad(x, (1, 1, 1, 1), mode="zeros", value=7.0),
                                  ref.pad(x, (1, 1, 1, 1), "zeros"))


# ------------------------------------------------------------------------------------ correlation


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cin_g = draw(st.integers(1, 3))
    cout_g = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    mode = draw(st.sampled_from(MODES))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    assume(ref.out_size(h, kh, stride=stride[0], pad_total=pads[0] + pads[1], dilation=dilation[0]) >= 1)
    assume(ref.out_size(w, kw, stride=stride[1], pad_total=pads[2] + pads[3], dilation=dilation[1]) >= 1)
    with_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(groups=groups, cin=cin_g * groups, cout=cout_g * groups, k=(kh, kw), stride=stride,
                dilation=dilation, pads=pads, mode=mode, hw=(h, w), bias=with_bias, seed=seed)


def run_correlate_case(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.uniform(-1, 1, (case["cin"],) + case["hw"]).astype(np.float32)
    w = rng.uniform(-1, 1, (case["cout"], case["cin"] // case["groups"]) + case["k"]).astype(np.float32)
    b = rng.uniform(-1, 1, case["cout"]).astype(np.float32) if case["bias"] else None
    xp = ref.pad(x, case["pads"], case["mode"]).astype(np.float32)
    got = ops.correlate(xp, w, bias=b, stride=case["stride"], dilation=case["dilation"],
                        groups=case["groups"])
    expected = ref.conv2d(x, w, b, stride=case["stride"], pads=case["pads"],
                          dilation=case["dilation"], groups=case["groups"], mode=case["mode"])
    assert_close(got, expected, magnitude=conv_magnitude(x, w, b))


@pytest.mark.parametrize("which", ENGINES)
@FAST
@given(case=conv_cases())
def test_correlate_matches_reference(which, case):
    with engine(which):
        run_correlate_case(case)


@pytest.mark.parametrize("strip", [1, 7, 50, 100, 450, 1 << 20])
@pytest.mark.parametrize("groups, cin, cout", [(1, 3, 2), (3, 3, 3), (2, 4, 6), (1, 1, 1)])
def test_correlate_strips_give_the_same_result(monkeypatch, strip, groups, cin, cout):
    """The generic code's row-strip splitting (im2col blocks, the tap-by-tap path for blocks over
    the strip size, depthwise strips) must not show at strip borders."""
    monkeypatch.setattr(ops, "_STRIP_ELEMS", strip)
    if fastpaths is not None:
        monkeypatch.setattr(fastpaths, "enabled", False)
    run_correlate_case(dict(groups=groups, cin=cin, cout=cout, k=(3, 2), stride=(1, 2),
                            dilation=(2, 3), pads=(1, 2, 0, 1), mode="zeros", hw=(13, 11),
                            bias=True, seed=strip + cin))


def correlate_peak(x, w):
    import tracemalloc

    tracemalloc.start()
    try:
        out = ops.correlate(x, w)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


@pytest.mark.parametrize("which", ENGINES)
def test_correlate_memory_does_not_grow_with_kernel_times_width(which):
    """A large multi-channel kernel on a wide image: work buffers must stay bounded, not grow like
    (kernel size x image width) as a whole-row im2col block would (100 MB here)."""
    w = random(21, (2, 3, 31, 101), 0, 1)
    peaks = []
    with engine(which):
        for width in (1500, 3000):
            x = random(20, (3, 40, width), 0, 1)
            out, peak = correlate_peak(x, w)
            assert out.shape == (2, 10, width - 100)
            peaks.append(peak)
            for i, j in [(0, 0), (9, width - 101), (4, 700)]:  # spot-check against the reference
                expected = ref.conv2d(x[:, i:i + 31, j:j + 101], w)[:, 0, 0]
                np.testing.assert_allclose(out[:, i, j], expected, rtol=1e-5)
    out_bytes = 2 * 10 * 2900 * 4
    assert peaks[1] < 1.3 * peaks[0] + 2 * out_bytes, [p / 2**20 for p in peaks]
    if which == "generic":
        assert peaks[1] < 8 * 2**20, f"peak {peaks[1] / 2**20:.0f} MiB"


def test_correlate_zero_kernel_and_sparse_taps():
    """The depthwise path skips zero taps; an all-zero kernel must still give zeros (plus bias)."""
    x = random(3, (2, 5, 6))
    w = np.zeros((2, 1, 3, 3), dtype=np.float32)
    w[1, 0, 2, 0] = 2.0
    got = ops.correlate(x, w, bias=np.array([0.25, -1], dtype=np.float32), groups=2)
    expected = ref.conv2d(x, w, [0.25, -1], groups=2)
    assert_close(got, expected)
    np.testing.assert_array_equal(got[0], np.full((3, 4), 0.25, dtype=np.float32))


# ------------------------------------------------------------------------------------ pooling


@st.composite
def pool_cases(draw, *, dilated: bool):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    half_h = (dilation[0] * (kh - 1) + 1) // 2 if dilated else kh // 2
    half_w = (dilation[1] * (kw - 1) + 1) // 2 if dilated else kw // 2
    pads = (draw(st.integers(0, half_h)), draw(st.integers(0, half_h)),
            draw(st.integers(0, half_w)), draw(st.integers(0, half_w)))
    ceil_mode = draw(st.booleans())
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    s = stride or (kh, kw)
    assume(ref.pool_out_size(h, kh, stride=s[0], pad_before=pads[0], pad_after=pads[1],
                             dilation=dilation[0], ceil_mode=ceil_mode) >= 1)
    assume(ref.pool_out_size(w, kw, stride=s[1], pad_before=pads[2], pad_after=pads[3],
                             dilation=dilation[1], ceil_mode=ceil_mode) >= 1)
    return dict(k=(kh, kw), stride=stride, pads=pads, dilation=dilation, ceil_mode=ceil_mode,
                hw=(h, w), seed=draw(st.integers(0, 2**32 - 1)))


@pytest.mark.parametrize("which", ENGINES)
@FAST
@given(case=pool_cases(dilated=True))
def test_max_pool_matches_reference(which, case):
    x = random(case["seed"], (2,) + case["hw"])
    stride = case["stride"] or case["k"]
    with engine(which):
        got = ops.max_pool(x, case["k"], stride=stride, pads=case["pads"], dilation=case["dilation"],
                           ceil_mode=case["ceil_mode"])
    expected = ref.max_pool(x, case["k"], stride=case["stride"], pads=case["pads"],
                            dilation=case["dilation"], ceil_mode=case["ceil_mode"])
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected.astype(np.float32))


@pytest.mark.parametrize("which", ENGINES)
@FAST
@given(case=pool_cases(dilated=False), count_include_pad=st.booleans())
def test_avg_pool_matches_reference(which, case, count_include_pad):
    x = random(case["seed"], (2,) + case["hw"])
    stride = case["stride"] or case["k"]
    with engine(which):
        got = ops.avg_pool(x, case["k"], stride=stride, pads=case["pads"], ceil_mode=case["ceil_mode"],
                           count_include_pad=count_include_pad)
    expected = ref.avg_pool(x, case["k"], stride=case["stride"], pads=case["pads"],
                            ceil_mode=case["ceil_mode"], count_include_pad=count_include_pad)
    assert_close(got, expected, magnitude=1.0)


def test_max_pool_padding_never_wins():
    x = np.full((1, 3, 3), -5.0, dtype=np.float32)
    got = ops.max_pool(x, (3, 3), stride=(1, 1), pads=(1, 1, 1, 1))
    np.testing.assert_array_equal(got, np.full((1, 3, 3), -5.0, dtype=np.float32))


def test_avg_pool_divisor_examples():
    """Hand-computed PyTorch values on one row [1, 2, 3, 4] with a window of 3, padding 1, stride 2."""
    x = np.array([[[1, 2, 3, 4]]], dtype=np.float32)
    kw = dict(stride=(1, 2), pads=(0, 0, 1, 1))
    # windows [-1..1], [1..3]: (0+1+2)/3, (2+3+4)/3 with padding counted; /2, /3 without
    np.testing.assert_allclose(ops.avg_pool(x, (1, 3), count_include_pad=True, **kw)[0, 0], [1, 3])
    np.testing.assert_allclose(ops.avg_pool(x, (1, 3), count_include_pad=False, **kw)[0, 0], [1.5, 3])
    # ceil_mode adds a window [3..5]: 5 is past the padded input (which ends at 4), so it counts
    # neither as a value nor in the divisor: (4 + 0) / 2 with padding, 4 / 1 without
    np.testing.assert_allclose(ops.avg_pool(x, (1, 3), ceil_mode=True, count_include_pad=True, **kw)[0, 0],
                               [1, 3, 2])
    np.testing.assert_allclose(ops.avg_pool(x, (1, 3), ceil_mode=True, count_include_pad=False, **kw)[0, 0],
                               [1.5, 3, 4])
    # no padding, ceil: [1 2] [3 4] [5] -> the last window is divided by 1
    y = np.array([[[1, 2, 3, 4, 5]]], dtype=np.float32)
    np.testing.assert_allclose(ops.avg_pool(y, (1, 2), stride=(1, 2), ceil_mode=True)[0, 0], [1.5, 3.5, 5])


def test_ceil_mode_drops_a_window_starting_in_the_padding():
    x = np.array([[[1, 2, 3, 4]]], dtype=np.float32)
    # padded: [pad, 1, 2, 3, 4, pad]; windows of 2 at stride 3 start at -1 and 2; one at 5 would
    # start in the right padding and is dropped
    got = ops.max_pool(x, (1, 2), stride=(1, 3), pads=(0, 0, 1, 1), ceil_mode=True)
    np.testing.assert_array_equal(got[0, 0], [1, 4])
    got = ops.avg_pool(x, (1, 2), stride=(1, 3), pads=(0, 0, 1, 1), ceil_mode=True)
    np.testing.assert_allclose(got[0, 0], [0.5, 3.5])


# ------------------------------------------------------------------------------------ subsampling


@FAST
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4), st.data())
def test_subsample_matches_reference(h, w, sh, sw, data):
    oh, ow = data.draw(st.integers(0, sh - 1)), data.draw(st.integers(0, sw - 1))
    assume(oh < h and ow < w)
    x = random(h * w, (2, h, w))
    got = ops.subsample(x, (sh, sw), (oh, ow))
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, ref.subsample(x, (sh, sw), (oh, ow)))


# ------------------------------------------------------------------------------------ activations

EXTREMES = np.array([[[-1e4, -100, -30, -1, -1e-3, 0, 1e-3, 1, 30, 100, 1e4]]], dtype=np.float32)


@pytest.mark.parametrize("name, fn, expected", [
    ("relu", ops.relu, ref.relu),
    ("abs", ops.absolute, ref.absolute),
    ("tanh", ops.tanh, ref.tanh),
    ("sigmoid", ops.sigmoid, ref.sigmoid),
    ("leaky_relu", lambda x: ops.leaky_relu(x, 0.1), lambda x: ref.leaky_relu(x, 0.1)),
    ("leaky_relu_neg", lambda x: ops.leaky_relu(x, -2.0), lambda x: ref.leaky_relu(x, -2.0)),
])
def test_activations_match_reference(name, fn, expected):
    for x in (random(5, (3, 4, 5), -6, 6), EXTREMES):
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            got = fn(x)
        assert got.dtype == np.float32 and got.shape == x.shape
        assert np.isfinite(got).all(), name
        # sigmoid(-100) is a float32 subnormal: relative precision is lost there, hence the atol
        np.testing.assert_allclose(got, expected(x), rtol=1e-5, atol=1e-40)


def test_sigmoid_tails():
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = ops.sigmoid(EXTREMES)[0, 0]
        inf = ops.sigmoid(np.array([[[-np.inf, np.inf]]], dtype=np.float32))[0, 0]
    assert s[0] == 0.0 and s[-1] == 1.0
    assert s[1] > 0.0  # sigmoid(-100) ~ 3.7e-44 is a float32 subnormal, not 0
    np.testing.assert_allclose(s[2], 1 / (1 + np.exp(30.0)), rtol=1e-5)  # full precision in the tail
    assert np.all(np.diff(s) >= 0)
    np.testing.assert_array_equal(inf, [0.0, 1.0])
