"""Cycles are collected on the GUI thread only: a worker thread that happened to trigger the
cyclic collector used to destroy Qt objects there and deadlock against the GUI thread."""

from __future__ import annotations

import gc
import threading


def test_the_app_collects_cycles_on_the_gui_thread_only(qtbot, gui_thread_garbage_collection):
    assert not gc.isenabled()  # no automatic collection, on any thread
    seen: list[str] = []

    class Node:
        def __del__(self) -> None:
            seen.append(threading.current_thread().name)

    kept: list = []

    def make_cycles() -> None:  # garbage made on a worker thread, as the renderer makes it
        for _ in range(3):
            a, b = Node(), Node()
            a.other, b.other = b, a
        # allocate past generation 0's threshold: automatic collection would run here
        kept.extend([i] for i in range(gc.get_threshold()[0] * 4))

    worker = threading.Thread(target=make_cycles, name="worker")
    worker.start()
    worker.join()
    assert seen == []  # nothing collected on the worker
    qtbot.waitUntil(lambda: len(seen) == 6, timeout=5_000)
    assert set(seen) == {threading.main_thread().name}


def test_launch_installs_the_collector(monkeypatch):
    from convstudio.app import launch

    assert launch._make_app() is not None
    assert launch._collector is not None and launch._collector.timer.isActive()


class _CountingGc:
    """The parts of the gc module the collector uses, with counts and generation sizes set by
    the test, recording which generations were collected."""

    def __init__(self, counts, oldest: int) -> None:
        self.counts, self.oldest, self.collected = counts, oldest, []

    def get_count(self):
        return self.counts

    def get_objects(self, generation=None):
        assert generation == 2  # only the oldest generation is ever counted
        return [None] * self.oldest

    def collect(self, generation=2):
        self.collected.append(generation)
        return 0


def _policy(counts, oldest: int, long_lived: int) -> list[int]:
    from convstudio.app.qtsetup import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    collector.timer.stop()  # driven by hand below; the session's collector keeps running
    fake = _CountingGc(counts, oldest)
    collector._gc, collector._threshold, collector._long_lived = fake, (700, 10, 10), long_lived
    collector.check()
    return fake.collected


def test_each_generation_is_collected_when_its_count_passes_its_threshold(qapp):
    assert _policy((700, 0, 0), oldest=0, long_lived=0) == []
    assert _policy((701, 10, 0), oldest=0, long_lived=0) == [0]
    assert _policy((701, 11, 10), oldest=0, long_lived=0) == [1]


def test_the_oldest_generation_waits_until_it_has_grown_by_a_quarter(qapp):
    # the interpreter's rule: a full collection scans every long-lived object (tens of ms in
    # the app), so it runs only once they are a quarter more than after the last one
    assert _policy((701, 11, 11), oldest=1_200, long_lived=1_000) == [1]
    assert _policy((701, 11, 11), oldest=1_251, long_lived=1_000) == [2]
    assert _policy((701, 11, 11), oldest=1, long_lived=0) == [2]


def test_objects_alive_at_start_up_are_never_scanned_again_and_new_cycles_still_go(
        qtbot, gui_thread_garbage_collection):
    from convstudio.app import launch

    before = gc.get_freeze_count()
    old = launch._collector
    launch._collector = gui_thread_garbage_collection
    try:
        launch.freeze_startup_objects()
        assert gc.get_freeze_count() > before
        assert len(gc.get_objects(generation=2)) == 0  # everything older is out of sight
        seen: list[int] = []

        class Node:
            def __del__(self) -> None:
                seen.append(1)

        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        gc.collect(2)  # (what the timer does once the thresholds are passed)
        assert seen == [1, 1]
    finally:
        launch._collector = old
        gc.unfreeze()  # the rest of the test session collects as before


def test_a_requested_full_collection_runs_at_the_next_turn_whatever_the_counts(qapp):
    from convstudio.app.qtsetup import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    collector.timer.stop()
    fake = _CountingGc((0, 0, 0), oldest=5_000)
    collector._gc, collector._threshold = fake, (700, 10, 10)
    requester = threading.Thread(target=collector.request_full_collection)  # as the warm-up does
    requester.start()
    requester.join()
    collector.check()
    collector.check()  # once
    assert fake.collected == [2]
    assert collector._long_lived == 5_000  # the next full one waits for a quarter more
