"""Learning a kernel (convstudio.core.fit): exact gradients, gradient descent, its errors.

The gradients are checked against central finite differences of an independent float64 forward
pass (tests/core/reference.py, explicit loops written from docs/semantics.md) on random small
stacks that put every layer type after the learned conv layer; the PyTorch check is in
test_fit_torch.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convstudio.core import (
    Abs,
    AvgPool2d,
    Conv2d,
    LeakyReLU,
    MaxPool2d,
    Pad,
    Pipeline,
    PipelineError,
    ReLU,
    RunCancelled,
    Sigmoid,
    Stride,
    Tanh,
)
from convstudio.core.fit import FitDiverged, KernelFit, fit, loss_and_gradient, mse

MODES = ("zeros", "reflect", "replicate", "circular")


# ------------------------------------------------------------------ float64 reference forward


def effective(layer: Conv2d, weight: np.ndarray, bias: np.ndarray | None, c: int):
    """The applied float64 weight and bias from stored numbers, per docs/pipeline-format.md."""
    w = np.asarray(weight, np.float64) * float(np.float32(layer.scale))
    if layer.flip:
        w = w[..., ::-1, ::-1]
    if layer.kernel is not None:
        w = np.broadcast_to(w, (c, 1) + w.shape)
    b = None
    if bias is not None:
        b = np.full(c, bias[0]) if layer.bias_shared else np.asarray(bias, np.float64)
    return w, b


def ref_layer(layer, x, params=None):
    if not layer.enabled:
        return x
    c = x.shape[0]
    if isinstance(layer, Conv2d):
        stored = layer.weight if layer.weight is not None else layer.kernel
        weight, bias = params if params is not None else (stored, layer.bias)
        w, b = effective(layer, weight, bias, c)
        return ref.conv2d(x, w, b, stride=layer.stride, pads=layer.pads, dilation=layer.dilation,
                          groups=layer.effective_groups(c), mode=layer.padding_mode)
    if isinstance(layer, MaxPool2d):
        return ref.max_pool(x, layer.kernel_size, stride=layer.strides, pads=layer.pads,
                            dilation=layer.dilation_pair, ceil_mode=layer.ceil_mode)
    if isinstance(layer, AvgPool2d):
        return ref.avg_pool(x, layer.kernel_size, stride=layer.strides, pads=layer.pads,
                            ceil_mode=layer.ceil_mode, count_include_pad=layer.count_include_pad)
    if isinstance(layer, Pad):
        return ref.pad(x, layer.pads, layer.mode, layer.value)
    if isinstance(layer, Stride):
        return ref.subsample(x, layer.stride, layer.offset)
    simple = {ReLU: ref.relu, Abs: ref.absolute, Sigmoid: ref.sigmoid, Tanh: ref.tanh}
    if isinstance(layer, LeakyReLU):
        return ref.leaky_relu(x, layer.negative_slope)
    return simple[type(layer)](x)


def ref_outputs(p: Pipeline, x, index=None, params=None):
    outs, cur = [], np.asarray(x, np.float64)
    for i, layer in enumerate(p.layers, start=1):
        cur = ref_layer(layer, cur, params if i == index else None)
        outs.append(cur)
    return outs


# ------------------------------------------------------------------ random stacks


def random_layer(draw, rng, kind: str, c: int):
    modes = st.sampled_from(MODES)
    if kind == "conv":
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        kw_args = dict(stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                       dilation=(draw(st.integers(1, 2)), 1),
                       padding=draw(st.sampled_from([0, 1, "same", (1, 0, 2, 1)])),
                       padding_mode=draw(modes), scale=draw(st.sampled_from([1.0, 0.5, -2.0])),
                       flip=draw(st.booleans()))
        if draw(st.booleans()):  # kernel form: one kernel for every channel
            bias = draw(st.sampled_from(["none", "shared", "list"]))
            b = {"none": None, "shared": rng.standard_normal(1),
                 "list": rng.standard_normal(c)}[bias]
            return Conv2d(kernel=rng.standard_normal((kh, kw)), bias=b, **kw_args)
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        cout = groups * draw(st.integers(1, 2))
        b = rng.standard_normal(cout) if draw(st.booleans()) else None
        return Conv2d(weight=rng.standard_normal((cout, c // groups, kh, kw)), bias=b,
                      groups=groups, **kw_args)
    if kind in ("max", "avg"):
        k = draw(st.integers(1, 3))
        common = dict(kernel_size=(k, draw(st.integers(1, 3))), stride=draw(st.integers(1, 2)),
                      padding=draw(st.integers(0, k // 2)), ceil_mode=draw(st.booleans()))
        if kind == "max":
            return MaxPool2d(dilation=draw(st.integers(1, 2)), **common)
        return AvgPool2d(count_include_pad=draw(st.booleans()), **common)
    if kind == "pad":
        mode = draw(st.sampled_from(MODES + ("constant",)))
        return Pad(padding=(1, 0, 2, 1), mode=mode, value=0.5 if mode == "constant" else 0.0)
    if kind == "stride":
        return Stride(stride=(2, 1), offset=(draw(st.integers(0, 1)), 0))
    return {"relu": ReLU(), "leaky": LeakyReLU(negative_slope=0.1), "abs": Abs(),
            "sigmoid": Sigmoid(), "tanh": Tanh()}[kind]


KINDS = ["conv", "max", "avg", "pad", "stride", "relu", "leaky", "abs", "sigmoid", "tanh"]


@st.composite
def stacks(draw):
    """(pipeline, input, target, learned layer index): a conv layer to learn, maybe a fixed layer
    before it, and up to four later layers of any type, each kept only if it fits."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(5, 8)), draw(st.integers(5, 8))
    x = rng.uniform(-1, 1, (c, h, w)).astype(np.float32)
    layers = [Pad(padding=1, mode="reflect")] if draw(st.booleans()) else []
    shape = Pipeline(tuple(layers)).output_shapes(x.shape)[-1]
    learned = random_layer(draw, rng, "conv", shape[0])
    try:
        shape = learned.output_shape(shape)
    except PipelineError:  # too large a window for this input: a 1 x 1 kernel fits any
        learned = Conv2d(kernel=rng.standard_normal((1, 1)))
    layers.append(learned)
    index = len(layers)
    for kind in draw(st.lists(st.sampled_from(KINDS), max_size=4)):
        layer = random_layer(draw, rng, kind, shape[0])
        try:
            shape = layer.output_shape(shape)
        except PipelineError:
            continue
        layers.append(layer)
    p = Pipeline(tuple(layers))
    target = rng.standard_normal(shape).astype(np.float32)
    return p, x, target, index


def stored_params(layer: Conv2d):
    w = np.asarray(layer.weight if layer.weight is not None else layer.kernel, np.float64)
    return w, None if layer.bias is None else np.asarray(layer.bias, np.float64)


def ref_loss(p, x, target, index, weight, bias) -> float:
    y = ref_outputs(p, x, index, (weight, bias))[-1]
    return float(np.mean((y - np.asarray(target, np.float64)) ** 2))


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), st.integers(0, 2**16))
def test_gradient_matches_central_differences_through_every_layer_type(case, seed):
    p, x, target, index = case
    outputs = ref_outputs(p, x)
    grad = loss_and_gradient(p, x.astype(np.float64), target, index, outputs=outputs)
    layer = p.layers[index - 1]
    w0, b0 = stored_params(layer)
    assert grad.weight.shape == w0.shape
    assert (grad.bias is None) == (b0 is None) and (b0 is None or grad.bias.shape == b0.shape)
    assert grad.loss == pytest.approx(ref_loss(p, x, target, index, w0, b0), rel=1e-12)
    # A dilated max pool can have a window that sees only padding (its maximum is -inf): the
    # loss is then infinite, and differences of it say nothing.
    assume(np.isfinite(grad.loss))
    rng = np.random.default_rng(seed)
    eps = 1e-6
    for _ in range(2):  # directional derivatives along random directions
        vw = rng.standard_normal(w0.shape)
        vb = None if b0 is None else rng.standard_normal(b0.shape)
        plus = ref_loss(p, x, target, index, w0 + eps * vw, None if vb is None else b0 + eps * vb)
        minus = ref_loss(p, x, target, index, w0 - eps * vw, None if vb is None else b0 - eps * vb)
        numeric = (plus - minus) / (2 * eps)
        exact = float(np.sum(grad.weight * vw)) + (0.0 if vb is None else float(np.sum(grad.bias * vb)))
        # rounding of the differences: about 1e-16 * loss / eps; truncation: eps^2 * L'''
        scale = np.linalg.norm(grad.weight) * np.linalg.norm(vw) + 1e-9 * (1 + grad.loss)
        assert abs(numeric - exact) <= 1e-6 * scale + 1e-8 * (1 + grad.loss), (numeric, exact)


def test_every_coordinate_of_a_shared_bias_kernel_form_layer():
    """Coordinate by coordinate: the kernel form's one kernel and its one shared bias number
    collect the gradient of every channel."""
    rng = np.random.default_rng(3)
    conv = Conv2d(kernel=rng.standard_normal((2, 3)), bias=0.25, scale=0.5, flip=True,
                  padding="same", padding_mode="circular")
    p = Pipeline((conv, Tanh(), AvgPool2d(kernel_size=2, ceil_mode=True)))
    x = rng.uniform(-1, 1, (3, 5, 7))
    target = rng.standard_normal(p.output_shapes(x.shape)[-1])
    grad = loss_and_gradient(p, x, target, 1, outputs=ref_outputs(p, x))
    w0, b0 = stored_params(conv)
    assert b0.shape == (1,) and grad.bias.shape == (1,)
    eps = 1e-6
    for idx in np.ndindex(w0.shape):
        d = np.zeros_like(w0)
        d[idx] = eps
        num = (ref_loss(p, x, target, 1, w0 + d, b0) - ref_loss(p, x, target, 1, w0 - d, b0)) / (2 * eps)
        assert grad.weight[idx] == pytest.approx(num, rel=1e-6, abs=1e-9)
    num_b = (ref_loss(p, x, target, 1, w0, b0 + eps) - ref_loss(p, x, target, 1, w0, b0 - eps)) / (2 * eps)
    assert grad.bias[0] == pytest.approx(num_b, rel=1e-6, abs=1e-9)


def test_float32_gradient_is_within_forward_rounding_of_the_float64_one():
    rng = np.random.default_rng(5)
    p = Pipeline((Conv2d(weight=rng.standard_normal((2, 2, 3, 3)), bias=[0.1, -0.2], padding=1),
                  LeakyReLU(negative_slope=0.2), MaxPool2d(kernel_size=2)))
    x = rng.random((2, 9, 10)).astype(np.float32)
    target = rng.standard_normal(p.output_shapes(x.shape)[-1])
    g32 = loss_and_gradient(p, x, target, 1)  # the core's own float32 forward
    g64 = loss_and_gradient(p, x, target, 1, outputs=ref_outputs(p, x))
    np.testing.assert_allclose(g32.weight, g64.weight, rtol=1e-5, atol=1e-6 * np.abs(g64.weight).max())
    np.testing.assert_allclose(g32.bias, g64.bias, rtol=1e-5, atol=1e-6 * np.abs(g64.bias).max())


# ------------------------------------------------------------------ learning


def d2l_example():
    """D2L 6.2.4: X is ones with zeros in columns 2-5, Y = corr2d(X, [[1, -1]])."""
    x = np.ones((6, 8))
    x[:, 2:6] = 0
    y = ref.correlate2d_valid(x, [[1, -1]])
    return x.astype(np.float32), y


@pytest.mark.parametrize("form", ["kernel", "weight"])
def test_d2l_edge_kernel_is_learned_back(form):
    x, y = d2l_example()
    start = np.array([[0.3, 0.7]], np.float32)
    conv = Conv2d(kernel=start) if form == "kernel" else Conv2d(weight=start[None, None])
    result = fit(Pipeline((conv,)), x, y, 1)  # default steps and learning rate
    learned = result.pipeline.layers[0]
    assert (learned.kernel is not None) == (form == "kernel")  # the layer keeps its form
    k = (learned.kernel if form == "kernel" else learned.weight[0, 0]).astype(np.float64)
    # the loss is quadratic and well conditioned here: 200 steps bring the kernel to [1, -1]
    np.testing.assert_allclose(k, [[1, -1]], atol=1e-4)
    assert result.final_loss < 1e-8
    assert result.final_loss == pytest.approx(mse(result.pipeline.run(x)[-1], y), abs=1e-12)
    assert np.all(np.diff(result.losses) <= 1e-12)  # 1/lambda: monotone on a quadratic


def test_d2l_with_a_bias_and_a_fixed_learning_rate():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.3, 0.7]], bias=[0.5]),))
    result = fit(p, x, y, 1, steps=400, lr=0.2)
    learned = result.pipeline.layers[0]
    np.testing.assert_allclose(learned.kernel, [[1, -1]], atol=1e-3)
    np.testing.assert_allclose(learned.bias, [0], atol=1e-3)
    assert learned.bias_list and learned.bias_shared  # [b] stays [b]


def test_steps_follow_the_gradient_exactly():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.25, 0.5]], bias=[0.125]),))
    learner = KernelFit(p, x, y, 1, lr=0.05)
    g = learner.gradient()
    loss = learner.step()
    assert loss == g.loss
    np.testing.assert_allclose(learner.weight, [[0.25, 0.5]] - 0.05 * g.weight, rtol=1e-15)
    np.testing.assert_allclose(learner.bias, [0.125] - 0.05 * g.bias, rtol=1e-15)


def test_learned_layer_behind_fixed_layers_keeps_them():
    rng = np.random.default_rng(1)
    first = Conv2d(weight=rng.standard_normal((3, 1, 3, 3)), padding=1)
    want = Conv2d(weight=rng.standard_normal((2, 3, 2, 2)), bias=[0.2, -0.1])
    x = rng.random((1, 10, 9)).astype(np.float32)
    target = Pipeline((first, want, AvgPool2d(kernel_size=2))).run(x)[-1]
    start = Conv2d(weight=np.zeros((2, 3, 2, 2)), bias=[0.0, 0.0])
    p = Pipeline((first, start, AvgPool2d(kernel_size=2)))
    result = fit(p, x, target, 2, steps=60)
    assert result.pipeline.layers[0] is first and result.pipeline.layers[2] is p.layers[2]
    assert result.final_loss < 1e-2 * mse(p.run(x)[-1], target)


def test_learning_bias_can_be_switched_off():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.3, 0.7]], bias=[0.5]),))
    result = fit(p, x, y, 1, steps=20, learn_bias=False)
    assert result.pipeline.layers[0].bias.tolist() == [0.5]


def test_callback_sees_every_step_and_cancel_stops():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.3, 0.7]]),))
    seen = []
    result = fit(p, x, y, 1, steps=5, callback=lambda i, loss: seen.append((i, loss)))
    assert [i for i, _ in seen] == [1, 2, 3, 4, 5]
    assert [loss for _, loss in seen] == result.losses.tolist()
    calls = []
    with pytest.raises(RunCancelled):
        fit(p, x, y, 1, steps=50, lr=0.1, callback=lambda i, loss: calls.append(i),
            cancelled=lambda: len(calls) >= 3)
    assert len(calls) == 3


def test_too_large_a_learning_rate_stops_with_a_clear_error():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.3, 0.7]]),))
    with pytest.raises(FitDiverged, match="learning rate .* too large"):
        fit(p, x, y, 1, steps=500, lr=1e3)


@pytest.mark.parametrize("layers, index, message", [
    ((ReLU(), Conv2d(kernel=[[1.0]])), 1, "layer 1: is a relu layer"),
    ((Conv2d(kernel=[[1.0]]),), 2, "between 1 and 1"),
    ((Conv2d(kernel=[[1.0]]),), 0, "between 1 and 1"),
    ((Conv2d(kernel=[[1.0]], enabled=False),), 1, "layer 1: is disabled"),
    ((Conv2d(kernel=[[1.0]], scale=0.0),), 1, "scale 0"),
])
def test_what_cannot_be_learned(layers, index, message):
    x, y = d2l_example()
    with pytest.raises(PipelineError, match=message):
        fit(Pipeline(layers), x, x, index, steps=1)


def test_target_must_have_the_last_outputs_shape():
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.3, 0.7]]),))
    with pytest.raises(PipelineError, match=r"target is 1 x 6 x 8 .* last output is 1 x 6 x 7"):
        fit(p, x, x, 1)
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(PipelineError, match="NaN"):
        fit(p, x, bad, 1)


def test_momentum_steps_are_torch_sgds():
    """v <- m v + g, p <- p - lr v (torch.optim.SGD with momentum, no dampening)."""
    x, y = d2l_example()
    p = Pipeline((Conv2d(kernel=[[0.25, 0.5]]),))
    learner = KernelFit(p, x, y, 1, lr=0.05, momentum=0.5)
    g1 = learner.gradient().weight
    learner.step()
    g2 = learner.gradient().weight
    learner.step()
    v2 = 0.5 * g1 + g2
    np.testing.assert_allclose(learner.weight, [[0.25, 0.5]] - 0.05 * g1 - 0.05 * v2, rtol=1e-14)
    with pytest.raises(PipelineError, match="momentum"):
        KernelFit(p, x, y, 1, momentum=1.0)


def test_the_lesson_learns_its_kernel_in_a_few_dozen_steps():
    from convstudio.lessons import get_lesson

    lesson = get_lesson("kernels-are-learned")
    x = lesson.make_image()
    target = ref.correlate2d_valid(x[0], [[1, -1]])
    result = fit(lesson.build_pipeline(), x, target, 1, steps=50)
    np.testing.assert_allclose(result.pipeline.layers[0].kernel, [[1, -1]], atol=1e-3)
