"""The recovery dialog through the real widget (offscreen): every crashed session newest first
with its thumbnail, restoring one, discarding one after the real confirmation (its folder goes),
and closing (nothing goes); then the whole path from a start to a restored window."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from convstudio.app.dialogs.restore import THUMBNAIL_SIZE, RestoreDialog
from convstudio.app.model.autosave import AutoSaver
from convstudio.app.model.autosave_store import (
    MARKER_FILE,
    SESSION_FILE,
    discard,
    find_crashed_sessions,
)
from convstudio.core import MaxPool2d, Pipeline, ReLU
from convstudio.core.imagesave import save_image

T0 = 1_700_000_000.0
RED, GREEN, BLUE, WHITE = (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def quadrants(h: int, w: int, colours) -> np.ndarray:
    """A (3, h, w) image whose four quadrants have the given RGB colours (TL, TR, BL, BR)."""
    x = np.zeros((3, h, w), np.float32)
    tl, tr, bl, br = (np.array(c, np.float32)[:, None, None] for c in colours)
    x[:, :h // 2, :w // 2] = tl
    x[:, :h // 2, w // 2:] = tr
    x[:, h // 2:, :w // 2] = bl
    x[:, h // 2:, w // 2:] = br
    return x


def crashed(root: Path, name: str, saved_at: float, image: np.ndarray | None,
            pipeline: Pipeline, *, image_file: Path | None = None) -> Path:
    """A crashed session's folder as the app leaves it (docs/user-guide.md, "Nothing is lost")."""
    pid = _dead_pid()
    folder = root / f"session-{pid}-{name}"
    folder.mkdir(parents=True)
    (folder / MARKER_FILE).write_text(json.dumps({"pid": pid}))
    if image_file is not None:
        record = {"kind": "file", "path": str(image_file), "name": image_file.name}
    else:
        np.save(folder / "image-1.npy", image)
        record = {"kind": "array", "file": "image-1.npy", "name": name}
    data = {"format": "convstudio-autosave", "version": 1, "pid": pid, "saved_at": saved_at,
            "pipeline": pipeline.to_dict(), "pipeline_file": None, "dirty": True, "selected": 1,
            "image": record}
    (folder / SESSION_FILE).write_text(json.dumps(data))
    return folder


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def three(tmp_path):
    """Three crashed sessions, written oldest, newest, middle; one image comes from a PNG file."""
    state = tmp_path / "state"
    png = tmp_path / "photo.png"
    save_image(png, quadrants(120, 200, (BLUE, WHITE, RED, GREEN)))
    pool = Pipeline((ReLU(), MaxPool2d(kernel_size=(2, 2))))
    folders = {
        "old": crashed(state, "old", T0, quadrants(120, 200, (RED, GREEN, BLUE, WHITE)), pool),
        "new": crashed(state, "new", T0 + 60, quadrants(40, 30, (WHITE, BLUE, GREEN, RED)),
                       Pipeline((ReLU(),))),
        "mid": crashed(state, "mid", T0 + 30, None, pool, image_file=png),
    }
    return state, folders


@pytest.fixture
def open_dialog(qtbot):
    dialogs = []

    def make(state: Path) -> RestoreDialog:
        d = RestoreDialog(find_crashed_sessions(state), discard=lambda s: discard(s.folder))
        qtbot.addWidget(d)
        dialogs.append(d)
        d.show()
        qtbot.waitUntil(lambda: len(d.previews) == len(d.sessions), timeout=10_000)
        return d

    yield make
    for d in dialogs:
        d.shutdown()


def icon_image(dialog: RestoreDialog, row: int):
    icon = dialog.list.item(row).icon()
    return icon.pixmap(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE)).toImage()


def rgb_at(image, fx: float, fy: float) -> tuple[int, int, int]:
    c = image.pixelColor(int(fx * image.width()), int(fy * image.height()))
    return c.red(), c.green(), c.blue()


def test_every_session_newest_first_with_thumbnail_time_and_summary(three, open_dialog):
    state, f = three
    d = open_dialog(state)
    assert [s.folder for s in d.shown_sessions()] == [f["new"], f["mid"], f["old"]]
    texts = [d.list.item(r).text() for r in range(d.list.count())]
    for text, saved_at in zip(texts, (T0 + 60, T0 + 30, T0)):
        assert text.startswith("Saved " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(saved_at)))
    # the pipeline's summary: layer count and types, the output shape on that image
    assert "1 layer (relu)" in texts[0] and "output 3 × 40 × 30" in texts[0]
    assert "2 layers (relu, maxpool2d)" in texts[2] and "output 3 × 60 × 100" in texts[2]
    assert "output 3 × 60 × 100" in texts[1] and "photo.png" in texts[1]

    # thumbnails: each quadrant's colour at its centre, the longer side THUMBNAIL_SIZE
    expected = {0: (WHITE, BLUE, GREEN, RED), 1: (BLUE, WHITE, RED, GREEN), 2: (RED, GREEN, BLUE, WHITE)}
    for row, colours in expected.items():
        img = icon_image(d, row)
        if row == 0:
            assert (img.width(), img.height()) == (30, 40)  # small images are not enlarged
        else:
            assert max(img.width(), img.height()) == THUMBNAIL_SIZE
            assert abs(img.width() / img.height() - 200 / 120) < 0.05
        got = [rgb_at(img, fx, fy) for fy in (0.25, 0.75) for fx in (0.25, 0.75)]
        assert got == [tuple(255 * v for v in c) for c in colours]


def test_restore_one(three, open_dialog, qtbot):
    state, f = three
    before = tree(state)
    d = open_dialog(state)
    d.list.setCurrentRow(1)
    qtbot.mouseClick(d.restore_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Accepted and d.chosen.folder == f["mid"]
    assert tree(state) == before  # the dialog deletes nothing when restoring


def _answer_confirmation(button_text: str, seen: list[str]) -> None:
    """Click `button_text` on the next modal message box, once it shows."""
    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()
    QTimer.singleShot(0, click)


def test_discard_one_after_confirmation(three, open_dialog, qtbot):
    state, f = three
    d = open_dialog(state)
    d.list.setCurrentRow(2)  # the oldest

    # Cancel: nothing goes.
    before = tree(state)
    seen: list[str] = []
    _answer_confirmation("Cancel", seen)
    qtbot.mouseClick(d.discard_button, Qt.MouseButton.LeftButton)
    assert seen == ["Delete this autosaved session? This cannot be undone."]
    assert tree(state) == before and d.list.count() == 3

    _answer_confirmation("Discard", seen)
    qtbot.mouseClick(d.discard_button, Qt.MouseButton.LeftButton)
    assert not f["old"].exists() and f["new"].exists() and f["mid"].exists()
    assert [s.folder for s in d.shown_sessions()] == [f["new"], f["mid"]]
    assert d.isVisible() and d.chosen is None

    # Discarding the rest (two chosen at once) closes the dialog.
    d.list.selectAll()
    _answer_confirmation("Discard", seen)
    qtbot.mouseClick(d.discard_button, Qt.MouseButton.LeftButton)
    assert seen[-1].startswith("Delete these 2 autosaved sessions?")
    assert not f["new"].exists() and not f["mid"].exists()
    assert d.result() == QDialog.DialogCode.Rejected and not d.isVisible()
    assert find_crashed_sessions(state) == []


def test_close_deletes_nothing(three, open_dialog, qtbot):
    state, f = three
    before = tree(state)
    d = open_dialog(state)
    qtbot.mouseClick(d.close_button, Qt.MouseButton.LeftButton)
    assert d.result() == QDialog.DialogCode.Rejected and d.chosen is None
    assert tree(state) == before
    assert [s.folder for s in find_crashed_sessions(state)] == [f["new"], f["mid"], f["old"]]


def test_buttons_follow_the_selection(three, open_dialog):
    state, _ = three
    d = open_dialog(state)
    assert d.restore_button.isEnabled() and d.discard_button.isEnabled()  # the newest is chosen
    d.list.selectAll()
    assert not d.restore_button.isEnabled() and d.discard_button.isEnabled()
    d.list.clearSelection()
    assert not d.restore_button.isEnabled() and not d.discard_button.isEnabled()


def test_from_a_start_to_a_restored_window(three, make_window, qtbot):
    """offer_restore opens the real dialog; the user picks the middle session."""
    state, f = three
    w = make_window(size=None, debounce_ms=1)
    saver = AutoSaver(w, state, delay_ms=30)
    saver.start()
    try:
        def pick():
            d = next((x for x in QApplication.topLevelWidgets()
                      if isinstance(x, RestoreDialog) and x.isVisible()), None)
            if d is None:
                QTimer.singleShot(10, pick)
                return
            d.list.setCurrentRow(1)
            d.restore_button.click()
        QTimer.singleShot(0, pick)
        assert saver.offer_restore()
        assert saver.wait_restored()
        assert w.doc.image_path == f["mid"].parent.parent / "photo.png"
        assert w.doc.pipeline == Pipeline((ReLU(), MaxPool2d(kernel_size=(2, 2)))) and w.doc.selected == 1
        assert not f["mid"].exists() and f["new"].exists() and f["old"].exists()
        assert [s.folder for s in find_crashed_sessions(state)] == [f["new"], f["old"]]
    finally:
        saver.finish()
