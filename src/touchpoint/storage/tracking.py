"""Writes every local change to the change log, in the same transaction as the change.

A session opened by a unit of work carries a :class:`ChangeContext` in
``session.info``. Before each flush we stamp created/updated times and authors,
and turn each new or changed record into one ``change_log`` row with the old and
new value of every field. Sessions that apply changes pulled from the Hub set
``origin="remote"``: they keep the search index and identity keys current but
write nothing to the outbox, so pulled changes are never pushed back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from touchpoint.storage import identity, search_index
from touchpoint.storage.models import Change, Record
from touchpoint.storage.types import to_utc_text


@dataclass
class ChangeContext:
    author: str
    device_id: str
    schema_version: str
    now: datetime
    origin: str = "local"  # "local" writes the outbox; "remote" does not
    tx_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    changed: dict[str, set[str]] = field(default_factory=dict)  # entity -> record ids


def jsonable(value: Any) -> Any:
    """A field value as it travels in the change log and the protocol."""
    if isinstance(value, datetime):
        return to_utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def _columns(record: Record) -> list[str]:
    return [c.key for c in inspect(type(record)).column_attrs]


def apply_defaults(record: Record) -> None:
    """Fill column defaults now, so the insert change carries them (SQLAlchemy would
    only apply them inside the INSERT, after the change log row was written)."""
    for column in inspect(type(record)).columns:
        default = column.default
        if default is None or getattr(record, column.key) is not None:
            continue
        if default.is_callable:
            setattr(record, column.key, default.arg(None))  # type: ignore[union-attr]
        elif default.is_scalar:
            setattr(record, column.key, default.arg)  # type: ignore[union-attr]


def _insert_fields(record: Record) -> dict[str, list[Any]]:
    return {
        name: [None, jsonable(getattr(record, name))]
        for name in _columns(record)
        if name not in record.bookkeeping and getattr(record, name) is not None
    }


def _update_fields(record: Record) -> dict[str, list[Any]]:
    state = inspect(record)
    fields: dict[str, list[Any]] = {}
    for name in _columns(record):
        if name in record.bookkeeping:
            continue
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if jsonable(old) != jsonable(new):
            fields[name] = [jsonable(old), jsonable(new)]
    return fields


def _op(fields: dict[str, list[Any]]) -> str:
    if "deleted_at" in fields:
        return "delete" if fields["deleted_at"][1] is not None else "restore"
    return "update"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    ctx: ChangeContext | None = session.info.get("change_context")
    if ctx is None:
        return
    local = ctx.origin == "local"
    changes: list[Change] = []
    for record in list(session.new):
        if not isinstance(record, Record):
            continue
        apply_defaults(record)
        if local:
            record.created_at = record.created_at or ctx.now
            record.created_by = record.created_by or ctx.author
            record.updated_at = ctx.now
            record.updated_by = ctx.author
            changes.append(_change(ctx, record, "insert", _insert_fields(record)))
        ctx.changed.setdefault(record.entity, set()).add(record.id)
    for record in list(session.dirty):
        if not isinstance(record, Record) or not session.is_modified(record):
            continue
        fields = _update_fields(record) if local else {}
        if local:
            if not fields:
                continue
            record.updated_at = ctx.now
            record.updated_by = ctx.author
            changes.append(_change(ctx, record, _op(fields), fields))
        ctx.changed.setdefault(record.entity, set()).add(record.id)
    session.add_all(changes)
    pending = session.info.setdefault("index_pending", {})
    for record in list(session.new) + list(session.dirty):
        if isinstance(record, Record):
            pending[(record.entity, record.id)] = record


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending: dict[tuple[str, str], Record] = session.info.pop("index_pending", {})
    if not pending:
        return
    conn = session.connection()
    records = list(pending.values())
    search_index.refresh(conn, records)
    identity.refresh(conn, records)


def _change(ctx: ChangeContext, record: Record, op: str, fields: dict[str, list[Any]]) -> Change:
    return Change(
        change_id=str(uuid.uuid4()),
        tx_id=ctx.tx_id,
        device_id=ctx.device_id,
        entity=record.entity,
        record_id=record.id,
        op=op,
        fields=fields,
        at=ctx.now,
        author=ctx.author,
        schema_version=ctx.schema_version,
    )
