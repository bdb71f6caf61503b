"""Editing: the undo keys work while a parameter field has the focus; a layer switched off and on
again leaves the pipeline unmodified; a new pipeline or a new image leaves no panel speaking of
the old one (lesson, clicked pixel, pins, Inspector)."""

from __future__ import annotations

import numpy as np
from conftest import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from convstudio.app.views.feature_view import PixelInfo
from convstudio.app.window.main_window import MainWindow
from convstudio.app.window.undo_keys import has_pending_edit
from convstudio.core import MaxPool2d, Pipeline, ReLU, Stride
from convstudio.lessons import LESSONS
from convstudio.session.samples import PATTERNS

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
SIZE = (1400, 900)
NEUTRAL_INSPECTOR = "Click a pixel of the selected layer's maps to see how its value was computed."


def show_active(qtbot, w: MainWindow) -> None:
    w.show()
    w.activateWindow()
    qtbot.waitActive(w)


def click(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.layer_view.maps()
    w.layer_view.clicked.emit(PixelInfo("layer", channel, row, col,
                                        float(out[channel, row, col])))


# ------------------------------------------------------------------------ (a) undo keys


def _stride_spin(qtbot, w: MainWindow):
    w.doc.set_image_array(np.arange(100, dtype=np.float32).reshape(1, 10, 10), "ramp")
    w.doc.new_pipeline(Pipeline([Stride(stride=(1, 1)), ReLU()]))
    w.doc.select(1)
    show_active(qtbot, w)
    settle(w)
    spin = w.params_editor.widgets["stride"].h
    spin.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is spin)
    return spin


def test_ctrl_z_in_a_focused_spin_box_undoes_the_document(qtbot, make_window):
    w = make_window(size=SIZE)
    spin = _stride_spin(qtbot, w)
    QTest.keyClick(spin, Qt.Key.Key_Up)  # a committed step: stride 2 x 2
    assert w.doc.pipeline.layers[0].stride == (2, 2) and w.doc.dirty
    assert w.actions_by_name["undo"].isEnabled()
    QTest.keyClick(spin, Qt.Key.Key_Z, CTRL)
    assert w.doc.pipeline.layers[0].stride == (1, 1) and not w.doc.dirty
    assert spin.value() == 1 and QApplication.focusWidget() is spin
    QTest.keyClick(spin, Qt.Key.Key_Z, CTRL | SHIFT)
    assert w.doc.pipeline.layers[0].stride == (2, 2)
    QTest.keyClick(spin, Qt.Key.Key_Z, CTRL)
    QTest.keyClick(spin, Qt.Key.Key_Y, CTRL)
    assert w.doc.pipeline.layers[0].stride == (2, 2) and spin.value() == 2


def test_a_spin_box_with_typed_text_keeps_ctrl_z_for_its_text(qtbot, make_window):
    w = make_window(size=SIZE)
    spin = _stride_spin(qtbot, w)
    QTest.keyClick(spin, Qt.Key.Key_Up)
    committed = w.doc.pipeline
    spin.selectAll()
    QTest.keyClicks(spin, "5")  # typed, not committed (no Enter yet)
    assert has_pending_edit(spin) and w.doc.pipeline is committed
    QTest.keyClick(spin, Qt.Key.Key_Z, CTRL)  # takes back the typing, not the step
    assert w.doc.pipeline is committed
    assert spin.cleanText() == "2" and not has_pending_edit(spin)
    QTest.keyClick(spin, Qt.Key.Key_Z, CTRL)  # now the document's
    assert w.doc.pipeline.layers[0].stride == (1, 1)


def test_ctrl_z_in_a_focused_line_edit_undoes_the_document_after_its_edit(qtbot, make_window):
    w = make_window(size=SIZE)
    _stride_spin(qtbot, w)
    name = w.params_editor.widgets["name"]
    name.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is name)
    QTest.keyClicks(name, "every other")
    assert has_pending_edit(name)
    QTest.keyClick(name, Qt.Key.Key_Return)
    assert w.doc.pipeline.layers[0].name == "every other" and not has_pending_edit(name)
    QTest.keyClick(name, Qt.Key.Key_Z, CTRL)
    assert w.doc.pipeline.layers[0].name is None and not w.doc.dirty


# ------------------------------------------------------------------------ (b) modified


def test_a_layer_switched_off_and_on_again_is_unmodified(qtbot, make_window):
    w = make_window(size=SIZE)
    w.doc.set_image_array(np.zeros((1, 8, 8), np.float32), "zeros")
    w.doc.new_pipeline(Pipeline([ReLU(), MaxPool2d(kernel_size=2)]))
    w.doc.select(2)
    assert not w.doc.dirty and not w.isWindowModified()
    w.layer_panel.toggle_selected()
    assert w.doc.dirty and w.isWindowModified()
    w.layer_panel.toggle_selected()
    assert not w.doc.dirty and not w.isWindowModified()
    # the check box of the list does the same
    model = w.layer_panel.model
    ix = model.index(1, 0)
    assert model.setData(ix, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert w.doc.dirty
    assert model.setData(ix, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert not w.doc.dirty
    # undo goes back through the states, each compared with the saved pipeline
    w.doc.undo_stack.undo()
    assert w.doc.dirty and not w.doc.pipeline.layers[0].enabled
    w.doc.undo_stack.undo()
    assert not w.doc.dirty


def test_saving_moves_what_unmodified_means(qtbot, make_window, tmp_path):
    w = make_window(size=SIZE)
    w.doc.new_pipeline(Pipeline([ReLU()]))
    w.doc.set_layer_enabled(1, False)
    w.save_pipeline_to(tmp_path / "off.json")
    assert not w.doc.dirty
    w.doc.set_layer_enabled(1, True)
    assert w.doc.dirty
    w.doc.set_layer_enabled(1, False)
    assert not w.doc.dirty


# ------------------------------------------------------------------------ (c) stale panels


def _lesson_with_a_click(qtbot, w: MainWindow, index: int) -> None:
    show_active(qtbot, w)
    assert w.learn.open_lesson(index, ask=False)
    settle(w)
    click(w, 0, 0, 1)
    settle(w)
    assert f"Lesson {index + 1} of {len(LESSONS)}" in w.learn.panel.text()
    assert w.insight.pixel is not None and w.insight.overlay.pins()
    assert w.insight.inspector.text() != NEUTRAL_INSPECTOR


def _assert_nothing_stale(w: MainWindow) -> None:
    panel = w.learn.panel
    assert w.learn.index == -1 and w.learn.lesson is None
    assert "Lesson " not in panel.text() and "Learn convolution" in panel.text()
    assert panel.position_label.text() == f"{len(LESSONS)} lessons"
    assert w.insight.pixel is None and w.insight.overlay.pins() == []
    assert w.insight.inspector.text() == NEUTRAL_INSPECTOR
    assert "Pinned" not in w.insight.receptive.pins_label.text()
    assert not [k for k in w.input_view.overlay_keys() if "pin" in repr(k)]


def test_new_pipeline_clears_the_lesson_the_click_and_the_pins(qtbot, make_window):
    w = make_window(size=SIZE)
    _lesson_with_a_click(qtbot, w, len(LESSONS) - 1)
    w.actions_by_name["new_pipeline"].trigger()
    settle(w)
    w.doc.add_layer(ReLU())  # something to select, and click on
    w.doc.select(1)
    settle(w)
    _assert_nothing_stale(w)
    assert w.learn.next() and w.learn.index == 0  # Next starts the tutorial again


def test_a_new_image_clears_the_lesson_the_click_and_the_pins(qtbot, make_window):
    w = make_window(size=SIZE)
    _lesson_with_a_click(qtbot, w, 0)
    w.load_pattern(next(iter(PATTERNS)))
    settle(w)
    _assert_nothing_stale(w)


def test_opening_a_pipeline_clears_the_click(qtbot, make_window, tmp_path):
    w = make_window(size=SIZE)
    _lesson_with_a_click(qtbot, w, 1)
    path = tmp_path / "p.json"
    w.doc.pipeline.save(path)
    assert w.open_pipeline(path, ask=False)
    settle(w)
    _assert_nothing_stale(w)
