"""One way to coalesce a burst of events on the GUI thread: :class:`Throttler` and :class:`Debouncer`.

Both are single-shot ``QTimer`` s with a pending flag, the rule of Qt's KDSignalThrottler (and of
superqt's ``QSignalThrottler`` / ``QSignalDebouncer``, which port it). Call :meth:`~_Coalescer.trigger`
(or connect a signal to it) whenever something changed; the object emits ``triggered`` according to
its rule, and the owner connects ``triggered`` to the work:

``Throttler(interval_ms)``
    At most one emission per interval, however many calls. The interval is NOT restarted by a
    call, so a steady stream of calls (a drag) emits once per interval. With ``leading=True`` (the
    default) the first call after a quiet interval emits at once, synchronously, so a single
    change waits for no timer; later calls within the interval emit once at its end, which starts
    the next interval.
``Debouncer(interval_ms)``
    Every call restarts the interval; ``triggered`` follows once the calls have stopped for a whole
    interval (trailing edge). With ``leading=True`` the first call after a quiet interval also
    emits at once. ``Debouncer(0)`` coalesces everything of one event-loop turn into one call on
    the next turn.

Every emission on the trailing edge carries the calls that came in meanwhile: a call is never lost,
only merged with its neighbours. :meth:`~_Coalescer.flush` emits a pending call now and ends the
interval; :meth:`~_Coalescer.cancel` drops it.

Why not superqt: the app needs nothing but these two objects, and they differ from superqt's in two
ways that matter here. Their state is readable (:attr:`~_Coalescer.pending`,
:attr:`~_Coalescer.active`), so tests and ``busy`` properties can wait on a condition instead of
sleeping; and a trailing-only Debouncer does not restart its timer after emitting (superqt does), so
an idle window has no timer firing for nothing. They take no arguments: the slot reads the newest
state itself, which is what every user in the app does (the Document, a view, a widget's size).

Everything here runs on the thread the object lives in (the GUI thread); see docs/developing.md,
"Threads".
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

__all__ = ["Debouncer", "Throttler"]


class _Coalescer(QObject):
    """The common machinery; use :class:`Throttler` or :class:`Debouncer`.

    Signals
    -------
    triggered()
        Do the work now (synchronously inside :meth:`trigger` for a leading call).
    """

    triggered = Signal()

    def __init__(self, interval_ms: int, *, leading: bool, restart_on_call: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if int(interval_ms) < 0:
            raise ValueError(f"interval_ms must be >= 0, got {interval_ms}")
        self._leading = bool(leading)
        self._restart_on_call = restart_on_call
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self._on_timeout)

    # ------------------------------------------------------------------ state
    @property
    def leading(self) -> bool:
        """Whether the first call after a quiet interval emits at once."""
        return self._leading

    @property
    def pending(self) -> bool:
        """Whether a call waits for the end of the interval to be emitted."""
        return self._pending

    @property
    def active(self) -> bool:
        """Whether an interval is running (a call now would not be a leading one)."""
        return self._timer.isActive()

    def interval(self) -> int:
        """The interval in milliseconds."""
        return self._timer.interval()

    def set_interval(self, interval_ms: int) -> None:
        """Change the interval; a running one restarts with the new length."""
        if int(interval_ms) < 0:
            raise ValueError(f"interval_ms must be >= 0, got {interval_ms}")
        self._timer.setInterval(int(interval_ms))

    # ------------------------------------------------------------------ calls
    def trigger(self, *_args) -> None:
        """Something changed (any arguments of a connected signal are ignored)."""
        if self._leading and not self._timer.isActive():
            self._pending = False
            self._timer.start()  # before emitting: a slot that calls trigger() is not leading
            self.triggered.emit()
            return
        self._pending = True
        if self._restart_on_call or not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Emit a pending call now and end the interval (the next call is a leading one)."""
        if self._pending:
            self._pending = False
            self._timer.stop()
            self.triggered.emit()

    def cancel(self) -> None:
        """Drop a pending call and end the interval."""
        self._pending = False
        self._timer.stop()

    def _on_timeout(self) -> None:
        if not self._pending:
            return
        self._pending = False
        if self._leading:
            # The emission below starts a new interval: a call right after it is not leading.
            self._timer.start()
        self.triggered.emit()


class Throttler(_Coalescer):
    """At most one ``triggered`` per `interval_ms`, the first at once (``leading=True``) or at the
    end of the first interval (``leading=False``); see the module docstring."""

    def __init__(self, interval_ms: int, *, leading: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(interval_ms, leading=leading, restart_on_call=False, parent=parent)


class Debouncer(_Coalescer):
    """``triggered`` once the calls stopped for `interval_ms` (and, with ``leading=True``, also at
    the first call after a quiet interval); see the module docstring."""

    def __init__(self, interval_ms: int, *, leading: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(interval_ms, leading=leading, restart_on_call=True, parent=parent)
