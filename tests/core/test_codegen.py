"""Code export (codegen.py): the generated NumPy/OpenCV script is executed and compared with the
core on every layer type and option; the generated PyTorch source is compiled and its structure
checked, and where torch is installed it is run and compared with the core too (torch is not a
dependency: those tests skip cleanly without it)."""

from __future__ import annotations

import ast
import subprocess
import sys

import cv2
import numpy as np
import pytest

from convstudio.core import PipelineError, load_image
from convstudio.core.codegen import to_numpy_opencv, to_pytorch
from convstudio.core.layers import Conv2d
from convstudio.core.pipeline import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}


def pipe(*layers: dict, name: str | None = "test") -> Pipeline:
    d = dict(HDR, layers=list(layers))
    if name is not None:
        d["name"] = name
    return Pipeline.from_dict(d)


def _w(seed: int, *shape: int) -> list:
    return np.random.default_rng(seed).standard_normal(shape).round(3).tolist()


# (id, pipeline, in_channels, (H, W)). Together they cover every layer type, every padding mode,
# asymmetric and "same" (even kernel) padding, groups, dilation, stride, flip, scale, bias,
# ceil_mode, count_include_pad, the kernel form on RGB and a disabled layer.
CASES = [
    ("conv_zeros_symmetric_bias", pipe(
        {"type": "conv2d", "weight": _w(1, 3, 2, 3, 3), "bias": [0.5, -1.0, 0.25], "padding": 1},
        {"type": "relu"}), 2, (9, 11)),
    ("conv_same_even_zeros_stride", pipe(
        {"type": "conv2d", "weight": _w(2, 2, 1, 4, 4), "padding": "same", "stride": [2, 1]},
        {"type": "tanh"}), 1, (10, 9)),
    ("kernel_rgb_same_reflect_flip_scale", pipe(
        {"type": "conv2d", "kernel": [[1, 2, 0, -1], [3, 4, 1, 0], [0, 1, 2, 5]], "scale": 0.1,
         "flip": True, "padding": "same", "padding_mode": "reflect", "bias": 0.3},
        {"type": "abs"}), 3, (12, 10)),
    ("kernel_rgb_bias_per_channel_replicate", pipe(
        {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625,
         "bias": [0.1, 0.2, 0.3], "padding": [2, 1], "padding_mode": "replicate"}), 3, (8, 8)),
    ("conv_asym_replicate_dilation_stride", pipe(
        {"type": "conv2d", "weight": _w(3, 2, 2, 3, 2), "padding": [2, 0, 1, 3],
         "padding_mode": "replicate", "dilation": [2, 1], "stride": [2, 3]}), 2, (11, 13)),
    ("conv_circular_groups", pipe(
        {"type": "conv2d", "weight": _w(4, 4, 1, 3, 2), "groups": 2, "padding": [1, 2],
         "padding_mode": "circular", "bias": [1, 2, 3, 4]},
        {"type": "conv2d", "weight": _w(5, 2, 2, 2, 2), "groups": 2, "padding": [0, 1, 1, 0],
         "padding_mode": "circular"}), 2, (7, 9)),
    ("conv_same_dilated_reflect", pipe(
        {"type": "conv2d", "weight": _w(6, 1, 3, 2, 3), "padding": "same", "dilation": [3, 2],
         "padding_mode": "reflect"}), 3, (10, 10)),
    ("maxpool_symmetric_ceil_dilation", pipe(
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "maxpool2d", "kernel_size": [2, 3], "stride": [1, 2], "dilation": [2, 1],
         "padding": [1, 1]}), 2, (10, 13)),
    ("maxpool_same_even_ceil", pipe(
        {"type": "maxpool2d", "kernel_size": 2, "padding": "same", "ceil_mode": True},
        {"type": "maxpool2d", "kernel_size": [4, 2], "stride": [3, 2], "padding": "same"}),
     1, (11, 9)),
    ("maxpool_asym_ceil_and_dilated_pad", pipe(
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": [0, 1, 1, 0],
         "ceil_mode": True},
        # padding 1: PyTorch (and so the core) refuses more than half the kernel size, dilated or not
        {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "dilation": 3, "padding": 1}),
     1, (12, 11)),
    ("avgpool_symmetric_ceil_include_and_exclude", pipe(
        {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "avgpool2d", "kernel_size": [2, 3], "stride": [2, 2], "padding": [1, 1],
         "ceil_mode": True, "count_include_pad": False}), 2, (14, 12)),
    ("avgpool_asym_include_pad", pipe(
        {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": [1, 0, 0, 1]},
        {"type": "avgpool2d", "kernel_size": 2, "stride": 2, "padding": "same", "ceil_mode": True}),
     1, (13, 12)),
    ("avgpool_asym_exclude_pad", pipe(
        {"type": "avgpool2d", "kernel_size": [3, 4], "stride": [2, 3], "padding": [0, 1, 2, 1],
         "count_include_pad": False},
        {"type": "avgpool2d", "kernel_size": 2, "stride": 3, "padding": [1, 0, 1, 0],
         "ceil_mode": True, "count_include_pad": False}), 2, (15, 17)),
    ("pad_layer_every_mode", pipe(
        {"type": "pad", "padding": [1, 0, 2, 2], "mode": "constant", "value": 0.5},
        {"type": "pad", "padding": 1, "mode": "zeros"},
        {"type": "pad", "padding": [2, 1], "mode": "reflect"},
        {"type": "pad", "padding": [0, 3, 1, 0], "mode": "replicate"},
        {"type": "pad", "padding": [2, 1, 0, 3], "mode": "circular"},
        {"type": "pad", "padding": 0}), 1, (6, 7)),
    ("stride_and_activations", pipe(
        {"type": "stride", "stride": [2, 3], "offset": [1, 2]},
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "abs", "enabled": False, "name": "switched off"},
        {"type": "sigmoid"},
        {"type": "conv2d", "kernel": [[-4.0]], "bias": 2.0},
        {"type": "tanh"}, {"type": "relu"}, {"type": "abs"}), 3, (9, 14)),
    ("cnn_stack", pipe(
        {"type": "conv2d", "weight": _w(7, 4, 3, 3, 3), "bias": [0.1, 0, -0.1, 0.2],
         "padding": "same", "padding_mode": "reflect", "name": "features"},
        {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "maxpool2d", "kernel_size": 2, "ceil_mode": True},
        {"type": "conv2d", "weight": _w(8, 2, 2, 3, 3), "groups": 2, "stride": 2, "padding": 1},
        {"type": "avgpool2d", "kernel_size": 2, "stride": 1},
        {"type": "sigmoid"}), 3, (17, 15)),
    ("conv_transpose_every_option", pipe(
        {"type": "conv_transpose2d", "weight": _w(9, 4, 3, 3, 2), "bias": [0.5, -1, 0.25, 0, 1, 2],
         "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2], "dilation": [1, 2], "groups": 2},
        {"type": "conv_transpose2d", "weight": _w(10, 6, 1, 4, 4), "stride": 1, "padding": 2},
        {"type": "relu"}), 4, (5, 6)),
    ("upsample_and_symmetric_border", pipe(
        {"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"},
        {"type": "conv2d", "kernel": [[1, -2, 1], [0, 1, 0]], "padding": "same",
         "padding_mode": "symmetric"},
        {"type": "upsample", "scale_factor": 2},
        {"type": "pad", "padding": [3, 1, 0, 9], "mode": "symmetric"},
        {"type": "conv2d", "weight": _w(11, 2, 3, 2, 2), "padding": [1, 0, 2, 1],
         "padding_mode": "symmetric"}), 3, (4, 3)),
]
IDS = [c[0] for c in CASES]


def _input(c: int, hw: tuple[int, int], seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((c,) + hw).astype(np.float32) * 3
    x.flat[::7] *= 30  # a few large values: sigmoid/tanh tails, pooling winners
    return x


def _allowed(layer, prev: np.ndarray, out: np.ndarray) -> float:
    """Float32 tolerance: 1e-5 times the magnitude the layer's arithmetic works at."""
    mag = max(float(np.abs(prev).max()), float(np.abs(out).max()))
    if isinstance(layer, Conv2d) and layer.enabled:
        w = layer.effective_weight(prev.shape[0])
        mag = float(np.abs(prev).max()) * float(np.abs(w).reshape(w.shape[0], -1).sum(1).max())
        b = layer.effective_bias(prev.shape[0])
        if b is not None:
            mag += float(np.abs(b).max())
    elif layer.type == "conv_transpose2d" and layer.enabled:  # every weight of a group, per output
        mag = max(mag, float(np.abs(prev).max()) * float(np.abs(layer.weight).sum(axis=(0, 2, 3)).max()))
    return 1e-5 * max(1.0, mag)


def _compare(p: Pipeline, x: np.ndarray, outputs: list[np.ndarray], what: str) -> None:
    ref = p.run(x)
    assert len(outputs) == len(ref), what
    prev = x
    for i, (layer, got, want) in enumerate(zip(p.layers, outputs, ref), start=1):
        assert got.dtype == np.float32, f"{what} layer {i}"
        assert got.shape == want.shape, f"{what} layer {i} ({layer.type}): {got.shape} != {want.shape}"
        diff = float(np.abs(got.astype(np.float64) - want).max())
        assert diff <= _allowed(layer, prev, want), f"{what} layer {i} ({layer.type}): diff {diff}"
        prev = want


def _exec(code: str) -> dict:
    ns: dict = {"__name__": "convstudio_generated"}
    exec(compile(code, "<generated>", "exec"), ns)
    return ns


def _assigned_lists(code: str) -> dict[str, np.ndarray]:
    """NAME = [...] or NAME = np.array([...], ...) at module level -> float32 arrays."""
    found = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            v = node.value
            if isinstance(v, ast.Call) and v.args:
                v = v.args[0]
            if isinstance(v, ast.List):
                found[node.targets[0].id] = np.array(ast.literal_eval(v), dtype=np.float32)
    return found


# --------------------------------------------------------------------------------------------
# NumPy + OpenCV script


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_script_matches_core(case):
    _, p, c, hw = case
    ns = _exec(to_numpy_opencv(p, in_channels=c))
    for seed in (0, 1):
        x = _input(c, hw, seed)
        _compare(p, x, ns["run"](x), "numpy script")


def test_numpy_script_accepts_2d_input_and_refuses_wrong_channels():
    p = pipe({"type": "conv2d", "kernel": [[1, 0], [0, -1]]})
    ns = _exec(to_numpy_opencv(p, in_channels=1))
    x = _input(1, (5, 6))
    np.testing.assert_array_equal(ns["run"](x[0])[0], ns["run"](x)[0])
    with pytest.raises(ValueError, match="expected"):
        ns["run"](np.zeros((3, 5, 6), np.float32))


def test_numpy_script_is_standalone_and_emits_only_used_functions():
    code = to_numpy_opencv(pipe({"type": "relu"}, {"type": "sigmoid"}), in_channels=1)
    imports = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module)
    assert imports == {"sys", "cv2", "numpy"}
    funcs = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)}
    assert {"relu", "sigmoid", "run", "load_image"} <= funcs
    assert not funcs & {"conv2d", "pad", "maxpool2d", "avgpool2d", "subsample", "tanh"}


def test_numpy_script_embeds_exact_effective_weights():
    # 0.1 and 1/3 are not exact in binary: the float32 values must survive the round trip.
    p = pipe({"type": "conv2d", "kernel": [[0.1, 1 / 3], [2.7182817, -1e-7]], "scale": 0.3,
              "flip": True, "bias": 0.1})
    code = to_numpy_opencv(p, in_channels=3)
    arrays = _assigned_lists(code)
    layer = p.layers[0]
    np.testing.assert_array_equal(arrays["LAYER1_WEIGHT"], layer.effective_weight(3))
    np.testing.assert_array_equal(arrays["LAYER1_BIAS"], layer.effective_bias(3))
    assert _exec(code)["LAYER1_WEIGHT"].dtype == np.float32


def test_numpy_script_main_runs_an_image(tmp_path):
    p = CASES[-1][1]  # the RGB CNN stack
    script = tmp_path / "pipeline.py"
    script.write_text(to_numpy_opencv(p, in_channels=3), encoding="utf-8")
    img = (np.random.default_rng(3).random((20, 18, 3)) * 255).astype(np.uint8)
    png = tmp_path / "in.png"
    assert cv2.imwrite(str(png), img)
    res = subprocess.run([sys.executable, str(script), str(png)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    shapes = p.output_shapes((3, 20, 18))
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "input: (3, 20, 18)"
    assert lines[1:] == [f"layer {i}: {s}" for i, s in enumerate(shapes[1:], start=1)]
    # the script's loader agrees with ConvStudio's (RGB order, / 255)
    ns = _exec(script.read_text(encoding="utf-8"))
    np.testing.assert_array_equal(ns["load_image"](str(png)), load_image(png))


# --------------------------------------------------------------------------------------------
# PyTorch source, without torch


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pytorch_code_compiles_with_header_and_weights(case):
    name, p, c, _ = case
    code = to_pytorch(p, in_channels=c)
    compile(code, "<generated>", "exec")
    first = code.splitlines()[0]
    assert first == "# Generated by ConvStudio from pipeline 'test'."
    assert f"(N, {c}, H, W)" in code.split("import torch")[0]
    assert "def build_model() -> nn.Sequential:" in code
    arrays = _assigned_lists(code)
    ch = c
    for i, layer in enumerate(p.layers, start=1):
        registered = f'model.add_module("layer{i}", ' in code
        assert registered == layer.enabled, f"layer {i}"
        if isinstance(layer, Conv2d):
            np.testing.assert_array_equal(arrays[f"LAYER{i}_WEIGHT"], layer.effective_weight(ch))
            if layer.bias is not None:
                np.testing.assert_array_equal(arrays[f"LAYER{i}_BIAS"], layer.effective_bias(ch))
            ch = layer.channels(ch)[1]


def _torch_code(*layers: dict, c: int = 1) -> str:
    """The PyTorch source with every run of whitespace made one space (calls are wrapped)."""
    code = to_pytorch(pipe(*layers), in_channels=c)
    compile(code, "<generated>", "exec")
    return " ".join(code.split())


def test_pytorch_conv_padding_translations():
    # symmetric zeros: Conv2d's own padding
    code = _torch_code({"type": "conv2d", "weight": _w(1, 2, 1, 3, 5), "padding": [1, 2]})
    assert "padding=(1, 2)" in code and "ZeroPad2d" not in code
    assert "nn.Conv2d(1, 2, kernel_size=(3, 5), stride=(1, 1), padding=(1, 2)" in code
    # "same" with an even kernel: explicit (left, right, top, bottom), extra row/column top/left
    code = _torch_code({"type": "conv2d", "kernel": [[1] * 4] * 4, "padding": "same"}, c=3)
    assert "nn.ZeroPad2d((2, 1, 2, 1))" in code and "padding=0" in code and "groups=3" in code
    assert "bottom/right" in code  # the comment on PyTorch's different split
    code = _torch_code({"type": "conv2d", "kernel": [[1, 2]], "padding": [0, 1, 2, 3],
                        "dilation": 2, "stride": [1, 2]})
    assert "nn.ZeroPad2d((2, 3, 0, 1))" in code and "dilation=(2, 2)" in code
    assert "stride=(1, 2)" in code
    for mode, module in (("reflect", "nn.ReflectionPad2d((1, 1, 1, 1))"),
                         ("replicate", "nn.ReplicationPad2d((1, 1, 1, 1))"),
                         ("circular", "nn.CircularPad2d((1, 1, 1, 1))")):
        code = _torch_code({"type": "conv2d", "kernel": [[1] * 3] * 3, "padding": 1,
                            "padding_mode": mode})
        assert module in code and "padding=0" in code
    code = _torch_code({"type": "conv2d", "kernel": [[1] * 5] * 5, "padding": 2,
                        "padding_mode": "reflect"})
    assert "at least 3 x 3" in code  # PyTorch's reflect limit, stated


def test_pytorch_pool_translations():
    code = _torch_code({"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1,
                        "ceil_mode": True})
    assert ("nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), "
            "ceil_mode=True)") in code
    assert "class Pool2d" not in code
    code = _torch_code({"type": "avgpool2d", "kernel_size": 3, "padding": 1,
                        "count_include_pad": False, "ceil_mode": True})
    assert ("nn.AvgPool2d(kernel_size=(3, 3), stride=(3, 3), padding=(1, 1), ceil_mode=True, "
            "count_include_pad=False)") in code
    # asymmetric without ceil_mode: explicit pad, then a padding=0 pool
    code = _torch_code({"type": "maxpool2d", "kernel_size": 2, "padding": "same"})
    assert 'nn.ConstantPad2d((1, 0, 1, 0), float("-inf"))' in code
    assert "nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=0" in code
    code = _torch_code({"type": "avgpool2d", "kernel_size": 3, "padding": [1, 0, 0, 1]})
    assert "nn.ConstantPad2d((0, 1, 1, 0), 0.0)" in code and "padding=0" in code
    # what nn.*Pool2d cannot express: the exact Pool2d module
    for layer in ({"type": "maxpool2d", "kernel_size": 2, "padding": "same", "ceil_mode": True},
                  {"type": "maxpool2d", "kernel_size": 2, "dilation": 3, "padding": 2,
                   "ceil_mode": True},
                  {"type": "avgpool2d", "kernel_size": 3, "padding": [1, 0, 1, 1],
                   "count_include_pad": False}):
        code = _torch_code(layer)
        assert "class Pool2d(nn.Module)" in code and 'Pool2d(\'' in code, layer
    code = _torch_code({"type": "maxpool2d", "kernel_size": 2, "dilation": 3, "padding": 2})
    assert 'nn.ConstantPad2d((2, 2, 2, 2), float("-inf"))' in code  # over PyTorch's pad limit


def test_pytorch_other_layers_and_helpers_only_when_used():
    code = _torch_code({"type": "pad", "padding": [1, 0, 2, 3], "mode": "constant", "value": 0.1},
                       {"type": "pad", "padding": 2, "mode": "reflect"},
                       {"type": "stride", "stride": 2, "offset": [1, 0]},
                       {"type": "relu"}, {"type": "leaky_relu", "negative_slope": 0.1},
                       {"type": "abs"}, {"type": "sigmoid"}, {"type": "tanh"})
    for text in ("nn.ConstantPad2d((2, 3, 1, 0), 0.1)", "nn.ReflectionPad2d((2, 2, 2, 2))",
                 "Subsample(stride=(2, 2), offset=(1, 0))", "nn.ReLU()",
                 "nn.LeakyReLU(negative_slope=0.1)", "Abs()", "nn.Sigmoid()", "nn.Tanh()"):
        assert text in code, text
    assert "class Pool2d" not in code and "def load_weights" not in code
    code = _torch_code({"type": "relu"})
    assert "class Abs" not in code and "class Subsample" not in code


def test_user_text_cannot_break_the_code():
    p = pipe({"type": "relu", "name": "evil\nimport os\x00"},
             name="line one\nraise SystemExit('boom')\r\u2028'\"")
    for code in (to_pytorch(p, in_channels=1), to_numpy_opencv(p, in_channels=1)):
        compile(code, "<generated>", "exec")
        assert "\x00" not in code and "\u2028" not in code
        assert code.splitlines()[0].startswith("# Generated by ConvStudio from pipeline 'line one")
        assert not any(ln.startswith(("raise", "import os")) for ln in code.splitlines())
    assert "pipeline '(unnamed)'" in to_pytorch(pipe({"type": "relu"}, name=None), in_channels=1)


def test_channel_mismatch_and_bad_in_channels_are_clear_errors():
    p = pipe({"type": "relu"}, {"type": "conv2d", "weight": _w(1, 2, 3, 3, 3)})
    for gen in (to_pytorch, to_numpy_opencv):
        with pytest.raises(ValueError, match="layer 2.*3 input channels.*has 1"):
            gen(p, in_channels=1)
        with pytest.raises(ValueError, match="in_channels"):
            gen(p, in_channels=0)
    with pytest.raises(PipelineError, match="layer 1 'bias'"):
        to_pytorch(pipe({"type": "conv2d", "kernel": [[1]], "bias": [1, 2]}), in_channels=3)
    # a disabled layer does not change the channels
    p = pipe({"type": "conv2d", "weight": _w(1, 2, 3, 1, 1), "enabled": False},
             {"type": "conv2d", "weight": _w(2, 1, 3, 1, 1)})
    compile(to_pytorch(p, in_channels=3), "<generated>", "exec")


# --------------------------------------------------------------------------------------------
# PyTorch, for real (only where torch is installed)


def _torch_outputs(torch, model, p: Pipeline, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for a batch x (N, C, H, W), disabled layers passing through."""
    children = dict(model.named_children())
    cur = torch.from_numpy(x)
    outs = []
    with torch.no_grad():
        for i, layer in enumerate(p.layers, start=1):
            if layer.enabled:
                cur = children[f"layer{i}"](cur)
            outs.append(cur.numpy())
    return outs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pytorch_model_matches_core(case):
    torch = pytest.importorskip("torch")
    _, p, c, hw = case
    model = _exec(to_pytorch(p, in_channels=c))["build_model"]()
    assert isinstance(model, torch.nn.Sequential)
    batch = np.stack([_input(c, hw, 0), _input(c, hw, 1)])
    outs = _torch_outputs(torch, model, p, batch)
    for n in range(2):
        _compare(p, batch[n], [o[n] for o in outs], f"torch sample {n}")
    with torch.no_grad():
        whole = model(torch.from_numpy(batch)).numpy()
    np.testing.assert_array_equal(whole, outs[-1])


def _random_pipeline(rng: np.random.Generator, c: int) -> list[dict]:
    def pad(maxp: int):
        r = rng.integers(0, 4)
        if r == 0:
            return int(rng.integers(0, maxp + 1))
        if r == 1:
            return "same"
        return [int(v) for v in rng.integers(0, maxp + 1, 2 if r == 2 else 4)]

    layers = []
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.choice(["conv", "kernel", "max", "avg", "pad", "stride"])
        if kind in ("conv", "kernel"):
            kh, kw = (int(v) for v in rng.integers(1, 5, 2))
            d = {"type": "conv2d", "padding": pad(2),
                 "padding_mode": str(rng.choice(["zeros", "reflect", "replicate", "circular"])),
                 "stride": [int(v) for v in rng.integers(1, 3, 2)],
                 "dilation": [int(v) for v in rng.integers(1, 3, 2)],
                 "flip": bool(rng.integers(0, 2)), "scale": float(rng.choice([1.0, 0.1]))}
            if kind == "kernel":
                d["kernel"] = rng.standard_normal((kh, kw)).tolist()
            else:
                g = int(rng.choice([g for g in (1, 2, 3) if c % g == 0]))
                cout = g * int(rng.integers(1, 3))
                d.update(weight=rng.standard_normal((cout, c // g, kh, kw)).tolist(), groups=g,
                         bias=rng.standard_normal(cout).tolist())
                c = cout
        elif kind in ("max", "avg"):
            d = {"type": f"{kind}pool2d", "kernel_size": [int(v) for v in rng.integers(1, 5, 2)],
                 "stride": [int(v) for v in rng.integers(1, 4, 2)], "padding": pad(2),
                 "ceil_mode": bool(rng.integers(0, 2))}
            if kind == "max":
                d["dilation"] = [int(v) for v in rng.integers(1, 3, 2)]
            else:
                d["count_include_pad"] = bool(rng.integers(0, 2))
        elif kind == "pad":
            d = {"type": "pad", "padding": [int(v) for v in rng.integers(0, 3, 4)],
                 "mode": str(rng.choice(["zeros", "reflect", "replicate", "circular",
                                         "constant"])), "value": 0.25}
            if d["mode"] != "constant":
                del d["value"]
        else:
            s = [int(v) for v in rng.integers(1, 3, 2)]
            d = {"type": "stride", "stride": s, "offset": [int(rng.integers(0, v)) for v in s]}
        layers.append(d)
    return layers


def _random_cases(n: int, seed: int):
    rng = np.random.default_rng(seed)
    while n:
        c = int(rng.choice([1, 2, 3]))
        try:
            p = pipe(*_random_pipeline(rng, c))
            hw = tuple(int(v) for v in rng.integers(6, 14, 2))
            p.output_shapes((c,) + hw)
        except PipelineError:
            continue  # a window larger than its padded input, a pool padding over half, ...
        n -= 1
        yield p, c, hw, rng.standard_normal((c,) + hw).astype(np.float32)


def test_random_pipelines_numpy_script():
    for p, c, _, x in _random_cases(60, seed=11):
        _compare(p, x, _exec(to_numpy_opencv(p, in_channels=c))["run"](x), "numpy script")


def test_random_pipelines_pytorch():
    torch = pytest.importorskip("torch")
    checked = 0
    for p, c, _, x in _random_cases(80, seed=12):
        code = to_pytorch(p, in_channels=c)
        model = _exec(code)["build_model"]()
        try:
            outs = _torch_outputs(torch, model, p, x[None])
        except RuntimeError as exc:
            # The one documented limit: PyTorch's reflect / circular padding refuses pads not
            # smaller than (reflect) or larger than (circular) the input; the code says so.
            msg = str(exc)
            assert "Padding size should be less than" in msg or "wrapping around" in msg, msg
            assert "ConvStudio mirrors repeatedly" in code or "ConvStudio wraps repeatedly" in code
            continue
        _compare(p, x, [o[0] for o in outs], "torch")
        checked += 1
    assert checked >= 65


def test_numpy_script_pad_falls_back_to_numpy_where_opencv_refuses():
    """Older OpenCV builds refuse some reflect / wrap pads larger than the image: the script
    then pads with numpy.pad, which gives the same numbers."""
    import types

    _, p, c, hw = CASES[IDS.index("pad_layer_every_mode")]
    ns = _exec(to_numpy_opencv(p, in_channels=c))

    def refuse(*args, **kwargs):
        raise cv2.error("refused")

    ns["cv2"] = types.SimpleNamespace(**{k: getattr(cv2, k) for k in dir(cv2)
                                         if not k.startswith("__")})
    ns["cv2"].copyMakeBorder = refuse
    x = _input(c, (2, 3))  # pads up to 3 on a 2 x 3 input: repeated mirroring and wrapping
    _compare(p, x, ns["run"](x), "numpy fallback")
