"""The one rule for writing a layer's channels: an image while every layer so far acts on each
channel alone, feature maps after a conv with a `weight` (convstudio.core.channels)."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.core import (
    Abs,
    AvgPool2d,
    Conv2d,
    ImageIOError,
    LeakyReLU,
    MaxPool2d,
    Pad,
    Pipeline,
    PipelineError,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
    load_image,
    save_image,
)
from convstudio.core.channels import (
    auto_normalize,
    output_is_image,
    output_paths,
    save_output,
    split_channels,
)

K3 = np.ones((3, 3), np.float32) / 9
MIX = np.random.default_rng(0).uniform(-1, 1, (4, 3, 1, 1)).astype(np.float32)


def test_per_channel_layers_keep_an_image():
    p = Pipeline((Conv2d(kernel=K3, padding=1), MaxPool2d(kernel_size=2), AvgPool2d(kernel_size=2),
                  Pad(padding=1), Stride(stride=2), ReLU(), LeakyReLU(), Abs(), Sigmoid(), Tanh()))
    assert all(output_is_image(p, i) for i in range(len(p) + 1))


def test_a_weight_conv_makes_feature_maps_from_there_on():
    p = Pipeline((Conv2d(kernel=K3), Conv2d(weight=MIX), ReLU(), Conv2d(kernel=K3)))
    assert [output_is_image(p, i) for i in range(5)] == [True, True, False, False, False]
    # even one that keeps the count and does not mix (depthwise): its weights are learned maps
    depthwise = Pipeline((Conv2d(weight=np.ones((3, 1, 3, 3), np.float32), groups=3),))
    assert not output_is_image(depthwise, 1)
    # a disabled layer passes its input through
    off = Pipeline((Conv2d(weight=MIX, enabled=False), ReLU()))
    assert output_is_image(off, 2)
    assert output_is_image(list(p.layers), 1)  # a plain list of layers too
    with pytest.raises(PipelineError):
        output_is_image(p, 5)


def test_split_and_normalize_choices():
    p = Pipeline((Conv2d(kernel=K3), Conv2d(weight=MIX), ReLU()))
    assert (split_channels(p, 1), split_channels(p, 1, "split"), split_channels(p, 2)) == \
        (False, True, True)
    with pytest.raises(ValueError):
        split_channels(p, 1, "rgb")
    signed = np.array([[[-1.0, 2.0]]], np.float32)
    assert auto_normalize(p, 1, signed) == "clip"  # an image: clip, as always
    assert auto_normalize(p, 2, signed) == "signed"
    assert auto_normalize(p, 3, np.abs(signed)) == "clip"


def test_output_paths_and_save_output(tmp_path):
    assert output_paths(tmp_path / "a.png", 3, split=False) == [tmp_path / "a.png"]
    assert output_paths(tmp_path / "a.png", 1, split=True) == [tmp_path / "a.png"]
    assert output_paths(tmp_path / "a.npy", 4, split=True) == [tmp_path / "a.npy"]
    assert output_paths(tmp_path / "a.png", 4, split=True) == \
        [tmp_path / f"a_c{c:02d}.png" for c in range(4)]
    assert output_paths(tmp_path / "a.png", 5, split=False)[-1] == tmp_path / "a_c04.png"
    y = np.random.default_rng(1).uniform(-1, 1, (4, 6, 7)).astype(np.float32)
    for depth in (8, 16):
        got = save_output(tmp_path / f"d{depth}.png", y, split=True, normalize="signed",
                          depth=depth)
        # the same samples as the core writes for the whole array, channel by channel
        ref = save_image(tmp_path / f"ref{depth}.png",
                         np.concatenate([y, y[:1]]), normalize="signed", depth=depth)
        assert [a.read_bytes() for a in got] == [b.read_bytes() for b in ref[:4]]
    got = save_output(tmp_path / "t.tif", y, split=True)
    for c, f in enumerate(got):
        np.testing.assert_array_equal(load_image(f), y[c:c + 1])
    with pytest.raises(ImageIOError):
        save_output(tmp_path / "j.jpg", y, split=True, depth=16)
    assert not list(tmp_path.glob("j*"))
