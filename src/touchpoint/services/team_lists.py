"""Lists a manager reads about the people of their teams: one rep's interactions, scores
and promises in a period, and the team's late promises.

Each list can be held to the customers of some Hub teams (``teams``; None: every
customer), since a rep in two teams is seen by the manager of one of them only in
that team's customers. Promises use the product's words (see
:func:`touchpoint.domain.metrics.promise_state`): **overdue** is still open after its
due time (now), **late** is done after it; the late ones of a period are those due in
it and done by its end (or by now, while it runs), as the daily report counts them.
Every list is cut at ``limit`` and says how many there are in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased

from touchpoint.domain import dates
from touchpoint.domain.enums import FollowUpStatus
from touchpoint.errors import ValidationError
from touchpoint.services.followups import followup_view
from touchpoint.services.interactions import interaction_view
from touchpoint.services.records import FollowUpView, InteractionView
from touchpoint.storage.models import Customer, CustomerTeam, FollowUp, Interaction
from touchpoint.storage.workspace import Workspace

LATE_SORTS = ("due", "days", "rep", "customer")
_EVER = datetime(1, 1, 1, tzinfo=UTC)  # before every due time
T = TypeVar("T")


@dataclass(frozen=True)
class Cut(Generic[T]):
    """The first rows of a list and how many it has in all (``more``: the rest)."""

    rows: list[T]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.rows))


@dataclass(frozen=True)
class LatePromise:
    followup: FollowUpView
    team: str | None
    state: str  # "overdue" (still open) or "late" (done after its due time)
    days_late: int  # local calendar days from its due time to now, or to when it was done


@dataclass(frozen=True)
class LatePromises:
    overdue: Cut[LatePromise]
    late: Cut[LatePromise]
    reps: list[str]  # everyone with a late or overdue promise here, before the rep filter


def _in_teams(customer_id: Any, teams: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    if teams is None:
        return []
    # Each row's customer looked up by its key: a list's rows are few next to a team's
    # customers, which "IN (SELECT ...)" would gather into a table first (37,000 at L)
    # for every statement.
    held = aliased(CustomerTeam)  # a list may join the customer's team row itself
    same = held.customer_id == customer_id
    return [select(held.customer_id).where(same, held.team.in_(teams)).exists()]


def _bounds(ws: Workspace, first: date, last: date) -> tuple[datetime, datetime]:
    if last < first:
        raise ValidationError("period", f"ends on {last} before it starts on {first}")
    return dates.local_range_bounds(first, last, ws.tz)


def _rep_interactions(
    ws: Workspace, rep: str, first: date, last: date, teams: tuple[str, ...] | None
) -> list[ColumnElement[bool]]:
    start, end = _bounds(ws, first, last)
    return [
        Interaction.rep == rep,
        Interaction.deleted_at.is_(None),
        Interaction.occurred_at >= start,
        Interaction.occurred_at < end,
        *_in_teams(Interaction.customer_id, teams),
    ]


def _interaction_cut(
    ws: Workspace, where: list[ColumnElement[bool]], offset: int, limit: int
) -> Cut[InteractionView]:
    if offset < 0 or limit < 0:
        raise ValidationError("page", "must not be negative")
    with ws.read() as session:
        total = int(
            session.scalar(select(func.count()).select_from(Interaction).where(*where)) or 0
        )
        rows = session.execute(
            select(Interaction, Customer.name)
            .join(Customer, Customer.id == Interaction.customer_id)
            .where(*where)
            .order_by(Interaction.occurred_at.desc(), Interaction.id)
            .offset(offset)
            .limit(limit)
        ).all()
    return Cut([interaction_view(i, name) for i, name in rows], total)


def rep_interactions(
    ws: Workspace,
    rep: str,
    first: date,
    last: date,
    *,
    teams: tuple[str, ...] | None = None,
    offset: int = 0,
    limit: int = 25,
) -> Cut[InteractionView]:
    """A rep's interactions on the local days ``first`` to ``last``, newest first."""
    return _interaction_cut(ws, _rep_interactions(ws, rep, first, last, teams), offset, limit)


def rep_scores(
    ws: Workspace,
    rep: str,
    first: date,
    last: date,
    *,
    teams: tuple[str, ...] | None = None,
    limit: int = 50,
) -> Cut[InteractionView]:
    """The satisfaction scores a rep recorded in the period, with the customers' words,
    newest first."""
    where = [
        *_rep_interactions(ws, rep, first, last, teams),
        Interaction.satisfaction.is_not(None),
    ]
    return _interaction_cut(ws, where, 0, limit)


def rep_open_promises(
    ws: Workspace, rep: str, *, teams: tuple[str, ...] | None = None, limit: int = 50
) -> tuple[Cut[FollowUpView], int]:
    """A rep's open promises now, the earliest due first (so the overdue ones lead),
    and how many of them are overdue."""
    where = [
        FollowUp.assigned_to == rep,
        FollowUp.status == FollowUpStatus.OPEN,
        FollowUp.deleted_at.is_(None),
        # True of every promise; a range on due_at makes SQLite (no statistics) read the
        # rep's open promises from their own index (0007) instead of walking every open
        # promise of the book by the status index (at L: 1 ms instead of 100s).
        FollowUp.due_at > _EVER,
        *_in_teams(FollowUp.customer_id, teams),
    ]
    now = ws.now()
    with ws.read() as session:
        total = int(session.scalar(select(func.count()).select_from(FollowUp).where(*where)) or 0)
        late = int(
            session.scalar(
                select(func.count()).select_from(FollowUp).where(*where, FollowUp.due_at < now)
            )
            or 0
        )
        rows = session.execute(
            select(FollowUp, Customer.name)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(*where)
            .order_by(FollowUp.due_at, FollowUp.id)
            .limit(limit)
        ).all()
    return Cut([followup_view(f, now=now, customer_name=name) for f, name in rows], total), late


def _late_query(where: list[ColumnElement[bool]], sort: str, limit: int) -> Select[Any]:
    days = func.julianday(FollowUp.done_at) - func.julianday(FollowUp.due_at)
    order: dict[str, list[Any]] = {
        "due": [FollowUp.due_at, FollowUp.id],
        "days": [days.desc(), FollowUp.due_at, FollowUp.id],
        "rep": [FollowUp.assigned_to, FollowUp.due_at, FollowUp.id],
        "customer": [Customer.name, FollowUp.due_at, FollowUp.id],
    }
    return (
        select(FollowUp, Customer.name, CustomerTeam.team)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .outerjoin(CustomerTeam, CustomerTeam.customer_id == FollowUp.customer_id)
        .where(*where)
        .order_by(*order[sort])
        .limit(limit)
    )


def _late_where(
    ws: Workspace, first: date, last: date, teams: tuple[str, ...] | None
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """(overdue now, kept late in the period): the conditions of each list."""
    now = ws.now()
    start, end = _bounds(ws, first, last)
    as_of = min(now, end)
    scope = [FollowUp.deleted_at.is_(None), *_in_teams(FollowUp.customer_id, teams)]
    overdue = [*scope, FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_at < now]
    late = [
        *scope,
        FollowUp.status == FollowUpStatus.DONE,
        FollowUp.due_at >= start,
        FollowUp.due_at < end,
        FollowUp.done_at > FollowUp.due_at,
        FollowUp.done_at <= as_of,
    ]
    return overdue, late


def _late_cut(
    ws: Workspace,
    session: Any,
    where: list[ColumnElement[bool]],
    state: str,
    *,
    sort: str,
    limit: int,
    total: int | None = None,
) -> Cut[LatePromise]:
    now = ws.now()
    tz = ws.tz
    if total is None:
        total = int(session.scalar(select(func.count()).select_from(FollowUp).where(*where)) or 0)
    # Overdue ones have no done time: their "days" order is their due time.
    query = _late_query(where, "due" if sort == "days" and state == "overdue" else sort, limit)
    rows = [
        LatePromise(
            followup_view(f, now=now, customer_name=name),
            team,
            state,
            dates.days_between(f.due_at, f.done_at or now, tz),
        )
        for f, name, team in session.execute(query)
    ]
    return Cut(rows, total)


def late_promises(
    ws: Workspace,
    first: date,
    last: date,
    *,
    teams: tuple[str, ...] | None = None,
    rep: str | None = None,
    sort: str = "due",
    limit: int = 200,
) -> LatePromises:
    """Promises overdue now, and those due in the period that were kept late (done after
    their due time, by the period's end or by now while it runs), the team's customers'
    only when ``teams`` is given; ``rep`` keeps one rep's (the assignee's)."""
    if sort not in LATE_SORTS:
        raise ValidationError("sort", f"cannot sort by {sort!r}; choose one of {LATE_SORTS}")
    overdue, late = _late_where(ws, first, last, teams)
    cuts = []
    reps: set[str] = set()
    with ws.read() as session:
        for where, state in ((overdue, "overdue"), (late, "late")):
            # Each list's reps and how many each has, in one pass: the reps to choose
            # from and the total, with or without the rep chosen.
            per_rep = dict(
                session.execute(
                    select(FollowUp.assigned_to, func.count())
                    .where(*where)
                    .group_by(FollowUp.assigned_to)
                ).all()
            )
            reps.update(per_rep)
            total = per_rep.get(rep, 0) if rep else sum(per_rep.values())
            shown = [*where, FollowUp.assigned_to == rep] if rep else where
            cuts.append(_late_cut(ws, session, shown, state, sort=sort, limit=limit, total=total))
    return LatePromises(cuts[0], cuts[1], sorted(reps))


def rep_late_promises(
    ws: Workspace,
    rep: str,
    first: date,
    last: date,
    *,
    teams: tuple[str, ...] | None = None,
    limit: int = 200,
) -> Cut[LatePromise]:
    """A rep's promises due in the period and kept late, as :func:`late_promises` lists
    them for the rep (by due time), without the team's overdue ones and reps."""
    _overdue, late = _late_where(ws, first, last, teams)
    with ws.read() as session:
        where = [*late, FollowUp.assigned_to == rep]
        return _late_cut(ws, session, where, "late", sort="due", limit=limit)
