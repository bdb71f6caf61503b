"""One rule for channels, whatever the way in or out: a pasted image gets the channels the same
file gets when opened, and the window's export writes images and feature maps as the command line
does (the rule itself: convstudio.core.channels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import settle
from PySide6.QtGui import QColor, QGuiApplication, QImage

from convstudio.app.dialogs.export import ExportOptions
from convstudio.app.window.main_window import qimage_to_array
from convstudio.core import Conv2d, Pipeline, load_image


def rgba_qimage() -> QImage:
    img = QImage(7, 5, QImage.Format.Format_ARGB32)  # straight (not premultiplied) alpha
    rng = np.random.default_rng(2)
    for y in range(5):
        for x in range(7):
            r, g, b, a = (int(v) for v in rng.integers(0, 256, 4))
            img.setPixelColor(x, y, QColor(r, g, b, a))
    img.setPixelColor(0, 0, QColor(255, 0, 0, 0))  # a transparent pixel keeps its colour
    return img


def test_qimage_with_alpha_follows_the_file_rule(tmp_path):
    img = rgba_qimage()
    assert img.save(str(tmp_path / "a.png"))
    from_file = load_image(tmp_path / "a.png")
    assert from_file.shape == (3, 5, 7)
    np.testing.assert_array_equal(qimage_to_array(img), from_file)  # alpha dropped, not composited
    kept = load_image(tmp_path / "a.png", keep_alpha=True)
    np.testing.assert_array_equal(qimage_to_array(img, keep_alpha=True), kept)
    # a gray + alpha PNG (colour type 4), which Qt reads as 32-bit RGBA: one channel, as the file
    gray = np.random.default_rng(3).integers(0, 256, (3, 4, 2)).astype(np.uint8)
    write_gray_alpha_png(tmp_path / "ga.png", gray)
    from_qt = QImage(str(tmp_path / "ga.png"))
    assert from_qt.hasAlphaChannel()
    np.testing.assert_array_equal(qimage_to_array(from_qt), load_image(tmp_path / "ga.png"))
    assert qimage_to_array(from_qt).shape == (1, 3, 4)
    np.testing.assert_array_equal(qimage_to_array(from_qt, keep_alpha=True),
                                  load_image(tmp_path / "ga.png", keep_alpha=True))


def write_gray_alpha_png(path: Path, ga: np.ndarray) -> None:
    """A minimal 8-bit gray + alpha PNG of `ga` (H, W, 2)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w, _ = ga.shape
    raw = b"".join(b"\x00" + ga[y].tobytes() for y in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 4, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_paste_rgba_gives_the_channels_of_the_opened_file(qtbot, make_window, tmp_path):
    w = make_window(first_launch=False)
    img = rgba_qimage()
    assert img.save(str(tmp_path / "a.png"))
    QGuiApplication.clipboard().setImage(img)
    assert w.paste_image()
    settle(w)
    assert w.doc.image_shape == (3, 5, 7)
    np.testing.assert_array_equal(w.doc.image, load_image(tmp_path / "a.png"))
    assert w.open_image(tmp_path / "a.png")
    assert w.doc.image_shape == (3, 5, 7)
    # with "keep alpha" on, both give R, G, B, A
    w.doc.set_keep_alpha(True)
    assert w.doc.image_shape == (4, 5, 7)  # the file was read again
    QGuiApplication.clipboard().setImage(img)
    assert w.paste_image()
    settle(w)
    np.testing.assert_array_equal(w.doc.image, load_image(tmp_path / "a.png", keep_alpha=True))


def test_a_paste_is_converted_off_the_gui_thread_and_the_newest_image_wins(qtbot, make_window,
                                                                          tmp_path, monkeypatch):
    """The menu's paste returns at once; the pixels become float32 on the image loader's thread
    (held here until the test lets it go) while the window keeps running; a file opened
    meanwhile wins over the paste, as a newer file wins over an older one."""
    import threading

    from convstudio.app.window import files

    gate, threads = threading.Event(), []
    real = files.qimage_to_array

    def slow(img, **kw):
        threads.append(threading.current_thread())
        gate.wait(10)
        return real(img, **kw)

    monkeypatch.setattr(files, "qimage_to_array", slow)
    w = make_window(first_launch=False)
    img = rgba_qimage()
    QGuiApplication.clipboard().setImage(img)
    w.actions_by_name["paste_image"].trigger()
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=3000)
    assert threads[0] is not threading.main_thread()
    assert w.doc.image is None and "pasted image" in w.busy_label.text()
    gate.set()
    qtbot.waitUntil(lambda: w.doc.image is not None, timeout=3000)
    settle(w)
    np.testing.assert_array_equal(w.doc.image, real(img))
    assert w.doc.image_name == "pasted image" and w.doc.image_path is None
    assert w.busy_label.text() == "" and "Pasted a 7×5 image (3 channels)" in w.message_label.text()

    # a paste, then a file opened before the paste's pixels are ready: the file stays
    gate.clear()
    assert img.save(str(tmp_path / "a.png"))
    other = QImage(9, 4, QImage.Format.Format_RGB888)
    other.fill(QColor(0, 0, 255))
    QGuiApplication.clipboard().setImage(other)
    assert w.paste_image(wait=False)
    qtbot.waitUntil(lambda: len(threads) == 2, timeout=3000)
    w.open_image(tmp_path / "a.png", wait=False)
    gate.set()
    assert w.wait_for_loads()
    settle(w)
    assert w.doc.image_path is not None and Path(w.doc.image_path).name == "a.png"
    np.testing.assert_array_equal(w.doc.image, load_image(tmp_path / "a.png"))


def test_window_export_names_the_folder(qtbot, make_window, tmp_path):
    w = make_window(first_launch=False)
    x = np.random.default_rng(5).random((3, 12, 14), dtype=np.float32)
    w.doc.set_image_array(x, "x")
    mix = np.random.default_rng(6).uniform(-1, 1, (4, 3, 1, 1)).astype(np.float32)
    w.doc.new_pipeline(Pipeline((Conv2d(weight=mix),)))
    settle(w)
    out = tmp_path / "exports" / "maps.png"
    out.parent.mkdir()
    paths = w.export_layer(ExportOptions(layer=1, path=out))
    assert [p.name for p in paths] == [f"maps_c{c:02d}.png" for c in range(4)]
    text = w.message_label.text()
    assert str(out.parent.resolve()) in text and "4 files" in text


def test_the_keep_alpha_box_reads_the_file_again_in_the_background(qtbot, make_window, tmp_path):
    w = make_window(first_launch=False)
    img = rgba_qimage()
    assert img.save(str(tmp_path / "a.png"))
    assert w.open_image(tmp_path / "a.png")
    settle(w)
    assert w.doc.image_shape == (3, 5, 7)
    w.doc.select(0)
    box = w.params_editor.widgets["keep_alpha"]
    box.setChecked(True)  # returns at once: the file is read on the image loader
    assert w.doc.keep_alpha and w.view_state.loading == tmp_path / "a.png"
    assert w.wait_for_loads()
    settle(w)
    assert w.doc.image_shape == (4, 5, 7)
    np.testing.assert_array_equal(w.doc.image, load_image(tmp_path / "a.png", keep_alpha=True))
    box.setChecked(False)
    assert w.wait_for_loads()
    assert w.doc.image_shape == (3, 5, 7) and not w.doc.keep_alpha
