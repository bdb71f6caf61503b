"""Receptive fields of AlexNet, VGG16 and ResNet-50 against a published table.

Source of every number below: the receptive-field table of Araujo, Norris & Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019 (doi:10.23915/distill.00021),
as published with their library: github.com/google-research/receptive_field,
receptive_field/RECEPTIVE_FIELD_TABLE.md, rows "alexnet_v2", "vgg_16" and "resnet_v1_50" at
resolution 224 (RF = size, effective stride = jump, effective padding = -start). The networks are
the TF-Slim models; only their layer geometry is rebuilt here, with 1-channel dummy kernels:

* alexnet_v2: conv1 11x11 stride 4 VALID, pool1 3x3 s2 VALID, conv2 5x5 SAME, pool2 3x3 s2,
  conv3..conv5 3x3 SAME, pool5 3x3 s2.
* vgg_16: blocks of 2, 2, 3, 3, 3 3x3 SAME convs, each block followed by a 2x2 s2 max pool.
* resnet_v1_50: conv1 7x7 stride 2 (conv2d_same: 3 rows of padding on each side), pool1 3x3 s2
  SAME, which at 112 x 112 pads 0 on top and 1 at the bottom (TensorFlow puts the odd row at the
  bottom); then bottleneck units 1x1, 3x3, 1x1 (3 + 4 + 6 + 3 of them), the stride 2 in the 3x3
  conv of the *last* unit of blocks 1-3. The receptive field is that of the longest path (through
  every 3x3 conv); the shortcuts are contained in it.
"""

from __future__ import annotations

import json

import pytest

from convstudio import cli
from convstudio.core import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}


def conv(k: int, stride: int = 1, padding=0) -> dict:
    return {"type": "conv2d", "kernel": [[1.0] * k for _ in range(k)], "stride": stride,
            "padding": padding}


def maxpool(k: int, stride: int, padding=0) -> dict:
    return {"type": "maxpool2d", "kernel_size": k, "stride": stride, "padding": padding}


def alexnet_v2():
    named = [("conv1", conv(11, 4)), ("pool1", maxpool(3, 2)), ("conv2", conv(5, 1, 2)),
             ("pool2", maxpool(3, 2)), ("conv3", conv(3, 1, 1)), ("conv4", conv(3, 1, 1)),
             ("conv5", conv(3, 1, 1)), ("pool5", maxpool(3, 2))]
    return named


def vgg_16():
    named = []
    for block, n in enumerate([2, 2, 3, 3, 3], start=1):
        for i in range(1, n + 1):
            named.append((f"conv{block}_{i}", conv(3, 1, 1)))
            named.append((f"relu{block}_{i}", {"type": "relu"}))
        named.append((f"pool{block}", maxpool(2, 2)))
    return named


def resnet_v1_50():
    named = [("conv1", conv(7, 2, 3)), ("pool1", maxpool(3, 2, [0, 1, 0, 1]))]
    for block, (units, stride) in enumerate([(3, 2), (4, 2), (6, 2), (3, 1)], start=1):
        for u in range(1, units + 1):
            s = stride if u == units else 1
            named += [(f"block{block}/unit{u}/conv1", conv(1)),
                      (f"block{block}/unit{u}/conv2", conv(3, s, 1)),
                      (f"block{block}/unit{u}/conv3", conv(1))]
        named[-1] = (f"block{block}", named[-1][1])  # 50 layers: within the limit of 64
    return named


# (RF, effective stride, effective padding) from RECEPTIVE_FIELD_TABLE.md, resolution 224
PUBLISHED = {
    "alexnet_v2": (alexnet_v2, {
        "conv1": (11, 4, 0), "pool1": (19, 8, 0), "conv2": (51, 8, 16), "conv3": (99, 16, 32),
        "conv4": (131, 16, 48), "conv5": (163, 16, 64), "pool5": (195, 32, 64)}),
    "vgg_16": (vgg_16, {
        "conv1_1": (3, 1, 1), "pool1": (6, 2, 2), "conv2_1": (10, 2, 4), "pool2": (16, 4, 6),
        "conv3_1": (24, 4, 10), "conv3_2": (32, 4, 14), "pool3": (44, 8, 18),
        "conv4_1": (60, 8, 26), "conv4_2": (76, 8, 34), "pool4": (100, 16, 42),
        "conv5_1": (132, 16, 58), "conv5_2": (164, 16, 74), "pool5": (212, 32, 90)}),
    "resnet_v1_50": (resnet_v1_50, {
        "block1": (35, 8, 15), "block2": (99, 16, 47), "block3": (291, 32, 143),
        "block4": (483, 32, 239)}),
}


@pytest.mark.parametrize("net", sorted(PUBLISHED))
def test_receptive_fields_match_the_published_table(net):
    build, table = PUBLISHED[net]
    named = build()
    p = Pipeline.from_dict({**HDR, "layers": [d for _, d in named]})
    p.output_shapes((1, 224, 224))  # the geometry fits a 224 x 224 input
    rfs = dict(zip([n for n, _ in named], p.receptive_fields()[1:]))
    for name, (size, jump, eff_pad) in table.items():
        rf = rfs[name]
        assert (rf.size, rf.jump, rf.start) == ((size, size), (jump, jump), (-eff_pad, -eff_pad)), name


@pytest.mark.parametrize("net", sorted(PUBLISHED))
def test_info_json_reports_the_published_numbers(net, tmp_path, capsys):
    build, table = PUBLISHED[net]
    named = build()
    path = tmp_path / f"{net}.json"
    path.write_text(json.dumps({**HDR, "layers": [d for _, d in named]}), encoding="utf-8")
    assert cli.main(["info", str(path), "--input-shape", "1,224,224", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    by_name = {name: entry for (name, _), entry in zip(named, info["layers"])}
    for name, (size, jump, eff_pad) in table.items():
        e = by_name[name]
        assert e["receptive_field"] == [size, size], name
        assert e["jump"] == [jump, jump], name
        assert e["start"] == [-eff_pad, -eff_pad], name
    # the last feature map of each at 224 x 224 (TF-Slim: AlexNet 5, VGG16 and ResNet-50 7)
    last = {"alexnet_v2": 5, "vgg_16": 7, "resnet_v1_50": 7}[net]
    assert info["layers"][-1]["output_shape"] == [1, last, last]
