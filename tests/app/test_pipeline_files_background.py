"""Opening, saving and copying a pipeline as code run off the GUI thread: the file is read (or the
code made) on a worker and the result taken on the GUI thread; the newest open wins and one that
the user overtook by editing is dropped; a save writes the pipeline as it was when asked and marks
only that pipeline saved; a failure leaves the document as it was; closing waits for a save in
flight. (What the files hold: tests/core; the synchronous paths: test_main_window.py.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import settle
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from convstudio.app.window import code_export
from convstudio.core import Conv2d, Pipeline, ReLU
from convstudio.core.layers import MaxPool2d


class Held:
    """Replaces a function: records the thread of every call, and holds the calls whose file
    name is in `hold` until :meth:`release` (at most 10 s, so that a failing test cannot hang)."""

    def __init__(self, hold: tuple[str, ...] = (), delay_s: float = 0.0) -> None:
        self.hold = set(hold)
        self.delay_s = delay_s
        self.threads: list[tuple[str, str]] = []  # (file name, thread name)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def enter(self, name: str) -> None:
        self.threads.append((name, threading.current_thread().name))
        if name in self.hold:
            self.entered.set()
            self.gate.wait(10)
        if self.delay_s:
            time.sleep(self.delay_s)

    def release(self) -> None:
        self.gate.set()

    def off_the_gui_thread(self) -> bool:
        main = threading.main_thread().name
        return bool(self.threads) and all(thread != main for _, thread in self.threads)


def held_loads(monkeypatch, *hold: str) -> Held:
    held = Held(hold)
    real = Pipeline.load

    def load(cls, path):
        held.enter(Path(path).name)
        return real(path)

    monkeypatch.setattr(Pipeline, "load", classmethod(load))
    return held


def held_saves(monkeypatch, *hold: str, delay_s: float = 0.0) -> Held:
    held = Held(hold, delay_s)
    real = Pipeline.save

    def save(self, path):
        held.enter(Path(path).name)
        real(self, path)

    monkeypatch.setattr(Pipeline, "save", save)
    return held


def big_pipeline(seed: int = 0) -> Pipeline:
    """A pipeline with real weights (random float32, so any change of a bit would show)."""
    rng = np.random.default_rng(seed)
    return Pipeline((
        Conv2d(weight=rng.standard_normal((16, 3, 3, 3), dtype=np.float32), padding="same", name="a"),
        ReLU(),
        Conv2d(weight=rng.standard_normal((8, 16, 5, 5), dtype=np.float32), padding="same",
               padding_mode="reflect", name="b"),
        MaxPool2d(kernel_size=(2, 2)),
    ), name=f"random {seed}")


def assert_same_pipeline(got: Pipeline, expected: Pipeline) -> None:
    assert got == expected
    assert got.name == expected.name and len(got) == len(expected)
    for a, b in zip(got.layers, expected.layers):
        assert type(a) is type(b)
        wa, wb = getattr(a, "weight", None), getattr(b, "weight", None)
        assert (wa is None) == (wb is None)
        if wa is not None:
            assert wa.dtype == wb.dtype
            np.testing.assert_array_equal(wa, wb)


@pytest.fixture
def w(make_window):
    w = make_window(size=None)
    w.doc.new_pipeline(Pipeline((ReLU(),)))
    return w


# ------------------------------------------------------------------ open
def test_open_reads_off_the_gui_thread_and_says_so(w, tmp_path, qtbot, monkeypatch, settings):
    path = tmp_path / "big.json"
    big_pipeline().save(path)
    loads = held_loads(monkeypatch, "big.json")
    assert w.open_pipeline(path, wait=False)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    # held on the reader: the window runs on, says what it reads, and nothing changed yet
    ticks: list[int] = []
    qtbot.waitUntil(lambda: ticks.append(1) or len(ticks) >= 5, timeout=1000)
    assert "big.json" in w.busy_label.text() and w.busy
    assert len(w.doc.pipeline) == 1
    loads.release()
    assert w.pipeline_reader.wait_idle(5000)
    assert loads.off_the_gui_thread(), loads.threads
    assert_same_pipeline(w.doc.pipeline, Pipeline.load(path))
    assert w.doc.file_path == path and not w.doc.dirty and not w.doc.undo_stack.canUndo()
    assert w.doc.selected == len(w.doc.pipeline)
    assert "big.json" not in w.busy_label.text()
    assert settings.value("recent/pipelines")[0] == str(path.resolve())
    assert "Opened pipeline big.json" in w.message_label.text()


def test_a_large_file_is_read_and_written_in_a_child_process(w, tmp_path, monkeypatch):
    """json.loads / dumps of a large file hold the interpreter lock, on a worker thread too: a
    large file is read and written by a child process (session/pipeline_process.py)."""
    from convstudio.session import pipeline_process

    path = tmp_path / "big.json"
    p = big_pipeline()
    p.save(path)
    expected = Pipeline.load(path)
    monkeypatch.setattr(pipeline_process, "CHILD_ABOVE_BYTES", 1024)
    here: list[str] = []
    monkeypatch.setattr(Pipeline, "load", classmethod(lambda cls, f: here.append(f"load {f}")))
    monkeypatch.setattr(Pipeline, "save", lambda self, f: here.append(f"save {f}"))
    assert w.open_pipeline(path, wait=False)
    assert w.pipeline_reader.wait_idle(30_000)
    assert_same_pipeline(w.doc.pipeline, expected)
    assert w.doc.file_path == path and not w.doc.dirty
    w.doc.set_pipeline(w.doc.pipeline.replace_layer(1, MaxPool2d(kernel_size=2)))
    out = tmp_path / "out.json"
    assert w.save_pipeline_to(out, wait=True) and not w.doc.dirty
    assert here == []  # nothing was read or written by this process
    monkeypatch.undo()
    assert_same_pipeline(Pipeline.load(out), w.doc.pipeline)


def test_the_newer_open_wins(w, tmp_path, qtbot, monkeypatch):
    older, newer = tmp_path / "older.json", tmp_path / "newer.json"
    big_pipeline(1).save(older)
    big_pipeline(2).save(newer)
    expected = Pipeline.load(newer)
    adopted: list[Path | None] = []
    w.doc.pipelineReset.connect(lambda: adopted.append(w.doc.file_path))
    loads = held_loads(monkeypatch, "older.json")
    assert w.open_pipeline(older, wait=False)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert w.open_pipeline(newer, wait=False)  # while the older one is still being read
    assert "newer.json" in w.busy_label.text()
    loads.release()  # the older result arrives first: it is dropped
    settle(w)
    assert [name for name, _ in loads.threads] == ["older.json", "newer.json"]
    assert adopted == [newer]
    assert_same_pipeline(w.doc.pipeline, expected)
    assert not w.errors and not w.doc.dirty


def test_a_bad_file_is_reported_and_changes_nothing(w, tmp_path, monkeypatch):
    loads = held_loads(monkeypatch)
    before = w.doc.pipeline
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert w.open_pipeline(bad, wait=False)
    settle(w)
    assert "not valid JSON" in w.errors[-1] and "bad.json" in w.errors[-1]
    assert w.doc.pipeline is before and w.doc.file_path is None
    assert loads.off_the_gui_thread(), loads.threads
    assert w.busy_label.text() == ""
    assert w.open_pipeline(tmp_path / "missing.json", wait=False)
    settle(w)
    assert len(w.errors) == 2 and "missing.json" in w.errors[-1]
    assert not w.open_pipeline(tmp_path / "missing.json")  # waiting (read here): the outcome
    assert len(w.errors) == 3 and w.doc.pipeline is before


def test_a_waiting_open_replaces_one_being_read(w, tmp_path, qtbot, monkeypatch):
    """open_pipeline(wait=True) (the command line) reads the file on the calling thread, as
    open_image does; it is the newest open, so one still being read is dropped."""
    older, newer = tmp_path / "older.json", tmp_path / "newer.json"
    big_pipeline(1).save(older)
    big_pipeline(2).save(newer)
    expected = Pipeline.load(newer)
    loads = held_loads(monkeypatch, "older.json")
    assert w.open_pipeline(older, wait=False)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    assert w.open_pipeline(newer)
    assert w.doc.file_path == newer and "older.json" not in w.busy_label.text()
    loads.release()
    settle(w)
    assert w.doc.file_path == newer
    assert_same_pipeline(w.doc.pipeline, expected)


def test_an_edit_while_the_file_is_read_keeps_the_edit(w, tmp_path, qtbot, monkeypatch):
    """The rule: the file's pipeline is dropped if the document's changed since the open was
    asked for (the user's later edit is never replaced without asking)."""
    path = tmp_path / "big.json"
    big_pipeline().save(path)
    loads = held_loads(monkeypatch, "big.json")
    assert w.open_pipeline(path, wait=False)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    w.doc.add_layer(MaxPool2d(kernel_size=(2, 2)))
    edited = w.doc.pipeline
    loads.release()
    settle(w)
    assert w.doc.pipeline is edited and w.doc.dirty and w.doc.file_path is None
    assert "Did not open big.json" in w.message_label.text()
    assert not w.errors
    # asked again, it opens
    assert w.open_pipeline(path)
    assert_same_pipeline(w.doc.pipeline, Pipeline.load(path))


def test_new_pipeline_drops_the_file_being_read(w, tmp_path, qtbot, monkeypatch):
    path = tmp_path / "big.json"
    big_pipeline().save(path)
    loads = held_loads(monkeypatch, "big.json")
    assert w.open_pipeline(path, wait=False)
    qtbot.waitUntil(loads.entered.is_set, timeout=3000)
    w.new_pipeline()
    loads.release()
    settle(w)
    assert len(w.doc.pipeline) == 0 and w.doc.file_path is None
    assert "Did not open" not in w.message_label.text()


def test_a_dropped_or_recent_pipeline_opens_in_the_background(w, tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    big_pipeline().save(path)
    expected = Pipeline.load(path)
    loads = held_loads(monkeypatch)
    assert w.open_path(path)  # as a drop does
    assert w.doc.file_path is None  # not yet
    settle(w)
    assert w.doc.file_path == path
    w.doc.new_pipeline(Pipeline())
    w.recent_pipelines_menu.actions()[0].trigger()
    settle(w)
    assert w.doc.file_path == path.resolve()
    assert_same_pipeline(w.doc.pipeline, expected)
    assert len(loads.threads) == 2 and loads.off_the_gui_thread(), loads.threads


# ------------------------------------------------------------------ save
def test_save_writes_off_the_gui_thread(w, tmp_path, monkeypatch, settings):
    w.doc.set_pipeline(big_pipeline())
    snapshot = w.doc.pipeline
    saves = held_saves(monkeypatch)
    path = tmp_path / "mine.json"
    assert w.save_pipeline_to(path, wait=False)
    assert w.doc.dirty and w.busy  # until it was written
    assert w.wait_for_saves(10_000)
    assert saves.off_the_gui_thread(), saves.threads
    assert not w.doc.dirty and w.doc.file_path == path
    assert_same_pipeline(Pipeline.load(path), snapshot)
    assert settings.value("recent/pipelines")[0] == str(path.resolve())
    assert "Saved mine.json" in w.message_label.text() and w.busy_label.text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.json", "settings.ini"]  # no temp file left


def test_the_menu_save_does_not_wait(w, tmp_path, qtbot, monkeypatch):
    path = tmp_path / "mine.json"
    assert w.save_pipeline_to(path)
    w.doc.set_pipeline(big_pipeline())
    saves = held_saves(monkeypatch, "mine.json")
    w.actions_by_name["save_pipeline"].trigger()  # returns while the write is held
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    assert w.doc.dirty and "mine.json" in w.busy_label.text()
    saves.release()
    assert w.wait_for_saves(10_000)
    assert not w.doc.dirty
    assert_same_pipeline(Pipeline.load(path), w.doc.pipeline)


def test_an_edit_during_a_save_stays_unsaved(w, tmp_path, qtbot, monkeypatch):
    path = tmp_path / "mine.json"
    assert w.save_pipeline_to(path)  # P0 saved: the clean point
    p0 = w.doc.pipeline
    w.doc.set_pipeline(big_pipeline())  # S
    snapshot = w.doc.pipeline
    saves = held_saves(monkeypatch, "mine.json")
    assert w.save_pipeline_to(path, wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    w.doc.add_layer(ReLU())  # S + ReLU, while S is written
    edited = w.doc.pipeline
    saves.release()
    assert w.wait_for_saves(10_000)
    assert w.doc.pipeline is edited and w.doc.dirty and w.isWindowModified()
    assert_same_pipeline(Pipeline.load(path), snapshot)  # the file holds the pipeline before the edit
    assert "not saved yet" in w.message_label.text()
    # "unmodified" now means the file's pipeline, wherever it is in the history
    w.doc.undo_stack.undo()
    assert w.doc.pipeline is snapshot and not w.doc.dirty
    w.doc.undo_stack.undo()
    assert w.doc.pipeline is p0 and w.doc.dirty  # P0's old clean point no longer counts
    w.doc.undo_stack.redo()
    assert not w.doc.dirty
    w.doc.undo_stack.redo()
    assert w.doc.dirty


def test_a_save_that_finishes_after_undo_leaves_the_document_modified(w, tmp_path, qtbot, monkeypatch):
    path = tmp_path / "mine.json"
    assert w.save_pipeline_to(path)
    w.doc.set_pipeline(big_pipeline())
    snapshot = w.doc.pipeline
    saves = held_saves(monkeypatch, "mine.json")
    assert w.save_pipeline_to(path, wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    w.doc.undo_stack.undo()  # back to what the file held: unmodified for a moment
    assert not w.doc.dirty
    saves.release()
    assert w.wait_for_saves(10_000)
    assert w.doc.dirty  # the file now holds the newer pipeline
    w.doc.undo_stack.redo()
    assert w.doc.pipeline is snapshot and not w.doc.dirty


def test_a_failed_save_is_reported_and_leaves_the_document_modified(w, tmp_path, monkeypatch):
    saves = held_saves(monkeypatch)
    w.doc.add_layer(ReLU())
    (tmp_path / "a-file").write_text("not a folder")
    bad = tmp_path / "a-file" / "p.json"
    assert not w.save_pipeline_to(bad)  # waiting: the outcome is returned
    assert w.errors and "p.json" in w.errors[-1]
    assert w.doc.dirty and w.doc.file_path is None
    assert w.save_pipeline_to(bad, wait=False)  # the menu: reported when it failed
    assert w.wait_for_saves(10_000)
    assert len(w.errors) == 2 and w.doc.dirty and w.doc.file_path is None
    assert saves.off_the_gui_thread(), saves.threads
    assert w.busy_label.text() == ""


def test_saves_are_written_in_the_order_asked(w, tmp_path, qtbot, monkeypatch):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    w.doc.set_pipeline(big_pipeline(1))
    one = w.doc.pipeline
    saves = held_saves(monkeypatch, "first.json")
    assert w.save_pipeline_to(first, wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    w.doc.set_pipeline(big_pipeline(2))
    two = w.doc.pipeline
    threading.Timer(0.2, saves.release).start()
    assert w.save_pipeline_to(second)  # waits for the first, then its own
    assert [name for name, _ in saves.threads] == ["first.json", "second.json"]
    assert_same_pipeline(Pipeline.load(first), one)
    assert_same_pipeline(Pipeline.load(second), two)
    assert not w.doc.dirty and w.doc.file_path == second


def test_save_in_the_unsaved_changes_question_waits_for_the_write(w, tmp_path, monkeypatch):
    del w.confirm_discard  # the window's own question (the fixture's answers "discard")
    monkeypatch.setattr(QMessageBox, "exec", lambda _box: QMessageBox.StandardButton.Save)
    mine, other = tmp_path / "mine.json", tmp_path / "other.json"
    assert w.save_pipeline_to(mine)
    big_pipeline(3).save(other)
    w.doc.set_pipeline(big_pipeline(1))
    edited = w.doc.pipeline
    saves = held_saves(monkeypatch, delay_s=0.2)
    assert w.open_pipeline(other)  # Save, written, then the other file opened
    assert_same_pipeline(Pipeline.load(mine), edited)
    assert_same_pipeline(w.doc.pipeline, Pipeline.load(other))
    assert w.doc.file_path == other and not w.doc.dirty
    assert saves.off_the_gui_thread(), saves.threads


def test_opening_a_file_being_saved_reads_what_the_save_wrote(w, tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    Pipeline().save(path)
    w.doc.set_pipeline(big_pipeline())
    snapshot = w.doc.pipeline
    saves = held_saves(monkeypatch, delay_s=0.3)
    assert w.save_pipeline_to(path, wait=False)
    assert w.open_pipeline(path, ask=False)
    assert_same_pipeline(w.doc.pipeline, snapshot)
    assert w.doc.file_path == path and not w.doc.dirty
    assert saves.off_the_gui_thread(), saves.threads


# ------------------------------------------------------------------ close
def test_closing_waits_for_a_save_in_flight(make_window, tmp_path, qtbot, monkeypatch):
    w = make_window(size=None, show=True)
    asked: list[int] = []
    w.confirm_discard = lambda: asked.append(1) or False  # type: ignore[method-assign]
    w.doc.new_pipeline(big_pipeline())
    w.doc.add_layer(ReLU())
    snapshot = w.doc.pipeline
    path = tmp_path / "mine.json"
    saves = held_saves(monkeypatch, "mine.json")
    assert w.save_pipeline_to(path, wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    threading.Timer(0.3, saves.release).start()
    assert w.close()  # waited for the write; then there was nothing to ask about
    assert not asked
    assert_same_pipeline(Pipeline.load(path), snapshot)
    assert not w.pipeline_writer.running


def test_closing_after_a_failed_save_still_asks(make_window, tmp_path, qtbot, monkeypatch):
    w = make_window(size=None, show=True)
    asked: list[int] = []
    w.confirm_discard = lambda: asked.append(1) or False  # type: ignore[method-assign]
    w.doc.add_layer(ReLU())
    (tmp_path / "a-file").write_text("not a folder")
    saves = held_saves(monkeypatch, "p.json")
    assert w.save_pipeline_to(tmp_path / "a-file" / "p.json", wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    threading.Timer(0.2, saves.release).start()
    assert not w.close()  # the save failed: the question comes, and "cancel" keeps the window
    assert asked == [1] and w.errors and w.isVisible() and w.doc.dirty


def test_an_edit_during_a_save_is_asked_about_on_close(make_window, tmp_path, qtbot, monkeypatch):
    w = make_window(size=None, show=True)
    asked: list[int] = []
    w.confirm_discard = lambda: asked.append(1) or True  # type: ignore[method-assign]
    path = tmp_path / "mine.json"
    saves = held_saves(monkeypatch, "mine.json")
    w.doc.add_layer(ReLU())
    snapshot = w.doc.pipeline
    assert w.save_pipeline_to(path, wait=False)
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    w.doc.add_layer(ReLU())
    threading.Timer(0.2, saves.release).start()
    assert w.close()
    assert asked == [1]
    assert_same_pipeline(Pipeline.load(path), snapshot)


def test_shutdown_writes_the_saves_asked_for(w, tmp_path, qtbot, monkeypatch):
    w.doc.set_pipeline(big_pipeline())
    snapshot = w.doc.pipeline
    saves = held_saves(monkeypatch, "first.json")
    assert w.save_pipeline_to(tmp_path / "first.json", wait=False)
    assert w.save_pipeline_to(tmp_path / "second.json", wait=False)  # queued behind it
    qtbot.waitUntil(saves.entered.is_set, timeout=3000)
    threading.Timer(0.2, saves.release).start()
    w.shutdown()
    for name in ("first.json", "second.json"):
        assert_same_pipeline(Pipeline.load(tmp_path / name), snapshot)
    assert not w.pipeline_writer.running and not w.pipeline_reader.running


# ------------------------------------------------------------------ copy as code
@pytest.mark.parametrize("kind", ["pytorch", "numpy"])
def test_copy_as_code_is_made_off_the_gui_thread(w, kind, monkeypatch):
    w.doc.set_pipeline(big_pipeline())
    pipeline = w.doc.pipeline
    expected = code_export.code_for(kind, pipeline, 3)
    QGuiApplication.clipboard().setText("before")
    threads: list[str] = []
    real = code_export.code_for

    def code_for(k, p, c):
        threads.append(threading.current_thread().name)
        return real(k, p, c)

    monkeypatch.setattr(code_export, "code_for", code_for)
    w.insight.actions["copy_pytorch" if kind == "pytorch" else "copy_numpy"].trigger()
    assert w.insight.busy or QGuiApplication.clipboard().text() == "before"
    settle(w)
    assert QGuiApplication.clipboard().text() == expected
    assert threads and threading.main_thread().name not in threads, threads
    assert "Copied" in w.message_label.text() and "3 input channels" in w.message_label.text()
    assert w.insight.copy_code(kind) == expected  # waiting: the text is returned


def test_copy_as_code_reports_channels_that_do_not_chain(w):
    w.doc.set_pipeline(Pipeline((
        Conv2d(weight=np.ones((2, 1, 3, 3), np.float32), padding="same"),
        Conv2d(weight=np.ones((4, 3, 3, 3), np.float32), padding="same"),
    )))
    QGuiApplication.clipboard().setText("before")
    assert w.insight.copy_code("pytorch") is None
    assert "Cannot write PyTorch code" in w.message_label.text()
    assert "expects 3 input channels" in w.message_label.text()
    assert QGuiApplication.clipboard().text() == "before"
