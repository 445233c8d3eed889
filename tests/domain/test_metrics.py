"""Every metric against figures worked out by hand from PRODUCT.md's definitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from touchpoint.domain import metrics as m
from touchpoint.domain.enums import FollowUpStatus, PromiseState

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
DUE = datetime(2026, 11, 17, 16, 0, tzinfo=UTC)


def f(status: str, due: datetime = DUE, done: datetime | None = None) -> m.FollowUpFacts:
    return m.FollowUpFacts(due_at=due, status=FollowUpStatus(status), done_at=done)


def test_done_exactly_at_the_due_time_is_kept() -> None:
    assert m.promise_state(f("done", done=DUE), now=NOW) == PromiseState.KEPT
    late = DUE + timedelta(microseconds=1)
    assert m.promise_state(f("done", done=late), now=NOW) == PromiseState.LATE


def test_open_states_depend_on_now() -> None:
    assert m.promise_state(f("open"), now=DUE) == PromiseState.OPEN
    assert m.promise_state(f("open"), now=DUE + timedelta(seconds=1)) == PromiseState.OVERDUE
    assert m.promise_state(f("cancelled"), now=NOW) == PromiseState.CANCELLED


def test_promise_keeping_rate_by_hand() -> None:
    items = [
        f("done", done=DUE - timedelta(hours=1)),  # kept
        f("done", done=DUE),  # kept
        f("done", done=DUE + timedelta(hours=1)),  # late
        f("open"),  # overdue
        f("open", due=NOW + timedelta(days=2)),  # open: not yet due
        f("cancelled"),
    ]
    stats = m.promise_keeping(items, now=NOW)
    assert (stats.kept, stats.late, stats.overdue, stats.open, stats.cancelled) == (2, 1, 1, 1, 1)
    assert stats.due == 4
    assert stats.rate == pytest.approx(0.5)


def test_promise_done_only_after_now_was_open_then() -> None:
    """As of a past moment, a promise done later was still open: overdue once its due
    time had passed, open before."""
    done_later = f("done", done=DUE + timedelta(days=2))
    assert m.promise_state(done_later, now=DUE + timedelta(hours=1)) == PromiseState.OVERDUE
    assert m.promise_state(done_later, now=DUE - timedelta(hours=1)) == PromiseState.OPEN
    kept_later = f("done", due=DUE + timedelta(days=5), done=DUE + timedelta(days=2))
    assert m.promise_state(kept_later, now=DUE) == PromiseState.OPEN
    assert m.promise_state(done_later, now=DUE + timedelta(days=3)) == PromiseState.LATE


def test_promise_keeping_over_a_period_and_no_data() -> None:
    start = datetime(2026, 11, 17, tzinfo=UTC)
    end = datetime(2026, 11, 18, tzinfo=UTC)
    items = [f("open", due=start - timedelta(seconds=1)), f("open", due=end), f("open", due=start)]
    stats = m.promise_keeping(items, now=NOW, start=start, end=end)
    assert stats.overdue == 1 and stats.due == 1
    empty = m.promise_keeping([], now=NOW)
    assert empty.rate is None  # "no data", not 100%


def test_customer_satisfaction_and_falling() -> None:
    # newest first: last three average 2, the three before average 4 -> falling
    s = m.customer_satisfaction([2, 2, 2, 4, 4, 4, 1])
    assert s.current == pytest.approx(2.0)
    assert s.previous == pytest.approx(4.0)
    assert s.falling
    # exactly one point lower counts as falling
    assert m.customer_satisfaction([3, 3, 3, 4, 4, 4]).falling
    assert not m.customer_satisfaction([4, 3, 4, 4, 4, 4]).falling
    few = m.customer_satisfaction([5, 1])
    assert few.current == pytest.approx(3.0) and few.previous is None and not few.falling
    assert m.customer_satisfaction([]).current is None


def test_days_since_counts_local_calendar_days() -> None:
    assert m.days_since(None, now=NOW, tz=BERLIN) is None
    assert m.days_since(NOW - timedelta(hours=1), now=NOW, tz=BERLIN) == 0
    late_evening = datetime(2026, 11, 17, 22, 30, tzinfo=UTC)  # 23:30 on the 17th in Berlin
    assert m.days_since(late_evening, now=NOW, tz=BERLIN) == 1


def test_going_quiet() -> None:
    steady = m.customer_satisfaction([4, 4, 4, 4, 4, 4])
    thirty_days = NOW - timedelta(days=30)
    thirty_one = NOW - timedelta(days=31)
    kw = {"now": NOW, "tz": BERLIN, "quiet_after_days": 30}
    assert m.going_quiet(status="active", last_touch=thirty_days, satisfaction=steady, **kw) is None
    quiet = m.going_quiet(status="active", last_touch=thirty_one, satisfaction=steady, **kw)
    assert quiet is not None and quiet.no_touch_days == 31
    assert quiet.text == "no touch for 31 days"
    never = m.going_quiet(status="active", last_touch=None, satisfaction=steady, **kw)
    assert never is not None and never.never_touched
    falling = m.customer_satisfaction([1, 2, 1, 4, 5, 4])
    recent = NOW - timedelta(days=2)
    reason = m.going_quiet(status="active", last_touch=recent, satisfaction=falling, **kw)
    assert reason is not None and reason.falling_satisfaction and reason.no_touch_days is None
    # only active customers are watched
    assert m.going_quiet(status="prospect", last_touch=None, satisfaction=falling, **kw) is None


def test_satisfaction_trend_per_local_day() -> None:
    points = m.satisfaction_trend(
        [
            (datetime(2026, 11, 17, 23, 30, tzinfo=UTC), 5),  # 18th in Berlin
            (datetime(2026, 11, 18, 8, 0, tzinfo=UTC), 3),
            (datetime(2026, 11, 16, 12, 0, tzinfo=UTC), 2),
        ],
        tz=BERLIN,
    )
    assert [(p.day, p.average, p.count) for p in points] == [
        (date(2026, 11, 16), 2.0, 1),
        (date(2026, 11, 18), 4.0, 2),
    ]


def facts(**overrides: object) -> m.ProfileFacts:
    base = {
        "contacts": 1,
        "has_email_or_phone": True,
        "industry": "Logistics",
        "owner": "maria",
        "status": "active",
        "has_address": True,
        "last_scored_interaction": NOW - timedelta(days=10),
        "last_confirmed_or_changed": NOW - timedelta(days=10),
    }
    base.update(overrides)
    return m.ProfileFacts(**base)  # type: ignore[arg-type]


def test_completeness_names_what_is_missing() -> None:
    full = m.completeness(facts(), now=NOW)
    assert full.percent == 100 and full.missing == () and not full.stale
    partial = m.completeness(
        facts(contacts=0, industry=None, last_scored_interaction=NOW - timedelta(days=181)),
        now=NOW,
    )
    assert partial.filled == 4 and partial.total == 7
    assert partial.percent == 57
    assert partial.missing == (
        "a contact",
        "industry",
        "a scored interaction in the last 180 days",
    )


def test_stale_after_a_year_without_confirmation_or_change() -> None:
    assert not m.is_stale(NOW - timedelta(days=365), now=NOW)
    assert m.is_stale(NOW - timedelta(days=366), now=NOW)
    assert m.is_stale(None, now=NOW)


def test_activity_against_goal() -> None:
    progress = m.GoalProgress(kind="call", done=26, goal=20)
    assert progress.percent == pytest.approx(130.0)
    assert progress.over_under == pytest.approx(30.0)
    assert m.GoalProgress(kind="visit", done=3, goal=None).percent is None
    mon, fri, sat, sun = (
        date(2026, 11, 16),
        date(2026, 11, 20),
        date(2026, 11, 21),
        date(2026, 11, 22),
    )
    week = m.DEFAULT_WORK_DAYS
    # 6 visits a week over two whole weeks; never spread over days.
    assert m.goal_for_period(6, "week", mon, sun + timedelta(days=7), week) == 12
    assert m.goal_for_period(6, "week", mon, sun, week) == 6
    assert m.goal_for_period(6, "week", fri, fri, week) is None
    assert m.goal_for_period(6, "week", mon, sat, week) is None
    # 30 calls a day: 150 a week (five working days), none on a Saturday.
    assert m.goal_for_period(30, "day", mon, sun, week) == 150
    assert m.goal_for_period(30, "day", sat, sat, week) is None
    assert m.goal_for_period(30, "day", sat, sun, week) is None
    six_days = m.parse_work_days(["Mon", "tue", "wednesday", "thu", "fri", "sat"])
    assert m.goal_for_period(30, "day", mon, sun, six_days) == 180
    assert m.goal_for_period(30, "day", sat, sat, six_days) == 30
    days = m.activity_per_day(
        [datetime(2026, 11, 16, 23, 30, tzinfo=UTC), datetime(2026, 11, 16, 8, 0, tzinfo=UTC)],
        first=date(2026, 11, 15),
        last=date(2026, 11, 17),
        tz=BERLIN,
    )
    assert days == {date(2026, 11, 15): 0, date(2026, 11, 16): 1, date(2026, 11, 17): 1}


def test_lifetime_value_counts_won_deals_in_the_customer_currency() -> None:
    deals = [
        m.DealFacts(Decimal("1000.50"), "EUR", "won"),
        m.DealFacts(Decimal("200"), "EUR", "won"),
        m.DealFacts(Decimal("999"), "EUR", "lost"),
        m.DealFacts(Decimal("500"), "EUR", "proposal"),
        m.DealFacts(Decimal("300"), "USD", "won"),
    ]
    value = m.lifetime_value(deals, currency="EUR")
    assert value.won == Decimal("1200.50")
    assert value.open_pipeline == Decimal("500")
    assert value.other_currencies == {"USD": Decimal("300")}


def test_work_days_are_named_days_of_the_week() -> None:
    assert m.parse_work_days(["mon", "TUE", "Friday"]) == frozenset({0, 1, 4})
    for bad in (["mo"], ["funday"], [], [3]):
        with pytest.raises(ValueError):
            m.parse_work_days(bad)
    assert m.work_days_text(m.DEFAULT_WORK_DAYS) == "mon–fri"
    assert m.work_days_text(frozenset({0, 2, 4})) == "mon, wed, fri"


def test_completeness_percent_rounds_half_up() -> None:
    # 1 of 8 would be 12.5%: people write 13%, round-half-even writes 12.
    assert m.Completeness(filled=1, total=8, missing=(), stale=False).percent == 13
    assert m.Completeness(filled=5, total=7, missing=(), stale=False).percent == 71
