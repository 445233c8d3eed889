"""Pausing Python's cyclic garbage collector while bulk work allocates millions of objects.

A first sync parses about two million changes into dicts and strings. Reference counting
frees every one of them as soon as its page is applied; none is part of a cycle. The
cyclic collector does not know that: every few hundred allocations it runs, and the pages
still in flight survive into the older generations, which it then walks again and again.
At L that was a fifth of the sync's time (17 s of 97 s). While paused, cycles made
meanwhile (a few per transaction) wait for the first collection after the pause.

The collector is one switch for the whole process, so pauses are counted: it comes back
on when the last one ends, and only if it was on when the first began. The desktop, which
collects on its GUI thread by timer (ui.gc_guard), asks :func:`paused` and waits too.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False


# Process-wide on purpose: Python has one collector, so its pauses are counted in one
# place, whoever asks (a sync's pull, an import, the window's GUI-thread collector).
_pauses = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (reference counting goes on)."""
    with _pauses.lock:
        if _pauses.holders == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.holders += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.holders -= 1
            if _pauses.holders == 0 and _pauses.was_enabled:
                gc.enable()


def paused() -> bool:
    """Whether bulk work asked for no cyclic collection now."""
    return _pauses.holders > 0
