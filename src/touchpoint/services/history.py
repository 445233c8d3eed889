"""The audit history of a record, read from the change log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.services.lookup import find_customer
from touchpoint.services.records import HistoryEntry
from touchpoint.storage.models import Change
from touchpoint.storage.workspace import Workspace


def record_history(
    ws: Workspace, entity: str, record_id: str, *, limit: int = 500
) -> list[HistoryEntry]:
    """Every change to one record, newest first."""
    with ws.read() as session:
        return history_in(session, entity, record_id, limit=limit)


def history_in(
    session: Session, entity: str, record_id: str, *, limit: int = 500
) -> list[HistoryEntry]:
    """:func:`record_history` within a read already open (one read for a whole screen)."""
    rows = session.scalars(
        select(Change)
        .where(Change.entity == entity, Change.record_id == record_id)
        .order_by(Change.seq.desc())
        .limit(limit)
    ).all()
    return [
        HistoryEntry(
            seq=c.seq,
            at=c.at,
            author=c.author,
            op=c.op,
            fields=dict(c.fields),
            pushed=c.pushed_at is not None,
        )
        for c in rows
    ]


def count_history_in(session: Session, entity: str, record_id: str) -> int:
    query = select(func.count()).where(Change.entity == entity, Change.record_id == record_id)
    return int(session.execute(query).scalar_one())


def customer_history(ws: Workspace, ref: str, *, limit: int = 500) -> list[HistoryEntry]:
    with ws.read() as session:
        customer_id = find_customer(session, ref).id
    return record_history(ws, "customer", customer_id, limit=limit)


def count_customer_history(ws: Workspace, ref: str) -> int:
    """How many changes a customer's history holds (what a cut history leaves out)."""
    with ws.read() as session:
        customer_id = find_customer(session, ref).id
        query = select(func.count()).where(
            Change.entity == "customer", Change.record_id == customer_id
        )
        return int(session.execute(query).scalar_one())


def count_record_history(ws: Workspace, entity: str, record_id: str) -> int:
    """How many changes one record's history holds (what a cut history leaves out)."""
    with ws.read() as session:
        return count_history_in(session, entity, record_id)
