"""Seeing why: the receptive-field overlay, the ERF heat map, the inspector, the shapes panel, the
cross-check panel, border modes side by side, the combined kernel and code export, each checked
against the core's own numbers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import settle
from PySide6.QtCore import QPointF
from PySide6.QtGui import QGuiApplication, QKeySequence

from convstudio.app.dialogs.border_compare import MODES, border_interior
from convstudio.app.panels.inspector import MAX_CELLS, fmt
from convstudio.app.panels.shapes_panel import axis_formula, dropped_cells, fc_params_of
from convstudio.app.views.erf_overlay import erf_rgba
from convstudio.app.views.feature_view import PixelInfo, receptive_field_rect
from convstudio.app.views.receptive_overlay import (
    Mark,
    cells_rect,
    layer_placement,
    padding_bands,
    split_window,
    window_on_layer,
)
from convstudio.app.window.main_window import MainWindow
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
from convstudio.core.explain import combined_kernel, effective_receptive_field, float32_sum_bound

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _image(c=3, h=40, w=52, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def _load(w: MainWindow, pipeline: Pipeline, image: np.ndarray, select: int) -> None:
    w.doc.set_image_array(image, "test")
    w.doc.new_pipeline(pipeline)
    w.doc.select(select)
    settle(w)


def _tiny_cnn() -> Pipeline:
    return Pipeline.load(EXAMPLES / "tiny-cnn.json")


def _click(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.renderer.outputs[w.doc.selected - 1]
    w.layer_view.clicked.emit(PixelInfo("layer", channel, row, col, float(out[channel, row, col])))
    settle(w)


def _hover(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.renderer.outputs[w.doc.selected - 1]
    w.layer_view.hovered.emit(PixelInfo("layer", channel, row, col, float(out[channel, row, col])))
    settle(w)


def _rect(grid, key):
    item = grid.focus_view().overlay_item(key)
    assert item is not None, (key, grid.overlay_keys())
    r = item.rect()
    return (r.x(), r.y(), r.width(), r.height())


# ------------------------------------------------------------------ receptive-field overlay


def test_hover_box_is_the_cores_receptive_field(plain_window):
    w = plain_window
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
    settle(w)
    assert not [k for k in w.input_view.overlay_keys() if k[:2] == ("rf", "hover")]


def test_click_pins_boxes_shown_on_earlier_layers_and_esc_clears(plain_window):
    w = plain_window
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
    settle(w)
    window_on_2 = window_on_layer(p, 5, 6, 9, on=2)
    assert window_on_2 == Pipeline(p.layers[2:5]).receptive_fields()[-1].window(6, 9)
    expected = cells_rect(layer_placement(p, 2), split_window(window_on_2, 40, 52))
    assert _rect(w.layer_view, ("rf", ("pin", 1), "inside")) == expected
    # The pins stay (they carry their layer); Esc clears them.
    assert ins.actions["clear_pins"].shortcut() == QKeySequence("Esc")
    ins.actions["clear_pins"].trigger()
    settle(w)
    assert ins.overlay.pins() == []
    assert not [k for k in w.input_view.overlay_keys() if k[0] == "rf"]


def test_pins_follow_pipeline_edits(plain_window):
    w = plain_window
    p = _tiny_cnn()
    _load(w, p, _image(), 5)
    _click(w, 0, 9, 12)
    assert len(w.insight.overlay.pins()) == 1
    # Removing layer 3 (the max pool) halves nothing any more: layer 5 is now layer 4's map, and a
    # pin on a layer that no longer exists goes.
    w.doc.remove_layer(5)
    settle(w)
    w.doc.remove_layer(5)
    settle(w)
    assert w.insight.overlay.pins() == []


def test_receptive_field_table_has_the_info_numbers(plain_window):
    w = plain_window
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


def test_boxes_on_a_preview_are_in_full_resolution_coordinates(make_window):
    w = make_window(size=None, preview_pixels=600)
    renderer = w.renderer
    if True:
        p = _tiny_cnn()
        img = _image(h=40, w=52)
        _load(w, p, img, 5)
        assert renderer.factor == 2 and renderer.input.shape == (3, 20, 26)
        _hover(w, 0, 2, 3)
        assert _rect(w.input_view, ("rf", "hover", "inside")) == \
            receptive_field_rect(w._placement(5), 2, 3) == (2 * 9, 2 * 5, 16.0, 16.0)
        w.insight.actions["erf"].setChecked(True)
        settle(w)
        _click(w, 0, 2, 3)
        # the preview's pixel grid, as the input view
        np.testing.assert_array_equal(_whole_erf(w.insight, (3, 20, 26)), effective_receptive_field(
            w.doc.pipeline, renderer.input, 5, 0, 2, 3))
        (heat,) = w.insight.erf_overlay.heat_items()
        r0, r1, c0, c1 = _nonzero_box(_whole_erf(w.insight, (3, 20, 26)))
        assert heat.image.shape == (r1 - r0, c1 - c0, 4)  # the box of the field, no more
        (jr, jc), (x0, y0) = w.input_view.placement().jump, w.input_view.placement().origin
        got = heat.mapToScene(QPointF(0, 0))  # the box's first preview pixel, in input coordinates
        want = w.input_view.tile_scene_pos(0, x0 + c0 * jc, y0 + r0 * jr)
        assert abs(got.x() - want.x()) < 1e-6 and abs(got.y() - want.y()) < 1e-6
        assert "preview" in w.insight.inspector.text()


# ------------------------------------------------------------------ ERF heat map


def _whole_erf(ins, shape) -> np.ndarray:
    """The window's ERF (a box of the input and where it starts) placed in an input of `shape`."""
    (r0, c0), part = ins.erf_origin, ins.erf
    assert r0 >= 0 and c0 >= 0 and r0 + part.shape[1] <= shape[1] and c0 + part.shape[2] <= shape[2]
    g = np.zeros(shape, np.float32)
    g[:, r0:r0 + part.shape[1], c0:c0 + part.shape[2]] = part
    return g


def _nonzero_box(g: np.ndarray) -> tuple[int, int, int, int]:
    """(r0, r1, c0, c1) of the smallest box holding every nonzero value of ``(C, H, W)`` `g`."""
    rows, cols = np.nonzero(np.any(g != 0, axis=0))
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def test_erf_heat_map_is_the_cores_gradient(plain_window, monkeypatch):
    import threading

    from convstudio.app.window import insight_jobs

    threads = []
    real = insight_jobs.heat_images
    monkeypatch.setattr(insight_jobs, "heat_images",
                        lambda *a: (threads.append(threading.current_thread()), real(*a))[1])
    w = plain_window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 5)
    ins = w.insight
    ins.actions["erf"].setChecked(True)
    settle(w)
    _click(w, 1, 4, 5)
    expected = effective_receptive_field(p, img, 5, 1, 4, 5)
    np.testing.assert_array_equal(_whole_erf(ins, img.shape), expected)
    heat = ins.erf_overlay.heat_items()
    r0, r1, c0, c1 = _nonzero_box(expected)  # the heat image covers the field's box only
    assert ins.erf_origin == (r0, c0) and ins.erf.shape == (3, r1 - r0, c1 - c0)  # and so does the ERF kept
    assert len(heat) == 1 and heat[0].image.shape == (r1 - r0, c1 - c0, 4)
    assert heat[0].parentItem() is w.input_view.tile_image_items()[0]
    for px, py in ((c0, r0), (c1, r1), (c0 + 1.5, r1 - 0.5)):  # on the input's own pixels
        got = heat[0].mapToScene(QPointF(px - c0, py - r0))
        want = w.input_view.tile_scene_pos(0, px, py)
        assert abs(got.x() - want.x()) < 1e-6 and abs(got.y() - want.y()) < 1e-6
    alpha = heat[0].image[..., 3]
    box = (slice(r0, r1), slice(c0, c1))
    assert np.array_equal(alpha > 0, expected.sum(axis=0)[box] != 0)  # no influence: transparent
    assert "theoretical field is 8 × 8" in ins.receptive.erf_label.text()
    # one channel of the input large: that channel's own heat image (made on the ERF worker)
    w.input_view.set_focused_channel(1)
    ins.erf_overlay.refresh()
    heat = ins.erf_overlay.heat_items()
    assert len(heat) == 1
    np.testing.assert_array_equal(heat[0].image,
                                  erf_rgba(expected[1], float(np.abs(expected[1]).max()))[box])
    assert threads and all(t is not threading.main_thread() for t in threads)
    w.input_view.set_focused_channel(None)
    ins.actions["erf"].setChecked(False)
    settle(w)
    assert ins.erf is None and ins.erf_overlay.heat_items() == []


def test_erf_in_the_worker_thread_drops_stale_requests(qtbot, plain_window):
    w = plain_window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 5)
    ins = w.insight
    ins.actions["erf"].setChecked(True)
    settle(w)
    delivered = []
    ins.erf_task.done.connect(lambda token, result: delivered.append(token))
    out = w.renderer.outputs[4]
    # two clicks in a row: the first one's job is stale before it can be delivered
    w.layer_view.clicked.emit(PixelInfo("layer", 0, 1, 1, float(out[0, 1, 1])))
    with qtbot.waitSignal(ins.erf_task.done, timeout=20_000):
        w.layer_view.clicked.emit(PixelInfo("layer", 0, 7, 8, float(out[0, 7, 8])))
    settle(w)
    assert delivered == [ins.erf_task.latest]
    np.testing.assert_array_equal(_whole_erf(ins, img.shape), effective_receptive_field(p, img, 5, 0, 7, 8))


# ------------------------------------------------------------------ inspector


def _shown_once(panel, value: float) -> None:
    """The page gives `value` (the map's) as the total, and no second, different total."""
    text = panel.text()
    assert panel.shown_total() == value
    assert f"Total: {fmt(value, 6)}" in text or f"= {fmt(value, 6)}" in text
    assert "Value in layer" not in text  # the one number is the total


def test_inspector_writes_the_tutorial_example(plain_window):
    w = plain_window
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    p = Pipeline((Conv2d(weight=np.array([[[[0, 1], [2, 3]]]], np.float32)),))
    _load(w, p, x, 1)
    _click(w, 0, 0, 0)
    panel = w.insight.inspector
    assert "0×0 + 1×1 + 3×2 + 4×3 = 19" in panel.text()
    assert panel.shown_total() == 19.0 and panel.explanation["within_bound"]
    _shown_once(panel, 19.0)
    _click(w, 0, 1, 1)
    assert "4×0 + 5×1 + 7×2 + 8×3 = 43" in panel.text()
    assert panel.shown_total() == 43.0


def _check_within_bound(e: dict, shown: float) -> None:
    """The exact float64 arithmetic explains the map's float32 value to a computed bound."""
    products = [np.asarray(part["products"], np.float64) for part in e["inputs"]]
    abs_sum = sum(float(np.abs(q).sum()) for q in products) + abs(e["bias"])
    terms = sum(q.size for q in products)
    bound = float32_sum_bound(abs_sum, terms, e["total"])
    assert e["bound"] == bound
    # the float64 sums are exact to float64 rounding, far inside the float32 bound
    assert abs(sum(float(q.sum()) for q in products) + e["bias"] - e["total"]) <= 1e-12 * abs_sum
    assert abs(e["total"] - shown) <= bound
    assert e["within_bound"]


def test_inspector_numbers_sum_to_the_shown_value(plain_window):
    w = plain_window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 1)
    for (c, i, j) in ((2, 0, 0), (1, 17, 30), (3, 39, 51)):
        _click(w, c, i, j)
        e = w.insight.inspector.explanation
        shown = float(w.renderer.outputs[0][c, i, j])
        assert e["output"] == shown  # the very value of the map, not a recomputation
        _check_within_bound(e, shown)
        _shown_once(w.insight.inspector, shown)
    # padding cells are flagged (the corner pixel's window starts in the padding)
    _click(w, 0, 0, 0)
    assert w.insight.inspector.explanation["inputs"][0]["padding"][0] == [True, True, True]


def test_inspector_shows_one_number_where_the_terms_cancel(plain_window):
    """Terms that cancel make the float64 sum and the float32 map value differ in the 6th
    digit, one way or the other depending on the BLAS kernel: the page shows the map's value
    only, and says nothing more while the difference is within float32's bound."""
    w = plain_window
    rng = np.random.default_rng(11)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    weight -= weight.mean(axis=(1, 2, 3), keepdims=True)  # zero-sum kernels: strong cancelling
    p = Pipeline((Conv2d(weight=weight, padding="same"),))
    img = (0.5 + 1e-3 * rng.standard_normal((3, 24, 24))).astype(np.float32)
    _load(w, p, img, 1)
    for (c, i, j) in ((0, 5, 5), (3, 12, 7), (2, 23, 23)):
        _click(w, c, i, j)
        panel = w.insight.inspector
        e = panel.explanation
        shown = float(w.renderer.outputs[0][c, i, j])
        _check_within_bound(e, shown)
        _shown_once(panel, shown)
        assert "more than float32 rounding allows" not in panel.text()


def test_inspector_says_when_the_map_is_not_the_arithmetic():
    """A map value beyond the bound (here: a doctored one) is named in words with the exact sum."""
    from convstudio.app.panels.inspector import explanation_html
    from convstudio.core.explain import explain_pixel

    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    p = Pipeline((Conv2d(weight=np.array([[[[0, 1], [2, 3]]]], np.float32)),))
    out = p.run(x)
    out[0][0, 0, 0] = 19.5
    e = explain_pixel(p, x, 1, 0, 0, 0, outputs=out)
    assert not e["within_bound"] and e["total"] == 19.0
    page = explanation_html(e)
    assert "Total: <b>19.5</b>" in page
    assert "The exact sum of these products is <b>19</b>" in page
    assert "more than float32 rounding allows" in page


def test_inspector_draws_each_channel_as_one_flat_table(qtbot):
    """window × kernel = products of every input channel is one table, not a table of tables:
    Qt lays a nested table out several times over, which cost 60-120 ms of the GUI thread per
    clicked pixel. The cells are all there, each grid cut to MAX_CELLS with its ⋮ row."""
    import re

    from convstudio.app.panels.inspector import InspectorPanel, explanation_html
    from convstudio.core.explain import explain_pixel

    rng = np.random.default_rng(2)
    k = MAX_CELLS + 2
    x = rng.random((2, 40, 40), dtype=np.float32)
    p = Pipeline((Conv2d(weight=rng.standard_normal((1, 2, k, k)).astype(np.float32), padding=k // 2),))
    e = explain_pixel(p, x, 1, 0, 3, 20)
    page = explanation_html(e)
    depth, deepest = 0, 0
    for tag in re.findall(r"</?table", page):
        depth += 1 if tag == "<table" else -1
        deepest = max(deepest, depth)
    assert depth == 0 and deepest == 1
    assert page.count("<table") == 2  # one per input channel
    n = MAX_CELLS
    assert page.count("⋮") == 2 * 3 and page.count("…</td>") == 2 * 3 * n  # every grid cut
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.set_explanation(e, page=page)
    doc = panel.browser.document()
    tables = [f for f in doc.rootFrame().childFrames() if f.__class__.__name__ == "QTextTable"]
    assert len(tables) == 2
    # a caption row, n rows of cells, the ⋮ row; (n + 1) columns per grid and the two signs
    assert {(t.rows(), t.columns()) for t in tables} == {(n + 2, 3 * (n + 1) + 2)}
    first = e["inputs"][0]
    cell = tables[0].cellAt(1, 0).firstCursorPosition().block().text()
    assert cell == fmt(first["window"][0][0])
    cell = tables[0].cellAt(1, (n + 1) + 1).firstCursorPosition().block().text()
    assert cell == fmt(first["kernel"][0][0])


def test_inspector_scroll_bar_only_for_a_page_that_does_not_fit(qtbot):
    """A long page is laid out at the width it is read at (the scroll bar beside it); a short
    one gets the whole width, with no empty scroll bar; after either, the next page is right."""
    from convstudio.app.panels.inspector import InspectorPanel
    from convstudio.core.explain import explain_pixel

    rng = np.random.default_rng(4)
    x = rng.random((8, 20, 20), dtype=np.float32)
    long_e = explain_pixel(Pipeline((Conv2d(weight=rng.standard_normal((2, 8, 3, 3)).astype(np.float32),
                                            padding=1),)), x, 1, 0, 5, 5)
    short_e = explain_pixel(Pipeline((ReLU(),)), x, 1, 0, 5, 5)
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 300)
    panel.show()
    qtbot.waitExposed(panel)
    b = panel.browser
    bar = b.verticalScrollBar()
    for e, long in ((long_e, True), (short_e, False), (long_e, True), (short_e, False)):
        panel.set_explanation(e)
        qtbot.wait(20)
        doc = b.document()
        assert doc.textWidth() == b.viewport().width()  # laid out for the width shown
        assert bar.isVisible() == long
        assert (doc.size().height() > b.viewport().height()) == long
        assert (bar.maximum() > 0) == long
    panel.set_message("nothing")
    qtbot.wait(20)
    assert not bar.isVisible()


def test_inspector_pooling_and_activation(plain_window):
    w = plain_window
    p = _tiny_cnn()
    img = _image()
    _load(w, p, img, 3)  # max pool
    _click(w, 0, 5, 7)
    e = w.insight.inspector.explanation
    assert e["kind"] == "max"
    window_vals = np.array(e["window"], dtype=np.float64)
    assert e["total"] == window_vals.max() == float(w.renderer.outputs[2][0, 5, 7])  # a copy
    assert "The largest value wins" in w.insight.inspector.text()
    w.doc.select(5)  # avg pool 3x3 s2 padded
    settle(w)
    _click(w, 1, 0, 0)
    e = w.insight.inspector.explanation
    assert e["kind"] == "avg" and e["divisor"] == 9
    assert e["total"] == e["sum"] / 9
    assert abs(e["total"] - float(w.renderer.outputs[4][1, 0, 0])) <= e["bound"]
    assert e["within_bound"]
    assert "Shaded cells are padding" in w.insight.inspector.text()
    w.doc.select(6)  # tanh
    settle(w)
    _click(w, 0, 3, 3)
    e = w.insight.inspector.explanation
    assert e["kind"] == "activation"
    # tanh in float32: within a few units in the last place of the float64 value
    assert abs(e["output"] - np.tanh(e["input"])) <= 4 * np.spacing(np.float32(e["output"]))
    _shown_once(w.insight.inspector, e["output"])


def test_inspector_caps_huge_windows(plain_window):
    w = plain_window
    k = np.ones((31, 31), np.float32) / 961
    p = Pipeline((Conv2d(kernel=k, padding="same"),))
    _load(w, p, _image(c=1, h=40, w=40), 1)
    _click(w, 0, 20, 20)
    text = w.insight.inspector.text()
    assert f"Showing the top-left {MAX_CELLS} × {MAX_CELLS} of the 31 × 31 cells" in text
    assert "(961 terms)" in text
    e = w.insight.inspector.explanation
    _check_within_bound(e, float(w.renderer.outputs[0][0, 20, 20]))
    _shown_once(w.insight.inspector, e["output"])


def test_inspector_waits_for_a_click_and_forgets_it_on_another_layer(plain_window):
    w = plain_window
    _load(w, _tiny_cnn(), _image(), 1)
    assert w.insight.inspector.explanation is None
    _click(w, 0, 2, 2)
    assert w.insight.inspector.explanation is not None
    w.doc.select(2)
    settle(w)
    assert w.insight.inspector.explanation is None and w.insight.pixel is None


# ------------------------------------------------------------------ shapes & formula


def test_shapes_panel_fills_in_the_formula(plain_window):
    w = plain_window
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


def test_dropped_column_is_highlighted_on_the_input(plain_window):
    w = plain_window
    p = _tiny_cnn()
    _load(w, p, np.zeros((3, 30, 45), np.float32), 3)  # 45 columns into a 2x2 pool: one is dropped
    assert w.insight.dropped_overlay_keys() == [("dropped", 0)]
    expected = cells_rect(layer_placement(p, 2), (0, 30, 44, 45))
    assert _rect(w.input_view, ("dropped", 0)) == expected == (44.0, 0.0, 1.0, 30.0)
    w.insight.shapes.highlight_box.setChecked(False)
    settle(w)
    assert w.insight.dropped_overlay_keys() == []
    w.insight.shapes.highlight_box.setChecked(True)
    settle(w)
    w.doc.select(1)
    settle(w)
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


def test_dilated_formula_uses_the_general_form():
    f = axis_formula(Conv2d(kernel=np.ones((3, 3), np.float32), dilation=2, padding=2), 300, 0)
    assert f.text == "floor((300 + 4 - 2×(3 - 1) - 1) / 1) + 1 = 300"


# ------------------------------------------------------------------ cross-check


def test_crosscheck_is_off_by_default_then_green(plain_window, monkeypatch):
    import threading

    from convstudio.app.panels import crosscheck_panel

    threads = []
    real = crosscheck_panel._view_maps
    monkeypatch.setattr(crosscheck_panel, "_view_maps",
                        lambda ref, core: (threads.append(threading.current_thread()), real(ref, core))[1])
    w = plain_window
    _load(w, _tiny_cnn(), _image(), 1)
    panel = w.insight.crosscheck
    assert not panel.is_on() and panel.table.rowCount() == 0
    panel.check_box.setChecked(True)
    settle(w)
    assert panel.table.rowCount() == 6
    assert [panel.row_colour(r) for r in range(6)] == ["green"] * 6
    panel.select_layer(4)
    settle(w)
    np.testing.assert_array_equal(panel.reference_view.maps(), panel.checks()[3].reference)
    panel.show_combo.setCurrentIndex(1)  # |core - OpenCV|
    settle(w)
    core = w.renderer.outputs[3].astype(np.float64)
    np.testing.assert_array_equal(panel.reference_view.maps(),
                                  np.abs(core - panel.checks()[3].reference).astype(np.float32))
    assert float(panel.reference_view.maps().max()) <= panel.checks()[3].max_abs_diff + 1e-7
    # the maps shown (a whole-layer difference at 24 MP) were prepared off the GUI thread
    assert threads and all(t is not threading.main_thread() for t in threads)
    # It reruns after every render.
    w.doc.set_layer_enabled(2, False)
    settle(w)
    assert panel.table.rowCount() == 6 and panel.checks()[1].max_abs_diff == 0


def test_crosscheck_turns_red_when_the_reference_disagrees(plain_window, monkeypatch):
    w = plain_window
    _load(w, _tiny_cnn(), _image(), 1)
    real = crosscheck_module._reference64

    def wrong(layer, x, cancelled=None):
        ref = real(layer, x, cancelled)
        return ref + 0.01 if layer.type == "relu" else ref

    monkeypatch.setattr(crosscheck_module, "_reference64", wrong)
    panel = w.insight.crosscheck
    panel.check_box.setChecked(True)
    settle(w)
    colours = [panel.row_colour(r) for r in range(6)]
    assert colours == ["green", "red", "green", "green", "green", "green"]
    assert "Layer 2 differs" in panel.status.text()
    assert panel.selected_layer() == 2  # the failing layer is shown
    assert panel.table.item(1, 4).text().startswith("✗")


# ------------------------------------------------------------------ border modes


def test_border_modes_side_by_side_match_the_core(plain_window):
    w = plain_window
    p = _tiny_cnn()
    img = _image(h=20, w=24)
    _load(w, p, img, 1)
    dlg = w.insight.compare_border_modes()
    settle(w)
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
        # the counts under each view (computed on the worker): independent of it, here
        n = int(np.count_nonzero(dlg.outputs[mode] != dlg.outputs["zeros"]))
        d = float(np.abs(dlg.outputs[mode].astype(np.float64) - dlg.outputs["zeros"]).max())
        got_n, total, got_d = dlg.differences[mode]
        assert (got_n, total) == (n, dlg.outputs[mode].size)
        assert abs(got_d - d) <= 4 * np.finfo(np.float64).eps * d
        assert f"at {n:,} of {total:,} values" in dlg.stats[mode].text()
    # linked zoom
    dlg.views["zeros"].view_box().setRange(rect=dlg.views["zeros"].view_box().targetRect()
                                           .adjusted(2, 2, -2, -2), padding=0)
    assert dlg.views["circular"].view_box().targetRect() == dlg.views["zeros"].view_box().targetRect()
    w.doc.select(2)
    settle(w)
    assert not w.insight.actions["compare_borders"].isEnabled()
    dlg.close()


def test_border_compare_uses_same_padding_for_an_unpadded_layer(plain_window):
    w = plain_window
    p = Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32) / 9),))
    img = _image(c=1, h=12, w=12)
    _load(w, p, img, 1)
    dlg = w.insight.compare_border_modes()
    settle(w)
    assert "uses \"same\" padding" in dlg.note.text()
    assert dlg.outputs["zeros"].shape == (1, 12, 12)
    dlg.close()


# ------------------------------------------------------------------ combined kernel


def test_combined_kernel_of_a_linear_run(plain_window):
    w = plain_window
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
    settle(w)
    assert w.insight.tabs.currentWidget() is panel
    expected = combined_kernel(p.layers[:3], 3)
    assert panel.run == (1, 3)
    np.testing.assert_array_equal(panel.kernel.weight, expected.weight)
    np.testing.assert_array_equal(panel.kernel.bias, expected.bias)
    assert panel.kernel.stride == (4, 4) and panel.kernel.size == (8, 8)
    np.testing.assert_allclose(panel.table_values(), expected.weight[0, 0], rtol=1e-3, atol=1e-4)
    panel.out_spin.setValue(1)
    settle(w)
    panel.in_spin.setValue(2)
    settle(w)
    np.testing.assert_array_equal(panel.shown_kernel(), expected.weight[1, 2])
    assert "not separable" in panel.pair_label.text()
    # Layer 4 (ReLU) is not linear; layer 5's run starts after it, and a Sobel is separable.
    w.doc.select(4)
    settle(w)
    assert panel.kernel is None and "Layer 4 (relu) is not linear" in panel.summary.text()
    w.doc.select(5)
    settle(w)
    assert panel.run == (5, 5)
    assert "layer 4 (relu) is not linear" in panel.summary.text()
    assert "separable" in panel.pair_label.text() and "[1, 2, 1]" in panel.pair_label.text()


def test_layer_list_context_menu_offers_the_layer_actions(plain_window):
    w = plain_window
    _load(w, _tiny_cnn(), _image(), 1)
    menu = w.insight._on_layer_context_menu(w.layer_panel.view.rect().center())
    texts = [a.text() for a in menu.actions()]
    assert "Compare border modes…" in texts and "Show combined kernel" in texts
    assert "Remove layer" in texts
    menu.close()


# ------------------------------------------------------------------ code export


@pytest.mark.parametrize("kind, generator", [("pytorch", to_pytorch), ("numpy", to_numpy_opencv)])
def test_copy_as_code_puts_the_generated_code_on_the_clipboard(plain_window, kind, generator):
    w = plain_window
    p = _tiny_cnn()
    _load(w, p, _image(), 1)
    action = w.insight.actions["copy_pytorch" if kind == "pytorch" else "copy_numpy"]
    assert action in w.menuBar().actions()[1].menu().actions()  # the Edit menu
    action.trigger()
    settle(w)
    assert QGuiApplication.clipboard().text() == generator(p, in_channels=3)


def test_copied_numpy_script_reproduces_the_app(plain_window, tmp_path):
    w = plain_window
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


def test_background_tasks_stop_with_the_window(plain_window):
    w = plain_window
    _load(w, Pipeline((Tanh(),)), _image(c=1, h=8, w=8), 1)
    w.insight.crosscheck.check_box.setChecked(True)
    settle(w)
    assert w.insight.check_task.wait_idle(20_000)
    assert w.insight.crosscheck.row_colour(0) == "green"
    assert w.insight.check_task.running
    w.shutdown()
    assert not any(task.running for task in w.insight.tasks())
