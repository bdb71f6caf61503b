"""The OpenCV reference (crosscheck.py): hand cases against plain loops, agreement with the core on
every layer type and option, and that a broken core is caught, row by row."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convstudio.core import PipelineError, RunCancelled, ops
from convstudio.core.crosscheck import (
    DEFAULT_TOLERANCE,
    LayerCheck,
    crosscheck,
    reference_forward,
)
from convstudio.core.layers import (
    Abs,
    AvgPool2d,
    Conv2d,
    LeakyReLU,
    MaxPool2d,
    Pad,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
)
from convstudio.core.pipeline import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}


def pipe(*layers: dict) -> Pipeline:
    return Pipeline.from_dict({**HDR, "layers": list(layers)})


# ------------------------------------------------------------------------------------------------
# Plain-loop definitions, straight from docs/semantics.md (slow, tiny inputs only)


def loop_pad(x, pads, mode="zeros", value=0.0):
    t, b, l, r = pads
    np_mode = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
               "replicate": "edge", "circular": "wrap"}[mode]
    widths = ((0, 0), (t, b), (l, r))
    if np_mode == "constant":
        fill = value if mode == "constant" else 0.0
        return np.pad(x.astype(np.float64), widths, constant_values=fill)
    return np.pad(x.astype(np.float64), widths, mode=np_mode)


def loop_conv(x, weight, *, bias=None, stride=(1, 1), dilation=(1, 1), groups=1, pads=(0, 0, 0, 0),
              mode="zeros"):
    xp = loop_pad(x, pads, mode)
    cout, cin_g, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (xp.shape[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[2] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((cout, ho, wo))
    for o in range(cout):
        g = o // (cout // groups)
        for i in range(ho):
            for j in range(wo):
                s = 0.0 if bias is None else float(bias[o])
                for c in range(cin_g):
                    for a in range(kh):
                        for b in range(kw):
                            v = xp[g * cin_g + c, i * sh + a * dh, j * sw + b * dw]
                            s += weight[o, c, a, b] * v
                out[o, i, j] = s
    return out


def loop_pool(x, k, stride, pads, *, kind, dilation=(1, 1), ceil_mode=False, include_pad=True):
    """PyTorch's max_pool2d / avg_pool2d written out window by window."""
    c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = k, stride, dilation
    t, b, l, r = pads

    def out_len(n, k, s, pb, pa, d):
        span = n + pb + pa - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + pb:
            o -= 1
        return o

    ho, wo = out_len(h, kh, sh, t, b, dh), out_len(w, kw, sw, l, r, dw)
    out = np.zeros((c, ho, wo))
    for ch in range(c):
        for i in range(ho):
            for j in range(wo):
                r0, c0 = i * sh - t, j * sw - l
                if kind == "max":
                    vals = [x[ch, r0 + a * dh, c0 + bb * dw] for a in range(kh) for bb in range(kw)
                            if 0 <= r0 + a * dh < h and 0 <= c0 + bb * dw < w]
                    out[ch, i, j] = max(vals)
                else:
                    r1, c1 = min(r0 + kh, h + b), min(c0 + kw, w + r)
                    size = (r1 - r0) * (c1 - c0)
                    ra, rb, ca, cb = max(r0, 0), min(r1, h), max(c0, 0), min(c1, w)
                    total = float(x[ch, ra:rb, ca:cb].astype(np.float64).sum())
                    out[ch, i, j] = total / (size if include_pad else (rb - ra) * (cb - ca))
    return out


# ------------------------------------------------------------------------------------------------
# reference_forward: hand cases


def test_tutorial_example():
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    layer = Conv2d(weight=[[[[0, 1], [2, 3]]]])
    out = reference_forward(layer, x)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    np.testing.assert_array_equal(out[0], [[19, 25], [37, 43]])


def test_conv_hand_cases_match_plain_loops():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 7, 9)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    for pads, mode in (((1, 0, 2, 1), "reflect"), ((2, 2, 1, 1), "circular"),
                       ((0, 3, 0, 0), "replicate"), ((1, 1, 1, 1), "zeros")):
        layer = Conv2d(weight=w, bias=b, groups=2, stride=(2, 1), dilation=(1, 2),
                       padding=pads, padding_mode=mode)
        expect = loop_conv(x, w, bias=b, stride=(2, 1), dilation=(1, 2), groups=2, pads=pads,
                           mode=mode)
        np.testing.assert_allclose(reference_forward(layer, x), expect, rtol=1e-5, atol=1e-5)


def test_conv_flip_scale_and_kernel_form():
    rng = np.random.default_rng(2)
    x = rng.random((3, 6, 5)).astype(np.float32)
    k = np.array([[1, 2, 0], [0, -1, 4]], dtype=np.float32)
    layer = Conv2d(kernel=k, flip=True, scale=0.5, bias=[0.25], bias_shared=True, padding="same")
    # true convolution: correlate with the kernel rotated by 180 degrees, weights scaled, bias not
    w = np.broadcast_to(k[::-1, ::-1] * 0.5, (3, 1, 2, 3))
    pads = (1, 0, 1, 1)  # "same" for 2 x 3: ceil(1/2) top, floor bottom; 1 left, 1 right
    assert layer.pads == pads
    expect = loop_conv(x, np.array(w), bias=[0.25] * 3, groups=3, pads=pads)
    np.testing.assert_allclose(reference_forward(layer, x), expect, rtol=1e-6, atol=1e-6)


def test_maxpool_hand_case():
    x = np.array([[1, 5, 2, 0],
                  [3, 4, 8, 1],
                  [0, 2, 6, 7],
                  [9, 1, 3, 2]], dtype=np.float32)
    out = reference_forward(MaxPool2d(kernel_size=(2, 2)), x)
    np.testing.assert_array_equal(out[0], [[5, 8], [9, 7]])
    # padding never wins, even over negative values
    neg = -1 - x
    out = reference_forward(MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=1), neg)
    np.testing.assert_array_equal(out[0], loop_pool(neg[None], (3, 3), (2, 2), (1, 1, 1, 1),
                                                    kind="max")[0])
    assert np.all(out > -np.inf)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_maxpool_options_match_loops(ceil_mode, dilation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 8)).astype(np.float32)
    layer = MaxPool2d(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0, 1, 1), dilation=dilation,
                      ceil_mode=ceil_mode)
    expect = loop_pool(x, (3, 2), (2, 3), (1, 0, 1, 1), kind="max", dilation=dilation,
                       ceil_mode=ceil_mode)
    np.testing.assert_array_equal(reference_forward(layer, x), expect.astype(np.float32))


def test_avgpool_with_padding_hand_case():
    x = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    # 2 x 2 windows, stride 2, pad 1: the top-left window holds only x[0,0] = 1
    inc = reference_forward(AvgPool2d(kernel_size=(2, 2), padding=1), x)
    exc = reference_forward(AvgPool2d(kernel_size=(2, 2), padding=1, count_include_pad=False), x)
    np.testing.assert_allclose(inc[0], [[1 / 4, (2 + 3) / 4], [(4 + 7) / 4, (5 + 6 + 8 + 9) / 4]])
    np.testing.assert_allclose(exc[0], [[1, 2.5], [5.5, 7]])


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("include", [False, True])
def test_avgpool_options_match_loops(ceil_mode, include):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 7)).astype(np.float32)
    for k, s, pads in (((3, 3), (2, 2), (1, 1, 1, 1)), ((2, 3), (3, 2), (1, 0, 0, 1)),
                       ((4, 4), (3, 3), (2, 1, 2, 1))):
        layer = AvgPool2d(kernel_size=k, stride=s, padding=pads, ceil_mode=ceil_mode,
                          count_include_pad=include)
        expect = loop_pool(x, k, s, pads, kind="avg", ceil_mode=ceil_mode, include_pad=include)
        np.testing.assert_allclose(reference_forward(layer, x), expect, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode, row", [
    ("reflect", [3, 2, 1, 2, 3, 2, 1]),
    ("replicate", [1, 1, 1, 2, 3, 3, 3]),
    ("circular", [2, 3, 1, 2, 3, 1, 2]),
    ("zeros", [0, 0, 1, 2, 3, 0, 0]),
    ("constant", [-0.5, -0.5, 1, 2, 3, -0.5, -0.5]),
])
def test_pad_modes(mode, row):
    x = np.array([[1, 2, 3]], dtype=np.float32)
    out = reference_forward(Pad(padding=(0, 0, 2, 2), mode=mode, value=-0.5), x)
    np.testing.assert_array_equal(out[0, 0], row)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_pad_larger_than_the_image(mode):
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    pads = (5, 7, 8, 4)
    out = reference_forward(Pad(padding=pads, mode=mode, value=2.5), x)
    np.testing.assert_array_equal(out, loop_pad(x, pads, mode, 2.5))


def test_stride_layer():
    x = np.arange(35, dtype=np.float32).reshape(5, 7)
    out = reference_forward(Stride(stride=(2, 3), offset=(1, 2)), x)
    np.testing.assert_array_equal(out[0], x[1::2, 2::3])


def test_elementwise_layers_and_extremes():
    x = np.array([[-1e4, -100, -20, -1.5, -1e-8, 0, 1e-8, 0.5, 20, 100, 1e4]], dtype=np.float32)
    xd = x.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = {layer.type: reference_forward(layer, x)[0, 0] for layer in
               (ReLU(), LeakyReLU(negative_slope=0.1), Abs(), Sigmoid(), Tanh())}
    for v in got.values():
        assert np.all(np.isfinite(v))
    np.testing.assert_array_equal(got["relu"], np.maximum(x[0], 0))
    np.testing.assert_allclose(got["leaky_relu"], np.where(xd >= 0, xd, 0.1 * xd)[0], rtol=1e-7)
    np.testing.assert_array_equal(got["abs"], np.abs(x[0]))
    sig = [1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in xd[0]]
    np.testing.assert_allclose(got["sigmoid"], sig, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(got["tanh"], [math.tanh(v) for v in xd[0]], rtol=1e-6, atol=1e-12)


def test_disabled_layer_passes_through():
    x = np.random.default_rng(5).random((2, 4, 4)).astype(np.float32)
    for layer in (Conv2d(kernel=[[1, 2], [3, 4]], enabled=False),
                  MaxPool2d(kernel_size=(2, 2), enabled=False), Sigmoid(enabled=False)):
        np.testing.assert_array_equal(reference_forward(layer, x), x)


def test_reference_forward_refuses_a_misfit():
    with pytest.raises(PipelineError):
        reference_forward(Conv2d(kernel=np.ones((5, 5))), np.zeros((3, 3), np.float32))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_conv_reference_matches_loops_randomly(data):
    groups = data.draw(st.sampled_from([1, 2]))
    cin_g = data.draw(st.integers(1, 2))
    cout = groups * data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dh, dw = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    pads = tuple(data.draw(st.integers(0, 3)) for _ in range(4))
    mode = data.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    h = data.draw(st.integers(max(1, dh * (kh - 1) + 1 - pads[0] - pads[1]), 8))
    w = data.draw(st.integers(max(1, dw * (kw - 1) + 1 - pads[2] - pads[3]), 8))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((groups * cin_g, h, w)).astype(np.float32)
    weight = rng.standard_normal((cout, cin_g, kh, kw)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    layer = Conv2d(weight=weight, bias=bias, groups=groups, stride=(sh, sw), dilation=(dh, dw),
                   padding=pads, padding_mode=mode)
    expect = loop_conv(x, weight, bias=bias, stride=(sh, sw), dilation=(dh, dw), groups=groups,
                       pads=pads, mode=mode)
    np.testing.assert_allclose(reference_forward(layer, x), expect, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# crosscheck: the core agrees with the reference everywhere


def _rand(rng, *shape):
    return rng.standard_normal(shape).round(3).tolist()


def _pipelines():
    rng = np.random.default_rng(6)
    modes = ["zeros", "reflect", "replicate", "circular"]
    yield "padding modes, odd and even kernels", pipe(*[
        {"type": "conv2d", "kernel": _rand(rng, kh, kw), "padding": "same", "padding_mode": m}
        for m in modes for kh, kw in ((3, 3), (2, 4))])
    yield "stride, dilation, groups, flip, scale, bias", pipe(
        {"type": "conv2d", "weight": _rand(rng, 6, 3, 3, 3), "bias": _rand(rng, 6), "stride": 2,
         "padding": [1, 2], "padding_mode": "reflect", "dilation": [2, 1]},
        {"type": "conv2d", "weight": _rand(rng, 4, 3, 2, 3), "groups": 2, "flip": True,
         "scale": 0.25, "padding": [0, 1, 2, 1], "padding_mode": "circular", "stride": [1, 2]},
        {"type": "conv2d", "weight": _rand(rng, 4, 1, 3, 3), "groups": 4, "dilation": 3,
         "padding": "same", "padding_mode": "replicate", "bias": _rand(rng, 4)},
        {"type": "conv2d", "kernel": _rand(rng, 5, 5), "bias": 0.5, "flip": True, "scale": 0.04},
    )
    yield "pooling", pipe(
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "avgpool2d", "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 1],
         "ceil_mode": True, "count_include_pad": False},
        {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "maxpool2d", "kernel_size": [2, 3], "dilation": [2, 1], "stride": 1,
         "padding": [1, 1]},
        {"type": "avgpool2d", "kernel_size": 2},
        {"type": "maxpool2d", "kernel_size": 2, "padding": "same"},
    )
    yield "pad, stride and element-wise layers", pipe(
        {"type": "conv2d", "kernel": [[4.0]]},
        {"type": "pad", "padding": [1, 0, 2, 2], "mode": "constant", "value": 0.5},
        *[{"type": "pad", "padding": 2, "mode": m} for m in modes],
        {"type": "stride", "stride": [2, 3], "offset": [1, 2]},
        {"type": "relu"}, {"type": "conv2d", "kernel": [[-1.0]]},
        {"type": "leaky_relu", "negative_slope": 0.2}, {"type": "abs"},
        {"type": "conv2d", "kernel": [[-3.0]]}, {"type": "tanh"},
        {"type": "conv2d", "kernel": [[-4.0]]}, {"type": "sigmoid"},
        {"type": "relu", "enabled": False},
    )
    yield "disabled layers", pipe(
        {"type": "conv2d", "kernel": [[1, 2], [3, 4]], "enabled": False},
        {"type": "maxpool2d", "kernel_size": 2, "enabled": False},
        {"type": "stride", "stride": 2, "enabled": False},
    )


PIPELINES = list(_pipelines())


@pytest.mark.parametrize("name, p", PIPELINES, ids=[n for n, _ in PIPELINES])
def test_core_agrees_with_reference(name, p):
    x = np.random.default_rng(7).random((3, 23, 26)).astype(np.float32)
    checks = crosscheck(p, x, keep_reference=True)
    assert [c.index for c in checks] == list(range(1, len(p.layers) + 1))
    assert [c.type for c in checks] == [layer.type for layer in p.layers]
    for c, layer in zip(checks, p.layers):
        assert c.passed, (name, c)
        assert c.max_abs_diff <= DEFAULT_TOLERANCE * c.scale
        assert c.tolerance == DEFAULT_TOLERANCE
        assert c.reference is not None and c.reference.dtype == np.float32
        assert c.core_time_s >= 0 and c.reference_time_s >= 0
        if layer.type in ("maxpool2d", "pad", "stride", "relu", "abs") or not layer.enabled:
            assert c.max_abs_diff == 0.0, (name, c)  # exact operations agree exactly


def test_large_kernel():
    rng = np.random.default_rng(8)
    x = rng.random((2, 64, 64)).astype(np.float32)
    k = rng.random((31, 31))
    p = pipe({"type": "conv2d", "kernel": k.tolist(), "scale": float(1 / k.sum()),
              "padding": "same", "padding_mode": "reflect"},
             {"type": "conv2d", "weight": _rand(rng, 2, 2, 31, 31), "padding": 15,
              "padding_mode": "circular", "stride": 2})
    checks = crosscheck(p, x)
    assert all(c.passed for c in checks), checks
    # a normalised blur of [0, 1] data: scale 1, so the plain absolute difference is tiny
    assert checks[0].scale == 1.0 and checks[0].max_abs_diff < 1e-5


def test_input_forms_and_json():
    p = pipe({"type": "conv2d", "kernel": [[0, 1], [2, 3]]}, {"type": "relu"})
    x = np.arange(9, dtype=np.float64).reshape(3, 3)  # (H, W), not float32
    checks = crosscheck(p, x)
    assert all(isinstance(c, LayerCheck) for c in checks)
    assert [c.max_abs_diff for c in checks] == [0.0, 0.0]
    js = [c.to_json() for c in checks]
    assert js == [{"index": 1, "type": "conv2d", "max_abs_diff": 0.0, "passed": True},
                  {"index": 2, "type": "relu", "max_abs_diff": 0.0, "passed": True}]
    json.dumps(js, allow_nan=False)
    assert all(c.reference is None for c in checks)


def test_misfit_raises_before_any_work(monkeypatch):
    calls = []
    monkeypatch.setattr(ops, "correlate", lambda *a, **k: calls.append(1))
    p = pipe({"type": "conv2d", "kernel": [[1.0]]},
             {"type": "conv2d", "kernel": np.ones((9, 9)).tolist()})
    with pytest.raises(PipelineError) as err:
        crosscheck(p, np.zeros((1, 5, 5), np.float32))
    assert err.value.layer == 2
    assert calls == []


def test_cancelled():
    p = pipe({"type": "relu"}, {"type": "abs"})
    with pytest.raises(RunCancelled):
        crosscheck(p, np.zeros((4, 4), np.float32), cancelled=lambda: True)


def test_given_outputs_are_checked_not_recomputed():
    p = pipe({"type": "conv2d", "kernel": [[1, 2], [3, 4]]}, {"type": "relu"}, {"type": "abs"})
    x = np.random.default_rng(9).standard_normal((2, 6, 6)).astype(np.float32)
    outs = p.run(x)
    bad = [outs[0], outs[1] + np.float32(0.5)]  # a prefix; the last layer is computed here
    checks = crosscheck(p, x, outputs=bad)
    assert [c.passed for c in checks] == [True, False, True]
    assert math.isnan(checks[0].core_time_s) and math.isnan(checks[1].core_time_s)
    assert checks[2].core_time_s >= 0
    assert checks[1].max_abs_diff == pytest.approx(0.5)
    with pytest.raises(ValueError):
        crosscheck(p, x, outputs=[outs[0][:, :-1]])
    with pytest.raises(ValueError):
        crosscheck(p, x, outputs=outs + [outs[-1]])


def test_tolerance_argument():
    p = pipe({"type": "sigmoid"})
    x = np.linspace(-5, 5, 30, dtype=np.float32).reshape(5, 6)
    (c,) = crosscheck(p, x, tolerance=0.0)
    assert c.passed == (c.max_abs_diff == 0.0)
    with pytest.raises(ValueError):
        crosscheck(p, x, tolerance=-1)
    with pytest.raises(ValueError):
        crosscheck(p, x, tolerance=float("nan"))


# ------------------------------------------------------------------------------------------------
# A broken core is caught, and only at the broken layer


def _broken_pipeline():
    return pipe(
        {"type": "conv2d", "weight": np.full((2, 1, 3, 3), 1 / 9).tolist(), "padding": 1},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "relu"},
        {"type": "conv2d", "kernel": [[0, 1], [1, 0]], "padding": "same",
         "padding_mode": "reflect"},
        {"type": "avgpool2d", "kernel_size": 2},
    )


def test_broken_correlate_fails_the_conv_rows_only(monkeypatch):
    real, real_padded = ops.correlate, ops.pad_correlate
    monkeypatch.setattr(ops, "correlate", lambda *a, **k: real(*a, **k) + np.float32(1e-2))
    # Conv2d pads and correlates in one call (a depthwise layer never builds the padded copy)
    monkeypatch.setattr(ops, "pad_correlate", lambda *a, **k: real_padded(*a, **k) + np.float32(1e-2))
    x = np.random.default_rng(10).random((1, 16, 16)).astype(np.float32)
    checks = crosscheck(_broken_pipeline(), x)
    assert [c.passed for c in checks] == [False, True, True, False, True]
    for c in (checks[0], checks[3]):
        assert c.max_abs_diff == pytest.approx(1e-2, rel=1e-3)


def test_broken_layer_forward_fails_that_row_only(monkeypatch):
    real = MaxPool2d._forward
    monkeypatch.setattr(MaxPool2d, "_forward", lambda self, x: real(self, x) + np.float32(1e-2))
    x = np.random.default_rng(11).random((1, 16, 16)).astype(np.float32)
    checks = crosscheck(_broken_pipeline(), x)
    assert [c.passed for c in checks] == [True, False, True, True, True]
    assert checks[1].max_abs_diff == pytest.approx(1e-2, rel=1e-3)


def test_wrong_shape_and_non_finite_outputs_fail(monkeypatch):
    p = pipe({"type": "relu"}, {"type": "abs"})
    x = np.array([[np.inf, -np.inf, 1.0], [2.0, np.nan, -3.0]], dtype=np.float32)
    checks = crosscheck(p, x)
    # equal infinities agree; the reference's NaN handling may differ from the core's
    assert checks[1].passed and checks[1].max_abs_diff == 0.0
    monkeypatch.setattr(Abs, "_forward", lambda self, x: np.abs(x)[:, :-1])
    checks = crosscheck(p, np.ones((3, 3), np.float32))
    assert not checks[1].passed and checks[1].max_abs_diff == math.inf
    assert "shape" in checks[1].note
    assert checks[1].to_json()["max_abs_diff"] is None
