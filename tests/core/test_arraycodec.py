"""The compact array form of pipeline files (docs/pipeline-format.md, "Compact arrays")."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from convstudio.core import Conv2d, MaxPool2d, Pipeline, PipelineError, ReLU
from convstudio.core.arraycodec import compact_pipeline_json, encode_array


def conv_file(weight) -> dict:
    return {"format": "convstudio-pipeline", "version": 1,
            "layers": [{"type": "conv2d", "weight": weight, "padding": 1}]}


def test_round_trip_is_exact_and_equals_the_nested_lists():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    w[0, 0, 0, 0] = np.float32(1e-40)  # a subnormal survives too
    p = Pipeline((Conv2d(weight=w, bias=rng.standard_normal(4).astype(np.float32), padding="same",
                         name="c"), ReLU(), MaxPool2d(kernel_size=2), Conv2d(kernel=[[1, 2], [3, 4]])),
                 name="net")
    text = compact_pipeline_json(p)
    d = json.loads(text)
    assert d["layers"][0]["weight"]["shape"] == [4, 3, 3, 2]
    assert isinstance(d["layers"][0]["bias"], list) and isinstance(d["layers"][3]["kernel"], list)
    again = Pipeline.from_json(text)
    assert again == p == Pipeline.from_json(p.to_json())
    np.testing.assert_array_equal(again.layers[0].weight, w)
    # the bytes are little-endian float32 in row-major order, whatever the machine
    raw = base64.b64decode(d["layers"][0]["weight"]["base64"])
    np.testing.assert_array_equal(np.frombuffer(raw, "<f4").reshape(w.shape), w)


def test_bias_and_kernel_may_be_compact_too():
    k = np.arange(6, dtype=np.float32).reshape(2, 3)
    d = {"format": "convstudio-pipeline", "version": 1,
         "layers": [{"type": "conv2d", "kernel": encode_array(k), "bias": encode_array(np.ones(1))}]}
    layer = Pipeline.from_dict(d).layers[0]
    np.testing.assert_array_equal(layer.kernel, k)
    np.testing.assert_array_equal(layer.bias, [1.0])


def good() -> dict:
    return encode_array(np.ones((2, 1, 3, 3), np.float32))


@pytest.mark.parametrize("change, message", [
    (lambda v: v.update(dtype="float64"), "'dtype' must be one of float32"),
    (lambda v: v.update(extra=1), "unknown key 'extra'"),
    (lambda v: v.pop("shape"), "'shape' is required"),
    (lambda v: v.update(shape=[2, 1, 3]), "'shape' must be a list of 4 sizes"),
    (lambda v: v.update(shape=[2, 1, 3, 0]), "sizes must be integers of at least 1"),
    (lambda v: v.update(shape=[2, 1, 3, True]), "sizes must be integers of at least 1"),
    (lambda v: v.update(shape=[4096, 4096, 255, 255]), "has more than 16777216 numbers"),
    (lambda v: v.update(base64=v["base64"][:-4]), "'base64' has 92 characters where shape"),
    (lambda v: v.update(base64="!" * 96), "not valid base64"),
    (lambda v: v.update(base64=base64.b64encode(bytes(70)).decode()), "'base64' holds 70 bytes"),
    (lambda v: v.update(base64=5), "'base64' must be a string"),
    (lambda v: v.update(base64=base64.b64encode(np.full(18, np.nan, "<f4").tobytes()).decode()),
     "finite numbers"),
    (lambda v: v.update(shape=[1, 1, 256, 1], base64=base64.b64encode(bytes(1024)).decode()),
     "kernel side 256 is over the limit of 255"),
])
def test_malformed_compact_arrays_are_refused_naming_the_layer_and_key(change, message):
    v = good()
    change(v)
    with pytest.raises(PipelineError, match="layer 1 'weight': ") as info:
        Pipeline.from_dict(conv_file(v))
    assert message in str(info.value)


def test_a_huge_declared_shape_is_refused_before_decoding(monkeypatch):
    import convstudio.core.arraycodec as codec

    monkeypatch.setattr(codec.base64, "b64decode", lambda *a, **k: pytest.fail("decoded"))
    v = {"dtype": "float32", "shape": [1 << 20, 1 << 20, 3, 3], "base64": "AAAA"}
    with pytest.raises(PipelineError, match="more than 16777216 numbers"):
        Pipeline.from_dict(conv_file(v))
    v = {"dtype": "float32", "shape": [2, 1, 3, 3], "base64": "A" * 10_000}
    with pytest.raises(PipelineError, match="10000 characters where shape"):
        Pipeline.from_dict(conv_file(v))
