"""The main window, both directions: Document -> views (list, params, kernel editor, feature maps)
and views -> Document (edits through the widgets), plus files, prompts, errors and teardown."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import settle
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from convstudio.app.model.document import Document
from convstudio.app.model.renderer import Renderer
from convstudio.app.panels.layer_list import COL_SHAPE, COL_TIME, LAYER_CHOICES, new_layer, time_text
from convstudio.app.panels.layer_params import resize_kernel
from convstudio.app.window.main_window import MainWindow, default_pipeline, qimage_to_array
from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU
from convstudio.session import samples

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def shown_maps(w: MainWindow) -> np.ndarray:
    assert w._layer_stack.currentWidget() is w.layer_view, w._layer_message.text()
    return w.layer_view.maps()


def core_output(w: MainWindow, i: int) -> np.ndarray:
    return w.doc.pipeline.run(w.doc.image)[i - 1]


def rows(w: MainWindow) -> list[str]:
    m = w.layer_panel.model
    return [m.data(m.index(r, 0)) for r in range(m.rowCount())]


def shape_col(w: MainWindow, r: int) -> str:
    m = w.layer_panel.model
    return m.data(m.index(r, COL_SHAPE))


# ------------------------------------------------------------------ first launch


def test_first_launch_is_not_empty(window):
    w = window
    assert w.doc.image is not None
    assert [l.type for l in w.doc.pipeline.layers] == ["conv2d", "relu", "maxpool2d"]
    assert w.doc.selected == 1 and not w.doc.dirty
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    assert w.input_view.maps() is not None
    assert len(rows(w)) == 4 and rows(w)[0].startswith("0  input")
    c, h, wd = w.doc.image_shape
    assert shape_col(w, 3) == f"{c}×{h // 2}×{wd // 2}"
    assert "1 conv" in w.summary_label.text() and "3 maxpool" in w.summary_label.text()
    assert f"{wd}×{h}" in w.image_label.text()
    assert w.kernel_editor.weight() is not None
    np.testing.assert_array_equal(w.kernel_editor.weight(), SOBEL)
    assert not w.busy and w.errors == []


# ------------------------------------------------------------------ kernel editor <-> maps


def test_kernel_cell_edit_updates_maps_to_the_core(window):
    w = window
    assert w.kernel_editor.set_cell(1, 1, "1/2")
    assert w.doc.pipeline.layers[0].kernel[1, 1] == 0.5
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    # Typing in the same cell again merges into one undo step.
    assert w.kernel_editor.set_cell(1, 1, "3")
    assert w.doc.undo_stack.count() == 1
    w.doc.select(3)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 3))
    w.actions_by_name["undo"].trigger()
    assert w.doc.pipeline == default_pipeline()
    assert w.doc.selected == 1  # undo shows the layer it changed
    np.testing.assert_array_equal(w.kernel_editor.weight(), SOBEL)  # the editor followed undo
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    w.actions_by_name["redo"].trigger()
    assert w.kernel_editor.weight()[1, 1] == 3
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_kernel_preset_of_another_size(window):
    w = window
    assert w.kernel_editor.apply_preset("gaussian", size=5, sigma=1.0) or \
        w.kernel_editor.apply_preset(next(iter(__import__("convstudio.core.kernels",
                                                           fromlist=["PRESETS"]).PRESETS)))
    k = w.doc.pipeline.layers[0].kernel
    np.testing.assert_array_equal(k, w.kernel_editor.weight())
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_multichannel_weight_edit(window):
    w = window
    w.layer_panel.add("conv_multi")
    i = w.doc.selected
    layer = w.doc.pipeline.layers[i - 1]
    assert layer.weight.shape == (4, w.doc.image_shape[0], 3, 3)
    assert w.kernel_editor.weight().shape == layer.weight.shape
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, i))
    w.kernel_editor.set_current_slice(2, 0)
    assert w.kernel_editor.set_cell(0, 0, "7")
    assert w.doc.pipeline.layers[i - 1].weight[2, 0, 0, 0] == 7
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, i))


# ------------------------------------------------------------------ layer list <-> Document


def test_add_reorder_disable_remove_through_the_list(window):
    w = window
    panel, model = w.layer_panel, w.layer_panel.model
    w.doc.select(3)
    panel.add("avgpool")
    assert w.doc.selected == 4 and rows(w)[4].startswith("4  avgpool 2x2")
    c, h, wd = w.doc.image_shape
    assert shape_col(w, 4) == f"{c}×{h // 4}×{wd // 4}"
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 4))

    # Drag row 4 before row 2 (the drop handler's arithmetic) and the move buttons.
    assert model.drop_target(4, 2) == 2
    assert model.drop_target(2, 3) is None  # dropping just below itself: no move
    model.move(4, 2)
    assert [l.type for l in w.doc.pipeline.layers] == ["conv2d", "avgpool2d", "relu", "maxpool2d"]
    assert w.doc.selected == 2
    panel.move_selected_down()
    assert [l.type for l in w.doc.pipeline.layers] == ["conv2d", "relu", "avgpool2d", "maxpool2d"]
    panel.move_selected_up()
    assert w.doc.pipeline.layers[1].type == "avgpool2d"
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 2))

    # The checkbox disables: the maps become the layer's input.
    ix = model.index(2, 0)
    assert model.data(ix, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(ix, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not w.doc.pipeline.layers[1].enabled
    assert model.data(ix, Qt.ItemDataRole.UserRole) == "disabled"
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))

    panel.duplicate_selected()
    assert len(w.doc.pipeline) == 5 and w.doc.selected == 3
    panel.remove_selected()  # the copy; the selection moves to the next layer (relu)
    assert w.doc.selected == 3
    panel.remove_selected()
    assert [l.type for l in w.doc.pipeline.layers] == ["conv2d", "avgpool2d", "maxpool2d"]
    # The view's selection follows the Document.
    assert panel.view.currentIndex().row() == w.doc.selected
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))
    # Undo everything: back to the default pipeline, exactly.
    while w.doc.undo_stack.canUndo():
        w.doc.undo_stack.undo()
    assert w.doc.pipeline == default_pipeline()
    settle(w)
    assert len(rows(w)) == 4 and rows(w)[3].startswith("3  maxpool")
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_drop_event_moves_a_layer(window, qtbot):
    w = window
    view, model = w.layer_panel.view, w.layer_panel.model
    w.show()
    qtbot.waitExposed(w)

    def drop(src: int, on_row: int, upper: bool) -> None:
        view.setCurrentIndex(model.index(src, 0))
        rect = view.visualRect(model.index(on_row, 0))
        y = rect.top() + 1 if upper else rect.bottom() - 1
        md = model.mimeData([model.index(src, 0)])
        ev = QDropEvent(QPointF(rect.center().x(), y), Qt.DropAction.MoveAction, md,
                        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        ev.source = lambda: view  # an internal drag  # type: ignore[method-assign]
        view.dropEvent(ev)
        settle(w)

    drop(3, 1, upper=True)  # maxpool dragged above layer 1
    assert [l.type for l in w.doc.pipeline.layers] == ["maxpool2d", "conv2d", "relu"]
    assert w.doc.selected == 1
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    drop(1, 3, upper=False)  # and back below the last one
    assert [l.type for l in w.doc.pipeline.layers] == ["conv2d", "relu", "maxpool2d"]
    drop(2, 0, upper=True)  # above the input: becomes layer 1
    assert [l.type for l in w.doc.pipeline.layers] == ["relu", "conv2d", "maxpool2d"]
    assert w.doc.undo_stack.count() == 3
    # The model's own drop path (used by other views) agrees.
    md = model.mimeData([model.index(3, 0)])
    assert model.dropMimeData(md, Qt.DropAction.MoveAction, 1, 0, model.index(-1, -1)) is False
    assert [l.type for l in w.doc.pipeline.layers] == ["maxpool2d", "relu", "conv2d"]
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_every_add_menu_entry_works(window):
    w = window
    for choice in LAYER_CHOICES:
        w.doc.select(len(w.doc.pipeline))
        w.layer_panel.actions[f"add_{choice.key}"].trigger()
        assert w.doc.pipeline.layers[w.doc.selected - 1].type == new_layer(choice.key, 1).type
        assert w.doc.first_error() is None, choice.key
    settle(w)
    assert not w.renderer.errors
    np.testing.assert_array_equal(shown_maps(w), core_output(w, len(w.doc.pipeline)))


# ------------------------------------------------------------------ parameters <-> Document


def test_parameter_edits_update_shapes(window):
    w = window
    p = w.params_editor
    c, h, wd = w.doc.image_shape
    p.widgets["stride"].h.setValue(2)  # linked: both axes
    assert w.doc.pipeline.layers[0].stride == (2, 2)
    assert shape_col(w, 1) == f"{c}×{(h + 1) // 2}×{(wd + 1) // 2}"
    p.widgets["stride"].h.setValue(3)
    assert w.doc.undo_stack.count() == 1  # one merged step for the whole drag
    p.widgets["padding"].kind.setCurrentIndex(p.widgets["padding"].kind.findData("valid"))
    assert w.doc.pipeline.layers[0].padding == "valid"
    assert shape_col(w, 1) == f"{c}×{(h - 3) // 3 + 1}×{(wd - 3) // 3 + 1}"
    settle(w)
    assert shape_col(w, 1) == f"{c}×{(h - 3) // 3 + 1}×{(wd - 3) // 3 + 1}"
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    p.widgets["kernel_size"].h.setValue(5)
    k = w.doc.pipeline.layers[0].kernel
    assert k.shape == (5, 5)
    np.testing.assert_array_equal(k[1:4, 1:4], SOBEL)  # the centre kept
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    np.testing.assert_array_equal(w.kernel_editor.weight(), k)
    p.widgets["padding_mode"].setCurrentIndex(p.widgets["padding_mode"].findData("circular"))
    assert w.doc.pipeline.layers[0].padding_mode == "circular"
    p.widgets["flip"].setChecked(True)
    assert w.doc.pipeline.layers[0].flip
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_even_kernel_and_per_side_padding(window):
    w = window
    p = w.params_editor
    p.widgets["kernel_size"].link.setChecked(False)
    p.widgets["kernel_size"].w.setValue(4)
    assert w.doc.pipeline.layers[0].kernel_size == (3, 4)
    pad = p.widgets["padding"]
    pad.kind.setCurrentIndex(pad.kind.findData("sides"))
    pad.sides[0].setValue(3)
    assert w.doc.pipeline.layers[0].padding[0] == 3
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_a_kept_form_shows_the_selected_layer_as_a_new_form_would(window):
    """Forms are kept and shown again for the next layer of their kind; what one remembers of
    its last layer (an error note, an unlinked pair) must not show for another layer, and its
    edits go to the layer selected now."""
    w = window
    d, p = w.doc, w.params_editor
    d.add_layer(Conv2d(kernel=np.ones((3, 3), np.float32) / 9, stride=2), at=4)
    d.select(1)
    first = p.widgets["kernel_size"]
    first.link.setChecked(False)
    first.w.setValue(5)  # layer 1 is 3 x 5 now: its pair stays unlinked
    p.widgets["scale"].setText("nonsense")
    p.widgets["scale"].editingFinished.emit()
    assert "not a number" in p.error_text("scale")
    d.select(4)
    assert p.widgets["kernel_size"] is first  # the same form, shown for layer 4
    assert p.error_text("scale") == "" and first.link.isChecked()
    assert first.value() == (3, 3) and p.widgets["stride"].value() == (2, 2)
    first.h.setValue(5)  # linked: both axes, on layer 4 only
    assert d.pipeline.layers[3].kernel_size == (5, 5) and d.pipeline.layers[0].kernel_size == (3, 5)
    d.select(2)  # relu: another form; then back to a conv
    assert "kernel_size" not in p.widgets
    relu_name = p.widgets["name"]
    d.select(1)
    assert p.widgets["kernel_size"] is first and first.value() == (3, 5) and not first.link.isChecked()
    assert first.isVisibleTo(p) and p.widgets["name"] is not relu_name
    assert not relu_name.isVisibleTo(p) and relu_name.window() is w  # kept hidden, in the window
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_conv_form_switch_keeps_the_result(window):
    w = window
    before = core_output(w, 1)
    np.testing.assert_array_equal(shown_maps(w), before)
    form = w.params_editor.widgets["form"]
    form.setCurrentIndex(form.findData("weight"))
    layer = w.doc.pipeline.layers[0]
    assert layer.weight is not None and layer.groups == w.doc.image_shape[0]
    np.testing.assert_array_equal(core_output(w, 1), before)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), before)
    # Now the weight-form widgets exist; groups that do not divide Cout are refused in words.
    w.params_editor.widgets["out_channels"].setValue(w.doc.image_shape[0] + 1)
    if w.doc.image_shape[0] > 1:
        assert "cannot be split" in w.params_editor.error_text("out_channels")
    form = w.params_editor.widgets["form"]
    form.setCurrentIndex(form.findData("kernel"))
    assert w.doc.pipeline.layers[0].kernel is not None
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_bias_and_scale_fields(window):
    w = window
    p = w.params_editor
    p.widgets["bias_check"].setChecked(True)
    assert w.doc.pipeline.layers[0].bias_shared
    p.widgets["bias_edit"].setText("1/4")
    p.widgets["bias_edit"].editingFinished.emit()
    assert float(w.doc.pipeline.layers[0].bias[0]) == 0.25
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    scale = p.widgets["scale"]
    scale.setText("nonsense")
    scale.editingFinished.emit()
    assert "not a number" in p.error_text("scale")
    scale.setText("1/8")
    scale.editingFinished.emit()
    assert w.doc.pipeline.layers[0].scale == 0.125 and p.error_text("scale") == ""
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_pool_params(window):
    w = window
    w.doc.select(3)
    p = w.params_editor
    assert p.widgets["stride_default"].isChecked()
    p.widgets["stride_default"].setChecked(False)
    p.widgets["stride"].h.setValue(1)
    layer = w.doc.pipeline.layers[2]
    assert isinstance(layer, MaxPool2d) and layer.stride == (1, 1)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 3))
    pad = p.widgets["padding"]
    pad.kind.setCurrentIndex(pad.kind.findData("symmetric"))
    pad.sym.h.setValue(2)  # more than half the 2x2 window: the core refuses, the list says why
    settle(w)
    m = w.layer_panel.model
    assert m.data(m.index(3, 0), Qt.ItemDataRole.UserRole) == "error"
    assert "half the window" in m.data(m.index(3, 0), Qt.ItemDataRole.UserRole + 1)
    assert w._layer_stack.currentWidget() is w._layer_message
    assert "does not fit" in w._layer_message.text()


def test_resize_kernel_keeps_the_anchor():
    k = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert resize_kernel(k, 1, 1)[0, 0] == 4
    big = resize_kernel(k, 5, 4)
    assert big[2, 2] == 4 and big.shape == (5, 4) and big.sum() == k.sum()
    np.testing.assert_array_equal(resize_kernel(big, 3, 3), k)


# ------------------------------------------------------------------ misfits


def test_a_window_larger_than_its_input_is_marked_and_later_layers_wait(window):
    w = window
    w.doc.set_image_array(np.ones((4, 4), np.float32), "tiny")
    w.doc.new_pipeline(Pipeline((ReLU(), Conv2d(kernel=np.ones((9, 9))), ReLU(),
                                 MaxPool2d(kernel_size=(2, 2)))))
    settle(w)
    m = w.layer_panel.model
    states = [m.data(m.index(r, 0), Qt.ItemDataRole.UserRole) for r in range(5)]
    assert states == ["input", "ok", "error", "waiting", "waiting"]
    reason = m.data(m.index(2, 0), Qt.ItemDataRole.UserRole + 1)
    assert "larger than its padded input" in reason
    assert "larger than its padded input" in m.data(m.index(2, 0), Qt.ItemDataRole.ToolTipRole)
    assert shape_col(w, 2) == "does not fit" and shape_col(w, 4) == "waiting"
    assert not m.data(m.index(2, 0), Qt.ItemDataRole.DecorationRole).isNull()
    w.doc.select(2)
    assert w._layer_stack.currentWidget() is w._layer_message
    assert "does not fit" in w._layer_message.text()
    w.doc.select(4)
    assert "Waiting" in w._layer_message.text()
    w.doc.select(1)
    np.testing.assert_array_equal(shown_maps(w), np.ones((1, 4, 4)))
    assert "does not fit" in w.summary_label.text()
    # Fix it through the parameter editor: same padding makes it fit.
    w.doc.select(2)
    pad = w.params_editor.widgets["padding"]
    pad.kind.setCurrentIndex(pad.kind.findData("same"))
    assert w.doc.first_error() is None
    settle(w)
    assert [m.data(m.index(r, 0), Qt.ItemDataRole.UserRole) for r in range(5)] == \
        ["input", "ok", "ok", "ok", "ok"]
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 2))


def test_three_channel_weight_on_a_gray_image(window):
    w = window
    w.doc.set_image_array(np.random.default_rng(0).random((20, 20), dtype=np.float32), "gray")
    w.doc.new_pipeline(Pipeline((Conv2d(weight=np.ones((2, 3, 3, 3), np.float32)), ReLU())))
    settle(w)
    m = w.layer_panel.model
    reason = m.data(m.index(1, 0), Qt.ItemDataRole.UserRole + 1)
    assert "expects 3 input channels" in reason and "has 1" in reason
    assert m.data(m.index(2, 0), Qt.ItemDataRole.UserRole) == "waiting"
    w.doc.select(1)
    assert "⚠" in w.params_editor._fit.text()
    # "Fit input" resizes the weight to the channels that arrive.
    w.params_editor._fit_in_channels()
    assert w.doc.pipeline.layers[0].weight.shape == (2, 1, 3, 3)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


# ------------------------------------------------------------------ files, samples, prompts


def test_open_errors_keep_the_current_work(window, tmp_path):
    w = window
    image, pipeline = w.doc.image, w.doc.pipeline
    shown = shown_maps(w)
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert not w.open_image(bad)
    assert w.errors and "corrupt.png" in w.errors[-1]
    assert w.doc.image is image
    badp = tmp_path / "bad.json"
    badp.write_text("{not json")
    assert not w.open_pipeline(badp)
    assert "not valid JSON" in w.errors[-1]
    assert w.doc.pipeline is pipeline
    settle(w)
    assert shown_maps(w) is shown  # nothing was recomputed


def test_background_image_loading(window, tmp_path):
    w = window
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((9, 11, 3), 50, np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.full((7, 5), 50, np.uint8))
    image = w.doc.image
    assert w.open_image(tmp_path / "a.png", wait=False)
    assert w.open_image(tmp_path / "b.png", wait=False)  # the later one wins
    assert w.wait_for_loads()
    assert w.doc.image_shape == (1, 7, 5) and w.doc.image_path == tmp_path / "b.png"
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    assert w.open_image(tmp_path / "nope.png", wait=False)
    assert w.busy  # the load is in flight
    settle(w)  # waits for image loads too
    assert "nope.png" in w.errors[-1] and w.doc.image_shape == (1, 7, 5)
    assert image is not w.doc.image
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_pipeline_save_open_and_recent_files(window, tmp_path, settings):
    w = window
    w.kernel_editor.set_cell(0, 0, "5")
    assert w.doc.dirty and w.isWindowModified()
    assert w.save_pipeline_to(tmp_path / "mine.json")
    assert not w.doc.dirty and not w.isWindowModified()
    assert "mine.json" in w.windowTitle()
    saved = w.doc.pipeline
    w.doc.new_pipeline(Pipeline())
    settle(w)
    assert rows(w) == [rows(w)[0]]
    assert w.open_pipeline(tmp_path / "mine.json")
    assert w.doc.pipeline == saved
    w.doc.select(1)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))
    assert settings.value("recent/pipelines")[0] == str((tmp_path / "mine.json").resolve())
    assert w.recent_pipelines_menu.isEnabled()
    img = samples.shipped_samples()[0] if samples.shipped_samples() else None
    if img is not None:
        assert w.open_image(img)
        assert settings.value("recent/images")[0] == str(img.resolve())
        assert w.recent_images_menu.actions()[0].text().endswith(img.name)
        settle(w)
        np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_opening_a_pipeline_asks_when_dirty(window, tmp_path):
    w = window
    default_pipeline().save(tmp_path / "p.json")
    w.kernel_editor.set_cell(0, 0, "5")
    asked = []
    w.confirm_discard = lambda: asked.append(1) or False  # type: ignore[method-assign]
    assert not w.open_pipeline(tmp_path / "p.json")
    assert asked and w.doc.dirty
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    w.confirm_discard = lambda: True  # type: ignore[method-assign]
    assert w.open_pipeline(tmp_path / "p.json")
    assert not w.doc.dirty and w.doc.pipeline == default_pipeline()
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_close_asks_when_dirty(make_window, qtbot, settings):
    w = make_window(first_launch=True)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    w.kernel_editor.set_cell(0, 0, "5")
    asked = []
    w.confirm_discard = lambda: asked.append("no") or False  # type: ignore[method-assign]
    assert not w.close()
    assert asked == ["no"] and w.isVisible()
    settle(w)  # refusing to close stopped nothing
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    w.confirm_discard = lambda: asked.append("yes") or True  # type: ignore[method-assign]
    assert w.close()
    assert asked == ["no", "yes"]
    assert not w.renderer.worker.running  # closing stopped the renderer
    # Closing saved the window state to the temporary settings.
    assert settings.value("window/geometry") is not None


def test_samples_menu_and_patterns(window):
    w = window
    labels = [a.text() for a in w.samples_menu.actions() if not a.isSeparator()]
    for p in samples.PATTERNS.values():
        assert p.label in labels
    for path in samples.shipped_samples():
        assert path.stem.capitalize().replace("_", " ") in labels
    for name in samples.PATTERNS:
        x = samples.make_pattern(name)
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[0] == 1
        if name != "tutorial_grid":  # that one holds 0 ... 8, as in the tutorial
            assert 0 <= x.min() and x.max() <= 1
    w.load_pattern("impulse")
    assert w.doc.image_shape == (1, 65, 65)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    # The tutorial's example: the 2x2 kernel on 0..8 gives 19, 25, 37, 43.
    w.load_pattern("tutorial_grid")
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=[[0, 1], [2, 3]]),)))
    w.doc.select(1)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w)[0], [[19, 25], [37, 43]])


def test_drop_files_onto_the_window(window, tmp_path):
    w = window
    import cv2

    cv2.imwrite(str(tmp_path / "drop.png"), np.full((10, 12), 200, np.uint8))
    default_pipeline().save(tmp_path / "drop.json")
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(tmp_path / "drop.png")),
                QUrl.fromLocalFile(str(tmp_path / "drop.json"))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    assert w.wait_for_loads()  # images are read in a worker thread
    assert w.doc.image_shape == (1, 10, 12)
    assert w.doc.file_path == tmp_path / "drop.json"
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_drop_image_data_onto_the_window(window):
    """An image dropped as data (from another program, no file) becomes the input, converted
    on the image loader's thread as a paste is."""
    w = window
    img = QImage(8, 3, QImage.Format.Format_RGB888)
    img.fill(Qt.GlobalColor.green)
    md = QMimeData()
    md.setImageData(img)
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    assert ev.isAccepted()
    assert w.wait_for_loads()
    assert w.doc.image_shape == (3, 3, 8) and w.doc.image_name == "dropped image"
    np.testing.assert_allclose(w.doc.image[:, 1, 2], [0, 1, 0])
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_paste_image_from_clipboard(window):
    w = window
    img = QImage(6, 4, QImage.Format.Format_RGB888)
    img.fill(Qt.GlobalColor.red)
    QGuiApplication.clipboard().setImage(img)
    assert w.paste_image()
    assert w.doc.image_shape == (3, 4, 6)
    np.testing.assert_allclose(w.doc.image[:, 0, 0], [1, 0, 0])
    gray = QImage(5, 3, QImage.Format.Format_Grayscale8)
    gray.fill(128)
    assert qimage_to_array(gray).shape == (1, 3, 5)
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_preview_for_large_images(window):
    w = window
    w.renderer.set_preview_pixels(100_000)
    w.doc.set_image_array(np.random.default_rng(0).random((1, 500, 700), dtype=np.float32), "big")
    settle(w)
    assert w.renderer.factor == 2
    assert w.preview_label.text() == "preview 1/2"
    out = shown_maps(w)
    assert out.shape == (1, 250, 350)
    assert w.layer_view.placement().jump == (2, 2)
    w.actions_by_name["preview"].setChecked(False)
    settle(w)
    assert w.renderer.factor == 1
    assert w.preview_label.text() == ""
    assert shown_maps(w).shape == (1, 500, 700)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))


def test_view_actions(window):
    w = window
    w.show()
    w.actions_by_name["zoom_fit"].trigger()
    before = w.linker.target_rect()
    w.actions_by_name["zoom_in"].trigger()
    after = w.linker.target_rect()
    assert after.width() < before.width()
    assert w.layer_view.view_box().targetRect().width() == pytest.approx(after.width(), rel=1e-3)
    w.mode_actions["signed" if "signed" in w.mode_actions else "abs"].trigger()
    assert w.layer_view.mode() in ("signed", "abs")
    w.actions_by_name["lock_levels"].setChecked(True)
    assert w.layer_view.shared_levels() is not None
    w.actions_by_name["lock_levels"].setChecked(False)
    assert w.layer_view.shared_levels() is None
    w.kernel_dock.close()
    assert not w.kernel_dock.isVisible()
    w.reset_layout()
    assert w.kernel_dock.isVisible()


def test_layer_maps_default_to_the_contrast_scale_and_a_choice_is_remembered(make_window):
    w = make_window(first_launch=True)
    settle(w)
    assert w.layer_view.mode() == "contrast"
    assert w.mode_actions["contrast"].isChecked()
    # The first launch shows the Sobel edges of a photo: the scale ends below max|x|.
    shown = shown_maps(w)
    lo, hi = w.layer_view.current_levels()
    assert lo == -hi and 0 < hi < np.nanmax(np.abs(shown))
    w.mode_actions["diverging"].trigger()
    lo, hi = w.layer_view.current_levels()
    assert hi == pytest.approx(float(np.nanmax(np.abs(shown))))
    w.save_settings()
    w.shutdown()
    again = make_window(first_launch=False)
    assert again.layer_view.mode() == "diverging" and again.mode_actions["diverging"].isChecked()


# ------------------------------------------------------------------ the real thread


def test_closing_during_a_long_computation_is_prompt(make_window, qtbot):
    w = make_window(first_launch=True)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    computed: list[int] = []
    seconds: list[float] = []
    w.renderer.layerComputed.connect(lambda g, i, a, s: (computed.append(i), seconds.append(s)))
    w.doc.set_image_array(np.ones((1, 2000, 2000), np.float32), "big")
    # not separable (no cheap path): each layer is a long computation
    kernel = np.random.default_rng(0).random((63, 63), dtype=np.float32) / 3969
    w.doc.new_pipeline(Pipeline(tuple(Conv2d(kernel=kernel, padding="same") for _ in range(8))))
    w.renderer.flush()
    # The worker is inside the run: its first layer is done, seven long ones are left.
    qtbot.waitUntil(lambda: len(computed) > 0, timeout=60_000)
    assert w.renderer.busy and w.renderer.worker.running
    assert len(computed) < 8
    t0 = time.perf_counter()
    assert w.close()
    # the layer in progress is dropped from inside: closing takes less than one such layer did
    # (a bound measured on this machine, under its present load)
    assert time.perf_counter() - t0 < seconds[0]
    assert not w.renderer.worker.running


def test_async_edits_end_on_the_core_result(make_window):
    w = make_window(first_launch=True)
    settle(w)
    for v in ("1", "2", "3", "4"):
        w.kernel_editor.set_cell(0, 0, v)
        # As a user types: whatever has arrived is handled between two key presses.
        QApplication.processEvents()
    assert w.busy
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    assert w.doc.pipeline.layers[0].kernel[0, 0] == 4
    assert w.close()


def test_the_layer_limit_is_a_message_not_a_crash(window):
    w = window
    w.doc.new_pipeline(Pipeline(tuple(ReLU() for _ in range(64))))
    messages = []
    w.layer_panel.message.connect(messages.append)
    w.doc.select(64)
    w.layer_panel.add("relu")
    w.layer_panel.duplicate_selected()
    assert len(w.doc.pipeline) == 64
    assert len(messages) == 2 and "64" in messages[0]
    settle(w)
    assert len(rows(w)) == 65
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 64))


# ------------------------------------------------------------------ results against their rows


def test_a_stale_run_of_a_longer_pipeline_never_reaches_the_new_rows(make_window):
    """The worker's results for a pipeline that was just replaced may still be on their way when
    the list already shows the new one: they must never be shown against the new rows."""
    w = make_window(first_launch=False)
    # (the thread starts with the first run; record what it sends)
    w.doc.new_pipeline(Pipeline([Conv2d(kernel=SOBEL), ReLU(), MaxPool2d(2)]))
    w.doc.set_image_array(np.random.default_rng(7).random((1, 40, 50), dtype=np.float32), "n")
    w.doc.select(3)
    w.renderer.flush()  # (the image came within the interval: hand it over now)
    worker = w.renderer.worker
    assert worker.running
    sent: list[tuple[str, tuple]] = []  # (kind, (token, payload)); payload[0]: the generation
    worker.progressed.connect(lambda *a: sent.append(("layer", a)))
    worker.done.connect(lambda *a: sent.append(("run", a)))
    settle(w)
    old = w.renderer.generation
    old_layers = [a for kind, a in sent if kind == "layer" and a[1][0] == old]
    old_run = next(a for kind, a in sent if kind == "run" and a[1][0] == old)
    assert [a[1][1] for a in old_layers][-3:] == [1, 2, 3] and len(old_run[1][2].outputs) == 3
    m = w.layer_panel.model
    assert [m.data(m.index(r, COL_TIME)) for r in range(1, 4)] == \
        [time_text(t) for t in w.renderer.times]
    finished: list[int] = []
    w.renderer.finished.connect(lambda g, o, e: finished.append(g))
    updated: list[tuple[int, int]] = []
    w.renderer.layerUpdated.connect(lambda g, i, u: updated.append((g, i)))

    # A shorter pipeline: the list hears of it at once ...
    w.doc.new_pipeline(Pipeline([ReLU()]))
    assert w.renderer.generation != old and w.renderer.busy
    assert rows(w) == [rows(w)[0], "1  relu"] and w.doc.selected == 1
    shown = w.layer_view.maps()
    # ... and then the old run's results arrive from the worker, in the order it sent them
    # (past the worker's own check of its token: the renderer checks the generation again).
    for a in old_layers:
        worker.progressed.emit(*a)
    worker.done.emit(*old_run)
    assert finished == [] and updated == []  # the renderer let none through
    assert m.rowCount() == 2 and rows(w)[1] == "1  relu"
    assert m.data(m.index(1, COL_TIME)) == ""  # not the old conv layer's time
    assert m.data(m.index(1, 0), Qt.ItemDataRole.UserRole) == "ok"
    assert w.layer_view.maps() is shown

    # The new run reports for the new rows only.
    settle(w)
    assert len(finished) == 1 and finished[0] == w.renderer.generation
    assert len(w.renderer.times) == 1 and m.rowCount() == 2
    assert m.data(m.index(1, COL_TIME)) == time_text(w.renderer.times[0])
    np.testing.assert_array_equal(shown_maps(w), core_output(w, w.doc.selected))


def test_layer_list_follows_a_shorter_pipeline_before_its_signal(make_window):
    """Results of the new pipeline may reach the list before the list hears of the pipeline:
    here a slot connected before the window's waits for the real renderer inside the
    ``pipelineChanged`` emission (as a modal dialog would). The list must answer for the pipeline
    as it is, never for rows that no longer exist, and end on the new run's times."""
    doc = Document()
    renderer = Renderer(doc, debounce_ms=5)
    seen: list[tuple[int, list[str], list[str]]] = []

    def wait_for_the_run() -> None:  # runs after the renderer's slot, before the window's
        assert renderer.wait_idle(60_000)
        if w is None:
            return
        m = w.layer_panel.model
        seen.append((m.rowCount(), [m.data(m.index(r, 0)) for r in range(m.rowCount())],
                     [m.data(m.index(r, COL_TIME)) for r in range(m.rowCount())]))

    w = None
    doc.pipelineChanged.connect(wait_for_the_run)
    w = make_window(document=doc, renderer=renderer, size=None)
    doc.set_image_array(np.random.default_rng(8).random((1, 30, 30), dtype=np.float32), "n")
    doc.new_pipeline(Pipeline([Conv2d(kernel=SOBEL), ReLU(), MaxPool2d(2)]))
    assert w.wait_idle()
    model = w.layer_panel.model
    assert model.rowCount() == 4
    seen.clear()
    doc.new_pipeline(Pipeline([ReLU()]))
    # inside the emission, after the new run was reported to the list
    assert len(seen) == 1
    count, labels, times = seen[0]
    assert count == 2 and labels[1] == "1  relu"
    assert times[1] == time_text(renderer.times[0])
    # and once every slot ran
    assert w.wait_idle()
    assert model.rowCount() == 2
    assert [model.data(model.index(r, 0)) for r in range(2)][1] == "1  relu"
    assert model.data(model.index(1, COL_TIME)) == time_text(renderer.times[0])
    np.testing.assert_array_equal(shown_maps(w), doc.pipeline.run(doc.image)[0])


def test_a_structural_change_never_shows_another_layers_maps(window):
    """While a new stack computes, the view never shows the previous stack's map under the new
    layer's title; an edit in place keeps the old maps until the new ones arrive."""
    w = window
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=SOBEL, padding="same"), ReLU(),
                                 MaxPool2d(kernel_size=2))))
    w.doc.select(1)
    settle(w)
    seen = []

    def look() -> None:  # connected after the window's own slots: what the user sees then
        showing = w._layer_stack.currentWidget()
        seen.append((w.renderer.busy, showing is w.layer_view,
                     showing is w.layer_view and shown_maps(w) is w.renderer.outputs[0]))

    w.doc.pipelineChanged.connect(look)
    w.doc.new_pipeline(Pipeline((ReLU(),)))
    assert seen[-1][0] and not seen[-1][1]  # computing, and the old conv map is not shown
    assert "Computing layer 1" in w._layer_message.text()
    settle(w)
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    # an in-place edit of the same layer keeps its maps while the new ones compute
    w.doc.replace_layer(1, Conv2d(kernel=SOBEL.T, padding="same"))
    settle(w)
    before = shown_maps(w)
    w.doc.replace_layer(1, Conv2d(kernel=-SOBEL.T, padding="same"))
    assert seen[-1][1]
    settle(w)
    assert shown_maps(w) is not before
    np.testing.assert_array_equal(shown_maps(w), core_output(w, 1))
    w.doc.pipelineChanged.disconnect(look)
