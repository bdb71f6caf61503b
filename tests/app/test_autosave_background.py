"""Autosave writes off the GUI thread: the window keeps running while a snapshot is written, a
newer snapshot replaces one not yet written, an older one never overwrites a newer, a write in
progress finishes before the folder goes, and a failed background write is said once.
(What is written, and restoring it: test_autosave.py.)"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from convstudio.app.model import autosave
from convstudio.app.model.autosave import SESSION_FILE
from convstudio.core import Pipeline, ReLU, imageio


class GatedWrites:
    """Replaces the atomic file write: records which thread wrote what, and holds every write of
    session.json until :meth:`open` (at most 10 s, so a failing test cannot hang)."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple[str, str]] = []  # (file name, thread name)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fail_with: OSError | None = None
        real = imageio.atomic_write_bytes

        def write(path, data):
            name = Path(path).name
            self.calls.append((name, threading.current_thread().name))
            if name == SESSION_FILE:
                self.entered.set()
                self.gate.wait(10)
                if self.fail_with is not None:
                    raise self.fail_with
            real(path, data)

        monkeypatch.setattr(imageio, "atomic_write_bytes", write)

    def open(self) -> None:
        self.gate.set()

    def session_writes(self) -> list[str]:
        return [thread for name, thread in self.calls if name == SESSION_FILE]


def _pipeline_written(saver) -> Pipeline:
    return Pipeline.from_dict(json.loads((saver.folder / SESSION_FILE).read_text())["pipeline"])


def test_the_window_runs_on_while_a_snapshot_is_written(autosaved_window, tmp_path, qtbot,
                                                        monkeypatch):
    writes = GatedWrites(monkeypatch)
    w, saver = autosaved_window(tmp_path / "state")
    assert saver.start()
    image = np.random.default_rng(1).random((3, 64, 80), dtype=np.float32)
    w.doc.set_image_array(image, "noise")
    w.doc.add_layer(ReLU())
    qtbot.waitUntil(writes.entered.is_set, timeout=3000)
    # session.json is being written and held there; the GUI thread is free meanwhile.
    ticks = []
    qtbot.waitUntil(lambda: ticks.append(1) or len(ticks) >= 5, timeout=1000)
    assert saver.pending() and not (saver.folder / SESSION_FILE).exists()
    with qtbot.waitSignal(saver.saved, timeout=3000):
        writes.open()
    assert [name for name, _ in writes.calls] == ["running.pid", "image-1.npy", SESSION_FILE]
    main = threading.main_thread().name
    assert writes.calls[0][1] == main  # the marker: at start, on the GUI thread
    assert all(thread != main for _, thread in writes.calls[1:]), writes.calls
    assert not saver.pending()
    assert _pipeline_written(saver) == w.doc.pipeline
    np.testing.assert_array_equal(np.load(saver.folder / "image-1.npy"), image)


def test_a_newer_snapshot_replaces_one_not_yet_written(autosaved_window, tmp_path, qtbot,
                                                       monkeypatch):
    writes = GatedWrites(monkeypatch)
    w, saver = autosaved_window(tmp_path / "state", delay_ms=20)
    assert saver.start()
    w.doc.add_layer(ReLU())  # snapshot 1: its write is held
    qtbot.waitUntil(writes.entered.is_set, timeout=3000)
    for _ in range(3):  # snapshots 2-4, each its own debounce: each replaces the one before
        w.doc.add_layer(ReLU())
        qtbot.waitUntil(lambda: not saver._debounce.pending, timeout=1000)
    assert len(writes.session_writes()) == 1
    with qtbot.waitSignal(saver.saved, timeout=3000):
        writes.open()
    qtbot.waitUntil(lambda: not saver.pending(), timeout=3000)
    assert len(writes.session_writes()) == 2  # the first, then only the newest
    assert _pipeline_written(saver) == w.doc.pipeline and len(w.doc.pipeline) == 4


def test_save_now_waits_for_the_write_in_progress_and_stays_newest(autosaved_window, tmp_path,
                                                                     qtbot, monkeypatch):
    writes = GatedWrites(monkeypatch)
    w, saver = autosaved_window(tmp_path / "state")
    assert saver.start()
    w.doc.add_layer(ReLU())
    qtbot.waitUntil(writes.entered.is_set, timeout=3000)
    older = w.doc.pipeline
    w.doc.add_layer(ReLU())  # newer than what is being written
    threading.Timer(0.3, writes.open).start()
    t0 = time.perf_counter()
    assert saver.save_now()  # waits for the held write, then writes the newer state
    assert time.perf_counter() - t0 >= 0.25
    assert _pipeline_written(saver) == w.doc.pipeline != older
    qtbot.wait(200)  # nothing queued before save_now may write after it
    assert _pipeline_written(saver) == w.doc.pipeline
    assert writes.session_writes()[-1] == threading.main_thread().name
    assert not saver.pending()


def test_an_older_snapshot_never_overwrites_a_newer_one(tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    files = autosave._SessionFiles(folder)

    def snap(seq: int, pipeline: Pipeline) -> autosave._Snapshot:
        return autosave._Snapshot(seq=seq, image=None, image_path=None, image_name="", keep_alpha=False,
                                  pipeline=pipeline, pipeline_file=None, dirty=True, selected=0,
                                  taken_at=time.time())

    newer = Pipeline([ReLU(), ReLU()])
    assert files.write(snap(2, newer))
    assert not files.write(snap(1, Pipeline([ReLU()])))
    data = json.loads((folder / SESSION_FILE).read_text())
    assert Pipeline.from_dict(data["pipeline"]) == newer
    files.remove()
    assert not folder.exists() and not files.write(snap(3, newer)) and not folder.exists()


def test_finish_waits_for_the_write_in_progress_then_removes_the_folder(autosaved_window,
                                                                          tmp_path, qtbot,
                                                                          monkeypatch):
    writes = GatedWrites(monkeypatch)
    w, saver = autosaved_window(tmp_path / "state")
    assert saver.start()
    folder = saver.folder
    w.doc.add_layer(ReLU())
    qtbot.waitUntil(writes.entered.is_set, timeout=3000)
    threading.Timer(0.3, writes.open).start()
    saver.finish()
    assert not saver.running
    assert not folder.exists() and list((tmp_path / "state").iterdir()) == []
    w.doc.add_layer(ReLU())
    qtbot.wait(100)
    assert not folder.exists() and not saver.pending()


@pytest.mark.parametrize("problem", ["disk full", "read-only file system"])
def test_a_failed_background_write_is_said_once(autosaved_window, tmp_path, qtbot, monkeypatch,
                                                problem):
    writes = GatedWrites(monkeypatch)
    writes.fail_with = OSError(28, problem)
    writes.open()
    w, saver = autosaved_window(tmp_path / "state")
    assert saver.start()
    messages = []
    w.show_message = lambda text, *a, **k: messages.append(text)
    w.doc.add_layer(ReLU())
    qtbot.waitUntil(lambda: saver.error is not None, timeout=3000)
    assert problem in saver.error and str(saver.folder) in saver.error
    w.doc.add_layer(ReLU())
    qtbot.waitUntil(lambda: len(writes.session_writes()) == 2 and not saver.pending(), timeout=3000)
    assert len(messages) == 1 and messages[0].startswith("Autosave is off") and problem in messages[0]
    writes.fail_with = None  # the disk has room again: the next write succeeds, the error clears
    with qtbot.waitSignal(saver.saved, timeout=3000):
        w.doc.add_layer(ReLU())
    assert saver.error is None and _pipeline_written(saver) == w.doc.pipeline
