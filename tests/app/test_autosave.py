"""Nothing lost: debounced atomic autosave, the marker of a running session, restore offered only
after a crash, a real SIGKILL mid-edit followed by a restore, and quitting with unsaved changes.
Damaged sessions: test_autosave_damaged.py; the recovery dialog: test_autosave_dialog.py."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from convstudio.app.model import autosave
from convstudio.app.model.autosave import (
    ENV_STATE_DIR,
    MARKER_FILE,
    SESSION_FILE,
    AutoSaver,
    find_crashed_sessions,
    pid_alive,
    state_dir,
)
from convstudio.app.model.autosave_store import CLAIM_FILE
from convstudio.core import Pipeline, ReLU
from convstudio.lessons import get_lesson

REPO = Path(__file__).resolve().parents[2]
CAT = REPO / "resources" / "samples" / "cat.png"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _session(folder: Path) -> dict:
    return json.loads((folder / SESSION_FILE).read_text())


# ------------------------------------------------------------------ where


def test_state_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_STATE_DIR, raising=False)
    ini = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert state_dir(ini) == tmp_path.resolve() / "autosave"
    user = state_dir(None)
    assert user.name == "autosave" and user.is_absolute()
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "env"))
    assert state_dir(ini) == tmp_path / "env"


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)
    # the same PID with another start time is another process
    assert not pid_alive(os.getpid(), start="-1")


# ------------------------------------------------------------------ saving


def test_debounced_autosave_writes_atomically(autosaved_window, tmp_path, qtbot, monkeypatch):
    from convstudio.core import imageio

    writes: list[str] = []
    real = imageio.atomic_write_bytes
    monkeypatch.setattr(imageio, "atomic_write_bytes",
                        lambda path, data: (writes.append(Path(path).name), real(path, data))[1])
    state = tmp_path / "state"
    w, saver = autosaved_window(state, delay_ms=150)
    assert saver.start()
    marker = json.loads((saver.folder / MARKER_FILE).read_text())
    assert marker["pid"] == os.getpid() and saver.folder.parent == state
    assert not (saver.folder / SESSION_FILE).exists()  # nothing changed yet, nothing to save

    lesson = get_lesson("edge-detector")
    w.learn.open_lesson(lesson.id, ask=False)
    for _ in range(5):  # a burst of edits: one write, after the last
        w.doc.add_layer(ReLU())
    assert saver.pending() and not (saver.folder / SESSION_FILE).exists()
    with qtbot.waitSignal(saver.saved, timeout=3000):
        pass
    assert writes == ["running.pid", "image-1.npy", "session.json"]
    data = _session(saver.folder)
    assert Pipeline.from_dict(data["pipeline"]) == w.doc.pipeline
    assert data["dirty"] is True and data["selected"] == w.doc.selected == 6
    assert data["image"] == {"kind": "array", "file": "image-1.npy", "name": lesson.title}
    np.testing.assert_array_equal(np.load(saver.folder / "image-1.npy"), lesson.make_image())

    # Only what changed is rewritten: a pipeline edit keeps the image file.
    w.doc.remove_layer(6)
    with qtbot.waitSignal(saver.saved, timeout=3000):
        pass
    assert writes[3:] == ["session.json"]
    # An image from a file is saved by path; the old .npy goes.
    assert w.open_image(CAT)
    with qtbot.waitSignal(saver.saved, timeout=3000):
        pass
    data = _session(saver.folder)
    assert data["image"]["kind"] == "file" and Path(data["image"]["path"]) == CAT.resolve()
    assert sorted(p.name for p in saver.folder.iterdir()) == [MARKER_FILE, SESSION_FILE]


def test_large_generated_images_are_not_copied(autosaved_window, tmp_path, qtbot, monkeypatch):
    monkeypatch.setattr(autosave, "MAX_ARRAY_BYTES", 1000)
    w, saver = autosaved_window(tmp_path / "state")
    saver.start()
    w.doc.set_image_array(np.zeros((1, 100, 100), np.float32), "big")
    with qtbot.waitSignal(saver.saved, timeout=3000):
        pass
    assert _session(saver.folder)["image"] == {"kind": "too-large", "name": "big",
                                               "shape": [1, 100, 100]}


def test_clean_finish_removes_the_marker(autosaved_window, tmp_path, qtbot):
    w, saver = autosaved_window(tmp_path / "state")
    saver.start()
    w.doc.set_image_array(np.ones((1, 4, 4), np.float32), "ones")
    with qtbot.waitSignal(saver.saved, timeout=3000):
        pass
    folder = saver.folder
    assert (folder / MARKER_FILE).exists()
    saver.finish()
    assert not folder.exists() and list((tmp_path / "state").iterdir()) == []
    w.doc.add_layer(ReLU())  # after a clean finish nothing is written any more
    assert not saver.pending()


def test_unwritable_state_dir_is_one_message(autosaved_window, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    w, saver = autosaved_window(blocker / "state")
    assert not saver.start()
    assert "Autosave is off" in w.message_label.text()
    w.doc.add_layer(ReLU())
    assert not saver.pending()


# ------------------------------------------------------------------ restoring


def _crash(saver: AutoSaver) -> Path:
    """Make a live session look like one whose process died."""
    folder = saver.folder
    marker = json.loads((folder / MARKER_FILE).read_text())
    marker["pid"] = _dead_pid()
    (folder / MARKER_FILE).write_text(json.dumps(marker))
    saver.folder = None  # this saver no longer owns it
    return folder


def test_restore_offered_only_after_a_crash(autosaved_window, tmp_path, qtbot):
    state = tmp_path / "state"
    w1, s1 = autosaved_window(state, name="a.ini")
    s1.start()
    w1.doc.set_image_array(np.arange(12, dtype=np.float32).reshape(1, 3, 4), "generated")
    w1.doc.new_pipeline(Pipeline((ReLU(),)))
    with qtbot.waitSignal(s1.saved, timeout=3000):
        pass

    # A second instance while the first runs: nothing to offer, nothing asked.
    w2, s2 = autosaved_window(state, name="b.ini")
    s2.start()
    assert find_crashed_sessions(state) == []
    assert not s2.offer_restore()

    # A clean exit of the first: still nothing.
    s1.finish()
    assert not s2.offer_restore()

    # A crash before the first change leaves nothing worth offering: reading leaves it alone,
    # offering tidies it away.
    w3, s3 = autosaved_window(state, name="c.ini")
    s3.start()
    empty = _crash(s3)
    assert find_crashed_sessions(state) == [] and empty.exists()
    assert not s2.offer_restore() and not empty.exists()


def test_choosing_restores_and_closing_keeps(autosaved_window, tmp_path, qtbot):
    state = tmp_path / "state"
    w1, s1 = autosaved_window(state, name="a.ini")
    s1.start()
    assert w1.open_image(CAT)
    p = Pipeline.load(REPO / "examples" / "tiny-cnn.json")
    saved_file = tmp_path / "cnn.json"
    p.save(saved_file)
    assert w1.open_pipeline(saved_file)
    w1.doc.remove_layer(6)  # unsaved change on a saved pipeline
    w1.doc.select(3)
    with qtbot.waitSignal(s1.saved, timeout=3000):
        pass
    edited = w1.doc.pipeline
    crashed = _crash(s1)

    # Closing the dialog: nothing restored, nothing deleted, and offered again next time.
    w2, s2 = autosaved_window(state, name="b.ini")
    s2.start()
    offered = []
    s2.choose_session = lambda sessions, notes=(): offered.append(list(sessions)) or None  # type: ignore
    before = w2.doc.pipeline
    assert not s2.offer_restore()
    assert [s.folder for s in offered[0]] == [crashed] and crashed.exists()
    assert not (crashed / CLAIM_FILE).exists()  # no longer offered by this instance
    assert w2.doc.pipeline == before and w2.doc.image is None

    w3, s3 = autosaved_window(state, name="c.ini")
    s3.start()
    asked = []
    s3.choose_session = lambda sessions, notes=(): asked.append(sessions[0].describe()) or sessions[0]  # type: ignore
    assert s3.offer_restore()
    assert "cnn.json" in asked[0] and "unsaved changes" in asked[0] and "cat.png" in asked[0]
    d = w3.doc
    assert d.pipeline == edited and d.selected == 3
    assert d.file_path == saved_file.resolve() and d.dirty  # saving goes back to its file
    d.undo_stack.undo()
    assert d.pipeline == p and not d.dirty  # undo gives the saved version
    assert s3.wait_restored()  # the image is read in the background
    assert d.image_path == CAT.resolve()
    np.testing.assert_array_equal(d.image, w1.doc.image)
    assert not crashed.exists()  # restored in full: the new session has its own copy
    assert (s3.folder / SESSION_FILE).exists()
    assert find_crashed_sessions(state) == []


def test_a_missing_image_file_still_restores_the_pipeline(autosaved_window, tmp_path, qtbot):
    import shutil

    state = tmp_path / "state"
    img = tmp_path / "gone.png"
    shutil.copy(CAT, img)
    w1, s1 = autosaved_window(state, name="a.ini")
    s1.start()
    assert w1.open_image(img)
    w1.doc.new_pipeline(Pipeline((ReLU(),)))
    with qtbot.waitSignal(s1.saved, timeout=3000):
        pass
    _crash(s1)
    img.unlink()
    w2, s2 = autosaved_window(state, name="b.ini")
    s2.choose_session = lambda sessions, notes=(): sessions[0]  # type: ignore
    assert s2.offer_restore()
    assert w2.doc.pipeline == Pipeline((ReLU(),)) and not w2.doc.dirty
    assert s2.wait_restored()
    assert "could not be opened" in w2.message_label.text()


# ------------------------------------------------------------------ a real kill

DRIVER = textwrap.dedent('''
    import sys
    from convstudio.app import launch
    from convstudio.app.model import autosave
    autosave.DEFAULT_DELAY_MS = 50
    app = launch._make_app()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from convstudio.core import ReLU

    mode = sys.argv[2]

    def edit():
        w = next((x for x in QApplication.topLevelWidgets()
                  if type(x).__name__ == "MainWindow" and hasattr(x, "autosaver")), None)
        if w is None:
            QTimer.singleShot(10, edit)
            return
        w.confirm_discard = lambda: True
        w.learn.open_lesson("edge-detector", ask=False)
        w.doc.add_layer(ReLU(), 2)  # the unsaved edit
        w.doc.select(1)

        def saved(folder):
            print("SAVED", folder, w.doc.pipeline.to_json().replace("\\n", " "), flush=True)
            if mode == "quit":
                w.actions_by_name["quit"].trigger()
        w.autosaver.saved.connect(saved)

    QTimer.singleShot(0, edit)
    if mode == "term":  # as a user starts it: the console script's main (settings from XDG_CONFIG_HOME)
        from convstudio.cli import main
        sys.exit(main([]))
    sys.exit(launch.run_app(settings_path=sys.argv[1]))
''')


def _start_driver(tmp_path: Path, mode: str) -> subprocess.Popen:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               **{ENV_STATE_DIR: str(tmp_path / "state")})
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with open(tmp_path / "stderr.txt", "w") as err:  # a file: a full pipe would block the app
        return subprocess.Popen([sys.executable, str(driver), str(tmp_path / "settings.ini"),
                                 mode], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err,
                                text=True)


_readers: dict[int, threading.Thread] = {}


def _close(proc: subprocess.Popen) -> None:
    """Kill the driver if it still runs, then let the reader see EOF before closing its pipe."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    reader = _readers.pop(proc.pid, None)
    if reader is not None:
        reader.join(10)
    proc.stdout.close()


def _wait_saved(proc: subprocess.Popen, tmp_path: Path,
                timeout: float = 60) -> tuple[Path, Pipeline]:
    """The first "SAVED folder pipeline-json" line the driver prints (read in a thread, so that
    a hung app fails the test after `timeout` instead of blocking it)."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True)
    reader.start()
    _readers[proc.pid] = reader
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None and lines.empty():
                break
            continue
        if line.startswith("SAVED "):
            _, folder, text = line.rstrip("\n").split(" ", 2)
            return Path(folder), Pipeline.from_json(text)
    proc.kill()
    proc.wait()
    pytest.fail(f"the app never autosaved: {(tmp_path / 'stderr.txt').read_text()}")


def test_sigkill_mid_edit_then_restore(autosaved_window, tmp_path, qtbot):
    proc = _start_driver(tmp_path, "kill")
    try:
        folder, edited = _wait_saved(proc, tmp_path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        _close(proc)
    assert proc.returncode == -signal.SIGKILL
    assert (folder / MARKER_FILE).exists()  # nobody cleaned up: it was killed

    lesson = get_lesson("edge-detector")
    expected = Pipeline.from_dict(lesson.pipeline).insert_layer(1, ReLU())
    assert edited == expected

    state = tmp_path / "state"
    w, saver = autosaved_window(state, name="second.ini")
    saver.start()
    offered = []
    saver.choose_session = lambda sessions, notes=(): offered.extend(s.folder for s in sessions) or sessions[0]  # type: ignore
    assert saver.offer_restore()
    assert offered == [folder]
    d = w.doc
    assert d.pipeline == expected and d.selected == 1 and d.dirty
    assert saver.wait_restored()
    np.testing.assert_array_equal(d.image, lesson.make_image())
    assert d.image_name == lesson.title
    assert not folder.exists()


def test_sigterm_quits_cleanly_and_keeps_the_unsaved_work(tmp_path):
    """A logout or `kill` ends the app started as the console script does: the event loop stops
    with the shell's 143, no traceback, and the unsaved edit is offered at the next start."""
    proc = _start_driver(tmp_path, "term")
    try:
        folder, _ = _wait_saved(proc, tmp_path)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 128 + signal.SIGTERM
    finally:
        _close(proc)
    err = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in err and "Terminated" not in err, err
    assert [s.folder for s in find_crashed_sessions(tmp_path / "state")] == [folder]


def test_clean_quit_leaves_nothing_to_restore(tmp_path):
    proc = _start_driver(tmp_path, "quit")
    try:
        folder, _ = _wait_saved(proc, tmp_path)
        assert proc.wait(60) == 0, (tmp_path / "stderr.txt").read_text()
    finally:
        _close(proc)
    assert not folder.exists()
    assert find_crashed_sessions(tmp_path / "state") == []


# ------------------------------------------------------------------ quitting asks


def test_quit_from_the_menu_asks_when_dirty(make_window):
    w = make_window(size=None, debounce_ms=1, show=True)
    w.doc.set_image_array(np.ones((1, 4, 4), np.float32), "ones")
    w.doc.add_layer(ReLU())
    assert w.doc.dirty
    asked = []
    w.confirm_discard = lambda: asked.append("cancel") or False  # type: ignore[method-assign]
    w.actions_by_name["quit"].trigger()
    assert asked == ["cancel"] and w.isVisible()
    w.confirm_discard = lambda: asked.append("discard") or True  # type: ignore[method-assign]
    w.actions_by_name["quit"].trigger()
    assert asked == ["cancel", "discard"] and not w.isVisible()
    assert not w.renderer.worker.running  # closing shut the renderer down
