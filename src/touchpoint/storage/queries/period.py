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


def _in(column: str, values: Sequence[str] | None, name: str) -> tuple[str, dict[str, Any]]:
    if values is None:
        return "", {}
    return f" AND {column} IN :{name}", {name: list(values)}


def _expanding(reps: Sequence[str] | None) -> list[Any]:
    return [bindparam("reps", expanding=True)] if reps is not None else []


def interactions_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[PeriodInteraction]:
    """The live interactions that happened in [start, end)."""
    rep_sql, rep_params = _in("i.rep", reps, "reps")
    rows = session.execute(
        text(
            "SELECT i.rep, i.kind, i.outcome, i.occurred_at, i.satisfaction, i.feedback,"
            " i.customer_id FROM interactions i"
            " WHERE i.deleted_at IS NULL AND i.occurred_at >= :start AND i.occurred_at < :end"
            + rep_sql
        ).bindparams(*_expanding(reps)),
        {"start": start, "end": end, **rep_params},
    )
    return [PeriodInteraction(*row) for row in rows]


def scores_by_rep_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[RepScores]:
    """Per rep, the sum and the number of the scores given in [start, end)."""
    rep_sql, rep_params = _in("i.rep", reps, "reps")
    rows = session.execute(
        text(
            "SELECT i.rep, sum(i.satisfaction), count(i.satisfaction) FROM interactions i"
            " WHERE i.deleted_at IS NULL AND i.occurred_at >= :start AND i.occurred_at < :end"
            " AND i.satisfaction IS NOT NULL" + rep_sql + " GROUP BY i.rep"
        ).bindparams(*_expanding(reps)),
        {"start": start, "end": end, **rep_params},
    )
    return [RepScores(*row) for row in rows]


def followups_due_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[DueFollowUp]:
    """The live follow-ups due in [start, end), whatever became of them."""
    f_sql, f_params = _in("f.assigned_to", reps, "reps")
    rows = session.execute(
        text(
            "SELECT f.assigned_to, f.due_at, f.status, f.done_at FROM followups f"
            " WHERE f.deleted_at IS NULL AND f.due_at >= :start AND f.due_at < :end" + f_sql
        ).bindparams(*_expanding(reps)),
        {"start": start, "end": end, **f_params},
    )
    return [DueFollowUp(*row) for row in rows]


def promises_made_between(
    session: Session, start: str, end: str, reps: Sequence[str] | None
) -> list[PromisesMade]:
    """Per assignee, the live follow-ups made in [start, end).

    A promise is made when the interaction it was made in happened (logged the next
    morning, it still counts for the visit's day); one made on its own, when created."""
    f_sql, f_params = _in("f.assigned_to", reps, "reps")
    # Both halves read the (interaction_id, created_at) index: the period's interactions
    # find their promises through it, and the promises made on their own are a range of
    # it; neither reads the rest of the follow-ups.
    rows = session.execute(
        text(
            "SELECT assigned_to, count(*) FROM ("
            " SELECT f.assigned_to FROM interactions i CROSS JOIN followups f"
            "  WHERE i.occurred_at >= :start AND i.occurred_at < :end"
            "  AND f.interaction_id = i.id AND f.deleted_at IS NULL" + f_sql + " UNION ALL"
            " SELECT f.assigned_to FROM followups f WHERE f.interaction_id IS NULL"
            "  AND f.created_at >= :start AND f.created_at < :end"
            "  AND f.deleted_at IS NULL" + f_sql + ") GROUP BY assigned_to"
        ).bindparams(*_expanding(reps)),
        {"start": start, "end": end, **f_params},
    )
    return [PromisesMade(*row) for row in rows]
