"""The window's start-up tweaks, in one place, each with the reason it exists.

``ui.app.run`` calls these in order; none changes what the window shows, only when.
Measured by ``tests/benchmarks/bench_ui.py --only start`` (the window's first paint
against a bare PySide6 window's).

- Python's lock changes hands every 0.5 ms until the database is open
  (:class:`QuickLockHandover`).
- Today is read straight from the file on the database thread while the window is
  built, and the window waits up to :data:`TODAY_WAIT_S` for it (``app.run``).
- Work the first paint does not need (a draft to offer, the first-run check, the
  reminders) waits for Today's figures (:func:`after_first_paint`).
- Sync's first cycle waits :data:`SYNC_START_DELAY_MS` after the window is shown, and
  then for a pause in scrolling (:data:`SYNC_START_PAUSE_S`).
- What the started window holds for good is set aside from garbage collection once,
  :data:`SETTLE_AFTER_MS` after the database opened (:func:`settle_later`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, QTimer

from touchpoint import lock_handover

# How long the window may wait for Today's first read before it is shown without it:
# the read usually ends while the window is built; a cold disk must not hold it back.
TODAY_WAIT_S = 0.25
# A Today that never loads (an error, shown by itself) still lets deferred work run.
AFTER_START_FALLBACK_MS = 3000
# The first cycle loads the HTTP client and the sync engine: not before the first paint.
SYNC_START_DELAY_MS = 1500
# ...and for the person to pause scrolling this long: that import holds Python's lock for
# a fifth of a second in long stretches on the worker thread, and a scroll's paints
# (which ask the list for every cell) waited for it, 60 ms steps at L.
SYNC_START_PAUSE_S = 1.0
# By then the first page, a draft and the reminders are loaded: what exists then is
# kept for the window's life, and a full collection need not walk it again (a tenth
# of a second each at L).
SETTLE_AFTER_MS = 5000


class QuickLockHandover:
    """Python's switch interval shortened for the start (:mod:`touchpoint.lock_handover`),
    put back once (the database open, or the app ending, whichever comes first).

    Until the database is open, the UI thread and the database thread both run Python.
    The database thread gives up Python's lock at every file read and then waits for the
    UI thread to hand it back, which the UI thread does every 5 ms by default: reading
    Today took twice as long as alone. Handing over every 0.5 ms costs nothing then."""

    def __init__(self) -> None:
        lock_handover.begin()
        self._active = True

    def end(self) -> None:
        if self._active:
            self._active = False
            lock_handover.end()


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


class ProcessHooks:
    """``sys.excepthook`` for the window's life, put back when it ends (a test that
    runs the window leaves the interpreter as it found it)."""

    def __init__(self, hook: ExceptHook) -> None:
        self._previous = sys.excepthook
        sys.excepthook = hook

    def end(self) -> None:
        sys.excepthook = self._previous


def after_first_paint(window: Any, then: Callable[[], None]) -> None:
    """Run ``then`` once Today shows its figures (or at once on another page): drafts and
    the first-run check load modules of their own, which must not hold up that paint.
    A Today that never loads (an error, shown by itself) still lets ``then`` run."""
    done = [False]

    def once(*_args: object) -> None:
        if not done[0]:
            done[0] = True
            QTimer.singleShot(0, then)

    today = getattr(window, "today", None)
    if (
        getattr(window, "current_page", None) == "today"
        and today is not None
        and today.data is None
    ):
        today.loaded.connect(once)
        QTimer.singleShot(AFTER_START_FALLBACK_MS, once)
    else:
        once()


def settle_later(app: QObject) -> None:
    """Set the started window's objects aside from collection once, a little later
    (``gc_guard.MainThreadCollector.settle``)."""
    from touchpoint.ui.gc_guard import MainThreadCollector

    collector = app.findChild(MainThreadCollector)
    if collector is not None:
        QTimer.singleShot(SETTLE_AFTER_MS, collector.settle)


__all__ = [
    "AFTER_START_FALLBACK_MS",
    "SETTLE_AFTER_MS",
    "SYNC_START_DELAY_MS",
    "SYNC_START_PAUSE_S",
    "TODAY_WAIT_S",
    "ProcessHooks",
    "QuickLockHandover",
    "after_first_paint",
    "settle_later",
]
