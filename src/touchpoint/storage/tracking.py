"""Writes every local change to the change log, in the same transaction as the change.

A session opened by a unit of work carries a :class:`ChangeContext` in
``session.info``. Before each flush we stamp created/updated times and authors,
and turn each new or changed record into one ``change_log`` row with the old and
new value of every field. Sessions that apply changes pulled from the Hub set
``origin="remote"``: they keep the search index and identity keys current but
write nothing to the outbox, so pulled changes are never pushed back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, event, insert, inspect
from sqlalchemy import types as sa_types
from sqlalchemy.orm import Session, UOWTransaction

from touchpoint.storage import hub_clock, identity, search_index
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, Record, new_id
from touchpoint.storage.types import (
    DecimalText,
    ISODate,
    UTCDateTime,
    json_text,
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
# back to the column's value (what the sync engine and its check apply).
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


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    ctx: ChangeContext | None = session.info.get("change_context")
    if ctx is None:
        return
    local = ctx.origin == "local"
    changes: list[dict[str, Any]] = []
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
    if changes:
        _stamp(ctx, session.connection(), changes)
        # One executemany, in this transaction: as ORM objects each change row would be
        # inserted on its own (the ORM fetches every autoincrement key back).
        session.connection().execute(insert(Change), changes)
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
    """A transient record for :func:`insert_new`, with these column values.

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


def insert_new(
    session: Session, records: Sequence[Record], load: search_index.BulkLoad | None = None
) -> None:
    """Insert new records of one model in bulk, with exactly what a flush writes for
    them (defaults, stamps, the change log rows, search documents, identity keys), in
    the session's transaction. For imports: one executemany per table instead of the
    ORM's per-object bookkeeping. The records stay transient (never in the session).

    Given the ``load`` of a :func:`search_index.bulk_insert` block, the rows are built
    here and written through it (in the background when it works there)."""
    if not records:
        return
    ctx: ChangeContext | None = session.info.get("change_context")
    local = ctx is not None and ctx.origin == "local"
    model = type(records[0])
    columns = _columns(records[0])
    defaults = _defaults(model)
    bookkeeping = model.bookkeeping
    changes: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for record in records:
        if type(record) is not model:
            raise TypeError("insert_new takes records of one model at a time")
        # A transient record keeps what it was given in its __dict__; the row is built
        # from there and written back whole, so nothing below goes through the ORM's
        # instrumented attributes (they cost more than the INSERT itself).
        state = record.__dict__
        row = {name: state.get(name) for name in columns}
        for key, default in defaults:  # as apply_defaults does
            if row[key] is None:
                if default.is_callable:
                    row[key] = default.arg(None)
                elif default.is_scalar:
                    row[key] = default.arg
        if local:
            assert ctx is not None
            row["created_at"] = row["created_at"] or ctx.now
            row["created_by"] = row["created_by"] or ctx.author
            row["updated_at"] = ctx.now
            row["updated_by"] = ctx.author
        state.update(row)
        rows.append(row)
        if ctx is not None:
            ctx.changed.setdefault(record.entity, set()).add(row["id"])
        if local:
            assert ctx is not None
            fields = {
                name: [None, value if type(value) in _PLAIN else jsonable(value)]
                for name, value in row.items()
                if value is not None and name not in bookkeeping
            }
            changes.append(_change(ctx, record, "insert", fields))
    conn = session.connection()
    write = load.insert if load is not None else partial(_execute_many, conn)
    if changes:
        assert ctx is not None
        if load is None:  # inside a bulk load only the load may use the connection
            _stamp(ctx, conn, changes)
        write(*_insert_rows(conn, Change, changes))
    write(*_insert_rows(conn, model, rows))
    # New records have no search document or identity key yet: nothing to look up.
    write(search_index.INSERT_DOC, search_index.new_documents(records))
    write(identity.INSERT_KEY, identity.new_keys(records))


def _execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.exec_driver_sql(sql, rows)


# Per model and set of column names: the INSERT and each column's bind processor.
_INSERTS: dict[tuple[type, tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def _bind_processor(column_type: Any, dialect: Any) -> Any:
    """The column's bind processor; for JSON, the engine's serializer called directly."""
    if isinstance(column_type, sa_types.JSON) and dialect.name == "sqlite":
        if column_type.none_as_null:
            return lambda value: None if value is None else json_text(value)
        return json_text
    return column_type._cached_bind_processor(dialect)


def _insert_rows(
    conn: Connection, model: type, rows: list[dict[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """(INSERT, its rows as tuples) for rows that all have the same keys, for the
    driver's executemany.

    The values go through each column's own bind processor (JSON, UTC text), exactly as
    ``conn.execute(insert(model), rows)`` would convert them, but without SQLAlchemy's
    per-row parameter handling, which costs more than SQLite's insert. Values repeated
    across rows (the transaction's time, its author) are converted once."""
    keys = tuple(rows[0])
    plan = _INSERTS.get((model, keys))
    if plan is None:
        table = model.__table__  # type: ignore[attr-defined]
        quote = conn.dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
            f"VALUES ({', '.join('?' for _ in keys)})"
        )
        processors = tuple(_bind_processor(table.c[k].type, conn.dialect) for k in keys)
        plan = _INSERTS[(model, keys)] = (sql, processors)
    sql, processors = plan
    pick = itemgetter(*keys)
    converting = [(i, p, {}) for i, p in enumerate(processors) if p is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(pick(row)) if len(keys) > 1 else [row[keys[0]]]
        for i, process, seen in converting:
            value = values[i]
            if type(value) is datetime:
                converted = seen.get(value)
                if converted is None:
                    converted = seen[value] = process(value)
                values[i] = converted
            else:
                values[i] = process(value)
        params.append(tuple(values))
    return sql, params


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
