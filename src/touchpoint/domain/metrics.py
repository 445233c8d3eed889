"""The measures of a customer-centric team, exactly as PRODUCT.md defines them.

Pure functions over plain facts: no Qt, no SQL. Every screen, export and report
computes its figures here, so they all agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache

from touchpoint.domain.dates import local_date
from touchpoint.domain.enums import CustomerStatus, DealStage, FollowUpStatus, PromiseState
from touchpoint.domain.rounding import half_up_int

QUIET_AFTER_DAYS = 30
SCORED_WITHIN_DAYS = 180
STALE_AFTER_DAYS = 365
SATISFACTION_WINDOW = 3
FALLING_BY = 1.0


# --- promises -------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpFacts:
    due_at: datetime
    status: FollowUpStatus
    done_at: datetime | None = None


def promise_state(f: FollowUpFacts, *, now: datetime) -> PromiseState:
    """Kept: done at or before its due time. Late: done after it. Overdue: still open
    after it. Open: not yet due. All as it stood at ``now``."""
    if f.status == FollowUpStatus.CANCELLED:
        return PromiseState.CANCELLED
    if f.status == FollowUpStatus.DONE and (f.done_at is None or f.done_at <= now):
        done = f.done_at or now
        return PromiseState.KEPT if done <= f.due_at else PromiseState.LATE
    # Open, or done only after ``now`` (a report as of a past day): open as it stood then.
    return PromiseState.OVERDUE if now > f.due_at else PromiseState.OPEN


@dataclass(frozen=True)
class PromiseStats:
    kept: int = 0
    late: int = 0
    overdue: int = 0
    open: int = 0  # due in the period but not yet due at ``now``
    cancelled: int = 0

    @property
    def due(self) -> int:
        """The denominator: promises whose due time has come (kept + late + overdue)."""
        return self.kept + self.late + self.overdue

    @property
    def rate(self) -> float | None:
        """Promise-keeping rate, 0..1; None when nothing was due ("no data", not 100%)."""
        return self.kept / self.due if self.due else None


def promise_keeping(
    followups: Iterable[FollowUpFacts],
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> PromiseStats:
    """Promise keeping over follow-ups due in [start, end) (all, when no bounds)."""
    counts = {state: 0 for state in PromiseState}
    for f in followups:
        if start is not None and f.due_at < start:
            continue
        if end is not None and f.due_at >= end:
            continue
        counts[promise_state(f, now=now)] += 1
    return PromiseStats(
        kept=counts[PromiseState.KEPT],
        late=counts[PromiseState.LATE],
        overdue=counts[PromiseState.OVERDUE],
        open=counts[PromiseState.OPEN],
        cancelled=counts[PromiseState.CANCELLED],
    )


# --- touches and satisfaction -----------------------------------------------------


def days_since(last: datetime | None, *, now: datetime, tz: tzinfo) -> int | None:
    """Local calendar days since a moment (0 today); None when it never happened."""
    if last is None:
        return None
    return max(0, (local_date(now, tz) - local_date(last, tz)).days)


def average(scores: Sequence[int | float]) -> float | None:
    return sum(scores) / len(scores) if scores else None


@dataclass(frozen=True)
class SatisfactionSummary:
    current: float | None  # average of the last three scored interactions
    previous: float | None  # average of the three before those
    count: int  # scored interactions seen

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def falling(self) -> bool:
        """At least one point below the average of the three before (PRODUCT.md)."""
        change = self.change
        return change is not None and change <= -FALLING_BY + 1e-9


def customer_satisfaction(scores_newest_first: Sequence[int]) -> SatisfactionSummary:
    """A customer's satisfaction from their scored interactions, newest first."""
    scores = [s for s in scores_newest_first if s is not None]
    window = SATISFACTION_WINDOW
    current = average(scores[:window])
    previous = average(scores[window : 2 * window]) if len(scores) >= 2 * window else None
    return SatisfactionSummary(current=current, previous=previous, count=len(scores))


@lru_cache(maxsize=2**15)
def falling_of(newest: tuple[int, ...]) -> bool:
    """Whether satisfaction is falling, from the newest scores, newest first (the two
    windows that decide it: at most 2 x :data:`SATISFACTION_WINDOW` of them). Scores
    are 1 to 5, so a whole book shares a few thousand answers at most: made once each."""
    return customer_satisfaction(newest[: 2 * SATISFACTION_WINDOW]).falling


@dataclass(frozen=True)
class QuietReason:
    no_touch_days: int | None  # set when no touch for longer than the limit
    never_touched: bool
    falling_satisfaction: bool

    @property
    def text(self) -> str:
        parts = []
        if self.never_touched:
            parts.append("never contacted")
        elif self.no_touch_days is not None:
            parts.append(f"no touch for {self.no_touch_days} days")
        if self.falling_satisfaction:
            parts.append("satisfaction falling")
        return ", ".join(parts)


def going_quiet(
    *,
    status: str,
    last_touch: datetime | None,
    satisfaction: SatisfactionSummary,
    now: datetime,
    tz: tzinfo,
    quiet_after_days: int = QUIET_AFTER_DAYS,
) -> QuietReason | None:
    """Why an active customer is on the attrition watch list, or None when it is not."""
    if status != CustomerStatus.ACTIVE:
        return None
    days = days_since(last_touch, now=now, tz=tz)
    silent = days is None or days > quiet_after_days
    falling = satisfaction.falling
    if not silent and not falling:
        return None
    return QuietReason(
        no_touch_days=days if silent else None,
        never_touched=days is None,
        falling_satisfaction=falling,
    )


@dataclass(frozen=True)
class SatisfactionPoint:
    day: date
    average: float
    count: int


def satisfaction_trend(
    scored: Iterable[tuple[datetime, int]], *, tz: tzinfo, bucket_days: int = 1
) -> list[SatisfactionPoint]:
    """Average satisfaction per local day (or per ``bucket_days`` block), oldest first."""
    buckets: dict[date, list[int]] = {}
    anchor: date | None = None
    for when, score in sorted(scored, key=lambda pair: pair[0]):
        day = local_date(when, tz)
        if anchor is None:
            anchor = day
        if bucket_days > 1:
            day = anchor + timedelta(days=((day - anchor).days // bucket_days) * bucket_days)
        buckets.setdefault(day, []).append(score)
    return [
        SatisfactionPoint(day=d, average=sum(s) / len(s), count=len(s))
        for d, s in sorted(buckets.items())
    ]


# --- profile quality -------------------------------------------------------------


@dataclass(frozen=True)
class ProfileFacts:
    contacts: int
    has_email_or_phone: bool
    industry: str | None
    owner: str | None
    status: str | None
    has_address: bool
    last_scored_interaction: datetime | None
    last_confirmed_or_changed: datetime | None


COMPLETENESS_ITEMS = (
    "a contact",
    "an email or phone",
    "industry",
    "owner",
    "status",
    "an address",
    "a scored interaction in the last 180 days",
)


@dataclass(frozen=True)
class Completeness:
    filled: int
    total: int
    missing: tuple[str, ...]
    stale: bool

    @property
    def share(self) -> float:
        return self.filled / self.total

    @property
    def percent(self) -> int:
        return _percent(self.filled, self.total)


@lru_cache(maxsize=64)
def _percent(filled: int, total: int) -> int:
    # A handful of pairs over a whole book: rounded once each, not once per profile.
    return half_up_int(100 * (filled / total))


def completeness(facts: ProfileFacts, *, now: datetime) -> Completeness:
    """Which of the seven important things a profile has, and whether it is stale."""
    present = (
        facts.contacts > 0,
        facts.has_email_or_phone,
        bool(facts.industry),
        bool(facts.owner),
        bool(facts.status),
        facts.has_address,
        facts.last_scored_interaction is not None
        and facts.last_scored_interaction >= scored_since(now),
    )
    return completeness_of(present, stale=is_stale(facts.last_confirmed_or_changed, now=now))


@lru_cache(maxsize=2 ** (len(COMPLETENESS_ITEMS) + 1))
def completeness_of(present: tuple[bool, ...], *, stale: bool) -> Completeness:
    """The completeness of a profile from which of :data:`COMPLETENESS_ITEMS` it has
    (in their order) and whether it is stale. Decided by these eight booleans alone, so
    a whole book shares a few hundred answers at most: made once each."""
    missing = tuple(item for item, ok in zip(COMPLETENESS_ITEMS, present, strict=True) if not ok)
    return Completeness(filled=sum(present), total=len(present), missing=missing, stale=stale)


def scored_since(now: datetime) -> datetime:
    """The oldest moment a scored interaction may have to count toward completeness."""
    return now - timedelta(days=SCORED_WITHIN_DAYS)


def stale_before(now: datetime) -> datetime:
    """A profile last confirmed or changed before this moment (in UTC) is stale at
    ``now``: :func:`is_stale` as one comparison, for a whole book."""
    return now.astimezone(UTC) - timedelta(days=STALE_AFTER_DAYS)


def is_stale(last_confirmed_or_changed: datetime | None, *, now: datetime) -> bool:
    """No field confirmed or changed for 365 days."""
    if last_confirmed_or_changed is None:
        return True
    return now - last_confirmed_or_changed > timedelta(days=STALE_AFTER_DAYS)


# --- activity and value -----------------------------------------------------------


@dataclass(frozen=True)
class GoalProgress:
    kind: str
    done: int
    goal: float | None  # None: no goal set for this kind and period

    @property
    def percent(self) -> float | None:
        """Done / goal in percent (130.0 is 30% over goal); None without a goal."""
        if not self.goal:
            return None
        return 100.0 * self.done / self.goal

    @property
    def over_under(self) -> float | None:
        """Over- (+) or under-delivery (-) in percent of the goal."""
        percent = self.percent
        return None if percent is None else percent - 100.0


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WORK_DAYS = frozenset(range(5))  # Monday to Friday (date.weekday() numbers)


_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_work_days(names: Iterable[object]) -> frozenset[int]:
    """Weekday names ("mon", "Tuesday"...) as ``date.weekday()`` numbers; ValueError
    naming the bad one (or an empty list: a team works at least one day)."""
    days = set()
    for name in names:
        text = name.strip().lower() if isinstance(name, str) else ""
        found = [
            n for n, full in enumerate(_FULL_DAY_NAMES) if len(text) >= 3 and full.startswith(text)
        ]
        if not found:
            raise ValueError(f"'{name}' is not a day of the week (mon, tue ... sun)")
        days.add(found[0])
    if not days:
        raise ValueError("name at least one working day")
    return frozenset(days)


def work_days_text(days: frozenset[int]) -> str:
    """ "mon–fri" for a run of days, else the days one by one ("mon, wed, fri")."""
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAY_NAMES[ordered[0]]}–{WEEKDAY_NAMES[ordered[-1]]}"
    return ", ".join(WEEKDAY_NAMES[d] for d in ordered)


def working_days(first: date, last: date, work_days: frozenset[int]) -> int:
    """The team's working days in ``first``..``last`` (both included)."""
    return sum(
        (first + timedelta(days=n)).weekday() in work_days for n in range((last - first).days + 1)
    )


def whole_weeks(first: date, last: date) -> int:
    """How many calendar weeks (Monday to Sunday) ``first``..``last`` is; 0 when it is
    not whole weeks."""
    days = (last - first).days + 1
    return days // 7 if first.weekday() == 0 and days % 7 == 0 else 0


def goal_for_period(
    per_period: float, per: str, first: date, last: date, work_days: frozenset[int]
) -> float | None:
    """A goal set per ``per`` ("day" or "week") over the local days ``first``..``last``.

    A daily goal counts on working days only (a Saturday has no goal); a weekly goal is
    never spread over days: it is a goal for whole weeks only (None otherwise)."""
    if per == "day":
        days = working_days(first, last, work_days)
        return per_period * days if days else None
    weeks = whole_weeks(first, last)
    return per_period * weeks if weeks else None


def activity_per_day(
    moments: Iterable[datetime], *, first: date, last: date, tz: tzinfo
) -> dict[date, int]:
    """Interactions per local day over an inclusive range; days with none count 0."""
    counts = {first + timedelta(days=n): 0 for n in range((last - first).days + 1)}
    for moment in moments:
        day = local_date(moment, tz)
        if day in counts:
            counts[day] += 1
    return counts


@dataclass(frozen=True)
class DealFacts:
    value: Decimal
    currency: str
    stage: str


@dataclass(frozen=True)
class LifetimeValue:
    currency: str
    won: Decimal
    open_pipeline: Decimal
    other_currencies: dict[str, Decimal] = field(default_factory=dict)  # won, not converted


def lifetime_value(deals: Iterable[DealFacts], *, currency: str) -> LifetimeValue:
    """The sum of won deals in the customer's currency; other currencies kept apart
    rather than converted at a rate nobody agreed on."""
    won = Decimal("0")
    pipeline = Decimal("0")
    other: dict[str, Decimal] = {}
    for deal in deals:
        stage = DealStage(deal.stage)
        if deal.currency != currency:
            if stage == DealStage.WON:
                other[deal.currency] = other.get(deal.currency, Decimal("0")) + deal.value
            continue
        if stage == DealStage.WON:
            won += deal.value
        elif stage.is_open:
            pipeline += deal.value
    return LifetimeValue(currency=currency, won=won, open_pipeline=pipeline, other_currencies=other)
