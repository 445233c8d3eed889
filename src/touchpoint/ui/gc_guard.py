"""Python's cyclic garbage collection, on the GUI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed:
the database thread, a sync worker. A cycle that holds a Qt widget (a closed dialog and
its connected lambdas) would then be destroyed off the GUI thread, which crashes Qt.
So automatic collection is switched off and a timer on the GUI thread collects each
generation when its threshold is passed, as the collector itself would, except while bulk
work (a first sync, an import) has paused collection (touchpoint.collector).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

from touchpoint import collector


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 500) -> None:
        super().__init__(parent)
        gc.disable()
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
            if counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QObject) -> MainThreadCollector:
    """Collect on ``app``'s (the GUI) thread from now on; kept alive as its child."""
    return MainThreadCollector(app)
