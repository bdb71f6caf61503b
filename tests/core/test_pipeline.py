"""The Pipeline: receptive fields, the JSON file format and its errors, analysis, info(), and
incremental runs."""

from __future__ import annotations

import copy
import json
import math
import time
import tracemalloc

import numpy as np
import pytest
import reference as ref
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convstudio.core import (
    IncrementalRunner,
    MaxPool2d,
    Pipeline,
    PipelineError,
    ReLU,
    RunCancelled,
    fastpaths,
    layer_from_dict,
)
from convstudio.core.layers import Conv2d

HDR = {"format": "convstudio-pipeline", "version": 1}

# Every layer type once, most keys written out (docs/pipeline-format.md).
EVERY_TYPE_EXAMPLE = {
    "format": "convstudio-pipeline",
    "version": 1,
    "name": "optional",
    "layers": [
        {"type": "conv2d", "weight": [[[[0, 1], [2, 3]]]], "bias": [0.5], "stride": 1,
         "padding": "same", "padding_mode": "zeros", "dilation": 1, "groups": 1, "flip": False},
        {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "avgpool2d", "kernel_size": [3, 3], "stride": 2, "padding": 1,
         "ceil_mode": False, "count_include_pad": True},
        {"type": "pad", "padding": [1, 0, 2, 2], "mode": "constant", "value": 0.5},
        {"type": "stride", "stride": [2, 2], "offset": [0, 0]},
        {"type": "relu"}, {"type": "leaky_relu", "negative_slope": 0.01},
        {"type": "abs"}, {"type": "sigmoid"}, {"type": "tanh"},
    ],
}

# Every option the format has, at least once.
KITCHEN_SINK = {
    "format": "convstudio-pipeline",
    "version": 1,
    "name": "kitchen sink [1,2] \"quoted\" ünïcode",
    "layers": [
        {"type": "conv2d", "name": "mix", "weight": np.linspace(-1, 1, 4 * 2 * 3 * 2).reshape(4, 2, 3, 2).tolist(),
         "bias": [0.1, 0, -0.25, 0.2], "padding": [1, 0, 2, 1], "padding_mode": "reflect",
         "stride": [1, 2], "dilation": [2, 1]},
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "dilation": [1, 2]},
        {"type": "pad", "padding": [1, 2, 0, 1], "mode": "circular"},
        {"type": "conv2d", "weight": np.arange(2 * 2 * 3 * 3).reshape(2, 2, 3, 3).tolist(), "groups": 2,
         "padding": "same", "padding_mode": "replicate", "flip": True},
        {"type": "avgpool2d", "kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": True,
         "count_include_pad": False},
        {"type": "conv2d", "kernel": [[1, -2, 1]], "bias": -0.5, "scale": 0.25, "padding": "valid"},
        {"type": "conv2d", "kernel": [[1], [2]], "bias": [1, 2], "padding": [1, 0]},
        {"type": "conv2d", "kernel": [[9, 9], [9, 9]], "enabled": False, "name": "off"},
        {"type": "stride", "stride": [1, 2], "offset": [0, 1]},
        {"type": "pad", "padding": 1, "mode": "constant", "value": -0.5},
        {"type": "abs"}, {"type": "sigmoid", "name": "squash"}, {"type": "tanh"}, {"type": "relu"},
        {"type": "conv_transpose2d", "weight": np.linspace(-1, 1, 2 * 3 * 3 * 2).reshape(2, 3, 3, 2).tolist(),
         "bias": [0.5, 0, -1], "stride": [2, 1], "padding": [1, 0], "output_padding": [1, 0],
         "dilation": [1, 2], "groups": 1},
        {"type": "upsample", "scale_factor": [2, 1], "mode": "bilinear"},
        {"type": "pad", "padding": [2, 1, 0, 3], "mode": "symmetric"},
        {"type": "conv2d", "kernel": [[1, 0], [0, -1]], "padding": "same", "padding_mode": "symmetric"},
        {"type": "upsample", "scale_factor": 3, "mode": "nearest"},
    ],
}


def random(seed: int, shape, lo=-1.0, hi=1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


def with_layers(*layers) -> dict:
    return {**HDR, "layers": list(layers)}


# ================================================================================ receptive fields


def test_receptive_field_hand_computed_stack():
    p = Pipeline.from_dict(with_layers(
        {"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "padding": 1},      # r3 j1 s-1
        {"type": "stride", "stride": 2, "offset": [1, 0]},                          # s: 0 / -1, j2
        {"type": "maxpool2d", "kernel_size": 2},                                    # r5 j4
        {"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "dilation": 2, "padding": 2},  # r21 s-8
        {"type": "pad", "padding": [1, 0, 3, 0]},                                    # s -12 / -21
        {"type": "conv2d", "kernel": np.ones((5, 5)).tolist(), "enabled": False},   # nothing
        {"type": "relu"},                                                            # nothing
        {"type": "avgpool2d", "kernel_size": [1, 2], "stride": [3, 1], "padding": [0, 1]},  # r 21/25
    ))
    rfs = p.receptive_fields()
    got = [(rf.size, rf.jump, rf.start) for rf in rfs]
    assert got == [
        ((1, 1), (1, 1), (0, 0)),
        ((3, 3), (1, 1), (-1, -1)),
        ((3, 3), (2, 2), (0, -1)),
        ((5, 5), (4, 4), (0, -1)),
        ((21, 21), (4, 4), (-8, -9)),
        ((21, 21), (4, 4), (-12, -21)),
        ((21, 21), (4, 4), (-12, -21)),
        ((21, 21), (4, 4), (-12, -21)),
        ((21, 25), (12, 4), (-12, -25)),
    ]
    assert rfs[4].window(2, 3) == (-8 + 8, -8 + 8 + 21, -9 + 12, -9 + 12 + 21)


def vgg16_layers():
    conv = {"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "padding": 1}
    pool = {"type": "maxpool2d", "kernel_size": 2, "stride": 2}
    layers, names = [], []
    for block, n in enumerate([2, 2, 3, 3, 3], start=1):
        for i in range(1, n + 1):
            layers += [conv, {"type": "relu"}]
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        layers.append(pool)
        names.append(f"pool{block}")
    return layers, names


def test_vgg16_receptive_fields_match_published_values():
    layers, names = vgg16_layers()
    rfs = dict(zip(names, Pipeline.from_dict(with_layers(*layers)).receptive_fields()[1:]))
    published = {  # (size, jump), e.g. Araujo et al., "Computing receptive fields of CNNs" (Distill)
        "conv1_1": (3, 1), "conv1_2": (5, 1), "pool1": (6, 2),
        "conv2_1": (10, 2), "conv2_2": (14, 2), "pool2": (16, 4),
        "conv3_1": (24, 4), "conv3_2": (32, 4), "conv3_3": (40, 4), "pool3": (44, 8),
        "conv4_1": (60, 8), "conv4_2": (76, 8), "conv4_3": (92, 8), "pool4": (100, 16),
        "conv5_1": (132, 16), "conv5_2": (164, 16), "conv5_3": (196, 16), "pool5": (212, 32),
    }
    for name, (size, jump) in published.items():
        assert rfs[name].size == (size, size), name
        assert rfs[name].jump == (jump, jump), name
    # every conv pads 1 at its own jump: start = -(1 + 1 + 2 + 2 + 4*3 + 8*3 + 16*3) at conv5_3
    assert rfs["conv5_3"].start == (-90, -90)
    # relu changes nothing
    assert rfs["relu5_3"] == rfs["conv5_3"]
    # shapes: 224 -> 7 after pool5
    assert Pipeline.from_dict(with_layers(*layers)).output_shapes((3, 224, 224))[-1] == (3, 7, 7)


def test_alexnet_receptive_fields_match_published_values():
    k = lambda n: np.ones((n, n)).tolist()  # noqa: E731
    p = Pipeline.from_dict(with_layers(
        {"type": "conv2d", "kernel": k(11), "stride": 4},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2},
        {"type": "conv2d", "kernel": k(5), "padding": 2},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2},
        {"type": "conv2d", "kernel": k(3), "padding": 1},
        {"type": "conv2d", "kernel": k(3), "padding": 1},
        {"type": "conv2d", "kernel": k(3), "padding": 1},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2},
    ))
    sizes = [rf.size[0] for rf in p.receptive_fields()[1:]]
    jumps = [rf.jump[0] for rf in p.receptive_fields()[1:]]
    assert sizes == [11, 19, 51, 67, 99, 131, 163, 195]
    assert jumps == [4, 8, 8, 16, 16, 16, 16, 32]
    assert p.output_shapes((3, 227, 227))[-1] == (3, 6, 6)


# --- brute force: which input pixels actually influence each output pixel


@st.composite
def rf_stacks(draw):
    """Small stacks of per-channel layers (kernel-form convs with positive kernels, pools, pad,
    stride, relu) with zero padding, plus the receptive-field recurrence of docs/semantics.md computed independently."""
    layers, steps = [], []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "maxpool2d", "avgpool2d", "pad", "stride", "relu",
                                     "disabled"]))
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if kind == "conv":
            dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
            pads = [draw(st.integers(0, 2)) for _ in range(4)]
            layers.append({"type": "conv2d", "kernel": (np.arange(kh * kw).reshape(kh, kw) + 1).tolist(),
                           "stride": [sh, sw], "dilation": [dh, dw], "padding": pads})
            steps.append(({"kind": "window", "k": kh, "s": sh, "d": dh, "pt": pads[0], "pb": pads[1]},
                          {"kind": "window", "k": kw, "s": sw, "d": dw, "pt": pads[2], "pb": pads[3]}))
        elif kind in ("maxpool2d", "avgpool2d"):
            pads = [draw(st.integers(0, kh // 2)), draw(st.integers(0, kh // 2)),
                    draw(st.integers(0, kw // 2)), draw(st.integers(0, kw // 2))]
            ceil = draw(st.booleans())
            layers.append({"type": kind, "kernel_size": [kh, kw], "stride": [sh, sw], "padding": pads,
                           "ceil_mode": ceil})
            steps.append(({"kind": "window", "k": kh, "s": sh, "pt": pads[0], "pb": pads[1], "pool": True,
                           "ceil": ceil},
                          {"kind": "window", "k": kw, "s": sw, "pt": pads[2], "pb": pads[3], "pool": True,
                           "ceil": ceil}))
        elif kind == "pad":
            pads = [draw(st.integers(0, 2)) for _ in range(4)]
            layers.append({"type": "pad", "padding": pads})
            steps.append(({"kind": "pad", "pt": pads[0], "pb": pads[1]},
                          {"kind": "pad", "pt": pads[2], "pb": pads[3]}))
        elif kind == "stride":
            oh, ow = draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1))
            layers.append({"type": "stride", "stride": [sh, sw], "offset": [oh, ow]})
            steps.append(({"kind": "stride", "s": sh, "off": oh}, {"kind": "stride", "s": sw, "off": ow}))
        elif kind == "relu":
            layers.append({"type": "relu"})
            steps.append(({"kind": "id"}, {"kind": "id"}))
        else:
            layers.append({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "stride": 2,
                           "enabled": False})
            steps.append(({"kind": "id"}, {"kind": "id"}))
    return layers, steps


def window_is_exact(steps_axis) -> bool:
    """True if every output reads its whole receptive field (clipped to the image): no layer pads
    or lets a ceil-mode window hang past its input (an intermediate position that does not exist
    reads nothing, though the receptive field counts it), and each window layer's taps are no
    further apart than the receptive field of its input (r_{L-1} >= d * j_{L-1}), so no holes."""
    r, j = 1, 1
    for st_ in steps_axis:
        if st_.get("pt") or st_.get("pb") or st_.get("ceil"):
            return False
        if st_["kind"] == "window":
            if st_["k"] > 1 and r < st_.get("d", 1) * j:
                return False
            r += st_.get("d", 1) * (st_["k"] - 1) * j
            j *= st_.get("s", 1)
        elif st_["kind"] == "stride":
            j *= st_["s"]
    return True


@settings(max_examples=40, deadline=None)
@given(rf_stacks(), st.integers(4, 11), st.integers(4, 11))
def test_receptive_field_matches_brute_force_influence(stack, h, w):
    layers, steps = stack
    try:
        Pipeline.from_dict(with_layers(*layers)).output_shapes((h * w, h, w))
    except PipelineError:
        assume(False)
    check_influence(layers, steps, h, w)


@pytest.mark.parametrize("layers, steps", [
    ([{"type": "conv2d", "kernel": [[1, 2], [3, 4]]}, {"type": "conv2d", "kernel": [[1, 1], [1, 1]]}],
     [({"kind": "window", "k": 2}, {"kind": "window", "k": 2})] * 2),
    ([{"type": "conv2d", "kernel": np.ones((3, 2)).tolist()},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "relu"},
      {"type": "conv2d", "kernel": np.ones((2, 3)).tolist(), "dilation": [2, 1], "stride": [2, 1]},
      {"type": "avgpool2d", "kernel_size": [2, 1], "stride": 1}],
     [({"kind": "window", "k": 3}, {"kind": "window", "k": 2}),
      ({"kind": "window", "k": 2, "s": 2, "pool": True}, {"kind": "window", "k": 2, "s": 2, "pool": True}),
      ({"kind": "id"}, {"kind": "id"}),
      ({"kind": "window", "k": 2, "s": 2, "d": 2}, {"kind": "window", "k": 3}),
      ({"kind": "window", "k": 2, "pool": True}, {"kind": "window", "k": 1, "pool": True})]),
])
def test_receptive_field_is_exactly_the_influence_without_padding(layers, steps):
    assert check_influence(layers, steps, 13, 14)


def check_influence(layers, steps, h, w) -> bool:
    """Compare the pipeline's receptive fields with the recurrence and with the input pixels that
    really influence each output (NaN probes). Returns whether the window was checked exactly."""
    p = Pipeline.from_dict(with_layers(*layers))
    # the recurrence, computed independently
    rows = ref.receptive_field([s[0] for s in steps])
    cols = ref.receptive_field([s[1] for s in steps])
    rfs = p.receptive_fields()
    for L in range(len(layers) + 1):
        assert rfs[L].size == (rows[L][0], cols[L][0])
        assert rfs[L].jump == (rows[L][1], cols[L][1])
        assert rfs[L].start == (rows[L][2], cols[L][2])
    # one probe per channel: channel c has a NaN at input pixel c, everything else is 1. Every layer
    # here works per channel, so NaNs in output channel c mark the outputs pixel c influences.
    x = np.ones((h * w, h, w), dtype=np.float32)
    x.reshape(h * w, h * w)[np.arange(h * w), np.arange(h * w)] = np.nan
    with np.errstate(invalid="ignore"):
        out = p.run(x)[-1]
    influenced = np.isnan(out)  # (input pixel, oi, oj)
    rf = rfs[-1]
    # the exact dependency, propagated index by index through every layer's taps
    dep_rows = ref.axis_influence([s[0] for s in steps], h)
    dep_cols = ref.axis_influence([s[1] for s in steps], w)
    assert out.shape[1:] == (len(dep_rows), len(dep_cols))
    exact = window_is_exact([s[0] for s in steps]) and window_is_exact([s[1] for s in steps])
    for oi in range(out.shape[1]):
        for oj in range(out.shape[2]):
            r0, r1, c0, c1 = rf.window(oi, oj)
            window = np.zeros((h, w), dtype=bool)
            window[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
            seen = influenced[:, oi, oj].reshape(h, w)
            # what the receptive field promises: nothing outside the window has any influence
            assert not (seen & ~window).any(), (oi, oj, rf)
            expected = np.zeros((h, w), dtype=bool)
            expected[np.ix_(sorted(dep_rows[oi]), sorted(dep_cols[oj]))] = True
            np.testing.assert_array_equal(seen, expected, err_msg=f"{(oi, oj)}")
            if exact:
                np.testing.assert_array_equal(seen, window, err_msg=f"{(oi, oj)} {rf}")
    return exact


# ================================================================================ JSON


def test_every_type_example_parses_and_runs_like_the_reference():
    p = Pipeline.from_dict(copy.deepcopy(EVERY_TYPE_EXAMPLE))
    assert p.name == "optional" and len(p) == 11
    x = random(1, (1, 32, 32), 0, 1)
    outs = p.run(x)
    y = x.astype(np.float64)
    expected = []
    y = ref.conv2d(y, [[[[0, 1], [2, 3]]]], [0.5], pads=(1, 0, 1, 0)); expected.append(y)  # noqa: E702
    y = ref.conv2d(y, np.array([[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]) * 0.0625); expected.append(y)  # noqa: E702
    y = ref.max_pool(y, (2, 2)); expected.append(y)  # noqa: E702
    y = ref.avg_pool(y, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1)); expected.append(y)  # noqa: E702
    y = ref.pad(y, (1, 0, 2, 2), "constant", 0.5); expected.append(y)  # noqa: E702
    y = ref.subsample(y, (2, 2), (0, 0)); expected.append(y)  # noqa: E702
    for f in (ref.relu, lambda v: ref.leaky_relu(v, 0.01), ref.absolute, ref.sigmoid, ref.tanh):
        y = f(y)
        expected.append(y)
    assert [o.shape for o in outs] == [(1, 32, 32), (1, 30, 30), (1, 15, 15), (1, 8, 8), (1, 9, 12),
                                       (1, 5, 6)] + [(1, 5, 6)] * 5
    for o, e in zip(outs, expected):
        assert o.dtype == np.float32
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(e).max())))


@pytest.mark.parametrize("doc", [EVERY_TYPE_EXAMPLE, KITCHEN_SINK], ids=["every_type", "kitchen_sink"])
def test_round_trip_preserves_everything(doc, tmp_path):
    p = Pipeline.from_dict(copy.deepcopy(doc))
    d = p.to_dict()
    json.dumps(d, allow_nan=False)  # plain JSON types only
    q = Pipeline.from_dict(d)
    assert q.name == p.name == doc["name"]
    assert q.layers == p.layers
    assert q.to_dict() == d
    for a, b in zip(p.layers, q.layers):
        assert a.name == b.name and a.enabled == b.enabled and type(a) is type(b)
    # through JSON text
    r = Pipeline.from_json(p.to_json())
    assert r.layers == p.layers and r.name == p.name
    # through a file
    path = tmp_path / "p.json"
    p.save(path)
    s = Pipeline.load(path)
    assert s.layers == p.layers and s.name == p.name
    assert json.loads(path.read_text(encoding="utf-8")) == d
    # same numbers out
    x = random(2, (2, 17, 19)) if doc is KITCHEN_SINK else random(2, (1, 32, 32))
    for a, b in zip(p.run(x), s.run(x)):
        np.testing.assert_array_equal(a, b)


def test_round_trip_keeps_values_of_every_key():
    p = Pipeline.from_dict(copy.deepcopy(KITCHEN_SINK))
    d = p.to_dict()
    for given_, saved in zip(KITCHEN_SINK["layers"], d["layers"]):
        for key, value in given_.items():
            again = saved[key]
            if isinstance(value, list) and isinstance(again, int):
                again = [again] * len(value)  # a pair [n, n] may be written as n
            if isinstance(value, list):  # arrays are float32: compare with the float32 values
                np.testing.assert_array_equal(np.array(again, dtype=np.float64),
                                              np.array(value, dtype=np.float32))
            else:
                assert again == value, (given_["type"], key)


def test_saved_file_is_readable_utf8_and_names_survive(tmp_path):
    names = ["[1,2]", "[1,   2]", "a [-1,-1,-1] b", "x\n[3]\ty", "\"[]\"", "ünï 中文"]
    p = Pipeline(tuple(ReLU(name=n) for n in names), name="[0.5, -0.25,1e3]")
    q = Pipeline.from_json(p.to_json())
    assert [lay.name for lay in q.layers] == names
    assert q.name == "[0.5, -0.25,1e3]"
    path = tmp_path / "n.json"
    p.save(path)
    assert "中文" in path.read_text(encoding="utf-8")
    assert [lay.name for lay in Pipeline.load(path).layers] == names


@pytest.mark.perf
def test_saving_is_fast_for_any_name():
    # a name that looks like an unterminated list of negative numbers
    p = Pipeline((ReLU(name="[" + "-1," * 24 + "x"),), name="[" + "-1," * 24)
    t0 = time.perf_counter()
    text = p.to_json()
    assert time.perf_counter() - t0 < 1.0
    assert Pipeline.from_json(text).layers[0].name == "[" + "-1," * 24 + "x"


def test_to_json_is_valid_and_round_trips_large_kernels():
    w = random(3, (3, 2, 7, 7), -1e3, 1e3)
    w[0, 0, 0, :3] = [1e-30, -1e30, 0]
    p = Pipeline((Conv2d(weight=w),))
    q = Pipeline.from_json(p.to_json())
    np.testing.assert_array_equal(q.layers[0].weight, w)


# --- errors: always PipelineError, naming layer and key


def conv(**kw):
    return {"type": "conv2d", "kernel": [[1, 2], [3, 4]], **kw}


BAD = [
    # (id, document, layer, key)
    ("unknown top key", {**HDR, "layers": [], "author": "me"}, None, "author"),
    ("wrong format", {**HDR, "format": "other", "layers": []}, None, "format"),
    ("missing format", {"version": 1, "layers": []}, None, "format"),
    ("wrong version", {**HDR, "version": 2, "layers": []}, None, "version"),
    ("string version", {**HDR, "version": "1", "layers": []}, None, "version"),
    ("bool version", {**HDR, "version": True, "layers": []}, None, "version"),
    ("missing layers", {**HDR}, None, "layers"),
    ("layers not a list", {**HDR, "layers": {"type": "relu"}}, None, "layers"),
    ("name not a string", {**HDR, "name": 3, "layers": []}, None, "name"),
    ("65 layers", with_layers(*[{"type": "relu"}] * 65), None, "layers"),
    ("unknown type", with_layers({"type": "relu"}, {"type": "conv3d"}), 2, "type"),
    ("missing type", with_layers({"type": "relu"}, {"kernel_size": 2}), 2, "type"),
    ("type not a string", with_layers({"type": 5}), 1, "type"),
    ("unknown layer key", with_layers({"type": "relu"}, {"type": "relu", "alpha": 1}), 2, "alpha"),
    ("count_include_pad on max", with_layers({"type": "maxpool2d", "kernel_size": 2,
                                              "count_include_pad": True}), 1, "count_include_pad"),
    ("dilation on avg", with_layers({"type": "avgpool2d", "kernel_size": 2, "dilation": 2}), 1, "dilation"),
    ("string stride", with_layers(conv(stride="2")), 1, "stride"),
    ("bool stride", with_layers(conv(stride=True)), 1, "stride"),
    ("bool in pair", with_layers(conv(stride=[1, False])), 1, "stride"),
    ("triple stride", with_layers(conv(stride=[1, 2, 3])), 1, "stride"),
    ("bool kernel size", with_layers({"type": "maxpool2d", "kernel_size": True}), 1, "kernel_size"),
    ("float kernel size", with_layers({"type": "maxpool2d", "kernel_size": 2.0}), 1, "kernel_size"),
    ("float in pair", with_layers({"type": "avgpool2d", "kernel_size": [2, 2.5]}), 1, "kernel_size"),
    ("missing kernel size", with_layers({"type": "maxpool2d"}), 1, "kernel_size"),
    ("zero kernel size", with_layers({"type": "maxpool2d", "kernel_size": 0}), 1, "kernel_size"),
    ("zero stride", with_layers(conv(stride=0)), 1, "stride"),
    ("zero pool stride", with_layers({"type": "avgpool2d", "kernel_size": 2, "stride": [1, 0]}), 1, "stride"),
    ("zero dilation", with_layers(conv(dilation=0)), 1, "dilation"),
    ("zero groups", with_layers({"type": "conv2d", "weight": [[[[1]]]], "groups": 0}), 1, "groups"),
    ("negative padding", with_layers(conv(padding=-1)), 1, "padding"),
    ("negative in 4-list", with_layers(conv(padding=[0, 0, -1, 0])), 1, "padding"),
    ("3-list padding", with_layers(conv(padding=[0, 0, 1])), 1, "padding"),
    ("bad padding word", with_layers(conv(padding="full")), 1, "padding"),
    ("float padding", with_layers(conv(padding=1.5)), 1, "padding"),
    ("bad padding mode", with_layers(conv(padding_mode="mirror")), 1, "padding_mode"),
    ("constant is pad-only", with_layers(conv(padding_mode="constant")), 1, "padding_mode"),
    ("bad pad mode", with_layers({"type": "pad", "padding": 1, "mode": "edge"}), 1, "mode"),
    ("missing pad padding", with_layers({"type": "pad"}), 1, "padding"),
    ("string pad value", with_layers({"type": "pad", "padding": 1, "mode": "constant", "value": "0"}),
     1, "value"),
    ("nan pad value", with_layers({"type": "pad", "padding": 1, "mode": "constant", "value": math.nan}),
     1, "value"),
    ("inf scale", with_layers(conv(scale=math.inf)), 1, "scale"),
    ("string scale", with_layers(conv(scale="2")), 1, "scale"),
    ("bool scale", with_layers(conv(scale=True)), 1, "scale"),
    ("string slope", with_layers({"type": "leaky_relu", "negative_slope": "x"}), 1, "negative_slope"),
    ("string flip", with_layers(conv(flip="yes")), 1, "flip"),
    ("int ceil_mode", with_layers({"type": "maxpool2d", "kernel_size": 2, "ceil_mode": 1}), 1, "ceil_mode"),
    ("string enabled", with_layers({"type": "relu", "enabled": "no"}), 1, "enabled"),
    ("int name", with_layers({"type": "relu", "name": 7}), 1, "name"),
    ("offset = stride", with_layers({"type": "relu"}, {"type": "stride", "stride": 2, "offset": [0, 2]}),
     2, "offset"),
    ("offset > stride", with_layers({"type": "stride", "stride": [2, 3], "offset": 2}), 1, "offset"),
    ("negative offset", with_layers({"type": "stride", "stride": 2, "offset": -1}), 1, "offset"),
    ("layer not an object", with_layers({"type": "relu"}, [1, 2]), 2, None),
    ("weight and kernel", with_layers({"type": "conv2d", "kernel": [[1]], "weight": [[[[1]]]]}), 1,
     ("weight", "kernel")),
    ("neither weight nor kernel", with_layers({"type": "conv2d", "stride": 1}), 1, ("weight", "kernel")),
    ("ragged weight", with_layers({"type": "conv2d", "weight": [[[[1, 2], [3]]]]}), 1, "weight"),
    ("ragged weight deep", with_layers({"type": "conv2d", "weight": [[[[1]]], [[[1], [2]]]]}), 1, "weight"),
    ("ragged kernel", with_layers(conv(kernel=[[1, 2], [3, 4, 5]])), 1, "kernel"),
    ("3-D weight", with_layers({"type": "conv2d", "weight": [[[1]]]}), 1, "weight"),
    ("5-D weight", with_layers({"type": "conv2d", "weight": [[[[[1]]]]]}), 1, "weight"),
    ("1-D kernel", with_layers(conv(kernel=[1, 2, 3])), 1, "kernel"),
    ("empty kernel", with_layers(conv(kernel=[])), 1, "kernel"),
    ("empty kernel row", with_layers(conv(kernel=[[]])), 1, "kernel"),
    ("string in kernel", with_layers(conv(kernel=[[1, "2"]])), 1, "kernel"),
    ("bool in kernel", with_layers(conv(kernel=[[1, True]])), 1, "kernel"),
    ("null in weight", with_layers({"type": "conv2d", "weight": [[[[None]]]]}), 1, "weight"),
    ("nan in kernel", with_layers(conv(kernel=[[1, math.nan]])), 1, "kernel"),
    ("inf in weight", with_layers({"type": "conv2d", "weight": [[[[-math.inf]]]]}), 1, "weight"),
    ("float32 overflow in kernel", with_layers(conv(kernel=[[1e39]])), 1, "kernel"),
    ("huge int in kernel", with_layers(conv(kernel=[[10 ** 400]])), 1, "kernel"),
    ("huge int scale", with_layers(conv(scale=10 ** 400)), 1, "scale"),
    ("float32 overflow scale", with_layers(conv(scale=1e300)), 1, "scale"),
    ("nan in bias", with_layers({"type": "conv2d", "weight": [[[[1]]]], "bias": [math.nan]}), 1, "bias"),
    ("nan shared bias", with_layers(conv(bias=math.nan)), 1, "bias"),
    ("bias length", with_layers({"type": "conv2d", "weight": [[[[1]]], [[[2]]]], "bias": [1]}), 1, "bias"),
    ("bias as number, weight form", with_layers({"type": "conv2d", "weight": [[[[1]]]], "bias": 1}), 1,
     "bias"),
    ("bias 2-D", with_layers(conv(bias=[[1]])), 1, "bias"),
    ("groups do not divide", with_layers({"type": "conv2d", "weight": [[[[1]]]] * 3, "groups": 2}), 1,
     "groups"),
    ("kernel 256 wide", with_layers(conv(kernel=[[0] * 256])), 1, "kernel"),
    ("weight 256 high", with_layers({"type": "conv2d", "weight": [[[[0]] * 256]]}), 1, "weight"),
]


@pytest.mark.parametrize("doc, layer, key", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_pipelines_name_layer_and_key(doc, layer, key):
    with pytest.raises(PipelineError) as exc:
        Pipeline.from_dict(copy.deepcopy(doc))
    err = exc.value
    msg = str(err)
    assert "\n" not in msg and len(msg) < 400, msg
    assert err.layer == layer, msg
    if layer is not None:
        assert msg.startswith(f"layer {layer}"), msg
    if key is None:
        return
    keys = key if isinstance(key, tuple) else (key,)
    assert err.key in keys, msg
    assert f"'{err.key}'" in msg, msg


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize("where, key", [
    ('{"type": "conv2d", "kernel": [[1, %s]]}', "kernel"),
    ('{"type": "conv2d", "weight": [[[[%s]]]]}', "weight"),
    ('{"type": "conv2d", "kernel": [[1]], "bias": %s}', "bias"),
    ('{"type": "conv2d", "weight": [[[[1]]]], "bias": [%s]}', "bias"),
    ('{"type": "conv2d", "kernel": [[1]], "scale": %s}', "scale"),
    ('{"type": "pad", "padding": 1, "mode": "constant", "value": %s}', "value"),
    ('{"type": "leaky_relu", "negative_slope": %s}', "negative_slope"),
    ('{"type": "maxpool2d", "kernel_size": %s}', "kernel_size"),
])
def test_non_finite_numbers_in_json_text(token, where, key):
    text = '{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "relu"}, %s]}' % (
        where % token)
    with pytest.raises(PipelineError) as exc:
        Pipeline.from_json(text)
    assert exc.value.layer == 2 and exc.value.key == key, str(exc.value)
    assert str(exc.value).startswith(f"layer 2 '{key}'")


def test_enormous_integer_literal_is_a_pipeline_error():
    text = '{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", "kernel": [[%s]]}]}'
    for digits in (400, 5000):
        with pytest.raises(PipelineError) as exc:
            Pipeline.from_json(text % ("9" * digits))
        assert len(str(exc.value)) < 400


def test_huge_kernels_are_refused_without_allocating():
    row = [0.0] * 300
    kernel = [row] * 300  # 90 000 numbers, but only 300 distinct list cells in memory
    weight_many = [[[[0.0, 0.0]]] * 4096] * 4096  # 2^25 numbers: over the 16 Mi limit
    channels = [[[[0.0]]]] * 5000  # over the channel limit
    for doc, key in [(with_layers(conv(kernel=kernel)), "kernel"),
                     (with_layers({"type": "conv2d", "weight": [[kernel]]}), "weight"),
                     (with_layers({"type": "conv2d", "weight": weight_many}), "weight"),
                     (with_layers({"type": "conv2d", "weight": channels}), "weight")]:
        tracemalloc.start()
        try:
            with pytest.raises(PipelineError) as exc:
                Pipeline.from_dict(doc)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert exc.value.key == key and exc.value.layer == 1
        assert peak < 1_000_000, peak


def test_pipeline_over_64_layers_is_refused_also_when_built_in_python():
    Pipeline((ReLU(),) * 64)
    with pytest.raises(PipelineError) as exc:
        Pipeline((ReLU(),) * 65)
    assert exc.value.key == "layers"
    Pipeline.from_dict(with_layers(*[{"type": "relu"}] * 64))


# --- errors that depend on the input


def run_error(doc, shape) -> PipelineError:
    p = Pipeline.from_dict(doc)
    with pytest.raises(PipelineError) as exc:
        p.run(np.zeros(shape, dtype=np.float32))
    with pytest.raises(PipelineError) as exc2:
        p.output_shapes(shape)
    assert str(exc.value) == str(exc2.value)
    return exc.value


def test_channel_mismatch_names_the_layer():
    w3 = np.ones((2, 3, 3, 3)).tolist()
    err = run_error(with_layers({"type": "relu"}, {"type": "conv2d", "weight": w3}), (1, 8, 8))
    assert err.layer == 2 and err.key == "weight"
    assert str(err).startswith("layer 2 'weight'") and "3" in str(err) and "1" in str(err)
    # after a conv that makes 2 channels
    err = run_error(with_layers({"type": "conv2d", "weight": np.ones((2, 1, 1, 1)).tolist()},
                                {"type": "conv2d", "weight": w3}), (8, 8))
    assert err.layer == 2
    # grouped: 2 groups of 2 need 4 channels
    err = run_error(with_layers({"type": "conv2d", "weight": np.ones((2, 2, 1, 1)).tolist(), "groups": 2}),
                    (3, 4, 4))
    assert err.layer == 1 and err.key == "weight"


@pytest.mark.parametrize("layer, key", [
    ({"type": "conv2d", "kernel": np.ones((5, 5)).tolist()}, "kernel"),
    ({"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "dilation": 3, "padding": 1}, "kernel"),
    ({"type": "conv2d", "weight": np.ones((1, 1, 1, 7)).tolist(), "padding": [1, 1]}, "weight"),
    ({"type": "maxpool2d", "kernel_size": 7, "padding": 1}, "kernel_size"),
    ({"type": "avgpool2d", "kernel_size": [1, 7], "padding": [0, 1]}, "kernel_size"),
    ({"type": "maxpool2d", "kernel_size": 3, "dilation": 2}, "kernel_size"),
    ({"type": "stride", "stride": 8, "offset": [4, 0]}, "offset"),
])
def test_window_larger_than_padded_input_names_layer_and_key(layer, key):
    err = run_error(with_layers({"type": "abs"}, layer), (1, 4, 4))
    assert err.layer == 2
    assert err.key == key, str(err)
    assert str(err).startswith(f"layer 2 '{key}'")


def test_pool_padding_over_half_window_names_layer_and_key():
    err = run_error(with_layers({"type": "relu"}, {"type": "relu"},
                                {"type": "avgpool2d", "kernel_size": 3, "padding": 2}), (1, 9, 9))
    assert err.layer == 3 and err.key == "padding"


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4, 5)), np.zeros(5), np.zeros((0, 4)), np.array([["a"]]),
                                 np.zeros((2, 2), dtype=complex)])
def test_bad_inputs_are_pipeline_errors(bad):
    with pytest.raises(PipelineError):
        Pipeline.from_dict(with_layers({"type": "relu"})).run(bad)


# --- load


def test_load_errors_are_pipeline_errors(tmp_path):
    cases = {
        "missing.json": None,
        "not-utf8.json": b'{"format": "convstudio-pipeline", "name": "\xff\xfe", "version": 1, "layers": []}',
        "not-json.json": b"layers: [relu]\n",
        "empty.json": b"",
        "truncated.json": b'{"format": "convstudio-pipeline", "version": 1, "layers": [',
        "list.json": b"[]",
        "deep.json": b"[" * 100000 + b"]" * 100000,
        "bad-layer.json": json.dumps(with_layers({"type": "relu"}, {"type": "relu", "x": 1})).encode(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(PipelineError) as exc:
            Pipeline.load(path)
        msg = str(exc.value)
        assert name in msg and "\n" not in msg and len(msg) < 400, msg
    with pytest.raises(PipelineError) as exc:
        Pipeline.load(tmp_path)  # a folder
    assert "\n" not in str(exc.value)
    # the layer and key survive into the message
    with pytest.raises(PipelineError) as exc:
        Pipeline.load(tmp_path / "bad-layer.json")
    assert "layer 2 'x'" in str(exc.value)


def test_load_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(EVERY_TYPE_EXAMPLE).encode())
    assert len(Pipeline.load(path)) == 11


# ================================================================================ analyze / info


def test_analyze_marks_the_failing_layer_and_the_ones_after_as_waiting():
    p = Pipeline.from_dict(with_layers(
        {"type": "conv2d", "weight": np.ones((2, 1, 3, 3)).tolist(), "bias": [0, 0], "padding": 1},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "conv2d", "weight": np.ones((1, 3, 1, 1)).tolist()},  # wants 3 channels, gets 2
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
    ))
    infos = p.analyze((1, 8, 8))
    assert [i.index for i in infos] == [1, 2, 3, 4, 5]
    assert [i.output_shape for i in infos[:2]] == [(2, 8, 8), (2, 4, 4)]
    assert [i.params for i in infos[:2]] == [20, 0]
    assert [i.error is None for i in infos] == [True, True, False, True, True]
    assert [i.waiting for i in infos] == [False, False, False, True, True]
    assert infos[2].error.layer == 3 and infos[2].error.key == "weight"
    assert all(i.output_shape is None and i.params is None for i in infos[2:])
    # receptive fields do not depend on the input: known for every layer
    assert [i.receptive_field.size[0] for i in infos] == [3, 4, 4, 4, 6]
    # once layer 3 fits, nothing fails or waits
    fixed = p.replace_layer(2, layer_from_dict({"type": "conv2d", "weight": np.ones((1, 2, 1, 1)).tolist()}))
    infos = fixed.analyze((1, 8, 8))
    assert not any(i.error or i.waiting for i in infos)
    assert [i.output_shape for i in infos] == [(2, 8, 8), (2, 4, 4), (1, 4, 4), (1, 4, 4), (1, 2, 2)]


def test_info_layout_is_the_cli_json_object():
    p = Pipeline.from_dict(with_layers(
        {"type": "conv2d", "weight": np.ones((4, 3, 3, 3)).tolist(), "bias": [0] * 4, "stride": 2,
         "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": [2, 3], "stride": [2, 3]},
        {"type": "conv2d", "kernel": np.ones((1, 5)).tolist(), "bias": 1.0, "padding": [0, 0, 2, 2]},
    ))
    info = p.info((3, 32, 30))
    assert json.loads(json.dumps(info)) == info
    assert list(info) == ["input_shape", "layers", "params", "fc_params", "peak_bytes"]
    assert info["input_shape"] == [3, 32, 30]
    assert info["layers"] == [
        {"index": 1, "type": "conv2d", "output_shape": [4, 16, 15], "receptive_field": [3, 3],
         "jump": [2, 2], "start": [-1, -1], "params": 4 * 27 + 4},
        {"index": 2, "type": "relu", "output_shape": [4, 16, 15], "receptive_field": [3, 3],
         "jump": [2, 2], "start": [-1, -1], "params": 0},
        {"index": 3, "type": "maxpool2d", "output_shape": [4, 8, 5], "receptive_field": [5, 7],
         "jump": [4, 6], "start": [-1, -1], "params": 0},
        {"index": 4, "type": "conv2d", "output_shape": [4, 8, 5], "receptive_field": [5, 31],
         "jump": [4, 6], "start": [-1, -13], "params": 6},
    ]
    for layer in info["layers"]:
        assert list(layer) == ["index", "type", "output_shape", "receptive_field", "jump", "start", "params"]
    assert info["params"] == 112 + 6
    assert info["fc_params"] == (3 * 32 * 30) * (4 * 8 * 5) + 4 * 8 * 5
    assert p.params((3, 32, 30)) == info["params"] and p.fc_params((3, 32, 30)) == info["fc_params"]
    # a 2-D shape is one channel
    assert Pipeline.from_dict(with_layers({"type": "relu"})).info((5, 6))["input_shape"] == [1, 5, 6]


# ================================================================================ running


def counting_forward(monkeypatch):
    """Record the name of every layer whose forward pass really runs."""
    from convstudio.core import layers as layers_mod

    calls: list[str] = []
    for cls in layers_mod.LAYER_TYPES.values():
        original = cls._forward

        def wrapped(self, x, _original=original):
            calls.append(self.name)
            return _original(self, x)

        monkeypatch.setattr(cls, "_forward", wrapped)
    return calls


def named_stack():
    return Pipeline.from_dict(with_layers(
        {"type": "conv2d", "name": "c1", "weight": random(1, (3, 1, 3, 3)).tolist(), "padding": "same"},
        {"type": "relu", "name": "r1"},
        {"type": "conv2d", "name": "c2", "weight": random(2, (2, 3, 3, 3)).tolist(), "padding": 1,
         "padding_mode": "reflect"},
        {"type": "maxpool2d", "name": "m", "kernel_size": 2},
        {"type": "sigmoid", "name": "s"},
    ))


def test_incremental_runner_recomputes_from_the_first_changed_layer(monkeypatch):
    calls = counting_forward(monkeypatch)
    x = random(5, (1, 12, 12))
    p = named_stack()
    runner = IncrementalRunner()

    outs, keep = runner.run(x, p)
    assert keep == 0 and calls == ["c1", "r1", "c2", "m", "s"]

    calls.clear()
    outs, keep = runner.run(x, p)  # nothing changed
    assert keep == 5 and calls == []

    # change layer 3 (index 2): layers 1-2 come from the cache
    calls.clear()
    new_c2 = layer_from_dict({"type": "conv2d", "name": "c2", "weight": random(3, (2, 3, 3, 3)).tolist(),
                              "padding": 1})
    p2 = p.replace_layer(2, new_c2)
    outs2, keep = runner.run(x, p2)
    assert keep == 2 and calls == ["c2", "m", "s"]
    full = p2.run(x)
    assert len(outs2) == len(full)
    for a, b in zip(outs2, full):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(outs2[2], outs[2])

    # an equal layer rebuilt from its JSON counts as unchanged
    calls.clear()
    p3 = Pipeline.from_dict(p2.to_dict())
    assert p3.layers[0] is not p2.layers[0]
    _, keep = runner.run(x, p3)
    assert keep == 5 and calls == []

    # disabling the last layer; then appending one; then removing the first
    calls.clear()
    last = p3.layers[4]
    import dataclasses
    p4 = p3.replace_layer(4, dataclasses.replace(last, enabled=False))
    outs4, keep = runner.run(x, p4)
    assert keep == 4 and calls == []  # a disabled layer passes its input through
    np.testing.assert_array_equal(outs4[4], outs4[3])
    calls.clear()
    p5 = p4.insert_layer(5, ReLU(name="r2"))
    _, keep = runner.run(x, p5)
    assert keep == 5 and calls == ["r2"]
    calls.clear()
    p6 = p5.remove_layer(0)
    with pytest.raises(PipelineError) as exc:  # c2 wants 3 channels, the input has 1
        runner.run(x, p6)
    assert exc.value.layer == 2
    assert calls == ["r1"]

    # a new input array (even with equal values) invalidates the cache
    calls.clear()
    _, keep = runner.run(x.copy(), p5)
    assert keep == 0 and len(calls) == 5


def test_incremental_runner_on_layer_callback_and_prefix():
    x = random(6, (1, 10, 10))
    p = named_stack()
    runner = IncrementalRunner()
    seen = []
    outs, _ = runner.run(x, p, on_layer=lambda i, out, dt: seen.append((i, out.shape, dt >= 0)))
    assert seen == [(i, o.shape, True) for i, o in enumerate(outs)]
    # a shorter pipeline (a prefix) is served entirely from the cache
    outs_prefix, keep = runner.run(x, Pipeline(p.layers[:3]))
    assert keep == 3
    for a, b in zip(outs_prefix, outs):
        assert a is b


def test_cancel_raises_and_keeps_finished_layers(monkeypatch):
    x = random(7, (1, 10, 10))
    p = named_stack()
    finished: list[int] = []

    def cancelled():
        return len(finished) >= 1  # True once the first layer is done

    runner = IncrementalRunner()
    with pytest.raises(RunCancelled):
        runner.run(x, p, cancelled=cancelled, on_layer=lambda i, out, dt: finished.append(i))
    assert finished == [0]
    calls = counting_forward(monkeypatch)
    outs, keep = runner.run(x, p)
    assert keep == 1 and calls == ["r1", "c2", "m", "s"]
    for a, b in zip(outs, p.run(x)):
        np.testing.assert_array_equal(a, b)


def test_a_run_inside_a_cancellable_block_asks_the_blocks_question():
    """A run given no question of its own (Pipeline.run in a job of the app's workers) asks the
    one of the enclosing cancellable() block, between layers and inside them; an explicit one
    still replaces it."""
    from convstudio.core import cancel

    rng = np.random.default_rng(4)
    x = rng.random((3, 300, 400), dtype=np.float32)
    p = Pipeline((Conv2d(kernel=rng.standard_normal((9, 9)).astype(np.float32), padding="same"), ReLU()))
    asked = [0]

    def after_two():
        asked[0] += 1
        return asked[0] > 2  # the first ask is before the layer, the next ones inside it

    with cancel.cancellable(after_two), pytest.raises(RunCancelled):
        p.run(x)
    assert asked[0] >= 3
    with cancel.cancellable(lambda: True):
        out = p.run(x, cancelled=lambda: False)[-1]  # its own question wins
    np.testing.assert_array_equal(out, p.run(x)[-1])


def test_cancel_stops_inside_a_long_layer_and_changes_no_result():
    """The question is asked inside a layer (strips, tiles, pool tasks), not only between
    layers; a run that is asked and never cancelled gives the same bits as one never asked."""
    from convstudio.core import run_layers

    rng = np.random.default_rng(3)
    x = rng.random((3, 600, 700), dtype=np.float32)
    layers = [Conv2d(kernel=rng.standard_normal((15, 15)).astype(np.float32), padding="same"),
              Conv2d(weight=rng.standard_normal((4, 3, 5, 5)).astype(np.float32)),
              MaxPool2d(kernel_size=3)]
    asked = [0]

    def never():
        asked[0] += 1
        return False

    plain = Pipeline(layers).run(x)
    watched = [r.output for r in run_layers(layers, x, cancelled=never)]
    for a, b in zip(plain, watched):
        np.testing.assert_array_equal(a, b)
    # well more than once per layer: the long layers ask from inside
    assert asked[0] > 3 * len(layers)

    for layer in layers[:2]:
        count = [0]

        def after_a_few(count=count):
            count[0] += 1
            return count[0] > 3  # the first ask is before the layer; 2 more inside it

        with pytest.raises(RunCancelled):
            next(run_layers([layer], x, cancelled=after_a_few))
        # each thread sharing the layer stops at its next question: one True answer each
        assert 1 <= count[0] - 3 <= fastpaths.num_threads()


def test_run_upto_and_outputs():
    p = named_stack()
    x = random(8, (12, 12))
    outs = p.run(x)
    assert len(outs) == 5 and all(o.dtype == np.float32 for o in outs)
    assert [o.shape for o in outs] == [(3, 12, 12), (3, 12, 12), (2, 12, 12), (2, 6, 6), (2, 6, 6)]
    part = p.run(x, upto=2)
    assert len(part) == 2
    np.testing.assert_array_equal(part[1], outs[1])
    # the input is not modified
    x0 = x.copy()
    p.run(x)
    np.testing.assert_array_equal(x, x0)


LONE_SURROGATE_CASES = [
    ({"name": "a\ud800b"}, None, "name"),
    ({"layers": [{"type": "relu", "name": "x\udfff"}]}, 1, "name"),
    ({"layers": [{"type": "relu"}, {"type": "relu", "\ud800": 1}]}, 2, "\\ud800"),
    ({"layers": [{"type": "conv2d", "kernel": [[1.0]], "padding_mode": "\udc00"}]}, 1, "padding_mode"),
    ({"layers": [{"type": "conv2d", "kernel": [[1.0]], "padding": ["\ud83d", 1]}]}, 1, "padding"),
]


@pytest.mark.parametrize(("extra", "layer", "key"), LONE_SURROGATE_CASES)
def test_lone_surrogates_are_refused_on_read(tmp_path, extra, layer, key):
    # JSON allows "\ud800"; UTF-8 cannot hold it, so such a pipeline could never be saved again
    d = {"format": "convstudio-pipeline", "version": 1, "layers": [], **extra}
    text = json.dumps(d)  # ASCII escapes: the file itself is valid UTF-8
    for read in (lambda: Pipeline.from_dict(d), lambda: Pipeline.from_json(text)):
        with pytest.raises(PipelineError, match="lone surrogate") as info:
            read()
        assert (info.value.layer, info.value.key) == (layer, key)
        assert "\n" not in str(info.value)
        str(info.value).encode("utf-8")  # the message itself can be printed anywhere


def test_paired_surrogates_are_text_and_round_trip(tmp_path):
    d = {"format": "convstudio-pipeline", "version": 1, "name": "smile \U0001f600",
         "layers": [{"type": "relu", "name": "\u00e9t\u00e9"}]}
    p = Pipeline.from_json(json.dumps(d))  # "\ud83d\ude00" in the file: one character
    p.save(tmp_path / "p.json")
    assert Pipeline.load(tmp_path / "p.json") == p and p.name == "smile \U0001f600"
