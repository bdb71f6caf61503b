"""From a kernel-cell edit to the screen, fast and still right: the renderer's two stages (a delta
update at once, the exact recompute after it), its leading-edge scheduling, the feature view's
partial redraws and subsampled tiles, and the widgets that do nothing when what they show did not
change. Every result is checked against ``Pipeline.run``; nothing here asserts a duration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import grid_drawn, settle
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication

from convstudio.app.editing.kernel_model import KernelTableModel
from convstudio.app.model.document import Document
from convstudio.app.model.renderer import LayerUpdate, Renderer
from convstudio.app.qtsetup import pg
from convstudio.app.views.feature_view import FeatureMapGrid, display_block_reduce
from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU


def pipeline(seed: int = 3) -> Pipeline:
    r = np.random.default_rng(seed)
    return Pipeline((
        Conv2d(weight=(r.standard_normal((8, 3, 5, 5)) / 8).astype(np.float32), padding="same"),
        ReLU(), MaxPool2d(kernel_size=2),
        Conv2d(weight=(r.standard_normal((8, 8, 3, 3)) / 8).astype(np.float32), padding="same")))


def make_doc(shape=(3, 48, 56)) -> Document:
    d = Document()
    d.set_image_array(np.random.default_rng(1).random(shape, dtype=np.float32), "noise")
    d.new_pipeline(pipeline())
    return d


def edit_cell(doc: Document, i: int, idx: tuple, value: float) -> None:
    """A kernel-cell edit as the main window makes it (an undoable replace_layer)."""
    layer = doc.pipeline.layers[i - 1]
    w = layer.weight.copy()
    w[idx] = value
    flat = int(np.ravel_multi_index(idx, w.shape))
    doc.replace_layer(i, dataclasses.replace(layer, weight=w), merge_key=("cell", flat))


def close(got: np.ndarray, want: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * scale)


class Updates:
    def __init__(self, r: Renderer) -> None:
        self.r = r
        self.updates: list[tuple[int, int, LayerUpdate, int]] = []  # (gen, index, update, latest)
        self.computed: list[int] = []
        r.layerUpdated.connect(lambda g, i, u: self.updates.append((g, i, u, r.generation)))
        r.layerComputed.connect(lambda g, i, a, s: self.computed.append(i))

    def clear(self) -> None:
        self.updates.clear()
        self.computed.clear()


# ------------------------------------------------------------------ the renderer's two stages


@pytest.mark.parametrize("edited", [1, 4])
def test_an_edit_shows_a_delta_then_the_exact_result(qtbot, renderers, edited):
    doc = make_doc()
    doc.select(edited)
    r = renderers(doc)
    log = Updates(r)
    r.request()
    assert r.wait_idle(60_000)
    before = list(r.outputs)
    log.clear()
    finished: list[int] = []
    r.finished.connect(lambda g, o, e: finished.append(g))
    edit_cell(doc, edited, (2, 1, 0, 2), 0.9)
    assert r.busy
    qtbot.waitUntil(lambda: finished == [r.generation], timeout=60_000)
    want = doc.pipeline.run(doc.image)
    inexact = [(i, u) for _g, i, u, _l in log.updates if not u.exact]
    exact = [(i, u) for _g, i, u, _l in log.updates if u.exact]
    # the quick stage: the edited layer only (it is the one on screen), one channel changed
    assert [i for i, _u in inexact] == [edited]
    u = inexact[0][1]
    assert u.changed == (2,) and u.base is before[edited - 1] and u.seconds == 0
    close(u.output, want[edited - 1])
    assert u.data_range == (float(u.output.min()), float(u.output.max()))
    # then the exact stage from the edited layer on, and only it reaches layerComputed
    assert [i for i, _u in exact] == list(range(edited, 5)) == log.computed
    assert exact[0][1].base is u.output and exact[0][1].changed == (2,)
    assert all(g == latest == r.generation for g, _i, _u, latest in log.updates)
    for got, w in zip(r.outputs, want, strict=True):
        np.testing.assert_array_equal(got, w)
    for i, u in exact:  # what the views were given is what `finished` carries
        assert u.output is r.outputs[i - 1]
    assert not r.busy


@pytest.mark.parametrize("quick_below", [1e9, 0.0])
def test_the_gui_ends_the_pause_before_a_quick_recompute_only(qtbot, renderers, monkeypatch,
                                                              quick_below):
    """Between the stages the job pauses (the GUI paints the quick result, a burst recomputes
    once). A recompute expected to take less than QUICK_EXACT_S (measured: the layers' last
    times) is resumed by the GUI thread once it has shown the quick result; a longer one waits
    out the pause."""
    from convstudio.app.model import renderer as renderer_module
    from convstudio.app.model.worker import JobContext, Worker

    monkeypatch.setattr(renderer_module, "QUICK_EXACT_S", quick_below)
    pauses: list[float] = []
    real_pause = JobContext.pause
    monkeypatch.setattr(JobContext, "pause",
                        lambda self, seconds: pauses.append(seconds) or real_pause(self, seconds))
    resumed: list[int] = []
    real_resume = Worker.resume
    monkeypatch.setattr(Worker, "resume",
                        lambda self, token: resumed.append(token) or real_resume(self, token))
    doc = make_doc()
    doc.select(4)
    r = renderers(doc)
    r.request()
    assert r.wait_idle(60_000)
    times_before = list(r.times)
    edit_cell(doc, 1, (2, 1, 0, 2), 0.9)
    assert r.wait_idle(60_000)
    expected = r._compute.runner.pending_seconds
    assert 0 < expected == pytest.approx(sum(times_before))  # every layer, from layer 1 on
    assert pauses == [renderer_module.EXACT_DELAY_MS / 1000]
    assert resumed == ([] if expected >= quick_below else [r.worker.latest])
    for got, w in zip(r.outputs, doc.pipeline.run(doc.image), strict=True):
        np.testing.assert_array_equal(got, w)


def test_threaded_edit_delta_first_exact_last_and_never_stale(qtbot, renderers):
    doc = make_doc(shape=(3, 120, 130))
    doc.select(1)
    r = renderers(doc, debounce_ms=20)
    log = Updates(r)
    r.request()
    assert r.wait_idle(20_000)
    for k in range(12):
        log.clear()
        edit_cell(doc, 1, (k % 8, k % 3, 2, 2), 0.1 * k - 0.5)
        if k % 3:  # bursts: the next edit as soon as what arrived meanwhile was handled ...
            QApplication.processEvents()
        else:  # ... and single edits: the next one once this one's first result is on screen
            qtbot.waitUntil(lambda: any(g == r.generation for g, _i, _u, _l in log.updates),
                            timeout=20_000)
    assert r.wait_idle(20_000)
    assert all(g == latest for g, _i, _u, latest in log.updates)  # never a stale one
    want = doc.pipeline.run(doc.image)
    for got, w in zip(r.outputs, want, strict=True):
        np.testing.assert_array_equal(got, w)
    # a single edit from a settled state: the delta arrives first, the exact result replaces it
    log.clear()
    edit_cell(doc, 1, (3, 0, 4, 4), 2.0)
    assert r.busy
    qtbot.waitUntil(lambda: any(u.exact for _g, _i, u, _l in log.updates), timeout=20_000)
    assert not log.updates[0][2].exact and log.updates[0][1] == 1
    close(log.updates[0][2].output, doc.pipeline.run(doc.image)[0])
    assert r.wait_idle(20_000)
    for got, w in zip(r.outputs, doc.pipeline.run(doc.image), strict=True):
        np.testing.assert_array_equal(got, w)


def test_first_request_goes_out_at_once_later_ones_are_coalesced(qtbot, renderers):
    doc = make_doc()
    r = renderers(doc, debounce_ms=400)
    started: list[int] = []
    r.started.connect(started.append)
    r.request()
    assert started == [r.generation]  # leading edge: no timer to wait for
    assert r.wait_idle(20_000)
    qtbot.waitUntil(lambda: not r.throttle.active, timeout=20_000)  # the interval is over
    edit_cell(doc, 1, (0, 0, 0, 0), 1.0)
    assert started[-1] == r.generation  # an edit after a quiet spell goes out at once too
    n = len(started)
    edit_cell(doc, 1, (0, 0, 0, 0), 2.0)
    edit_cell(doc, 1, (0, 0, 0, 0), 3.0)
    assert len(started) == n  # within the interval: wait for its end
    r.flush()
    assert len(started) == n + 1 and started[-1] == r.generation
    assert r.wait_idle(20_000)
    for got, w in zip(r.outputs, doc.pipeline.run(doc.image), strict=True):
        np.testing.assert_array_equal(got, w)


# ------------------------------------------------------------------ the feature view


@pytest.fixture
def grid(qtbot):
    g = FeatureMapGrid(view_id="layer")
    g.resize(640, 520)
    qtbot.addWidget(g)
    g.show()
    qtbot.waitExposed(g)
    return g


def count_set_image(monkeypatch) -> list:
    calls: list = []
    original = pg.ImageItem.setImage

    def spy(item, *args, **kwargs):
        calls.append(item)
        return original(item, *args, **kwargs)

    monkeypatch.setattr(pg.ImageItem, "setImage", spy)
    return calls


def test_grid_redraws_only_the_changed_channels(grid, qtbot, monkeypatch):
    x = np.random.default_rng(2).standard_normal((8, 30, 40)).astype(np.float32)
    x[0, 0, 0] = 10.0  # the layer's largest |value|: the levels stay when channel 5 changes
    grid.set_maps(x)
    qtbot.waitUntil(lambda: grid_drawn(grid))  # no redraw for the grid's size comes later
    levels = grid.current_levels()
    calls = count_set_image(monkeypatch)
    y = x.copy()
    y[5] *= 0.5
    grid.set_maps(y, changed=[5], data_range=(float(y.min()), float(y.max())))
    items = grid.tile_image_items()
    assert calls == [items[5]] and grid.current_levels() == levels
    assert grid.maps() is y
    for k, item in enumerate(items):  # every tile now reads the new array (no old one kept)
        np.testing.assert_array_equal(item.image, y[k])
        assert np.shares_memory(item.image, y)
    # the levels move: every channel is redrawn
    calls.clear()
    z = y.copy()
    z[5, 3, 3] = 20.0
    grid.set_maps(z, changed=[5])
    assert len(calls) == 8 and grid.current_levels() == (-20.0, 20.0)
    # without `changed` (or with another shape) it is the full update it always was
    calls.clear()
    grid.set_maps(z.copy())
    assert len(calls) == 8


def test_grid_uses_the_given_data_range(grid):
    x = np.random.default_rng(3).standard_normal((4, 10, 12)).astype(np.float32)
    grid.set_maps(x, data_range=(-7.0, 3.0))  # the caller measured it (the renderer's worker)
    assert grid.current_levels() == (-7.0, 7.0)


def test_large_maps_are_drawn_at_screen_resolution(grid, qtbot):
    x = np.random.default_rng(4).standard_normal((4, 1200, 1500)).astype(np.float32)
    grid.set_maps(x)
    qtbot.waitUntil(lambda: grid_drawn(grid))
    tile = grid._tiles[1]
    sr, sc = tile.steps()
    assert sr > 1 and sc > 1
    item = grid.tile_image_items()[1]
    want = display_block_reduce(x[1], sr, sc)  # (at once, or from the background: SYNC_TURN_LIMIT)
    qtbot.waitUntil(lambda: item.image is not None and np.array_equal(item.image, want))
    # each item pixel stands for an sr x sc block: the map still covers its full extent
    rect = item.mapRectToParent(item.boundingRect())
    assert rect.width() >= 1500 and rect.width() < 1500 + sc
    # the readout gives the full-resolution value under the cursor
    info = grid.pixel_info_at_scene_pos(grid.tile_scene_pos(1, 701.5, 333.5))
    assert (info.row, info.col, info.value) == (333, 701, float(x[1, 333, 701]))
    # zoomed in, every pixel is drawn
    grid.view_box().setRange(rect=QRectF(700, 330, 40, 30), padding=0)
    qtbot.waitUntil(lambda: grid_drawn(grid))
    assert tile.steps() == (1, 1)
    np.testing.assert_array_equal(item.image, x[1])
    grid.grab()  # paints


def test_maps_too_large_to_shrink_at_once_are_shrunk_in_the_background(grid, qtbot, monkeypatch):
    """Above SYNC_LIMIT values a map is shrunk by the shrinker's thread: the tile shows every
    s-th pixel at once, the block extremes when they are ready, and the GUI thread never runs
    the reduction of a large map itself."""
    from convstudio.app.views import display, shrink

    monkeypatch.setattr(shrink, "SYNC_LIMIT", 100_000)  # a 1200 x 1500 map counts as large
    on_gui = []
    real = display.display_block_reduce

    def spy(a, rows, cols):
        if QApplication.instance().thread().isCurrentThread() and a.size > 100_000:
            on_gui.append(a.shape)
        return real(a, rows, cols)

    monkeypatch.setattr(shrink, "display_block_reduce", spy)
    x = np.random.default_rng(4).standard_normal((4, 1200, 1500)).astype(np.float32)
    x[2, :, 701] = 50.0  # a thin strong line that every s-th pixel misses
    grid.set_maps(x)
    qtbot.waitUntil(lambda: grid_drawn(grid))
    tile, item = grid._tiles[2], grid.tile_image_items()[2]
    sr, sc = tile.steps()
    assert sc > 1 and 701 % sc
    want = display_block_reduce(x[2], sr, sc)
    qtbot.waitUntil(lambda: item.image is not None and item.image.shape == want.shape
                    and np.array_equal(item.image, want), timeout=10_000)
    assert np.all(item.image[:, 701 // sc] == 50.0)
    assert on_gui == []
    # the same map again (another run with equal values, say): from the cache, at once
    shrink.shrinker().worker.wait_idle()
    grid.set_maps(x.copy())
    grid.set_maps(x)
    assert np.array_equal(grid.tile_image_items()[2].image, want)


def test_one_turn_shrinks_at_most_its_budget_on_the_gui_thread(grid, qtbot, monkeypatch):
    """Maps small enough to shrink on the spot are shrunk there only up to SYNC_TURN_LIMIT
    values per turn of the event loop, all tiles together (a new layer's eight maps took 25 ms
    at once); the others come from the background, the same block extremes."""
    from convstudio.app.views import display, shrink

    monkeypatch.setattr(shrink, "SYNC_LIMIT", 2_000_000)
    monkeypatch.setattr(shrink, "SYNC_TURN_LIMIT", 2_000_000)
    sizes_on_gui = []
    real = display.display_block_reduce

    def spy(a, rows, cols):
        if QApplication.instance().thread().isCurrentThread():
            sizes_on_gui.append(a.size)
        return real(a, rows, cols)

    monkeypatch.setattr(shrink, "display_block_reduce", spy)
    x = np.random.default_rng(5).standard_normal((6, 900, 1000)).astype(np.float32)  # 0.9 M each
    grid.set_maps(x)
    assert 0 < sum(sizes_on_gui) <= 2_000_000  # two of the six in this turn
    for k, (tile, item) in enumerate(zip(grid._tiles, grid.tile_image_items())):
        sr, sc = tile.steps()
        assert (sr, sc) != (1, 1)
        want = display_block_reduce(x[k], sr, sc)
        qtbot.waitUntil(lambda item=item, want=want: item.image is not None
                        and np.array_equal(item.image, want), timeout=10_000)


def test_a_map_shrunk_for_a_grid_deleted_meanwhile_is_dropped(qtbot, monkeypatch):
    """A grid deleted (its layer's tiles replaced, the window closed) while its maps are shrunk
    in the background: the result finds its tiles gone and is dropped, no exception in Qt's
    event loop (pytest-qt fails the test on one)."""
    import threading
    import time

    from convstudio.app.views import shrink

    monkeypatch.setattr(shrink, "SYNC_LIMIT", 100_000)
    started = threading.Event()
    real = shrink._shrink

    def slow(*args):
        started.set()
        time.sleep(0.3)  # the grid goes away meanwhile
        return real(*args)

    monkeypatch.setattr(shrink, "_shrink", slow)
    g = FeatureMapGrid(view_id="layer")
    g.resize(640, 520)
    g.show()
    qtbot.waitExposed(g)
    g.set_maps(np.random.default_rng(8).standard_normal((2, 1200, 1500)).astype(np.float32))
    qtbot.waitUntil(started.is_set, timeout=10_000)
    g.close()
    g.deleteLater()
    qtbot.wait(50)  # (deleteLater runs)
    qtbot.waitUntil(lambda: not shrink.shrinker().busy(), timeout=10_000)
    qtbot.wait(50)


def test_a_large_true_colour_image_is_shrunk_to_block_means_in_the_background(qtbot, monkeypatch):
    from convstudio.app.views import shrink
    from convstudio.app.views.image_view import ImageView

    monkeypatch.setattr(shrink, "SYNC_LIMIT", 100_000)
    v = ImageView(view_id="input", title="Input")
    v.resize(300, 260)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    x = np.random.default_rng(6).random((3, 900, 1200), dtype=np.float32)
    v.set_image(x)
    item = v._cell.item
    v.grab()  # paints: renders a stand-in and asks for the shrunk image
    xds, yds = item._computeDownsampleFactors()
    assert (xds, yds) != (1, 1)
    hwc = x.transpose(1, 2, 0)
    want = shrink.display_block_mean(hwc, yds, xds)
    qtbot.waitUntil(lambda: not shrink.shrinker().busy(), timeout=10_000)
    got = shrink.shrinker().shrunk(item, item.image, None, yds, xds, shrink.MEAN)
    assert got is not None  # cached now
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # block means, partial blocks at the edges included
    np.testing.assert_allclose(want[0, 0], hwc[:yds, :xds].mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(want[-1, -1], hwc[(want.shape[0] - 1) * yds:,
                                                (want.shape[1] - 1) * xds:].mean(axis=(0, 1)),
                               rtol=1e-5)
    v.grab()


# ------------------------------------------------------------------ the window


@pytest.fixture
def threaded_window(make_window, qtbot):
    w = make_window(first_launch=False)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_cell_typed_in_the_editor_reaches_the_view_exactly(threaded_window, qtbot):
    w = threaded_window
    w.doc.set_image_array(np.random.default_rng(5).random((3, 90, 100), dtype=np.float32), "n")
    w.doc.new_pipeline(pipeline())
    w.doc.select(4)
    settle(w)
    # what the view shows right after each update was handed to it (this slot runs after the
    # window's)
    shown: list[tuple[int, LayerUpdate, bool]] = []
    w.renderer.layerUpdated.connect(
        lambda g, i, u: shown.append((i, u, w.layer_view.maps() is u.output)))
    ed = w.kernel_editor
    ed.set_current_slice(6, 3)
    assert ed.set_cell(1, 2, "0.75")
    assert w.doc.pipeline.layers[3].weight[6, 3, 1, 2] == np.float32(0.75)
    settle(w)
    want = w.doc.pipeline.run(w.doc.image)[3]
    on_screen = [(u, on) for i, u, on in shown if i == 4]
    # the view showed the quick result first (to rounding) ...
    first, first_shown = on_screen[0]
    assert not first.exact and first_shown
    close(first.output, want)
    # ... and the exact one last
    last, last_shown = on_screen[-1]
    assert last.exact and last_shown and last.output is w.renderer.outputs[3]
    assert [i for i, u, _on in shown if u.exact] == [4]
    assert w.layer_view.maps() is w.renderer.outputs[3]
    np.testing.assert_array_equal(w.layer_view.maps(), want)
    steps = [t.steps() for t in w.layer_view._tiles]
    for tile, item, (sr, sc) in zip(w.layer_view._tiles, w.layer_view.tile_image_items(), steps):
        np.testing.assert_array_equal(item.image, display_block_reduce(want[tile.channel], sr, sc))
    # undo goes back to the old values, exactly as well
    w.doc.undo_stack.undo()
    settle(w)
    assert w.layer_view.maps() is w.renderer.outputs[3]
    np.testing.assert_array_equal(w.layer_view.maps(), w.doc.pipeline.run(w.doc.image)[3])


def test_a_weight_edit_leaves_the_layer_list_and_the_shapes_page_alone(make_window):
    w = make_window(first_launch=False)
    doc = w.doc
    doc.set_image_array(np.random.default_rng(6).random((3, 30, 30), dtype=np.float32), "n")
    doc.new_pipeline(pipeline())
    doc.select(1)
    settle(w)
    model = w.layer_panel.model
    changes: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changes.append((a.row(), b.row())))
    page = w.insight.shapes.browser.toHtml()
    edit_cell(doc, 1, (0, 0, 0, 0), 0.5)
    settle(w)
    # the times of the recomputed layers may change; names, shapes and states do not
    rows = {r for a, b in changes for r in range(a, b + 1)}
    assert rows <= {1, 2, 3, 4}
    assert w.insight.shapes.browser.toHtml() == page
    changes.clear()
    doc.replace_layer(3, MaxPool2d(kernel_size=3))  # the shapes change
    settle(w)
    assert changes and w.insight.shapes.browser.toHtml() != page
    assert model.data(model.index(3, 1)) == "8×10×10"  # 30 // 3


def test_kernel_model_repaints_only_what_changed(qtbot):
    m = KernelTableModel()
    m.set_values(np.array([[1, -2], [0.5, 0.25]], np.float32))
    changes: list = []
    m.dataChanged.connect(lambda a, b, *_: changes.append(((a.row(), a.column()),
                                                           (b.row(), b.column()))))
    m.set_editable(True)  # already editable: nothing to repaint
    assert changes == []
    m.set_editable(False)
    assert changes == [((0, 0), (1, 1))]
    m.set_editable(True)
    changes.clear()
    bg = m.data(m.index(1, 1), pg.QtCore.Qt.ItemDataRole.BackgroundRole)
    assert m.setData(m.index(1, 1), "0.5")  # the scale (max |value| 2) stays: one cell
    assert changes == [((1, 1), (1, 1))]
    assert m.data(m.index(1, 1), pg.QtCore.Qt.ItemDataRole.DisplayRole) == "0.5"
    assert m.data(m.index(1, 1), pg.QtCore.Qt.ItemDataRole.BackgroundRole) != bg
    changes.clear()
    assert m.setData(m.index(0, 0), "-4")  # a new max |value|: every colour changes
    assert changes == [((0, 0), (1, 1))]
    from convstudio.app.editing.kernel_model import diverging_colour
    assert m.data(m.index(0, 1), pg.QtCore.Qt.ItemDataRole.BackgroundRole) == \
        diverging_colour(-2.0, 4.0)
