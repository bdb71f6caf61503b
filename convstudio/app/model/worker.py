"""The app's one way of working off the GUI thread: :class:`Worker`, newest job wins.

A :class:`Worker` owns one thread (a ``QThread``, started on the first job) and a one-slot
mailbox. ``submit(fn)`` hands ``fn(ctx)`` to the thread and returns a token; ``ctx`` is a
:class:`JobContext`. A newer submit (or :meth:`Worker.cancel`) makes every older job stale at once:

* a job still waiting in the mailbox is replaced and never runs;
* a running job sees ``ctx.cancelled()`` turn True. The job runs inside
  :func:`convstudio.core.cancel.cancellable` with that question, so the core's long loops
  (row strips, FFT tiles, pool tasks) raise :class:`~convstudio.core.RunCancelled` by themselves
  at their next :func:`~convstudio.core.cancel.check`;
* nothing a stale job returns or reports is ever delivered.

Results reach the GUI thread through queued signals and are checked again there against the
newest token, so a slot never sees a stale one: ``progressed(token, payload)`` for what the job
reports on the way (:meth:`JobContext.progress`), then ``done(token, result)`` or
``failed(token, message)``. An exception in a job never escapes the thread and never prints a
traceback: a :class:`~convstudio.core.ConvStudioError` or an ``OSError`` becomes its own message,
``MemoryError`` a sentence about memory, anything else ``"internal error: Type: text"`` (these
two in the interface's language, made on the GUI thread as the signal goes out).

Users: the renderer (``model/renderer.py``, two stages per job with :meth:`JobContext.pause` and
:meth:`JobContext.release`), the "seeing why" panels (``window/insight_jobs.py``), the border-mode
dialog, image loading and pipeline files (``window/files.py``), code export
(``window/insight_actions.py``), export (``dialogs/export.py``) and the autosaver
(``model/autosave.py``).

Only plain values cross threads: the job and what it returns (NumPy arrays, frozen dataclasses,
strings). See docs/developing.md, "Threads". There is no synchronous mode: tests wait on the
signals or with :meth:`Worker.wait_idle`. :meth:`Worker.shutdown` stops the thread and waits for
it: a ``QThread`` still running when the application quits aborts the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from convstudio.app.i18n import tr, tr_noop
from convstudio.core import ConvStudioError, RunCancelled, fastpaths
from convstudio.core.cancel import cancellable

__all__ = ["Job", "JobContext", "Worker", "process_events_until"]


def process_events_until(done: Callable[[], bool], timeout_ms: int, *, quiet_turns: int = 1) -> bool:
    """Run the GUI thread's event loop until ``done()`` has held for `quiet_turns` turns in a row
    (True) or `timeout_ms` ran out (False). Between turns it sleeps 2 ms, so a worker that needs
    the GIL gets it. The one wait of the app: every :class:`Worker`, the renderer and the window's
    ``wait_idle`` use it."""
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


class JobContext:
    """What a job gets from its worker (on the worker thread). Calling the context is asking
    :meth:`cancelled`, so it can be passed wherever the core takes a ``cancelled`` callable."""

    __slots__ = ("token", "_thread", "_released")

    def __init__(self, token: int, thread: _WorkerThread, released: threading.Event) -> None:
        self.token = token
        self._thread = thread
        self._released = released

    def cancelled(self) -> bool:
        """Whether the job is stale (a newer one was submitted, it was cancelled, or the worker
        shuts down): its result will not be delivered, it may stop (raise RunCancelled)."""
        return self._thread.stopping or self.token != self._thread.latest()

    __call__ = cancelled

    def progress(self, payload: Any) -> None:
        """Send `payload` to the GUI thread now (``Worker.progressed``), unless the job is stale."""
        if not self.cancelled():
            self._thread.progress.emit(self.token, payload)

    def pause(self, seconds: float) -> bool:
        """Wait up to `seconds` without holding the GIL; returns :meth:`cancelled` (a newer job or
        a cancel ends the wait at once, and so does :meth:`Worker.resume` with this job's token,
        even one that came before the pause began)."""
        return self._thread.pause(seconds, self)

    def release(self) -> None:
        """End the submitter's head start now (see :meth:`Worker.submit`)."""
        self._released.set()


#: How much lower than the GUI thread's the CPU priority of a worker thread is (its nice value
#: is raised by this much, on Linux, where nice is per thread; the core's pool threads take the
#: nice value of the thread they work for). When the app's own work fills every core (the
#: renderer's threads and the map shrinker on 2 cores) the scheduler then runs the GUI thread
#: sooner. 10, not 19: measured on 2 cores while a 24 MP photo opens at full resolution, the
#: longest stall of the event loop was 70-100 ms at 0, 62-74 ms at 10 and 44 ms at 19, but at 19
#: the renders would also wait behind every other program on the machine.
BACKGROUND_NICE = 10


def _lower_this_threads_priority() -> None:
    nice = fastpaths.thread_nice()
    if nice is not None:
        fastpaths.set_thread_nice(min(19, nice + BACKGROUND_NICE))


Job = Callable[[JobContext], Any]
"""A job: called on the worker thread with its :class:`JobContext`, returns the result."""

_DONE, _FAILED = 0, 1


def _call(fn: Job, ctx: JobContext) -> tuple[int | None, Any]:
    """(_DONE, result), (_FAILED, message), or (None, None) when the job gave up as cancelled."""
    try:
        with cancellable(ctx.cancelled):
            return _DONE, fn(ctx)
    except RunCancelled:
        return None, None
    except (ConvStudioError, OSError) as exc:
        return _FAILED, str(exc)
    except MemoryError:
        return _FAILED, (tr_noop("not enough memory for this computation"), {})
    except Exception as exc:  # noqa: BLE001 - a worker must never die; its owner reports this
        return _FAILED, (tr_noop("internal error: {type}: {why}"), {"type": type(exc).__name__, "why": exc})


class _WorkerThread(QThread):
    """The loop over the one-slot mailbox (everything but ``submit`` / ``wake`` / ``request_stop``
    runs on the worker thread)."""

    progress = Signal(int, object)  # token, payload
    result = Signal(int, int, object)  # token, _DONE / _FAILED, result or message

    def __init__(self, name: str, latest: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.latest = latest
        self.stopping = False
        self._cond = threading.Condition()
        self._pending: tuple[int, Job, threading.Event] | None = None
        self._waiting = False  # no job runs, or the job pauses
        self._resumed = 0  # the token whose pause Worker.resume ended (or will end)

    def submit(self, token: int, fn: Job, head_start_s: float) -> None:  # GUI thread
        released = threading.Event()
        with self._cond:
            self._pending = (token, fn, released)
            idle = self._waiting
            self._cond.notify()
        if idle and head_start_s > 0:
            # Waiting releases the GIL: the job gets it to itself (see Worker.submit).
            released.wait(head_start_s)

    def wake(self) -> None:  # GUI thread: a cancel ends a job's pause
        with self._cond:
            self._cond.notify()

    def resume(self, token: int) -> None:  # GUI thread
        with self._cond:
            self._resumed = token
            self._cond.notify()

    def request_stop(self) -> None:  # GUI thread
        with self._cond:
            self.stopping = True
            self._pending = None
            self._cond.notify()

    def pause(self, seconds: float, ctx: JobContext) -> bool:
        with self._cond:
            self._waiting = True
            try:
                self._cond.wait_for(lambda: ctx.cancelled() or self._resumed == ctx.token, seconds)
                return ctx.cancelled()
            finally:
                self._waiting = False

    def run(self) -> None:  # worker thread
        _lower_this_threads_priority()
        while True:
            with self._cond:
                self._waiting = True
                while self._pending is None and not self.stopping:
                    self._cond.wait()
                self._waiting = False
                if self.stopping:
                    return
                (token, fn, released), self._pending = self._pending, None
            ctx = JobContext(token, self, released)
            try:
                if ctx.cancelled():
                    continue
                outcome, payload = _call(fn, ctx)
            finally:
                with self._cond:
                    self._waiting = True  # idle from here on, before the result is delivered
                released.set()
            if ctx.cancelled():
                continue
            if outcome is None:  # gave up although still wanted: say so rather than stay busy
                outcome, payload = _FAILED, "cancelled"
            self.result.emit(token, outcome, payload)


class Worker(QObject):
    """Runs one job at a time off the GUI thread; only the newest job is delivered.

    Signals (GUI thread, newest token only)
    -------
    progressed(int token, object payload)
        What the running job sent with :meth:`JobContext.progress`.
    done(int token, object result)
        The job returned `result`.
    failed(int token, str message)
        The job raised (see the module docstring for the message).
    """

    progressed = Signal(int, object)
    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._token = 0
        self._done_token = 0
        self._thread: _WorkerThread | None = None
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def latest(self) -> int:
        """Token of the newest job submitted (0 before the first)."""
        return self._token

    @property
    def busy(self) -> bool:
        """Whether the newest job has not delivered its result yet."""
        return self._done_token != self._token

    @property
    def running(self) -> bool:
        """Whether the worker thread runs (from the first job until :meth:`shutdown` saw it end)."""
        return self._thread is not None

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called (a submit is then ignored)."""
        return self._closed

    def submit(self, fn: Job, *, head_start_s: float = 0.0) -> int:
        """Queue ``fn(ctx)``; every older job becomes stale. Returns the new token.

        ``head_start_s``: if the thread is idle, wait up to this long (the GIL released) before
        returning, until the job calls :meth:`JobContext.release` or ends: a short first stage then
        runs without competing with the GUI thread for the GIL (the renderer's quick stage).
        """
        if self._closed:
            return self._token
        self._token += 1
        token = self._token
        self._ensure_thread().submit(token, fn, head_start_s)
        return token

    def cancel(self) -> None:
        """Make whatever is queued or running stale: nothing of it will be delivered, and the
        running job is asked to stop."""
        self._token += 1
        self._done_token = self._token
        if self._thread is not None:
            self._thread.wake()

    def resume(self, token: int) -> None:
        """End job `token`'s :meth:`JobContext.pause` now (or as soon as it begins): what it
        waited for happened."""
        if self._thread is not None:
            self._thread.resume(token)

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Process events until the newest job delivered (True) or time ran out."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the thread and wait for it (True if it stopped). Safe to call twice."""
        self._closed = True
        self.cancel()
        thread = self._thread
        if thread is None:
            return True
        thread.request_stop()
        if not thread.wait(timeout_ms):
            return False  # still inside a job that does not ask: `running` stays True
        self._thread = None
        thread.progress.disconnect(self._on_progress)
        thread.result.disconnect(self._on_result)
        return True

    # ---------------------------------------------------------------- internals
    def _ensure_thread(self) -> _WorkerThread:
        if self._thread is None:
            self._thread = _WorkerThread(self._name, lambda: self._token, self)
            self._thread.progress.connect(self._on_progress)
            self._thread.result.connect(self._on_result)
            self._thread.start()
        return self._thread

    def _on_progress(self, token: int, payload: Any) -> None:
        if token == self._token and not self._closed:
            self.progressed.emit(token, payload)

    def _on_result(self, token: int, outcome: int, payload: Any) -> None:
        if token != self._token or self._closed:
            return  # stale: a newer job was submitted (or a cancel came) meanwhile
        self._done_token = token
        if outcome == _DONE:
            self.done.emit(token, payload)
        else:
            # the worker's own sentences in the interface's language (made here, on the GUI
            # thread); a reason from the core or the system stays as it is
            if isinstance(payload, tuple):
                source, fields = payload
                payload = tr(source).format(**fields)
            self.failed.emit(token, str(payload))
