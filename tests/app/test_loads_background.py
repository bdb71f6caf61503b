"""Two image reads that used to hold the GUI thread now run on workers: the learner's target file
(``panels/learner.py``) and the image of a crashed session being restored
(``model/autosave_restore.py``). Each read is shown to run off the GUI thread and to give exactly
what ``load_image`` gives; a newer choice wins over a read still going; an unreadable file says
why and leaves what was there; and what a restore does after its image waits for the image."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from convstudio.app.model.autosave_store import (
    CLAIM_FILE,
    DAMAGED_DIR,
    MARKER_FILE,
    SESSION_FILE,
    find_crashed_sessions,
)
from convstudio.app.panels.learner import FILE_TARGET, KernelLearner
from convstudio.core import Conv2d, ConvStudioError, MaxPool2d, Pipeline, ReLU, imageio
from convstudio.core.imagesave import save_image

REPO = Path(__file__).resolve().parents[2]
CRASHERS = REPO / "tests" / "data" / "png-crashers"
MAIN = threading.main_thread().name


class GatedLoads:
    """Replaces ``imageio.load_image``: records the thread of every read (by file name) and holds
    the reads of the `gated` files until :meth:`open` (at most 10 s, so that a failing test
    cannot hang)."""

    def __init__(self, monkeypatch, *gated: Path) -> None:
        self.gated = {Path(p) for p in gated}
        self.reads: list[tuple[str, str]] = []  # (file name, thread name), as each read starts
        self.finished: list[str] = []  # file names, as each read ends
        self.entered = threading.Event()
        self.gate = threading.Event()
        real = imageio.load_image

        def load(path, *args, **kwargs):
            self.reads.append((Path(path).name, threading.current_thread().name))
            try:
                if Path(path) in self.gated:
                    self.entered.set()
                    self.gate.wait(10)
                return real(path, *args, **kwargs)
            finally:
                self.finished.append(Path(path).name)

        monkeypatch.setattr(imageio, "load_image", load)

    def open(self) -> None:
        self.gate.set()

    def threads_of(self, name: str) -> list[str]:
        return [thread for file, thread in self.reads if file == name]


@pytest.fixture
def gated(monkeypatch):
    """``gated(*files)``: a :class:`GatedLoads`; its gate opens when the test ends, whatever
    happened (a worker still waiting must end before its window goes)."""
    made: list[GatedLoads] = []

    def make(*files: Path) -> GatedLoads:
        g = GatedLoads(monkeypatch, *files)
        made.append(g)
        return g

    yield make
    for g in made:
        g.open()


def photo(path: Path, seed: int = 0, shape=(3, 40, 56)) -> Path:
    save_image(path, np.random.default_rng(seed).random(shape, dtype=np.float32))
    return path


def too_large_png(path: Path) -> Path:
    """A PNG whose header claims 100000 x 100000 pixels (refused before any decoding)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
                     + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 64)
    return path


def refusal(path: Path, **kw) -> str:
    """What load_image says about `path` (it must refuse it)."""
    with pytest.raises(ConvStudioError) as info:
        imageio.load_image(path, **kw)
    return str(info.value)


# ================================================================== the learner's target file


def step_image() -> np.ndarray:
    x = np.ones((1, 6, 8), np.float32)
    x[:, :, 2:6] = 0
    return x


SECOND = Conv2d(kernel=[[0.5], [0.5]])


@pytest.fixture
def learner(make_window):
    w = make_window(first_launch=False)
    w.doc.set_image_array(step_image(), name="steps")
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=[[0.3, 0.7]]), SECOND)))
    w.doc.select(1)
    w.learner.action.trigger()
    dialog = w.learner.dialog
    assert isinstance(dialog, KernelLearner) and dialog.isVisible()
    return w, dialog


def edge_target(path: Path) -> Path:
    """A target file of the last output's shape: the pipeline's output with [1, -1] learned."""
    np.save(path, Pipeline((Conv2d(kernel=[[1, -1]]), SECOND)).run(step_image())[-1])
    return path


def test_the_target_is_read_off_the_gui_thread_and_is_load_image_s(learner, gated, tmp_path):
    w, dialog = learner
    path = photo(tmp_path / "target.png")
    loads = gated()
    assert dialog.load_target_file(path, wait=True)
    assert loads.threads_of("target.png") and MAIN not in loads.threads_of("target.png")
    expected = imageio.load_image(path, keep_alpha=w.doc.keep_alpha)
    assert dialog.file_target.dtype == np.float32 and np.array_equal(dialog.file_target, expected)
    assert dialog.target_combo.currentData() == FILE_TARGET
    assert dialog.file_label.text() == "target.png: 3 x 40 x 56" and dialog.target_loading is None


def test_while_the_target_is_read_the_panel_says_so_and_start_waits(learner, gated, tmp_path, qtbot):
    w, dialog = learner
    path = edge_target(tmp_path / "edge.npy")
    loads = gated(path)
    dialog.steps_spin.setValue(40)
    dialog.momentum_spin.setValue(0.0)
    assert dialog.load_target_file(path)  # returns at once
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert dialog.target_loading == path
    assert dialog.file_label.isVisible() and dialog.file_label.text() == "loading edge.npy…"
    assert not dialog.start_button.isEnabled() and not dialog.step_button.isEnabled()
    assert not dialog.start() and not dialog.step() and not dialog.running
    assert "still being read" in dialog.status_label.text()
    # the window goes on meanwhile: a timer fires, an edit is rendered
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=1000)
    with qtbot.waitSignal(w.renderer.finished, timeout=10_000):
        w.doc.set_image_array(step_image(), name="steps again")
    assert dialog.target_loading == path and dialog.file_target is None
    assert w.busy  # the window's wait_idle waits for the target too
    loads.open()
    assert w.wait_idle() and dialog.target_loading is None
    assert np.array_equal(dialog.file_target, imageio.load_image(path))
    assert dialog.start_button.isEnabled() and dialog.step_button.isEnabled()
    assert dialog.file_label.text() == "edge.npy: 1 x 5 x 7"
    # now Start learns against it
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
    assert len(dialog.losses) == 40 and dialog.losses[-1] < dialog.losses[0]


def test_a_running_descent_can_still_be_paused_while_a_target_is_read(learner, gated, tmp_path, qtbot):
    w, dialog = learner
    path = edge_target(tmp_path / "edge.npy")
    loads = gated(path)
    dialog.lr_auto.setChecked(False)
    dialog.lr_spin.setValue(1e-4)
    dialog.steps_spin.setValue(1_000_000)
    assert dialog.start()
    dialog.load_target_file(path)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert dialog.running and dialog.start_button.isEnabled()  # it says Pause
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert not dialog.start_button.isEnabled()  # Start waits for the target
    loads.open()
    assert dialog.wait_for_target() and dialog.start_button.isEnabled()


def test_a_newer_target_wins_and_an_older_read_is_dropped(learner, gated, tmp_path, qtbot):
    w, dialog = learner
    old, new = photo(tmp_path / "old.png", 1), photo(tmp_path / "new.png", 2, (1, 24, 30))
    loads = gated(old)
    dialog.load_target_file(old)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    dialog.load_target_file(new)  # asked for while the old one is still being read
    assert dialog.file_label.text() == "loading new.png…"
    seen = []
    dialog.target_loader.done.connect(lambda _t, result: seen.append(result[0].name))
    loads.open()
    assert dialog.wait_for_target()
    qtbot.waitUntil(lambda: "old.png" in loads.finished, timeout=3000)
    qtbot.wait(100)  # the older read ended: its result must never arrive
    assert seen == ["new.png"]
    assert np.array_equal(dialog.file_target, imageio.load_image(new))
    assert dialog.file_label.text() == "new.png: 1 x 24 x 30"


def test_choosing_another_target_drops_the_file_being_read(learner, gated, tmp_path, qtbot):
    w, dialog = learner
    path = photo(tmp_path / "late.png")
    loads = gated(path)
    dialog.target_combo.setCurrentIndex(dialog.target_combo.findData(FILE_TARGET))  # then Load...
    dialog.load_target_file(path)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    dialog.target_combo.setCurrentIndex(dialog.target_combo.findData("edge"))  # the newer choice
    assert dialog.target_loading is None and dialog.start_button.isEnabled()
    assert not dialog.file_label.isVisible()
    loads.open()
    qtbot.waitUntil(lambda: "late.png" in loads.finished, timeout=3000)
    qtbot.wait(100)
    assert dialog.file_target is None and dialog.target_combo.currentData() == "edge"


@pytest.mark.parametrize("kind", ["bad CRC", "truncated IDAT", "garbage", "too large"])
def test_an_unreadable_target_says_why_and_keeps_the_previous_one(learner, gated, tmp_path, kind):
    w, dialog = learner
    good = edge_target(tmp_path / "good.npy")
    if kind == "bad CRC":
        bad = CRASHERS / "badcrc.png"
    elif kind == "truncated IDAT":
        bad = CRASHERS / "huge_IDAT.png"
    elif kind == "garbage":
        bad = tmp_path / "garbage.png"
        bad.write_bytes(np.random.default_rng(3).bytes(2000))
    else:
        bad = too_large_png(tmp_path / "huge.png")
    why = refusal(bad, keep_alpha=w.doc.keep_alpha)
    loads = gated()
    assert dialog.load_target_file(good, wait=True)
    before = dialog.file_target
    assert not dialog.load_target_file(bad, wait=True)
    assert MAIN not in loads.threads_of(bad.name)
    assert dialog.status_label.text() == why  # as before: load_image's own sentence
    assert dialog.file_target is before and np.array_equal(before, imageio.load_image(good))
    assert dialog.file_label.text() == "good.npy: 1 x 5 x 7"
    assert dialog.target_combo.currentData() == FILE_TARGET and dialog.start_button.isEnabled()


def test_a_target_of_another_size_is_refused_at_start_as_before(learner, gated, tmp_path, qtbot):
    w, dialog = learner
    path = tmp_path / "wrong.npy"
    np.save(path, np.zeros((1, 6, 8), np.float32))
    assert dialog.load_target_file(path, wait=True)  # any readable file is taken
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert "target is 1 x 6 x 8" in dialog.status_label.text() and not dialog.losses


# ================================================================== restoring a crashed session

PIPELINE = Pipeline((ReLU(), MaxPool2d(kernel_size=(2, 2))))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def crashed(state: Path, name: str, record: dict, *, array: np.ndarray | bytes | None = None) -> Path:
    """A crashed session's folder as the app leaves it: `record` is its image record; `array`
    (or raw bytes) is written as image-1.npy."""
    pid = _dead_pid()
    folder = state / f"session-{pid}-{name}"
    folder.mkdir(parents=True)
    (folder / MARKER_FILE).write_text(json.dumps({"pid": pid}))
    if isinstance(array, bytes):
        (folder / "image-1.npy").write_bytes(array)
    elif array is not None:
        np.save(folder / "image-1.npy", array)
    data = {"format": "convstudio-autosave", "version": 1, "pid": pid, "saved_at": 1_700_000_000.0,
            "pipeline": PIPELINE.to_dict(), "pipeline_file": None, "dirty": True, "selected": 2,
            "image": record}
    (folder / SESSION_FILE).write_text(json.dumps(data))
    return folder


def file_record(path: Path) -> dict:
    return {"kind": "file", "path": str(path), "name": path.name}


ARRAY_RECORD = {"kind": "array", "file": "image-1.npy", "name": "generated"}


def restoring_window(autosaved_window, state: Path):
    w, saver = autosaved_window(state, name="restore.ini")
    assert saver.start()
    saver.choose_session = lambda sessions, notes=(): sessions[0]  # type: ignore[method-assign]
    return w, saver


def record_steps(w, saver, folder: Path) -> list[tuple[str, bool]]:
    """(event, whether the old folder still exists) for each image change, autosave written and
    restore ended, in order."""
    steps: list[tuple[str, bool]] = []
    w.doc.imageChanged.connect(lambda: steps.append(("image", folder.exists())))
    saver.saved.connect(lambda _f: steps.append(("saved", folder.exists())))
    saver.restored.connect(lambda ok: steps.append((f"restored {ok}", folder.exists())))
    return steps


def test_a_restored_file_image_is_read_off_the_gui_thread(autosaved_window, gated, tmp_path, qtbot):
    state = tmp_path / "state"
    path = photo(tmp_path / "photo.png", 4)
    folder = crashed(state, "file", file_record(path))
    loads = gated(path)
    w, saver = restoring_window(autosaved_window, state)
    loading = []
    w.view_state.loadingChanged.connect(loading.append)
    steps = record_steps(w, saver, folder)
    assert saver.offer_restore()
    # at once: the pipeline and the selected layer; the image is still being read
    assert w.doc.pipeline == PIPELINE and w.doc.selected == 2 and w.doc.dirty
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert w.doc.image is None and w.view_state.loading == path and saver.restoring is not None
    assert folder.exists() and (folder / CLAIM_FILE).exists()  # still claimed: not offered twice
    assert w.busy  # the window's wait_idle waits for the restore too
    loads.open()
    assert w.wait_idle() and saver.restoring is None
    assert loads.threads_of("photo.png") and MAIN not in loads.threads_of("photo.png")
    assert w.doc.image.dtype == np.float32 and np.array_equal(w.doc.image, imageio.load_image(path))
    assert w.doc.image_path == path and w.doc.image_name == "photo.png"
    assert loading == [path, None] and w.view_state.loading is None
    # after the image, in order: the new session saved with it, the old folder gone, the message
    i = steps.index(("image", True))
    assert steps[i + 1:] == [("saved", True), ("restored True", False)], steps
    assert json.loads((saver.folder / SESSION_FILE).read_text())["image"]["path"] == str(path.resolve())
    assert not folder.exists() and w.message_label.text() == "Restored the autosaved session"
    assert w.doc.pipeline == PIPELINE and w.doc.selected == 2 and not w.errors


def test_an_autosaved_array_is_read_off_the_gui_thread(autosaved_window, gated, tmp_path, qtbot):
    state = tmp_path / "state"
    image = np.random.default_rng(5).random((2, 30, 20), dtype=np.float32)
    folder = crashed(state, "array", ARRAY_RECORD, array=image)
    expected = imageio.load_image(folder / "image-1.npy")
    loads = gated(folder / "image-1.npy")
    w, saver = restoring_window(autosaved_window, state)
    steps = record_steps(w, saver, folder)
    assert saver.offer_restore()
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert w.doc.pipeline == PIPELINE and w.doc.image is None and w.view_state.loading == Path("generated")
    loads.open()
    assert saver.wait_restored()
    assert MAIN not in loads.threads_of("image-1.npy")
    assert w.doc.image.dtype == np.float32 and np.array_equal(w.doc.image, expected)
    assert np.array_equal(w.doc.image, image) and w.doc.image_name == "generated"
    assert w.doc.image_path is None
    i = steps.index(("image", True))
    assert steps[i + 1:] == [("saved", True), ("restored True", False)], steps
    saved = json.loads((saver.folder / SESSION_FILE).read_text())["image"]
    assert saved["kind"] == "array" and np.array_equal(np.load(saver.folder / saved["file"]), image)


@pytest.mark.parametrize("kind", ["missing", "corrupt png"])
def test_an_unreadable_file_image_keeps_the_restored_pipeline(autosaved_window, gated, tmp_path, kind):
    state = tmp_path / "state"
    path = tmp_path / "gone.png" if kind == "missing" else CRASHERS / "badadler.png"
    why = refusal(path)
    folder = crashed(state, "bad", file_record(path))
    w, saver = restoring_window(autosaved_window, state)
    before = np.full((1, 8, 8), 0.25, np.float32)
    w.doc.set_image_array(before, "before")
    loads = gated()
    assert saver.offer_restore()
    assert saver.wait_restored()
    assert MAIN not in loads.threads_of(path.name)
    assert w.doc.pipeline == PIPELINE and w.doc.selected == 2 and w.doc.dirty
    assert np.array_equal(w.doc.image, before) and w.doc.image_name == "before"  # left as it was
    text = w.message_label.text()
    assert text.startswith("Restored the autosaved session: ")
    assert f"the image could not be opened again ({why})" in text
    assert w.view_state.loading is None
    assert not folder.exists()  # the file was never in it: nothing to keep


def test_an_unreadable_autosaved_array_keeps_the_pipeline_and_the_folder(autosaved_window, tmp_path):
    state = tmp_path / "state"
    folder = crashed(state, "bad", ARRAY_RECORD, array=b"\x93NUMPY damaged")
    why = refusal(folder / "image-1.npy")
    w, saver = restoring_window(autosaved_window, state)
    assert saver.offer_restore()
    assert saver.wait_restored()
    assert w.doc.pipeline == PIPELINE and w.doc.image is None
    text = w.message_label.text()
    assert f"the autosaved image is unreadable ({why})" in text
    kept = sorted((state / DAMAGED_DIR).iterdir())
    assert not folder.exists() and len(kept) == 1 and str(kept[0]) in text  # its only copy is kept
    assert (kept[0] / "image-1.npy").read_bytes() == b"\x93NUMPY damaged"


def test_an_image_opened_meanwhile_wins_over_the_restored_one(autosaved_window, gated, tmp_path, qtbot):
    state = tmp_path / "state"
    image = np.random.default_rng(6).random((1, 12, 16), dtype=np.float32)
    folder = crashed(state, "array", ARRAY_RECORD, array=image)
    newer = photo(tmp_path / "newer.png", 7)
    loads = gated(folder / "image-1.npy")
    w, saver = restoring_window(autosaved_window, state)
    assert saver.offer_restore()
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    ended = []
    saver.restored.connect(ended.append)
    assert w.open_image(newer, wait=False)  # File ▸ Open image while the restore reads
    qtbot.waitUntil(lambda: w.doc.image_path == newer, timeout=5000)
    assert saver.wait_restored() and ended == [False]  # the restore ended without its image
    loads.open()
    qtbot.waitUntil(lambda: "image-1.npy" in loads.finished, timeout=3000)
    qtbot.wait(100)  # the restore's read ended too: it must not replace the newer image
    assert w.doc.image_path == newer and np.array_equal(w.doc.image, imageio.load_image(newer))
    assert w.doc.pipeline == PIPELINE
    text = w.message_label.text()
    assert "another image was opened before the autosaved one arrived" in text
    kept = sorted((state / DAMAGED_DIR).iterdir())
    assert not folder.exists() and len(kept) == 1 and np.array_equal(np.load(kept[0] / "image-1.npy"), image)


def test_quitting_while_the_image_is_read_keeps_the_session_for_next_time(autosaved_window, gated,
                                                                          tmp_path, qtbot):
    state = tmp_path / "state"
    path = photo(tmp_path / "photo.png", 8)
    folder = crashed(state, "file", file_record(path))
    loads = gated(path)
    w, saver = restoring_window(autosaved_window, state)
    assert saver.offer_restore()
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    threading.Timer(0.2, loads.open).start()  # (the read ends by itself a moment later)
    saver.finish()  # a clean quit before the image arrived
    assert saver.restoring is None and folder.exists() and not (folder / CLAIM_FILE).exists()
    assert [s.folder for s in find_crashed_sessions(state)] == [folder]  # offered again
