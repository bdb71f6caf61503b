"""`convstudio import MODEL.onnx -o PIPELINE.json`: what it writes, prints and refuses
(docs/cli.md, "import"). The numbers of every operator are checked in
tests/core/test_onnx_import.py; here the command around them."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convstudio.cli import main  # noqa: E402
from convstudio.core import Pipeline  # noqa: E402
from convstudio.core.onnx_import import import_onnx  # noqa: E402


def write_model(path, *, metadata=None, huge=False) -> dict[str, np.ndarray]:
    """x (1, 3, 10, 10) -> conv1 (4, 3x3, pad 1) -> bn -> relu -> pool -> flat (Flatten)."""
    rng = np.random.default_rng(0)
    w = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
         "b": rng.standard_normal(4).astype(np.float32),
         "s": rng.uniform(0.5, 2, 4).astype(np.float32), "B": rng.standard_normal(4).astype(np.float32),
         "m": rng.standard_normal(4).astype(np.float32), "v": rng.uniform(0.5, 2, 4).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "B", "m", "v"], ["n"], name="bn1"),
             helper.make_node("Relu", ["n"], ["r"], name="relu1"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat")]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    if huge:
        del inits[0].dims[:]
        inits[0].dims.extend([1 << 16, 1 << 16, 3, 3])
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 3, 10, 10])],
                              [helper.make_tensor_value_info("f", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if metadata:
        helper.set_model_props(model, metadata)
    path.write_bytes(model.SerializeToString())
    return w


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["import", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_writes_the_trunk_and_says_where_it_stopped(tmp_path, capsys):
    write_model(tmp_path / "m.onnx")
    code, out, err = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "p.json")
    assert (code, err) == (0, "")
    written = Pipeline.load(tmp_path / "p.json")
    assert written == import_onnx(tmp_path / "m.onnx", name="m").pipeline
    assert [layer.type for layer in written.layers] == ["conv2d", "relu", "maxpool2d"]
    lines = out.splitlines()
    assert lines[0].startswith("m.onnx: 3 layers from input 'x' (3 x 10 x 10) through node 'pool1'")
    assert "stopped at node 'flat' (Flatten): the convolutional trunk ends here" in out
    assert "folded BatchNormalization" in out
    assert isinstance(json.loads((tmp_path / "p.json").read_text())["layers"][0]["weight"], list)


def test_compact_until_and_normalization(tmp_path, capsys):
    write_model(tmp_path / "m.onnx", metadata={"mean": "0.5", "std": "0.25"})
    code, out, _ = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "c.json", "--compact",
                       "--until", "relu1")
    assert code == 0
    text = (tmp_path / "c.json").read_text()
    assert '"base64"' in text
    p = Pipeline.load(tmp_path / "c.json")
    assert [layer.type for layer in p.layers] == ["conv2d", "conv2d", "relu"]
    assert p.layers == import_onnx(tmp_path / "m.onnx", until="relu1").pipeline.layers  # exactly
    assert "stopped" not in out and "normalisation from the model's metadata" in out
    code, _, _ = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "d.json", "--mean", "0.4,0.5,0.6",
                     "--std", "0.2,0.2,0.2", "--input", "x")
    first = Pipeline.load(tmp_path / "d.json").layers[0]
    np.testing.assert_allclose(first.bias, -np.array([0.4, 0.5, 0.6]) / 0.2, rtol=1e-6)
    assert code == 0


@pytest.mark.parametrize("make, args, message", [
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), [], "not an ONNX model"),
    (lambda p: write_model(p, huge=True), [], "declares shape [65536, 65536, 3, 3]"),
    (write_model, ["--until", "nope"], "no node named 'nope'"),
    (write_model, ["--input", "nope"], "no tensor named 'nope'"),
    (write_model, ["--mean", "a,b"], "--mean must be numbers"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make, args, message):
    make(tmp_path / "m.onnx")
    code, out, err = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "p.json", *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("convstudio: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "p.json").exists()


def test_the_model_is_never_overwritten(tmp_path, capsys):
    write_model(tmp_path / "m.onnx")
    before = (tmp_path / "m.onnx").read_bytes()
    code, _, err = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "m.onnx")
    assert code == 2 and "inputs are never overwritten" in err
    assert (tmp_path / "m.onnx").read_bytes() == before


def test_a_pipeline_too_large_for_its_file_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    import convstudio.core.pipeline as pipeline_module

    write_model(tmp_path / "m.onnx")
    monkeypatch.setattr(pipeline_module, "MAX_FILE_BYTES", 512)
    code, _, err = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "p.json")
    assert code == 2 and "a pipeline file may have" in err and "--compact" in err
    assert not (tmp_path / "p.json").exists()


def test_without_onnx_the_command_says_how_to_install(tmp_path, capsys, monkeypatch):
    import sys

    write_model(tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, _, err = run(capsys, tmp_path / "m.onnx", "-o", tmp_path / "p.json")
    assert code == 2 and 'pip install "convstudio[onnx]"' in err
