"""Hostile files on the region-by-region path (core/lazyio.py, core/lazytiff.py): the checks of
load_image run before tifffile or a memory map sees the file, and whatever tifffile raises or
logs becomes one ImageIOError line, never a traceback or a log line on stderr (docs/security.md)."""

from __future__ import annotations

import logging
import os
import threading

import numpy as np
import pytest
import tifffile
from test_imageio_hostile import LONG, _gray_page, _tiff  # the TIFF builder of the whole path

from convstudio.core import imageio, load_image
from convstudio.core.errors import ImageIOError
from convstudio.core.lazyio import open_image
from convstudio.core.quiet import captured_log


@pytest.fixture
def no_tifffile(monkeypatch):
    """tifffile must not be reached: the header checks refuse the file first."""

    def refuse(*args, **kwargs):
        raise AssertionError("tifffile.TiffFile must not be called")

    monkeypatch.setattr(tifffile, "TiffFile", refuse)


def _corrupt_sample_format(tmp_path, value: int):
    """The file the fuzz suite found: OpenCV's float TIFF with SampleFormat's field type overwritten."""
    (p,) = imageio.save_image(tmp_path / "s.tif", np.random.default_rng(5).random((3, 9, 11), dtype=np.float32))
    data = bytearray(p.read_bytes())
    at = data.index(bytes([0x53, 0x01, 0x03, 0x00]))  # tag 339 (SampleFormat), type SHORT
    data[at + 2] = value
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("value", [0, 2])
def test_a_tag_of_the_wrong_type_is_one_error_and_no_log_line(tmp_path, capfd, value):
    p = _corrupt_sample_format(tmp_path, value)
    with pytest.raises(ImageIOError) as info:
        open_image(p)
    text = str(info.value)
    assert text.startswith(f"cannot read '{p}': ") and "\n" not in text
    # the same file is refused whole too: the two readers agree
    with pytest.raises(ImageIOError):
        load_image(p)
    assert capfd.readouterr().err == ""


def test_tifffile_log_is_captured_on_its_thread_only(capfd):
    log = logging.getLogger("tifffile")
    seen_elsewhere: list[list[str]] = []
    with captured_log("tifffile") as notes:
        log.warning("first %s", "note")

        def other():
            with captured_log("tifffile") as theirs:
                log.warning("from another thread")
            seen_elsewhere.append(theirs)

        t = threading.Thread(target=other)
        t.start()
        t.join()
    log.warning("outside any capture")  # dropped: never on stderr
    assert notes == ["first note"] and seen_elsewhere == [["from another thread"]]
    assert capfd.readouterr().err == ""


def test_a_size_given_twice_is_refused_before_tifffile(tmp_path, no_tifffile):
    page = _gray_page(6, 5) + [(256, LONG, 6000)]
    p = tmp_path / "twice.tif"
    p.write_bytes(_tiff([sorted(page)], pixels=bytes(30)))
    with pytest.raises(ImageIOError, match="tag 256 appears twice"):
        open_image(p)


def test_every_page_size_is_checked_before_tifffile(tmp_path, no_tifffile):
    p = tmp_path / "pages.tif"
    p.write_bytes(_tiff([_gray_page(6, 5), _gray_page(100_000, 100_000, wtype=LONG)], pixels=bytes(30)))
    with pytest.raises(ImageIOError, match="100000 x 100000"):
        open_image(p, max_pixels=10**9)  # the second page, not the first, is too large


def test_a_tiff_without_a_readable_size_is_refused(tmp_path, no_tifffile):
    p = tmp_path / "nosize.tif"
    p.write_bytes(b"II*\x00" + b"\xff\xff\xff\x7f" + bytes(40))  # the first directory past the end
    with pytest.raises(ImageIOError, match="not a valid TIFF"):
        open_image(p)


def test_a_strip_larger_than_load_image_takes_is_refused(tmp_path, monkeypatch):
    a = np.arange(40 * 30, dtype=np.uint8).reshape(40, 30)
    tifffile.imwrite(tmp_path / "strips.tif", a, rowsperstrip=40)  # one strip of 1200 values
    monkeypatch.setattr(imageio, "DEFAULT_MAX_PIXELS", 200)  # 4 x 200 values decoded at once
    with pytest.raises(ImageIOError, match="one strip holds 1200 values"):
        open_image(tmp_path / "strips.tif")
    tifffile.imwrite(tmp_path / "small.tif", a, rowsperstrip=20)  # 600 values: read by region
    img = open_image(tmp_path / "small.tif")
    assert img.lazy
    np.testing.assert_array_equal(img[:, 5:35, 3:9], a[None, 5:35, 3:9] / np.float32(255))


def test_a_truncated_tile_is_one_error(tmp_path, capfd):
    a = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    p = tmp_path / "t.tif"
    tifffile.imwrite(p, a, tile=(32, 32), compression="zlib")
    data = p.read_bytes()
    img = open_image(p)
    offsets = img._page.dataoffsets
    img.close()
    last = offsets[-1]
    p.write_bytes(data[:last + 5] + bytes(len(data) - last - 5))  # the last tile's stream broken
    img = open_image(p)
    np.testing.assert_array_equal(img[:, :32, :32], a[None, :32, :32] / np.float32(255))
    with pytest.raises(ImageIOError, match="cannot read") as info:
        img[:, 40:64, 40:64]
    assert "\n" not in str(info.value)
    img.close()
    assert capfd.readouterr().err == ""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["in.tif", "in.npy"])
def test_a_pipe_is_refused_without_blocking(tmp_path, name):
    os.mkfifo(tmp_path / name)
    with pytest.raises(ImageIOError, match="not a regular file"):
        open_image(tmp_path / name)


def test_a_truncated_npy_is_refused_from_its_header(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 30, 40), np.float32))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-4])
    with pytest.raises(ImageIOError, match="truncated"):
        open_image(tmp_path / "cut.npy")
    np.save(tmp_path / "obj.npy", np.array([[None]], dtype=object), allow_pickle=True)
    with pytest.raises(ImageIOError, match="Python objects"):
        open_image(tmp_path / "obj.npy")


def test_fortran_order_npy_reads_as_load_image(tmp_path):
    a = np.asfortranarray(np.random.default_rng(2).normal(size=(3, 17, 13)))
    np.save(tmp_path / "f.npy", a)
    img = open_image(tmp_path / "f.npy")
    np.testing.assert_array_equal(img[:, 2:15, 1:12], load_image(tmp_path / "f.npy")[:, 2:15, 1:12])


def test_a_zarr_with_a_missing_chunk_file_is_one_error(tmp_path):
    zarr = pytest.importorskip("zarr")
    z = zarr.open_array(tmp_path / "a.zarr", mode="w", shape=(1, 20, 20), chunks=(1, 10, 10), dtype="float32")
    z[...] = 1.0
    chunk = next(p for p in (tmp_path / "a.zarr").rglob("*") if p.is_file() and p.parent.name == "0"
                 and p.parent.parent.name == "0")
    chunk.write_bytes(b"not a compressed chunk")
    img = open_image(tmp_path / "a.zarr")
    with pytest.raises(ImageIOError, match="a chunk cannot be read"):
        img[:, 0:20, 0:20]


def test_a_zarr_whose_axes_do_not_match_its_array_is_refused(tmp_path):
    zarr = pytest.importorskip("zarr")
    g = zarr.open_group(tmp_path / "img.zarr", mode="w")
    g.create_array("0", shape=(4, 5), dtype="float32")
    g.attrs["multiscales"] = [{"axes": ["c", "y", "x"], "datasets": [{"path": "0"}]}]
    with pytest.raises(ImageIOError, match="3 OME-Zarr axes for an array of 2 dimensions"):
        open_image(tmp_path / "img.zarr")
    g.attrs["ome"] = "not a dict"
    g.attrs["multiscales"] = None
    with pytest.raises(ImageIOError, match="without OME-Zarr multiscales"):
        open_image(tmp_path / "img.zarr")

