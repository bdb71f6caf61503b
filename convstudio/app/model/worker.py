"""One background job at a time, newest wins: the worker behind the "seeing why" panels.

The effective receptive field, the OpenCV cross-check, the border-mode comparison and the combined
kernel can each take from milliseconds to seconds on a large image. Each panel owns one
:class:`BackgroundTask`: ``submit(fn)`` hands ``fn(cancelled)`` to the task's own worker thread and
returns a token. A newer submit makes every older job stale at once: a job still waiting is
replaced (a one-slot mailbox, as in the renderer), a running one sees ``cancelled()`` turn True and
may stop early (raise :class:`~convstudio.core.RunCancelled`), and a stale result is never emitted.

There is no synchronous mode: tests wait on the signals or on :meth:`BackgroundTask.wait_idle`.
``shutdown()`` stops the thread and waits for it: a QThread left running when the application
quits aborts the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from convstudio.core import ConvStudioError, RunCancelled

__all__ = ["BackgroundTask", "Job", "process_events_until"]


def process_events_until(done: Callable[[], bool], timeout_ms: int, *, quiet_turns: int = 1) -> bool:
    """Run the GUI thread's event loop until ``done()`` has held for `quiet_turns` turns in a row
    (True) or `timeout_ms` ran out (False). Between turns it sleeps 2 ms, so a worker that needs
    the GIL gets it. The one wait of the app: the renderer, the background tasks, image loads and
    the window's ``wait_idle`` all use it."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

    deadline = QDeadlineTimer(timeout_ms)
    app = QCoreApplication.instance()
    quiet = 0
    while quiet < quiet_turns and not deadline.hasExpired():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if done():
            quiet += 1
        else:
            quiet = 0
            QThread.msleep(2)
    return done()

Job = Callable[[Callable[[], bool]], Any]
"""A job: called with ``cancelled`` (a no-argument callable), returns the result."""


class _TaskThread(QThread):
    result = Signal(int, bool, object)  # token, ok, result or error message

    def __init__(self, name: str, latest: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._latest = latest
        self._cond = threading.Condition()
        self._pending: tuple[int, Job] | None = None
        self._stop = False

    def submit(self, token: int, fn: Job) -> None:
        with self._cond:
            self._pending = (token, fn)
            self._cond.notify()

    def request_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()

    def run(self) -> None:  # worker thread
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                (token, fn), self._pending = self._pending, None

            def cancelled(t: int = token) -> bool:
                return self._stop or t != self._latest()

            if cancelled():
                continue
            ok, payload = _call(fn, cancelled)
            if cancelled():
                continue
            if ok is None:  # gave up although still wanted: say so rather than stay busy
                ok, payload = False, "cancelled"
            self.result.emit(token, ok, payload)


def _call(fn: Job, cancelled: Callable[[], bool]) -> tuple[bool | None, Any]:
    """(True, result), (False, message) or (None, None) when the job gave up as cancelled."""
    try:
        return True, fn(cancelled)
    except RunCancelled:
        return None, None
    except ConvStudioError as exc:
        return False, str(exc)
    except MemoryError:
        return False, "not enough memory for this computation"
    except Exception as exc:  # noqa: BLE001 - a worker must never die; the panel reports it
        return False, f"internal error: {type(exc).__name__}: {exc}"


class BackgroundTask(QObject):
    """Runs one job at a time off the GUI thread; only the newest job's result is delivered.

    Signals (GUI thread, newest token only)
    -------
    done(int token, object result)
    failed(int token, str message)
        The job raised: a ConvStudioError's message, or "internal error: ...".
    """

    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._token = 0
        self._done_token = 0
        self._thread: _TaskThread | None = None
        self._closed = False

    @property
    def latest(self) -> int:
        """Token of the newest job submitted (0 before the first)."""
        return self._token

    @property
    def busy(self) -> bool:
        """Whether the newest job has not delivered its result yet."""
        return self._done_token != self._token

    def submit(self, fn: Job) -> int:
        """Queue ``fn(cancelled)``; every older job becomes stale. Returns the new token."""
        if self._closed:
            return self._token
        self._token += 1
        token = self._token
        self._ensure_thread().submit(token, fn)
        return token

    def cancel(self) -> None:
        """Make whatever is queued or running stale (nothing will be delivered)."""
        self._token += 1
        self._done_token = self._token

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Process events until the newest job delivered (True) or time ran out."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and wait for it (True if it stopped). Safe to call twice."""
        self._closed = True
        self.cancel()
        return self._stop_thread(timeout_ms)

    # ---------------------------------------------------------------- internals
    def _ensure_thread(self) -> _TaskThread:
        if self._thread is None:
            self._thread = _TaskThread(self._name, lambda: self._token, self)
            self._thread.result.connect(self._on_result)
            self._thread.start()
        return self._thread

    def _stop_thread(self, timeout_ms: int = 10_000) -> bool:
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.request_stop()
        ok = thread.wait(timeout_ms)
        thread.result.disconnect(self._on_result)
        return bool(ok)

    def _on_result(self, token: int, ok: bool, payload: Any) -> None:
        if token != self._token or self._closed:
            return  # stale: a newer job was submitted meanwhile
        self._deliver(token, ok, payload)

    def _deliver(self, token: int, ok: bool, payload: Any) -> None:
        self._done_token = token
        if ok:
            self.done.emit(token, payload)
        else:
            self.failed.emit(token, str(payload))
