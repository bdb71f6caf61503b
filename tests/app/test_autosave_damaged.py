"""Damaged autosaves: every field of session.json checked, each part recovered on its own, nothing
deleted by reading, no exception on any content (hand-damaged files, then Hypothesis fuzzing
the structure and the bytes), and what a restore of a damaged session does in a real window."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convstudio.app.dialogs.restore import make_preview, row_text
from convstudio.app.model.autosave import AutoSaver
from convstudio.app.model.autosave_store import (
    CLAIM_FILE,
    DAMAGED_DIR,
    MARKER_FILE,
    SESSION_FILE,
    claim,
    find_crashed_sessions,
    read_session,
    release,
)
from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU

PIPELINE = Pipeline((Conv2d(kernel=np.array([[1.0, -1.0]])), ReLU(), MaxPool2d(kernel_size=(2, 2))),
                    name="edges")
IMAGE = np.linspace(0, 1, 3 * 8 * 10, dtype=np.float32).reshape(3, 8, 10)
SAVED_AT = 1_700_000_000.0


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


DEAD = _dead_pid()


def valid_data() -> dict:
    """session.json as the app writes it (docs/user-guide.md, "Nothing is lost")."""
    return {"format": "convstudio-autosave", "version": 1, "pid": DEAD, "saved_at": SAVED_AT,
            "pipeline": PIPELINE.to_dict(), "pipeline_file": None, "dirty": True, "selected": 2,
            "image": {"kind": "array", "file": "image-1.npy", "name": "generated"}}


def make_session(root: Path, content: dict | bytes | None, *, name: str = "a",
                 image: bool = True) -> Path:
    """A crashed session's folder: a marker naming a dead process, image-1.npy (if `image`) and
    session.json holding `content` (JSON of a dict, raw bytes, or no file for None)."""
    folder = root / f"session-{DEAD}-{name}"
    folder.mkdir(parents=True)
    (folder / MARKER_FILE).write_text(json.dumps({"pid": DEAD, "start": None}))
    if image:
        np.save(folder / "image-1.npy", IMAGE)
    if content is not None:
        raw = content if isinstance(content, bytes) else json.dumps(content).encode()
        (folder / SESSION_FILE).write_bytes(raw)
    return folder


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def with_(**changes) -> dict:
    d = valid_data()
    d.update(changes)
    return d


def without(key: str) -> dict:
    d = valid_data()
    del d[key]
    return d


# ------------------------------------------------------------------ hand-damaged files

VALID_BYTES = json.dumps(valid_data(), indent=1).encode()

# name: (content, whether the pipeline is readable, words expected in the notes)
DAMAGED = {
    "not JSON": (b"{ this is not json", False, "not valid JSON"),
    "truncated": (VALID_BYTES[: len(VALID_BYTES) // 2], False, "not valid JSON"),
    "empty": (b"", False, "not valid JSON"),
    "not UTF-8": (b'{"format": "\xff\xfe"}', False, "not UTF-8"),
    "a list": (b"[1, 2, 3]", False, "does not hold an object"),
    "too deep": (b"[" * 100_000 + b"]" * 100_000, False, "not valid JSON"),
    "saved_at is text": (with_(saved_at="yesterday"), True, "time saved could not be read"),
    "saved_at is NaN": (VALID_BYTES.replace(b"1700000000.0", b"NaN"), True, "time saved"),
    "saved_at is bool": (with_(saved_at=True), True, "time saved"),
    "layers is a number": (with_(pipeline={**PIPELINE.to_dict(), "layers": 5}), False,
                           "the pipeline could not be read: 'layers'"),
    "a layer's kernel is text": (
        with_(pipeline={**PIPELINE.to_dict(),
                        "layers": [{"type": "conv2d", "kernel": "sobel"}]}), False,
        "the pipeline could not be read: layer 1"),
    "no pipeline": (without("pipeline"), False, "the pipeline could not be read: it is missing"),
    "image is a number": (with_(image=7), True, "image-1.npy is used"),
    "image kind unknown": (with_(image={"kind": "bogus"}), True, "unknown kind"),
    "image file escapes": (with_(image={"kind": "array", "file": "../../../etc/passwd"}), True,
                           "image-<n>.npy"),
    "image name is a list": (with_(image={"kind": "array", "file": "image-1.npy", "name": [1]}),
                             True, "name is not text"),
    "selected out of range": (with_(selected=99), True, "selected layer"),
    "selected is text": (with_(selected="2"), True, "selected layer"),
    "dirty is text": (with_(dirty="yes"), True, "unsaved changes could not be read"),
    "pipeline_file is a number": (with_(pipeline_file=12), True, "file name could not be read"),
    "pipeline_file has a NUL": (with_(pipeline_file="a\0b.json"), True, "file name"),
    "wrong format": (with_(format="something-else"), True, "not marked as a version 1"),
    "missing": (None, False, "session.json is missing"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_each_part_is_recovered_on_its_own(tmp_path, case):
    content, pipeline_ok, words = DAMAGED[case]
    folder = make_session(tmp_path, content)
    before = snapshot(tmp_path)
    s = read_session(folder)
    assert snapshot(tmp_path) == before  # reading writes, moves and deletes nothing
    assert any(words in n for n in s.notes), s.notes
    assert (s.pipeline == PIPELINE) if pipeline_ok else s.pipeline is None
    assert s.image.kind == "array" and s.image.file == folder / "image-1.npy" and s.recoverable
    # what is intact is said so
    assert ("the image is intact" in s.state_text()) and \
        (("the pipeline is intact" in s.state_text()) == pipeline_ok)
    # the fields that stand in are of the right type and range
    assert isinstance(s.dirty, bool) and isinstance(s.selected, int)
    assert 0 <= s.selected <= (len(s.pipeline) if s.pipeline else 0)
    assert math.isfinite(s.saved_at) and s.saved_at > 0
    if isinstance(content, dict) and content.get("saved_at") != SAVED_AT:
        assert s.saved_at == (folder / SESSION_FILE).stat().st_mtime
    assert [x.folder for x in find_crashed_sessions(tmp_path)] == [folder]
    assert snapshot(tmp_path) == before


def test_an_intact_session_has_no_notes(tmp_path):
    folder = make_session(tmp_path, valid_data())
    s = read_session(folder)
    assert s.notes == () and not s.damaged and s.state_text() == ""
    assert s.pipeline == PIPELINE and s.selected == 2 and s.dirty and s.saved_at == SAVED_AT
    assert s.pipeline_summary() == "3 layers (conv2d, relu, maxpool2d); untitled 'edges', unsaved changes"
    preview = make_preview(s)
    assert preview.input_shape == IMAGE.shape and preview.note == ""
    assert preview.output_shape == tuple(PIPELINE.output_shapes(IMAGE.shape)[-1]) == (3, 4, 4)
    assert "output 3 × 4 × 4" in row_text(s, preview)


def test_nothing_readable_is_not_recoverable(tmp_path):
    folder = make_session(tmp_path, b"\x00garbage", image=False)
    s = read_session(folder)
    assert not s.recoverable and s.image.kind == "lost" and s.pipeline is None
    assert "not valid JSON" in s.describe()


# ------------------------------------------------------------------ fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
TOP_KEYS = list(valid_data())
IMAGE_KEYS = ["kind", "file", "name", "path", "keep_alpha", "shape"]


@st.composite
def damaged_dicts(draw) -> dict:
    """A valid session with some fields (top level, image record, pipeline keys or a layer's
    keys) replaced by any JSON value or removed."""
    d = valid_data()
    for key in draw(st.lists(st.sampled_from(TOP_KEYS + ["extra"]), max_size=4, unique=True)):
        if draw(st.booleans()):
            d[key] = draw(json_values)
        else:
            d.pop(key, None)
    targets = [(d, IMAGE_KEYS)] if isinstance(d.get("image"), dict) else []
    if isinstance(d.get("pipeline"), dict):
        targets.append((d["pipeline"], ["format", "version", "name", "layers"]))
        layers = d["pipeline"].get("layers")
        if isinstance(layers, list) and layers and isinstance(layers[0], dict):
            targets.append((layers[0], ["type", "kernel", "stride", "padding", "dilation"]))
    for target, keys in targets:
        box = target["image"] if keys is IMAGE_KEYS else target
        for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
            box[key] = draw(json_values)
    return d


@st.composite
def damaged_bytes(draw) -> bytes:
    """Valid bytes cut, overwritten or spliced, or any bytes at all."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    raw = bytearray(VALID_BYTES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["cut", "set", "insert"]))
        if op == "cut":
            del raw[i:i + draw(st.integers(1, 40))]
        elif op == "set" and i < len(raw):
            raw[i] = draw(st.integers(0, 255))
        else:
            raw[i:i] = draw(st.binary(min_size=1, max_size=8))
    return bytes(raw)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check_reading(fuzz_root: Path, content: dict | bytes) -> None:
    root = Path(tempfile.mkdtemp(dir=fuzz_root))
    raw = content if isinstance(content, bytes) else \
        json.dumps(content, allow_nan=True).encode("utf-8", "surrogatepass")
    folder = make_session(root, raw)
    before = snapshot(root)
    s = read_session(folder)
    found = find_crashed_sessions(root)
    # whatever the user sees of it is made without an exception
    s.describe()
    row_text(s, make_preview(s, size=16))
    assert snapshot(root) == before and [x.folder for x in found] == [folder]
    # never "lost": when the record is unusable, the image file in the folder stands in
    assert s.image.kind in ("none", "file", "array", "too-large")
    assert isinstance(s.dirty, bool) and math.isfinite(s.saved_at) and s.saved_at >= 0
    assert 0 <= s.selected <= (len(s.pipeline) if s.pipeline is not None else 0)
    if s.pipeline is not None:
        s.pipeline.to_json().encode("utf-8")  # it can be saved again


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_dicts())
def test_fuzz_the_structure(fuzz_root, data):
    _check_reading(fuzz_root, data)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_bytes())
def test_fuzz_the_bytes(fuzz_root, raw):
    _check_reading(fuzz_root, raw)


# ------------------------------------------------------------------ several sessions


def test_sessions_coexist_and_a_claimed_one_is_not_offered_twice(tmp_path):
    old = make_session(tmp_path, with_(saved_at=SAVED_AT - 60), name="old")
    new = make_session(tmp_path, valid_data(), name="new")
    running = make_session(tmp_path, valid_data(), name="running")
    (running / MARKER_FILE).write_text(json.dumps({"pid": os.getpid()}))  # a live instance
    assert [s.folder for s in find_crashed_sessions(tmp_path)] == [new, old]  # newest first

    # Another running instance offers `new` right now: this one does not offer it.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (new / CLAIM_FILE).write_text(json.dumps({"pid": other.pid}))
        assert [s.folder for s in find_crashed_sessions(tmp_path)] == [old]
        assert not claim(new)
    finally:
        other.kill()
        other.wait()
    # ... and once that instance is gone its claim counts for nothing.
    assert [s.folder for s in find_crashed_sessions(tmp_path)] == [new, old]
    assert claim(new) and claim(old)
    assert json.loads((new / CLAIM_FILE).read_text())["pid"] == os.getpid()
    assert [s.folder for s in find_crashed_sessions(tmp_path)] == [new, old]  # ours: still listed
    release(new)
    release(old)
    assert not (new / CLAIM_FILE).exists() and not (old / CLAIM_FILE).exists()


# ------------------------------------------------------------------ restoring in a window


@pytest.fixture
def saver_window(make_window):
    savers = []

    def make(state: Path):
        w = make_window(size=None, debounce_ms=1)
        s = AutoSaver(w, state, delay_ms=30)
        s.start()
        savers.append(s)
        return w, s

    yield make
    for s in savers:
        s.finish()


def _damaged_entries(state: Path) -> list[Path]:
    return sorted((state / DAMAGED_DIR).iterdir()) if (state / DAMAGED_DIR).is_dir() else []


def test_image_without_pipeline(saver_window, tmp_path):
    state = tmp_path / "state"
    folder = make_session(state, with_(pipeline={**PIPELINE.to_dict(), "layers": 5}))
    w, saver = saver_window(state)
    before = w.doc.pipeline
    offered = []
    saver.choose_session = lambda sessions, notes=(): offered.extend(sessions) or sessions[0]
    assert saver.offer_restore()
    assert saver.wait_restored()
    np.testing.assert_array_equal(w.doc.image, IMAGE)
    assert w.doc.image_name == "generated" and w.doc.pipeline == before
    text = w.message_label.text()
    assert "the pipeline could not be read" in text and "the image is intact" in text
    # the damaged original is kept aside, named in the message; the new session has the image
    kept = _damaged_entries(state)
    assert not folder.exists() and len(kept) == 1 and str(kept[0]) in text
    assert kept[0].name.startswith(folder.name)
    assert (kept[0] / SESSION_FILE).read_bytes() == json.dumps(
        with_(pipeline={**PIPELINE.to_dict(), "layers": 5})).encode()
    assert (saver.folder / SESSION_FILE).exists()


def test_pipeline_without_image(saver_window, tmp_path):
    state = tmp_path / "state"
    folder = make_session(state, valid_data())
    (folder / "image-1.npy").write_bytes(b"\x93NUMPY damaged")
    w, saver = saver_window(state)
    saver.choose_session = lambda sessions, notes=(): sessions[0]
    assert saver.offer_restore()
    assert w.doc.pipeline == PIPELINE and w.doc.selected == 2 and w.doc.dirty
    assert saver.wait_restored()
    assert w.doc.image is None
    assert "the autosaved image is unreadable" in w.message_label.text()
    assert not folder.exists() and len(_damaged_entries(state)) == 1  # its image is kept


def test_defaults_for_view_fields(saver_window, tmp_path):
    state = tmp_path / "state"
    make_session(state, with_(selected=[2], dirty="no", saved_at="yesterday"))
    w, saver = saver_window(state)
    saver.choose_session = lambda sessions, notes=(): sessions[0]
    assert saver.offer_restore()
    assert w.doc.pipeline == PIPELINE and w.doc.selected == 0 and w.doc.dirty
    assert saver.wait_restored()
    np.testing.assert_array_equal(w.doc.image, IMAGE)


def test_unreadable_sessions_are_kept_aside_and_named(saver_window, tmp_path):
    state = tmp_path / "state"
    broken = make_session(state, b"\x00\x01 not a session", name="broken", image=False)
    raw = (broken / SESSION_FILE).read_bytes()
    w, saver = saver_window(state)
    saver.choose_session = lambda sessions, notes=(): pytest.fail("nothing to offer")
    assert not saver.offer_restore()
    kept = _damaged_entries(state)
    assert not broken.exists() and len(kept) == 1
    assert (kept[0] / SESSION_FILE).read_bytes() == raw and not (kept[0] / CLAIM_FILE).exists()
    assert str(kept[0]) in w.message_label.text() and "not valid JSON" in w.message_label.text()
    assert time.strftime("%Y%m%d") in kept[0].name

    # With something to offer as well, the dialog is told about the one kept aside.
    broken2 = make_session(state, b"[", name="broken2", image=False)
    good = make_session(state, valid_data(), name="good")
    told = []
    saver.choose_session = lambda sessions, notes=(): told.append((sessions, notes)) and None
    assert not saver.offer_restore()
    (sessions, notes), = told
    assert [s.folder for s in sessions] == [good] and good.exists() and not broken2.exists()
    assert len(notes) == 1 and DAMAGED_DIR in notes[0] and "broken2" in notes[0]


def test_odd_paths_restore_what_they_can(saver_window, tmp_path):
    """An image path or pipeline file that is a folder, a device, a FIFO or nothing: the rest is
    restored, each problem said in one line, no exception."""
    state = tmp_path / "state"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    w, saver = saver_window(state)
    for i, odd in enumerate([str(tmp_path), "/dev/null", str(fifo), str(tmp_path / "gone.png")]):
        make_session(state, with_(image={"kind": "file", "path": odd}, pipeline_file=odd,
                                  dirty=False), name=f"odd{i}", image=False)
        saver.choose_session = lambda sessions, notes=(): sessions[0]
        assert saver.offer_restore()
        assert saver.wait_restored()
        text = w.message_label.text()
        assert "the image could not be opened again" in text
        assert "the pipeline's file could not be read" in text
        assert w.doc.pipeline == PIPELINE and w.doc.dirty  # untitled now: saving asks for a name
        assert find_crashed_sessions(state) == []
