"""Images too large to load whole (session/preview.py, session/tiled_export.py; docs/scale.md):
the rule, the strided read that never holds the image, pyramid levels, and the tiled export."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import tifffile

from convstudio.core import Conv2d, Pipeline, ReLU, RunCancelled
from convstudio.core.errors import ConvStudioError
from convstudio.core.imageio import DEFAULT_MAX_PIXELS
from convstudio.session import compute
from convstudio.session.preview import (
    Preview,
    load_for_app,
    strided_preview,
    too_large_reason,
)
from convstudio.session.tiled_export import TiledSource, export_tiled


class RecordingImage:
    """A (C, H, W) array read as a lazy image is, recording every rectangle asked for."""

    def __init__(self, a: np.ndarray):
        self.a, self.shape, self.reads = a, a.shape, []

    def __getitem__(self, key):
        _, rows, cols = key
        self.reads.append((rows.start, rows.stop, cols.start, cols.stop))
        return self.a[key]


@pytest.mark.parametrize("shape,factor,chunk_rows", [
    ((1, 97, 83), 5, 1), ((3, 120, 64), 7, 16), ((2, 64, 50), 3, 64), ((1, 40, 41), 1, 8),
])
def test_strided_preview_reads_only_the_chunk_rows_it_keeps(shape, factor, chunk_rows):
    a = np.random.default_rng(0).random(shape, dtype=np.float32)
    image = RecordingImage(a)
    c, h, w = shape
    got = strided_preview(image, factor, chunk_rows=chunk_rows, read_bytes=4 * c * 8 * 16)
    want = a[:, ::factor, ::factor][:, :h // factor, :w // factor]
    np.testing.assert_array_equal(got, want)
    assert not got.flags.writeable
    kept = set(range(0, (h // factor) * factor, factor))
    for r0, r1, c0, c1 in image.reads:
        # a read stays in one chunk row, starts and ends on kept rows, and holds few bytes
        assert r0 in kept and r1 - 1 in kept and r0 // chunk_rows == (r1 - 1) // chunk_rows
        assert c0 % factor == 0 and 4 * c * (r1 - r0) * (c1 - c0) <= max(4 * c * 8 * 16, 4 * c * (r1 - r0) * factor)
    rows_read = {r for r0, r1, _, _ in image.reads for r in range(r0, r1)}
    if chunk_rows == 1:
        assert rows_read == kept
    assert sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in image.reads) < h * w or factor == 1


def test_strided_preview_reports_progress_and_stops_when_cancelled():
    from convstudio.core.cancel import cancellable

    image = RecordingImage(np.zeros((1, 50, 50), np.float32))
    seen = []
    strided_preview(image, 5, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 10) for k in range(1, 11)]
    with cancellable(lambda: len(image.reads) >= 3), pytest.raises(RunCancelled):
        strided_preview(image, 5)


def test_the_rule_is_the_pixel_limit_or_a_quarter_of_the_budget():
    budget = 64 << 20
    quarter = budget // 4  # bytes of float32
    assert too_large_reason((1, quarter // 4 // 1024, 1024), budget=budget) is None  # exactly a quarter
    assert "quarter of the memory budget" in too_large_reason((1, quarter // 4 // 1024 + 1, 1024), budget=budget)
    assert "over the limit" in too_large_reason((1, 20_000, DEFAULT_MAX_PIXELS // 20_000 + 1), budget=1 << 60)
    assert too_large_reason((3, 10, 10), budget=budget, max_pixels=99) is not None


@pytest.fixture
def small_budget(monkeypatch):
    """The app's memory budget lowered to 8 MiB: a 1200 x 1000 image (4.6 MiB as float32) is
    then too large to load whole."""
    monkeypatch.setattr(compute, "memory_budget", lambda: 8 << 20)


def test_a_small_image_loads_whole_and_a_large_one_as_a_strided_preview(tmp_path, small_budget):
    a = np.random.default_rng(1).integers(0, 65536, (1200, 1000), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", a, tile=(64, 64), compression="zlib", bigtiff=True)
    tifffile.imwrite(tmp_path / "small.tif", a[:100, :90], tile=(16, 16))
    small = load_for_app(tmp_path / "small.tif")
    np.testing.assert_array_equal(small, a[None, :100, :90] / np.float32(65535))
    p = load_for_app(tmp_path / "big.tif", max_pixels=10_000)
    assert isinstance(p, Preview) and p.full_shape == (1, 1200, 1000) and p.factor == 11
    np.testing.assert_array_equal(p.array, a[None, ::11, ::11][:, :109, :90] / np.float32(65535))
    assert p.array.size <= 10_000 and "quarter of the memory budget" in p.reason
    np.save(tmp_path / "big.npy", a.astype(np.float32))  # unscaled, as load_image reads .npy
    q = load_for_app(tmp_path / "big.npy", max_pixels=10_000)
    np.testing.assert_array_equal(q.array, a[None, ::11, ::11][:, :109, :90].astype(np.float32))


def test_a_pyramid_level_is_the_preview_when_one_fits(tmp_path, small_budget):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (1200, 1000, 3), dtype=np.uint8)
    # levels of their own values (not a's): the preview must be the level itself
    levels = [rng.integers(0, 256, (1200 >> k, 1000 >> k, 3), dtype=np.uint8) for k in range(1, 6)]
    with tifffile.TiffWriter(tmp_path / "pyr.tif", bigtiff=True) as tw:
        tw.write(a, tile=(64, 64), photometric="rgb", subifds=len(levels))
        for level in levels:
            tw.write(level, tile=(16, 16), photometric="rgb", subfiletype=1)
    p = load_for_app(tmp_path / "pyr.tif", max_pixels=10_000)
    # 75 x 62 = 4650 pixels: the largest level within [max / 4, max]
    assert p.factor == 16 and "pyramid level 4" in p.how
    np.testing.assert_array_equal(p.array, np.moveaxis(levels[3], -1, 0) / np.float32(255))


@pytest.fixture
def rgb_tiff(tmp_path):
    a = np.random.default_rng(5).integers(0, 256, (300, 260, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", a, tile=(32, 32), photometric="rgb", compression="zlib")
    return tmp_path / "in.tif", np.moveaxis(a, -1, 0) / np.float32(255)


def test_tiled_export_equals_the_whole_run_and_leaves_nothing_when_cancelled(tmp_path, rgb_tiff):
    path, x = rgb_tiff
    w = np.random.default_rng(6).standard_normal((4, 3, 5, 5)).astype(np.float32)
    p = Pipeline((Conv2d(weight=w, padding="same", padding_mode="reflect"), ReLU()))
    steps = []
    got = export_tiled(p, TiledSource(path), 2, tmp_path / "o.npy", tile=64,
                       progress=lambda d, t: steps.append((d, t)))
    whole = p.run(x)[-1]
    np.testing.assert_allclose(np.load(got[0]), whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    assert steps == [(k, 25) for k in range(1, 26)]  # 5 x 5 tiles of 64 over 300 x 260
    one = export_tiled(p, TiledSource(path), 2, tmp_path / "c2.npy", channel=2, tile=100)
    np.testing.assert_allclose(np.load(one[0]), whole[2:3], rtol=0, atol=1e-5 * np.abs(whole).max())
    with pytest.raises(RunCancelled):
        export_tiled(p, TiledSource(path), 2, tmp_path / "stop.tif", tile=64, cancelled=lambda: len(steps) > 27,
                     progress=lambda d, t: steps.append((d, t)))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c2.npy", "in.tif", "o.npy"]


def test_tiled_export_refuses_what_it_cannot_write(tmp_path, rgb_tiff):
    path, _ = rgb_tiff
    p = Pipeline((ReLU(),))
    with pytest.raises(ConvStudioError, match="tile by tile"):
        export_tiled(p, TiledSource(path), 1, tmp_path / "o.png")
    with pytest.raises(ConvStudioError, match="inputs are never overwritten"):
        export_tiled(p, TiledSource(path), 1, path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["photo.png", "scan.tif"])
def test_a_named_pipe_is_refused_without_blocking_the_loader(tmp_path, name):
    """File ▸ Open on a FIFO nobody writes to: a plain open() would wait forever on the loader's
    thread; the app must say it is not a regular file."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    outcome: list = []

    def load() -> None:
        try:
            load_for_app(fifo)
        except ConvStudioError as exc:
            outcome.append(str(exc))

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so that the test run can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("loading a FIFO blocked")
    assert len(outcome) == 1 and "not a regular file" in outcome[0]
