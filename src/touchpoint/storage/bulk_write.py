"""The one place that knows what a write must also write.

Every record written on this laptop carries, in the same transaction, its change-log
row (a local write only: the outbox), its search document and its identity keys. Two
ways in, one set of rules:

- the ORM path: the flush hooks below turn each flushed record into those rows (the
  old and new values come from :mod:`touchpoint.storage.tracking`);
- the bulk path: a :class:`BulkWrite` block takes batches of new records (an import,
  a few records of a capture) or of stored rows (a first sync) and writes each table
  with one statement per batch. It owns the bulk-load thread (the connection's writer
  while the caller builds the next batch, :func:`search_index.bulk_insert`), the
  collector policy (the cyclic collector paused while it allocates batch after batch)
  and the lock handover (the thread's turn back quickly after each statement).

``tests/storage/test_bulk_write.py`` holds both paths to the same tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, event, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import types as sa_types
from sqlalchemy.orm import Session, UOWTransaction

from touchpoint.collector import collector_paused
from touchpoint.lock_handover import quick_handover
from touchpoint.storage import identity, search_index
from touchpoint.storage.models import Change, Record, new_ids
from touchpoint.storage.tracking import (
    ChangeContext,
    _change,
    _columns,
    _defaults,
    _insert_fields,
    _op,
    _stamp,
    _update_fields,
    apply_defaults,
    jsonable,
)
from touchpoint.storage.types import UTCDateTime, json_text

# --- the ORM path --------------------------------------------------------------------


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


# --- the bulk path ---------------------------------------------------------------------

_Write = Callable[[str, list[tuple[Any, ...]]], None]


def insert_new(session: Session, records: Sequence[Record]) -> None:
    """Insert new records of one model with exactly what a flush writes for them
    (defaults, stamps, the change log rows, search documents, identity keys), in the
    session's transaction, one executemany per table instead of the ORM's per-object
    bookkeeping. The records stay transient (never in the session); build them with
    :func:`tracking.new_record`. (Many batches: :func:`bulk_write`.)"""
    if records:
        conn = session.connection()
        _insert_records(
            conn, session.info.get("change_context"), records, partial(_execute_many, conn)
        )


class NewRows(list[dict[str, Any]]):
    """New records of one model as plain mappings of their column values (what
    :func:`tracking.new_record` would be given), a group for :meth:`BulkWrite.records`:
    no ORM instance per record, which an import of tens of thousands would build only
    for its values to be read back."""

    def __init__(self, model: type[Record], rows: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(rows)
        self.model = model


def _insert_records(
    conn: Connection, ctx: ChangeContext | None, records: Sequence[Record], write: _Write
) -> None:
    if isinstance(records, NewRows):
        _insert_new(conn, ctx, records.model, records, write)
        return
    model = type(records[0])
    columns = _columns(records[0])
    given: list[dict[str, Any]] = []
    for record in records:
        if type(record) is not model:
            raise TypeError("insert_new takes records of one model at a time")
        # A transient record keeps what it was given in its __dict__: read from there
        # and written back whole, never through the ORM's instrumented attributes
        # (they cost more than the INSERT itself).
        state = record.__dict__
        given.append({name: state.get(name) for name in columns})
    for record, row in zip(records, _insert_new(conn, ctx, model, given, write), strict=True):
        record.__dict__.update(row)


def _insert_new(
    conn: Connection,
    ctx: ChangeContext | None,
    model: type[Record],
    given: Sequence[dict[str, Any]],
    write: _Write,
) -> list[dict[str, Any]]:
    """Write new records of ``model`` given as column values, with exactly what a flush
    writes for them: defaults and stamps, the change log rows (a local write), the
    rows, their search documents and identity keys. Returns the full rows (every
    column, as Python values)."""
    plan = _new_plan(model)
    blank, allowed, defaults, row_class = plan.blank, plan.allowed, plan.defaults, plan.row_class
    bookkeeping = plan.bookkeeping
    local = ctx is not None and ctx.origin == "local"
    changed = ctx.changed.setdefault(model.entity, set()) if ctx is not None else None
    log: Callable[[str, str, dict[str, list[Any]]], tuple[Any, ...]] | None = None
    if local:
        assert ctx is not None
        ctx.stamp(conn)  # read once, before any bulk load (inside it only the load reads)
        log = _change_rows(ctx, model.entity, conn.dialect)
        now, author = ctx.now, ctx.author
        change_ids = iter(new_ids(len(given)))
    rows: list[dict[str, Any]] = []
    changes: list[tuple[Any, ...]] = []
    plain: list[Any] = []  # the rows as the indexers read them (see plain_record)
    for values in given:
        if not allowed.issuperset(values):
            unknown = ", ".join(sorted(set(values) - allowed))
            raise TypeError(f"{model.__name__} has no column {unknown}")
        row = blank.copy()
        row.update(values)
        for key, make, scalar in defaults:  # as apply_defaults does
            if row[key] is None:
                row[key] = scalar if make is None else make(None)
        if log is not None:
            row["created_at"] = row["created_at"] or now
            row["created_by"] = row["created_by"] or author
            row["updated_at"] = now
            row["updated_by"] = author
            fields = {
                name: [None, value]
                for name, value in row.items()
                if value is not None and name not in bookkeeping
            }
            changes.append(log(next(change_ids), row["id"], fields))
        rows.append(row)
        copy = row_class()
        copy.__dict__ = row  # every column is there: no instrumented attribute read
        plain.append(copy)
        if changed is not None:
            changed.add(row["id"])
    if changes:
        write(_CHANGE_SQL, changes)
    write(*_insert_rows(conn, model, rows))
    # New records have no search document or identity key yet: nothing to look up.
    write(search_index.INSERT_DOC, search_index.new_documents(plain))
    write(identity.INSERT_KEY, identity.new_keys(plain))
    return rows


@dataclass(frozen=True)
class _NewPlan:
    blank: dict[str, None]  # every column, in the mapper's order, None
    allowed: frozenset[str]
    defaults: tuple[tuple[str, Any, Any], ...]  # (column, its callable or None, its value)
    bookkeeping: frozenset[str]
    row_class: type  # plain objects with the model's ``entity``, for the indexers


_NEW: dict[type, _NewPlan] = {}


def _new_plan(model: type[Record]) -> _NewPlan:
    found = _NEW.get(model)
    if found is None:
        columns = tuple(c.key for c in sa_inspect(model).column_attrs)
        found = _NEW[model] = _NewPlan(
            blank=dict.fromkeys(columns),
            allowed=frozenset(columns),
            defaults=tuple(
                (key, default.arg if default.is_callable else None, default.arg)
                for key, default in _defaults(model)
                if default.is_callable or default.is_scalar
            ),
            bookkeeping=model.bookkeeping,
            row_class=_stored_plan(model).row_class,
        )
    return found


# A change-log row's columns, as tracking._change makes them.
_CHANGE_KEYS = (
    "change_id", "tx_id", "device_id", "entity", "record_id", "op", "fields", "at",
    "author", "schema_version", "hub_at", "base_seq",
)  # fmt: skip
_CHANGE_SQL = (
    f"INSERT INTO {Change.__tablename__} ({', '.join(_CHANGE_KEYS)}) "
    f"VALUES ({', '.join('?' for _ in _CHANGE_KEYS)})"
)


def _change_rows(
    ctx: ChangeContext, entity: str, dialect: Any
) -> Callable[[str, str, dict[str, list[Any]]], tuple[Any, ...]]:
    """(change id, record id, insert fields {name: [None, value]}) -> the change-log row as
    stored, what ``insert(Change)`` writes for ``tracking._change``'s dict stamped by
    ``tracking._stamp``; what every row of the transaction shares is converted once."""
    at = _bind_processor(Change.__table__.c.at.type, dialect)
    head = (ctx.tx_id, ctx.device_id, entity)
    tail = (
        at(ctx.now),
        ctx.author,
        ctx.schema_version,
        None if ctx.hub_at is None else at(ctx.hub_at),
        ctx.base_seq,
    )

    def row(change_id: str, record_id: str, fields: dict[str, list[Any]]) -> tuple[Any, ...]:
        return (change_id, *head, record_id, "insert", change_fields_text(fields), *tail)

    return row


def _travelling(value: Any) -> Any:
    """orjson's ``default`` for :func:`change_fields_text`: what :func:`tracking.jsonable`
    makes of a value orjson does not write as jsonable would."""
    if isinstance(value, datetime | date | Decimal):
        return jsonable(value)
    raise TypeError(type(value).__name__)


_TRAVELLING = orjson.OPT_PASSTHROUGH_DATETIME  # times as the protocol writes them, not RFC 3339


def change_fields_text(fields: dict[str, Any]) -> str:
    """``json_text(jsonable(fields))`` in one pass: orjson writes the plain values and
    asks :func:`_travelling` for times, dates and decimals, so the values are not
    copied first (an import logs a dozen fields a record). Anything orjson refuses
    takes the two steps."""
    try:
        return orjson.dumps(fields, default=_travelling, option=_TRAVELLING).decode()
    except TypeError:
        return json_text(jsonable(fields))


def _execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.exec_driver_sql(sql, rows)


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    as_json: tuple[int, ...]  # positions of the JSON columns (json_text, NULL kept)
    # Positions of the times, their bind processor, and what it converted (kept from
    # batch to batch: an import's stamps repeat).
    as_time: tuple[tuple[int, Any, dict[Any, Any]], ...]
    others: tuple[tuple[int, Any], ...]  # positions of the other columns with a processor


# Per model and set of column names.
_INSERTS: dict[tuple[type, tuple[str, ...]], _InsertPlan] = {}
_TIMES_KEPT = 10_000  # converted times kept per column


def _is_json(column_type: Any, dialect: Any) -> bool:
    return isinstance(column_type, sa_types.JSON) and dialect.name == "sqlite"


def _bind_processor(column_type: Any, dialect: Any) -> Any:
    """The column's bind processor; for JSON, the engine's serializer called directly,
    and None as SQL NULL (the ORM leaves a None out of its INSERT: never JSON 'null')."""
    if _is_json(column_type, dialect):
        return lambda value: None if value is None else json_text(value)
    return column_type._cached_bind_processor(dialect)


def _insert_plan(conn: Connection, model: type, keys: tuple[str, ...]) -> _InsertPlan:
    plan = _INSERTS.get((model, keys))
    if plan is None:
        table = model.__table__  # type: ignore[attr-defined]
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        as_json, as_time, others = [], [], []
        for i, key in enumerate(keys):
            kind = table.c[key].type
            if _is_json(kind, dialect):
                as_json.append(i)
            elif (process := _bind_processor(kind, dialect)) is not None:
                # A time converts NULL to NULL: it is left as it is.
                if isinstance(kind, UTCDateTime):
                    as_time.append((i, process, {}))
                else:
                    others.append((i, process))
        plan = _INSERTS[(model, keys)] = _InsertPlan(
            sql=(
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
                f"VALUES ({', '.join('?' for _ in keys)})"
            ),
            as_json=tuple(as_json),
            as_time=tuple(as_time),
            others=tuple(others),
        )
    return plan


def _insert_rows(
    conn: Connection, model: type, rows: list[dict[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """(INSERT, its rows as tuples) for rows that all have the same keys, for the
    driver's executemany.

    The values go through each column's own bind processor (JSON, UTC text), exactly as
    ``conn.execute(insert(model), rows)`` would convert them, but without SQLAlchemy's
    per-row parameter handling, which costs more than SQLite's insert. Values repeated
    across rows (the transaction's time, its author, an import's stamps) are converted
    once."""
    keys = tuple(rows[0])
    plan = _insert_plan(conn, model, keys)
    as_json, as_time, others = plan.as_json, plan.as_time, plan.others
    for _i, _p, seen in as_time:
        if len(seen) > _TIMES_KEPT:
            seen.clear()
    pick = itemgetter(*keys)
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(pick(row)) if len(keys) > 1 else [row[keys[0]]]
        for i in as_json:
            value = values[i]
            if value is not None:
                values[i] = json_text(value)
        for i, process, seen in as_time:
            value = values[i]
            if value is not None:
                converted = seen.get(value)
                if converted is None:
                    converted = seen[value] = process(value)
                values[i] = converted
        for i, process in others:
            values[i] = process(values[i])
        params.append(tuple(values))
    return plan.sql, params


class BulkWrite:
    """Batches of new records written in the caller's transaction, each table with one
    statement per batch, on the bulk-load thread when ``background``.

    Use :func:`bulk_write`. The load starts with the first batch, so the caller may read
    on the connection until then; from then on the block is the connection's only
    writer. The full-text index takes each batch's documents as soon as it is written
    (``defer_index``: after the block, through the search backlog's catch-up)."""

    def __init__(
        self, session: Session, *, background: bool, defer_index: bool, stack: ExitStack
    ) -> None:
        self._session = session
        self._background = background
        self._defer = defer_index
        self._stack = stack
        self._load: search_index.BulkLoad | None = None
        self._ctx: ChangeContext | None = session.info.get("change_context")

    def _started(self) -> search_index.BulkLoad:
        if self._load is None:
            conn = self._session.connection()
            if self._ctx is not None and self._ctx.origin == "local":
                self._ctx.stamp(conn)  # read now: inside the load only the load may read
            self._load = self._stack.enter_context(
                search_index.bulk_insert(conn, background=self._background, defer=self._defer)
            )
        return self._load

    @property
    def busy(self) -> bool:
        """Whether batches given are still being written (see BulkLoad.busy)."""
        return self._load is not None and self._load.busy

    def records(self, *groups: Sequence[Record]) -> None:
        """Insert groups of new records (each of one model, parents first) as one batch
        with their change log rows (a local write), search documents and identity keys."""
        load = self._started()
        conn = self._session.connection()
        for records in groups:
            if records:
                _insert_records(conn, self._ctx, records, load.insert)
        load.index()

    def execute(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Any other statement for these rows (an executemany), in its turn."""
        self._started().execute(sql, rows)

    def wait(self) -> None:
        """Return once every batch given so far is written: the caller may then read
        and write on the connection itself (the ORM included) until its next batch."""
        if self._load is not None:
            # Indexed too: an edit of a document the index has not taken in yet would
            # remove from it a row it never held.
            self._load.index(now=True)
            self._load.wait()

    def log(self, changes: list[dict[str, Any]]) -> None:
        """Write change-log rows made elsewhere (``change_log``'s columns, values as the
        ORM takes them): the demo's history of records it made on this laptop."""
        if changes:
            self._started().insert(*_insert_rows(self._session.connection(), Change, changes))

    def stored(self, model: type[Record], rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows whose values are already in their stored form (UTC text, decimal
        text, ISO dates, JSON as Python values), as a sync pulls them: no change log (they
        came from the Hub), their search documents and identity keys. One batch."""
        load = self._started()
        plan = _stored_plan(model)
        row_class, pick, defaults, json_at = plan.row_class, plan.pick, plan.defaults, plan.json_at
        width = len(defaults)
        dumps = orjson.dumps
        params = []
        batch = []
        for values in rows:
            # Values name columns only: as many as there are columns is every column.
            row = values if len(values) == width else {**defaults, **values}
            # Plain objects for the indexers, which read only attributes and ``entity``:
            # no ORM instance state per record (times stay text: the indexers only test
            # them for None). The row is their attributes, not a copy of it.
            record = row_class()
            record.__dict__ = row
            batch.append(record)
            stored = pick(row)
            if json_at:
                as_list = list(stored)
                for i in json_at:
                    value = as_list[i]
                    if value is not None:
                        as_list[i] = dumps(value).decode()
                stored = tuple(as_list)
            params.append(stored)
        load.insert(plan.sql, params)
        load.insert(search_index.INSERT_DOC, search_index.new_documents(batch))
        load.insert(identity.INSERT_KEY, identity.new_keys(batch))
        load.index()


@contextmanager
def bulk_write(
    session: Session,
    *,
    background: bool = True,
    defer_index: bool = False,
    pause_collector: bool = True,
) -> Iterator[BulkWrite]:
    """A :class:`BulkWrite` block in the session's transaction. When it ends (its last
    batches written and indexed) the connection is the caller's again; on an error,
    queued batches are dropped and the error goes on (the caller rolls back).

    ``pause_collector``: the cyclic collector waits while the block allocates batch
    after batch (see :mod:`touchpoint.collector`). In the ``background``, Python's lock
    is handed over quickly, so the bulk-load thread goes on from each statement without
    waiting for this one (see :mod:`touchpoint.lock_handover`)."""
    with ExitStack() as stack:
        if pause_collector:
            stack.enter_context(collector_paused())
        if background:
            stack.enter_context(quick_handover())
        # The load is entered last, so it ends first: the collector waits until then.
        yield BulkWrite(session, background=background, defer_index=defer_index, stack=stack)


def plain_record(model: type[Record], values: dict[str, Any]) -> Any:
    """A record's values as the indexers read them (attributes and ``entity``), every
    column there (its default when not given), without the ORM's instance state."""
    plan = _stored_plan(model)
    record = plan.row_class()
    record.__dict__.update(plan.defaults)
    record.__dict__.update(values)
    return record


@dataclass(frozen=True)
class _StoredPlan:
    sql: str
    pick: Callable[[dict[str, Any]], tuple[Any, ...]]  # a full row -> its INSERT's values
    defaults: dict[str, Any]  # every column, with its default
    json_at: tuple[int, ...]  # where in the INSERT's values the columns stored as JSON text are
    row_class: type  # plain objects with the model's ``entity``, for the indexers


_STORED: dict[type, _StoredPlan] = {}


def _stored_plan(model: type[Record]) -> _StoredPlan:
    found = _STORED.get(model)
    if found is None:
        columns = list(model.__table__.columns)
        found = _STORED[model] = _StoredPlan(
            sql=(
                f"INSERT INTO {model.__tablename__} ({', '.join(c.name for c in columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            ),
            pick=itemgetter(*(c.key for c in columns)),
            defaults={c.key: None if c.primary_key else _stored_default(c) for c in columns},
            json_at=tuple(i for i, c in enumerate(columns) if isinstance(c.type, JSON)),
            row_class=type(f"{model.__name__}Row", (), {"entity": model.entity}),
        )
    return found


def _stored_default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    arg = default.arg
    return arg(None) if callable(arg) else arg
