"""What a local change is: its change-log row, the values it carries, its stamps.

A session opened by a unit of work carries a :class:`ChangeContext` in
``session.info``. Each new or changed record becomes one ``change_log`` row with the
old and new value of every field, its created/updated times and authors stamped.
Sessions that apply changes pulled from the Hub set ``origin="remote"``: they keep
the search index and identity keys current but write nothing to the outbox, so pulled
changes are never pushed back. :mod:`touchpoint.storage.bulk_write` writes these rows
(the ORM's flush hooks and the bulk path alike).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import inspect

from touchpoint.storage import hub_clock
from touchpoint.storage.models import MODEL_BY_ENTITY, Record, new_id
from touchpoint.storage.types import (
    DecimalText,
    ISODate,
    UTCDateTime,
    to_utc_text,
)


@dataclass
class ChangeContext:
    author: str
    device_id: str
    schema_version: str
    now: datetime
    origin: str = "local"  # "local" writes the outbox; "remote" does not
    tx_id: str = field(default_factory=new_id)
    changed: dict[str, set[str]] = field(default_factory=dict)  # entity -> record ids
    # Read once per transaction that logs changes (storage.hub_clock): the Hub's time
    # of this edit, and the last Hub sequence this laptop had pulled.
    stamped: bool = False
    hub_at: datetime | None = None
    base_seq: int | None = None

    def stamp(self, conn: Any) -> None:
        if self.stamped:
            return
        self.stamped = True
        meta = dict(
            conn.exec_driver_sql(
                "SELECT key, value FROM local_meta WHERE key IN (?, ?)",
                (hub_clock.CLOCK_KEY, hub_clock.CURSOR_KEY),
            ).all()
        )
        self.hub_at = hub_clock.hub_time(meta.get(hub_clock.CLOCK_KEY), self.now)
        cursor = meta.get(hub_clock.CURSOR_KEY)
        self.base_seq = int(cursor) if cursor and cursor.isdigit() else None


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A field value as it travels in the change log and the protocol."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return to_utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    # Lists and dicts of plain values (emails, phones, tags) are the common case: one
    # pass that only recurses where it must.
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    return value


def _converters(model: type[Record]) -> dict[str, Callable[[Any], Any]]:
    out: dict[str, Callable[[Any], Any]] = {}
    for column in model.__table__.columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            # fromisoformat reads the stored "...Z" form, many times faster than strptime.
            out[column.key] = lambda v: None if v is None else datetime.fromisoformat(v)
        elif isinstance(kind, ISODate):
            out[column.key] = lambda v: None if v is None else date.fromisoformat(v)
        elif isinstance(kind, DecimalText):
            out[column.key] = lambda v: None if v is None else Decimal(str(v))
        else:
            out[column.key] = lambda v: v
    return out


# The other way from :func:`jsonable`: per entity and field, a value as it travels
# back to the column's value (what the sync engine and its check apply). A constant:
# built once from the models at import and never changed, so module-level is right.
CONVERT: dict[str, dict[str, Callable[[Any], Any]]] = {
    entity: _converters(model) for entity, model in MODEL_BY_ENTITY.items()
}


# Per model: its column names, and its columns that have a default. Computed once:
# inspecting the mapper for every record is a real cost when an import flushes thousands.
_COLUMNS: dict[type, tuple[str, ...]] = {}
_DEFAULTS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _columns(record: Record) -> tuple[str, ...]:
    cls = type(record)
    names = _COLUMNS.get(cls)
    if names is None:
        names = _COLUMNS[cls] = tuple(c.key for c in inspect(cls).column_attrs)
    return names


def apply_defaults(record: Record) -> None:
    """Fill column defaults now, so the insert change carries them (SQLAlchemy would
    only apply them inside the INSERT, after the change log row was written)."""
    for key, default in _defaults(type(record)):
        if getattr(record, key) is not None:
            continue
        if default.is_callable:
            setattr(record, key, default.arg(None))
        elif default.is_scalar:
            setattr(record, key, default.arg)


def _insert_fields(record: Record) -> dict[str, list[Any]]:
    fields: dict[str, list[Any]] = {}
    bookkeeping = record.bookkeeping
    for name in _columns(record):
        if name not in bookkeeping:
            value = getattr(record, name)
            if value is not None:
                fields[name] = [None, jsonable(value)]
    return fields


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


def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = tuple(
            (column.key, column.default)
            for column in inspect(cls).columns
            if column.default is not None
        )
    return defaults


_R = TypeVar("_R", bound=Record)
_COLUMN_SETS: dict[type, frozenset[str]] = {}


def new_record(model: type[_R], **fields: Any) -> _R:
    """A transient record for :mod:`~touchpoint.storage.bulk_write`, with these column values.

    Built as the ORM builds a loaded row (its instance state, the values straight in its
    ``__dict__``), not through the constructor's attribute events: those cost more than
    the record's INSERT when an import makes tens of thousands."""
    allowed = _COLUMN_SETS.get(model)
    if allowed is None:
        allowed = _COLUMN_SETS[model] = frozenset(c.key for c in inspect(model).column_attrs)
    if not allowed.issuperset(fields):
        unknown = ", ".join(sorted(set(fields) - allowed))
        raise TypeError(f"{model.__name__} has no column {unknown}")
    record: _R = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    record.__dict__.update(fields)
    return record


def _stamp(ctx: ChangeContext, conn: Any, changes: list[dict[str, Any]]) -> None:
    ctx.stamp(conn)
    if ctx.hub_at is not None or ctx.base_seq is not None:
        for change in changes:
            change["hub_at"] = ctx.hub_at
            change["base_seq"] = ctx.base_seq


def _change(
    ctx: ChangeContext, record: Record, op: str, fields: dict[str, list[Any]]
) -> dict[str, Any]:
    return {
        "change_id": new_id(),
        "tx_id": ctx.tx_id,
        "device_id": ctx.device_id,
        "entity": record.entity,
        "record_id": record.id,
        "op": op,
        "fields": fields,
        "at": ctx.now,
        "author": ctx.author,
        "schema_version": ctx.schema_version,
        "hub_at": None,
        "base_seq": None,
    }
