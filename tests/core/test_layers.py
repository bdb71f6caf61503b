"""Layers built from their JSON objects against the plain-loop reference, plus the laws of
convolution (impulse response, output size, linearity, flip = true convolution) and parameter counts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import reference as ref
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.signal import convolve2d, correlate2d

from convstudio.core import LAYER_TYPES, Pipeline, PipelineError, as_chw, layer_from_dict
from convstudio.core.layers import Conv2d

FAST = settings(max_examples=60, deadline=None)
MODES = ("zeros", "reflect", "replicate", "circular")


def random(seed: int, shape, lo=-1.0, hi=1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


def assert_close(actual, expected, *, magnitude: float) -> None:
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * max(1.0, magnitude))


def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def resolve_pads(spec, k, d):
    """The padding rules of docs/semantics.md, written out again."""
    if spec == "valid":
        return (0, 0, 0, 0)
    if spec == "same":
        return ref.same_pads(k, d)
    if isinstance(spec, int):
        return (spec,) * 4
    if len(spec) == 2:
        return (spec[0], spec[0], spec[1], spec[1])
    return tuple(spec)


# ------------------------------------------------------------------------------------ conv2d


sizes = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)).map(list))
paddings = st.one_of(
    st.sampled_from(["same", "valid"]),
    st.integers(0, 3),
    st.lists(st.integers(0, 3), min_size=2, max_size=2),
    st.lists(st.integers(0, 3), min_size=4, max_size=4),
)


@st.composite
def conv_layers(draw):
    """(layer dict, input shape, effective (weight, bias, groups), pads) drawn at random."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    d: dict = {"type": "conv2d"}
    if draw(st.booleans()):  # weight form
        groups = draw(st.integers(1, 3))
        cin_g, cout_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        c = cin_g * groups
        w = rng.uniform(-1, 1, (cout_g * groups, cin_g, kh, kw)).astype(np.float32)
        d["weight"] = w.tolist()
        if groups > 1 or draw(st.booleans()):
            d["groups"] = groups
        weff = w.astype(np.float64)
        cout = cout_g * groups
    else:  # kernel form: one kernel applied to every channel on its own
        c = draw(st.integers(1, 3))
        k = rng.uniform(-1, 1, (kh, kw)).astype(np.float32)
        d["kernel"] = k.tolist()
        groups = c
        cout = c
        weff = np.broadcast_to(k.astype(np.float64), (c, 1, kh, kw)).copy()
    bias_kind = draw(st.sampled_from(["none", "list"] + (["shared"] if "kernel" in d else [])))
    if bias_kind == "list":
        b = rng.uniform(-1, 1, cout).astype(np.float32)
        d["bias"] = b.tolist()
        beff = b.astype(np.float64)
    elif bias_kind == "shared":
        d["bias"] = float(np.float32(rng.uniform(-1, 1)))
        beff = np.full(cout, d["bias"])
    else:
        beff = None
    if draw(st.booleans()):
        d["scale"] = draw(st.sampled_from([0.5, -2.0, 0.0625, 3]))
        weff = weff * d["scale"]
    if draw(st.booleans()):
        d["flip"] = draw(st.booleans())
        if d["flip"]:
            weff = weff[..., ::-1, ::-1]
    stride = draw(sizes)
    dilation = draw(sizes)
    d["stride"], d["dilation"] = stride, dilation
    d["padding"] = draw(paddings)
    d["padding_mode"] = draw(st.sampled_from(MODES))
    pads = resolve_pads(d["padding"], (kh, kw), pair(dilation))
    h, w_ = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    assume(ref.out_size(h, kh, stride=sh, pad_total=pads[0] + pads[1], dilation=dh) >= 1)
    assume(ref.out_size(w_, kw, stride=sw, pad_total=pads[2] + pads[3], dilation=dw) >= 1)
    x = rng.uniform(-1, 1, (c, h, w_)).astype(np.float32)
    return d, x, weff, beff, groups, pads


@FAST
@given(conv_layers())
def test_conv2d_layer_matches_reference(case):
    d, x, weff, beff, groups, pads = case
    layer = layer_from_dict(d)
    got = layer.forward(x)
    expected = ref.conv2d(x, weff, beff, stride=pair(d["stride"]), pads=pads,
                          dilation=pair(d["dilation"]), groups=groups, mode=d["padding_mode"])
    magnitude = float(np.abs(weff).reshape(weff.shape[0], -1).sum(1).max()) + (
        0 if beff is None else float(np.abs(beff).max()))
    assert_close(got, expected, magnitude=magnitude)
    assert layer.output_shape(x.shape) == got.shape


@pytest.mark.parametrize("k", [(1, 1), (2, 2), (3, 3), (4, 4), (2, 5), (4, 3), (5, 5)])
@pytest.mark.parametrize("mode", MODES)
def test_conv2d_same_keeps_the_shape_with_extra_row_on_top(k, mode):
    x = random(sum(k), (2, 7, 9))
    w = random(7, (3, 2) + k)
    layer = Conv2d(weight=w, padding="same", padding_mode=mode)
    got = layer.forward(x)
    assert got.shape == (3, 7, 9)
    th, tw = k[0] - 1, k[1] - 1
    pads = ((th + 1) // 2, th // 2, (tw + 1) // 2, tw // 2)  # ceil on top / left
    assert_close(got, ref.conv2d(x, w, pads=pads, mode=mode), magnitude=float(np.abs(w).sum()))


@pytest.mark.parametrize("k", [(3, 3), (4, 4), (2, 3), (5, 2), (1, 4)])
@pytest.mark.parametrize("mode, border", [("zeros", cv2.BORDER_CONSTANT),
                                          ("reflect", cv2.BORDER_REFLECT_101),
                                          ("replicate", cv2.BORDER_REPLICATE)])
def test_conv2d_same_matches_opencv_filter2d_default_anchor(k, mode, border):
    """docs/semantics.md: 'same' agrees with OpenCV's default anchor k//2, even kernels included."""
    x = random(11, (1, 9, 10), 0, 1)
    kernel = random(12, k)
    layer = layer_from_dict({"type": "conv2d", "kernel": kernel.tolist(), "padding": "same",
                             "padding_mode": mode})
    expected = cv2.filter2D(x[0], cv2.CV_32F, kernel, borderType=border)
    np.testing.assert_allclose(layer.forward(x)[0], expected, rtol=1e-5, atol=1e-5)


def test_scale_multiplies_weights_not_bias():
    x = random(1, (1, 4, 4))
    k = [[1.0, 2.0], [3.0, 4.0]]
    layer = layer_from_dict({"type": "conv2d", "kernel": k, "scale": 0.25, "bias": 10.0})
    expected = ref.conv2d(x, np.array(k)[None, None] * 0.25) + 10.0
    assert_close(layer.forward(x), expected, magnitude=11)


def test_kernel_form_filters_each_channel_on_its_own():
    x = random(2, (3, 5, 6))
    k = random(3, (3, 3))
    layer = layer_from_dict({"type": "conv2d", "kernel": k.tolist(), "bias": [1, 2, 3],
                             "padding": 1})
    got = layer.forward(x)
    for c in range(3):
        single = ref.conv2d(x[c:c + 1], k[None, None], pads=(1, 1, 1, 1))[0] + (c + 1)
        np.testing.assert_allclose(got[c], single, rtol=1e-5, atol=1e-5)
    # the same layer adapts to a 1-channel input, but a 3-number bias then does not fit
    with pytest.raises(PipelineError) as exc:
        layer.forward(x[:1])
    assert exc.value.key == "bias"


def test_depthwise_weight_form_equals_kernel_form():
    x = random(4, (3, 6, 6))
    k = random(5, (3, 3))
    a = layer_from_dict({"type": "conv2d", "weight": np.broadcast_to(k, (3, 1, 3, 3)).tolist(),
                         "groups": 3})
    b = layer_from_dict({"type": "conv2d", "kernel": k.tolist()})
    np.testing.assert_allclose(a.forward(x), b.forward(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.int64, np.float64, bool])
def test_int_inputs_are_cast_to_float32(dtype):
    x = (np.arange(20).reshape(4, 5) % 7).astype(dtype)
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[0, 1], [2, 3]]}, {"type": "relu"}]})
    outs = p.run(x)
    assert [o.dtype for o in outs] == [np.float32, np.float32]
    expected = ref.conv2d(x.astype(np.float64)[None], [[[[0, 1], [2, 3]]]])
    np.testing.assert_array_equal(outs[0], expected.astype(np.float32))
    assert as_chw(x).dtype == np.float32 and as_chw(x).shape == (1, 4, 5)


# ------------------------------------------------------------------------------------ laws


@FAST
@given(st.integers(0, 3), st.integers(0, 3), st.integers(1, 2), st.integers(1, 2),
       st.integers(3, 12), st.integers(3, 12), st.data())
def test_impulse_response_is_the_rotated_kernel(hh, hw, dh, dw, h, w, data):
    """With 'same' zero padding, an impulse at p gives out[p + top - a*d] = K[a]: for odd kernels the
    kernel rotated by 180 degrees centred on the impulse. flip: true gives the kernel itself."""
    kh, kw = 2 * hh + 1, 2 * hw + 1
    pi, pj = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    k = random(kh * 100 + kw, (kh, kw), 0.5, 1.5)
    x = np.zeros((1, h, w), dtype=np.float32)
    x[0, pi, pj] = 1.0
    for flip in (False, True):
        layer = Conv2d(kernel=k, padding="same", dilation=(dh, dw), flip=flip)
        got = layer.forward(x)[0]
        expected = np.zeros((h, w), dtype=np.float32)
        rot = k if flip else k[::-1, ::-1]
        for u in range(kh):
            for v in range(kw):
                # rot[u, v] lands u*dh rows from the top of the (dilated) window centred on pi
                i, j = pi - hh * dh + u * dh, pj - hw * dw + v * dw
                if 0 <= i < h and 0 <= j < w:
                    expected[i, j] = rot[u, v]
        # exact in arithmetic; a separable or FFT fast path may round differently in the last bit
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2), st.integers(1, 2),
       st.integers(2, 10), st.integers(2, 10), st.data())
def test_impulse_response_even_kernels_uses_the_top_left_split(kh, kw, dh, dw, h, w, data):
    pi, pj = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    k = random(kh * 10 + kw, (kh, kw), 0.5, 1.5)
    x = np.zeros((1, h, w), dtype=np.float32)
    x[0, pi, pj] = 1.0
    got = Conv2d(kernel=k, padding="same", dilation=(dh, dw)).forward(x)[0]
    top, left = -(-dh * (kh - 1) // 2), -(-dw * (kw - 1) // 2)
    expected = np.zeros((h, w), dtype=np.float32)
    for a in range(kh):
        for b in range(kw):
            i, j = pi + top - a * dh, pj + left - b * dw
            if 0 <= i < h and 0 <= j < w:
                expected[i, j] = k[a, b]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@FAST
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 7),
       st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4),
       st.lists(st.integers(0, 6), min_size=4, max_size=4))
def test_output_shape_formula(h, w, kh, kw, sh, sw, dh, dw, pads):
    layer = Conv2d(weight=np.ones((2, 1, kh, kw), np.float32), stride=(sh, sw), dilation=(dh, dw),
                   padding=tuple(pads))
    ho = (h + pads[0] + pads[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (w + pads[2] + pads[3] - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        with pytest.raises(PipelineError):
            layer.output_shape((1, h, w))
        return
    assert layer.output_shape((1, h, w)) == (2, ho, wo)
    if h * w <= 400:
        assert layer.forward(np.zeros((1, h, w), np.float32)).shape == (2, ho, wo)


@FAST
@given(conv_layers(), st.floats(-3, 3), st.floats(-3, 3))
def test_linearity(case, a, b):
    d, x, _, _, _, _ = case
    d = {k: v for k, v in d.items() if k != "bias"}
    layer = layer_from_dict(d)
    assert layer.is_linear
    y = random(99, x.shape)
    lhs = layer.forward((a * x + b * y).astype(np.float32)).astype(np.float64)
    rhs = a * layer.forward(x).astype(np.float64) + b * layer.forward(y).astype(np.float64)
    magnitude = (abs(a) + abs(b) + 1) * float(np.abs(layer.effective_weight(x.shape[0])).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-5 * max(1.0, magnitude))


@FAST
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 6), st.integers(0, 6),
       st.integers(0, 2**32 - 1))
def test_flip_is_true_convolution(kh, kw, eh, ew, seed):
    h, w = kh + eh, kw + ew
    x = random(seed, (1, h, w))
    k = random(seed + 1, (kh, kw))
    conv = Conv2d(kernel=k, flip=True).forward(x)[0]
    corr = Conv2d(kernel=k).forward(x)[0]
    np.testing.assert_allclose(conv, convolve2d(x[0].astype(np.float64), k, mode="valid"),
                               rtol=1e-5, atol=1e-5 * kh * kw)
    np.testing.assert_allclose(corr, correlate2d(x[0].astype(np.float64), k, mode="valid"),
                               rtol=1e-5, atol=1e-5 * kh * kw)
    # and with zero 'full' padding, the true convolution is scipy's 'full'
    full = Conv2d(kernel=k, flip=True, padding=(kh - 1, kw - 1)).forward(x)[0]
    np.testing.assert_allclose(full, convolve2d(x[0].astype(np.float64), k, mode="full"),
                               rtol=1e-5, atol=1e-5 * kh * kw)


# ------------------------------------------------------------------------------------ pooling


@st.composite
def pool_layers(draw):
    kind = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
    k = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)).map(list)))
    kh, kw = pair(k)
    d: dict = {"type": kind, "kernel_size": k}
    dil = (1, 1)
    if kind == "maxpool2d" and draw(st.booleans()):
        d["dilation"] = draw(sizes)
        dil = pair(d["dilation"])
    if draw(st.booleans()):
        d["stride"] = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)).map(list)))
    # PyTorch's limit for both kinds: half the kernel size, the dilation not counted
    half_h, half_w = kh // 2, kw // 2
    d["padding"] = draw(st.one_of(
        st.just("valid"),
        st.integers(0, min(half_h, half_w)),
        st.tuples(st.integers(0, half_h), st.integers(0, half_w)).map(list),
        st.tuples(st.integers(0, half_h), st.integers(0, half_h), st.integers(0, half_w),
                  st.integers(0, half_w)).map(list)))
    if draw(st.booleans()):
        d["ceil_mode"] = draw(st.booleans())
    if kind == "avgpool2d" and draw(st.booleans()):
        d["count_include_pad"] = draw(st.booleans())
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    stride = pair(d.get("stride", k))
    pads = resolve_pads(d["padding"], (kh, kw), dil)
    ceil = d.get("ceil_mode", False)
    assume(ref.pool_out_size(h, kh, stride=stride[0], pad_before=pads[0], pad_after=pads[1],
                             dilation=dil[0], ceil_mode=ceil) >= 1)
    assume(ref.pool_out_size(w, kw, stride=stride[1], pad_before=pads[2], pad_after=pads[3],
                             dilation=dil[1], ceil_mode=ceil) >= 1)
    return d, (2, h, w), stride, pads, dil, draw(st.integers(0, 2**32 - 1))


@FAST
@given(pool_layers())
def test_pool_layers_match_reference(case):
    d, shape, stride, pads, dil, seed = case
    x = random(seed, shape)
    layer = layer_from_dict(d)
    got = layer.forward(x)
    kh, kw = pair(d["kernel_size"])
    if d["type"] == "maxpool2d":
        expected = ref.max_pool(x, (kh, kw), stride=stride, pads=pads, dilation=dil,
                                ceil_mode=d.get("ceil_mode", False))
    else:
        expected = ref.avg_pool(x, (kh, kw), stride=stride, pads=pads, ceil_mode=d.get("ceil_mode", False),
                                count_include_pad=d.get("count_include_pad", True))
    assert_close(got, expected, magnitude=1.0)
    assert layer.output_shape(shape) == got.shape


def test_pool_default_stride_is_the_window():
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6)
    got = layer_from_dict({"type": "maxpool2d", "kernel_size": [2, 3]}).forward(x)
    np.testing.assert_array_equal(got[0], [[8, 11], [20, 23], [32, 35]])
    got = layer_from_dict({"type": "avgpool2d", "kernel_size": 3}).forward(x)
    np.testing.assert_allclose(got[0], [[7, 10], [25, 28]])


@pytest.mark.parametrize("d", [
    {"type": "maxpool2d", "kernel_size": 3, "padding": 2},
    {"type": "avgpool2d", "kernel_size": 2, "padding": [0, 0, 0, 2]},
    {"type": "avgpool2d", "kernel_size": [4, 1], "padding": [0, 1]},
    {"type": "maxpool2d", "kernel_size": 2, "padding": 2, "dilation": 2},
    # PyTorch counts the kernel size without the dilation: F.max_pool2d(x, 3, dilation=2,
    # padding=2) is refused although the dilated window spans 5 (and so "same" with it)
    {"type": "maxpool2d", "kernel_size": 3, "padding": 2, "dilation": 2},
    {"type": "maxpool2d", "kernel_size": 2, "padding": [0, 2], "dilation": [1, 3]},
    {"type": "maxpool2d", "kernel_size": 3, "padding": "same", "dilation": 2},
])
def test_pool_padding_more_than_half_the_window_is_refused(d):
    layer = layer_from_dict(d)
    with pytest.raises(PipelineError) as exc:
        layer.output_shape((1, 10, 10))
    assert exc.value.key == "padding"


def test_dilated_maxpool_padding_up_to_half_the_kernel_size():
    # k // 2 per side, whatever the dilation; the padding cells (-inf) never win
    x = np.arange(30, dtype=np.float32).reshape(1, 5, 6)
    got = layer_from_dict({"type": "maxpool2d", "kernel_size": 3, "dilation": 2, "stride": 1,
                           "padding": 1}).forward(x)
    # out[i, j] = max over x[i - 1 + 2a, j - 1 + 2b] for a, b in 0..2, inside the image
    expected = np.array([[max(x[0, r, c] for r in range(i - 1, i + 4, 2) for c in range(j - 1, j + 4, 2)
                              if 0 <= r < 5 and 0 <= c < 6) for j in range(4)] for i in range(3)])
    np.testing.assert_array_equal(got[0], expected)


def test_maxpool_dilation():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    x[0, 1, 1] = 100  # inside the undilated 2x2 window at (0, 0), but not one of its dilated taps
    got = layer_from_dict({"type": "maxpool2d", "kernel_size": 2, "dilation": 2, "stride": 1}).forward(x)
    # out[i, j] = max of x[i, j], x[i, j+2], x[i+2, j], x[i+2, j+2]
    np.testing.assert_array_equal(got[0], [[12, 13, 14], [17, 100, 19], [22, 23, 24]])


# ------------------------------------------------------------------------------------ pad, stride


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("padding", [0, 2, [1, 3], [0, 2, 3, 1], "valid"])
def test_pad_layer(mode, padding):
    x = random(8, (2, 4, 5))
    d = {"type": "pad", "padding": padding, "mode": mode}
    if mode == "constant":
        d["value"] = -0.75
    layer = layer_from_dict(d)
    pads = resolve_pads(padding, (1, 1), (1, 1))
    got = layer.forward(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref.pad(x, pads, mode, d.get("value", 0.0)))
    assert layer.output_shape(x.shape) == got.shape


def test_pad_layer_value_without_mode_pads_with_the_value():
    # a `value` alone means constant padding with it (PyTorch's F.pad default), never ignored
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    layer = layer_from_dict({"type": "pad", "padding": [1, 0, 0, 2], "value": 0.5})
    expected = np.full((1, 3, 5), 0.5, dtype=np.float32)
    expected[0, 1:, :3] = x[0]
    np.testing.assert_array_equal(layer.forward(x), expected)
    assert layer.mode == "constant" and layer.to_dict()["mode"] == "constant"
    # an explicit mode still decides, and no value keeps the zeros default
    assert layer_from_dict({"type": "pad", "padding": 1}).mode == "zeros"
    assert layer_from_dict({"type": "pad", "padding": 1, "mode": "zeros"}).mode == "zeros"


def test_pad_layer_refuses_same():
    with pytest.raises(PipelineError) as exc:
        layer_from_dict({"type": "pad", "padding": "same"})
    assert exc.value.key == "padding"


@FAST
@given(st.integers(1, 10), st.integers(1, 10), st.integers(1, 4), st.integers(1, 4), st.data())
def test_stride_layer(h, w, sh, sw, data):
    oh, ow = data.draw(st.integers(0, sh - 1)), data.draw(st.integers(0, sw - 1))
    layer = layer_from_dict({"type": "stride", "stride": [sh, sw], "offset": [oh, ow]})
    x = random(h + w, (3, h, w))
    if oh >= h or ow >= w:
        with pytest.raises(PipelineError):
            layer.output_shape(x.shape)
        return
    got = layer.forward(x)
    np.testing.assert_array_equal(got, ref.subsample(x, (sh, sw), (oh, ow)))
    assert layer.output_shape(x.shape) == got.shape


def test_stride_layer_defaults():
    layer = layer_from_dict({"type": "stride"})
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    np.testing.assert_array_equal(layer.forward(x)[0], [[0, 2, 4], [10, 12, 14], [20, 22, 24]])


# ------------------------------------------------------------------------------------ activations


@pytest.mark.parametrize("d, fn", [
    ({"type": "relu"}, ref.relu),
    ({"type": "leaky_relu"}, lambda x: ref.leaky_relu(x, 0.01)),
    ({"type": "leaky_relu", "negative_slope": 0.2}, lambda x: ref.leaky_relu(x, 0.2)),
    ({"type": "abs"}, ref.absolute),
    ({"type": "sigmoid"}, ref.sigmoid),
    ({"type": "tanh"}, ref.tanh),
])
def test_activation_layers(d, fn):
    x = random(9, (2, 5, 5), -8, 8)
    x[0, 0, :4] = [-1e4, -100, 100, 1e4]
    layer = layer_from_dict(d)
    got = layer.forward(x)
    assert got.dtype == np.float32 and got.shape == x.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, fn(x), rtol=1e-5, atol=1e-40)
    assert layer.params(x.shape) == 0


# ------------------------------------------------------------------------------------ disabled


@pytest.mark.parametrize("d", [
    {"type": "conv2d", "weight": [[[[1, 2, 3]]] * 3], "stride": 2},
    {"type": "maxpool2d", "kernel_size": 3},
    {"type": "avgpool2d", "kernel_size": 2, "padding": 1},
    {"type": "pad", "padding": 3},
    {"type": "stride", "stride": 3, "offset": 1},
    {"type": "sigmoid"},
])
def test_disabled_layer_passes_input_through(d):
    layer = layer_from_dict({**d, "enabled": False, "name": "off"})
    x = random(10, (2, 6, 7))  # 2 channels would not fit the 1-input-channel conv if it ran
    np.testing.assert_array_equal(layer.forward(x), x)
    assert layer.output_shape(x.shape) == x.shape
    assert layer.params(x.shape) == 0
    rf = Pipeline((layer,)).receptive_fields()[-1]
    assert (rf.size, rf.jump, rf.start) == ((1, 1), (1, 1), (0, 0))


# ------------------------------------------------------------------------------------ params


@pytest.mark.parametrize("d, in_shape, expected", [
    ({"type": "conv2d", "weight": np.zeros((4, 2, 3, 3)).tolist()}, (2, 8, 8), 72),
    ({"type": "conv2d", "weight": np.zeros((4, 2, 3, 3)).tolist(), "bias": [0, 1, 2, 3]}, (2, 8, 8), 76),
    ({"type": "conv2d", "weight": np.zeros((4, 1, 3, 5)).tolist(), "groups": 2, "bias": [0] * 4},
     (2, 8, 8), 64),
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist()}, (3, 8, 8), 9),         # shared: once
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "bias": 0.5}, (3, 8, 8), 10),
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "bias": [1, 2, 3]}, (3, 8, 8), 12),
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "scale": 0.1}, (1, 8, 8), 9),
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "enabled": False}, (3, 8, 8), 0),
    ({"type": "maxpool2d", "kernel_size": 2}, (3, 8, 8), 0),
    ({"type": "avgpool2d", "kernel_size": 2}, (3, 8, 8), 0),
    ({"type": "pad", "padding": 1}, (3, 8, 8), 0),
    ({"type": "stride"}, (3, 8, 8), 0),
    ({"type": "relu"}, (3, 8, 8), 0),
    ({"type": "leaky_relu"}, (3, 8, 8), 0),
])
def test_params(d, in_shape, expected):
    assert layer_from_dict(d).params(in_shape) == expected


def test_every_layer_type_is_covered():
    assert set(LAYER_TYPES) == {"conv2d", "maxpool2d", "avgpool2d", "pad", "stride", "relu",
                                "leaky_relu", "abs", "sigmoid", "tanh", "conv_transpose2d", "upsample"}
