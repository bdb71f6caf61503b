"""Hostile input: the pipeline and image loaders, fuzzed for a bounded time.

No input may crash the process, hang it or allocate without bound; every refusal must be the
core's own error type with a one-line message.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convstudio.core import ImageIOError, Pipeline, PipelineError, load_image, save_image

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LAYER_KEYS = ["type", "weight", "kernel", "bias", "scale", "stride", "padding", "padding_mode",
              "dilation", "groups", "flip", "kernel_size", "ceil_mode", "count_include_pad", "mode",
              "value", "offset", "negative_slope", "enabled", "name", "bogus"]
TYPES = ["conv2d", "maxpool2d", "avgpool2d", "pad", "stride", "relu", "leaky_relu", "abs",
         "sigmoid", "tanh", "conv3d", ""]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "zeros", "reflect", "replicate", "circular", "constant",
                     "x"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(LAYER_KEYS), inner, max_size=5)),
    max_leaves=12)
layers = st.fixed_dictionaries({"type": st.sampled_from(TYPES)},
                               optional={k: json_values for k in LAYER_KEYS[1:]})
pipelines = st.fixed_dictionaries({
    "format": st.sampled_from(["convstudio-pipeline", "other"]),
    "version": st.sampled_from([1, 2, True, "1"]),
    "layers": st.lists(layers, max_size=6)})


def one_line(exc: Exception) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines, st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12)))
def test_pipeline_dicts_parse_or_refuse_cleanly(d, shape):
    try:
        p = Pipeline.from_dict(d)
    except PipelineError as exc:
        one_line(exc)
        return
    # whatever parsed must survive a JSON round trip and either fit the shape or say why
    assert Pipeline.from_json(p.to_json()).to_dict() == p.to_dict()
    try:
        shapes = p.output_shapes(shape)
    except PipelineError as exc:
        one_line(exc)
        return
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    outs = p.run(x)
    assert [o.shape for o in outs] == [tuple(s) for s in shapes[1:]]
    for o in outs:
        assert o.dtype == np.float32
        # only the input range and finite weights go in: nothing may come out NaN
        assert not np.isnan(o).any()


@FUZZ
@given(st.binary(max_size=400))
def test_pipeline_bytes_parse_or_refuse_cleanly(data):
    try:
        Pipeline.from_json(data)
    except PipelineError as exc:
        one_line(exc)


@FUZZ
@given(st.text(max_size=300))
def test_pipeline_text_with_json_fragments(text):
    doc = '{"format": "convstudio-pipeline", "version": 1, "layers": [' + text + "]}"
    try:
        Pipeline.from_json(doc)
    except PipelineError as exc:
        one_line(exc)


def test_deeply_nested_json_is_refused():
    doc = '{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", ' \
          '"kernel": ' + "[" * 100000 + "]" * 100000 + "}]}"
    with pytest.raises(PipelineError):
        Pipeline.from_json(doc)


def test_huge_kernel_is_refused_before_allocation():
    side = 100000
    doc = json.dumps({"format": "convstudio-pipeline", "version": 1,
                      "layers": [{"type": "maxpool2d", "kernel_size": side}]})
    with pytest.raises(PipelineError, match="kernel_size"):
        Pipeline.from_json(doc)
    row = "[" + ",".join(["1"] * 300) + "]"
    doc = '{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", ' \
          '"kernel": [' + ",".join([row] * 3) + "]}]}"
    with pytest.raises(PipelineError, match="255"):
        Pipeline.from_json(doc)


def test_huge_output_is_refused_before_allocation():
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "weight": np.zeros((4096, 1, 1, 1)).tolist()}]})
    with pytest.raises(PipelineError, match="GiB"):
        p.output_shapes((1, 4000, 6000))


# ------------------------------------------------------------------------------------ images


def _encoded(ext: str) -> bytes:
    x = np.random.default_rng(7).random((3, 12, 10), dtype=np.float32)
    return {".png": _png_bytes, ".npy": _npy_bytes}[ext](x)


def _png_bytes(x) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", (x.transpose(1, 2, 0) * 255).astype(np.uint8))
    assert ok
    return buf.tobytes()


def _npy_bytes(x) -> bytes:
    bio = io.BytesIO()
    np.save(bio, x)
    return bio.getvalue()


@pytest.mark.parametrize("ext", [".png", ".npy"])
@FUZZ
@given(data=st.data())
def test_mutated_images_load_or_refuse_cleanly(tmp_path_factory, ext, data):
    raw = bytearray(_encoded(ext))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    path = tmp_path_factory.mktemp("fuzz") / f"m{ext}"
    path.write_bytes(bytes(raw[:cut]))
    try:
        x = load_image(path)
    except ImageIOError as exc:
        one_line(exc)
        return
    assert x.dtype == np.float32 and x.ndim == 3 and 0 not in x.shape
    assert np.isfinite(x).all()


@pytest.mark.parametrize("payload", [
    np.array([[np.nan, 1.0]], np.float32),
    np.array([[np.inf, 1.0]], np.float64),
    np.zeros((2, 2, 2, 2), np.float32),
    np.zeros((0, 4), np.float32),
    np.array([[1 + 2j]]),
    np.array([["a", "b"]]),
])
def test_bad_npy_refused(tmp_path, payload):
    path = tmp_path / "bad.npy"
    np.save(path, payload)
    with pytest.raises(ImageIOError) as info:
        load_image(path)
    one_line(info.value)


def test_pickled_npy_refused(tmp_path):
    path = tmp_path / "pickle.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImageIOError):
        load_image(path)


def test_one_pixel_and_kernel_larger_than_image(tmp_path):
    path = tmp_path / "one.png"
    save_image(path, np.ones((1, 1, 1), np.float32))
    x = load_image(path)
    assert x.shape == (1, 1, 1)
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[1, 2, 1]] * 3}]})
    with pytest.raises(PipelineError, match="larger than its padded input"):
        p.run(x)
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[1, 2, 1]] * 3, "padding": "same"}]})
    assert p.run(x)[0].shape == (1, 1, 1)
    # zero padding: only the centre tap (2) sees the pixel
    assert math.isclose(float(p.run(x)[0][0, 0, 0]), 2.0, rel_tol=1e-6)


def test_wrong_extension_decodes_by_content(tmp_path):
    path = tmp_path / "really-a-png.jpg"
    path.write_bytes(_encoded(".png"))
    assert load_image(path).shape == (3, 12, 10)
    text = tmp_path / "notes.png"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(ImageIOError):
        load_image(text)
