"""Cyclic garbage is collected on the GUI thread by a timer, never automatically."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QObject

from gc_probe import frees_cycles_by_itself
from touchpoint.collector import collector_paused
from touchpoint.ui import gc_guard
from touchpoint.ui.gc_guard import MainThreadCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_is_switched_off_and_done_by_the_timer(qtbot: Any) -> None:
    owner = QObject()
    collector = MainThreadCollector(owner, interval_ms=20)
    gc.collect()
    seen: list[str] = []
    original = collector.collect_due

    def spy() -> int:
        seen.append(threading.current_thread().name)
        return original()

    collector.timer.timeout.disconnect()
    collector.timer.timeout.connect(spy)
    for _ in range(gc.get_threshold()[0] + 50):
        Cycle()
    assert gc.get_count()[0] > gc.get_threshold()[0]  # nothing collected them meanwhile
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=2000)
    assert seen and set(seen) == {threading.main_thread().name}
    collector.timer.stop()
    owner.deleteLater()


def test_the_timer_leaves_collection_alone_while_bulk_work_pauses_it(qtbot: Any) -> None:
    owner = QObject()
    collector = MainThreadCollector(owner, interval_ms=20)
    collector.timer.stop()
    gc.collect()
    for _ in range(gc.get_threshold()[0] + 50):
        Cycle()
    with collector_paused():
        assert collector.collect_due() == 0
        assert gc.get_count()[0] > gc.get_threshold()[0]
        assert not frees_cycles_by_itself()
    assert not frees_cycles_by_itself(), "the GUI thread still collects by timer"
    assert collector.collect_due() > 0
    owner.deleteLater()


def test_a_full_collection_waits_until_the_old_objects_grew_by_a_quarter(qtbot: Any) -> None:
    owner = QObject()
    collector = MainThreadCollector(owner, interval_ms=20)
    collector.timer.stop()
    gc.collect()
    collector.long_lived = len(gc.get_objects(2))  # as after a full collection
    oldest = gc.get_threshold()[2]
    for _ in range(oldest + 1):
        gc.collect(1)  # each counts towards a full collection
    assert gc.get_count()[2] > oldest
    collector.collect_due()
    assert gc.get_count()[2] > oldest, "the old objects did not grow: no full collection"
    kept = [[n] for n in range(collector.long_lived // 4 + 1000)]  # long-lived objects
    gc.collect(1)
    gc.collect(1)  # moved to the oldest generation
    assert collector.full_due()
    collector.collect_due()
    assert gc.get_count()[2] == 0  # a full collection ran
    assert collector.long_lived >= len(kept)
    owner.deleteLater()


def test_settling_sets_the_started_objects_aside_and_still_collects_newer_garbage(
    qtbot: Any,
) -> None:
    owner = QObject()
    collector = MainThreadCollector(owner, interval_ms=20)
    collector.timer.stop()
    try:
        held_before = len(gc.get_objects(2))
        with collector_paused():
            collector.settle()
            # Bulk work's objects are never set aside: a full collection walks them all.
            assert len(gc.get_objects(2)) >= held_before
        gc.collect()  # this test's objects join the oldest generation
        held_before = len(gc.get_objects(2))
        collector.settle()
        assert len(gc.get_objects(2)) < held_before
        assert collector.long_lived == len(gc.get_objects(2))
        # Garbage made afterwards is still found and freed by the timer's collections.
        for _ in range(gc.get_threshold()[0] + 50):
            Cycle()
        assert collector.collect_due() > 0
    finally:
        gc.unfreeze()
        owner.deleteLater()


def test_a_full_collection_waits_while_the_person_scrolls(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = QObject()
    collector = MainThreadCollector(owner, interval_ms=20)
    collector.timer.stop()
    gc.collect()
    collector.long_lived = 0  # as right after settling: any growth makes a full one due
    kept = [[n] for n in range(2000)]
    oldest = gc.get_threshold()[2]
    for _ in range(oldest + 1):
        gc.collect(1)  # moved to the oldest generation, each counting towards a full one
    assert collector.full_due() and gc.get_count()[2] > oldest
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            full.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        gc_guard.interacting()
        for _ in range(gc.get_threshold()[0] + 50):
            Cycle()
        assert collector.collect_due() > 0  # the younger garbage is still collected
        assert 2 not in full and gc.get_count()[2] > oldest, "no full collection mid-scroll"
        # A pause in the scrolling: the full collection runs at the next tick.
        paused = time.monotonic() - gc_guard.IDLE_BEFORE_FULL_S - 0.1
        monkeypatch.setattr(gc_guard.activity, "last", paused)
        collector.collect_due()
        assert full[-1] == 2 and gc.get_count()[2] == 0
        assert collector.long_lived >= len(kept)
    finally:
        gc.callbacks.remove(seen)
        owner.deleteLater()
