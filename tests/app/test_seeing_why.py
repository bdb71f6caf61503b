"""Seeing why: the receptive-field overlay, the ERF heat map, the inspector, the shapes panel, the
cross-check panel, border modes side by side, the combined kernel and code export, each checked
against the core's own numbers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QKeySequence

from convstudio.app.border_compare import MODES, border_interior
from convstudio.app.document import Document
from convstudio.app.feature_view import PixelInfo, receptive_field_rect
from convstudio.app.inspector import MAX_CELLS
from convstudio.app.main_window import MainWindow
from convstudio.app.receptive_overlay import (
    Mark,
    cells_rect,
    layer_placement,
    padding_bands,
    split_window,
    window_on_layer,
)
from convstudio.app.renderer import Renderer
from convstudio.app.shapes_panel import axis_formula, dropped_cells, fc_params_of
from convstudio.core import (
    AvgPool2d,
    Conv2d,
    MaxPool2d,
    Pad,
    Pipeline,
    ReLU,
    Stride,
    Tanh,
)
from convstudio.core import crosscheck as crosscheck_module
from convstudio.core.codegen import to_numpy_opencv, to_pytorch
from convstudio.core.explain import combined_kernel, effective_receptive_field

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


def _window(qtbot, settings, *, sync: bool = True) -> MainWindow:
    doc = Document()
    renderer = Renderer(doc, sync=sync, debounce_ms=5)
    w = MainWindow(doc, renderer, settings=settings, first_launch=False)
    qtbot.addWidget(w)
    w.confirm_discard = lambda: True  # type: ignore[method-assign]
    w.errors = []  # type: ignore[attr-defined]
    w.report_error = lambda title, text: w.errors.append(text)  # type: ignore[method-assign]
    w.resize(1300, 900)
    return w


@pytest.fixture
def window(qtbot, settings):
    w = _window(qtbot, settings)
    yield w
    w.shutdown()
    assert all(task._thread is None for task in w.insight.tasks())
    assert w.renderer._thread is None


def _image(c=3, h=40, w=52, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def _load(w: MainWindow, pipeline: Pipeline, image: np.ndarray, select: int) -> None:
    w.doc.set_image_array(image, "test")
    w.doc.new_pipeline(pipeline)
    w.doc.select(select)
    assert not w.renderer.busy


def _tiny_cnn() -> Pipeline:
    return Pipeline.load(EXAMPLES / "tiny-cnn.json")


def _click(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.renderer.outputs[w.doc.selected - 1]
    w.layer_view.clicked.emit(PixelInfo("layer", channel, row, col, float(out[channel, row, col])))


def _hover(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.renderer.outputs[w.doc.selected - 1]
    w.layer_view.hovered.emit(PixelInfo("layer", channel, row, col, float(out[channel, row, col])))


def _rect(grid, key):
    item = grid.focus_view().overlay_item(key)
    assert item is not None, (key, grid.overlay_keys())
    r = item.rect()
    return (r.x(), r.y(), r.width(), r.height())


# ------------------------------------------------------------------ receptive-field overlay


def test_hover_box_is_the_cores_receptive_field(window):
    w = window
    p = _tiny_cnn()
    _load(w, p, _image(), 5)
    rf = p.receptive_fields()[5]
    _hover(w, 0, 3, 4)  # an interior pixel: its window lies inside the image
    r0, r1, c0, c1 = rf.window(3, 4)
    assert (r0, r1, c0, c1) == (9, 17, 13, 21)
    expected = receptive_field_rect(layer_placement(p, 5), 3, 4)
    assert _rect(w.input_view, ("rf", "hover", "inside")) == expected == (c0, r0, c1 - c0, r1 - r0)
    assert ("rf", "hover", "outline") not in w.input_view.overlay_keys()
    # On the layer's own maps: the hovered pixel's square.
    assert ("rf", "hover", "pixel") in w.layer_view.overlay_keys()
    _hover(w, 0, 0, 0)  # a corner pixel: its window starts 3 rows and columns into the padding
    full = receptive_field_rect(layer_placement(p, 5), 0, 0)
    assert full == (-3.0, -3.0, 8.0, 8.0)
    assert _rect(w.input_view, ("rf", "hover", "outline")) == full
    assert _rect(w.input_view, ("rf", "hover", "inside")) == (0.0, 0.0, 5.0, 5.0)
    bands = [_rect(w.input_view, k) for k in w.input_view.overlay_keys()
             if k[:2] == ("rf", "hover") and str(k[2]).startswith("pad")]
    assert sorted(bands) == sorted(padding_bands(full, (0.0, 0.0, 5.0, 5.0)))
    assert sum(bw * bh for _, _, bw, bh in bands) == 8 * 8 - 5 * 5  # the padding part, exactly
    w.layer_view.hovered.emit(None)
    assert not [k for k in w.input_view.overlay_keys() if k[:2] == ("rf", "hover")]


def test_click_pins_boxes_shown_on_earlier_layers_and_esc_clears(window):
    w = window
    p = _tiny_cnn()
    _load(w, p, _image(), 5)
    ins = w.insight
    _click(w, 1, 2, 3)
    _click(w, 0, 6, 9)
    assert ins.overlay.pins() == [Mark(5, 2, 3, 1), Mark(5, 6, 9, 0)]
    assert ins.pixel == Mark(5, 6, 9, 0)
    keys = w.input_view.overlay_keys()
    assert ("rf", ("pin", 0), "inside") in keys and ("rf", ("pin", 1), "inside") in keys
    assert "layer 5 (row 2, col 3)" in ins.receptive.pins_label.text()
    # An earlier layer's maps show the cells that feed the pinned pixel.
    w.doc.select(2)
    window_on_2 = window_on_layer(p, 5, 6, 9, on=2)
    assert window_on_2 == Pipeline(p.layers[2:5]).receptive_fields()[-1].window(6, 9)
    expected = cells_rect(layer_placement(p, 2), split_window(window_on_2, 40, 52))
    assert _rect(w.layer_view, ("rf", ("pin", 1), "inside")) == expected
    # The pins stay (they carry their layer); Esc clears them.
    assert ins.actions["clear_pins"].shortcut() == QKeySequence("Esc")
    ins.actions["clear_pins"].trigger()
    assert ins.overlay.pins() == []
    assert not [k for k in w.input_view.overlay_keys() if k[0] == "rf"]


def test_pins_follow_pipeline_edits(window):
    w = window
    p = _tiny_cnn()
    _load(w, p, _image(), 5)
    _click(w, 0, 9, 12)
    assert len(w.insight.overlay.pins()) == 1
    # Removing layer 3 (the max pool) halves nothing any more: layer 5 is now layer 4's map, and a
    # pin on a layer that no longer exists goes.
    w.doc.remove_layer(5)
    w.doc.remove_layer(5)
    assert w.insight.overlay.pins() == []


def test_receptive_field_table_has_the_info_numbers(window):
    w = window
    p = _tiny_cnn()
    img = _image(h=30, w=45)
    _load(w, p, img, 4)
    rows = w.insight.receptive.rows()
    info = p.info(img.shape)
    assert rows[0][:7] == ("0", "input", "3 x 30 x 45", "1 x 1", "1 x 1", "0, 0", "0")
    for row, li in zip(rows[1:], info["layers"]):
        assert row[0] == str(li["index"])
        assert row[2] == "{} x {} x {}".format(*li["output_shape"])
        assert row[3] == "{} x {}".format(*li["receptive_field"])
        assert row[4] == "{} x {}".format(*li["jump"])
        assert row[5] == "{}, {}".format(*li["start"])
        assert row[6] == f"{li['params']:,}"
    table = w.insight.receptive.table
    assert table.item(5, 3).text() == "8 x 8" and table.item(5, 5).text() == "-3, -3"
    w.insight.receptive.layerActivated.emit(2)
    assert w.doc.selected == 2


def test_boxes_on_a_preview_are_in_full_resolution_coordinates(qtbot, settings):
    doc = Document()
    renderer = Renderer(doc, sync=True, debounce_ms=5, preview_pixels=600)
    w = MainWindow(doc, renderer, settings=settings, first_launch=False)
    qtbot.addWidget(w)
    try:
        p = _tiny_cnn()
        img = _image(h=40, w=52)
        _load(w, p, img, 5)
        assert renderer.factor == 2 and renderer.input.shape == (3, 20, 26)
        _hover(w, 0, 2, 3)
        assert _rect(w.input_view, ("rf", "hover", "inside")) == \
            receptive_field_rect(w._placement(5), 2, 3) == (2 * 9, 2 * 5, 16.0, 16.0)
        w.insight.actions["erf"].setChecked(True)
        _click(w, 0, 2, 3)
        assert w.insight.erf.shape == (3, 20, 26)  # the preview's pixel grid, as the input view
        assert w.insight.erf_overlay.heat_items()[0].image.shape == (20, 26, 4)
        assert "preview" in w.insight.inspector.text()
    finally:
        w.shutdown()


# ------------------------------------------------------------------ ERF heat map


def test_erf_heat_map_is_the_cores_gradient(window):
    w = window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 5)
    ins = w.insight
    ins.actions["erf"].setChecked(True)
    _click(w, 1, 4, 5)
    expected = effective_receptive_field(p, img, 5, 1, 4, 5)
    np.testing.assert_array_equal(ins.erf, expected)
    heat = ins.erf_overlay.heat_items()
    assert len(heat) == 1 and heat[0].image.shape == (40, 52, 4)  # in the input's pixel grid
    assert heat[0].parentItem() is w.input_view.tile_image_items()[0]
    alpha = heat[0].image[..., 3]
    assert np.array_equal(alpha > 0, expected.sum(axis=0) != 0)  # no influence: transparent
    assert "theoretical field is 8 × 8" in ins.receptive.erf_label.text()
    ins.actions["erf"].setChecked(False)
    assert ins.erf is None and ins.erf_overlay.heat_items() == []


def test_erf_in_the_worker_thread_drops_stale_requests(qtbot, settings):
    w = _window(qtbot, settings, sync=True)
    try:
        p = _tiny_cnn()
        img = _image()
        _load(w, p, img, 5)
        ins = w.insight
        ins.set_sync(False)
        ins.actions["erf"].setChecked(True)
        _click(w, 0, 1, 1)  # stale before it can be delivered
        with qtbot.waitSignal(ins.erf_task.done, timeout=20_000):
            _click(w, 0, 7, 8)
        assert ins.erf_task.wait_idle(20_000)
        np.testing.assert_array_equal(ins.erf, effective_receptive_field(p, img, 5, 0, 7, 8))
    finally:
        w.shutdown()
    assert all(task._thread is None for task in w.insight.tasks())


# ------------------------------------------------------------------ inspector


def test_inspector_writes_the_tutorial_example(window):
    w = window
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    p = Pipeline((Conv2d(weight=np.array([[[[0, 1], [2, 3]]]], np.float32)),))
    _load(w, p, x, 1)
    _click(w, 0, 0, 0)
    panel = w.insight.inspector
    assert "0×0 + 1×1 + 3×2 + 4×3 = 19" in panel.text()
    assert panel.total_text() == panel.output_text() == "19"
    _click(w, 0, 1, 1)
    assert "4×0 + 5×1 + 7×2 + 8×3 = 43" in panel.text()
    assert panel.total_text() == panel.output_text() == "43"


def test_inspector_numbers_sum_to_the_shown_value(window):
    w = window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 1)
    for (c, i, j) in ((2, 0, 0), (1, 17, 30), (3, 39, 51)):
        _click(w, c, i, j)
        e = w.insight.inspector.explanation
        shown = float(w.renderer.outputs[0][c, i, j])
        products = sum(np.sum(part["products"]) for part in e["inputs"])
        assert products == pytest.approx(sum(part["sum"] for part in e["inputs"]))
        assert products + e["bias"] == pytest.approx(e["total"])
        assert e["total"] == pytest.approx(shown, abs=1e-6)
        panel = w.insight.inspector
        assert panel.total_text() == panel.output_text()
        assert f"Value in layer 1's map: {panel.output_text()}" in panel.text()
    # padding cells are flagged (the corner pixel's window starts in the padding)
    _click(w, 0, 0, 0)
    assert w.insight.inspector.explanation["inputs"][0]["padding"][0] == [True, True, True]


def test_inspector_pooling_and_activation(window):
    w = window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 3)  # max pool
    _click(w, 0, 5, 7)
    e = w.insight.inspector.explanation
    assert e["kind"] == "max"
    window_vals = np.array(e["window"], dtype=np.float64)
    assert e["total"] == window_vals.max() == pytest.approx(float(w.renderer.outputs[2][0, 5, 7]))
    assert "The largest value wins" in w.insight.inspector.text()
    w.doc.select(5)  # avg pool 3x3 s2 padded
    _click(w, 1, 0, 0)
    e = w.insight.inspector.explanation
    assert e["kind"] == "avg" and e["divisor"] == 9
    assert e["total"] == pytest.approx(e["sum"] / 9)
    assert "Shaded cells are padding" in w.insight.inspector.text()
    w.doc.select(6)  # tanh
    _click(w, 0, 3, 3)
    e = w.insight.inspector.explanation
    assert e["kind"] == "activation"
    assert e["output"] == pytest.approx(np.tanh(e["input"]), abs=1e-6)
    panel = w.insight.inspector
    assert panel.total_text() == panel.output_text()


def test_inspector_caps_huge_windows(window):
    w = window
    k = np.ones((31, 31), np.float32) / 961
    p = Pipeline((Conv2d(kernel=k, padding="same"),))
    _load(w, p, _image(c=1, h=40, w=40), 1)
    _click(w, 0, 20, 20)
    text = w.insight.inspector.text()
    assert f"Showing the top-left {MAX_CELLS} × {MAX_CELLS} of the 31 × 31 cells" in text
    assert "(961 terms)" in text
    assert w.insight.inspector.total_text() == w.insight.inspector.output_text()


def test_inspector_waits_for_a_click_and_forgets_it_on_another_layer(window):
    w = window
    _load(w, _tiny_cnn(), _image(), 1)
    assert w.insight.inspector.explanation is None
    _click(w, 0, 2, 2)
    assert w.insight.inspector.explanation is not None
    w.doc.select(2)
    assert w.insight.inspector.explanation is None and w.insight.pixel is None


# ------------------------------------------------------------------ shapes & formula


def test_shapes_panel_fills_in_the_formula(window):
    w = window
    p = _tiny_cnn()
    img = np.zeros((3, 300, 451), np.float32)
    _load(w, p, img, 3)
    text = w.insight.shapes.text()
    assert "H: floor((300 + 2 - 3 + 1) / 1) = 300" in text
    assert "W: floor((451 + 0 - 2 + 2) / 2) = 225" in text
    assert "the floor drops 1 column of layer 2's map (column 450)" in text
    fc = p.fc_params(img.shape)
    assert fc == 6_880_021_950
    assert f"120 parameters vs {fc:,} for a fully connected layer (57 million times as many)" \
        in text
    assert "405,900 × 16,950 weights + 16,950 biases = 6,880,021,950" in text
    # per layer, the fully connected count of that layer alone
    assert f"{fc_params_of((3, 300, 451), (4, 300, 451)):,}" in text


def test_dropped_column_is_highlighted_on_the_input(window):
    w = window
    p = _tiny_cnn()
    _load(w, p, np.zeros((3, 30, 45), np.float32), 3)  # 45 columns into a 2x2 pool: one is dropped
    assert w.insight.dropped_overlay_keys() == [("dropped", 0)]
    expected = cells_rect(layer_placement(p, 2), (0, 30, 44, 45))
    assert _rect(w.input_view, ("dropped", 0)) == expected == (44.0, 0.0, 1.0, 30.0)
    w.insight.shapes.highlight_box.setChecked(False)
    assert w.insight.dropped_overlay_keys() == []
    w.insight.shapes.highlight_box.setChecked(True)
    w.doc.select(1)
    assert w.insight.dropped_overlay_keys() == []


@pytest.mark.parametrize("layer", [
    Conv2d(kernel=np.ones((3, 5), np.float32), stride=(2, 3), padding=(1, 2)),
    Conv2d(kernel=np.ones((3, 3), np.float32), dilation=2, stride=2, padding=[0, 1, 2, 0]),
    MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    MaxPool2d(kernel_size=2, stride=2, ceil_mode=True),
    AvgPool2d(kernel_size=(2, 3), stride=(3, 2)),
    Pad(padding=[1, 2, 0, 3]),
    Stride(stride=(3, 2), offset=(1, 1)),
    ReLU(),
    dataclasses.replace(MaxPool2d(kernel_size=3), enabled=False),
])
@pytest.mark.parametrize("n", [7, 10, 11])
def test_axis_formula_agrees_with_the_core(layer, n):
    shape = layer.output_shape((1, n, n + 3))
    fh, fw = axis_formula(layer, n, 0), axis_formula(layer, n + 3, 1)
    assert (fh.out, fw.out) == shape[1:]
    assert fh.text.endswith(str(shape[1])) or "dropped" in fh.text
    # every dropped row is really reached by no window
    for r0, r1, c0, c1 in dropped_cells(layer, (1, n, n + 3)):
        x = np.zeros((1, n, n + 3), np.float32)
        x[:, r0:r1, c0:c1] = np.nan
        assert np.isfinite(layer.forward(x)).all()


def test_ratio_words():
    from convstudio.app.shapes_panel import ratio_text

    assert ratio_text(6_880_021_950, 120) == " (57 million times as many)"
    assert ratio_text(4200, 10) == " (420 times as many)"
    assert ratio_text(30, 10) == " (3.0 times as many)"
    assert "only 0.5" in ratio_text(5, 10)
    assert ratio_text(5, 0) == ""


def test_dilated_formula_uses_the_general_form():
    f = axis_formula(Conv2d(kernel=np.ones((3, 3), np.float32), dilation=2, padding=2), 300, 0)
    assert f.text == "floor((300 + 4 - 2×(3 - 1) - 1) / 1) + 1 = 300"


# ------------------------------------------------------------------ cross-check


def test_crosscheck_is_off_by_default_then_green(window):
    w = window
    _load(w, _tiny_cnn(), _image(), 1)
    panel = w.insight.crosscheck
    assert not panel.is_on() and panel.table.rowCount() == 0
    panel.check_box.setChecked(True)
    assert panel.table.rowCount() == 6
    assert [panel.row_colour(r) for r in range(6)] == ["green"] * 6
    panel.select_layer(4)
    np.testing.assert_array_equal(panel.reference_view.maps(), panel.checks()[3].reference)
    panel.show_combo.setCurrentIndex(1)  # |core - OpenCV|
    core = w.renderer.outputs[3].astype(np.float64)
    np.testing.assert_array_equal(panel.reference_view.maps(),
                                  np.abs(core - panel.checks()[3].reference).astype(np.float32))
    assert float(panel.reference_view.maps().max()) <= panel.checks()[3].max_abs_diff + 1e-7
    # It reruns after every render.
    w.doc.set_layer_enabled(2, False)
    assert panel.table.rowCount() == 6 and panel.checks()[1].max_abs_diff == 0


def test_crosscheck_turns_red_when_the_reference_disagrees(window, monkeypatch):
    w = window
    _load(w, _tiny_cnn(), _image(), 1)
    real = crosscheck_module._reference64

    def wrong(layer, x, cancelled=None):
        ref = real(layer, x, cancelled)
        return ref + 0.01 if layer.type == "relu" else ref

    monkeypatch.setattr(crosscheck_module, "_reference64", wrong)
    panel = w.insight.crosscheck
    panel.check_box.setChecked(True)
    colours = [panel.row_colour(r) for r in range(6)]
    assert colours == ["green", "red", "green", "green", "green", "green"]
    assert "Layer 2 differs" in panel.status.text()
    assert panel.selected_layer() == 2  # the failing layer is shown
    assert panel.table.item(1, 4).text().startswith("✗")


# ------------------------------------------------------------------ border modes


def test_border_modes_side_by_side_match_the_core(window):
    w = window
    p = _tiny_cnn()
    img = _image(h=20, w=24)
    _load(w, p, img, 1)
    dlg = w.insight.compare_border_modes()
    assert dlg is not None and dlg.isVisible()
    assert set(dlg.outputs) == set(MODES)
    for mode in MODES:
        expected = p.replace_layer(0, dataclasses.replace(p.layers[0], padding_mode=mode)).run(img)[0]
        np.testing.assert_array_equal(dlg.outputs[mode], expected)
        view = dlg.views[mode]
        np.testing.assert_array_equal(view.image_item().image, expected[0])
    assert dlg.interior == (1, 19, 1, 23) == border_interior(p.layers[0], img.shape)
    rect = dlg.views["reflect"].overlay_item("interior").rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (1, 1, 22, 18)
    # the four agree inside the box, and differ outside it
    inside = np.s_[:, 1:19, 1:23]
    for mode in MODES[1:]:
        np.testing.assert_array_equal(dlg.outputs[mode][inside], dlg.outputs["zeros"][inside])
        assert not np.array_equal(dlg.outputs[mode], dlg.outputs["zeros"])
    # linked zoom
    dlg.views["zeros"].view_box().setRange(rect=dlg.views["zeros"].view_box().targetRect()
                                           .adjusted(2, 2, -2, -2), padding=0)
    assert dlg.views["circular"].view_box().targetRect() == dlg.views["zeros"].view_box().targetRect()
    w.doc.select(2)
    assert not w.insight.actions["compare_borders"].isEnabled()
    dlg.close()


def test_border_compare_uses_same_padding_for_an_unpadded_layer(window):
    w = window
    p = Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32) / 9),))
    img = _image(c=1, h=12, w=12)
    _load(w, p, img, 1)
    dlg = w.insight.compare_border_modes()
    assert "uses \"same\" padding" in dlg.note.text()
    assert dlg.outputs["zeros"].shape == (1, 12, 12)
    dlg.close()


# ------------------------------------------------------------------ combined kernel


def test_combined_kernel_of_a_linear_run(window):
    w = window
    rng = np.random.default_rng(3)
    p = Pipeline((
        Conv2d(weight=rng.standard_normal((2, 3, 3, 3)).astype(np.float32), padding=1),
        AvgPool2d(kernel_size=2),
        Conv2d(weight=rng.standard_normal((2, 2, 3, 3)).astype(np.float32), stride=2),
        ReLU(),
        Conv2d(kernel=np.array([[1, 2, 1]], np.float32).T @ np.array([[1, 0, -1]], np.float32)),
    ))
    _load(w, p, _image(h=32, w=32), 3)
    panel = w.insight.combined
    assert panel.kernel is None  # composed only when its page is shown
    w.insight.actions["combined"].trigger()  # Layer ▸ Show combined kernel
    assert w.insight.tabs.currentWidget() is panel
    expected = combined_kernel(p.layers[:3], 3)
    assert panel.run == (1, 3)
    np.testing.assert_array_equal(panel.kernel.weight, expected.weight)
    np.testing.assert_array_equal(panel.kernel.bias, expected.bias)
    assert panel.kernel.stride == (4, 4) and panel.kernel.size == (8, 8)
    np.testing.assert_allclose(panel.table_values(), expected.weight[0, 0], rtol=1e-3, atol=1e-4)
    panel.out_spin.setValue(1)
    panel.in_spin.setValue(2)
    np.testing.assert_array_equal(panel.shown_kernel(), expected.weight[1, 2])
    assert "not separable" in panel.pair_label.text()
    # Layer 4 (ReLU) is not linear; layer 5's run starts after it, and a Sobel is separable.
    w.doc.select(4)
    assert panel.kernel is None and "Layer 4 (relu) is not linear" in panel.summary.text()
    w.doc.select(5)
    assert panel.run == (5, 5)
    assert "layer 4 (relu) is not linear" in panel.summary.text()
    assert "separable" in panel.pair_label.text() and "[1, 2, 1]" in panel.pair_label.text()


def test_layer_list_context_menu_offers_the_layer_actions(window):
    w = window
    _load(w, _tiny_cnn(), _image(), 1)
    menu = w.insight._on_layer_context_menu(w.layer_panel.view.rect().center())
    texts = [a.text() for a in menu.actions()]
    assert "Compare border modes…" in texts and "Show combined kernel" in texts
    assert "Remove layer" in texts
    menu.close()


# ------------------------------------------------------------------ code export


@pytest.mark.parametrize("kind, generator", [("pytorch", to_pytorch), ("numpy", to_numpy_opencv)])
def test_copy_as_code_puts_the_generated_code_on_the_clipboard(window, kind, generator):
    w = window
    p = _tiny_cnn()
    _load(w, p, _image(), 1)
    action = w.insight.actions["copy_pytorch" if kind == "pytorch" else "copy_numpy"]
    assert action in w.menuBar().actions()[1].menu().actions()  # the Edit menu
    action.trigger()
    assert QGuiApplication.clipboard().text() == generator(p, in_channels=3)


def test_copied_numpy_script_reproduces_the_app(window, tmp_path):
    w = window
    p = _tiny_cnn()
    img = _image(h=17, w=23)
    _load(w, p, img, 6)
    text = w.insight.copy_code("numpy")
    namespace: dict = {"__name__": "copied"}
    exec(compile(text, str(tmp_path / "copied.py"), "exec"), namespace)  # noqa: S102
    outputs = namespace["run"](img)
    for ours, theirs in zip(w.renderer.outputs, outputs):
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ threads


def test_background_tasks_stop_with_the_window(qtbot, settings):
    w = _window(qtbot, settings)
    _load(w, Pipeline((Tanh(),)), _image(c=1, h=8, w=8), 1)
    w.insight.set_sync(False)
    w.insight.crosscheck.check_box.setChecked(True)
    assert w.insight.check_task.wait_idle(20_000)
    assert w.insight.crosscheck.row_colour(0) == "green"
    assert w.insight.check_task._thread is not None
    w.shutdown()
    assert all(task._thread is None for task in w.insight.tasks())
