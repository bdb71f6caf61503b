"""Layers built in Python are held to the same rules as layers read from JSON."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.core import AvgPool2d, Conv2d, LeakyReLU, MaxPool2d, Pad, PipelineError, Stride

K3 = np.ones((3, 3), np.float32)


def test_int_sizes_become_pairs():
    c = Conv2d(kernel=K3, stride=2, dilation=3)
    assert c.stride == (2, 2) and c.dilation == (3, 3)
    assert MaxPool2d(kernel_size=3, stride=1, dilation=2).kernel_size == (3, 3)
    assert AvgPool2d(kernel_size=[2, 4]).kernel_size == (2, 4)
    assert Stride(stride=3, offset=1).offset == (1, 1)
    assert Conv2d(kernel=K3, padding=[1, 2]).pads == (1, 1, 2, 2)


@pytest.mark.parametrize("make, key", [
    (lambda: Conv2d(kernel=K3, stride=0), "stride"),
    (lambda: Conv2d(kernel=K3, dilation=(1, 0)), "dilation"),
    (lambda: Conv2d(kernel=K3, padding=-1), "padding"),
    (lambda: Conv2d(kernel=K3, padding="full"), "padding"),
    (lambda: Conv2d(kernel=K3, padding_mode="mirror"), "padding_mode"),
    (lambda: Conv2d(kernel=K3, scale=float("nan")), "scale"),
    (lambda: Conv2d(weight=np.ones((3, 1, 3, 3), np.float32), groups=2), "groups"),
    (lambda: MaxPool2d(kernel_size=0), "kernel_size"),
    (lambda: AvgPool2d(kernel_size=2, stride=(1, 0)), "stride"),
    (lambda: Pad(padding="same"), "padding"),
    (lambda: Pad(padding=1, mode="wrap"), "mode"),
    (lambda: Stride(stride=2, offset=2), "offset"),
    (lambda: LeakyReLU(negative_slope=float("inf")), "negative_slope"),
])
def test_bad_python_layers_are_refused(make, key):
    with pytest.raises(PipelineError) as info:
        make()
    assert info.value.key == key


def test_equality_is_by_value_and_cached():
    a = Conv2d(kernel=K3, stride=2)
    b = Conv2d(kernel=K3.copy(), stride=(2, 2))
    assert a == b and hash(a) == hash(b)
    assert a != Conv2d(kernel=K3 * 2, stride=2)
    assert a._key() is a._key()  # computed once: layers are immutable


# ------------------------------------------------------------------ kernel form, one bias number


@pytest.mark.parametrize("bias", [[0.1], 0.1])
def test_kernel_form_one_bias_number_applies_to_every_channel(bias):
    from convstudio.core import Pipeline

    doc = {"format": "convstudio-pipeline", "version": 1,
           "layers": [{"type": "conv2d", "kernel": [[1.0]], "bias": bias}]}
    p = Pipeline.from_dict(doc)
    x = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    assert p.output_shapes(x.shape)[-1] == (3, 4, 5)
    (y,) = p.run(x)
    # a 1x1 identity kernel: every channel gains exactly the float32 bias
    np.testing.assert_array_equal(y, x + np.float32(0.1))
    assert p.info((3, 4, 5))["layers"][0]["params"] == 2  # the kernel and the bias count once
    # saving keeps the form the file used: a list stays a list, a number a number
    assert Pipeline.from_dict(p.to_dict()).to_dict()["layers"][0]["bias"] == \
        p.to_dict()["layers"][0]["bias"]
    assert p.to_dict()["layers"][0]["bias"] == ([np.float32(0.1).item()] if isinstance(bias, list)
                                                else np.float32(0.1).item())


def test_kernel_form_one_bias_number_from_python():
    layer = Conv2d(kernel=K3, bias=[0.5])
    x = np.zeros((3, 5, 5), np.float32)
    np.testing.assert_array_equal(layer.forward(x), np.full((3, 3, 3), 0.5, np.float32))
    assert layer.to_dict()["bias"] == [0.5]


def test_kernel_form_bias_per_channel_must_match():
    from convstudio.core import Pipeline

    p = Pipeline([Conv2d(kernel=K3, bias=[0.1, 0.2])])
    with pytest.raises(PipelineError) as info:
        p.output_shapes((3, 5, 5))
    assert info.value.key == "bias"
