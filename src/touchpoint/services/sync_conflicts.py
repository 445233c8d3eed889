"""The Conflicts list: values that lost a concurrent edit, and restoring one; and the
changes the Hub refused, shown until the user dismisses them.

Restoring is an ordinary local edit (it goes through the outbox), made from the
value the Hub kept; it then wins everywhere because it is based on the current value.
A refused change is not retried (the record fell back to the Hub's values): the user
sees what was refused and why, and fixes the record with a new edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.lookup import by_id
from touchpoint.services.workspace import Changes, Saved, Workspace
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, Meta, SyncConflict

# Change ids of refused changes the user has dismissed (a JSON list): local only.
DISMISSED_KEY = "sync_rejected_dismissed"


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
    from touchpoint.sync.engine import CONVERT  # the sync engine loads only when needed

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
    record_name: str | None = None
    customer_id: str | None = None  # whose profile to open to fix it
    values: dict[str, Any] | None = None  # field: the value that was refused
    refused_at: datetime | None = None


def _dismissed(session: Session) -> list[str]:
    row = session.get(Meta, DISMISSED_KEY)
    return list(json.loads(row.value)) if row is not None else []


def _open_rejected(session: Session) -> Any:
    query = select(Change).where(Change.push_error.is_not(None))
    dismissed = _dismissed(session)
    return query.where(Change.change_id.not_in(dismissed)) if dismissed else query


def _record_name(record: Any) -> str | None:
    for attribute in ("name", "title", "subject", "label"):
        value = getattr(record, attribute, None)
        if value:
            return str(value)
    return None


def rejected_changes(ws: Workspace, *, limit: int = 200) -> list[RejectedChange]:
    """Refused changes not dismissed, newest first, with their record's name."""
    with ws.read() as session:
        rows = session.scalars(_open_rejected(session).order_by(Change.seq.desc()).limit(limit))
        out = []
        for c in rows:
            model = MODEL_BY_ENTITY.get(c.entity)
            record = session.get(model, c.record_id) if model else None
            customer_id = c.record_id if c.entity == "customer" else None
            customer_id = getattr(record, "customer_id", None) or customer_id
            out.append(
                RejectedChange(
                    change_id=c.change_id,
                    entity=c.entity,
                    record_id=c.record_id,
                    fields=sorted(c.fields),
                    at=c.at,
                    reason=c.push_error or "",
                    record_name=_record_name(record),
                    customer_id=customer_id,
                    values={
                        k: v[1] if isinstance(v, list) and len(v) == 2 else v
                        for k, v in c.fields.items()
                    },
                    refused_at=c.pushed_at,
                )
            )
        return out


def rejected_count(ws: Workspace) -> int:
    """How many refused changes wait to be seen (cheap: for the status bar)."""
    with ws.read() as session:
        query = _open_rejected(session).with_only_columns(func.count())
        return int(session.execute(query).scalar_one())


def dismiss_rejected(ws: Workspace, change_id: str) -> None:
    """Take a refused change off the list; the change log keeps it as history."""
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        change = s.scalars(select(Change).where(Change.change_id == change_id)).first()
        if change is None or change.push_error is None:
            raise NotFoundError(f"no refused change with id {change_id}")
        dismissed = _dismissed(s)
        if change_id not in dismissed:
            row = s.get(Meta, DISMISSED_KEY)
            value = json.dumps([*dismissed, change_id])
            if row is None:
                s.add(Meta(key=DISMISSED_KEY, value=value))
            else:
                row.value = value
        uow.commit()
