"""An image too large to load whole, through the real window (docs/scale.md, "In the app"): a
preview read in the background with progress, labelled as such, computed like any image; and
File > Export at full resolution, tile by tile, equal to `convstudio apply` and cancellable
without leaving a file. The memory budget is lowered for the tests, so a few megabytes are
"too large"."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile
from conftest import settle
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QProgressBar, QProgressDialog, QPushButton

from convstudio.app.dialogs.export import ExportDialog, ExportOptions
from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU
from convstudio.core.tiling import TilePlan
from convstudio.session import compute

BUDGET = 32 << 20  # an image over 8 MiB as float32 is then opened as a preview


@pytest.fixture(autouse=True)
def small_budget(monkeypatch):
    monkeypatch.setattr(compute, "memory_budget", lambda: BUDGET)


def pipeline() -> Pipeline:
    rng = np.random.default_rng(7)
    return Pipeline((
        Conv2d(weight=rng.standard_normal((4, 3, 5, 5)).astype(np.float32), padding="same",
               padding_mode="reflect"),
        ReLU(),
        MaxPool2d(kernel_size=(2, 2)),
        Conv2d(weight=rng.standard_normal((2, 4, 3, 3)).astype(np.float32), padding=1),
    ))


@pytest.fixture
def rgb_tiff(tmp_path):
    """1200 x 1000 RGB, 8-bit: 14.4 MB as float32, too large under BUDGET."""
    a = np.random.default_rng(8).integers(0, 256, (1200, 1000, 3), dtype=np.uint8)
    path = tmp_path / "slide.tif"
    tifffile.imwrite(path, a, tile=(64, 64), photometric="rgb", compression="zlib", bigtiff=True)
    return path, np.moveaxis(a, -1, 0) / np.float32(255)


def test_a_large_image_opens_as_a_preview_without_blocking_the_window(make_window, tmp_path):
    a = np.random.default_rng(9).integers(0, 256, (3000, 2400), dtype=np.uint8)
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, a, tile=(64, 64), bigtiff=True)  # 28.8 MB as float32
    w = make_window(preview_pixels=10_000)
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32), padding=1), ReLU(),
                                 MaxPool2d(kernel_size=(2, 2)))))
    progress = []
    w.image_loader.progressed.connect(lambda _t, p: progress.append(p))
    beats = [time.perf_counter()]
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()
    w.open_image(path, wait=False)
    assert w.view_state.loading == path
    settle(w)
    heartbeat.stop()
    beats.append(time.perf_counter())
    assert max(np.diff(beats)) < 0.1, "the GUI thread was blocked while the preview loaded"

    # every 27th row and column (27 = the smallest factor that brings it under 10,000 pixels)
    assert progress and progress[-1] == (111, 111)
    np.testing.assert_array_equal(w.doc.image, a[None, ::27, ::27][:, :111, :88] / np.float32(255))
    assert w.big_image.factor == 27 and w.big_image.preview.full_shape == (1, 3000, 2400)
    assert w.preview_label.text() == "preview 1/27"
    assert "2400 x 3000" in w.preview_label.toolTip()
    for text in (w.image_label.text(), w._input_title.text(), w.windowTitle()):
        assert "scan.tif (preview 1/27)" in text
    # computed on the preview as on any image: the renderer's input is the Document's image
    assert w.renderer.input is w.doc.image and not w.renderer.errors
    assert w.renderer.outputs[-1].shape == w.doc.pipeline.output_shapes((1, 111, 88))[-1]

    w.load_pattern("checkerboard")  # a whole image again: only the app's own preview scale
    settle(w)
    assert w.big_image.preview is None and w.renderer.factor > 1
    assert w.preview_label.text() == f"preview 1/{w.renderer.factor}"
    assert "scan.tif" not in w.preview_label.toolTip() + w.image_label.toolTip()


def test_the_status_bar_keeps_its_height_when_images_open(make_window, rgb_tiff, tmp_path):
    """Opening an image must not relayout the window: a status bar 5 px taller (a hidden
    progress bar created on the first load) resized every dock and view and repainted them all,
    a 50 ms stall with a 24 MP photo."""
    import cv2

    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.full((40, 50, 3), 128, np.uint8))
    w = make_window(preview_pixels=10_000)
    bar = w.statusBar()
    height = bar.sizeHint().height()
    assert w.open_image(small)
    settle(w)
    assert bar.sizeHint().height() == height
    path, _ = rgb_tiff  # a preview: its progress bar shows while it loads
    assert w.open_image(path)
    settle(w)
    assert w.findChild(QProgressBar, "previewLoadProgress") is not None
    assert bar.sizeHint().height() == height


def test_export_of_a_preview_is_the_command_lines_tiled_output(make_window, rgb_tiff, tmp_path):
    from convstudio.cli import main

    path, x = rgb_tiff
    p = pipeline()
    p.save(tmp_path / "p.json")
    w = make_window(preview_pixels=10_000)
    w.doc.new_pipeline(p)
    assert w.open_image(path)  # (waits for the loader)
    settle(w)
    assert w.big_image.preview is not None and w.doc.image.shape == (3, 109, 90)

    seen = {}

    def look_at_the_dialog():
        dlg = w.findChild(ExportDialog)
        seen["formats"] = [dlg.format.itemData(i) for i in range(dlg.format.count())]
        dlg.layer.setValue(4)
        seen["shape"] = dlg.shape_note.text()
        dlg.reject()

    QTimer.singleShot(0, look_at_the_dialog)
    w.export_dialog()
    assert seen["formats"][:2] == [".tif", ".npy"] and ".png" not in seen["formats"]
    assert "2×600×500" in seen["shape"]  # the full-resolution shape of layer 4

    (tmp_path / "app").mkdir()
    (tmp_path / "cli").mkdir()
    for name, tile, cli_tile in (("out.tif", None, []), ("out.npy", 100, ["--tile", "100"])):
        written = w.export_layer(ExportOptions(layer=4, path=tmp_path / "app" / name, tile=tile))
        assert written and not w.errors
        assert main(["apply", str(tmp_path / "p.json"), str(path), "-o", str(tmp_path / "cli" / name),
                     *cli_tile]) == 0
        cli = sorted((tmp_path / "cli").glob(f"out*{name[-4:]}"))
        assert [f.name for f in written] == [f.name for f in cli]
        for a, b in zip(written, cli):
            assert a.read_bytes() == b.read_bytes(), a.name
    # and the command line's output is the whole run's (docs/scale.md: within float32 rounding)
    whole = p.run(x)[-1]
    got = np.stack([tifffile.imread(tmp_path / "app" / f"out_c{k:02d}.tif") for k in range(2)])
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    np.testing.assert_allclose(np.load(tmp_path / "app" / "out.npy"), whole, rtol=0,
                               atol=1e-5 * np.abs(whole).max())


def test_cancelling_an_export_mid_way_leaves_no_file(make_window, rgb_tiff, tmp_path, monkeypatch):
    path, _ = rgb_tiff
    w = make_window(preview_pixels=10_000)
    w.doc.new_pipeline(pipeline())
    assert w.open_image(path)
    settle(w)

    # The tiles after the first wait until the export is told to stop, so that Cancel surely
    # comes mid-way (the first tile's progress is what the test clicks Cancel on).
    from convstudio.core import cancel

    run_tile = TilePlan.run_tile

    def gated(self, tile, source=None, **kw):
        if tile.index != (0, 0):
            stop = cancel.current()
            deadline = time.monotonic() + 20
            while not stop() and time.monotonic() < deadline:
                time.sleep(0.002)
        return run_tile(self, tile, source, **kw)

    monkeypatch.setattr(TilePlan, "run_tile", gated)
    clicked = []

    def cancel_after_the_first_tile():
        dlg = w.findChild(QProgressDialog)
        if dlg is not None and dlg.value() >= 1:
            clicked.append((dlg.value(), dlg.maximum()))
            next(b for b in dlg.findChildren(QPushButton) if b.text() == "Cancel").click()
            poll.stop()

    poll = QTimer()
    poll.setInterval(2)
    poll.timeout.connect(cancel_after_the_first_tile)
    poll.start()
    out = tmp_path / "out"
    out.mkdir()
    written = w.export_layer(ExportOptions(layer=4, path=out / "maps.tif", tile=64))
    poll.stop()
    assert clicked == [(1, 8 * 10)] and written == [] and not w.errors  # 600 x 500 in 64 x 64 tiles
    assert "nothing was written" in w.message_label.text()
    assert list(out.iterdir()) == []  # not even a temporary


def test_a_large_image_that_cannot_be_read_is_one_message(make_window, tmp_path):
    a = np.zeros((1500, 1500), np.float32)  # 9 MB: too large under BUDGET
    a[270, 540] = np.nan  # on a kept row and column (the factor is 15 under 10,000 pixels)
    np.save(tmp_path / "nan.npy", a)
    w = make_window(preview_pixels=10_000)
    w.load_pattern("checkerboard")
    shown = w.doc.image
    assert not w.open_image(tmp_path / "nan.npy")
    assert len(w.errors) == 1 and "NaN" in w.errors[0] and "\n" not in w.errors[0]
    assert w.doc.image is shown and w.big_image.preview is None
