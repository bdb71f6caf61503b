"""One truth: what the window computes is what ``convstudio apply`` writes, bit for bit.

The renderer runs on its own worker thread exactly as in the app (a Document, the real
Renderer, waited for on its signals); the command line runs in this process through its own
entry point. For every example pipeline, every lesson and random stacks of every layer type,
each layer's map in the window equals ``apply --layer N --format npy`` with ``np.array_equal``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convstudio import cli
from convstudio.app.model.document import Document
from convstudio.core import Pipeline, load_image
from convstudio.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SAMPLES = ROOT / "resources" / "samples"


def window_outputs(qtbot, renderers, image: np.ndarray, pipeline: Pipeline) -> list[np.ndarray]:
    doc = Document()
    r = renderers(doc, debounce_ms=5)
    doc.set_image_array(image, "test")
    doc.new_pipeline(pipeline)
    r.flush()
    qtbot.waitUntil(lambda: not r.busy, timeout=60_000)
    assert r.errors == {}, r.errors
    assert r.factor == 1  # full resolution: no preview for these sizes
    return list(r.outputs)


def apply_outputs(tmp_path: Path, image_path: Path, pipeline: Pipeline) -> list[np.ndarray]:
    pipe = tmp_path / "pipeline.json"
    pipe.write_text(pipeline.to_json(), encoding="utf-8")
    outs = []
    for k in range(1, len(pipeline) + 1):
        out = tmp_path / f"layer{k}.npy"
        assert cli.main(["apply", str(pipe), str(image_path), "--layer", str(k),
                         "-o", str(out)]) == 0
        outs.append(np.load(out, allow_pickle=False))
    return outs


def assert_same_bits(window: list[np.ndarray], apply: list[np.ndarray]) -> None:
    assert len(window) == len(apply)
    for k, (a, b) in enumerate(zip(window, apply), start=1):
        assert a.dtype == b.dtype == np.float32, k
        assert np.array_equal(a, b, equal_nan=True), f"layer {k} differs"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_in_the_window_are_applys_bits(qtbot, renderers, tmp_path, example):
    pipeline = Pipeline.load(example)
    image_path = SAMPLES / "cat.png"  # RGB: the examples are written for colour photos
    window = window_outputs(qtbot, renderers, load_image(image_path), pipeline)
    assert_same_bits(window, apply_outputs(tmp_path, image_path, pipeline))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_lessons_in_the_window_are_applys_bits(qtbot, renderers, tmp_path, lesson):
    image = lesson.make_image()
    image_path = tmp_path / "input.npy"
    np.save(image_path, image)
    pipeline = lesson.build_pipeline()
    window = window_outputs(qtbot, renderers, image, pipeline)
    assert_same_bits(window, apply_outputs(tmp_path, image_path, pipeline))


def random_stack(rng: np.random.Generator, channels: int) -> list[dict]:
    """A random pipeline in the file format: every layer type, both conv forms, odd and even
    kernels, strides, dilation, groups, border modes, a disabled layer now and then."""
    layers: list[dict] = []
    c = channels
    for _ in range(int(rng.integers(2, 6))):
        enabled = rng.random() >= 0.1
        kind = rng.choice(["kernel", "weight", "pool", "act", "pad", "stride"],
                          p=[0.25, 0.3, 0.15, 0.15, 0.08, 0.07])
        if kind == "kernel":
            k = int(rng.integers(1, 8))
            layers.append({"type": "conv2d", "kernel": rng.standard_normal((k, k)).round(3).tolist(),
                           "padding": "same",
                           "padding_mode": str(rng.choice(["zeros", "reflect", "replicate",
                                                           "circular"]))})
        elif kind == "weight":
            groups = int(rng.choice([g for g in (1, 2, 3) if c % g == 0]))
            cout = groups * int(rng.integers(1, 4))
            k = int(rng.integers(1, 6))
            layers.append({"type": "conv2d",
                           "weight": rng.standard_normal((cout, c // groups, k, k)).round(3).tolist(),
                           "bias": rng.standard_normal(cout).round(3).tolist(),
                           "groups": groups, "stride": int(rng.integers(1, 3)),
                           "dilation": int(rng.integers(1, 3)), "padding": int(rng.integers(0, 3))})
            if enabled:
                c = cout
        elif kind == "pool":
            layers.append({"type": str(rng.choice(["maxpool2d", "avgpool2d"])),
                           "kernel_size": int(rng.integers(2, 4)), "stride": int(rng.integers(1, 3)),
                           "padding": 1, "ceil_mode": bool(rng.integers(0, 2))})
        elif kind == "act":
            layers.append({"type": str(rng.choice(["relu", "leaky_relu", "abs", "sigmoid",
                                                   "tanh"]))})
        elif kind == "pad":
            layers.append({"type": "pad", "padding": int(rng.integers(1, 3)),
                           "mode": str(rng.choice(["zeros", "reflect", "replicate", "circular"]))})
        else:
            layers.append({"type": "stride", "stride": 2})
        if not enabled:
            layers[-1]["enabled"] = False
    return layers


@pytest.mark.parametrize("seed", range(10))
def test_random_stacks_in_the_window_are_applys_bits(qtbot, renderers, tmp_path, seed):
    rng = np.random.default_rng(seed)
    channels = int(rng.choice([1, 3]))
    image = rng.random((channels, int(rng.integers(24, 90)), int(rng.integers(24, 90))),
                       dtype=np.float32)
    d = {"format": "convstudio-pipeline", "version": 1, "layers": random_stack(rng, channels)}
    pipeline = Pipeline.from_dict(json.loads(json.dumps(d)))
    pipeline.output_shapes(image.shape)  # every random stack fits its image
    image_path = tmp_path / "input.npy"
    np.save(image_path, image)
    window = window_outputs(qtbot, renderers, image, pipeline)
    assert_same_bits(window, apply_outputs(tmp_path, image_path, pipeline))


def test_a_large_layer_in_the_window_is_applys_bits(qtbot, renderers, tmp_path):
    """Large enough that the core splits it into bands and thread-pool tasks, which the app
    used to re-band on its own."""
    rng = np.random.default_rng(5)
    image = rng.random((3, 700, 900), dtype=np.float32)
    pipeline = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": rng.standard_normal((31, 31)).round(3).tolist(),
         "padding": "same", "padding_mode": "reflect"},
        {"type": "conv2d", "weight": rng.standard_normal((8, 3, 3, 3)).round(3).tolist(),
         "padding": 1},
        {"type": "maxpool2d", "kernel_size": 2}]})
    image_path = tmp_path / "input.npy"
    np.save(image_path, image)
    window = window_outputs(qtbot, renderers, image, pipeline)
    assert_same_bits(window, apply_outputs(tmp_path, image_path, pipeline))
