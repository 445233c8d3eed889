"""The boot clock that places edits on the Hub's time: the real one, not the tests'."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.storage import hub_clock

REAL_READING = hub_clock.boot_reading
pytestmark = pytest.mark.hub_clock


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux boot clock")
def test_the_boot_clock_names_its_boot_and_runs_forward() -> None:
    first_boot, first = REAL_READING()
    second_boot, second = REAL_READING()
    assert first_boot and first_boot == second_boot
    assert first is not None and second is not None and second >= first > 0


def test_an_edit_is_placed_by_the_boot_clock_whatever_the_wall_clock_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readings = iter([100.0, 100.0, 160.0])  # hello sent, answered; an edit 60 s later
    monkeypatch.setattr(hub_clock, "boot_reading", lambda: ("boot-1", next(readings)))
    hub_now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    ref = hub_clock.reference(hub_now, offset_ms=0, sent=next(readings))
    wall_two_hours_fast = hub_now + timedelta(hours=2, minutes=1)
    assert hub_clock.hub_time(ref, wall_two_hours_fast) == hub_now + timedelta(seconds=60)


def test_after_a_reboot_the_offset_known_at_the_last_hello_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_clock, "boot_reading", lambda: ("boot-1", 50.0))
    hub_now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    ref = hub_clock.reference(hub_now, offset_ms=-3_600_000)  # the wall clock an hour fast
    monkeypatch.setattr(hub_clock, "boot_reading", lambda: ("boot-2", 5.0))
    wall = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
    assert hub_clock.hub_time(ref, wall) == datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
    assert hub_clock.hub_time(None, wall) is None
