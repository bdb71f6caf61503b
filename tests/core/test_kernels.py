"""Kernel presets, factories, analysis helpers and the TSV text format."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convstudio.core import kernels as K

CONSTANTS = {
    "IDENTITY_3": K.IDENTITY_3, "SOBEL_X": K.SOBEL_X, "SOBEL_Y": K.SOBEL_Y,
    "SCHARR_X": K.SCHARR_X, "SCHARR_Y": K.SCHARR_Y, "PREWITT_X": K.PREWITT_X,
    "PREWITT_Y": K.PREWITT_Y, "LAPLACIAN_4": K.LAPLACIAN_4, "LAPLACIAN_8": K.LAPLACIAN_8,
    "SHARPEN": K.SHARPEN, "EMBOSS": K.EMBOSS, "OUTLINE": K.OUTLINE, "EDGE_1X2": K.EDGE_1X2,
    "EDGE_2X1": K.EDGE_2X1, "RGB_TO_GRAY_WEIGHT": K.RGB_TO_GRAY_WEIGHT,
}

# Expected kernel sum per category: blurs and sharpeners keep flat areas, edge detectors zero them.
CATEGORY_SUM = {"Basic": 1.0, "Blur": 1.0, "Sharpen": 1.0, "Edges": 0.0, "Stylise": 1.0,
                "Tutorial": 0.0, "Channel mixing": 1.0}

small_kernels = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-100, 100, width=32))
any_float32_kernels = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5),
    elements=st.floats(allow_nan=False, allow_infinity=False, width=32))


def correlate_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Reference cross-correlation without padding: out[i, j] = sum_ab k[a, b] x[i+a, j+b]."""
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for a in range(kh):
        for b in range(kw):
            out += float(k[a, b]) * x[a:a + out.shape[0], b:b + out.shape[1]]
    return out


def ramp_images(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    return xs, ys


# ----------------------------------------------------------------------------- constants


def test_textbook_values():
    assert K.SOBEL_X.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert K.SCHARR_X.tolist() == [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]
    assert K.PREWITT_X.tolist() == [[-1, 0, 1]] * 3
    for x, y in [(K.SOBEL_X, K.SOBEL_Y), (K.SCHARR_X, K.SCHARR_Y), (K.PREWITT_X, K.PREWITT_Y)]:
        np.testing.assert_array_equal(y, x.T)
    assert K.LAPLACIAN_4.tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert K.LAPLACIAN_8.tolist() == [[1, 1, 1], [1, -8, 1], [1, 1, 1]]
    np.testing.assert_array_equal(K.OUTLINE, -K.LAPLACIAN_8)
    np.testing.assert_array_equal(K.SHARPEN, K.IDENTITY_3 - K.LAPLACIAN_4)
    assert K.EDGE_1X2.shape == (1, 2) and K.EDGE_1X2.tolist() == [[1, -1]]
    assert K.EDGE_2X1.shape == (2, 1) and K.EDGE_2X1.tolist() == [[1], [-1]]
    assert K.IDENTITY_3.tolist() == K.identity(3).tolist()


def test_rgb_to_gray_weight():
    w = K.RGB_TO_GRAY_WEIGHT
    assert w.shape == (1, 3, 1, 1) and w.dtype == np.float32
    np.testing.assert_array_equal(w.ravel(), np.float32([0.299, 0.587, 0.114]))
    assert K.rgb_to_gray_weight_list() == [[[[0.299]], [[0.587]], [[0.114]]]]
    assert K.to_nested_list(w) == K.rgb_to_gray_weight_list()
    # Applied as a 1x1 conv it matches OpenCV's BT.601 gray conversion.
    rgb = np.random.default_rng(0).random((5, 7, 3), dtype=np.float32)
    gray = np.einsum("hwc,c->hw", rgb, w[0, :, 0, 0])
    np.testing.assert_allclose(gray, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), atol=1e-6)


def test_rgb_to_gray_weight_list_is_fresh_and_json():
    first = K.rgb_to_gray_weight_list()
    first[0][0][0][0] = 5.0
    assert K.rgb_to_gray_weight_list()[0][0][0][0] == 0.299
    assert json.loads(json.dumps(K.rgb_to_gray_weight_list())) == \
        [[[[0.299]], [[0.587]], [[0.114]]]]


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constants_are_read_only_float32(name):
    arr = CONSTANTS[name]
    assert arr.dtype == np.float32
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr.flat[0] = 42.0


def test_derivative_kernels_match_opencv_deriv_kernels():
    for ksize, kx_ref in [(3, K.SOBEL_X), (cv2.FILTER_SCHARR, K.SCHARR_X)]:
        kx, ky = cv2.getDerivKernels(1, 0, ksize)
        np.testing.assert_array_equal(np.outer(ky, kx), kx_ref)
        kx, ky = cv2.getDerivKernels(0, 1, ksize)
        np.testing.assert_array_equal(np.outer(ky, kx), kx_ref.T)


def test_derivative_kernels_match_opencv_filters():
    img = np.random.default_rng(1).random((16, 19), dtype=np.float32)

    def f2d(k):
        return cv2.filter2D(img, cv2.CV_32F, np.ascontiguousarray(k))

    np.testing.assert_allclose(f2d(K.SOBEL_X), cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3), atol=1e-5)
    np.testing.assert_allclose(f2d(K.SOBEL_Y), cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3), atol=1e-5)
    np.testing.assert_allclose(f2d(K.SCHARR_X), cv2.Scharr(img, cv2.CV_32F, 1, 0), atol=1e-5)
    np.testing.assert_allclose(f2d(K.SCHARR_Y), cv2.Scharr(img, cv2.CV_32F, 0, 1), atol=1e-5)
    np.testing.assert_allclose(f2d(K.LAPLACIAN_4), cv2.Laplacian(img, cv2.CV_32F, ksize=1),
                               atol=1e-5)


def test_gradients_on_ramps():
    xs, ys = ramp_images()
    inner = np.s_[2:-2, 2:-2]
    for k, dx_gain in [(K.SOBEL_X, 8), (K.SCHARR_X, 32), (K.PREWITT_X, 6)]:
        # Horizontal ramp: the x-kernel sees slope 1 (times its weight), the y-kernel nothing.
        np.testing.assert_array_equal(cv2.filter2D(xs, -1, k)[inner], dx_gain)
        np.testing.assert_array_equal(cv2.filter2D(xs, -1, np.ascontiguousarray(k.T))[inner], 0)
        np.testing.assert_array_equal(cv2.filter2D(ys, -1, np.ascontiguousarray(k.T))[inner],
                                      dx_gain)
    for k in (K.LAPLACIAN_4, K.LAPLACIAN_8, K.OUTLINE):
        np.testing.assert_array_equal(cv2.filter2D(xs + 2 * ys, -1, k)[inner], 0)


def test_tutorial_edge_detector():
    # d2l.ai's example: ones with a dark band in the middle columns.
    x = np.ones((6, 8))
    x[:, 2:6] = 0
    y = correlate_valid(x, K.EDGE_1X2)
    assert y.shape == (6, 7)
    np.testing.assert_array_equal(y[0], [0, 1, 0, 0, 0, -1, 0])
    assert np.all(y == y[0])
    np.testing.assert_array_equal(correlate_valid(x.T, K.EDGE_2X1), y.T)


def test_laplacians_on_a_quadratic():
    n = 21
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64)
    f = (xs - 7.3) ** 2 + (ys - 3.1) ** 2 + 0.5 * xs - ys  # Laplacian 4 everywhere
    np.testing.assert_allclose(correlate_valid(f, K.LAPLACIAN_4), 4, atol=1e-9)
    np.testing.assert_allclose(correlate_valid(f, K.LAPLACIAN_8), 12, atol=1e-9)
    log = K.laplacian_of_gaussian(9, sigma=1.4)
    np.testing.assert_allclose(correlate_valid(f, log), 4, rtol=1e-5)


# ----------------------------------------------------------------------------- factories


@pytest.mark.parametrize("sigma", [0.3, 0.8, 1.0, 2.5, 7.0])
def test_gaussian_matches_opencv(sigma):
    for size in range(1, 32, 2):
        g = cv2.getGaussianKernel(size, sigma)
        k = K.gaussian(size, sigma=sigma)
        assert k.dtype == np.float32 and k.shape == (size, size)
        np.testing.assert_allclose(k, (g @ g.T).astype(np.float32), rtol=2e-6, atol=1e-12)
        assert abs(K.kernel_sum(k) - 1) < 1e-5


def test_gaussian_auto_size_rule():
    assert K.gaussian_auto_size(1.0) == 7
    assert K.gaussian_auto_size(0.1) == 1
    assert K.gaussian_auto_size(0.5) == 5          # 1.5 rounds half up to 2
    assert K.gaussian_auto_size(2.0) == 13
    assert K.gaussian(sigma=1.0).shape == (7, 7)
    assert K.gaussian(sigma=0.1).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="above 255"):
        K.gaussian(sigma=50)
    assert K.gaussian(255, sigma=50).shape == (255, 255)


def test_gaussian_equals_opencv_blur():
    img = np.random.default_rng(2).random((20, 23), dtype=np.float32)
    ref = cv2.GaussianBlur(img, (5, 5), 1.2)
    np.testing.assert_allclose(cv2.filter2D(img, -1, K.gaussian(5, sigma=1.2)), ref, atol=1e-5)


def test_identity_and_box():
    k = K.identity(5)
    assert k.shape == (5, 5) and k[2, 2] == 1 and k.sum() == 1
    assert K.identity(1).tolist() == [[1.0]]
    b = K.box(4)
    assert b.shape == (4, 4) and np.all(b == np.float32(1 / 16))
    b = K.box((1, 5))
    assert b.shape == (1, 5) and np.allclose(b, 0.2)
    assert K.box(1).tolist() == [[1.0]]
    assert K.box(5.0).shape == (5, 5)   # integral floats from JSON are fine


@pytest.mark.parametrize("call, match", [
    (lambda: K.identity(4), "odd integer"),
    (lambda: K.identity(0), "between 1 and 255"),
    (lambda: K.box(0), "between 1 and 255"),
    (lambda: K.box(256), "256"),
    (lambda: K.box((3, 0)), "kw"),
    (lambda: K.box((3, 3, 3)), "kh, kw"),
    (lambda: K.box(2.5), "integer"),
    (lambda: K.box(True), "integer"),
    (lambda: K.box("3"), "integer"),
    (lambda: K.gaussian(4), "odd"),
    (lambda: K.gaussian(5, sigma=0), "sigma must be > 0"),
    (lambda: K.gaussian(5, sigma=-1.0), "sigma must be > 0"),
    (lambda: K.gaussian(5, sigma=float("nan")), "finite"),
    (lambda: K.gaussian(5, sigma=float("inf")), "finite"),
    (lambda: K.unsharp(6), "odd"),
    (lambda: K.unsharp(5, amount=float("nan")), "amount"),
    (lambda: K.motion_blur(0), "length"),
    (lambda: K.motion_blur(300), "length"),
    (lambda: K.motion_blur(5, angle=float("inf")), "angle"),
    (lambda: K.laplacian_of_gaussian(1, sigma=1.0), "between 3 and 255"),
    (lambda: K.laplacian_of_gaussian(sigma=0.0), "sigma"),
])
def test_factory_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unsharp():
    for amount in (0.0, 0.5, 1.0, 3.0):
        k = K.unsharp(5, sigma=1.0, amount=amount)
        ref = (1 + amount) * K.identity(5).astype(np.float64) - amount * K.gaussian(5, sigma=1.0)
        np.testing.assert_allclose(k, ref, atol=1e-6)
        assert abs(K.kernel_sum(k) - 1) < 1e-5
    np.testing.assert_array_equal(K.unsharp(5, amount=0.0), K.identity(5))


def test_motion_blur():
    k = K.motion_blur(9)
    assert k.shape == (9, 9)
    np.testing.assert_array_equal(k[4], np.float32(1 / 9))
    assert np.count_nonzero(k) == 9
    np.testing.assert_array_equal(K.motion_blur(9, angle=90), k.T)
    np.testing.assert_array_equal(K.motion_blur(9, angle=180), k)
    assert K.motion_blur(1).tolist() == [[1.0]]
    even = K.motion_blur(4)
    assert even.shape == (5, 5)
    np.testing.assert_allclose(even[2], [0.125, 0.25, 0.25, 0.25, 0.125])
    for angle in (0, 17.5, 30, 45, 90, 133, 200, -60):
        m = K.motion_blur(7, angle=angle)
        assert m.dtype == np.float32 and np.all(m >= 0)
        assert abs(K.kernel_sum(m) - 1) < 1e-6
        np.testing.assert_allclose(m, K.rotate180(m), atol=1e-7)
        np.testing.assert_allclose(K.motion_blur(7, angle=angle + 180), m, atol=1e-7)
    # 45 degrees counter-clockwise on screen: up-right, i.e. the anti-diagonal.
    d = K.motion_blur(5, angle=45)
    assert d[0, 4] > 0 and d[4, 0] > 0 and d[0, 0] == 0 and d[4, 4] == 0


def test_laplacian_of_gaussian():
    k = K.laplacian_of_gaussian(9, sigma=1.4)
    assert k.shape == (9, 9) and k.dtype == np.float32
    assert abs(K.kernel_sum(k)) < 1e-6
    assert k[4, 4] == k.min() < 0
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_array_equal(k, K.rotate180(k))
    assert K.laplacian_of_gaussian(sigma=1.0).shape == (7, 7)
    assert K.laplacian_of_gaussian(sigma=0.1).shape == (3, 3)


# ----------------------------------------------------------------------------- presets


def test_required_presets_present_in_display_order():
    required = {"identity", "box", "gaussian", "sharpen", "unsharp", "sobel_x", "sobel_y",
                "scharr_x", "scharr_y", "prewitt_x", "prewitt_y", "laplacian_4", "laplacian_8",
                "emboss", "outline", "edge_1x2", "motion_blur", "rgb_to_gray"}
    assert required <= set(K.PRESETS)
    assert K.preset_names() == list(K.PRESETS)
    order = [K.CATEGORIES.index(p.category) for p in K.PRESETS.values()]
    assert order == sorted(order)
    assert K.get_preset("rgb_to_gray").category == "Channel mixing"
    assert K.get_preset("edge_1x2").category == "Tutorial"
    assert K.get_preset("gaussian").params == {"size": 5, "sigma": 1.0}


@pytest.mark.parametrize("name", list(K.PRESETS))
def test_every_preset(name):
    p = K.get_preset(name)
    assert p.name == name and p.label and p.category in K.CATEGORIES
    assert p.description.strip() == p.description and p.description
    assert "\n" not in p.description and len(p.description) < 120
    k = p.make()
    assert k.dtype == np.float32 and np.all(np.isfinite(k))
    assert k.flags.writeable and k.flags.c_contiguous
    if p.kind == "weight":
        assert k.ndim == 4
    else:
        assert p.kind == "kernel" and k.ndim == 2
    assert abs(float(k.sum(dtype=np.float64)) - CATEGORY_SUM[p.category]) < 1e-5
    k.flat[0] += 1  # editing the result must not touch the preset
    assert not np.array_equal(k, p.make())


def test_preset_make_params_and_errors():
    g = K.get_preset("gaussian")
    np.testing.assert_array_equal(g.make(), K.gaussian(5, sigma=1.0))
    np.testing.assert_array_equal(g.make(sigma=2.0), K.gaussian(5, sigma=2.0))
    with pytest.raises(ValueError, match="unknown parameter.*radius.*valid: size, sigma"):
        g.make(radius=2)
    with pytest.raises(ValueError, match="valid: none"):
        K.get_preset("sobel_x").make(size=5)
    with pytest.raises(ValueError, match="odd"):
        g.make(size=4)
    with pytest.raises(TypeError):
        g.params["size"] = 7  # read-only defaults
    with pytest.raises(AttributeError):
        g.name = "other"      # frozen
    assert hash(g) == hash(K.get_preset("gaussian"))


def test_get_preset_unknown_lists_names():
    with pytest.raises(KeyError, match="sobel_x.*rgb_to_gray"):
        K.get_preset("sobel")


# ----------------------------------------------------------------------------- analysis


def test_kernel_sum_and_rank():
    assert K.kernel_sum(K.SOBEL_X) == 0.0
    assert K.kernel_sum(K.SHARPEN) == 1.0
    assert K.kernel_rank(K.SOBEL_X) == 1
    assert K.kernel_rank(K.gaussian(7, sigma=1.3)) == 1
    assert K.kernel_rank(K.LAPLACIAN_8) == 2
    assert K.kernel_rank(K.LAPLACIAN_4) == 2
    assert K.kernel_rank(np.zeros((3, 3))) == 0
    assert K.kernel_rank(np.eye(4)) == 4


@pytest.mark.parametrize("k, v, h", [
    (K.SOBEL_X, [1, 2, 1], [-1, 0, 1]),
    (K.SOBEL_Y, [-1, 0, 1], [1, 2, 1]),
    (K.SCHARR_X, [3, 10, 3], [-1, 0, 1]),
    (K.PREWITT_X, [1, 1, 1], [-1, 0, 1]),
    (K.EDGE_1X2, [1], [1, -1]),
    (K.EDGE_2X1, [1, -1], [1]),
])
def test_separable_factors_of_integer_kernels(k, v, h):
    got_v, got_h = K.separable_factors(k)
    assert got_v.dtype == got_h.dtype == np.float32
    assert got_v.tolist() == v and got_h.tolist() == h
    np.testing.assert_array_equal(np.outer(got_v, got_h), k)


def test_separable_factors_float_and_non_separable():
    g = K.gaussian(9, sigma=2.0)
    v, h = K.separable_factors(g)
    np.testing.assert_allclose(np.outer(v, h), g, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, h, rtol=1e-6)   # symmetric kernel splits evenly
    np.testing.assert_allclose(v, cv2.getGaussianKernel(9, 2.0).ravel(), rtol=1e-5)
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.standard_normal(rng.integers(1, 8))
        b = rng.standard_normal(rng.integers(1, 8))
        k = np.outer(a, b).astype(np.float32)
        v, h = K.separable_factors(k)
        assert v.shape == a.shape and h.shape == b.shape
        np.testing.assert_allclose(np.outer(v, h), k, rtol=1e-5, atol=1e-6 * np.abs(k).max())
    assert K.separable_factors(K.LAPLACIAN_8) is None
    assert K.separable_factors(K.SHARPEN) is None
    assert K.separable_factors(np.zeros((3, 3))) is None


@given(small_kernels)
@settings(max_examples=60, deadline=None)
def test_low_rank_terms_reconstruct(k):
    terms = K.low_rank_terms(k)
    assert len(terms) == K.kernel_rank(k)
    total = np.zeros(k.shape)
    for v, h in terms:
        assert v.dtype == h.dtype == np.float32 and v.shape == (k.shape[0],)
        total += np.outer(v.astype(np.float64), h)
    scale = max(float(np.abs(k).max()), 1e-30)
    np.testing.assert_allclose(total, k, rtol=0, atol=1e-5 * scale)


def test_low_rank_terms_ordering_and_zero():
    assert K.low_rank_terms(np.zeros((2, 3))) == []
    terms = K.low_rank_terms(K.LAPLACIAN_8)
    assert len(terms) == 2
    strength = [np.linalg.norm(v) * np.linalg.norm(h) for v, h in terms]
    assert strength[0] >= strength[1]


def test_normalize_by_sum():
    k = K.normalize_by_sum([[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert k.dtype == np.float32
    np.testing.assert_array_equal(k, np.float32([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    # Zero sum: nothing to divide by, returned unchanged (as a new array).
    z = K.normalize_by_sum(K.SOBEL_X)
    np.testing.assert_array_equal(z, K.SOBEL_X)
    assert z is not K.SOBEL_X and z.flags.writeable
    np.testing.assert_array_equal(K.normalize_by_sum(np.zeros((3, 3))), 0)
    # Negative sum: every sign flips, the result sums to +1.
    neg = np.float32([[0, -1, 0], [-1, -4, -1], [0, -1, 0]])
    n = K.normalize_by_sum(neg)
    np.testing.assert_array_equal(n, -neg / 8)
    assert K.kernel_sum(n) == pytest.approx(1.0)
    assert np.all(np.sign(n) == -np.sign(neg))


def test_analysis_input_validation():
    for func in (K.kernel_sum, K.kernel_rank, K.separable_factors, K.low_rank_terms,
                 K.normalize_by_sum, K.transpose, K.format_tsv):
        with pytest.raises(ValueError, match="2-D"):
            func(np.ones(3))
        with pytest.raises(ValueError, match="finite"):
            func([[1.0, float("nan")]])


# ----------------------------------------------------------------------------- transforms


@given(small_kernels)
@settings(max_examples=60, deadline=None)
def test_transform_group_laws(k):
    np.testing.assert_array_equal(K.rotate90(K.rotate90(K.rotate90(K.rotate90(k)))), k)
    np.testing.assert_array_equal(K.rotate90(k, 4), k)
    np.testing.assert_array_equal(K.rotate90(k, -1), K.rotate90(k, 3))
    np.testing.assert_array_equal(K.rotate90(k, 2), K.rotate180(k))
    np.testing.assert_array_equal(K.flip_horizontal(K.flip_vertical(k)), K.rotate180(k))
    np.testing.assert_array_equal(K.flip_vertical(K.flip_horizontal(k)), K.rotate180(k))
    np.testing.assert_array_equal(K.transpose(K.transpose(k)), k)
    np.testing.assert_array_equal(K.flip_horizontal(K.flip_horizontal(k)), k)
    np.testing.assert_array_equal(K.rotate180(K.rotate180(k)), k)
    # A quarter turn is a transpose followed by a vertical flip.
    np.testing.assert_array_equal(K.rotate90(k), K.flip_vertical(K.transpose(k)))
    np.testing.assert_array_equal(K.rotate90(k), np.rot90(k))
    for out in (K.rotate90(k), K.transpose(k), K.flip_vertical(k), K.rotate180(k)):
        assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable


def test_transforms_on_known_kernels():
    np.testing.assert_array_equal(K.transpose(K.SOBEL_X), K.SOBEL_Y)
    np.testing.assert_array_equal(K.rotate90(K.SOBEL_X), -K.SOBEL_Y)
    np.testing.assert_array_equal(K.flip_horizontal(K.EDGE_1X2), -K.EDGE_1X2)
    assert K.rotate90(K.EDGE_1X2).shape == (2, 1)
    with pytest.raises(ValueError, match="times"):
        K.rotate90(K.SOBEL_X, 1.5)


def test_rotate180_gives_true_convolution():
    rng = np.random.default_rng(4)
    x = rng.random((9, 10))
    k = rng.random((3, 3)).astype(np.float32)
    i, j = 4, 5
    conv = sum(float(k[a, b]) * x[i - a + 1, j - b + 1] for a in range(3) for b in range(3))
    corr = cv2.filter2D(x.astype(np.float32), -1, K.rotate180(k))
    assert corr[i, j] == pytest.approx(conv, rel=1e-5)


def test_random_kernel():
    a = K.random_kernel((3, 5), rng=7)
    b = K.random_kernel((3, 5), rng=np.random.default_rng(7))
    assert a.shape == (3, 5) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.all((a >= -1) & (a <= 1))
    c = K.random_kernel(4, rng=1, low=2, high=3)
    assert c.shape == (4, 4) and np.all((c >= 2) & (c <= 3))
    assert K.random_kernel(2).shape == (2, 2)
    with pytest.raises(ValueError, match="low must be below high"):
        K.random_kernel(3, low=1, high=1)
    with pytest.raises(ValueError, match="rng"):
        K.random_kernel(3, rng="seed")
    with pytest.raises(ValueError, match="between 1 and 255"):
        K.random_kernel((0, 3))


# ----------------------------------------------------------------------------- TSV text


@given(any_float32_kernels)
@settings(max_examples=100, deadline=None)
def test_tsv_round_trip_is_bit_exact(k):
    text = K.format_tsv(k)
    back = K.parse_tsv(text)
    assert back.dtype == np.float32 and back.shape == k.shape
    np.testing.assert_array_equal(back.view(np.uint32), k.view(np.uint32))
    assert len(text.splitlines()) == k.shape[0]


def test_tsv_round_trip_random_and_presets():
    for seed in range(5):
        k = K.random_kernel((7, 6), rng=seed, low=-1e3, high=1e3)
        np.testing.assert_array_equal(K.parse_tsv(K.format_tsv(k)), k)
    for p in K.PRESETS.values():
        k = p.make()
        if k.ndim == 2:
            np.testing.assert_array_equal(K.parse_tsv(K.format_tsv(k)), k)


def test_format_tsv_is_short_and_tabbed():
    assert K.format_tsv(K.SOBEL_X) == "-1\t0\t1\n-2\t0\t2\n-1\t0\t1"
    assert K.format_tsv([[0.299, 1e-5, 100.0, -0.0, 0.0625]]) == "0.299\t1e-05\t100\t-0\t0.0625"
    assert K.format_tsv([[1 / 3]]) == "0.33333334"


def test_parse_tsv_separators_and_fractions():
    expected = np.float32([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    variants = [
        "1/16\t2/16\t1/16\n2/16\t4/16\t2/16\n1/16\t2/16\t1/16",
        "0.0625, 0.125, 0.0625\n0.125, 0.25, 0.125\n0.0625, 0.125, 0.0625\n",
        "\n  1/16 ; 2/16;1/16  \n\n2/16   4/16  2/16\r\n1/16,2/16\t1/16\n\n",
    ]
    for text in variants:
        np.testing.assert_array_equal(K.parse_tsv(text), expected)
    np.testing.assert_array_equal(K.parse_tsv("\u22121 1e-3"), np.float32([[-1, 0.001]]))
    assert K.parse_tsv("7").shape == (1, 1)


@pytest.mark.parametrize("text, match", [
    ("1\t2\t3\n4\t5", "row 2 has 2 values but row 1 has 3"),
    ("1 2\n\n3", r"row 2 \(line 3\) has 1 value but row 1 has 2"),
    ("1 2\n3 abc", "row 2, column 2: 'abc' is not a number"),
    ("1 2 3\n4 5 6\n7 8 x9", "row 3, column 3"),
    ("1\t\t2", "row 1, column 2 is empty"),
    ("1/0", "row 1, column 1: '1/0' divides by zero"),
    ("1/2/3", "not a number"),
    ("nan 1", "row 1, column 1: 'nan' is not a finite"),
    ("1 inf", "column 2"),
    ("1e39", "finite float32"),
    ("", "no numbers"),
    (" \n\t\n", "no numbers"),
    ("\n".join(["1"] * 256), "larger than the maximum"),
])
def test_parse_tsv_errors(text, match):
    with pytest.raises(ValueError, match=match):
        K.parse_tsv(text)


def test_to_nested_list_round_trips_through_json():
    k = K.gaussian(5, sigma=1.0)
    data = json.loads(json.dumps(K.to_nested_list(k)))
    np.testing.assert_array_equal(np.asarray(data, dtype=np.float32), k)
    assert K.to_nested_list(K.SOBEL_X)[0] == [-1.0, 0.0, 1.0]
