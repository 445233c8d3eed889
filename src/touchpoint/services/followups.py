"""Use cases for follow-ups, the promises made to customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.domain import dates
from touchpoint.domain.enums import FollowUpStatus
from touchpoint.domain.metrics import FollowUpFacts, promise_state
from touchpoint.errors import NotFoundError, PastTimeError, ValidationError, ValidationErrors
from touchpoint.services.lookup import by_id
from touchpoint.services.records import FollowUpView
from touchpoint.services.validation import clean_followup
from touchpoint.storage.models import Customer, FollowUp
from touchpoint.storage.workspace import Changes, Saved, Workspace


def parse_time(field: str, value: datetime | date | str, *, now: datetime, tz: tzinfo) -> datetime:
    """A datetime from a value or from what a person typed (tomorrow, +3d, fri 10:00)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(field, "needs a time zone")
        return value
    if isinstance(value, date):
        value = value.isoformat()
    try:
        return dates.parse_when(str(value), now=now, tz=tz)
    except ValueError as exc:
        raise ValidationError(field, str(exc)) from None


# The words that end a "this is in the past" problem: the command line replaces them
# with its option (--allow-past), the window with its own way of asking.
ALLOW_PAST = "allow a past time to mean it"


def shown_time(when: datetime, tz: tzinfo) -> str:
    """A time as the messages about it show it: ``Wed 2020-01-01 17:00``."""
    return when.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def check_not_past(
    field: str, when: datetime, *, now: datetime, tz: tzinfo, allow_past: bool
) -> None:
    """Refuse a due time or reminder before ``now`` unless the caller allows it: a
    typo (2020 for 2026, "yesterday") would make a promise overdue the moment it is made."""
    if not allow_past and when < now:
        raise PastTimeError(field, f"{shown_time(when, tz)} is in the past; {ALLOW_PAST}")


def check_remind_before_due(remind: datetime | None, due: datetime, tz: tzinfo) -> None:
    """A reminder after the due time would come once the promise is already broken."""
    if remind is not None and remind > due:
        raise ValidationError(
            "reminder",
            f"{shown_time(remind, tz)} is after the due time {shown_time(due, tz)}; "
            "a reminder comes before it",
        )


def followup_view(f: FollowUp, *, now: datetime, customer_name: str | None = None) -> FollowUpView:
    state = promise_state(
        FollowUpFacts(due_at=f.due_at, status=FollowUpStatus(f.status), done_at=f.done_at), now=now
    )
    return FollowUpView(
        id=f.id,
        customer_id=f.customer_id,
        contact_id=f.contact_id,
        interaction_id=f.interaction_id,
        title=f.title,
        notes=f.notes,
        due_at=f.due_at,
        remind_at=f.remind_at,
        priority=f.priority,
        status=f.status,
        done_at=f.done_at,
        assigned_to=f.assigned_to,
        state=state,
        customer_name=customer_name,
    )


def _get(session: Session, ref: str) -> FollowUp:
    # The id, or its start (6 characters or more; a shorter one is said to be too short).
    followup = by_id(session, FollowUp, ref)
    if followup is None or followup.deleted_at is not None:
        raise NotFoundError(f"no follow-up with id '{(ref or '').strip()}'")
    return followup


def get_followup(ws: Workspace, ref: str) -> FollowUpView:
    """One follow-up by its id or the start of it."""
    with ws.read() as session:
        followup = _get(session, ref)
        return followup_view(
            followup, now=ws.now(), customer_name=_name(session, followup.customer_id)
        )


def _name(session: Session, customer_id: str) -> str | None:
    customer = session.get(Customer, customer_id)
    return customer.name if customer else None


def _write(ws: Workspace, ref: str, change) -> Saved[FollowUpView]:  # type: ignore[no-untyped-def]
    with ws.unit_of_work() as uow:
        followup = _get(uow.session, ref)
        change(followup, uow.now)
        uow.session.flush()
        uow.commit()
        view = followup_view(
            followup, now=uow.now, customer_name=_name(uow.session, followup.customer_id)
        )
        return Saved(view, Changes.of(uow))


def complete_followup(
    ws: Workspace, ref: str, *, at: datetime | str | None = None
) -> Saved[FollowUpView]:
    """Mark a promise done (now, or when it really was done): kept if on time, else late."""

    def change(f: FollowUp, now: datetime) -> None:
        if f.status == FollowUpStatus.CANCELLED:
            raise ValidationErrors(
                [ValidationError("status", "a cancelled follow-up cannot be completed")]
            )
        if f.status == FollowUpStatus.DONE:
            return  # completing twice keeps the first completion time
        f.status = FollowUpStatus.DONE
        f.done_at = now if at in (None, "") else parse_time("done at", at, now=now, tz=ws.tz)

    return _write(ws, ref, change)


def reopen_followup(ws: Workspace, ref: str) -> Saved[FollowUpView]:
    def change(f: FollowUp, now: datetime) -> None:
        f.status = FollowUpStatus.OPEN
        f.done_at = None

    return _write(ws, ref, change)


def cancel_followup(ws: Workspace, ref: str) -> Saved[FollowUpView]:
    def change(f: FollowUp, now: datetime) -> None:
        if f.status == FollowUpStatus.OPEN:
            f.status = FollowUpStatus.CANCELLED

    return _write(ws, ref, change)


def reschedule_followup(
    ws: Workspace,
    ref: str,
    due: datetime | str,
    *,
    remind: datetime | str | None = None,
    allow_past: bool = True,
) -> Saved[FollowUpView]:
    """Move the due time (a new promise to the customer); the reminder moves with it.

    ``allow_past=False`` refuses a due time before now (the command line's default; the
    caller asks the person first). A reminder after the due time is always refused."""

    def change(f: FollowUp, now: datetime) -> None:
        new_due = parse_time("due", due, now=now, tz=ws.tz)
        check_not_past("due", new_due, now=now, tz=ws.tz, allow_past=allow_past)
        new_remind = (
            parse_time("reminder", remind, now=now, tz=ws.tz)
            if remind not in (None, "")
            else new_due - timedelta(minutes=ws.settings.reminder_minutes_before)
        )
        check_remind_before_due(new_remind, new_due, ws.tz)
        f.due_at = new_due
        f.remind_at = new_remind

    return _write(ws, ref, change)


def snooze_followup(
    ws: Workspace, ref: str, until: datetime | str, *, allow_past: bool = True
) -> Saved[FollowUpView]:
    """Remind me later: only the reminder moves; the promise's due time stays.

    ``allow_past=False`` refuses a time before now: a reminder there would never come."""

    def change(f: FollowUp, now: datetime) -> None:
        when = parse_time("snooze until", until, now=now, tz=ws.tz)
        check_not_past("snooze until", when, now=now, tz=ws.tz, allow_past=allow_past)
        f.remind_at = when

    return _write(ws, ref, change)


def reassign_followup(ws: Workspace, ref: str, assignee: str) -> Saved[FollowUpView]:
    def change(f: FollowUp, now: datetime) -> None:
        f.assigned_to = clean_followup({"assigned_to": assignee})["assigned_to"]

    return _write(ws, ref, change)


def delete_followup(ws: Workspace, ref: str) -> Saved[FollowUpView]:
    def change(f: FollowUp, now: datetime) -> None:
        f.deleted_at = now

    return _write(ws, ref, change)


def restore_followup(ws: Workspace, followup_id: str) -> Saved[FollowUpView]:
    with ws.unit_of_work() as uow:
        followup = uow.session.get(FollowUp, followup_id)
        if followup is None:
            raise NotFoundError(f"no follow-up with id '{followup_id}'")
        followup.deleted_at = None
        uow.session.flush()
        uow.commit()
        return Saved(followup_view(followup, now=uow.now), Changes.of(uow))


@dataclass(frozen=True)
class FollowUpFilter:
    scope: str = "open"  # open | overdue | due_today | today | week | later | all
    assigned_to: str | None = None  # None: everyone's
    customer_id: str | None = None


def _where(ws: Workspace, flt: FollowUpFilter) -> list[Any]:
    """The conditions of ``flt`` on FollowUp. 'due_today' is open and due later today
    (not overdue yet); 'today' and 'week' are the user's local calendar days, and
    'today' also includes overdue ones, as a rep's list for the day does."""
    now = ws.now()
    tz = ws.tz
    today = now.astimezone(tz).date()
    _, end_today = dates.local_day_bounds(today, tz)
    _, end_week = dates.local_day_bounds(today + timedelta(days=6 - today.weekday()), tz)
    where: list[Any] = [FollowUp.deleted_at.is_(None)]
    if flt.scope != "all":
        where.append(FollowUp.status == FollowUpStatus.OPEN)
    if flt.scope == "overdue":
        where.append(FollowUp.due_at < now)
    elif flt.scope == "due_today":
        where += [FollowUp.due_at >= now, FollowUp.due_at < end_today]
    elif flt.scope == "today":
        where.append(FollowUp.due_at < end_today)
    elif flt.scope == "week":
        where.append(FollowUp.due_at < end_week)
    elif flt.scope == "later":
        where.append(FollowUp.due_at >= end_week)
    if flt.assigned_to:
        where.append(FollowUp.assigned_to == flt.assigned_to)
    if flt.customer_id:
        where.append(FollowUp.customer_id == flt.customer_id)
    return where


def list_followups(
    ws: Workspace, flt: FollowUpFilter = FollowUpFilter(), *, limit: int = 500
) -> list[FollowUpView]:
    """Follow-ups by due time, the first ``limit`` of them (scopes: see ``_where``)."""
    now = ws.now()
    where = _where(ws, flt)
    with ws.read() as session:
        query = (
            select(FollowUp, Customer.name)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(*where)
        )
        # The id breaks ties, so the first `limit` are the same however SQLite plans it.
        rows = session.execute(query.order_by(FollowUp.due_at, FollowUp.id).limit(limit)).all()
        return [followup_view(f, now=now, customer_name=name) for f, name in rows]


def count_followups(ws: Workspace, flt: FollowUpFilter = FollowUpFilter()) -> int:
    """How many follow-ups ``flt`` takes in, with no limit."""
    where = _where(ws, flt)
    with ws.read() as session:
        query = select(func.count()).select_from(FollowUp).where(*where)
        return int(session.execute(query).scalar_one())


def due_reminders(
    ws: Workspace, *, since: datetime, until: datetime | None = None
) -> list[FollowUpView]:
    """Open follow-ups whose reminder time falls in [since, until]: what to notify."""
    until = until or ws.now()
    with ws.read() as session:
        rows = session.execute(
            select(FollowUp, Customer.name)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(
                FollowUp.deleted_at.is_(None),
                FollowUp.status == FollowUpStatus.OPEN,
                FollowUp.remind_at > since,
                FollowUp.remind_at <= until,
            )
            .order_by(FollowUp.remind_at)
        ).all()
        now = ws.now()
        return [followup_view(f, now=now, customer_name=name) for f, name in rows]
