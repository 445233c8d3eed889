"""Threads that do housekeeping beside the real work ask the system to schedule them last.

A first sync keeps both cores of a small laptop busy: its bulk-load thread writes into
SQLite (the part everyone waits for), while beside it the page prefetch reads the next
pages from the Hub and the checkpoint thread copies the WAL into the database file.
Those two only have to keep up, not win: at the same priority they took turns with the
bulk load on its core, and it spent seconds of every transaction waiting to run.

On Linux a thread has a niceness of its own, so each such thread lowers its own when it
starts. A thread cannot raise it back without privileges, so only threads that do
nothing else ask for it. Elsewhere (macOS and Windows set it per process, not per
thread) this does nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

# Niceness added: CFS then gives a runnable thread at 0 about three times the share of
# one at +5. The checkpoint never holds anyone up (it is passive); the prefetch is a
# page ahead, so a little less of a core still keeps it ahead.
CHECKPOINT = 10
PREFETCH = 5


def lower_this_thread(by: int) -> None:
    """Lower the calling thread's scheduling priority by ``by`` niceness steps, for the
    rest of its life (Linux only; never fails)."""
    if sys.platform != "linux" or by <= 0:
        return
    with contextlib.suppress(OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + by)
