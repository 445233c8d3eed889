"""Housekeeping threads lower their own scheduling priority, and only their own."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from touchpoint import background

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="niceness per thread: Linux")


def niceness(native_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, native_id)


def test_a_thread_lowers_its_own_priority_and_no_other() -> None:
    seen: dict[str, int] = {}

    def work() -> None:
        background.lower_this_thread(7)
        seen["inside"] = niceness(threading.get_native_id())

    mine = niceness(threading.get_native_id())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["inside"] == min(mine + 7, 19)
    assert niceness(threading.get_native_id()) == mine  # the caller's own is untouched


def test_nothing_is_asked_for_no_change() -> None:
    mine = niceness(threading.get_native_id())
    background.lower_this_thread(0)
    assert niceness(threading.get_native_id()) == mine
