"""The app's one background worker (convstudio.app.model.worker.Worker): newest job wins,
cancellation through the core's cancel.check, results on the GUI thread, errors as messages,
a clean shutdown.

Jobs synchronise with the test through threading.Events (a job waits for a gate, the test waits
for a job to have started); the test waits for deliveries with wait_idle / qtbot.waitUntil. No
fixed sleeps.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from convstudio.app.model.worker import Worker
from convstudio.core import Conv2d, ConvStudioError, Pipeline, RunCancelled
from convstudio.core.cancel import check

WAIT_S = 20.0  # bounds for conditions that hold within milliseconds on an idle machine


class Log:
    def __init__(self, worker: Worker) -> None:
        self.done: list[tuple[int, object]] = []
        self.failed: list[tuple[int, str]] = []
        self.progress: list[tuple[int, object]] = []
        self.threads: set[str] = set()
        worker.done.connect(self._on_done)
        worker.failed.connect(lambda t, m: self.failed.append((t, m)))
        worker.progressed.connect(lambda t, p: self.progress.append((t, p)))

    def _on_done(self, token: int, result: object) -> None:
        self.threads.add(threading.current_thread().name)
        self.done.append((token, result))


@pytest.fixture
def worker(qapp):
    w = Worker("test worker")
    yield w
    assert w.shutdown(), "the worker thread did not stop"
    assert not w.running


def test_the_newest_job_wins(worker):
    log = Log(worker)
    started: list[str] = []
    a_runs, gate = threading.Event(), threading.Event()
    a_saw: list[bool] = []

    def job(name):
        def run(ctx):
            started.append(name)
            if name == "a":
                a_runs.set()
                assert gate.wait(WAIT_S)
                a_saw.append(ctx.cancelled())
            return name
        return run

    worker.submit(job("a"))
    assert a_runs.wait(WAIT_S)
    worker.submit(job("b"))  # waits in the mailbox while "a" runs ...
    last = worker.submit(job("c"))  # ... and is replaced: it never runs
    assert worker.busy and worker.latest == last
    gate.set()
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert started == ["a", "c"]
    assert a_saw == [True]  # the running job was told that it is stale
    assert log.done == [(last, "c")] and log.failed == []  # the stale "a" was never delivered
    assert log.threads == {threading.main_thread().name}  # delivered on the GUI thread


def test_cancel_stops_a_running_job_through_the_cores_check(worker):
    log = Log(worker)
    inside, left = threading.Event(), threading.Event()
    seen: list[str] = []

    def endless(_ctx):
        try:
            while True:
                inside.set()
                check()  # what the core's long loops call
                left.wait(0.001)  # (gives the GIL away; `left` is only set below)
        except RunCancelled:
            seen.append("cancelled")
            raise
        finally:
            left.set()

    worker.submit(endless)
    assert inside.wait(WAIT_S) and worker.busy
    worker.cancel()
    assert not worker.busy  # nothing is expected any more
    assert left.wait(WAIT_S) and seen == ["cancelled"]
    # the worker goes on with the next job
    token = worker.submit(lambda ctx: 42)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert log.done == [(token, 42)] and log.failed == []


def test_a_newer_job_stops_a_long_core_computation(worker):
    # A real core run: 63 x 63 kernels (no cheap path) on a large image take seconds per layer.
    kernel = np.random.default_rng(0).random((63, 63), dtype=np.float32) / 3969
    slow = Pipeline(tuple(Conv2d(kernel=kernel, padding="same") for _ in range(8)))
    x = np.ones((1, 1500, 1500), np.float32)
    log = Log(worker)
    layers: list[int] = []

    def run(ctx):
        y = x
        for i, layer in enumerate(slow.layers, 1):
            y = layer.forward(y)  # asks cancel.check() inside: the worker installed the question
            layers.append(i)
            ctx.progress(i)
        return y

    worker.submit(run)
    while not layers:  # the first layer is done: the run is inside the second one
        assert worker.wait_idle(10) is False
    token = worker.submit(lambda ctx: "quick")
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert log.done == [(token, "quick")]
    assert len(layers) < 8  # the long run did not go on to the end
    assert all(t != token for t, _ in log.progress)


def test_progress_arrives_in_order_before_the_result(worker):
    log = Log(worker)

    def job(ctx):
        for i in range(5):
            ctx.progress(i)
        return "end"

    token = worker.submit(job)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert log.progress == [(token, i) for i in range(5)] and log.done == [(token, "end")]


@pytest.mark.parametrize("error, message", [
    (ConvStudioError("the kernel is too large"), "the kernel is too large"),
    (FileNotFoundError(2, "No such file or directory"), "No such file or directory"),
    (MemoryError(), "not enough memory for this computation"),
    (ZeroDivisionError("division by zero"), "internal error: ZeroDivisionError: division by zero"),
])
def test_an_exception_becomes_a_failed_signal_without_a_traceback(worker, capfd, error, message):
    log = Log(worker)

    def job(_ctx):
        raise error

    token = worker.submit(job)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert log.done == [] and len(log.failed) == 1
    got_token, got = log.failed[0]
    assert got_token == token and message in got
    assert capfd.readouterr().err == ""  # nothing printed
    again = worker.submit(lambda ctx: "alive")  # the thread did not die
    assert worker.wait_idle(int(WAIT_S * 1000)) and log.done == [(again, "alive")]


@pytest.mark.parametrize("error, message", [
    (MemoryError(), "内存不足，无法完成这次计算"),
    (ZeroDivisionError("division by zero"), "内部错误：ZeroDivisionError：division by zero"),
])
def test_the_workers_own_messages_are_in_the_interfaces_language(worker, error, message):
    """Its two sentences follow the interface's language; the exception's own text stays."""
    from convstudio.app import i18n

    log = Log(worker)

    def job(_ctx):
        raise error

    i18n.set_language(i18n.CHINESE)
    try:
        worker.submit(job)
        assert worker.wait_idle(int(WAIT_S * 1000))
    finally:
        i18n.set_language(i18n.ENGLISH)
    assert [m for _t, m in log.failed] == [message]


def test_pause_ends_early_when_the_job_becomes_stale(worker):
    paused = threading.Event()
    outcome: list[bool] = []

    def job(ctx):
        paused.set()
        outcome.append(ctx.pause(60.0))  # a minute, unless something newer comes
        return None

    worker.submit(job)
    assert paused.wait(WAIT_S)
    worker.submit(lambda ctx: None)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert outcome == [True]


@pytest.mark.parametrize("early", [False, True])
def test_resume_ends_the_pause_of_its_own_job_only(worker, early):
    """Worker.resume(token) ends that job's pause, also when it comes before the pause began;
    another token's resume does not (the job is not stale: it returns False)."""
    started, go_on = threading.Event(), threading.Event()
    outcome: list[bool] = []

    def job(ctx):
        started.set()
        go_on.wait(WAIT_S)
        outcome.append(ctx.pause(60.0))
        return "done"

    log = Log(worker)
    token = worker.submit(job)
    assert started.wait(WAIT_S)
    worker.resume(token + 1)  # not this job
    if early:
        worker.resume(token)
        go_on.set()
    else:
        go_on.set()
        threading.Event().wait(0.05)  # (inside its pause now, most likely)
        assert outcome == []
        worker.resume(token)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert outcome == [False] and log.done == [(token, "done")]


def test_shutdown_during_a_job_waits_for_the_thread_and_ends_submits(worker):
    inside = threading.Event()

    def endless(_ctx):
        while True:
            inside.set()
            check()
            threading.Event().wait(0.001)

    worker.submit(endless)
    assert inside.wait(WAIT_S) and worker.running
    assert worker.shutdown(int(WAIT_S * 1000))
    assert not worker.running and worker.closed and not worker.busy
    latest = worker.latest
    assert worker.submit(lambda ctx: 1) == latest  # ignored: no new thread
    assert not worker.running and not worker.busy
    assert worker.shutdown()  # twice is fine


def test_an_idle_worker_gets_a_head_start(worker):
    # While the submitter waits for the head start, the job runs alone; release() ends it.
    order: list[str] = []
    worker.submit(lambda ctx: None)
    assert worker.wait_idle(int(WAIT_S * 1000))  # the thread exists and waits for work

    def job(ctx):
        order.append("job stage 1")
        ctx.release()
        return None

    worker.submit(job, head_start_s=WAIT_S)
    order.append("submit returned")
    assert order == ["job stage 1", "submit returned"]
    assert worker.wait_idle(int(WAIT_S * 1000))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux only")
def test_jobs_run_at_a_lower_cpu_priority_than_the_gui_thread(worker):
    import os

    from convstudio.app.model.worker import BACKGROUND_NICE

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker.submit(lambda ctx: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    log = Log(worker)
    assert worker.wait_idle(int(WAIT_S * 1000))
    assert log.done and log.done[0][1] == min(19, gui + BACKGROUND_NICE)
