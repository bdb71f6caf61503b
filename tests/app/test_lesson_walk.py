"""A lesson reached with Next is the lesson opened fresh: same selection, no pins or clicked pixel
left from an earlier lesson, every view fitted to the whole input and the whole layer once the
lesson is computed, the same panel texts; the Lesson panel shows its whole text at 1600 x 1000;
the layer list follows the Document's pipeline whatever order the signals come in."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import settle
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem

from convstudio.app.model.document import Document
from convstudio.app.panels.layer_list import LayerListModel
from convstudio.app.views.feature_view import PixelInfo, content_rect
from convstudio.app.window.main_window import MainWindow
from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU
from convstudio.lessons import LESSONS

SIZE = (1600, 1000)  # what --lesson ID --screenshot renders


def lesson_window(make_window, name: str) -> MainWindow:
    """A window built as ``convstudio --lesson ID`` builds it, on settings of its own."""
    return make_window(size=SIZE, settings_file=f"{name}.ini")


def open_fresh(qtbot, make_window, lesson_id: str) -> MainWindow:
    w = lesson_window(make_window, lesson_id)
    assert w.learn.open_lesson(lesson_id, ask=False)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    return w


def _range(view) -> tuple:
    vb = view.view_box()
    r = vb.targetRect()
    (x0, x1), (y0, y1) = vb.viewRange()
    return (r.x(), r.y(), r.width(), r.height()), (x0, x1, y0, y1)


def state(w: MainWindow) -> dict:
    ins = w.insight
    model = w.layer_panel.model
    return {
        "lesson": w.learn.index,
        "selected": w.doc.selected,
        "pins": ins.overlay.pins(),
        "clicked pixel": ins.pixel,
        "input view range": _range(w.input_view),
        "layer view range": _range(w.layer_view),
        "boxes on the input": sorted(map(repr, w.input_view.overlay_keys())),
        "boxes on the layer": sorted(map(repr, w.layer_view.overlay_keys())),
        "lesson panel": (w.learn.panel.text(), w.learn.panel.position_label.text()),
        "inspector": ins.inspector.text(),
        "receptive-field panel": (ins.receptive.pins_label.text(), ins.receptive.erf_label.text(),
                                  ins.receptive.rows()),
        "shapes panel": ins.shapes.text(),
        # (not the times: they are measured anew by every run)
        "layer list": [(model.data(model.index(r, 0)), model.data(model.index(r, 1)))
                       for r in range(model.rowCount())],
        "stack summary": w.layer_panel.summary_text(),
    }


def click(w: MainWindow, channel: int, row: int, col: int) -> None:
    out = w.layer_view.maps()
    w.layer_view.clicked.emit(PixelInfo("layer", channel, row, col,
                                        float(out[channel, row, col])))


def whole_text_shown(w: MainWindow) -> bool:
    b = w.learn.panel.browser
    return (b.verticalScrollBar().maximum() == 0
            and b.document().size().height() <= b.viewport().height())


def test_a_lesson_reached_with_next_is_the_lesson_opened_fresh(qtbot, make_window):
    walker = lesson_window(make_window, "walker")
    walker.show()
    qtbot.waitExposed(walker)
    assert walker.learn.open_lesson("cross-correlation", ask=False)
    settle(walker)
    click(walker, 0, 1, 1)  # the 43 of the cross-correlation
    settle(walker)
    assert walker.insight.pixel is not None and walker.insight.overlay.pins()
    assert "43" in walker.insight.inspector.text()
    assert walker.learn.open_lesson(0, ask=False)  # the walk starts at the first lesson
    settle(walker)

    differences = {}
    for index in range(1, len(LESSONS)):
        walker.learn.panel.next_button.click()
        settle(walker)
        assert walker.learn.index == index
        walked = state(walker)
        fresh_window = open_fresh(qtbot, make_window, LESSONS[index].id)
        fresh = state(fresh_window)
        assert whole_text_shown(fresh_window), LESSONS[index].id
        fresh_window.shutdown()  # (its threads are checked when the test ends)
        diff = sorted(k for k in fresh if walked[k] != fresh[k])
        if diff:
            differences[LESSONS[index].id] = {k: (walked[k], fresh[k]) for k in diff}
        assert not walked["pins"] and walked["clicked pixel"] is None
        assert whole_text_shown(walker), LESSONS[index].id
    assert differences == {}


def shown_on_screen(grid) -> QRectF:
    """The region of input coordinates that the first small view of ``grid`` shows on screen."""
    tile = grid.tile_image_items()[0].parentItem()
    while not tile.flags() & QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape:
        tile = tile.parentItem()  # up to the clipping frame of the small view
    box = tile.sceneBoundingRect()
    o, e = grid.tile_scene_pos(0, 0.0, 0.0), grid.tile_scene_pos(0, 1.0, 1.0)
    sx, sy = e.x() - o.x(), e.y() - o.y()
    return QRectF((box.left() - o.x()) / sx, (box.top() - o.y()) / sy, box.width() / sx,
                  box.height() / sy)


def test_fit_shows_the_whole_input_and_the_whole_layer(qtbot, make_window):
    """The edge detector's output is a column narrower than its input; a padded pooling's
    windows reach beyond the input: every fit shows both extents, whatever was shown before."""
    w = lesson_window(make_window, "lessons")
    w.show()
    qtbot.waitExposed(w)
    for lesson_id in ("receptive-field", "edge-detector", "pooling-padding-2"):
        assert w.learn.open_lesson(lesson_id, ask=False)
        settle(w)
        for _ in range(2):  # as the lesson opened, and again with Fit
            x = w.input_view.maps()
            y = w.layer_view.maps()
            xi, yi, wi, hi = content_rect(w.input_view.placement(), x.shape[1], x.shape[2])
            xl, yl, wl, hl = content_rect(w.layer_view.placement(), y.shape[1], y.shape[2])
            r = w.input_view.view_box().targetRect()
            assert (r.left(), r.top()) == (min(xi, xl), min(yi, yl)), lesson_id
            assert (r.right(), r.bottom()) == (max(xi + wi, xl + wl), max(yi + hi, yl + hl))
            assert w.layer_view.view_box().targetRect() == r
            for view in (w.input_view, w.layer_view):  # and that is what the maps show on screen
                shown = shown_on_screen(view)
                assert shown.adjusted(-1e-3, -1e-3, 1e-3, 1e-3).contains(r), (lesson_id, shown, r)
                assert (abs(shown.width() - r.width()) < 1e-2
                        or abs(shown.height() - r.height()) < 1e-2), (lesson_id, shown, r)
            w.linker.set_rect((1.0, 1.0, 0.5, 0.5))  # zoomed onto one pixel
            w.actions_by_name["zoom_fit"].trigger()


def test_the_lesson_panel_shows_the_whole_text_at_1600_by_1000(qtbot, make_window):
    w = lesson_window(make_window, "lessons")
    w.show()
    qtbot.waitExposed(w)
    for index in [*range(len(LESSONS)), *reversed(range(len(LESSONS) - 1))]:
        assert w.learn.open_lesson(index, ask=False)
        settle(w)
        assert whole_text_shown(w), LESSONS[index].id


# ------------------------------------------------------------------------ the layer list's order


def _rows(model: LayerListModel) -> list[tuple]:
    return [tuple(model.data(model.index(r, c)) for c in range(3)) for r in range(model.rowCount())]


@pytest.mark.parametrize("reported_first", [True, False], ids=["results first", "signal first"])
def test_the_layer_list_shows_the_documents_pipeline_in_any_order(qtbot, reported_first):
    """A slot connected to ``pipelineChanged`` before the list's may report a run of the new
    pipeline before the list has heard of it; the list ends the same either way."""
    doc = Document()
    doc.set_image_array(np.arange(64, dtype=np.float32).reshape(1, 8, 8), "x")
    doc.new_pipeline(Pipeline([Conv2d(kernel=np.ones((3, 3), np.float32)), ReLU(),
                               MaxPool2d(kernel_size=2)]))
    holder: dict[str, LayerListModel] = {}

    def report() -> None:  # what the renderer reports of a run of the new pipeline
        holder["model"].set_time(1, 0.004)
        holder["model"].set_run_result([0.004], {})

    if reported_first:
        doc.pipelineChanged.connect(report)  # before the model's own slot
    model = holder["model"] = LayerListModel(doc)
    model.set_run_result([0.001, 0.002, 0.003], {3: "failed"})  # the old pipeline's run
    assert model.rowCount() == 4
    if not reported_first:
        doc.pipelineChanged.connect(report)
    doc.new_pipeline(Pipeline([Conv2d(kernel=np.ones((2, 2), np.float32))]))
    assert model.rowCount() == 2
    assert _rows(model) == [("0  input  x", "1×8×8", ""),
                            ("1  " + doc.pipeline.layers[0].describe(), "1×7×7", "4.0 ms")]
    assert model.row_state(1) == ("ok", None)


def test_the_layer_list_ignores_reports_about_another_pipeline(qtbot):
    doc = Document()
    doc.set_image_array(np.zeros((1, 8, 8), np.float32), "x")
    doc.new_pipeline(Pipeline([ReLU()]))
    model = LayerListModel(doc)
    old = doc.pipeline
    model.set_time(3, 0.01)  # a layer this pipeline does not have
    model.set_run_result([0.01, 0.02, 0.03], {})  # a run of a longer pipeline
    assert _rows(model)[1][2] == ""
    doc.new_pipeline(Pipeline([ReLU(), ReLU(), ReLU()]))
    # nothing reported about this pipeline yet: no times, and none of the old pipeline's
    assert [r[2] for r in _rows(model)] == ["", "", "", ""]
    model.set_run_result([0.005], {}, pipeline=old)  # late news of the old pipeline
    assert [r[2] for r in _rows(model)] == ["", "", "", ""]
    model.set_run_result([0.001, 0.002, 0.003], {})
    assert [r[2] for r in _rows(model)] == ["", "1.0 ms", "2.0 ms", "3.0 ms"]
