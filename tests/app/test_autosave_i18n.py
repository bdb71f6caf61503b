"""The restore's status message in Simplified Chinese (docs/developing.md, "Translations"): the
sentence, its problems and the store's notes translated; reasons from the core, file names and the
folder kept aside stay as they are; back in English, the message is English again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convstudio.app import i18n
from convstudio.app.dialogs.restore import note_text
from convstudio.app.i18n_tour import english_words
from convstudio.app.model.autosave import AutoSaver
from convstudio.app.model.autosave_store import DAMAGED_DIR, MARKER_FILE, SESSION_FILE, read_session
from convstudio.core import ConvStudioError, Pipeline, ReLU, imageio

PIPELINE = Pipeline([ReLU()], name="edges")
IMAGE = np.linspace(0, 1, 3 * 8 * 10, dtype=np.float32).reshape(3, 8, 10)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_session(state: Path, name: str, **changes) -> Path:
    """A crashed session's folder as the app leaves it (image-1.npy beside session.json), with
    `changes` to its session.json."""
    pid = _dead_pid()
    folder = state / f"session-{pid}-{name}"
    folder.mkdir(parents=True)
    (folder / MARKER_FILE).write_text(json.dumps({"pid": pid, "start": None}))
    np.save(folder / "image-1.npy", IMAGE)
    data = {"format": "convstudio-autosave", "version": 1, "pid": pid, "saved_at": 1_700_000_000.0,
            "pipeline": PIPELINE.to_dict(), "pipeline_file": None, "dirty": True, "selected": 1,
            "image": {"kind": "array", "file": "image-1.npy", "name": "generated"}, **changes}
    (folder / SESSION_FILE).write_text(json.dumps(data), encoding="utf-8")
    return folder


def kept_aside(state: Path, folder: Path) -> Path:
    kept, = [p for p in (state / DAMAGED_DIR).iterdir() if p.name.startswith(folder.name)]
    return kept


@pytest.fixture
def restoring(make_window, tmp_path, english_after):
    """``restore(folder)``: a window with an autosaver on ``tmp_path / "state"`` restores the
    crashed session in `folder` and returns the status message."""
    w = make_window(size=None, debounce_ms=1)
    saver = AutoSaver(w, tmp_path / "state", delay_ms=30)
    saver.start()

    def restore(folder: Path) -> str:
        saver.choose_session = lambda sessions, notes=(): next(s for s in sessions if s.folder == folder)
        assert saver.offer_restore()
        assert saver.wait_restored()
        return w.message_label.text()

    yield restore
    saver.finish()


def _chinese_only(text: str, *kept: str) -> list[str]:
    """The English words of `text` once the parts that stay as they are (`kept`) are taken out."""
    for part in kept:
        text = text.replace(part, "")
    return english_words(text)


def test_a_damaged_session_says_so_in_chinese_and_in_english_again(restoring, tmp_path):
    state = tmp_path / "state"
    broken = {**PIPELINE.to_dict(), "layers": 5}
    note, = read_session(make_session(tmp_path / "probe", "probe", pipeline=broken)).notes
    why = note.removeprefix("the pipeline could not be read: ")  # the core's reason: stays English
    assert why != note

    i18n.set_language(i18n.CHINESE)
    folder = make_session(state, "zh", pipeline=broken)
    text = restoring(folder)
    kept = kept_aside(state, folder)
    assert text == f"已恢复自动保存的会话：无法读取流水线：{why}; 图像完好。原始会话保留在 {kept}"
    assert _chinese_only(text, why, str(kept)) == []

    i18n.set_language(i18n.ENGLISH)
    folder = make_session(state, "en", pipeline=broken)
    text = restoring(folder)
    assert text == (f"Restored the autosaved session: the pipeline could not be read: {why}; the image is "
                    f"intact. The original is kept in {kept_aside(state, folder)}")


def test_a_pipeline_read_from_its_file_instead_is_all_chinese(restoring, tmp_path):
    """A note with a suffix (``; its file ... can be opened instead``) and a problem of the restore
    itself: every word translated, the file name kept."""
    state = tmp_path / "state"
    pipeline_file = tmp_path / "mine.json"
    pipeline_file.write_text(PIPELINE.to_json(), encoding="utf-8")
    i18n.set_language(i18n.CHINESE)
    folder = make_session(state, "zh", pipeline=None, pipeline_file=str(pipeline_file))
    text = restoring(folder)
    kept = kept_aside(state, folder)
    assert text == ("已恢复自动保存的会话：无法读取流水线：它不存在；可改为打开其文件 mine.json; "
                    f"流水线已从其文件 mine.json 打开; 图像完好。原始会话保留在 {kept}")
    assert _chinese_only(text, "mine.json", str(kept)) == []


def test_an_image_that_fails_to_load_says_so_in_chinese(restoring, tmp_path):
    state = tmp_path / "state"
    gone = tmp_path / "gone.png"
    with pytest.raises(ConvStudioError) as refused:
        imageio.load_image(gone)
    why = str(refused.value)  # the loader's reason: stays English
    record = {"kind": "file", "path": str(gone), "name": gone.name}

    i18n.set_language(i18n.CHINESE)
    text = restoring(make_session(state, "zh", image=record, pipeline_file=str(gone)))
    assert text.startswith(f"已恢复自动保存的会话：无法重新打开图像（{why}）; 无法读取流水线的文件（")
    assert text.endswith("）；流水线现为未命名; 流水线完好")
    why2 = text.removeprefix(f"已恢复自动保存的会话：无法重新打开图像（{why}）; 无法读取流水线的文件（") \
        .removesuffix("）；流水线现为未命名; 流水线完好")
    assert _chinese_only(text, why, why2) == []

    i18n.set_language(i18n.ENGLISH)
    text = restoring(make_session(state, "en", image=record, pipeline_file=str(gone)))
    assert text == (f"Restored the autosaved session: the image could not be opened again ({why}); the "
                    f"pipeline's file could not be read ({why2}); the pipeline is untitled; the pipeline is intact")


def test_an_unreadable_autosaved_image_says_so_in_chinese(restoring, tmp_path):
    state = tmp_path / "state"
    folder = make_session(state, "zh")
    (folder / "image-1.npy").write_bytes(b"\x93NUMPY damaged")
    with pytest.raises(ConvStudioError) as refused:
        imageio.load_image(folder / "image-1.npy")
    why = str(refused.value)
    i18n.set_language(i18n.CHINESE)
    text = restoring(folder)
    kept = kept_aside(state, folder)  # its only copy of the image
    assert text == f"已恢复自动保存的会话：无法读取自动保存的图像（{why}）; 流水线完好。原始会话保留在 {kept}"


def test_the_stores_other_notes_are_translated(english_after):
    """The notes the restore's message shares with the dialog (app/dialogs/restore.py, _NOTES)."""
    notes = ["session.json is not a regular file", "session.json is larger than 16 MiB",
             "session.json cannot be read (Permission denied)", "session.json is not UTF-8 text (invalid "
             "start byte at byte 3)", "the pipeline could not be read: it is missing; its file a.json can be "
             "opened instead"]
    assert [note_text(n) for n in notes] == notes
    i18n.set_language(i18n.CHINESE)
    assert [note_text(n) for n in notes] == [
        "session.json 不是普通文件", "session.json 大于 16 MiB", "无法读取 session.json（Permission denied）",
        "session.json 不是 UTF-8 文本（invalid start byte at byte 3）",
        "无法读取流水线：它不存在；可改为打开其文件 a.json"]
    assert note_text("an unknown note") == "an unknown note"


def test_a_session_with_nothing_to_restore_is_set_aside_with_a_chinese_message(
        make_window, tmp_path, english_after):
    """A session whose session.json is not JSON has nothing to offer: it is moved into damaged/
    and the status bar says so, the store's note translated, the JSON parser's reason kept."""
    state = tmp_path / "state"
    w = make_window(size=None, debounce_ms=1)
    saver = AutoSaver(w, state, delay_ms=30)
    saver.start()
    try:
        offered = []
        saver.choose_session = lambda sessions, notes=(): offered.append(sessions)
        i18n.set_language(i18n.CHINESE)
        folder = make_session(state, "zh")
        (folder / SESSION_FILE).write_bytes(b"\x00garbage")
        (folder / "image-1.npy").unlink()
        note = read_session(folder).notes[0]  # (the first one is said)
        why = note.removeprefix("session.json is not valid JSON (").removesuffix(")")
        assert why != note
        assert not saver.offer_restore() and offered == []
        text = w.message_label.toolTip() or w.message_label.text()
        kept = kept_aside(state, folder)
        assert text == f"一个自动保存的会话无法读取（session.json 不是有效的 JSON（{why}））；它保留在 {kept}。"
        assert _chinese_only(text, why, str(kept)) == []
    finally:
        saver.finish()
