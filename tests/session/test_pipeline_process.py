"""Large pipeline files are read and written in a child process (``session/pipeline_process.py``)
with exactly the results, files and errors of Pipeline.load / Pipeline.save in the process."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from convstudio.core import Conv2d, ConvStudioError, MaxPool2d, Pipeline, PipelineError, ReLU, RunCancelled
from convstudio.session import pipeline_process
from convstudio.session.pipeline_process import load_pipeline, pipeline_bytes, save_pipeline


def big_pipeline(seed: int = 0) -> Pipeline:
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((16, 3, 5, 5)).astype(np.float32)
    w2 = (rng.standard_normal((16, 16, 3, 3)) * 1e-3).astype(np.float32)
    w2[0, 0, 0, 0] = -0.0
    return Pipeline((Conv2d(weight=w1, bias=rng.standard_normal(16).astype(np.float32), padding=2),
                     ReLU(), MaxPool2d(kernel_size=2),
                     Conv2d(weight=w2, padding="same", padding_mode="reflect")), name="big")


@pytest.fixture
def small_limit(monkeypatch):
    """Every file counts as large (above 1 kB): the child does the work."""
    monkeypatch.setattr(pipeline_process, "CHILD_ABOVE_BYTES", 1024)


@pytest.fixture
def no_work_here(monkeypatch):
    """Pipeline.load / save in this process fail the test: only the child may run them."""
    def refuse(*_a, **_k):
        raise AssertionError("ran in the parent process")

    monkeypatch.setattr(Pipeline, "load", staticmethod(refuse))
    monkeypatch.setattr(Pipeline, "save", refuse)


def test_a_large_file_is_read_in_a_child_and_equals_pipeline_load(tmp_path, small_limit, monkeypatch):
    p = big_pipeline()
    assert pipeline_bytes(p) > 1024
    p.save(tmp_path / "p.json")
    expected = Pipeline.load(tmp_path / "p.json")
    with monkeypatch.context() as m:
        m.setattr(Pipeline, "load", staticmethod(lambda *_a: pytest.fail("read in the parent")))
        got = load_pipeline(tmp_path / "p.json")
    assert got == expected and got.name == "big"
    for a, b in zip(got.layers, expected.layers, strict=True):
        if isinstance(a, Conv2d):  # the same float32 bits, signed zeros included
            assert a.weight.dtype == np.float32
            assert a.weight.tobytes() == b.weight.tobytes()


def test_a_large_pipeline_is_written_by_a_child(tmp_path, small_limit, no_work_here):
    p = big_pipeline(1)
    save_pipeline(p, tmp_path / "child.json")  # Pipeline.save here would fail the test
    assert Pipeline.from_json((tmp_path / "child.json").read_text(encoding="utf-8")) == p


def test_the_childs_file_is_the_one_pipeline_save_writes(tmp_path, small_limit):
    p = big_pipeline(1)
    save_pipeline(p, tmp_path / "child.json")
    p.save(tmp_path / "here.json")
    assert (tmp_path / "child.json").read_bytes() == (tmp_path / "here.json").read_bytes()


@pytest.mark.parametrize("text", [
    '{"format": "convstudio-pipeline", "layers": [' + "1," * 2000 + "]}",  # not JSON
    '{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", "kernel": ['
    + ", ".join(["[1, 2]"] * 600) + ", [1]]}]}",  # ragged
    '{"format": "something else", "layers": [], "pad": "' + "x" * 2000 + '"}',
])
def test_a_malformed_file_gives_the_same_error_as_pipeline_load(tmp_path, small_limit, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConvStudioError) as here:
        Pipeline.load(path)
    with pytest.raises(type(here.value)) as child:
        load_pipeline(path)
    assert str(child.value) == str(here.value)


def test_a_write_that_fails_gives_the_same_error_as_pipeline_save(tmp_path, small_limit):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "p.json"  # a part of the path is a file
    with pytest.raises(ConvStudioError) as here:
        big_pipeline().save(target)
    with pytest.raises(type(here.value)) as child:
        save_pipeline(big_pipeline(), target)
    assert str(child.value) == str(here.value)


def test_small_files_stay_in_the_process(tmp_path, monkeypatch):
    p = Pipeline((Conv2d(kernel=[[1.0, -1.0]]),))
    p.save(tmp_path / "small.json")
    monkeypatch.setattr(pipeline_process.subprocess, "Popen",
                        lambda *_a, **_k: pytest.fail("a child for a small file"))
    assert load_pipeline(tmp_path / "small.json") == p
    save_pipeline(p, tmp_path / "small2.json")
    assert Pipeline.load(tmp_path / "small2.json") == p


def test_without_a_child_the_work_is_done_here(tmp_path, small_limit, monkeypatch):
    p = big_pipeline(2)
    p.save(tmp_path / "p.json")
    monkeypatch.setattr(pipeline_process.sys, "executable", "/nonexistent/python")
    assert load_pipeline(tmp_path / "p.json") == Pipeline.load(tmp_path / "p.json")
    save_pipeline(p, tmp_path / "q.json")
    assert (tmp_path / "q.json").read_bytes() == (tmp_path / "p.json").read_bytes()


def test_a_child_that_dies_leaves_the_work_to_the_process(tmp_path, small_limit, monkeypatch):
    p = big_pipeline(3)
    p.save(tmp_path / "p.json")
    monkeypatch.setattr(pipeline_process, "_CHILD", "import os; os._exit(3)")
    assert load_pipeline(tmp_path / "p.json") == p


def test_cancelling_a_read_kills_the_child(tmp_path, small_limit, monkeypatch):
    p = big_pipeline(4)
    p.save(tmp_path / "p.json")
    # a child that never answers
    monkeypatch.setattr(pipeline_process, "_CHILD", "import time; time.sleep(60)")
    started = time.monotonic()
    flag = threading.Event()
    threading.Timer(0.3, flag.set).start()
    with pytest.raises(RunCancelled):
        load_pipeline(tmp_path / "p.json", cancelled=flag.is_set)
    assert time.monotonic() - started < 10


def test_the_error_classes_come_back_as_themselves(tmp_path, small_limit):
    assert sys.executable
    path = tmp_path / "missing.json"
    with pytest.raises(PipelineError):
        Pipeline.load(path)
    with pytest.raises(PipelineError):  # a missing file: no child, Pipeline.load says why
        load_pipeline(path)


def test_a_request_larger_than_a_pipe_is_sent_whole(tmp_path, small_limit):
    """The pipeline goes to the child over its stdin: far more than a pipe holds (64 KiB)."""
    rng = np.random.default_rng(6)
    p = Pipeline((Conv2d(weight=rng.standard_normal((64, 64, 3, 3)).astype(np.float32)),))
    assert pipeline_bytes(p) > 1 << 17
    outcome: list = []
    t = threading.Thread(target=lambda: outcome.append(save_pipeline(p, tmp_path / "p.json")),
                         daemon=True)
    t.start()
    t.join(60)
    assert outcome == [None], "the write did not end"
    assert Pipeline.load(tmp_path / "p.json") == p
