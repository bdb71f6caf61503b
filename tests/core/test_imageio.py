"""Tests of convstudio.core.imageio: loading, saving, normalisation, limits and atomic writes."""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convstudio.core import imageio
from convstudio.core.errors import ImageIOError
from convstudio.core.imageio import (
    DEFAULT_MAX_PIXELS,
    NORMALIZE_MODES,
    SUPPORTED_READ_EXTENSIONS,
    SUPPORTED_WRITE_EXTENSIONS,
    atomic_write_bytes,
    image_size,
    load_image,
    normalize_for_display,
    save_image,
)

RNG = np.random.default_rng(20240607)


@pytest.fixture(scope="module")
def testdata() -> Path:
    """Public conformance files (PngSuite, libpng's crashers) kept in ``tests/data``."""
    path = Path(__file__).resolve().parents[1] / "data"
    assert (path / "pngsuite").is_dir() and (path / "png-crashers").is_dir(), path
    return path


# --------------------------------------------------------------------------------------------
# Hand-built files
# --------------------------------------------------------------------------------------------


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _png(width: int, height: int, rows: list[bytes], *, bit_depth: int = 8, colour_type: int = 0,
         extra: bytes = b"") -> bytes:
    """A PNG from packed scanlines (filter type 0), with `extra` chunks placed before IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def _exif_tiff(orientation: int, *, big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    head = b"MM\x00*" if big_endian else b"II*\x00"
    # One IFD entry: Orientation (0x0112), SHORT, count 1, value left-justified in the field.
    return (head + struct.pack(e + "I", 8) + struct.pack(e + "H", 1)
            + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0))


def _jpeg_with_exif(bgr: np.ndarray, orientation: int, *, big_endian: bool = False) -> bytes:
    ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    payload = b"Exif\x00\x00" + _exif_tiff(orientation, big_endian=big_endian)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    enc = enc.tobytes()
    return enc[:2] + app1 + enc[2:]  # right after SOI


def _gray_tiff(img: np.ndarray, orientation: int, *, big_endian: bool = False) -> bytes:
    """An uncompressed 8-bit gray TIFF with an Orientation tag."""
    e = ">" if big_endian else "<"
    h, w = img.shape
    tags = [(256, 3, w), (257, 3, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, None),
            (274, 3, orientation), (277, 3, 1), (278, 3, h), (279, 4, w * h)]
    data_at = 8 + 2 + 12 * len(tags) + 4
    out = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8) + struct.pack(e + "H", len(tags))
    for tag, typ, value in tags:
        value = data_at if value is None else value
        out += (struct.pack(e + "HHIHH", tag, typ, 1, value, 0) if typ == 3
                else struct.pack(e + "HHII", tag, typ, 1, value))
    return out + struct.pack(e + "I", 0) + img.astype(np.uint8).tobytes()


def _reference_png_samples(path: Path) -> np.ndarray:
    """Raw integer samples (H, W, channels) of a non-interlaced, non-palette PNG, decoded by hand.

    Independent of OpenCV: zlib + the five PNG filters + bit unpacking.
    """
    data = path.read_bytes()
    pos, idat = 8, b""
    while True:
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
        pos += 12 + length
    assert interlace == 0 and colour != 3
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    bpp = max(1, channels * depth // 8)
    stride = (width * channels * depth + 7) // 8
    raw = zlib.decompress(idat)
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    buf = np.frombuffer(b"".join(rows), np.uint8).reshape(height, stride)
    if depth == 16:
        samples = buf.view(">u2").astype(np.int64)
    elif depth == 8:
        samples = buf.astype(np.int64)
    else:
        per_byte = 8 // depth
        shifts = np.arange(per_byte - 1, -1, -1) * depth
        samples = ((buf[:, :, None] >> shifts) & ((1 << depth) - 1)).reshape(height, -1).astype(np.int64)
    return samples[:, :width * channels].reshape(height, width, channels)


def _png_chunk_types(path: Path) -> set[bytes]:
    data, pos, types = path.read_bytes(), 8, set()
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        types.add(ctype)
        pos += 12 + length
    return types


def _temp_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "x", "expected"),
    [
        ("clip", [-0.5, 0.0, 0.25, 1.0, 2.0], [0.0, 0.0, 0.25, 1.0, 1.0]),
        ("minmax", [2.0, 4.0, 6.0], [0.0, 0.5, 1.0]),
        ("minmax", [-2.0, 0.0, 1.0], [0.0, 2 / 3, 1.0]),
        ("minmax", [3.0, 3.0, 3.0], [0.0, 0.0, 0.0]),
        ("abs", [-0.5, 0.25, -2.0], [0.5, 0.25, 1.0]),
        ("signed", [-2.0, 0.0, 1.0], [0.0, 0.5, 0.75]),
        ("signed", [0.0, 0.0], [0.5, 0.5]),
        ("signed", [-4.0, 1.0, 4.0], [0.0, 0.625, 1.0]),
    ],
)
def test_normalize_hand_checked_values(mode, x, expected):
    out = normalize_for_display(np.array(x, np.float32), mode)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_normalize_uses_one_range_for_all_channels():
    x = np.array([[[0.0, 1.0]], [[2.0, 3.0]]], np.float32)  # (2, 1, 2)
    np.testing.assert_allclose(normalize_for_display(x, "minmax"), [[[0, 1 / 3]], [[2 / 3, 1]]], atol=1e-6)
    np.testing.assert_allclose(normalize_for_display(x, "signed"), [[[0.5, 2 / 3]], [[5 / 6, 1]]], atol=1e-6)


def test_normalize_non_finite_values():
    x = np.array([np.nan, 0.0, 2.0, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(normalize_for_display(x, "minmax"), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(normalize_for_display(x, "clip"), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(normalize_for_display(x, "abs"), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(normalize_for_display(x, "signed"), [0, 0.5, 1, 1, 0])
    # Only non-finite values: nothing to scale by, but still a valid [0, 1] result.
    np.testing.assert_array_equal(normalize_for_display(np.array([np.nan, np.inf]), "minmax"), [0, 1])


def test_normalize_integer_input_and_no_side_effects():
    x = np.array([0, 128, 255], np.uint8)
    np.testing.assert_allclose(normalize_for_display(x, "minmax"), [0, 128 / 255, 1], atol=1e-7)
    y = np.array([-1.0, 3.0])
    normalize_for_display(y, "abs")
    np.testing.assert_array_equal(y, [-1.0, 3.0])  # the input is not modified
    assert normalize_for_display(np.array([True, False]), "clip").tolist() == [1.0, 0.0]


def test_normalize_unknown_mode():
    with pytest.raises(ValueError, match="'gamma'.*'clip'"):
        normalize_for_display(np.zeros(3), "gamma")
    assert NORMALIZE_MODES == ("clip", "minmax", "abs", "signed")


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                 elements=st.floats(width=32, allow_nan=True, allow_infinity=True)),
    mode=st.sampled_from(NORMALIZE_MODES),
)
def test_normalize_always_in_unit_range(x, mode):
    out = normalize_for_display(x, mode)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.all((out >= 0) & (out <= 1))


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_8bit_round_trip(tmp_path, channels):
    levels = RNG.integers(0, 256, (channels, 5, 7))
    x = (levels / 255).astype(np.float32)
    (written,) = save_image(tmp_path / "a.png", x)
    y = load_image(written, keep_alpha=True)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(np.rint(y * 255), levels)
    np.testing.assert_allclose(y, x, atol=1e-7)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_16bit_round_trip(tmp_path, channels):
    levels = RNG.integers(0, 65536, (channels, 4, 6))
    x = levels / 65535  # float64 input is fine too
    (written,) = save_image(tmp_path / "a.png", x, depth=16)
    assert cv2.imdecode(np.fromfile(written, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    y = load_image(written, keep_alpha=True)
    np.testing.assert_array_equal(np.rint(y.astype(np.float64) * 65535), levels)


def test_8bit_write_rounds_rather_than_truncates(tmp_path):
    x = np.array([[0.999, 0.5, 0.0019, 0.002]], np.float32)  # 254.7 -> 255, 127.5 -> 128 (rint: 128)
    (p,) = save_image(tmp_path / "r.png", x)
    raw = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.tolist() == [[255, 128, 0, 1]]


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("ext", [".tif", ".TIFF"])
def test_tiff_float32_exact_round_trip(tmp_path, channels, ext):
    x = RNG.standard_normal((channels, 6, 5)).astype(np.float32) * 10  # well outside [0, 1]
    (p,) = save_image(tmp_path / f"f{ext}", x, normalize="minmax", depth=16)  # both ignored for TIFF
    y = load_image(p, keep_alpha=True)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)


def test_npy_exact_round_trip(tmp_path):
    x = RNG.standard_normal((5, 4, 3)) * 1e3  # float64 in, float32 out
    (p,) = save_image(tmp_path / "x.npy", x, normalize="minmax")
    assert np.load(p).dtype == np.float32
    np.testing.assert_array_equal(load_image(p), x.astype(np.float32))
    (p2,) = save_image(tmp_path / "two.npy", x[0])
    assert np.load(p2).shape == (1, 4, 3)
    np.testing.assert_array_equal(load_image(p2), x[:1].astype(np.float32))


def test_jpeg_round_trip_is_close(tmp_path):
    yy, xx = np.mgrid[0:32, 0:48] / 48.0
    x = np.stack([xx, yy, 0.5 * (xx + yy)]).astype(np.float32)
    (p,) = save_image(tmp_path / "smooth.JPG", x)
    y = load_image(p)
    assert y.shape == (3, 32, 48)
    err = np.abs(y - x)
    assert err.mean() < 0.01 and err.max() < 0.06
    (g,) = save_image(tmp_path / "gray.jpeg", x[:1])
    assert load_image(g).shape == (1, 32, 48)


def test_bmp_and_webp_round_trips(tmp_path):
    levels = RNG.integers(0, 256, (3, 5, 7))
    x = (levels / 255).astype(np.float32)
    for name in ("a.bmp", "a.webp"):  # WebP is written lossless
        (p,) = save_image(tmp_path / name, x)
        np.testing.assert_array_equal(np.rint(load_image(p) * 255), levels)
    (p,) = save_image(tmp_path / "g.bmp", x[:1])
    np.testing.assert_array_equal(np.rint(load_image(p) * 255), levels[:1])
    # WebP has no gray mode: a gray image comes back as three equal channels.
    (p,) = save_image(tmp_path / "g.webp", x[:1])
    y = load_image(p)
    assert y.shape == (3, 5, 7)
    np.testing.assert_array_equal(np.rint(y * 255), np.repeat(levels[:1], 3, axis=0))


def test_one_by_one_images(tmp_path):
    for name in ("one.png", "one.jpg", "one.bmp", "one.webp", "one.tif", "one.npy"):
        (p,) = save_image(tmp_path / name, np.full((1, 1, 1), 0.6, np.float32))
        y = load_image(p)
        assert y.shape[1:] == (1, 1), name
        assert abs(float(y[0, 0, 0]) - 0.6) < 0.02, name


# --------------------------------------------------------------------------------------------
# Channel order, alpha, gray, per-channel files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tif"])
def test_red_is_written_red(tmp_path, ext):
    red = np.zeros((3, 8, 8), np.float32)
    red[0] = 1.0
    (p,) = save_image(tmp_path / f"red{ext}", red)
    bgr = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED)
    full = 1.0 if ext == ".tif" else 255
    assert bgr[..., 2].min() >= 0.95 * full  # R is OpenCV's channel 2
    assert bgr[..., 0].max() <= 0.05 * full and bgr[..., 1].max() <= 0.05 * full
    y = load_image(p)
    assert y[0].min() > 0.95 and y[1].max() < 0.05 and y[2].max() < 0.05


def test_rgba_alpha_dropped_or_kept(tmp_path):
    x = RNG.integers(0, 256, (4, 6, 5)) / 255
    x[3] = np.arange(1, 31).reshape(6, 5) * 8 / 255  # no alpha 0: WebP drops colour under it
    for name in ("a.png", "a.webp"):
        (p,) = save_image(tmp_path / name, x)
        raw = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(raw[..., 3], np.rint(x[3] * 255))  # BGRA: alpha last
        np.testing.assert_allclose(load_image(p), x[:3], atol=1e-6)
        np.testing.assert_allclose(load_image(p, keep_alpha=True), x, atol=1e-6)


def test_keep_alpha_does_not_invent_alpha(tmp_path):
    (p,) = save_image(tmp_path / "rgb.png", np.zeros((3, 2, 2)))
    assert load_image(p, keep_alpha=True).shape == (3, 2, 2)
    (g,) = save_image(tmp_path / "g.png", np.zeros((2, 2)))
    assert load_image(g, keep_alpha=True).shape == (1, 2, 2)


def test_gray_written_as_gray(tmp_path):
    x = RNG.random((4, 9)).astype(np.float32)  # (H, W)
    (p,) = save_image(tmp_path / "g.png", x)
    assert cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED).ndim == 2
    y = load_image(p)
    assert y.shape == (1, 4, 9)
    np.testing.assert_allclose(y[0], x, atol=0.5 / 255 + 1e-6)


def test_two_channels_give_two_gray_files_normalised_together(tmp_path):
    x = np.stack([np.zeros((3, 4)), np.ones((3, 4))])
    written = save_image(tmp_path / "pair.png", x, normalize="minmax")
    assert [p.name for p in written] == ["pair_c00.png", "pair_c01.png"]
    assert not (tmp_path / "pair.png").exists()
    raws = [cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED) for p in written]
    assert all(r.ndim == 2 for r in raws)
    # One range for both channels: channel 0 is the minimum (black), channel 1 the maximum.
    assert raws[0].max() == 0 and raws[1].min() == 255


def test_eight_channels_to_tiff_are_exact(tmp_path):
    x = RNG.standard_normal((8, 3, 5)).astype(np.float32)
    written = save_image(tmp_path / "feat.tif", x)
    assert [p.name for p in written] == [f"feat_c{i:02d}.tif" for i in range(8)]
    for i, p in enumerate(written):
        y = load_image(p)
        assert y.shape == (1, 3, 5)
        np.testing.assert_array_equal(y[0], x[i])


def test_more_than_100_channels_use_three_digits(tmp_path):
    written = save_image(tmp_path / "many.bmp", np.zeros((101, 1, 1)))
    assert written[0].name == "many_c000.bmp" and written[-1].name == "many_c100.bmp"
    assert len({p.name for p in written}) == 101 and all(p.exists() for p in written)


def test_extension_case_is_kept_in_channel_names(tmp_path):
    written = save_image(tmp_path / "Up.PNG", np.zeros((2, 2, 2)))
    assert [p.name for p in written] == ["Up_c00.PNG", "Up_c01.PNG"]


def test_non_finite_values_write_as_documented(tmp_path):
    x = np.array([[np.nan, 0.5, np.inf, -np.inf]], np.float32)
    (p,) = save_image(tmp_path / "nan.png", x)
    assert cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED).tolist() == [[0, 128, 255, 0]]
    (p,) = save_image(tmp_path / "nan.jpg", x, normalize="minmax")
    assert load_image(p).shape == (1, 1, 4)


# --------------------------------------------------------------------------------------------
# Save errors
# --------------------------------------------------------------------------------------------


def test_save_refusals(tmp_path):
    rgb = np.zeros((3, 2, 2))
    rgba = np.zeros((4, 2, 2))
    for ext in (".jpg", ".bmp", ".webp"):
        with pytest.raises(ImageIOError, match="8-bit"):
            save_image(tmp_path / f"d{ext}", rgb, depth=16)
    for ext in (".jpg", ".jpeg", ".bmp"):
        with pytest.raises(ImageIOError, match="alpha"):
            save_image(tmp_path / f"a{ext}", rgba)
    with pytest.raises(ImageIOError, match=r"unsupported extension '\.gif'.*\.png.*\.npy"):
        save_image(tmp_path / "x.gif", rgb)
    with pytest.raises(ImageIOError, match="unsupported extension"):
        save_image(tmp_path / "noext", rgb)
    for bad in (np.zeros((1, 1, 2, 2)), np.zeros(4), np.zeros((0, 3)), np.zeros((2, 2), complex)):
        with pytest.raises(ImageIOError, match="cannot write"):
            save_image(tmp_path / "bad.png", bad)
    with pytest.raises(ValueError, match="depth"):
        save_image(tmp_path / "x.png", rgb, depth=12)
    with pytest.raises(ValueError, match="normalize"):
        save_image(tmp_path / "x.png", rgb, normalize="log")
    with pytest.raises(ImageIOError, match="does not exist"):
        save_image(tmp_path / "missing" / "x.png", rgb)
    assert list(tmp_path.iterdir()) == []  # every refusal came before anything was written
    assert set(SUPPORTED_WRITE_EXTENSIONS) >= {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".npy"}
    assert set(SUPPORTED_READ_EXTENSIONS) == set(SUPPORTED_WRITE_EXTENSIONS)


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def test_failed_fsync_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old content")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(imageio.os, "fsync", broken_fsync)
    with pytest.raises(ImageIOError, match=r"cannot write '.*out\.png': Input/output error"):
        save_image(target, np.zeros((3, 4, 4)))
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_failed_encode_writes_nothing(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old content")

    def broken_encode(*args, **kwargs):
        raise cv2.error("simulated encoder failure")

    monkeypatch.setattr(imageio.cv2, "imencode", broken_encode)
    with pytest.raises(ImageIOError, match="encoding failed"):
        save_image(target, np.zeros((3, 4, 4)))
    assert target.read_bytes() == b"old content"
    assert _temp_leftovers(tmp_path) == []


def test_failed_rename_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.npy"
    target.write_bytes(b"old content")

    def broken_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.os, "replace", broken_replace)
    with pytest.raises(ImageIOError, match="permission denied"):
        save_image(target, np.zeros((1, 2, 2)))
    assert target.read_bytes() == b"old content"
    assert _temp_leftovers(tmp_path) == []


def test_failure_on_second_channel_file_writes_no_channel_file(tmp_path, monkeypatch):
    real_fsync = os.fsync
    calls = []

    def fsync_failing_second_time(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(imageio.os, "fsync", fsync_failing_second_time)
    with pytest.raises(ImageIOError, match="No space left"):
        save_image(tmp_path / "ch.png", np.zeros((2, 3, 3)))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_bytes(tmp_path):
    p = tmp_path / "pipeline.json"
    atomic_write_bytes(p, b'{"layers": []}')
    assert p.read_bytes() == b'{"layers": []}'
    atomic_write_bytes(str(p), bytearray(b"second"))
    assert p.read_bytes() == b"second"
    assert _temp_leftovers(tmp_path) == []
    with pytest.raises(ImageIOError, match="does not exist"):
        atomic_write_bytes(tmp_path / "no" / "x.json", b"")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    p = tmp_path / "new.bin"
    atomic_write_bytes(p, b"x")
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600
    p.chmod(0o640)
    atomic_write_bytes(p, b"y")
    assert p.stat().st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------------------------
# Paths and content sniffing
# --------------------------------------------------------------------------------------------


def test_unicode_path_and_path_types(tmp_path):
    x = RNG.integers(0, 256, (3, 4, 5)) / 255
    p = tmp_path / "图像 é.png"
    (written,) = save_image(p, x)
    assert written == p and p.exists()
    a = load_image(p)
    b = load_image(str(p))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, x, atol=1e-6)
    assert image_size(p) == (5, 4)


def test_content_decides_not_extension(tmp_path):
    png = _png(2, 1, [bytes([0, 255])])
    (tmp_path / "really_png.jpg").write_bytes(png)
    np.testing.assert_array_equal(load_image(tmp_path / "really_png.jpg"), [[[0.0, 1.0]]])
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(ImageIOError, match=r"'.*notes\.png': not a recognised image"):
        load_image(tmp_path / "notes.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageIOError, match="empty"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(ImageIOError, match="no such file"):
        load_image(tmp_path / "absent.png")
    with pytest.raises(ImageIOError, match="folder"):
        load_image(tmp_path)
    assert image_size(tmp_path / "notes.png") is None


def test_truncated_png_refused(tmp_path):
    ok, enc = cv2.imencode(".png", RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = enc.tobytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageIOError, match=r"half\.png.*truncated"):
        load_image(tmp_path / "half.png")
    bad = bytearray(data)
    bad[-20] ^= 0xFF  # inside the last IDAT
    (tmp_path / "crc.png").write_bytes(bytes(bad))
    with pytest.raises(ImageIOError, match="CRC error"):
        load_image(tmp_path / "crc.png")


def test_truncated_jpeg_never_crashes(tmp_path):
    ok, enc = cv2.imencode(".jpg", RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    (tmp_path / "half.jpg").write_bytes(enc.tobytes()[:300])
    try:
        y = load_image(tmp_path / "half.jpg")
    except ImageIOError as exc:
        assert "half.jpg" in str(exc)
    else:
        assert y.shape == (3, 64, 64) and np.isfinite(y).all()


# --------------------------------------------------------------------------------------------
# .npy
# --------------------------------------------------------------------------------------------


def test_npy_accepts_real_numeric_dtypes(tmp_path):
    for arr in (np.array([[True, False]]), np.array([[1000, 65535]], np.uint16),
                np.array([[-3, 7]], np.int64), np.array([[0.5, -2.0]], np.float16)):
        p = tmp_path / f"{arr.dtype}.npy"
        np.save(p, arr)
        y = load_image(p)
        assert y.dtype == np.float32 and y.shape == (1, 1, 2)
        np.testing.assert_array_equal(y[0], arr.astype(np.float32))  # unscaled
    p = tmp_path / "fortran.npy"
    f = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    np.save(p, f)
    np.testing.assert_array_equal(load_image(p), f)


@pytest.mark.parametrize(
    ("arr", "reason"),
    [
        (np.array([[1, None]], dtype=object), "Python objects"),
        (np.zeros((1, 2, 3, 4)), r"shape \(1, 2, 3, 4\)"),
        (np.zeros(5), r"shape \(5,\)"),
        (np.zeros((2, 2), complex), "dtype complex128"),
        (np.zeros((2, 2), dtype=[("a", "f4"), ("b", "i4")]), "unsupported dtype"),
        (np.array([["a", "b"]]), "unsupported dtype"),
        (np.zeros((2, 2), "datetime64[s]"), "unsupported dtype"),
        (np.array([[0.0, np.nan]]), "NaN or infinite"),
        (np.array([[np.inf, 0.0]], np.float32), "NaN or infinite"),
        (np.array([[1e300]]), "float32 range"),
        (np.zeros((0, 3)), "empty"),
    ],
)
def test_npy_refusals(tmp_path, arr, reason):
    p = tmp_path / "bad.npy"
    np.save(p, arr, allow_pickle=True)
    with pytest.raises(ImageIOError, match=rf"'.*bad\.npy': .*{reason}"):
        load_image(p)


def test_npy_truncated_pickle_and_bomb(tmp_path):
    p = tmp_path / "cut.npy"
    np.save(p, np.zeros((10, 10)))
    p.write_bytes(p.read_bytes()[:-8])
    with pytest.raises(ImageIOError, match="truncated"):
        load_image(p)
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps({"evil": 1}))
    with pytest.raises(ImageIOError, match="not a recognised image"):
        load_image(tmp_path / "pickle.npy")
    # A header claiming 100000 x 100000 float32 with no data behind it.
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)})
    (tmp_path / "bomb.npy").write_bytes(buf.getvalue() + b"\x00" * 16)
    with pytest.raises(ImageIOError, match="10000 megapixels, above the limit of 200 megapixels"):
        load_image(tmp_path / "bomb.npy")
    assert image_size(tmp_path / "bomb.npy") == (100000, 100000)


# --------------------------------------------------------------------------------------------
# Limits and decompression bombs
# --------------------------------------------------------------------------------------------


def _no_decoding(*args, **kwargs):
    raise AssertionError("cv2.imdecode must not be called")


def test_png_bomb_refused_before_decoding(tmp_path, monkeypatch):
    # 100000 x 100000 gray claimed by a 60-byte file (its IDAT holds one row only).
    (tmp_path / "bomb.png").write_bytes(_png(100000, 100000, [b"\x00" * 10]))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError) as info:
        load_image(tmp_path / "bomb.png")
    assert str(info.value) == (
        f"'{tmp_path / 'bomb.png'}' is 100000 x 100000 = 10000 megapixels, above the limit of 200 megapixels"
    )
    assert image_size(tmp_path / "bomb.png") == (100000, 100000)
    assert DEFAULT_MAX_PIXELS == 200_000_000


def test_jpeg_bomb_refused_before_decoding(tmp_path, monkeypatch):
    ok, enc = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    data = bytearray(enc.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="60000 x 60000 = 3600 megapixels"):
        load_image(tmp_path / "bomb.jpg")


def test_max_pixels_argument(tmp_path):
    (p,) = save_image(tmp_path / "s.png", np.zeros((3, 32, 32)))
    with pytest.raises(ImageIOError, match="32 x 32 = 1024 pixels, above the limit of 1000 pixels"):
        load_image(p, max_pixels=1000)
    assert load_image(p, max_pixels=1024).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(p, max_pixels=0)


def test_file_size_limits(tmp_path, monkeypatch):
    (p,) = save_image(tmp_path / "s.png", RNG.random((3, 32, 32)))
    monkeypatch.setattr(imageio, "MAX_FILE_BYTES", 200)
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="above the limit of 200 bytes"):
        load_image(p)


def test_unparsable_header_is_refused_without_decoding(tmp_path, monkeypatch):
    # A JPEG whose frame header never comes: its size is unknown before decoding, so the decoder
    # is never asked, however small the file (it would allocate whatever a later header claims).
    headless = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
    p = tmp_path / "headless.jpg"
    p.write_bytes(headless)
    assert image_size(p) is None
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    with pytest.raises(ImageIOError, match="not a valid JPEG.*size cannot be read"):
        load_image(p)


# --------------------------------------------------------------------------------------------
# Orientation
# --------------------------------------------------------------------------------------------

# Stored image 20 x 40 (H x W) with a marker in the top-left 5 x 5 corner. For each EXIF
# orientation: the displayed shape and the corner the marker ends up in.
_ORIENTED = {
    1: ((20, 40), "top-left"),
    2: ((20, 40), "top-right"),
    3: ((20, 40), "bottom-right"),
    4: ((20, 40), "bottom-left"),
    5: ((40, 20), "top-left"),
    6: ((40, 20), "top-right"),
    7: ((40, 20), "bottom-right"),
    8: ((40, 20), "bottom-left"),
}


def _marker_corner(plane: np.ndarray) -> str:
    ys, xs = np.nonzero(plane > 0.5)
    h, w = plane.shape
    assert len(ys) == 25, "the 5 x 5 marker must survive whole"
    vertical = "top" if ys.max() < h / 2 else "bottom"
    horizontal = "left" if xs.max() < w / 2 else "right"
    return f"{vertical}-{horizontal}"


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation(tmp_path, orientation, big_endian):
    bgr = np.zeros((20, 40, 3), np.uint8)
    bgr[:5, :5] = (0, 0, 255)  # red
    data = _jpeg_with_exif(bgr, orientation, big_endian=big_endian)
    p = tmp_path / "o.jpg"
    p.write_bytes(data)
    y = load_image(p)
    shape, corner = _ORIENTED[orientation]
    assert y.shape == (3, *shape)
    assert _marker_corner(y[0]) == corner  # red stays in R
    assert y[2].max() < 0.3
    assert image_size(p) == (shape[1], shape[0])
    # OpenCV's own EXIF handling (IMREAD_COLOR) agrees.
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_allclose(y, np.moveaxis(reference, -1, 0) / 255, atol=1e-6)


def test_png_exif_orientation(tmp_path):
    rows = [bytes([255] * 5 + [0] * 35) if r < 5 else bytes(40) for r in range(20)]
    data = _png(40, 20, rows, extra=_chunk(b"eXIf", _exif_tiff(6, big_endian=True)))
    (tmp_path / "o.png").write_bytes(data)
    y = load_image(tmp_path / "o.png")
    assert y.shape == (1, 40, 20) and _marker_corner(y[0]) == "top-right"


def test_webp_exif_orientation(tmp_path):
    bgr = np.zeros((20, 40, 3), np.uint8)
    bgr[:5, :5] = 255
    ok, enc = cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 101])
    vp8l = enc.tobytes()[12:]  # the VP8L chunk of a simple-format file

    def riff_chunk(tag, body):
        return tag + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)

    vp8x = bytes([0x08, 0, 0, 0]) + (40 - 1).to_bytes(3, "little") + (20 - 1).to_bytes(3, "little")
    body = b"WEBP" + riff_chunk(b"VP8X", vp8x) + vp8l + riff_chunk(b"EXIF", _exif_tiff(3))
    (tmp_path / "o.webp").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    y = load_image(tmp_path / "o.webp")
    assert y.shape == (3, 20, 40) and _marker_corner(y[1]) == "bottom-right"
    assert image_size(tmp_path / "o.webp") == (40, 20)


@pytest.mark.parametrize("big_endian", [False, True])
def test_tiff_orientation_applied_once(tmp_path, big_endian):
    img = np.zeros((20, 40), np.uint8)
    img[:5, :5] = 255
    p = tmp_path / "o.tif"
    p.write_bytes(_gray_tiff(img, 6, big_endian=big_endian))
    y = load_image(p)
    assert y.shape == (1, 40, 20) and _marker_corner(y[0]) == "top-right"
    assert image_size(p) == (20, 40)


def test_image_size_per_format(tmp_path):
    x = RNG.random((3, 5, 7))
    for name in ("s.png", "s.jpg", "s.bmp", "s.webp", "s.tif", "s.npy"):
        (p,) = save_image(tmp_path / name, x)
        assert image_size(p) == (7, 5), name
    (p,) = save_image(tmp_path / "a.webp", np.concatenate([x, np.ones((1, 5, 7))]))
    assert image_size(p) == (7, 5)
    ok, enc = cv2.imencode(".webp", np.zeros((5, 7, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 80])
    assert enc.tobytes()[12:16] == b"VP8 "  # lossy
    (tmp_path / "lossy.webp").write_bytes(enc.tobytes())
    assert image_size(tmp_path / "lossy.webp") == (7, 5)
    with pytest.raises(ImageIOError, match="no such file"):
        image_size(tmp_path / "absent.png")


# --------------------------------------------------------------------------------------------
# Gray PNG with tRNS (hand-built)
# --------------------------------------------------------------------------------------------


def test_gray_png_with_trns(tmp_path):
    data = _png(3, 2, [bytes([7, 8, 9]), bytes([9, 7, 8])], extra=_chunk(b"tRNS", struct.pack(">H", 7)))
    (tmp_path / "t.png").write_bytes(data)
    plain = load_image(tmp_path / "t.png")
    np.testing.assert_allclose(plain, [[[7, 8, 9], [9, 7, 8]]] / np.float32(255), atol=1e-7)
    rgba = load_image(tmp_path / "t.png", keep_alpha=True)
    assert rgba.shape == (4, 2, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgba[c], plain[0])
    np.testing.assert_array_equal(rgba[3], [[0, 1, 1], [1, 0, 1]])


def test_two_bit_gray_png_with_trns(tmp_path):
    # Samples 0, 1, 2, 3 packed in one byte; sample value 2 is transparent.
    data = _png(4, 1, [bytes([0b00011011])], bit_depth=2, extra=_chunk(b"tRNS", struct.pack(">H", 2)))
    (tmp_path / "t2.png").write_bytes(data)
    np.testing.assert_allclose(load_image(tmp_path / "t2.png")[0, 0], [0, 1 / 3, 2 / 3, 1], atol=1e-6)
    np.testing.assert_array_equal(load_image(tmp_path / "t2.png", keep_alpha=True)[3, 0], [1, 1, 0, 1])


# --------------------------------------------------------------------------------------------
# Public conformance data
# --------------------------------------------------------------------------------------------


def _pngsuite(testdata: Path) -> list[Path]:
    files = sorted((testdata / "pngsuite").glob("*.png"))
    assert len(files) >= 40
    return files


def test_pngsuite_all_load_with_right_channels(testdata):
    for path in _pngsuite(testdata):
        colour = int(re.search(r"n(\d)[a-z]\d\d$", path.stem).group(1))
        has_trns = b"tRNS" in _png_chunk_types(path)
        plain = load_image(path)
        rgba = load_image(path, keep_alpha=True)
        gray = colour in (0, 4)
        assert plain.shape == ((1 if gray else 3), 32, 32), path.name
        expected_alpha = colour in (4, 6) or has_trns
        assert rgba.shape[0] == (4 if expected_alpha else plain.shape[0]), path.name
        for y in (plain, rgba):
            assert y.dtype == np.float32 and np.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
        if expected_alpha:
            np.testing.assert_array_equal(rgba[:3], np.broadcast_to(plain, (3, 32, 32)) if gray else plain)


@pytest.mark.parametrize("name", ["basn0g01", "basn0g02", "basn0g04", "basn0g08", "basn0g16",
                                  "basn2c08", "basn2c16", "basn4a08", "basn4a16", "basn6a08", "basn6a16"])
def test_pngsuite_values_match_a_reference_decoder(testdata, name):
    path = testdata / "pngsuite" / f"{name}.png"
    depth = int(name[-2:])
    raw = _reference_png_samples(path) / ((1 << depth) - 1)  # (H, W, channels), R G B A order
    y = load_image(path, keep_alpha=True)
    if raw.shape[2] == 2:  # gray + alpha
        raw = raw[:, :, [0, 0, 0, 1]]
    np.testing.assert_allclose(np.moveaxis(y, 0, -1), raw, rtol=1e-6, atol=0)


def test_pngsuite_palette_and_gray_trns(testdata):
    suite = testdata / "pngsuite"
    assert load_image(suite / "basn3p08.png").shape == (3, 32, 32)
    assert load_image(suite / "basn3p08.png", keep_alpha=True).shape == (3, 32, 32)
    for name in ("ftbbn0g04", "ftbwn0g16"):  # 4-bit and 16-bit gray with a transparent value
        path = suite / f"{name}.png"
        data = path.read_bytes()
        at = data.index(b"tRNS")
        (transparent,) = struct.unpack(">H", data[at + 4:at + 6])
        raw = _reference_png_samples(path)[:, :, 0]
        alpha = load_image(path, keep_alpha=True)[3]
        np.testing.assert_array_equal(alpha, (raw != transparent).astype(np.float32))
        assert 0 < alpha.sum() < alpha.size


def test_pngsuite_interlaced_equal_their_twins(testdata):
    pairs = 0
    for path in _pngsuite(testdata):
        twin = path.with_name(path.name[1:])
        if path.name.startswith("i") and twin.exists():
            pairs += 1
            for keep in (False, True):
                np.testing.assert_array_equal(load_image(path, keep_alpha=keep), load_image(twin, keep_alpha=keep))
    assert pairs >= 15


def test_png_crashers_refused_cleanly(testdata, monkeypatch):
    files = sorted((testdata / "png-crashers").glob("*.png"))
    assert files
    for path in files:
        try:
            y = load_image(path)
        except ImageIOError as exc:
            message = str(exc)
            assert path.name in message and "\n" not in message
        else:
            assert y.dtype == np.float32 and y.ndim == 3 and np.isfinite(y).all()
    # The huge-chunk files are refused from their structure alone: libpng is never reached
    # (OpenCV would allocate about 1 GB for huge_IDAT.png).
    monkeypatch.setattr(imageio.cv2, "imdecode", _no_decoding)
    for path in files:
        if path.name.startswith("huge_"):
            with pytest.raises(ImageIOError, match="truncated or corrupt"):
                load_image(path)


@pytest.mark.perf
def test_png_crashers_and_bombs_are_refused_at_once(testdata, tmp_path):
    """Wall clock: a hostile PNG costs well under a second (run with -m perf)."""
    (tmp_path / "bomb.png").write_bytes(_png(100000, 100000, [b"\x00" * 10]))
    for path in [tmp_path / "bomb.png"] + sorted((testdata / "png-crashers").glob("*.png")):
        start = time.perf_counter()
        try:
            load_image(path)
        except ImageIOError:
            pass
        assert time.perf_counter() - start < 1.0, path.name
