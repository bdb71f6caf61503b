"""The kernel learner's gradients against PyTorch autograd, where torch is installed (it is not a
dependency; tests/core/test_fit.py checks the same gradients against finite differences without
it)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_fit import stacks

from convstudio.core import (
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
from convstudio.core.fit import loss_and_gradient

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
               "replicate": "replicate", "circular": "circular"}


def pad(x, pads, mode, value=0.0):
    t, b, l, r = pads
    if not (t or b or l or r):
        return x
    if TORCH_MODES[mode] == "constant":
        return F.pad(x[None], (l, r, t, b), mode="constant", value=value)[0]
    return F.pad(x[None], (l, r, t, b), mode=TORCH_MODES[mode])[0]


def conv(layer: Conv2d, x, weight, bias):
    c = x.shape[0]
    w = weight * float(np.float32(layer.scale))
    if layer.flip:
        w = torch.flip(w, dims=(-2, -1))
    if layer.kernel is not None:
        w = w.expand(c, 1, *w.shape)
    b = None
    if bias is not None:
        b = bias.expand(c) if layer.bias_shared else bias
    xp = pad(x, layer.pads, layer.padding_mode)
    return F.conv2d(xp[None], w, b, stride=layer.stride, dilation=layer.dilation,
                    groups=layer.effective_groups(c))[0]


def torch_layer(layer, x, params=None):
    if not layer.enabled:
        return x
    if isinstance(layer, Conv2d):
        if params is None:
            stored = layer.weight if layer.weight is not None else layer.kernel
            params = (torch.tensor(stored, dtype=torch.float64),
                      None if layer.bias is None else torch.tensor(layer.bias, dtype=torch.float64))
        return conv(layer, x, *params)
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        t, b, l, r = layer.pads
        assert t == b and l == r, "the random stacks pad pooling symmetrically"
        if isinstance(layer, MaxPool2d):
            return F.max_pool2d(x[None], layer.kernel_size, layer.strides, (t, l),
                                dilation=layer.dilation_pair, ceil_mode=layer.ceil_mode)[0]
        return F.avg_pool2d(x[None], layer.kernel_size, layer.strides, (t, l),
                            ceil_mode=layer.ceil_mode, count_include_pad=layer.count_include_pad)[0]
    if isinstance(layer, Pad):
        return pad(x, layer.pads, layer.mode, layer.value)
    if isinstance(layer, Stride):
        return x[:, layer.offset[0]::layer.stride[0], layer.offset[1]::layer.stride[1]]
    if isinstance(layer, LeakyReLU):
        return F.leaky_relu(x, layer.negative_slope)
    return {ReLU: torch.relu, Abs: torch.abs, Sigmoid: torch.sigmoid, Tanh: torch.tanh}[type(layer)](x)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_gradient_equals_torch_autograd(case):
    p, x, target, index = case
    layer = p.layers[index - 1]
    stored = layer.weight if layer.weight is not None else layer.kernel
    w = torch.tensor(stored, dtype=torch.float64, requires_grad=True)
    b = None if layer.bias is None else torch.tensor(layer.bias, dtype=torch.float64,
                                                      requires_grad=True)
    cur = torch.tensor(x, dtype=torch.float64)
    outputs = []
    for i, lyr in enumerate(p.layers, start=1):
        cur = torch_layer(lyr, cur, (w, b) if i == index else None)
        outputs.append(cur)
    loss = torch.mean((cur - torch.tensor(target, dtype=torch.float64)) ** 2)
    loss.backward()
    grad = loss_and_gradient(p, x.astype(np.float64), target, index,
                             outputs=[o.detach().numpy() for o in outputs])
    assert grad.loss == pytest.approx(loss.item(), rel=1e-12)
    scale = float(np.abs(w.grad.numpy()).max()) + 1e-300
    np.testing.assert_allclose(grad.weight, w.grad.numpy(), rtol=1e-9, atol=1e-12 * scale)
    if b is not None:
        np.testing.assert_allclose(grad.bias, b.grad.numpy(), rtol=1e-9,
                                   atol=1e-12 * (float(np.abs(b.grad.numpy()).max()) + 1e-300))
