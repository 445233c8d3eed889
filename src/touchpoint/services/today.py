"""Today's shapes, and Today's view of rows read without SQLAlchemy.

:func:`touchpoint.services.insights.today` is the reference: through the open
Workspace. :func:`view_from_rows` gives the same :class:`TodayView` from the rows
:mod:`touchpoint.services.today_start` reads with the standard library's sqlite3, to
show Today while SQLAlchemy and the models are still loading. Nothing here imports
SQLAlchemy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from touchpoint.domain import metrics
from touchpoint.domain.enums import FollowUpStatus
from touchpoint.services.records import FollowUpView, InteractionView
from touchpoint.storage import today_rows
from touchpoint.storage.queries.watch_list import WatchRow
from touchpoint.storage.utc_text import from_utc_text, to_utc_text

log = logging.getLogger(__name__)

QUIET_LIMIT = 20


@dataclass(frozen=True)
class QuietCustomer:
    customer_id: str
    name: str
    owner: str | None
    last_touch: datetime | None
    days: int | None  # days since the last touch; None: never touched
    satisfaction: float | None  # average of the last three scores
    falling: bool
    reason: str


@dataclass(frozen=True)
class TodayView:
    overdue: list[FollowUpView]  # the longest overdue first, at most the read's limit
    overdue_total: int  # all of the rep's overdue promises
    due_today: list[FollowUpView]  # open and due later today
    interactions_today: list[InteractionView]
    quiet: list[QuietCustomer]  # the longest silent first, at most the limit asked for
    quiet_total: int = 0  # all of the rep's customers going quiet
    # When the figures were read, in which time zone: the page words "was due 2 h ago"
    # from these, without asking the Workspace (not open yet when read at start).
    as_of: datetime | None = None
    tz: tzinfo | None = None


def quiet_customer(
    customer_id: str,
    name: str,
    owner: str | None,
    *,
    last_touch: datetime | None,
    scores_newest_first: Sequence[int],
    now: datetime,
    tz: tzinfo,
    quiet_after_days: int,
) -> QuietCustomer | None:
    """An active customer on the attrition watch list, or None when it is not on it."""
    summary = metrics.customer_satisfaction(scores_newest_first)
    reason = metrics.going_quiet(
        status="active",
        last_touch=last_touch,
        satisfaction=summary,
        now=now,
        tz=tz,
        quiet_after_days=quiet_after_days,
    )
    if reason is None:
        return None
    # A silent customer's days are the reason's (counted once: a big book has thousands).
    days = reason.no_touch_days
    return QuietCustomer(
        customer_id=customer_id,
        name=name,
        owner=owner,
        last_touch=last_touch,
        days=days if days is not None else metrics.days_since(last_touch, now=now, tz=tz),
        satisfaction=summary.current,
        falling=summary.falling,
        reason=reason.text,
    )


def longest_silent_first(quiet: list[QuietCustomer]) -> None:
    """The watch list's order: never touched, then the longest silent, then by name
    (then by id, so two customers of one name keep one order however they were read)."""
    quiet.sort(key=lambda q: (-(q.days if q.days is not None else 10**6), q.name, q.customer_id))


def quiet_from_rows(
    rows: Sequence[WatchRow], *, now: datetime, tz: tzinfo, quiet_after_days: int
) -> list[QuietCustomer]:
    """The watch list from :mod:`touchpoint.storage.queries.watch_list`'s rows, in its
    order (longest silent first)."""
    # A customer touched in the last (quiet_after_days - 2) days, with no falling
    # satisfaction, is not on the list: skipped on a text comparison, without parsing
    # its time (most of the book). The margin covers local days and summer time.
    recent = to_utc_text(now - timedelta(days=quiet_after_days - 2))
    out: list[QuietCustomer] = []
    for row in rows:
        last_text = row.last_touch
        if (
            last_text
            and last_text >= recent
            and not metrics.customer_satisfaction(row.scores).falling
        ):
            continue
        found = quiet_customer(
            row.customer_id,
            row.name,
            row.owner,
            last_touch=from_utc_text(last_text) if last_text else None,
            scores_newest_first=row.scores,
            now=now,
            tz=tz,
            quiet_after_days=quiet_after_days,
        )
        if found is not None:
            out.append(found)
    longest_silent_first(out)
    return out


def _time(value: object) -> datetime | None:
    return None if value is None else from_utc_text(str(value))


def _followup(row: today_rows.OpenFollowUp, now: datetime) -> FollowUpView:
    due_at = from_utc_text(row.due_at)
    done_at = _time(row.done_at)
    facts = metrics.FollowUpFacts(due_at=due_at, status=FollowUpStatus(row.status), done_at=done_at)
    return FollowUpView(
        id=row.id,
        customer_id=row.customer_id,
        contact_id=row.contact_id,
        interaction_id=row.interaction_id,
        title=row.title,
        notes=row.notes,
        due_at=due_at,
        remind_at=_time(row.remind_at),
        priority=row.priority,
        status=row.status,
        done_at=done_at,
        assigned_to=row.assigned_to,
        state=metrics.promise_state(facts, now=now),
        customer_name=row.customer_name,
    )


def _interaction(row: today_rows.DayInteraction) -> InteractionView:
    return InteractionView(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        direction=row.direction,
        occurred_at=from_utc_text(row.occurred_at),
        duration_minutes=row.duration_minutes,
        contact_ids=list(json.loads(row.contact_ids) or []) if row.contact_ids else [],
        subject=row.subject,
        notes=row.notes,
        outcome=row.outcome,
        satisfaction=row.satisfaction,
        feedback=row.feedback,
        depth=row.depth,
        rep=row.rep,
        customer_name=row.customer_name,
    )


def view_from_rows(
    rows: today_rows.TodayRows,
    *,
    now: datetime,
    tz: tzinfo,
    quiet_after_days: int,
    quiet_limit: int = QUIET_LIMIT,
) -> TodayView:
    """Today's view of :func:`touchpoint.storage.today_rows.read_today`'s rows."""
    quiet = quiet_from_rows(rows.quiet, now=now, tz=tz, quiet_after_days=quiet_after_days)
    return TodayView(
        overdue=[_followup(r, now) for r in rows.overdue],
        overdue_total=rows.overdue_total,
        due_today=[_followup(r, now) for r in rows.due_today],
        interactions_today=[_interaction(r) for r in rows.interactions],
        quiet=quiet[:quiet_limit],
        quiet_total=len(quiet),
        as_of=now,
        tz=tz,
    )
