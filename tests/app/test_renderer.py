"""The renderer, as the app runs it (its worker thread, waited for on its signals): equal to the
core and to ``convstudio apply``, incremental reuse, stale results dropped, prompt shutdown in
the middle of a long layer; and the cached runner behind it."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from convstudio.app.model.document import Document
from convstudio.app.model.renderer import Renderer
from convstudio.core import (
    AvgPool2d,
    Conv2d,
    MaxPool2d,
    Pipeline,
    ReLU,
    Stride,
)
from convstudio.session.compute import CachedRunner, downscale, preview_factor

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def make_doc(shape=(3, 40, 50), pipeline=None) -> Document:
    d = Document()
    d.set_image_array(np.random.default_rng(1).random(shape, dtype=np.float32), "noise")
    d.new_pipeline(pipeline or Pipeline((Conv2d(kernel=SOBEL, padding="same"), ReLU(),
                                         MaxPool2d(kernel_size=(2, 2)))))
    return d


class Log:
    def __init__(self, r: Renderer) -> None:
        self.r = r
        self.layers: list[tuple[int, int, int]] = []  # (generation, index, latest at emit)
        self.finished: list[tuple[int, int]] = []
        self.failed: list[tuple[int, int, str]] = []
        r.layerComputed.connect(lambda g, i, a, s: self.layers.append((g, i, r.generation)))
        r.finished.connect(lambda g, o, e: self.finished.append((g, r.generation)))
        r.layerFailed.connect(lambda g, i, m: self.failed.append((g, i, m)))


def assert_outputs_equal_core(r: Renderer, doc: Document) -> None:
    expected = doc.pipeline.run(doc.image)
    assert len(r.outputs) == len(expected)
    for got, want in zip(r.outputs, expected):
        np.testing.assert_array_equal(got, want)


def run_to_end(qtbot, r: Renderer) -> None:
    """Hand the renderer's pending request over and wait for the latest generation."""
    r.flush()
    qtbot.waitUntil(lambda: not r.busy, timeout=30_000)


def test_the_renderer_equals_the_core_and_reuses_unchanged_layers(qtbot, renderers):
    doc = make_doc()
    r = renderers(doc, debounce_ms=5)
    log = Log(r)
    r.request()
    run_to_end(qtbot, r)
    assert_outputs_equal_core(r, doc)
    assert [i for _g, i, _l in log.layers] == [1, 2, 3]

    # An edit of layer 3 recomputes layer 3 only; layers 1 and 2 come from the cache.
    log.layers.clear()
    doc.replace_layer(3, AvgPool2d(kernel_size=(3, 3), stride=(2, 2), padding=1))
    run_to_end(qtbot, r)
    assert [i for _g, i, _l in log.layers] == [3]
    assert_outputs_equal_core(r, doc)
    # A new image recomputes everything.
    log.layers.clear()
    doc.set_image_array(np.ones((3, 20, 20), np.float32))
    run_to_end(qtbot, r)
    assert [i for _g, i, _l in log.layers] == [1, 2, 3]
    assert_outputs_equal_core(r, doc)


def test_a_misfit_layer_is_reported_not_raised(qtbot, renderers):
    doc = make_doc(shape=(1, 4, 4), pipeline=Pipeline((ReLU(), Conv2d(kernel=np.ones((9, 9))),
                                                        ReLU())))
    r = renderers(doc, debounce_ms=5)
    log = Log(r)
    r.request()
    run_to_end(qtbot, r)
    assert log.failed and log.failed[-1][1] == 2
    assert "larger than its padded input" in log.failed[-1][2]
    assert r.errors == {2: log.failed[-1][2]}
    assert len(r.outputs) == 1  # the layers before the misfit are still shown
    # Fixing it recovers.
    doc.replace_layer(2, Conv2d(kernel=np.ones((3, 3)), padding="same"))
    run_to_end(qtbot, r)
    assert r.errors == {} and len(r.outputs) == 3


def test_rapid_edits_emit_only_the_latest_generation(qtbot, renderers):
    doc = make_doc(shape=(3, 500, 500), pipeline=Pipeline((
        Conv2d(kernel=np.ones((15, 15), np.float32) / 225, padding="same"), ReLU(),
        MaxPool2d(kernel_size=(2, 2)))))
    r = renderers(doc, debounce_ms=10)
    log = Log(r)
    handed_over: list[int] = []  # the generations given to the worker
    r.started.connect(handed_over.append)
    r.request()
    conv = doc.pipeline.layers[0]
    for k in range(25):
        doc.replace_layer(1, dataclasses.replace(conv, scale=1.0 + 0.1 * k))
        if k % 4 == 0:
            # Sometimes a pause until this edit's run went to the worker (the debounce interval
            # over), so that runs start and get cancelled mid-way by the next edits.
            qtbot.waitUntil(lambda: bool(handed_over) and handed_over[-1] == r.generation)
        else:
            QApplication.processEvents()  # a turn of the event loop between two quick edits
    assert r.wait_idle(30_000)
    assert log.finished, "nothing was emitted"
    # Every emission was for the generation that was the latest at that moment...
    assert all(g == latest for g, latest in log.finished)
    assert all(g == latest for g, _i, latest in log.layers)
    # ... and far fewer runs finished than edits were made (the stale ones were dropped).
    assert len(log.finished) < 10
    assert log.finished[-1][0] == r.generation
    expected = doc.pipeline.run(doc.image)
    for got, want in zip(r.outputs, expected, strict=True):
        np.testing.assert_array_equal(got, want)  # the core's own loop: the same bits


def test_shutdown_during_a_long_layer_returns_promptly(qtbot, renderers):
    # Several heavy layers, so that the run is still going however fast the core gets.
    kernel = np.random.default_rng(0).random((63, 63), dtype=np.float32) / 3969  # no cheap path
    big = Pipeline(tuple(Conv2d(kernel=kernel, padding="same") for _ in range(8)))
    doc = make_doc(shape=(1, 2000, 2000), pipeline=big)
    r = renderers(doc, debounce_ms=1)
    log = Log(r)
    seconds: list[float] = []
    r.layerComputed.connect(lambda g, i, a, s: seconds.append(s))
    r.request()
    r.flush()
    # one layer done: the worker is now inside the next 63 x 63 convolution (seconds of work)
    qtbot.waitUntil(lambda: len(log.layers) >= 1, timeout=60_000)
    assert r.busy
    assert r.worker.running
    t0 = time.perf_counter()
    assert r.shutdown()
    elapsed = time.perf_counter() - t0
    # the layer in progress is dropped from inside: less than one such layer took, on this
    # machine under its present load
    assert elapsed < seconds[0], f"shutdown took {elapsed:.2f} s, a layer {seconds[0]:.2f} s"
    assert not r.worker.running
    r.request()  # after shutdown: ignored, no new thread
    assert not r.worker.running


def test_preview_scale_for_large_images(qtbot, renderers):
    doc = make_doc(shape=(3, 1000, 1600), pipeline=Pipeline((ReLU(), Stride(stride=(2, 2)))))
    r = renderers(doc, debounce_ms=5, preview_pixels=500_000)
    r.request()
    run_to_end(qtbot, r)
    assert r.factor == 2
    assert r.input.shape == (3, 500, 800)
    assert r.outputs[-1].shape == (3, 250, 400)
    np.testing.assert_allclose(r.input[0, 0, 0], doc.image[0, :2, :2].mean(), rtol=1e-6)
    r.set_preview_enabled(False)
    run_to_end(qtbot, r)
    assert r.factor == 1 and r.outputs[-1].shape == (3, 500, 800)


def test_preview_factor_and_downscale():
    assert preview_factor((3, 100, 100), 4_000_000) == 1
    assert preview_factor((3, 4000, 6000), 4_000_000) == 3
    assert preview_factor((3, 4000, 6000), None) == 1
    for shape in ((1, 5000, 5000), (3, 2001, 3999), (1, 24_000_000 // 6000, 6000)):
        f = preview_factor(shape, 4_000_000)
        assert (shape[1] // f) * (shape[2] // f) <= 4_000_000
    x = np.arange(2 * 6 * 8, dtype=np.float32).reshape(2, 6, 8)
    y = downscale(x, 2)
    assert y.shape == (2, 3, 4) and not y.flags.writeable
    np.testing.assert_allclose(y[1, 0, 0], x[1, :2, :2].mean())
    assert downscale(x, 1) is x


def test_cached_runner_reports_failures_and_reuses():
    runner = CachedRunner()
    x = np.ones((1, 10, 10), np.float32)
    p = Pipeline((ReLU(), Conv2d(kernel=np.ones((20, 20))), ReLU()))
    res = runner.run(x, p)
    assert res.error is not None and res.error[0] == 2 and len(res.outputs) == 1
    seen = []
    p2 = p.replace_layer(1, Conv2d(kernel=np.ones((3, 3))))
    res = runner.run(x, p2, on_layer=lambda i, o, s: seen.append(i))
    assert res.error is None and res.reused == 1 and seen == [2, 3]
    res = runner.run(x.copy(), p2)  # another array: nothing reused
    assert res.reused == 0


def test_cached_runner_refuses_outputs_over_the_memory_budget():
    runner = CachedRunner(budget=3 * 100 * 100 * 4 * 2 + 10)  # room for two 3x100x100 maps
    x = np.ones((3, 100, 100), np.float32)
    p = Pipeline((ReLU(), ReLU(), ReLU(), ReLU()))
    res = runner.run(x, p)
    assert res.error is not None and res.error[0] == 3
    assert "set aside for feature maps" in res.error[1]
    assert len(res.outputs) == 2


# ------------------------------------------------------------------ recycled memory


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_runs_reuse_the_memory_of_the_outputs_they_replaced(renderers, qtbot):
    """The renderer's outputs come from its recycler: after a few edits no new blocks are made,
    the freed ones are reused, and every run still equals the core."""
    shape = (3, 1024, 1280)  # the first layer's output: 8 x 1024 x 1280 floats, 40 MiB
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    doc = make_doc(shape, Pipeline((Conv2d(weight=w1, padding="same"), ReLU(),
                                    MaxPool2d(kernel_size=(2, 2)))))
    r = renderers(doc, debounce_ms=1, preview_pixels=10**8)
    recycler = r.recycler
    assert recycler is not None
    r.request()
    assert r.wait_idle() and len(r.outputs) == 3
    created = []
    for k in range(4):
        w = w1.copy()
        w[:, :, 2, 2] += 0.1 * (k + 1)  # every output channel changes: a full recompute
        doc.set_pipeline(Pipeline((Conv2d(weight=w, padding="same"), ReLU(),
                                   MaxPool2d(kernel_size=(2, 2)))))
        assert r.wait_idle()
        want = doc.pipeline.run(doc.image)
        for got, ref in zip(r.outputs, want, strict=True):
            assert np.array_equal(got, ref)
        assert r.outputs[0].base is not None  # a view of a recycled block
        del want, got, ref
        created.append(recycler.created)
    assert created[-1] == created[-2], f"new blocks after every edit: {created}"
    assert recycler.reused > 0


def test_free_memory_goes_back_once_the_renderer_is_idle(renderers, monkeypatch, qtbot):
    from convstudio.app.model import renderer as renderer_module

    monkeypatch.setattr(renderer_module, "RELEASE_AFTER_MS", 300)
    doc = make_doc((3, 1200, 1400), Pipeline((Conv2d(kernel=SOBEL, padding="same"), ReLU())))
    r = renderers(doc, debounce_ms=1, preview_pixels=10**8)
    recycler = r.recycler
    r.request()
    assert r.wait_idle() and len(r.outputs) == 2
    doc.set_pipeline(Pipeline((Conv2d(kernel=-SOBEL, padding="same"), ReLU())))
    assert r.wait_idle()
    # (the timer fires on a later turn of the event loop, not while this test runs)
    assert recycler.free_bytes() > 0  # the first run's outputs, kept for the next run
    in_use = {_address(o) for o in r.outputs}
    qtbot.waitUntil(lambda: recycler.free_bytes() == 0, timeout=5000)
    assert {_address(o) for o in r.outputs} == in_use  # what is shown stays
    assert recycler.held_bytes() >= sum(o.nbytes for o in r.outputs)


def test_the_input_channel_ranges_are_measured_by_the_worker(renderers):
    """What the window passes to the input's maps (layer 0), so that it never scans them."""
    doc = make_doc((3, 30, 40))
    x = np.array(doc.image)
    x[1, 2, 3] = 5.0
    doc.set_image_array(x, "with a peak")
    r = renderers(doc, debounce_ms=1)
    r.request()
    assert r.wait_idle()
    want = np.stack([x.reshape(3, -1).min(axis=1), x.reshape(3, -1).max(axis=1)], axis=1)
    np.testing.assert_array_equal(r.input_channel_ranges(), want)
    assert r.input_range() == (float(x.min()), 5.0)
    doc.set_image_array(x[:1], "one channel")
    assert r.wait_idle()
    np.testing.assert_array_equal(r.input_channel_ranges(), want[:1])
