"""Python's cyclic garbage collection, on the GUI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed:
the database thread, a sync worker. A cycle that holds a Qt widget (a closed dialog and
its connected lambdas) would then be destroyed off the GUI thread, which crashes Qt.
So automatic collection is switched off and a timer on the GUI thread collects each
generation when its threshold is passed, as the collector itself would, except while bulk
work (a first sync, an import) has paused collection (touchpoint.collector).

As the collector itself, a full collection waits until the oldest generation has grown
by a quarter since the last one: it walks every object the window holds (over 100,000,
a tenth of a second), and scrolling a long list would otherwise run one every few
seconds, each a visible stall. Once the window has started, what it holds for its
whole life (modules, classes, widgets) is set aside from collection (``gc.freeze``):
a full collection then walks only what came after.

What comes after still counts: at L, the customer list's modules and its cached rows are
some 40,000 objects, a full collection of them a stall of 60-100 ms, which a scroll shows.
So a full collection that is due waits while the person scrolls (views call
:func:`interacting`) and runs once they have paused for :data:`IDLE_BEFORE_FULL_S`; the
younger generations are collected meanwhile as usual. Nothing is lost by waiting: the
list's rows are freed by reference counting when they leave its cache, and only cycles
that outlived two younger collections wait for the full one.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

from touchpoint import collector

IDLE_BEFORE_FULL_S = 1.0


class _Activity:
    last = float("-inf")  # time.monotonic() of the last scroll a view reported


activity = _Activity()


def interacting() -> None:
    """The person is scrolling (or waiting for the rows scrolled to): a full collection
    due now waits until they pause."""
    activity.last = time.monotonic()


def idle_for() -> float:
    """Seconds since a view last reported a scroll."""
    return time.monotonic() - activity.last


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 500) -> None:
        super().__init__(parent)
        gc.disable()
        self.long_lived = 0  # objects in the oldest generation after the last full collection
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold; objects freed."""
        if collector.paused():
            return 0
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] <= thresholds[generation]:
                continue
            if generation == 2:
                if idle_for() < IDLE_BEFORE_FULL_S or not self.full_due():
                    continue  # the younger generations instead, as CPython does
                freed = gc.collect(2)
                self.long_lived = len(gc.get_objects(2))
                return freed
            return gc.collect(generation)
        return 0

    def full_due(self) -> bool:
        """CPython's rule: the objects moved to the oldest generation since the last full
        collection are at least a quarter of those it left there."""
        return len(gc.get_objects(2)) - self.long_lived >= self.long_lived / 4

    def settle(self) -> None:
        """Set aside from collection what the started app holds for good, collected once
        first, so that later full collections walk only the newer objects (a tenth of a
        second less each)."""
        if collector.paused():
            return  # bulk work holds many short-lived objects: not for keeping
        gc.collect()
        gc.freeze()
        self.long_lived = len(gc.get_objects(2))

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QObject) -> MainThreadCollector:
    """Collect on ``app``'s (the GUI) thread from now on; kept alive as its child."""
    return MainThreadCollector(app)
