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
