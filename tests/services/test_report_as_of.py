"""A report for a past day gives every figure as it stood at the end of that day.

Worked by hand: the user is in Europe/Berlin (UTC+1 in November); the report is for
Fri 2026-11-20 (23:00 UTC on the 19th to 23:00 UTC on the 20th), read on Tue 1 Dec.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from touchpoint.services import customers, followups, reports
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace

FRIDAY = date(2026, 11, 20)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def logged(clock: Any, ws: Workspace, at: datetime | None = None, **fields: Any) -> Any:
    """Log an interaction at ``at`` (a minute after it happened by default)."""
    clock.current = at or fields["occurred_at"] + timedelta(minutes=1)
    return log_interaction(ws, **fields).value


@pytest.fixture
def book(ws: Workspace, clock: Any) -> Workspace:
    clock.current = utc(2026, 9, 1, 8, 0)
    made = {
        name: customers.create_customer(
            ws, {"name": name, "status": "active", "owner": "maria@example.com"}
        ).value.id
        for name in ("Silent Then", "Fall Later", "Busy AG")
    }
    # Silent from 1 Oct until 25 Nov: quiet on the 20th, not any more.
    logged(clock, ws, customer=made["Silent Then"], kind="call", occurred_at=utc(2026, 10, 1, 9))
    logged(clock, ws, customer=made["Silent Then"], kind="visit", occurred_at=utc(2026, 11, 25, 9))
    clock.current = utc(2026, 11, 25, 12)
    customers.add_contact(ws, made["Silent Then"], {"name": "Eva Late"})
    # Three good scores up to the 20th, three bad ones after: falling only since.
    for day, score in ((16, 5), (17, 5), (18, 5), (24, 1), (26, 1), (27, 1)):
        logged(
            clock,
            ws,
            customer=made["Fall Later"],
            kind="call",
            occurred_at=utc(2026, 11, day, 10),
            satisfaction=score,
        )
    # Two promises made on Thursday, due on Friday: one kept that day, one done on Monday.
    logged(
        clock,
        ws,
        customer=made["Busy AG"],
        kind="visit",
        occurred_at=utc(2026, 11, 19, 9),
        followups=[
            FollowUpInput(title="Kept", due=utc(2026, 11, 20, 15)),
            FollowUpInput(title="Done later", due=utc(2026, 11, 20, 9)),
        ],
    )
    # Friday's visit, logged on Saturday morning, with its promise.
    logged(
        clock,
        ws,
        at=utc(2026, 11, 21, 8),
        customer=made["Busy AG"],
        kind="visit",
        occurred_at=utc(2026, 11, 20, 9),
        followups=[FollowUpInput(title="Quote", due=utc(2026, 11, 27, 9))],
    )
    todo = {f.title: f for f in followups.list_followups(ws, followups.FollowUpFilter(scope="all"))}
    clock.current = utc(2026, 11, 23, 9)
    followups.complete_followup(ws, todo["Kept"].id, at=utc(2026, 11, 20, 12))
    followups.complete_followup(ws, todo["Done later"].id, at=utc(2026, 11, 23, 8))
    # A customer added after the day was not in the book then.
    clock.current = utc(2026, 11, 25, 9)
    customers.create_customer(ws, {"name": "New Later", "status": "active"})
    clock.current = NOW
    return ws


def test_going_quiet_as_of_the_end_of_the_day(book: Workspace) -> None:
    then = reports.daily_report(book, FRIDAY, FRIDAY)
    quiet = {q.name: q for q in then.quiet}
    assert set(quiet) == {"Silent Then"}  # "New Later" did not exist; nothing fell yet
    assert quiet["Silent Then"].last_touch == utc(2026, 10, 1, 9)  # not the 25 Nov visit
    assert quiet["Silent Then"].days == 50  # 1 Oct to 20 Nov
    assert then.quiet_total == 1
    assert then.as_of == utc(2026, 11, 20, 23) - timedelta(microseconds=1)

    today = reports.daily_report(book, date(2026, 12, 1), date(2026, 12, 1))
    assert {q.name: q.reason for q in today.quiet} == {
        "Fall Later": "satisfaction falling",
        "New Later": "never contacted",
    }


def test_promises_as_they_stood_then(book: Workspace) -> None:
    promises = reports.daily_report(book, FRIDAY, FRIDAY).team.promises
    # Done on Monday: still open, and overdue, at the end of Friday; never "late" then.
    assert (promises.kept, promises.late, promises.overdue) == (1, 0, 1)
    assert promises.rate == pytest.approx(0.5)
    week = reports.daily_report(book, date(2026, 11, 16), date(2026, 11, 22)).team.promises
    assert (week.kept, week.late, week.overdue) == (1, 0, 1)
    later = reports.daily_report(book, FRIDAY, date(2026, 11, 23)).team.promises
    assert (later.kept, later.late, later.overdue) == (1, 1, 0)  # done by Monday's end


def test_followups_made_count_on_the_day_they_were_promised(book: Workspace) -> None:
    # Friday's promise was typed in on Saturday: it was made on Friday.
    assert reports.daily_report(book, FRIDAY, FRIDAY).team.followups_made == 1
    saturday = date(2026, 11, 21)
    assert reports.daily_report(book, saturday, saturday).team.followups_made == 0
    thursday = date(2026, 11, 19)
    assert reports.daily_report(book, thursday, thursday).team.followups_made == 2


def test_hygiene_counts_the_book_as_it_was(book: Workspace) -> None:
    then = reports.daily_report(book, FRIDAY, FRIDAY).hygiene
    assert then.checked == 3  # "New Later" came on the 25th
    lines = {h.customer: h for h in then.worst}
    assert "a contact" in lines["Silent Then"].missing  # added on the 25th
    # Its last scored interaction before the day's end: none (scores came later).
    assert "a scored interaction in the last 180 days" in lines["Silent Then"].missing
    today = reports.daily_report(book, date(2026, 12, 1), date(2026, 12, 1)).hygiene
    assert today.checked == 4
    now_lines = {h.customer: h for h in today.worst}
    assert "a contact" not in now_lines["Silent Then"].missing


def test_satisfaction_on_the_watch_list_reads_scores_up_to_then(book: Workspace) -> None:
    day = date(2026, 11, 24)  # one bad score after three good ones: not falling yet
    quiet = {q.name: q for q in reports.daily_report(book, day, day).quiet}
    assert "Fall Later" not in quiet
    week_after = date(2026, 11, 27)
    quiet = {q.name: q for q in reports.daily_report(book, week_after, week_after).quiet}
    assert quiet["Fall Later"].reason == "satisfaction falling"
    assert quiet["Fall Later"].satisfaction == 1.0
