"""Every fast path of ``convstudio.core.fastpaths``, forced explicitly, against a plain float64 loop.

The reference below is the formula of docs/semantics.md written out: one multiply-add of whole (strided)
pixel planes per (output channel, input channel, kernel tap), accumulated in float64. Results must
agree to float32 tolerance: |fast - ref| <= 1e-5 * (the same sum with |w| and |x|) + 1e-6 * its
maximum, whatever path runs.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from convstudio.core import Conv2d, fastpaths, jit, ops

# "direct" is the compiled loop, there when numba is (the fast extra; tests/core/test_jit.py)
DEPTHWISE_PATHS = ("rowgemm", "lowrank", "fft") + (("direct",) if jit.available() else ())


# --------------------------------------------------------------------------------------------
# Reference


def ref_correlate(xp, w, stride=(1, 1), dilation=(1, 1), groups=1):
    """float64 cross-correlation of an already padded (Cin, Hp, Wp) input, by plain loops."""
    xp = np.asarray(xp, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    cin, hp, wp = xp.shape
    cout, cin_g, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((cout, ho, wo))
    cout_g = cout // groups
    for o in range(cout):
        g = o // cout_g
        for c in range(cin_g):
            for a in range(kh):
                for b in range(kw):
                    plane = xp[g * cin_g + c,
                               a * dh:a * dh + (ho - 1) * sh + 1:sh,
                               b * dw:b * dw + (wo - 1) * sw + 1:sw]
                    out[o] += w[o, c, a, b] * plane
    return out


def assert_close(got, xp, w, stride=(1, 1), dilation=(1, 1), groups=1):
    ref = ref_correlate(xp, w, stride, dilation, groups)
    mag = ref_correlate(np.abs(xp), np.abs(w), stride, dilation, groups)
    assert got.dtype == np.float32
    assert got.shape == ref.shape
    tol = 1e-5 * mag + 1e-6 * (mag.max() if mag.size else 0.0) + 1e-30
    err = np.abs(got.astype(np.float64) - ref)
    worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else None
    assert np.all(err <= tol), f"max err {err.max():.3g} at {worst}, tol there {tol[worst]:.3g}"


def run_path(path, xp, w, stride=(1, 1), dilation=(1, 1), groups=1):
    cout = w.shape[0]
    kh, kw = w.shape[2:]
    ho = ops.output_size(xp.shape[1], kh, stride=stride[0], dilation=dilation[0])
    wo = ops.output_size(xp.shape[2], kw, stride=stride[1], dilation=dilation[1])
    out = np.full((cout, ho, wo), np.nan, dtype=np.float32)
    assert fastpaths.correlate_into(xp, w, out, stride=stride, dilation=dilation, groups=groups,
                                    path=path)
    return out


def kernel_of_rank(rng, kh, kw, rank):
    if rank is None:
        return rng.standard_normal((kh, kw))
    k = np.zeros((kh, kw))
    for _ in range(rank):
        k += np.outer(rng.standard_normal(kh), rng.standard_normal(kw))
    return k


@pytest.fixture(autouse=True)
def _small_work_units(monkeypatch):
    """Make the small test images exercise what big images do: many strips, column chunks, FFT
    tiles and the thread pool."""
    monkeypatch.setattr(fastpaths, "_PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(fastpaths, "_SCRATCH_FLOATS", 1 << 9)
    monkeypatch.setattr(fastpaths, "_BLAS_SINGLE_MNK", 1 << 10)
    monkeypatch.setattr(fastpaths, "_FFT_TILE_ELEMS", 1 << 10)
    monkeypatch.setattr(fastpaths, "_FFT_TILE_W", 32)
    fastpaths.set_num_threads(2)
    yield
    fastpaths.set_num_threads(None)


# --------------------------------------------------------------------------------------------
# One-input-channel groups: rowgemm, lowrank, fft

KERNELS = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (7, 7), (2, 5), (5, 1), (1, 4), (6, 3)]
GEOMETRY = [((1, 1), (1, 1)), ((2, 3), (1, 1)), ((1, 1), (2, 1)), ((3, 2), (2, 3))]


@pytest.mark.parametrize("path", DEPTHWISE_PATHS)
@pytest.mark.parametrize("ksize", KERNELS)
@pytest.mark.parametrize("rank", [1, 2, None])
def test_depthwise_paths_kernel_form(path, ksize, rank):
    rng = np.random.default_rng(hash((path, ksize, rank)) % 2**32)
    kh, kw = ksize
    k = kernel_of_rank(rng, kh, kw, rank).astype(np.float32)
    w = np.ascontiguousarray(np.broadcast_to(k, (3, 1, kh, kw)))  # the `kernel` form: groups = C
    for stride, dilation in GEOMETRY:
        hp = (kh - 1) * dilation[0] + 1 + int(rng.integers(0, 30))
        wp = (kw - 1) * dilation[1] + 1 + int(rng.integers(0, 40))
        xp = rng.standard_normal((3, hp, wp)).astype(np.float32)
        got = run_path(path, xp, w, stride, dilation, groups=3)
        assert_close(got, xp, w, stride, dilation, groups=3)


@pytest.mark.parametrize("path", DEPTHWISE_PATHS)
@pytest.mark.parametrize("cin,mult", [(1, 1), (2, 3), (4, 1), (1, 2)])
def test_depthwise_paths_distinct_kernels_and_multiplier(path, cin, mult):
    rng = np.random.default_rng(cin * 10 + mult)
    for (kh, kw), rank in [((3, 3), None), ((4, 5), 1), ((5, 5), 2), ((2, 1), None)]:
        w = np.stack([kernel_of_rank(rng, kh, kw, rank) for _ in range(cin * mult)])[:, None]
        w = w.astype(np.float32)
        for stride, dilation in GEOMETRY:
            xp = rng.standard_normal((cin, (kh - 1) * dilation[0] + 9,
                                      (kw - 1) * dilation[1] + 13)).astype(np.float32)
            got = run_path(path, xp, w, stride, dilation, groups=cin)
            assert_close(got, xp, w, stride, dilation, groups=cin)


@pytest.mark.parametrize("path", DEPTHWISE_PATHS + ("dense",))
def test_tiny_images(path):
    rng = np.random.default_rng(7)
    cases = [
        ((1, 1), (1, 1)),    # a 1x1 image, a 1x1 kernel
        ((3, 3), (3, 3)),    # the kernel as large as the padded input: one output
        ((4, 9), (4, 9)),
        ((1, 7), (1, 3)),
        ((6, 1), (2, 1)),
        ((5, 5), (2, 2)),
    ]
    for (hp, wp), (kh, kw) in cases:
        if path == "dense":
            w = rng.standard_normal((2, 3, kh, kw)).astype(np.float32)
            groups, cin = 1, 3
        else:
            w = rng.standard_normal((2, 1, kh, kw)).astype(np.float32)
            groups, cin = 2, 2
        xp = rng.standard_normal((cin, hp, wp)).astype(np.float32)
        got = run_path(path, xp, w, groups=groups)
        assert_close(got, xp, w, groups=groups)
        # the whole input, one tap at a time, with a stride too large to move
        got = run_path(path, xp, w, stride=(5, 7), groups=groups)
        assert_close(got, xp, w, stride=(5, 7), groups=groups)


@pytest.mark.parametrize("path", DEPTHWISE_PATHS)
@pytest.mark.parametrize("ksize,rank", [((31, 31), None), ((31, 31), 1), ((15, 21), 2), ((41, 9), None)])
def test_large_kernels(path, ksize, rank):
    rng = np.random.default_rng(ksize[0] * 100 + ksize[1])
    kh, kw = ksize
    k = kernel_of_rank(rng, kh, kw, rank).astype(np.float32)
    w = np.ascontiguousarray(np.broadcast_to(k, (2, 1, kh, kw)))
    xp = rng.random((2, kh + 23, kw + 37), dtype=np.float32)
    assert_close(run_path(path, xp, w, groups=2), xp, w, groups=2)
    assert_close(run_path(path, xp, w, (2, 3), groups=2), xp, w, (2, 3), groups=2)


def test_fft_dilated_large_kernel_and_exact_zeros():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((1, 1, 9, 9)).astype(np.float32)
    xp = np.zeros((1, 60, 70), dtype=np.float32)
    xp[0, 20:30, 30:35] = rng.standard_normal((10, 5))
    got = run_path("fft", xp, w, dilation=(3, 2))
    assert_close(got, xp, w, dilation=(3, 2))


def test_lowrank_factorisation_keeps_float32_accuracy_of_cancelling_kernels():
    # Two large separable terms that almost cancel: the factored product must still match.
    u = np.array([1, 2, 3, 2, 1], dtype=np.float64)
    v = np.array([1, -1, 0.5, -1, 1], dtype=np.float64)
    k = (1e3 * np.outer(u, v) - 1e3 * np.outer(u, v + 1e-3)).astype(np.float32)
    w = k[None, None]
    xp = np.random.default_rng(0).standard_normal((1, 40, 50)).astype(np.float32)
    assert_close(run_path("lowrank", xp, w), xp, w)


@pytest.mark.parametrize("rank,expected", [(1, 1), (2, 2), (None, 5)])
def test_rank_detection(rank, expected):
    rng = np.random.default_rng(0)
    k = kernel_of_rank(rng, 5, 5, rank).astype(np.float32)
    plan = fastpaths._plan_for(k[None, None], 1)
    assert plan.rank() == expected


def test_gaussian_and_box_are_rank_one():
    g = np.exp(-0.5 * ((np.arange(15) - 7) / 2.5) ** 2)
    gauss = (np.outer(g, g) / np.outer(g, g).sum()).astype(np.float32)
    box = np.full((7, 7), 1 / 49, dtype=np.float32)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
    for k in (gauss, box, sobel):
        assert fastpaths._plan_for(k[None, None], 1).rank() == 1


# --------------------------------------------------------------------------------------------
# Multi-channel groups: dense


@pytest.mark.parametrize("cin,cout,groups", [(2, 1, 1), (3, 4, 1), (4, 6, 2), (6, 3, 3), (3, 3, 1)])
@pytest.mark.parametrize("ksize", [(1, 1), (2, 2), (3, 3), (4, 3), (5, 5), (1, 6)])
@pytest.mark.parametrize("blas_mnk", [1 << 10, 1 << 30])  # rows on one thread + BLAS / the pool
def test_dense_path(monkeypatch, cin, cout, groups, ksize, blas_mnk):
    monkeypatch.setattr(fastpaths, "_BLAS_SINGLE_MNK", blas_mnk)
    rng = np.random.default_rng(cin * 100 + cout * 10 + groups + ksize[0] * 7 + ksize[1])
    kh, kw = ksize
    w = rng.standard_normal((cout, cin // groups, kh, kw)).astype(np.float32)
    for stride, dilation in GEOMETRY:
        xp = rng.standard_normal((cin, (kh - 1) * dilation[0] + 1 + int(rng.integers(0, 20)),
                                  (kw - 1) * dilation[1] + 1 + int(rng.integers(0, 25))))
        xp = xp.astype(np.float32)
        got = run_path("dense", xp, w, stride, dilation, groups)
        assert_close(got, xp, w, stride, dilation, groups)


@pytest.mark.parametrize("stride,dilation", GEOMETRY)
def test_dense_path_over_several_column_chunks_and_row_strips(monkeypatch, stride, dilation):
    # The GEMMs go column chunk by column chunk over strips of rows: a last chunk narrower than
    # the others, a last strip shorter, strides and dilations that read across chunk edges.
    monkeypatch.setattr(fastpaths, "_SCRATCH_FLOATS", 1 << 14)  # strips of several rows
    rng = np.random.default_rng(17)
    cin, cout, kh, kw = 16, 16, 3, 3
    w = rng.standard_normal((cout, cin, kh, kw)).astype(np.float32)
    xp = rng.standard_normal((cin, 150, 2 * 151 + 7)).astype(np.float32)
    ho = ops.output_size(xp.shape[1], kh, stride=stride[0], dilation=dilation[0])
    wo = ops.output_size(xp.shape[2], kw, stride=stride[1], dilation=dilation[1])
    strip, ncols, pooled = fastpaths._dense_geometry(cout, cin, kh, kw, wo, stride[0], dilation[0])
    assert pooled and wo % ncols and 1 < strip < ho  # the cases this test is about
    assert_close(run_path("dense", xp, w, stride, dilation), xp, w, stride, dilation)


def test_dense_path_with_large_gemms():
    # Above the single-thread GEMM size the dense path leaves threading to BLAS.
    rng = np.random.default_rng(5)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    xp = rng.standard_normal((8, 40, 300)).astype(np.float32)
    fastpaths._BLAS_SINGLE_MNK = 1 << 18
    assert_close(run_path("dense", xp, w), xp, w)


# --------------------------------------------------------------------------------------------
# Multi-channel 3 x 3: winograd F(2x2, 3x3)


@pytest.fixture
def _small_winograd_blocks(monkeypatch):
    """Blocks of a few tiles, so that small images have many blocks, column blocks and partial
    tiles at every edge."""
    monkeypatch.setattr(fastpaths, "_WINO_BLOCK_FLOATS", 1 << 11)


@pytest.mark.parametrize("cin,cout,groups", [(1, 1, 1), (2, 1, 1), (1, 4, 1), (3, 4, 1), (4, 6, 2),
                                             (6, 3, 3), (5, 5, 5), (8, 16, 4), (13, 7, 1),
                                             (41, 40, 1), (70, 3, 1), (2, 70, 1), (70, 70, 1)])
@pytest.mark.parametrize("pooled", [True, False])
def test_winograd_path(monkeypatch, _small_winograd_blocks, cin, cout, groups, pooled):
    if not pooled:  # blocks on the calling thread, GEMMs as large as a block (BLAS not pinned)
        monkeypatch.setattr(fastpaths, "_WINO_MIN_COLS", 1 << 30)
        monkeypatch.setattr(fastpaths, "_blas_state", False)
    rng = np.random.default_rng(cin * 1000 + cout * 10 + groups)
    w = rng.standard_normal((cout, cin // groups, 3, 3)).astype(np.float32)
    # odd and even sizes both ways, one-row and one-column outputs, partial tiles
    sizes = [(3, 3), (3, 4), (4, 3), (3, 17), (18, 3), (5, 6), (6, 5), (9, 9), (12, 14), (17, 23),
             (24, 31)]
    if cin * cout > 1000:  # the float64 loop reference is slow with many channels
        sizes = [(3, 4), (18, 3), (6, 5), (17, 23)]
    for hp, wp in sizes:
        xp = rng.standard_normal((cin, hp, wp)).astype(np.float32)
        got = run_path("winograd", xp, w, groups=groups)
        assert_close(got, xp, w, groups=groups)


def test_winograd_error_stays_within_each_window():
    """F(2x2, 3x3) only adds and subtracts values of an output's own window: small windows next to
    large values keep their own accuracy, and an all-zero window gives an exact zero (F(4x4, 3x3)
    would mix in the rest of its 6 x 6 tile)."""
    rng = np.random.default_rng(21)
    xp = rng.standard_normal((6, 30, 34)).astype(np.float32)
    xp[:, ::4, :] *= 1e4
    xp[:, :, 3::4] *= 1e4
    xp[:, 10:20, 12:22] = 0.0
    w = rng.standard_normal((5, 6, 3, 3)).astype(np.float32)
    got = run_path("winograd", xp, w)
    ref = ref_correlate(xp, w)
    mag = ref_correlate(np.abs(xp), np.abs(w))
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(err <= 1e-5 * mag), f"relative error {np.max(err / np.maximum(mag, 1e-30)):.3g}"
    assert np.all(got[:, 10:18, 12:20] == 0.0)


def test_winograd_keeps_non_finite_values_local():
    rng = np.random.default_rng(22)
    xp = rng.standard_normal((4, 26, 29)).astype(np.float32)
    w = np.abs(rng.standard_normal((3, 4, 3, 3))).astype(np.float32) + 0.1
    xp[1, 5, 7] = np.inf
    xp[2, 20, 3] = np.nan
    xp[0, 12, 12] = -np.inf
    xp[3, 12, 13] = np.inf  # inf - inf in the direct sums too: nan
    got = run_path("winograd", xp, w)
    with np.errstate(invalid="ignore"):
        want = ref_correlate(xp, w)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    assert finite.sum() > 0.8 * want.size
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5, atol=1e-5)


def test_winograd_huge_finite_values_do_not_overflow_in_the_transforms():
    rng = np.random.default_rng(23)
    xp = (rng.standard_normal((3, 12, 15)) * 1e38).clip(-3e38, 3e38).astype(np.float32)
    w = (rng.standard_normal((2, 3, 3, 3)) * 1e-3).astype(np.float32)
    got = run_path("winograd", xp, w)
    assert np.isfinite(got).all()
    assert_close(got, xp, w)


def test_winograd_weights_are_g_w_gt():
    rng = np.random.default_rng(24)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    want = np.einsum("xa,ocab,yb->xyoc", g, w.astype(np.float64), g)  # (4, 4, Cout, Cin_g)
    got = fastpaths._wino_weights(w, 2)  # (groups, 16, Cout_g, Cin_g)
    for grp in range(2):
        np.testing.assert_allclose(got[grp].reshape(4, 4, 3, 4), want[:, :, 3 * grp:3 * grp + 3],
                                   rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_winograd_layer_every_padding_mode(monkeypatch, _small_winograd_blocks, mode):
    """Conv2d and ops.correlate pad through ops.pad; the path only ever sees the padded input."""
    monkeypatch.setattr(fastpaths, "choose_path", lambda *a, **k: "winograd")
    rng = np.random.default_rng(25)
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    for shape, wshape, groups in [((3, 19, 16), (4, 3, 3, 3), 1), ((4, 7, 11), (6, 2, 3, 3), 2),
                                  ((2, 1, 9), (3, 2, 3, 3), 1)]:
        x = rng.random(shape, dtype=np.float32)
        weight = rng.standard_normal(wshape).astype(np.float32)
        bias = rng.standard_normal(wshape[0]).astype(np.float32)
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode=np_mode)
        want = ref_correlate(xp, weight, groups=groups) + bias[:, None, None]
        got = Conv2d(weight=weight, bias=bias, padding="same", padding_mode=mode,
                     groups=groups).forward(x)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
        got = ops.correlate(ops.pad(x, (1, 1, 1, 1), mode=mode), weight, groups=groups)
        assert_close(got, xp, weight, groups=groups)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_winograd_pad_correlate_in_bands(monkeypatch, _small_winograd_blocks, mode):
    monkeypatch.setattr(fastpaths, "_BAND_MIN_BYTES", 0)
    monkeypatch.setattr(fastpaths, "choose_path", lambda *a, **k: "winograd")
    rng = np.random.default_rng(26)
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    x = rng.standard_normal((3, 23, 17)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    for pads in [(1, 1, 1, 1), (2, 0, 0, 2)]:
        xp = np.pad(x, ((0, 0), pads[:2], pads[2:]), mode=np_mode)
        want = ref_correlate(xp, w)
        for band_rows in (1, 2, 5):
            monkeypatch.setattr(fastpaths, "_BAND_BYTES", 3 * (17 + 4) * 4 * band_rows)
            got = ops.pad_correlate(x, pads, mode=mode, weight=w)
            assert_close(got, xp, w)
            assert got.shape == want.shape


def test_winograd_is_refused_where_it_does_not_apply():
    xp = np.zeros((2, 9, 9), dtype=np.float32)
    for wshape, stride, dilation in [((2, 2, 5, 5), (1, 1), (1, 1)), ((2, 2, 3, 3), (2, 1), (1, 1)),
                                     ((2, 2, 3, 3), (1, 1), (1, 2)), ((2, 2, 3, 2), (1, 1), (1, 1))]:
        kh, kw = wshape[2:]
        out = np.empty((2, (9 - (kh - 1) * dilation[0] - 1) // stride[0] + 1,
                        (9 - (kw - 1) * dilation[1] - 1) // stride[1] + 1), dtype=np.float32)
        with pytest.raises(ValueError):
            fastpaths.correlate_into(xp, np.zeros(wshape, np.float32), out, stride=stride,
                                     dilation=dilation, path="winograd")


def test_non_contiguous_and_float64_inputs():
    rng = np.random.default_rng(9)
    big = rng.standard_normal((3, 30, 40))
    xp = big[:, ::2, 1::2]  # float64, strided
    w = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    for path in DEPTHWISE_PATHS:
        assert_close(run_path(path, xp, w, groups=3), xp, w, groups=3)
    w2 = rng.standard_normal((2, 3, 3, 3))
    assert_close(run_path("dense", xp, w2), xp, w2)
    assert_close(run_path("winograd", xp, w2), xp, w2)


# --------------------------------------------------------------------------------------------
# The dispatcher and the cost model


def test_forced_path_that_does_not_apply_is_refused():
    xp = np.zeros((2, 5, 5), dtype=np.float32)
    out = np.empty((1, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError):
        fastpaths.correlate_into(xp, np.zeros((1, 2, 3, 3), np.float32), out, path="fft")
    with pytest.raises(ValueError):
        fastpaths.correlate_into(xp, np.zeros((2, 1, 3, 3), np.float32), np.empty((2, 3, 3), np.float32),
                                 groups=2, path="dense")
    with pytest.raises(ValueError):
        fastpaths.correlate_into(xp, np.zeros((2, 1, 3, 3), np.float32), np.empty((2, 3, 3), np.float32),
                                 groups=2, path="nope")
    assert not fastpaths.correlate_into(xp, np.zeros((1, 2, 3, 3), np.float32), out, path="generic")


def _generic(xp, w, stride=(1, 1), dilation=(1, 1), groups=1):
    old = fastpaths.enabled
    fastpaths.enabled = False
    try:
        return ops.correlate(xp, w, stride=stride, dilation=dilation, groups=groups)
    finally:
        fastpaths.enabled = old


def test_cost_model_choice_matches_generic_path(monkeypatch):
    monkeypatch.undo()  # the real work-unit sizes: this is what users get
    rng = np.random.default_rng(11)
    g = np.exp(-0.5 * ((np.arange(9) - 4) / 1.5) ** 2)
    cases = [
        (rng.standard_normal((3, 3)), (3, 120, 130), 3, (1, 1), (1, 1)),
        (np.outer(g, g), (3, 100, 90), 3, (1, 1), (1, 1)),
        (rng.standard_normal((31, 31)), (3, 150, 160), 3, (1, 1), (1, 1)),
        (rng.standard_normal((5, 5)), (2, 80, 70), 2, (2, 2), (1, 2)),
    ]
    chosen = set()
    for k, shape, groups, stride, dilation in cases:
        w = np.ascontiguousarray(np.broadcast_to(k.astype(np.float32), (shape[0], 1) + k.shape))
        xp = rng.standard_normal(shape).astype(np.float32)
        chosen.add(fastpaths.choose_path(xp.shape, w, stride=stride, dilation=dilation, groups=groups))
        got = ops.correlate(xp, w, stride=stride, dilation=dilation, groups=groups)
        want = _generic(xp, w, stride, dilation, groups)
        assert_close(got, xp, w, stride, dilation, groups)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    w = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    xp = rng.standard_normal((3, 90, 100)).astype(np.float32)
    chosen.add(fastpaths.choose_path(xp.shape, w))
    got = ops.correlate(xp, w, bias=np.arange(8, dtype=np.float32))
    want = _generic(xp, w) + np.arange(8, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert len(chosen) >= 2  # the model does pick different paths


def test_wide_many_channel_layers_run_on_the_dense_path(monkeypatch):
    """A row of 8000 columns of 32 channels no longer fits dense's old whole-row limit; its
    buffer holds one column chunk, so the cost model offers it (measured faster than the
    generic path there), and the sums are the generic path's to float32 rounding."""
    monkeypatch.undo()  # the real work-unit sizes: this is what users get
    assert fastpaths.blas_pinned()
    rng = np.random.default_rng(17)
    w = (rng.standard_normal((8, 32, 3, 3)) / 17).astype(np.float32)
    xp = rng.standard_normal((32, 6, 8002)).astype(np.float32)
    assert 3 * 3 * 32 * 8000 > fastpaths._DENSE_MAX_FLOATS  # over the old limit
    assert fastpaths.choose_path(xp.shape, w) == "dense"
    got = ops.correlate(xp, w)
    want = _generic(xp, w)
    bound = 288 * np.finfo(np.float32).eps * float(np.abs(xp).max() * np.abs(w).sum(axis=(1, 2, 3)).max())
    assert got.shape == (8, 4, 8000) and float(np.abs(got - want).max()) <= bound


def test_cost_model_picks_winograd_for_many_channels_only(monkeypatch):
    monkeypatch.undo()  # the real work-unit sizes: this is what users get
    rng = np.random.default_rng(13)
    w = (rng.standard_normal((48, 48, 3, 3)) / 48).astype(np.float32)
    # with BLAS pinned to one thread, dense's pooled whole-strip GEMMs win (docs/performance.md)
    assert fastpaths.blas_pinned()
    assert fastpaths.choose_path((48, 66, 70), w) == "dense"
    assert fastpaths.choose_path((128, 130, 130), np.zeros((128, 128, 3, 3), np.float32)) == "dense"
    monkeypatch.setattr(fastpaths, "_blas_state", False)  # a BLAS threadpoolctl cannot pin
    w = (rng.standard_normal((48, 48, 3, 3)) / 48).astype(np.float32)
    xp = rng.standard_normal((48, 66, 70)).astype(np.float32)
    assert fastpaths.choose_path(xp.shape, w) == "winograd"
    got = ops.correlate(xp, w, bias=np.arange(48, dtype=np.float32))
    want = _generic(xp, w) + np.arange(48, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert_close(got - np.arange(48, dtype=np.float32)[:, None, None], xp, w)
    # grouped: 96 channels in 2 groups of 48
    w2 = (rng.standard_normal((96, 48, 3, 3)) / 48).astype(np.float32)
    xp2 = rng.standard_normal((96, 20, 68)).astype(np.float32)
    assert fastpaths.choose_path(xp2.shape, w2, groups=2) == "winograd"
    np.testing.assert_allclose(ops.correlate(xp2, w2, groups=2), _generic(xp2, w2, groups=2),
                               rtol=1e-4, atol=1e-4 * 48)
    # not for strides, dilations, other kernel sizes, few channels or narrow images
    assert fastpaths.choose_path(xp.shape, w, stride=(2, 2)) != "winograd"
    assert fastpaths.choose_path(xp.shape, w, dilation=(2, 2)) != "winograd"
    assert fastpaths.choose_path(xp.shape, np.zeros((48, 48, 5, 5), np.float32)) != "winograd"
    assert fastpaths.choose_path((16, 66, 70), np.zeros((16, 16, 3, 3), np.float32)) != "winograd"
    assert fastpaths.choose_path((48, 34, 34), w) != "winograd"


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("path", DEPTHWISE_PATHS + ("generic",))
def test_conv_layer_every_padding_mode_every_path(monkeypatch, mode, path):
    """The layer pads through ops.pad, the path sees a padded input: equal to the reference on a
    numpy-padded input, for every padding mode and whichever path runs."""
    monkeypatch.setattr(fastpaths, "choose_path", lambda *a, **k: path)
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((4, 5)).astype(np.float32)
    x = rng.random((3, 17, 23), dtype=np.float32)
    layer = Conv2d(kernel=kernel, padding="same", padding_mode=mode)
    got = layer.forward(x)
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    xp = np.pad(x, ((0, 0), (2, 1), (2, 2)), mode=np_mode)  # "same" for 4x5: ceil on top/left
    w = np.broadcast_to(kernel, (3, 1, 4, 5))
    assert_close(got, xp, w, groups=3)


def test_dense_layer_every_padding_mode(monkeypatch):
    monkeypatch.setattr(fastpaths, "choose_path", lambda *a, **k: "dense")
    rng = np.random.default_rng(2)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    x = rng.random((3, 19, 16), dtype=np.float32)
    for mode, np_mode in [("zeros", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                          ("circular", "wrap")]:
        got = Conv2d(weight=weight, padding=1, stride=(2, 2), padding_mode=mode).forward(x)
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode=np_mode)
        assert_close(got, xp, weight, stride=(2, 2))


# --------------------------------------------------------------------------------------------
# Pooling


def ref_pool(xp, k, s, d, reducer):
    (kh, kw), (sh, sw), (dh, dw) = k, s, d
    ho = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    planes = [xp[:, a * dh:a * dh + (ho - 1) * sh + 1:sh, b * dw:b * dw + (wo - 1) * sw + 1:sw]
              for a in range(kh) for b in range(kw)]
    out = planes[0].astype(np.float64)
    for p in planes[1:]:
        out = reducer(out, p)
    return out, (ho, wo)


@pytest.mark.parametrize("k,s,d", [((2, 2), (2, 2), (1, 1)), ((3, 3), (2, 2), (1, 1)),
                                   ((1, 1), (1, 1), (1, 1)), ((3, 2), (1, 3), (2, 1)),
                                   ((4, 1), (3, 1), (1, 1)), ((1, 3), (2, 2), (1, 2))])
def test_pool_reduce(k, s, d):
    rng = np.random.default_rng(0)
    xp = rng.standard_normal((3, 23, 31)).astype(np.float32)
    want_max, hw = ref_pool(xp, k, s, d, np.maximum)
    got = fastpaths.pool_reduce(xp, k, s, d, hw, np.maximum)
    np.testing.assert_array_equal(got, want_max.astype(np.float32))
    want_sum, _ = ref_pool(xp, k, s, d, np.add)
    got = fastpaths.pool_reduce(xp, k, s, d, hw, np.add)
    np.testing.assert_allclose(got, want_sum, rtol=1e-5, atol=1e-5 * k[0] * k[1])


@pytest.mark.parametrize("k,s,d", [((2, 2), (2, 2), (1, 1)), ((3, 3), (2, 2), (1, 1)), ((1, 1), (1, 1), (1, 1)),
                                   ((3, 2), (1, 3), (2, 1)), ((5, 4), (3, 2), (1, 2)), ((1, 3), (2, 1), (1, 1))])
@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (1, 1, 1, 1), (2, 0, 0, 3), (0, 2, 1, 0), (2, 2, 2, 2)])
def test_pool_reduce_reads_the_padding_in_place(monkeypatch, k, s, d, pads):
    """The padded frame is never built: equal to reducing numpy.pad's copy, for every strip (many
    small strips here, the first and last ones partly in the padding) and both reducers."""
    monkeypatch.setattr(fastpaths, "_SCRATCH_FLOATS", 1 << 8)
    monkeypatch.setattr(fastpaths, "_PARALLEL_MIN_WORK", 0)
    rng = np.random.default_rng(sum(pads) + 10 * k[0])
    x = rng.standard_normal((2, 13, 17)).astype(np.float32)
    x[0, 0, 0], x[1, -1, -1] = np.nan, np.inf
    top, bottom, left, right = pads
    for reducer, fill in ((np.maximum, -np.inf), (np.add, 0.0)):
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), constant_values=np.float32(fill))
        want, hw = ref_pool(xp, k, s, d, reducer)
        if min(hw) <= 0:
            continue
        got = fastpaths.pool_reduce(x, k, s, d, hw, reducer, pads=(top, left), fill=fill)
        framed = fastpaths.pool_reduce(xp, k, s, d, hw, reducer)
        np.testing.assert_array_equal(got, framed)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * k[0] * k[1])


@pytest.mark.parametrize("enabled", [True, False])
def test_pooling_ops_same_with_and_without_fast_paths(monkeypatch, enabled):
    monkeypatch.setattr(fastpaths, "enabled", enabled)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 21, 26)).astype(np.float32)
    for (k, s, pads, ceil) in [((2, 2), (2, 2), (0, 0, 0, 0), False), ((3, 3), (2, 2), (1, 1, 1, 1), True),
                               ((3, 2), (2, 1), (1, 1, 0, 1), False)]:
        mx = ops.max_pool(x, k, stride=s, pads=pads, ceil_mode=ceil)
        av = ops.avg_pool(x, k, stride=s, pads=pads, ceil_mode=ceil)
        monkeypatch.setattr(fastpaths, "enabled", not enabled)
        np.testing.assert_array_equal(mx, ops.max_pool(x, k, stride=s, pads=pads, ceil_mode=ceil))
        np.testing.assert_allclose(av, ops.avg_pool(x, k, stride=s, pads=pads, ceil_mode=ceil),
                                   rtol=1e-6, atol=1e-6)
        monkeypatch.setattr(fastpaths, "enabled", enabled)


# --------------------------------------------------------------------------------------------
# Threads and helpers


def test_parallel_runs_everything_and_reraises():
    seen = []
    lock = threading.Lock()

    def add(i):
        with lock:
            seen.append(i)

    fastpaths.parallel([lambda i=i: add(i) for i in range(50)])
    assert sorted(seen) == list(range(50))

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fastpaths.parallel([boom] + [lambda: None] * 5)


def test_parallel_nested_calls_do_not_deadlock():
    results = []

    def inner(i):
        fastpaths.parallel([lambda: results.append(i)] * 3)

    done = threading.Event()

    def run():
        fastpaths.parallel([lambda i=i: inner(i) for i in range(8)])
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert done.wait(20), "nested parallel() calls deadlocked"
    assert len(results) == 24


def test_num_threads_setting(monkeypatch):
    fastpaths.set_num_threads(None)
    monkeypatch.setenv("CONVSTUDIO_NUM_THREADS", "3")
    assert fastpaths.num_threads() == 3
    fastpaths.set_num_threads(1)
    assert fastpaths.num_threads() == 1
    with pytest.raises(ValueError):
        fastpaths.set_num_threads(0)


def test_good_fft_size():
    for n in itertools.chain(range(1, 200), [1001, 1030, 3030, 4097]):
        m = fastpaths.good_fft_size(n)
        assert m >= n
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        assert r == 1
        assert all(not _smooth(j) for j in range(n, m))


def _smooth(j):
    for p in (2, 3, 5):
        while j % p == 0:
            j //= p
    return j == 1


# --------------------------------------------------------------------------------------------
# Padding band by band


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_pad_correlate_in_bands_equals_padding_whole(monkeypatch, mode):
    monkeypatch.setattr(fastpaths, "_BAND_MIN_BYTES", 0)
    rng = np.random.default_rng(8)
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    cases = [
        # (C, H, W), weight shape, groups, pads, stride, dilation
        ((3, 23, 17), (3, 1, 3, 3), 3, (1, 1, 1, 1), (1, 1), (1, 1)),
        ((3, 23, 17), (3, 1, 4, 5), 3, (2, 1, 2, 2), (2, 1), (1, 1)),
        ((2, 19, 15), (4, 2, 3, 3), 1, (3, 2, 0, 1), (1, 2), (2, 1)),
        ((4, 30, 9), (6, 2, 5, 3), 2, (4, 4, 1, 1), (3, 1), (1, 2)),
        ((1, 12, 12), (1, 1, 7, 7), 1, (6, 0, 3, 3), (1, 1), (1, 1)),
    ]
    for shape, wshape, groups, pads, stride, dilation in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        w = rng.standard_normal(wshape).astype(np.float32)
        b = rng.standard_normal(wshape[0]).astype(np.float32)
        xp = np.pad(x, ((0, 0), pads[:2], pads[2:]), mode=np_mode)
        want = ref_correlate(xp, w, stride, dilation, groups) + b[:, None, None]
        for band_rows in (1, 2, 5):
            monkeypatch.setattr(fastpaths, "_BAND_BYTES", shape[0] * (shape[2] + 4) * 4 * band_rows)
            got = ops.pad_correlate(x, pads, mode=mode, weight=w, bias=b, stride=stride,
                                          dilation=dilation, groups=groups)
            assert got.dtype == np.float32 and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_conv_layer_memory_on_a_large_input_is_output_plus_bands(monkeypatch):
    import tracemalloc

    monkeypatch.undo()  # the real work-unit sizes
    rng = np.random.default_rng(0)
    x = rng.random((3, 1400, 1500), dtype=np.float32)  # 25 MB in, a 36 MB padded copy
    layer = Conv2d(weight=rng.standard_normal((4, 3, 5, 5)).astype(np.float32), padding="same")
    old = fastpaths._BAND_MIN_BYTES
    fastpaths._BAND_MIN_BYTES = 16 << 20
    try:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        out = layer.forward(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        fastpaths._BAND_MIN_BYTES = old
    assert peak <= out.nbytes + 24 * 2**20, f"peak {peak / 2**20:.1f} MiB, output {out.nbytes / 2**20:.1f} MiB"
    spot = ref_correlate(np.pad(x[:, :9, :9], ((0, 0), (2, 0), (2, 0))), layer.weight)
    np.testing.assert_allclose(out[:, :5, :5], spot[:, :5, :5], rtol=1e-5, atol=1e-5)


def test_fft_path_keeps_non_finite_values_local():
    rng = np.random.default_rng(12)
    xp = rng.standard_normal((1, 40, 50)).astype(np.float32)
    xp[0, 5, 7] = np.inf
    w = np.abs(rng.standard_normal((1, 1, 3, 3))).astype(np.float32) + 0.1
    got = run_path("fft", xp, w)
    assert np.isinf(got[0, 3:6, 5:8]).all()
    finite = np.ones_like(got, dtype=bool)
    finite[0, 3:6, 5:8] = False
    assert np.isfinite(got[finite]).all()


def test_fastpaths_sits_below_ops():
    """ops calls fastpaths, never the other way round: no import cycle between the two."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(fastpaths.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.update(f"{node.module or ''}.{a.name}".strip(".") for a in node.names)
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not any(name == "ops" or name.endswith(".ops") or name.startswith("ops.")
                   for name in imported), imported
