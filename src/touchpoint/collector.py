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
from collections.abc import Iterator
from contextlib import contextmanager

from touchpoint.counted import Counted


def _pause() -> bool:
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _resume(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


# Process-wide on purpose: Python has one collector, so its pauses are counted in one
# place, whoever asks (a sync's pull, an import, the window's GUI-thread collector).
_pauses = Counted(_pause, _resume)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (reference counting goes on)."""
    with _pauses.held():
        yield


def paused() -> bool:
    """Whether bulk work asked for no cyclic collection now."""
    return _pauses.active
