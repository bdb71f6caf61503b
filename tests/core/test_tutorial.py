"""The worked examples of the tutorial (shared/seed/convolution-tutorial.md, after d2l.ai chapter 6),
reproduced through the public API. Expected values are the tutorial's (or d2l's), not the code's."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.core import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}

X3 = np.arange(9, dtype=np.float32).reshape(3, 3)          # [[0 1 2] [3 4 5] [6 7 8]]
K2 = [[0.0, 1.0], [2.0, 3.0]]


def pipeline(*layers) -> Pipeline:
    return Pipeline.from_dict({**HDR, "layers": list(layers)})


def conv(**kw) -> dict:
    return {"type": "conv2d", **kw}


def shape_of(layer: dict, in_shape) -> tuple[int, int]:
    return pipeline(layer).output_shapes(in_shape)[-1][1:]


# ------------------------------------------------------------------------------------ 2.a


def test_cross_correlation_example():
    """0*0 + 1*1 + 3*2 + 4*3 = 19, 25, 37, 43."""
    out = pipeline(conv(kernel=K2)).run(X3)[0]
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    np.testing.assert_array_equal(out[0], [[19, 25], [37, 43]])
    # the same with the 4-D weight form
    np.testing.assert_array_equal(pipeline(conv(weight=[[K2]])).run(X3)[0][0], [[19, 25], [37, 43]])


@pytest.mark.parametrize("n, k", [((3, 3), (2, 2)), ((8, 8), (3, 3)), ((6, 8), (1, 2)), ((5, 7), (5, 3))])
def test_valid_output_is_n_minus_k_plus_1(n, k):
    assert shape_of(conv(kernel=np.ones(k).tolist()), (1,) + n) == (n[0] - k[0] + 1, n[1] - k[1] + 1)


def test_edge_detection_example():
    """d2l 6.2.3: the kernel [1, -1] finds the vertical edges of a black-and-white image."""
    x = np.ones((6, 8), dtype=np.float32)
    x[:, 2:6] = 0
    out = pipeline(conv(kernel=[[1, -1]])).run(x)[0][0]
    expected = np.zeros((6, 7), dtype=np.float32)
    expected[:, 1], expected[:, 5] = 1, -1
    np.testing.assert_array_equal(out, expected)
    # the transposed image has no vertical edges
    np.testing.assert_array_equal(pipeline(conv(kernel=[[1, -1]])).run(x.T.copy())[0][0], 0)


def test_translation_invariance():
    """The same kernel everywhere: shifting the input shifts the output."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (12, 12)).astype(np.float32)
    p = pipeline(conv(kernel=rng.uniform(-1, 1, (3, 3)).tolist()))
    out = p.run(x)[0][0]
    shifted = p.run(np.ascontiguousarray(x[2:, 3:]))[0][0]
    np.testing.assert_allclose(shifted, out[2:, 3:], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------ 2.c padding


def test_padding_3x3_to_5x5_gives_4x4():
    assert shape_of(conv(kernel=K2, padding=1), (1, 3, 3)) == (4, 4)


@pytest.mark.parametrize("layer, expected", [
    (conv(kernel=np.ones((3, 3)).tolist(), padding=1), (8, 8)),
    (conv(kernel=np.ones((5, 5)).tolist(), padding=2), (8, 8)),
    (conv(kernel=np.ones((5, 3)).tolist(), padding=[2, 1]), (8, 8)),        # d2l: (5, 3), (2, 1)
    (conv(kernel=np.ones((3, 3)).tolist(), padding=1, stride=2), (4, 4)),  # d2l 6.3.2
    (conv(kernel=np.ones((3, 5)).tolist(), padding=[0, 1], stride=[3, 4]), (2, 2)),
])
def test_d2l_output_shapes_on_8x8(layer, expected):
    assert shape_of(layer, (1, 8, 8)) == expected
    assert pipeline(layer).run(np.zeros((8, 8)))[0].shape[1:] == expected


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("n", [1, 4, 7, 10])
def test_padding_k_minus_1_keeps_the_shape_for_odd_kernels(k, n):
    kernel = np.ones((k, k)).tolist()
    # p_h = k - 1 in total: (k - 1) / 2 on each side, as an int, as "same" and as a 4-list
    for padding in ((k - 1) // 2, "same", [(k - 1) // 2] * 4):
        assert shape_of(conv(kernel=kernel, padding=padding), (1, n, n + 1)) == (n, n + 1)


def test_even_kernel_same_padding_puts_the_extra_row_on_top():
    """k even: ceil(p/2) rows on top, floor(p/2) at the bottom (the tutorial's split)."""
    x = np.zeros((4, 4), dtype=np.float32)
    x[1, 1] = 1
    out = pipeline(conv(kernel=[[1, 2], [3, 4]], padding="same")).run(x)[0][0]
    # one row on top and one column on the left: the impulse response (the rotated kernel) covers
    # outputs (1..2, 1..2); with the extra row at the bottom (PyTorch, TensorFlow) it would be (0..1, 0..1)
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[1:3, 1:3] = [[4, 3], [2, 1]]
    np.testing.assert_array_equal(out, expected)


def test_odd_kernel_with_p_k_minus_1_is_centred_on_x_ij():
    """With k odd and p = k - 1, Y[i, j] is the correlation of the window centred on X[i, j]."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (7, 9)).astype(np.float32)
    k = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
    out = pipeline(conv(kernel=k.tolist(), padding=[2, 1])).run(x)[0][0]
    xp = np.pad(x.astype(np.float64), ((2, 2), (1, 1)))
    for i in range(7):
        for j in range(9):
            centred = xp[i:i + 5, j:j + 3]  # rows i-2..i+2, columns j-1..j+1 of x
            assert out[i, j] == pytest.approx(float((centred * k).sum()), rel=1e-5, abs=1e-5)


# ------------------------------------------------------------------------------------ 2.d stride


def test_stride_formula():
    """floor((n + p + s - k) / s) with p the total padding, for every small case."""
    for n in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 5):
                for top in range(0, 3):
                    for bottom in range(0, 3):
                        p = top + bottom
                        if n + p < k:
                            continue
                        layer = conv(kernel=np.ones((k, 1)).tolist(), stride=[s, 1],
                                     padding=[top, bottom, 0, 0])
                        assert shape_of(layer, (1, n, 1)) == ((n + p + s - k) // s, 1)


def test_stride_with_full_padding_divides_the_shape():
    """p = k - 1: floor((n + s - 1) / s), which is n / s when s divides n."""
    for k in (1, 3, 5):
        for s in (1, 2, 3, 4):
            for n in range(1, 25):
                layer = conv(kernel=np.ones((k, k)).tolist(), stride=s, padding=(k - 1) // 2)
                h, w = shape_of(layer, (1, n, n))
                assert h == w == (n + s - 1) // s
                if n % s == 0:
                    assert h == n // s


# ------------------------------------------------------------------------------------ 2.e channels


X_2CH = np.stack([np.arange(9).reshape(3, 3), np.arange(1, 10).reshape(3, 3)]).astype(np.float32)
K_2CH = [[[0, 1], [2, 3]], [[1, 2], [3, 4]]]


def test_two_input_channels_are_summed():
    out = pipeline(conv(weight=[K_2CH])).run(X_2CH)[0]
    assert out.shape == (1, 2, 2)
    np.testing.assert_array_equal(out[0], [[56, 72], [104, 120]])


def test_multiple_output_channels_stack_k_k1_k2():
    k = np.array(K_2CH, dtype=np.float32)
    w = np.stack([k, k + 1, k + 2])  # (3 out, 2 in, 2, 2)
    out = pipeline(conv(weight=w.tolist())).run(X_2CH)[0]
    assert out.shape == (3, 2, 2)
    np.testing.assert_array_equal(out, [[[56, 72], [104, 120]],
                                        [[76, 100], [148, 172]],
                                        [[96, 128], [192, 224]]])


# ------------------------------------------------------------------------------------ 2.f 1x1


def test_1x1_convolution_is_a_per_pixel_matrix_product():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 3, 3)).astype(np.float32)
    w = rng.normal(size=(2, 3, 1, 1)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    out = pipeline(conv(weight=w.tolist(), bias=b.tolist())).run(x)[0]
    expected = np.einsum("oc,chw->ohw", w[:, :, 0, 0].astype(np.float64), x.astype(np.float64)) + b[:, None, None]
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # c_o x c_i weights plus a bias
    assert pipeline(conv(weight=w.tolist(), bias=b.tolist())).params((3, 3, 3)) == 2 * 3 + 2


# ------------------------------------------------------------------------------------ 2.h pooling


def test_max_and_avg_pooling_example():
    mx = pipeline({"type": "maxpool2d", "kernel_size": 2, "stride": 1}).run(X3)[0][0]
    av = pipeline({"type": "avgpool2d", "kernel_size": 2, "stride": 1}).run(X3)[0][0]
    np.testing.assert_array_equal(mx, [[4, 5], [7, 8]])
    np.testing.assert_array_equal(av, [[2, 3], [5, 6]])


X4 = np.arange(16, dtype=np.float32).reshape(4, 4)


@pytest.mark.parametrize("layer, expected", [
    ({"type": "maxpool2d", "kernel_size": 3}, [[10]]),                                   # stride = window
    ({"type": "maxpool2d", "kernel_size": 3, "padding": 1, "stride": 2}, [[5, 7], [13, 15]]),
    ({"type": "maxpool2d", "kernel_size": [2, 3], "stride": [2, 3], "padding": [0, 1]}, [[5, 7], [13, 15]]),
    # a 2x2 window with padding 1 and stride 2 on 4x4 -> 3x3 (rows/cols {0}, {1, 2}, {3})
    ({"type": "maxpool2d", "kernel_size": 2, "padding": 1, "stride": 2}, [[0, 2, 3], [8, 10, 11], [12, 14, 15]]),
    ({"type": "avgpool2d", "kernel_size": 2, "padding": 1, "stride": 2, "count_include_pad": False},
     [[0, 1.5, 3], [6, 7.5, 9], [12, 13.5, 15]]),
    ({"type": "avgpool2d", "kernel_size": 2, "padding": 1, "stride": 2},
     [[0, 0.75, 0.75], [3, 7.5, 4.5], [3, 6.75, 3.75]]),
])
def test_d2l_pooling_with_padding_and_stride(layer, expected):
    out = pipeline(layer).run(X4)[0][0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_pooling_works_on_each_channel_separately():
    x = np.stack([X4, X4 + 1])
    out = pipeline({"type": "maxpool2d", "kernel_size": 3, "padding": 1, "stride": 2}).run(x)[0]
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out, [[[5, 7], [13, 15]], [[6, 8], [14, 16]]])


# ------------------------------------------------------------------------------------ 2.b receptive field


def test_receptive_field_of_two_stacked_2x2_convolutions():
    p = pipeline(conv(kernel=K2), conv(kernel=[[1, 1], [1, 1]]))
    rfs = p.receptive_fields()
    # 19 sees 4 inputs; z sees Y's four elements and all nine inputs
    assert rfs[1].size == (2, 2) and rfs[1].window(0, 0) == (0, 2, 0, 2)
    assert rfs[2].size == (3, 3) and rfs[2].window(0, 0) == (0, 3, 0, 3)
    outs = p.run(X3)
    assert outs[1].shape == (1, 1, 1)
    assert outs[1][0, 0, 0] == 19 + 25 + 37 + 43
    # numerically, with a kernel without zero taps (K2's 0 means X[0, 0] cannot move 19 or z: the
    # receptive field is what *may* affect an element): every one of the nine inputs changes z
    q = pipeline(conv(kernel=(np.array(K2) + 1).tolist()), conv(kernel=[[1, 1], [1, 1]]))
    z = q.run(X3)[1][0, 0, 0]
    for i in range(3):
        for j in range(3):
            x = X3.copy()
            x[i, j] += 1
            assert q.run(x)[1][0, 0, 0] > z
    x = X3.copy()
    x[0, 0] += 1
    assert p.run(x)[1][0, 0, 0] == outs[1][0, 0, 0]


# ------------------------------------------------------------------------------------ 1. parameters


def test_fully_connected_parameter_argument():
    """A (1, 1000, 1000) image to 1000 outputs: a fully connected layer needs 10^6 * 10^3 weights plus
    10^3 biases, a convolution a handful that do not depend on the image size."""
    p = pipeline(conv(kernel=np.ones((3, 3)).tolist(), bias=0.0, padding=1),
                 {"type": "maxpool2d", "kernel_size": [100, 10]})
    shapes = p.output_shapes((1, 1000, 1000))
    assert shapes[-1] == (1, 10, 100)  # 1000 elements
    assert p.fc_params((1, 1000, 1000)) == 10**9 + 10**3
    info = p.info((1, 1000, 1000))
    assert info["fc_params"] == 1_000_001_000
    assert info["params"] == p.params((1, 1000, 1000)) == 9 + 1
    # in_elems * out_elems + out_elems in general
    assert p.fc_params((3, 200, 100)) == (3 * 200 * 100) * (3 * 2 * 10) + 3 * 2 * 10
