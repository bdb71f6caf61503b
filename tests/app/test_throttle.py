"""Throttler and Debouncer (convstudio.app.model.throttle): leading and trailing edges, what
restarts an interval, flush and cancel. Tests wait on conditions (qtbot.waitUntil, or a loop of
event-loop turns until a clock condition holds), never a fixed sleep; timing bounds leave room
for Qt's coarse timers (which may fire up to 5 % early)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QCoreApplication

from convstudio.app.model.throttle import Debouncer, Throttler


class Count:
    def __init__(self, coalescer) -> None:
        self.times: list[float] = []
        coalescer.triggered.connect(lambda: self.times.append(time.monotonic()))

    def __len__(self) -> int:
        return len(self.times)


def keep_calling(coalescer, seconds: float) -> list[float]:
    """Call trigger() on every event-loop turn for `seconds`; the times of the calls."""
    end = time.monotonic() + seconds
    calls = []
    while time.monotonic() < end:
        calls.append(time.monotonic())
        coalescer.trigger()
        QCoreApplication.processEvents()
    return calls


def quiet_before(emitted: float, calls: list[float]) -> float:
    """How long before `emitted` the last call came."""
    return emitted - max(c for c in calls if c <= emitted)


def test_leading_throttler_emits_at_once_then_once_per_interval(qtbot):
    t = Throttler(150)
    n = Count(t)
    t.trigger()
    assert len(n) == 1 and t.active and not t.pending  # synchronous: no timer to wait for
    t.trigger()
    t.trigger()
    assert len(n) == 1 and t.pending  # coalesced into one trailing emission
    qtbot.waitUntil(lambda: len(n) == 2, timeout=5000)
    assert n.times[1] - n.times[0] >= 0.9 * 0.150
    assert t.active  # the trailing emission started the next interval: a call now waits
    t.trigger()
    assert len(n) == 2
    qtbot.waitUntil(lambda: len(n) == 3, timeout=5000)
    qtbot.waitUntil(lambda: not t.active, timeout=5000)  # quiet: the interval ends, no emission
    assert len(n) == 3 and not t.pending
    t.trigger()  # after a quiet interval: leading again
    assert len(n) == 4


def test_a_steady_stream_is_throttled_not_postponed(qtbot):
    t = Throttler(50)
    n = Count(t)
    # Calls on every turn for half a second: one emission per interval, not one at the end
    # (a debouncer would emit once, after the last call).
    calls = keep_calling(t, 0.5)
    gaps = [b - a for a, b in zip(n.times, n.times[1:])]
    assert len(n) >= 3 and min(gaps) >= 0.9 * 0.050  # at most one per interval
    assert n.times[1] < calls[-1]  # emitted while the calls went on


def test_trailing_debouncer_waits_for_a_quiet_interval(qtbot):
    d = Debouncer(60)
    n = Count(d)
    calls = keep_calling(d, 0.3)  # five intervals of calls: each call restarts the interval
    qtbot.waitUntil(lambda: bool(n.times) and n.times[-1] > calls[-1], timeout=5000)
    # Only after a quiet interval (none at all while the calls came every turn, unless this
    # process was held up for a whole interval).
    assert all(quiet_before(e, calls) >= 0.9 * 0.060 for e in n.times)
    assert not d.active and not d.pending  # a trailing-only debouncer leaves no timer running


def test_leading_debouncer_emits_first_and_after_the_burst(qtbot):
    d = Debouncer(60, leading=True)
    n = Count(d)
    d.trigger()
    assert len(n) == 1
    calls = keep_calling(d, 0.2)
    qtbot.waitUntil(lambda: n.times[-1] > calls[-1], timeout=5000)
    assert all(quiet_before(e, calls) >= 0.9 * 0.060 for e in n.times[1:])
    count = len(n)
    d.trigger()  # within the interval that the trailing emission started
    assert len(n) == count and d.pending


def test_zero_interval_debouncer_coalesces_one_event_loop_turn(qtbot):
    d = Debouncer(0)
    n = Count(d)
    for _ in range(10):
        d.trigger()
    assert len(n) == 0
    qtbot.waitUntil(lambda: len(n) == 1, timeout=5000)
    qtbot.waitUntil(lambda: not d.active, timeout=5000)
    assert len(n) == 1


def test_flush_and_cancel(qtbot):
    t = Throttler(10_000)
    n = Count(t)
    t.trigger()
    t.trigger()
    assert len(n) == 1 and t.pending
    t.flush()  # now, and the interval ends
    assert len(n) == 2 and not t.active and not t.pending
    t.flush()  # nothing pending: nothing happens
    assert len(n) == 2
    t.trigger()  # leading again after a flush
    assert len(n) == 3
    t.trigger()
    t.cancel()
    assert not t.pending and not t.active and len(n) == 3


def test_a_slot_that_triggers_again_is_not_a_leading_call(qtbot):
    t = Throttler(100)
    calls: list[int] = []

    def slot():
        calls.append(len(calls))
        if len(calls) == 1:
            t.trigger()  # a change made while handling the first one

    t.triggered.connect(slot)
    t.trigger()
    assert calls == [0] and t.pending  # no recursion: it waits for the interval
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=5000)


def test_interval_is_checked_and_can_change():
    with pytest.raises(ValueError, match="interval_ms"):
        Debouncer(-1)
    d = Debouncer(50)
    assert d.interval() == 50
    d.set_interval(6000)
    assert d.interval() == 6000
    with pytest.raises(ValueError, match="interval_ms"):
        d.set_interval(-5)
