"""Pictures of the user guide that need more than `convstudio --screenshot`: a dock opened, a
step played, a kernel learned, the Chinese interface, an imported model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/feature-screenshots.py [NAME ...]

Each picture is the real window at 1600 x 1000 (offscreen), once every background job is done,
written to docs/screenshots/NAME.png; scripts/make-screenshots.sh calls this script and then
shrinks every picture to its size budget. Without arguments every picture is made.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT))


def _settle(app, window, ms: int = 400) -> None:
    from PySide6.QtCore import QDeadlineTimer, QEventLoop, QThread

    window.wait_idle(60_000)
    explore = getattr(window, "explore", None)
    if explore is not None:
        explore.wait_idle(60_000)
    deadline = QDeadlineTimer(ms)
    while not deadline.hasExpired():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QThread.msleep(5)


def _save(widget, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    if not widget.grab().save(str(path), "PNG"):
        raise SystemExit(f"cannot write {path}")
    print(f"screenshot: {path}")


def _player(app, w) -> None:
    w.learn.open_lesson("multi-input", ask=False)
    _settle(app, w)
    w.explore.actions["sliding_player"].trigger()
    _settle(app, w)
    player = w.explore.player
    player.seek(2)  # the third output value, half the map written
    _settle(app, w)
    _save(w, "player")


def _shift(app, w) -> None:
    w.learn.open_lesson("why-pool", ask=False)
    _settle(app, w)
    w.explore.actions["shift_input"].trigger()
    w.explore.shift_panel.set_shift(0, 1)  # one pixel right, as the lesson asks
    _settle(app, w, 800)
    _save(w, "shift")


def _locality(app, w) -> None:
    from PySide6.QtWidgets import QTabWidget

    w.learn.open_lesson("locality", ask=False)
    for tabs in w.findChildren(QTabWidget):  # the Seeing why dock: its Shapes & formula page
        for i in range(tabs.count()):
            if tabs.tabText(i).replace("&", "").startswith("Shapes"):
                tabs.setCurrentIndex(i)
    _settle(app, w)
    _save(w, "lesson-locality")


def _learner(app, w) -> None:
    w.learn.open_lesson("kernels-are-learned", ask=False)
    _settle(app, w)
    w.learner.action.trigger()
    dialog = w.learner.dialog
    dialog.steps_spin.setValue(60)
    dialog.start()
    from convstudio.app.model.worker import process_events_until

    process_events_until(lambda: not dialog.running, 60_000)
    _settle(app, w)
    _save(dialog, "learner")
    dialog.close()


def _chinese(app, w) -> None:
    from convstudio.app import i18n

    i18n.set_language(i18n.CHINESE)
    try:
        w.learn.open_lesson("cross-correlation", ask=False)
        _settle(app, w, 800)
        _save(w, "chinese")
    finally:
        i18n.set_language(i18n.ENGLISH)


def _import(app, w) -> None:
    """A small VGG-like ONNX trunk (random weights, built here) imported through the window."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, prev, cin = [], [], "input", 3
    for i, cout in enumerate((8, 8)):
        w_name = f"w{i}"
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32), w_name))
        nodes.append(helper.make_node("Conv", [prev, w_name], [f"c{i}"], name=f"conv{i + 1}",
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i + 1}"))
        prev, cin = f"r{i}", cout
    nodes.append(helper.make_node("MaxPool", [prev], ["pool"], name="pool1", kernel_shape=[2, 2],
                                  strides=[2, 2]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"))
    graph = helper.make_graph(nodes, "vgg-block", [
        helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("flat", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vgg-block.onnx"
        onnx.save(model, str(path))
        w.open_image(str(ROOT / "resources" / "samples" / "cat.png"), wait=True)
        _settle(app, w)
        from convstudio.app.window.model_import import ModelImporter

        importer = ModelImporter.of(w)
        if not importer.start(path):
            raise SystemExit("the import did not start")
        importer.wait_idle(60_000)
        _settle(app, w, 1500)
    w.doc.select(3)
    _settle(app, w)
    _save(w, "import")


def _weight_hover(app, w) -> None:
    """The edge-detector lesson with the kernel's right weight (-1) under the mouse: every input
    pixel it multiplies, at every output position, lit on the input."""
    w.learn.open_lesson("edge-detector", ask=False)
    _settle(app, w)
    view = w.kernel_editor.table_view()
    w.explore.weight_hover.hover(view.model().index(0, 1))
    _settle(app, w, 800)
    _save(w, "weight-hover")


def _lesson(lesson_id: str):
    def scene(app, w) -> None:
        w.learn.open_lesson(lesson_id, ask=False)
        _settle(app, w, 600)
        _save(w, f"lesson-{lesson_id}")
    return scene


SCENES = {"player": _player, "shift": _shift, "lesson-locality": _locality, "learner": _learner,
          "chinese": _chinese, "import": _import, "weight-hover": _weight_hover,
          "lesson-translation-invariance": _lesson("translation-invariance"),
          "lesson-padding-figure": _lesson("padding-figure"), "lesson-stride-figure": _lesson("stride-figure")}


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QSettings

    from convstudio.app.launch import _make_app
    from convstudio.app.model.document import Document
    from convstudio.app.model.renderer import Renderer
    from convstudio.app.window.main_window import MainWindow

    names = argv or list(SCENES)
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        print(f"unknown: {', '.join(unknown)}; known: {', '.join(SCENES)}", file=sys.stderr)
        return 2
    app = _make_app()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            settings = QSettings(str(Path(tmp) / f"{name}.ini"), QSettings.Format.IniFormat)
            doc = Document()
            w = MainWindow(doc, Renderer(doc), settings=settings, first_launch=False)
            w.confirm_discard = lambda: True
            w.resize(1600, 1000)
            w.show()
            try:
                SCENES[name](app, w)
            finally:
                w.shutdown()
                w.close()
                w.deleteLater()
                app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
