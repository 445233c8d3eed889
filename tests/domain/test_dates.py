"""Dates typed as people type them, read in the user's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.domain import dates

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 18 November 2026, 10:30 in Berlin (09:30 UTC)
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


def when(text: str, now: datetime = NOW) -> datetime:
    return dates.parse_when(text, now=now, tz=BERLIN).astimezone(BERLIN)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("today", datetime(2026, 11, 18, 17, 0)),
        ("tomorrow", datetime(2026, 11, 19, 17, 0)),
        ("yesterday", datetime(2026, 11, 17, 17, 0)),
        ("+3d", datetime(2026, 11, 21, 17, 0)),
        ("+2w", datetime(2026, 12, 2, 17, 0)),
        ("-1d", datetime(2026, 11, 17, 17, 0)),
        ("in 3 days", datetime(2026, 11, 21, 17, 0)),
        ("fri", datetime(2026, 11, 20, 17, 0)),
        ("Friday", datetime(2026, 11, 20, 17, 0)),
        ("wed", datetime(2026, 11, 25, 17, 0)),  # today is Wednesday: the next one
        ("next monday", datetime(2026, 11, 23, 17, 0)),
        ("next week", datetime(2026, 11, 23, 17, 0)),
        ("fri 10:00", datetime(2026, 11, 20, 10, 0)),
        ("tomorrow 9am", datetime(2026, 11, 19, 9, 0)),
        ("tomorrow at 2:30pm", datetime(2026, 11, 19, 14, 30)),
        ("14:15", datetime(2026, 11, 18, 14, 15)),
        ("2026-11-24", datetime(2026, 11, 24, 17, 0)),
        ("2026-11-24 10:30", datetime(2026, 11, 24, 10, 30)),
        ("2026-11-24T10:30", datetime(2026, 11, 24, 10, 30)),
        ("  TOMORROW   ", datetime(2026, 11, 19, 17, 0)),
    ],
)
def test_typed_dates(typed: str, expected: datetime) -> None:
    assert when(typed) == expected.replace(tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # Something that happened (an interaction): a weekday is the most recent one.
        ("fri 10:00", datetime(2026, 11, 13, 10, 0)),  # today is Wednesday: last Friday
        ("fri", datetime(2026, 11, 13, 17, 0)),
        ("mon 9:30", datetime(2026, 11, 16, 9, 30)),
        ("wed 9:00", datetime(2026, 11, 18, 9, 0)),  # today is Wednesday: today
        ("thu 16:00", datetime(2026, 11, 12, 16, 0)),
        ("today", datetime(2026, 11, 18, 10, 30)),  # not 17:00, later than now: now
        ("yesterday", datetime(2026, 11, 17, 17, 0)),
        ("yesterday 16:00", datetime(2026, 11, 17, 16, 0)),
        ("-2h", datetime(2026, 11, 18, 8, 30)),
        ("2026-11-10 14:00", datetime(2026, 11, 10, 14, 0)),
        # The future still reads as typed; the caller refuses it.
        ("tomorrow 9am", datetime(2026, 11, 19, 9, 0)),
        ("+2d", datetime(2026, 11, 20, 17, 0)),
    ],
)
def test_typed_times_of_what_happened(typed: str, expected: datetime) -> None:
    got = dates.parse_when(typed, now=NOW, tz=BERLIN, past=True).astimezone(BERLIN)
    assert got == expected.replace(tzinfo=BERLIN)


def test_today_in_the_evening_keeps_the_end_of_the_working_day() -> None:
    evening = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)  # 20:00 in Berlin
    got = dates.parse_when("today", now=evening, tz=BERLIN, past=True).astimezone(BERLIN)
    assert got == datetime(2026, 11, 18, 17, 0, tzinfo=BERLIN)


def test_hours_count_from_now_and_results_are_utc() -> None:
    result = dates.parse_when("+4h", now=NOW, tz=BERLIN)
    assert result == datetime(2026, 11, 18, 13, 30, tzinfo=UTC)
    assert result.tzinfo == UTC


def test_explicit_offset_is_respected() -> None:
    assert dates.parse_when("2026-11-24T10:30+01:00", now=NOW, tz=ZoneInfo("UTC")) == datetime(
        2026, 11, 24, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("typed", ["someday", "", "   ", "32:00", "fri 25:00", "+3x", "2026-13-01"])
def test_nonsense_is_refused_with_a_reason(typed: str) -> None:
    with pytest.raises(ValueError, match=r"date|time|empty"):
        dates.parse_when(typed, now=NOW, tz=BERLIN)


def test_day_bounds_follow_daylight_saving() -> None:
    start, end = dates.local_day_bounds(date(2026, 10, 25), BERLIN)  # clocks go back
    assert (end - start).total_seconds() == 25 * 3600
    start, end = dates.local_day_bounds(date(2026, 3, 29), BERLIN)  # clocks go forward
    assert (end - start).total_seconds() == 23 * 3600
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_a_late_evening_call_belongs_to_the_local_day() -> None:
    late = datetime(2026, 11, 18, 23, 30, tzinfo=UTC)  # 00:30 on the 19th in Berlin
    assert dates.local_date(late, BERLIN) == date(2026, 11, 19)
    assert dates.days_between(datetime(2026, 11, 18, 23, 5, tzinfo=UTC), late, BERLIN) == 0
    assert dates.days_between(datetime(2026, 11, 18, 22, 0, tzinfo=UTC), late, BERLIN) == 1


def test_report_days() -> None:
    today = date(2026, 11, 18)
    assert dates.parse_day("yesterday", today=today) == date(2026, 11, 17)
    assert dates.parse_day("-7d", today=today) == date(2026, 11, 11)
    assert dates.parse_day("mon", today=today) == date(2026, 11, 16)
    assert dates.parse_day("wed", today=today) == today
    assert dates.parse_day("2026-01-02", today=today) == date(2026, 1, 2)
    with pytest.raises(ValueError):
        dates.parse_day("soon", today=today)
    assert dates.week_start(today) == date(2026, 11, 16)


@given(st.integers(min_value=0, max_value=400), st.sampled_from(["d", "w"]))
def test_relative_days_never_land_in_the_past(amount: int, unit: str) -> None:
    result = dates.parse_when(f"+{amount}{unit}", now=NOW, tz=BERLIN)
    assert dates.local_date(result, BERLIN) >= dates.local_date(NOW, BERLIN)


MON_FRI = frozenset(range(5))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # A Wednesday: the rest of the week (Fri) still has a working day after Thursday.
        (
            date(2026, 12, 2),
            [("Today", 2), ("Tomorrow", 3), ("This week", 6), ("Next week", 13)],
        ),
        # A Thursday: Friday is tomorrow; Saturday and Sunday are no working week.
        (date(2026, 12, 3), [("Today", 3), ("Tomorrow", 4), ("Next week", 13)]),
        # A Saturday and a Sunday: Monday is tomorrow or next week, never "this week".
        (date(2026, 12, 5), [("Today", 5), ("Tomorrow", 6), ("Next week", 13)]),
        (date(2026, 12, 6), [("Today", 6), ("Tomorrow", 7), ("Next week", 13)]),
    ],
)
def test_due_buckets_follow_the_working_week(today: date, expected: list[Any]) -> None:
    got = [(name, last.day) for name, last in dates.due_buckets(today, MON_FRI)]
    assert got == expected


def test_due_buckets_use_the_teams_working_days() -> None:
    # A team working Sunday to Thursday: on a Thursday, Sunday is still this week's.
    sun_thu = frozenset({6, 0, 1, 2, 3})
    buckets = dates.due_buckets(date(2026, 12, 3), sun_thu)
    assert [name for name, _ in buckets] == ["Today", "Tomorrow", "This week", "Next week"]
