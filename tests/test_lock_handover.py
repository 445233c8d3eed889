"""Quick handovers of Python's lock are counted: the interval comes back as it was when
the last period asking for it ends, however the periods overlap."""

from __future__ import annotations

import sys

from touchpoint import lock_handover


def test_overlapping_periods_put_the_interval_back_only_at_the_last_end() -> None:
    before = sys.getswitchinterval()
    lock_handover.begin()  # the window's start
    assert sys.getswitchinterval() == lock_handover.QUICK_INTERVAL_S
    with lock_handover.quick_handover():  # a first sync starts meanwhile
        lock_handover.end()  # the window's start ends first
        assert sys.getswitchinterval() == lock_handover.QUICK_INTERVAL_S
    assert sys.getswitchinterval() == before


def test_an_error_in_the_period_still_puts_the_interval_back() -> None:
    before = sys.getswitchinterval()
    try:
        with lock_handover.quick_handover():
            raise RuntimeError("the sync failed")
    except RuntimeError:
        pass
    assert sys.getswitchinterval() == before
