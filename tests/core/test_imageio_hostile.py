"""Hostile image files: every declared size is checked before decoding, surplus or truncated PNG
data is refused before libpng spends time on it, and the decoders' own warnings never reach the
terminal (docs/security.md)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from convstudio.core import imageio
from convstudio.core.errors import ImageIOError
from convstudio.core.imageio import image_size, load_image, save_image

# TIFF field types
SHORT, LONG, SLONG, LONG8 = 3, 4, 9, 16


def _no_decoding(*args, **kwargs):
    raise AssertionError("cv2.imdecode must not be called")


def _entry(tag: int, typ: int, value: int, *, big: bool = False) -> bytes:
    """One IFD entry holding a single value of `typ`, little-endian."""
    fmt = {SHORT: "H", LONG: "I", SLONG: "i", LONG8: "Q"}[typ]
    field = struct.pack("<" + fmt, value).ljust(8 if big else 4, b"\0")
    return struct.pack("<HHQ" if big else "<HHI", tag, typ, 1) + field


def _tiff(pages: list[list[tuple[int, int, int]]], *, big: bool = False, pixels: bytes = b"") -> bytes:
    """A little-endian TIFF (or BigTIFF) of `pages`, each a list of (tag, type, value) entries in
    the given order, the IFDs chained; `pixels` is appended after them (strip offsets at 4096)."""
    head = b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) if big else b"II*\x00" + struct.pack("<I", 8)
    out = bytearray(head)
    for k, entries in enumerate(pages):
        count = struct.pack("<Q" if big else "<H", len(entries))
        body = b"".join(_entry(t, typ, v, big=big) for t, typ, v in entries)
        next_at = len(out) + len(count) + len(body) + (8 if big else 4)
        nxt = next_at if k + 1 < len(pages) else 0
        out += count + body + struct.pack("<Q" if big else "<I", nxt)
    out = out.ljust(4096, b"\0") + pixels
    return bytes(out)


def _gray_page(width: int, height: int, *, wtype: int = SHORT, extra=()) -> list[tuple[int, int, int]]:
    entries = [(256, wtype, width), (257, wtype, height), (258, SHORT, 8), (259, SHORT, 1),
               (262, SHORT, 1), (273, LONG, 4096), (277, SHORT, 1), (278, LONG, height),
               (279, LONG, min(width * height, 0xFFFF_FFFF)), *extra]
    return sorted(entries, key=lambda e: e[0])


@pytest.mark.parametrize("wtype", [SHORT, LONG, SLONG])
def test_tiff_size_in_every_integer_type_is_read(tmp_path, wtype):
    img = np.arange(6 * 5, dtype=np.uint8).reshape(5, 6)
    p = tmp_path / "small.tif"
    p.write_bytes(_tiff([_gray_page(6, 5, wtype=wtype)], pixels=img.tobytes()))
    assert image_size(p) == (6, 5)
    np.testing.assert_array_equal(load_image(p)[0], img / np.float32(255))


def test_bigtiff_long8_size_is_read(tmp_path):
    page = [(t, LONG8 if t in (256, 257) else typ, v) for t, typ, v in _gray_page(4, 3)]
    p = tmp_path / "big.tif"
    p.write_bytes(_tiff([page], big=True, pixels=bytes(range(12))))
    assert image_size(p) == (4, 3)


@pytest.mark.parametrize("wtype", [SHORT, LONG, SLONG, LONG8])
def test_huge_tiff_refused_before_decoding_whatever_the_type(tmp_path, monkeypatch, wtype):
    # 100000 x 100000 claimed by a file of a few KB: once decoded blind at a cost of 12 GB
    big = wtype == LONG8
    page = [(t, wtype if t in (256, 257) else typ, v)
            for t, typ, v in _gray_page(100_000, 100_000 if wtype != SHORT else 60_000)]
    if wtype == SHORT:
        page = [(t, typ, min(v, 65_535)) for t, typ, v in page]
    p = tmp_path / "bomb.tif"
    p.write_bytes(_tiff([page], big=big, pixels=bytes(100)))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="above the limit"):
        load_image(p)


def test_tiff_size_given_twice_is_refused(tmp_path, monkeypatch):
    page = _gray_page(16, 1) + [(256, LONG, 100_000)]
    page.sort(key=lambda e: e[0])
    p = tmp_path / "twice.tif"
    p.write_bytes(_tiff([page], pixels=bytes(16)))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="tag 256 appears twice"):
        load_image(p)
    assert image_size(p) is None


def test_every_tiff_page_is_checked(tmp_path, monkeypatch):
    # a small first page, then one that claims 10 gigapixels
    p = tmp_path / "pages.tif"
    p.write_bytes(_tiff([_gray_page(4, 4), _gray_page(100_000, 100_000, wtype=LONG)], pixels=bytes(16)))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="100000 x 100000"):
        load_image(p)


def test_tiff_tiles_are_checked(tmp_path, monkeypatch):
    page = _gray_page(8, 8, extra=[(322, LONG, 65_536), (323, LONG, 65_536)])
    p = tmp_path / "tiles.tif"
    p.write_bytes(_tiff([page], pixels=bytes(64)))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="65536 x 65536"):
        load_image(p)


@pytest.mark.parametrize("cut", [10, 30, 100])
def test_tiff_whose_directory_is_cut_off_is_refused(tmp_path, monkeypatch, cut):
    p = tmp_path / "cut.tif"
    p.write_bytes(_tiff([_gray_page(4, 4)])[:cut])
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="not a valid TIFF"):
        load_image(p)


def test_looping_tiff_directories_are_refused(tmp_path, monkeypatch):
    data = bytearray(_tiff([_gray_page(4, 4)], pixels=bytes(16)))
    n = len(_gray_page(4, 4))
    struct.pack_into("<I", data, 8 + 2 + 12 * n, 8)  # the next IFD is the first one again
    p = tmp_path / "loop.tif"
    p.write_bytes(bytes(data))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="loop"):
        load_image(p)


def test_opencv_written_tiffs_still_load(tmp_path):
    # OpenCV writes RGBA TIFFs without ExtraSamples; libtiff's note about it is harmless
    x = np.random.default_rng(3).random((4, 6, 7), dtype=np.float32)
    (p,) = save_image(tmp_path / "rgba.tif", x)
    np.testing.assert_array_equal(load_image(p, keep_alpha=True), x)


# --------------------------------------------------------------------------------------------
# PNG image data


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _png_with_stream(width: int, height: int, stream: bytes, *, split: int | None = None) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    parts = [stream] if split is None else [stream[:split], stream[split:]]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + b"".join(_chunk(b"IDAT", s) for s in parts)
            + _chunk(b"IEND", b""))


RAW16 = b"".join(b"\x00" + bytes(range(i, i + 16)) for i in range(16))  # 16 x 16 gray, filter 0


def test_png_exactly_its_data_loads(tmp_path):
    p = tmp_path / "ok.png"
    p.write_bytes(_png_with_stream(16, 16, zlib.compress(RAW16), split=7))
    expected = np.array([list(range(i, i + 16)) for i in range(16)], np.float32) / 255
    np.testing.assert_allclose(load_image(p)[0], expected, rtol=0, atol=1e-7)


def test_png_with_surplus_deflated_data_is_refused_before_libpng(tmp_path, monkeypatch, capfd):
    # the image, then 64 MiB of zeros deflated in the same stream (the file stays small)
    c = zlib.compressobj(9)
    stream = c.compress(RAW16) + c.compress(bytes(64 << 20)) + c.flush()
    p = tmp_path / "surplus.png"
    p.write_bytes(_png_with_stream(16, 16, stream))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="image data where its size needs at most"):
        load_image(p)
    assert capfd.readouterr().err == ""


def test_png_surplus_within_the_size_bound_is_found_by_inflating(tmp_path, monkeypatch):
    # a stream that keeps going past the image, still small enough to pass the size bound:
    # inflating stops at the first byte too many
    c = zlib.compressobj(0)  # stored blocks: about as large as the data
    stream = c.compress(RAW16 + bytes(40)) + c.flush()
    p = tmp_path / "long.png"
    p.write_bytes(_png_with_stream(16, 16, stream))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="more image data than its size needs"):
        load_image(p)


@pytest.mark.parametrize(("stream", "reason"), [
    (zlib.compress(RAW16[:-20]), "truncated image data"),
    (zlib.compress(RAW16) + b"\x00\x01junk", "data after the end of the image data"),
    (zlib.compress(RAW16)[:-4] + b"\x00\x00\x00\x00", "corrupt image data"),
])
def test_png_short_trailing_or_corrupt_data_refused_before_libpng(tmp_path, monkeypatch, stream, reason):
    p = tmp_path / "bad.png"
    p.write_bytes(_png_with_stream(16, 16, stream))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match=reason):
        load_image(p)


def test_interlaced_png_raw_size_matches_libpng(tmp_path):
    # Adam7 bound: an interlaced RGB PNG written by OpenCV loads (its data is exactly what the
    # seven passes need), as do the interlaced PngSuite files (tests/core/test_imageio.py).
    from convstudio.core.imageheaders import _png_raw_size

    # passes of a 3 x 2 8-bit gray image: pass 1 (1x1), pass 4 (1x1), pass 6 (1x1), pass 7 (3x1)
    assert _png_raw_size(3, 2, 8, 0, 1) == (1 + 1) * 3 + (1 + 3)
    assert _png_raw_size(3, 2, 8, 0, 0) == 2 * (1 + 3)
    assert _png_raw_size(5, 1, 1, 0, 0) == 1 + 1  # 5 bits round up to one byte


# --------------------------------------------------------------------------------------------
# Decoder chatter


def test_truncated_jpeg_refused_and_libjpeg_stays_quiet(tmp_path, capfd):
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(ImageIOError) as info:
        load_image(p)
    message = str(info.value)
    assert "cut.jpg" in message and "\n" not in message
    assert "JPEG" in message
    assert capfd.readouterr().err == ""


def test_crashers_leave_stderr_silent(capfd):
    folder = Path(__file__).resolve().parents[1] / "data" / "png-crashers"
    for path in sorted(folder.glob("*.png")):
        with pytest.raises(ImageIOError):
            load_image(path)
    assert capfd.readouterr().err == ""


def test_captured_stderr_gets_c_level_output_and_restores_fd2(capfd):
    import os

    from convstudio.core.quiet import captured_stderr, decoder_reason

    with captured_stderr() as lines:
        os.write(2, b"libpng warning: IDAT: Too much image data\n")
    os.write(2, b"after\n")
    assert lines == ["libpng warning: IDAT: Too much image data"]
    assert decoder_reason(lines) == "IDAT: Too much image data"
    assert decoder_reason(["[ WARN:0@0.03] global grfmt_tiff.cpp:123 TIFF_Warning x: Unknown"]) is None
    assert capfd.readouterr().err == "after\n"
