"""The Conflicts list: values that lost a concurrent edit, and restoring one.

Restoring is an ordinary local edit (it goes through the outbox), made from the
value the Hub kept; it then wins everywhere because it is based on the current value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.lookup import by_id
from touchpoint.services.workspace import Changes, Saved, Workspace
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, SyncConflict
from touchpoint.sync.engine import CONVERT


@dataclass(frozen=True)
class ConflictView:
    id: str
    entity: str
    record_id: str
    record_name: str | None
    field: str
    winner_value: Any
    loser_value: Any
    winner_author: str
    loser_author: str
    winner_at: str
    loser_at: str
    resolved: bool


def _view(c: SyncConflict, name: str | None) -> ConflictView:
    return ConflictView(
        id=c.id,
        entity=c.entity,
        record_id=c.record_id,
        record_name=name,
        field=c.field,
        winner_value=c.winner_value,
        loser_value=c.loser_value,
        winner_author=c.winner_author,
        loser_author=c.loser_author,
        winner_at=c.winner_at,
        loser_at=c.loser_at,
        resolved=c.resolved_at is not None,
    )


def list_conflicts(ws: Workspace, *, everyone: bool = False) -> list[ConflictView]:
    """Open conflicts this user was part of (``everyone``: all this laptop received)."""
    with ws.read() as session:
        query = select(SyncConflict).where(SyncConflict.resolved_at.is_(None))
        if not everyone:
            query = query.where(
                or_(SyncConflict.winner_author == ws.author, SyncConflict.loser_author == ws.author)
            )
        out = []
        for c in session.scalars(query.order_by(SyncConflict.created_at, SyncConflict.id)):
            model = MODEL_BY_ENTITY.get(c.entity)
            record = session.get(model, c.record_id) if model else None
            out.append(_view(c, getattr(record, "name", None) or getattr(record, "title", None)))
        return out


def restore_conflict(ws: Workspace, conflict_id: str) -> Saved[ConflictView]:
    """Put the losing value back, as a new edit that syncs like any other."""
    with ws.unit_of_work() as uow:
        s = uow.session
        conflict = by_id(s, SyncConflict, conflict_id)
        if conflict is None:
            raise NotFoundError(f"no conflict with id {conflict_id}")
        if conflict.resolved_at is not None:
            raise ValidationErrors([ValidationError("conflict", "already resolved")])
        model = MODEL_BY_ENTITY.get(conflict.entity)
        record = s.get(model, conflict.record_id) if model else None
        if record is None or conflict.field not in CONVERT[conflict.entity]:
            raise NotFoundError(f"the {conflict.entity} of this conflict is not on this laptop")
        setattr(
            record, conflict.field, CONVERT[conflict.entity][conflict.field](conflict.loser_value)
        )
        conflict.resolved_at = uow.now
        conflict.resolution = "restored"
        s.flush()
        uow.commit()
        return Saved(_view(conflict, getattr(record, "name", None)), Changes.of(uow))


def dismiss_conflict(ws: Workspace, conflict_id: str) -> None:
    """Keep the winning value and take the conflict off the list."""
    with ws.unit_of_work(origin="remote") as uow:
        conflict = uow.session.get(SyncConflict, conflict_id)
        if conflict is None:
            raise NotFoundError(f"no conflict with id {conflict_id}")
        conflict.resolved_at = uow.now
        conflict.resolution = "dismissed"
        uow.commit()


@dataclass(frozen=True)
class RejectedChange:
    """A change the Hub refused (not retried): what it was and why, for the user to see."""

    change_id: str
    entity: str
    record_id: str
    fields: list[str]
    at: datetime
    reason: str


def rejected_changes(ws: Workspace, *, limit: int = 200) -> list[RejectedChange]:
    with ws.read() as session:
        rows = session.scalars(
            select(Change)
            .where(Change.push_error.is_not(None))
            .order_by(Change.seq.desc())
            .limit(limit)
        )
        return [
            RejectedChange(
                change_id=c.change_id,
                entity=c.entity,
                record_id=c.record_id,
                fields=sorted(c.fields),
                at=c.at,
                reason=c.push_error or "",
            )
            for c in rows
        ]
