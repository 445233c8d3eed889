"""A report period's activity: the interactions and follow-ups of [start, end).

The managers' report (:mod:`touchpoint.services.reports`) reads these. Times are UTC
text, as stored (fixed width, so text order is time order); ``reps`` narrows to some
reps, None reads everyone's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session


class PeriodInteraction(NamedTuple):
    rep: str
    kind: str
    outcome: str | None
    occurred_at: str
    satisfaction: int | None
    feedback: str | None  # the customer's own words
    customer_id: str


class RepScores(NamedTuple):
    """A rep's scored interactions: the sum of their scores and how many there were."""

    rep: str
    total: int
    count: int


class DueFollowUp(NamedTuple):
    assigned_to: str
    due_at: str
    status: str
    done_at: str | None


class PromisesMade(NamedTuple):
    assigned_to: str
    count: int


def _between(
    session: Session, sql: str, column: str, *, start: str, end: str, reps: Sequence[str] | None
) -> Sequence[Any]:
    """The rows of ``sql`` over [``:start``, ``:end``); each ``{reps}`` in it narrows
    ``column`` to ``reps`` (nothing when None)."""
    params: dict[str, Any] = {"start": start, "end": end}
    query = text(sql.format(reps=f" AND {column} IN :reps" if reps is not None else ""))
    if reps is not None:
        query = query.bindparams(bindparam("reps", expanding=True))
        params["reps"] = list(reps)
    return session.execute(query, params).all()


def interactions_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[PeriodInteraction]:
    """The live interactions that happened in [start, end)."""
    sql = (
        "SELECT i.rep, i.kind, i.outcome, i.occurred_at, i.satisfaction, i.feedback,"
        " i.customer_id FROM interactions i"
        " WHERE i.deleted_at IS NULL AND i.occurred_at >= :start AND i.occurred_at < :end"
        "{reps}"
    )
    return [
        PeriodInteraction(*row)
        for row in _between(session, sql, "i.rep", start=start, end=end, reps=reps)
    ]


def scores_by_rep_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[RepScores]:
    """Per rep, the sum and the number of the scores given in [start, end)."""
    sql = (
        "SELECT i.rep, sum(i.satisfaction), count(i.satisfaction) FROM interactions i"
        " WHERE i.deleted_at IS NULL AND i.occurred_at >= :start AND i.occurred_at < :end"
        " AND i.satisfaction IS NOT NULL{reps} GROUP BY i.rep"
    )
    return [
        RepScores(*row) for row in _between(session, sql, "i.rep", start=start, end=end, reps=reps)
    ]


def followups_due_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[DueFollowUp]:
    """The live follow-ups due in [start, end), whatever became of them."""
    sql = (
        "SELECT f.assigned_to, f.due_at, f.status, f.done_at FROM followups f"
        " WHERE f.deleted_at IS NULL AND f.due_at >= :start AND f.due_at < :end{reps}"
    )
    return [
        DueFollowUp(*row)
        for row in _between(session, sql, "f.assigned_to", start=start, end=end, reps=reps)
    ]


def promises_made_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[PromisesMade]:
    """Per assignee, the live follow-ups made in [start, end).

    A promise is made when the interaction it was made in happened (logged the next
    morning, it still counts for the visit's day); one made on its own, when created."""
    # Both halves read the (interaction_id, created_at) index: the period's interactions
    # find their promises through it, and the promises made on their own are a range of
    # it; neither reads the rest of the follow-ups.
    sql = (
        "SELECT assigned_to, count(*) FROM ("
        " SELECT f.assigned_to FROM interactions i CROSS JOIN followups f"
        "  WHERE i.occurred_at >= :start AND i.occurred_at < :end"
        "  AND f.interaction_id = i.id AND f.deleted_at IS NULL{reps} UNION ALL"
        " SELECT f.assigned_to FROM followups f WHERE f.interaction_id IS NULL"
        "  AND f.created_at >= :start AND f.created_at < :end"
        "  AND f.deleted_at IS NULL{reps}) GROUP BY assigned_to"
    )
    return [
        PromisesMade(*row)
        for row in _between(session, sql, "f.assigned_to", start=start, end=end, reps=reps)
    ]
