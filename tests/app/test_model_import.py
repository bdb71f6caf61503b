"""File ▸ Import model… in a real main window (offscreen): the file dialog, the import in the
background, the pipeline replaced as one undo step, errors in a message box."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from conftest import settle  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from convstudio.app.window.model_import import ModelImporter  # noqa: E402
from convstudio.core import Pipeline  # noqa: E402
from convstudio.core.onnx_import import import_onnx  # noqa: E402


def write_model(path) -> None:
    """x (1, 3, H, W) -> conv (5 maps, 3x3, pad 1) -> relu -> Flatten."""
    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 3, None, None])],
                              [helper.make_tensor_value_info("f", TensorProto.FLOAT, None)], inits)
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                     .SerializeToString())


def choose(monkeypatch, path) -> list:
    asked = []

    def fake(*args, **kwargs):
        asked.append(args)
        return (str(path), "ONNX models (*.onnx)")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
    return asked


def test_import_through_the_file_menu_is_one_undo_step(window, tmp_path, monkeypatch):
    write_model(tmp_path / "net.onnx")
    asked = choose(monkeypatch, tmp_path / "net.onnx")
    before = window.doc.pipeline
    steps = window.doc.undo_stack.count()
    messages = []
    window.statusMessage.connect(messages.append)
    action = window.actions_by_name["import_model"]
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()

    action.trigger()
    assert asked, "the file dialog was not shown"
    assert ModelImporter.of(window).wait_idle()
    expected = import_onnx(tmp_path / "net.onnx")
    assert window.doc.pipeline.layers == expected.pipeline.layers
    assert window.doc.undo_stack.count() == steps + 1
    assert window.errors == []
    assert any("stopped at node 'flat' (Flatten)" in m for m in messages)

    window.doc.set_image_array(np.random.default_rng(0).random((3, 20, 24), np.float32), "rgb")
    settle(window)  # the window computes the imported layers on an RGB image
    assert window.doc.first_error() is None
    assert window.doc.analysis()[-1].output_shape == (5, 20, 24)

    window.doc.undo_stack.undo()
    assert window.doc.pipeline == before
    window.doc.undo_stack.redo()
    assert window.doc.pipeline.layers == expected.pipeline.layers
    assert Pipeline.from_json(window.doc.pipeline.to_json()) == window.doc.pipeline


def test_a_bad_model_is_reported_and_changes_nothing(window, tmp_path, monkeypatch):
    (tmp_path / "bad.onnx").write_bytes(b"not a model at all")
    choose(monkeypatch, tmp_path / "bad.onnx")
    before = window.doc.pipeline
    steps = window.doc.undo_stack.count()
    window.actions_by_name["import_model"].trigger()
    assert ModelImporter.of(window).wait_idle()
    assert len(window.errors) == 1 and "not an ONNX model" in window.errors[0]
    assert "\n" not in window.errors[0]
    assert window.doc.pipeline == before and window.doc.undo_stack.count() == steps


def test_the_import_runs_off_the_gui_thread(window, tmp_path, monkeypatch):
    import threading

    import convstudio.app.window.model_import as model_import

    write_model(tmp_path / "net.onnx")
    threads = []
    real = model_import._import
    monkeypatch.setattr(model_import, "_import",
                        lambda path: threads.append(threading.current_thread()) or real(path))
    importer = ModelImporter.of(window)
    assert importer.start(tmp_path / "net.onnx")
    assert not importer.start(tmp_path / "net.onnx")  # one import at a time
    assert importer.wait_idle()
    assert threads and threads[0] is not threading.main_thread()
    assert len(window.doc.pipeline) == 2
