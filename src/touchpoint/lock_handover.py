"""Python's lock handed between threads every half millisecond while two of them take turns.

A thread that releases Python's lock for a C call (SQLite writing a batch, a file read)
must get it back before it can go on; when another thread is running Python meanwhile,
that thread hands it over only when its switch interval has passed, 5 ms by default. The
thread doing the real work then waits up to 5 ms after every statement: a first sync's
bulk load, which writes about five thousand statements while the sync thread reads the
next pages, wrote half as fast as it could. Handing over every 0.5 ms costs the busy
thread little.

The interval is one setting for the whole process, so the periods asking for it are
counted: it goes back to what it was when the last one ends (the window's start and a
sync may overlap).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from touchpoint.counted import Counted

QUICK_INTERVAL_S = 0.0005


def _shorten() -> float:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, QUICK_INTERVAL_S))
    return previous


# Process-wide on purpose: Python has one switch interval (as collector.py's pauses).
_periods = Counted(_shorten, sys.setswitchinterval)


def begin() -> None:
    """Start a period of quick handovers (pair with :func:`end`)."""
    _periods.begin()


def end() -> None:
    """End a period begun by :func:`begin`."""
    _periods.end()


@contextmanager
def quick_handover() -> Iterator[None]:
    """Run the block with Python's lock handed over every :data:`QUICK_INTERVAL_S`."""
    with _periods.held():
        yield
