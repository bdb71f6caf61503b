"""The shift control, the sliding-window player and the weight hover, through the real window."""

from __future__ import annotations

import time

import numpy as np
from conftest import settle
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from convstudio.core import Pipeline
from convstudio.core.explain import explain_pixel, float32_sum_bound


def _open(w, lesson_id):
    assert w.learn.open_lesson(lesson_id, ask=False)
    settle(w)


def _shift(qtbot, w, dy, dx, mode="zeros"):
    ex = w.explore
    ex.actions["shift_input"].trigger()
    ex.shift_panel.set_shift(dy, dx, mode)
    with qtbot.waitSignal(ex.shift_task.done, timeout=20_000) as blocker:
        ex.update_shift()
    return blocker.args[1][0]  # (the comparison, the planes the dock paints)


def test_shift_conv_map_moves_with_the_input_and_pooling_changes_less(qtbot, make_window):
    w = make_window(show=True)
    _open(w, "why-pool")
    x = w.doc.image
    w.doc.select(1)
    conv = _shift(qtbot, w, 3, 5)
    # independent: the conv map of the zero-filled shifted input, compared at moved positions
    p = w.doc.pipeline
    y = p.run(x, upto=1)[0]
    xs = np.zeros_like(x)
    xs[:, 3:, 5:] = x[:, :-3, :-5]
    ys = p.run(xs, upto=1)[0]
    inner = ys[:, 3 + 1:-1, 5 + 1:-1]  # away from the border: past the fill and the kernel
    np.testing.assert_array_equal(inner, y[:, 1:-4, 1:-6])
    assert conv.max_interior_difference == 0.0 and conv.aligned is not None
    assert "largest |difference| away from the border: 0" in w.explore.shift_panel.summary.text()
    w.doc.select(1)
    edges = _shift(qtbot, w, 0, 1)
    w.doc.select(2)
    pooled = _shift(qtbot, w, 0, 1)
    assert pooled.aligned is None  # the pooled map's jump 2 does not divide 1
    measured = lambda c: np.abs(c.shifted - c.original).sum() / np.abs(c.original).sum()  # noqa: E731
    assert measured(pooled) < 0.5 * measured(edges)


def test_the_three_shift_maps_are_drawn_at_one_scale(qtbot, make_window):
    """A longer caption ("shifted (moved back)") made its column, and so its map, larger."""
    w = make_window(show=True)
    _open(w, "why-pool")
    w.doc.select(2)
    _shift(qtbot, w, 0, 1)
    panel = w.explore.shift_panel
    dock = w.explore.shift_dock
    dock.setFloating(True)
    dock.resize(420, 420)  # narrow: each map as wide as its column
    qtbot.waitUntil(lambda: all(item.image is not None for item in panel.items.values()))
    QApplication.processEvents()
    sizes = {(round(i.sceneBoundingRect().width(), 3), round(i.sceneBoundingRect().height(), 3))
             for i in panel.items.values()}
    assert len(sizes) == 1, sizes


def test_weight_hover_highlights_exactly_the_pixels_it_multiplies(qtbot, make_window):
    w = make_window(show=True)
    _open(w, "stride")  # 8 x 8, 3 x 3 kernel, padding 1, stride 2
    w.doc.select(1)
    settle(w)
    view = w.kernel_editor.table_view()
    index = view.model().index(0, 2)  # weight (a, b) = (0, 2)
    with qtbot.waitSignal(w.explore.hover_task.done, timeout=10_000):
        view.entered.emit(index)
    mask = w.explore.weight_hover.mask
    x = w.doc.image
    layer = w.doc.pipeline.layers[0]
    # independent: perturb one input pixel; the products with weight (0, 2) are the only ones
    # that change when that weight changes, so compare d(output)/d(weight) support
    want = np.zeros(x.shape[1:], bool)
    out = layer.output_shape(x.shape)
    for i in range(out[1]):
        for j in range(out[2]):
            r, c = i * 2 + 0 - 1, j * 2 + 2 - 1
            if 0 <= r < 8 and 0 <= c < 8:
                want[r, c] = True
    np.testing.assert_array_equal(mask[0], want)
    assert w.explore.weight_hover.overlay.heat_items()
    w.explore.weight_hover.clear()
    assert w.explore.weight_hover.mask is None


def _plan(qtbot, w):
    ex = w.explore
    with qtbot.waitSignal(ex.sliding_task.done, timeout=20_000):
        ex.actions["sliding_player"].trigger()
    return ex.player


def test_player_steps_write_the_cores_numbers(qtbot, make_window):
    w = make_window(show=True)
    _open(w, "multi-input")  # two channels, one window per channel, summed
    player = _plan(qtbot, w)
    p, x = w.doc.pipeline, w.doc.image
    y = p.run(x)[0]
    assert len(player.plan) == 4
    for k in range(4):
        player.seek(k)
        step = player.plan.steps[k]
        info = explain_pixel(p, x, 1, 0, step.row, step.col)
        products = [v for ch in info["inputs"] for v in np.ravel(ch["products"])]
        assert [t[5] for t in step.terms] == products
        np.testing.assert_allclose(step.running, np.cumsum(products), rtol=0, atol=0)
        bound = float32_sum_bound(float(np.abs(products).sum()), len(products), step.result)
        assert abs(step.running[-1] - y[0, step.row, step.col]) <= bound
        assert step.output == y[0, step.row, step.col] == player.plan.outputs[step.row, step.col]
        assert step.text().endswith(f"= {int(y[0, step.row, step.col])}")
    player.seek(0)
    player.speed.setValue(60)
    player.play()
    qtbot.waitUntil(lambda: not player.playing, timeout=5_000)
    assert player.index == len(player.plan) - 1
    player.scrub.setValue(1)
    assert player.index == 1


def test_player_on_a_pooling_layer_keeps_the_running_maximum(qtbot, make_window):
    w = make_window(show=True)
    _open(w, "pooling-padding-2")
    player = _plan(qtbot, w)
    y = w.doc.pipeline.run(w.doc.image)[0]
    for step in player.plan.steps:
        values = [t[3] for t in step.terms if t[3] is not None]
        assert step.running[-1] == max(values) == y[0, step.row, step.col]


def test_player_on_a_large_map_never_blocks_the_window(qtbot, make_window):
    w = make_window(show=True, preview_pixels=5_000_000)
    rng = np.random.default_rng(0)
    w.doc.set_image_array(rng.random((1, 2000, 2000), dtype=np.float32), name="large")
    w.doc.new_pipeline(Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "padding": 1}]}))
    w.doc.select(1)
    settle(w)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    player = _plan(qtbot, w)  # prepared in the background
    qtbot.wait(50)  # the dock's first layout and paint
    last[0] = time.perf_counter()
    timer.start()
    player.speed.setValue(60)
    player.play()
    qtbot.waitUntil(lambda: player.index >= 30, timeout=10_000)
    timer.stop()
    player.pause()
    assert len(player.plan) == 144  # a 12 x 12 region, not the 4 million values
    assert max(gaps[1:]) < 0.05, f"the GUI thread was blocked for {max(gaps[1:]) * 1000:.0f} ms"


def test_a_large_shift_comparison_is_painted_from_planes_shrunk_off_the_gui_thread(qtbot,
                                                                                  make_window,
                                                                                  monkeypatch):
    """At 2500 x 2100 the dock gets planes of at most DISPLAY_SIDE pixels per side, built on the
    shift worker with the summary's numbers, which the GUI thread then only reads."""
    import threading

    from convstudio.app.panels import shift_panel
    from convstudio.core import Conv2d

    w = make_window(show=True)
    x = np.random.default_rng(8).random((1, 2100, 2500), dtype=np.float32)
    w.doc.set_image_array(x, "noise")
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32), padding=1),)))
    w.doc.select(1)
    settle(w)
    threads = []
    real = shift_panel.shift_display

    def recorded(c, channel=0):
        threads.append(threading.current_thread())
        return real(c, channel)

    monkeypatch.setattr("convstudio.app.window.explore.shift_display", recorded)
    c = _shift(qtbot, w, 2, 3)
    assert threads and threads[0] is not threading.main_thread()
    assert {"change", "max_interior_difference"} <= set(vars(c))  # computed on the worker
    items = w.explore.shift_panel.items
    for key in ("original", "shifted", "difference"):
        assert max(items[key].image.shape) <= shift_panel.DISPLAY_SIDE
    # the difference keeps its extreme through the shrinking, and its levels are the map's own
    m = float(np.abs(c.difference[0]).max())
    assert float(np.abs(items["difference"].image).max()) == m
    assert items["difference"].getLevels()[1] == m


def test_weight_hover_on_a_previewed_image_marks_the_preview_pixels(qtbot, make_window):
    """With a large image the maps are computed on a preview; the hovered weight's pixels are
    those of the preview (the input view shows it), and the heat map is drawn."""
    from convstudio.core import Conv2d

    w = make_window(show=True)
    w.renderer.set_preview_pixels(20_000)
    x = np.random.default_rng(4).random((1, 300, 400), dtype=np.float32)
    w.doc.set_image_array(x, "large")
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32), padding=1, stride=2),)))
    w.doc.select(1)
    settle(w)
    preview = w.renderer.input
    assert preview is not None and preview.shape[1:] != x.shape[1:]
    view = w.kernel_editor.table_view()
    with qtbot.waitSignal(w.explore.hover_task.done, timeout=10_000):
        view.entered.emit(view.model().index(1, 1))  # the centre weight
    mask = w.explore.weight_hover.mask
    assert mask.shape == preview.shape
    want = np.zeros(preview.shape[1:], bool)
    want[::2, ::2] = True  # centre tap, stride 2, padding 1: every second pixel from (0, 0)
    np.testing.assert_array_equal(mask[0], want)
    assert w.explore.weight_hover.overlay.heat_items()
