"""Push and pull on the Hub: idempotent, scoped by team, merged field by field.

A push is one transaction. On PostgreSQL it locks the records it reads (``FOR
UPDATE``), so pushes touching different records merge at the same time, and only
at the end bumps the counter row, which it then holds until it commits: the
short part that numbers and writes the change log is serialised, and every row
gets a ``server_seq`` in commit order. (SQLite's write lock, taken by ``BEGIN
IMMEDIATE``, serialises whole pushes.) Two pushes of the same new change id meet
at its unique key; the later one is run again and answers "duplicate".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

import orjson
import psycopg
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from touchpoint.hub import door
from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import changes, counter, devices, received, records, write
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import MODEL_BY_ENTITY, Record, new_id
from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime, from_utc_text, to_utc_text
from touchpoint.sync.protocol import (
    BOOKKEEPING,
    CONFLICT_ENTITY,
    TIME_RANGE,
    ChangeIn,
    PushResult,
)

CHILD_ENTITIES = ("contact", "interaction", "followup", "deal")
# What anyone may change on a colleague's interaction: where it is filed, when records merge.
INTERACTION_FILING = frozenset({"customer_id", "contact_ids"})
HUB_DEVICE = "hub"


class Rejected(Exception):
    """This change cannot be applied; the reason is sent back to the laptop."""


class Waiting(Rejected):
    """This change may apply later: a record it names is not on the Hub, or not one the
    writer may see. Both get the same words, so an answer never tells whether a record
    of another team exists. No answer is kept: the laptop sends it again later."""


def _unseen(kind: str, record_id: str) -> Waiting:
    return Waiting(f"{kind} {record_id}: not on the Hub yet, or not one you may see")


# --- validation -----------------------------------------------------------------------
_COLUMNS: dict[str, dict[str, Any]] = {
    entity: {c.key: c for c in model.__table__.columns} for entity, model in MODEL_BY_ENTITY.items()
}


def _check_value(entity: str, name: str, value: Any) -> None:
    column = _COLUMNS[entity][name]
    if value is None:
        if not column.nullable and name != "deleted_at":
            raise Rejected(f"{entity}.{name}: may not be empty")
        return
    kind = column.type
    try:
        if isinstance(kind, UTCDateTime):
            from_utc_text(value)
            _in_range(entity, name, value)
        elif isinstance(kind, ISODate):
            datetime.strptime(value, "%Y-%m-%d")
            _in_range(entity, name, value)
        elif isinstance(kind, DecimalText):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise TypeError
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) >= 10**15:
                raise Rejected(f"{entity}.{name}: {value!r} is out of range")
        elif kind.python_type is bool:
            if not isinstance(value, bool):
                raise TypeError
        elif kind.python_type is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError
        elif isinstance(kind, String):
            if not isinstance(value, str):
                raise TypeError
            if kind.length and len(value) > kind.length:
                raise Rejected(f"{entity}.{name}: longer than {kind.length} characters")
        elif isinstance(kind, JSON):
            shape = _json_shape(column)
            if shape is not None and not isinstance(value, shape):
                raise TypeError
    except (TypeError, ValueError, InvalidOperation, NotImplementedError) as exc:
        raise Rejected(f"{entity}.{name}: {value!r} is not a valid value") from exc


def _in_range(entity: str, name: str, value: str) -> None:
    if not TIME_RANGE[0] <= value[:10] <= TIME_RANGE[1]:
        raise Rejected(f"{entity}.{name}: {value!r} is outside {TIME_RANGE[0]} .. {TIME_RANGE[1]}")


def _json_shape(column: Any) -> type | None:
    """list or dict, from the column's default (``default=list``), for JSON columns."""
    if column.default is None:
        return None
    arg = column.default.arg
    made = getattr(arg, "__wrapped__", arg)  # SQLAlchemy wraps callable defaults
    return made if made in (list, dict) else None


def _validate(change: ChangeIn, is_new: bool) -> None:
    if change.entity not in MODEL_BY_ENTITY:
        raise Rejected(f"entity: '{change.entity}' is not something Touchpoint syncs")
    known = _COLUMNS[change.entity]
    for name, pair in change.fields.items():
        if name not in known or name in Record.bookkeeping:
            raise Rejected(f"{change.entity}.{name}: no such field")
        if len(pair) != 2:
            raise Rejected(f"{change.entity}.{name}: expected [old, new]")
        _check_value(change.entity, name, pair[1])
    if is_new:
        for name, column in known.items():
            required = not column.nullable and column.default is None
            if (
                required
                and name not in Record.bookkeeping
                and change.fields.get(name, [0, None])[1] is None
            ):
                raise Rejected(f"{change.entity}.{name}: a new {change.entity} needs it")


# --- state helpers --------------------------------------------------------------------
@dataclass
class _Row:
    entity: str
    record_id: str
    team: str
    data: dict[str, Any]
    versions: dict[str, list[Any]]
    exists: bool


# Built once (a statement object keeps its cache key): every push runs them.
# Every entity the Hub stores, named with the ids: the key is (entity, record_id), and a
# lookup by record_id alone scanned the whole table (every push, slower as the book grows).
_STORED_ENTITIES = (*MODEL_BY_ENTITY, CONFLICT_ENTITY)
_PREFETCH = select(records).where(
    records.c.entity.in_(_STORED_ENTITIES),
    records.c.record_id.in_(bindparam("ids", expanding=True)),
)
# In one order, so two pushes locking the same records cannot deadlock.
_PREFETCH_LOCKED = _PREFETCH.order_by(records.c.entity, records.c.record_id).with_for_update()
_RECEIVED = select(received).where(received.c.change_id.in_(bindparam("ids", expanding=True)))


class _Log:
    """One push transaction: reads records through a cache, numbers new ``changes`` rows
    from the locked counter, and writes everything in a few bulk statements at the end."""

    def __init__(self, conn: Connection, now: str) -> None:
        self.conn = conn
        self.now = now
        # Rows are numbered from 1 here; close() shifts them past the counter.
        self.seq = 0
        self.base = 0
        self.lock = conn.dialect.name != "sqlite"
        self.cache: dict[tuple[str, str], _Row | None] = {}
        self.fetched: set[str] = set()  # record ids already looked up (all entities)
        self.in_db: set[tuple[str, str]] = set()
        self.dirty: dict[tuple[str, str], _Row] = {}
        self.rows: list[dict[str, Any]] = []
        # (customer, person, delete's change id) already told in this push
        self.raced: set[tuple[str, str, str]] = set()

    def prefetch(self, record_ids: set[str]) -> None:
        wanted = [i for i in record_ids if i and i not in self.fetched]
        for chunk in chunked(wanted):
            query = _PREFETCH_LOCKED if self.lock else _PREFETCH
            for r in self.conn.execute(query, {"ids": chunk}):
                key = (r.entity, r.record_id)
                self.cache[key] = _Row(
                    r.entity, r.record_id, r.team, dict(r.data), dict(r.versions), True
                )
                self.in_db.add(key)
            self.fetched.update(chunk)

    def load(self, entity: str, record_id: str) -> _Row | None:
        key = (entity, record_id)
        if key not in self.cache and record_id not in self.fetched:
            self.prefetch({record_id})
        return self.cache.get(key)

    def save(self, row: _Row) -> None:
        key = (row.entity, row.record_id)
        self.cache[key] = row
        self.dirty[key] = row
        row.exists = True

    def save_hub_change(self, row: _Row, op: str, fields: dict[str, Any], author: str) -> None:
        """Save a row the Hub itself changed (a conflict record, a moved reference) and
        log that change, made now by the Hub's own device, for every replica to pull."""
        self.save(row)
        self.append(
            change_id=new_id(),
            device_id=HUB_DEVICE,
            user_id=None,
            row=row,
            op=op,
            fields=fields,
            at=self.now,
            corrected_at=self.now,
            author=author,
        )

    def append(
        self,
        *,
        change_id: str,
        device_id: str,
        user_id: int | None,
        row: _Row,
        op: str,
        fields: dict[str, Any],
        at: str,
        corrected_at: str,
        author: str,
    ) -> int:
        self.seq += 1
        self.rows.append(
            {
                "server_seq": self.seq,
                "change_id": change_id,
                "device_id": device_id,
                "user_id": user_id,
                "entity": row.entity,
                "record_id": row.record_id,
                "team": row.team,
                "op": op,
                "fields": fields,
                "at": at,
                "corrected_at": corrected_at,
                "author": author,
                "received_at": self.now,
            }
        )
        return self.seq

    def close(self, received_rows: list[dict[str, Any]], device: dict[str, Any]) -> None:
        """Write the batch: records, the device's row, the numbered change log and the
        answers given. On PostgreSQL this also commits, see :meth:`_close_pipelined`."""
        if self.conn.dialect.name == "postgresql":
            self._close_pipelined(received_rows, device)
            return
        _touch_device(self.conn, device)
        inserts = [r for k, r in self.dirty.items() if k not in self.in_db]
        updates = [r for k, r in self.dirty.items() if k in self.in_db]
        if inserts:
            self.conn.execute(
                insert(records),
                [
                    {
                        "entity": r.entity,
                        "record_id": r.record_id,
                        "team": r.team,
                        "data": r.data,
                        "versions": r.versions,
                    }
                    for r in inserts
                ],
            )
        if updates:
            self.conn.execute(
                update(records)
                .where(
                    records.c.entity == bindparam("k_entity"),
                    records.c.record_id == bindparam("k_id"),
                )
                .values(data=bindparam("data"), versions=bindparam("versions")),
                [
                    {
                        "k_entity": r.entity,
                        "k_id": r.record_id,
                        "data": r.data,
                        "versions": r.versions,
                    }
                    for r in updates
                ],
            )
        if self.rows:
            # The counter row stays locked until this transaction commits: the log's
            # numbers are handed out in commit order, so a pull never skips a row.
            top = self.conn.execute(
                update(counter)
                .where(counter.c.id == 1)
                .values(value=counter.c.value + len(self.rows))
                .returning(counter.c.value)
            ).scalar_one()
            self.base = int(top) - len(self.rows)
            for row in self.rows:
                row["server_seq"] += self.base
            self.conn.execute(insert(changes), self.rows)
        if received_rows:
            for a in received_rows:
                if a["server_seq"] is not None:
                    a["server_seq"] += self.base
            self.conn.execute(insert(received), received_rows)

    def _close_pipelined(self, received_rows: list[dict[str, Any]], device: dict[str, Any]) -> None:
        """Every write and the COMMIT sent to PostgreSQL at once (psycopg's pipeline mode),
        answered in one round trip. The counter row is locked from its bump to the commit,
        which now happens without waiting on this process: pushes queued behind the lock
        no longer wait for each other's round trips and turns at the GIL. The log's
        numbers are computed in SQL from the bumped counter, read back after the commit."""
        raw = self.conn.connection.driver_connection
        n = len(self.rows)
        with raw.pipeline(), raw.cursor() as cur, raw.cursor() as bump:
            cur.execute(_PG_DEVICE, device)
            inserts = [r for k, r in self.dirty.items() if k not in self.in_db]
            updates = [r for k, r in self.dirty.items() if k in self.in_db]
            # One statement per table, however many rows: PostgreSQL parses, plans and
            # runs each once. The rows travel as one JSON array (orjson), each stored JSON
            # value in it as the text a single-row write stores (``_stored``).
            if inserts:
                cur.execute(
                    _PG_RECORD_INSERT,
                    (
                        _rows_json(
                            {
                                "entity": r.entity,
                                "record_id": r.record_id,
                                "team": r.team,
                                "data": _stored(r.data),
                                "versions": _stored(r.versions),
                            }
                            for r in inserts
                        ),
                    ),
                )
            if updates:
                cur.execute(
                    _PG_RECORD_UPDATE,
                    (
                        _rows_json(
                            {
                                "entity": r.entity,
                                "record_id": r.record_id,
                                "data": _stored(r.data),
                                "versions": _stored(r.versions),
                            }
                            for r in updates
                        ),
                    ),
                )
            if n:
                bump.execute(_PG_BUMP, (n,))
                cur.execute(
                    _PG_CHANGE,
                    (
                        _rows_json(
                            {**r, "server_seq": r["server_seq"] - n, "fields": _stored(r["fields"])}
                            for r in self.rows
                        ),
                    ),
                )
            if received_rows:
                cur.execute(
                    _PG_RECEIVED,
                    (
                        _rows_json(
                            {
                                **a,
                                "server_seq": None
                                if a["server_seq"] is None
                                else a["server_seq"] - n,
                            }
                            for a in received_rows
                        ),
                    ),
                )
            raw.commit()
            top = bump.fetchone()[0] if n else 0
        self.base = int(top) - n
        for row in self.rows:
            row["server_seq"] += self.base
        for a in received_rows:
            if a["server_seq"] is not None:
                a["server_seq"] += self.base


# The same writes as the SQLAlchemy statements above, for the pipeline. A change's number is
# the bumped counter minus its place from the end of the batch.
_PG_COUNTER = "(SELECT value FROM counter WHERE id = 1)"
_PG_DEVICE = (
    "INSERT INTO devices (device_id, user_id, last_seq, clock_offset_ms, last_seen) "
    "VALUES (%(device_id)s, %(user_id)s, %(last_seq)s, %(clock_offset_ms)s, %(last_seen)s) "
    "ON CONFLICT (device_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
    "clock_offset_ms = EXCLUDED.clock_offset_ms, last_seen = EXCLUDED.last_seen, "
    "user_id = EXCLUDED.user_id"
)
_PG_RECORD_INSERT = (
    "INSERT INTO records (entity, record_id, team, data, versions) "
    "SELECT entity, record_id, team, data, versions FROM json_to_recordset(%s::json) "
    "AS u(entity varchar, record_id varchar, team varchar, data json, versions json)"
)
_PG_RECORD_UPDATE = (
    "UPDATE records SET data = u.data, versions = u.versions "
    "FROM json_to_recordset(%s::json) "
    "AS u(entity varchar, record_id varchar, data json, versions json) "
    "WHERE records.entity = u.entity AND records.record_id = u.record_id"
)
_PG_BUMP = "UPDATE counter SET value = value + %s WHERE id = 1 RETURNING value"
_PG_CHANGE = (
    "INSERT INTO changes (server_seq, change_id, device_id, user_id, entity, record_id, team, "
    "op, fields, at, corrected_at, author, received_at) "
    f"SELECT {_PG_COUNTER} + u.server_seq, u.change_id, u.device_id, u.user_id, u.entity, "
    "u.record_id, u.team, u.op, u.fields, u.at, u.corrected_at, u.author, u.received_at "
    "FROM json_to_recordset(%s::json) AS u(server_seq bigint, change_id varchar, "
    "device_id varchar, user_id integer, entity varchar, record_id varchar, team varchar, "
    "op varchar, fields json, at varchar, corrected_at varchar, author varchar, "
    "received_at varchar)"
)
_PG_RECEIVED = (
    "INSERT INTO received (change_id, device_id, status, server_seq, error) "
    f"SELECT u.change_id, u.device_id, u.status, {_PG_COUNTER} + u.server_seq, u.error "
    "FROM json_to_recordset(%s::json) "
    "AS u(change_id varchar, device_id varchar, status varchar, server_seq bigint, error text)"
)


def _stored(value: Any) -> orjson.Fragment:
    """A JSON value as psycopg's ``Json`` writes it (``json.dumps``), so a change's stored
    text is the same whichever way it was written."""
    return orjson.Fragment(json.dumps(value))


def _rows_json(rows: Iterable[dict[str, Any]]) -> str:
    return orjson.dumps(list(rows)).decode()


def _shift(text: str, offset: timedelta) -> str:
    return to_utc_text(from_utc_text(text) + offset)


# --- push -----------------------------------------------------------------------------
def push(
    conn: Connection,
    authorize: Callable[[Connection], Principal],
    *,
    device_id: str,
    client_time: str,
    batch: list[ChangeIn],
    server_now: datetime,
) -> list[PushResult]:
    """Apply one batch in one transaction; answers in the batch's order. ``authorize``
    checks the caller inside that transaction (it raises when they may not push)."""
    try:
        door.check_time("client_time", client_time)
        offset = server_now - from_utc_text(client_time)
    except (ValueError, door.Refused) as exc:
        raise Rejected(f"client_time: {client_time[:40]!r} is not a UTC time in range") from exc
    for attempt in range(PUSH_ATTEMPTS):
        try:
            with write(conn):
                who = authorize(conn)
                return _push_once(
                    conn, who, device_id=device_id, batch=batch, offset=offset, now=server_now
                )
        except (DBAPIError, psycopg.Error) as exc:
            # The same change pushed twice at once (its key taken meanwhile), or two
            # pushes that locked the same records: run again on what is committed now.
            if attempt == PUSH_ATTEMPTS - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


PUSH_ATTEMPTS = 5


def _retryable(exc: DBAPIError | psycopg.Error) -> bool:
    code = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    # unique_violation, deadlock_detected, serialization_failure
    return isinstance(exc, IntegrityError) or code in ("23505", "40P01", "40001")


def _push_once(
    conn: Connection,
    who: Principal,
    *,
    device_id: str,
    batch: list[ChangeIn],
    offset: timedelta,
    now: datetime,
) -> list[PushResult]:
    stamp = to_utc_text(now)
    log = _Log(conn, stamp)
    ids = [c.change_id for c in batch]
    seen = {r.change_id: r for r in conn.execute(_RECEIVED, {"ids": ids})} if ids else {}
    results: list[PushResult] = []
    accepted: list[dict[str, Any]] = []
    last_seq = 0
    log.prefetch(_referenced_ids(batch))
    for change in batch:
        try:
            door.check_change(change)
        except door.Refused as exc:
            # Malformed: refused again whenever it comes, so no answer is kept for it
            # (its change id may not even fit the table of answers).
            results.append(
                PushResult(change_id=change.change_id, status="rejected", error=str(exc))
            )
            continue
        last_seq = max(last_seq, change.seq)
        old = seen.get(change.change_id)
        if old is not None:
            results.append(
                PushResult(
                    change_id=change.change_id,
                    status="duplicate" if old.status == "applied" else "rejected",
                    server_seq=old.server_seq,
                    error=old.error,
                )
            )
            continue
        # Checks come before any change to the cached state, so a rejection leaves
        # nothing behind: no savepoint needed.
        try:
            seq = _apply(conn, log, who, device_id=device_id, change=change, offset=offset)
        except Waiting as exc:
            results.append(_rejection(log, who, change, str(exc), retry=True))
            continue
        except Rejected as exc:
            results.append(_rejection(log, who, change, str(exc)))
            accepted.append(
                {
                    "change_id": change.change_id,
                    "device_id": device_id,
                    "status": "rejected",
                    "server_seq": None,
                    "error": str(exc),
                }
            )
        else:
            accepted.append(
                {
                    "change_id": change.change_id,
                    "device_id": device_id,
                    "status": "applied",
                    "server_seq": seq,
                    "error": None,
                }
            )
            results.append(PushResult(change_id=change.change_id, status="applied", server_seq=seq))
        last = results[-1]
        seen[change.change_id] = SimpleNamespace(
            status="applied" if last.status != "rejected" else "rejected",
            server_seq=last.server_seq,
            error=last.error,
        )
    device = {
        "device_id": device_id,
        "user_id": who.user_id,
        "last_seq": last_seq,
        "clock_offset_ms": int(offset.total_seconds() * 1000),
        "last_seen": stamp,
    }
    log.close(accepted, device)
    # Numbers handed out in this batch, now known: shift them past the counter.
    fresh = {a["change_id"] for a in accepted if a["status"] == "applied"}
    for r in results:
        if r.change_id in fresh and r.server_seq is not None:  # also a repeat in this batch
            r.server_seq += log.base
    return results


def _referenced_ids(batch: list[ChangeIn]) -> set[str]:
    """The records a batch touches or points at, to load them in one query."""
    ids = set()
    for change in batch:
        ids.add(change.record_id)
        for name in door.ID_FIELDS:
            pair = change.fields.get(name)
            if pair and isinstance(pair[1], str):
                ids.add(pair[1])
        pair = change.fields.get("contact_ids")
        if pair and isinstance(pair[1], list):
            ids.update(c for c in pair[1] if isinstance(c, str))
    return ids


def _rejection(
    log: _Log, who: Principal, change: ChangeIn, error: str, *, retry: bool = False
) -> PushResult:
    current = None
    if change.entity in MODEL_BY_ENTITY:
        row = log.load(change.entity, change.record_id)
        if row is not None and who.may_see(row.team):
            current = row.data
    return PushResult(
        change_id=change.change_id, status="rejected", error=error, current=current, retry=retry
    )


def _touch_device(conn: Connection, values: dict[str, Any]) -> None:
    stmt = sqlite_insert(devices).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["device_id"],
            set_={k: v for k, v in values.items() if k != "device_id"},
        )
    )


def _team_of_new(log: _Log, who: Principal, change: ChangeIn) -> str:
    fields = change.fields
    if change.entity in CHILD_ENTITIES:
        parent_id = (fields.get("customer_id") or [None, None])[1]
        if not parent_id:
            raise Rejected(f"{change.entity}.customer_id: a new {change.entity} needs it")
        parent = log.load("customer", parent_id)
        if parent is None or not who.may_see(parent.team):
            raise _unseen("customer", parent_id)
        return parent.team
    if change.entity == "merge":
        kind = (fields.get("kind") or [None, None])[1]
        winner_id = (fields.get("winner_id") or [None, None])[1]
        if kind not in ("customer", "contact") or not winner_id:
            raise Rejected("merge.kind: a merge is of customers or of contacts")
        winner = log.load(kind, winner_id)
        if winner is None or not who.may_see(winner.team):
            raise _unseen(kind, winner_id)
        return winner.team
    return who.home_team


# What each reference names. ``merged_into_id`` names a record of its own entity; a
# merge's winner and loser are of the merge's kind.
_REFERS = {"customer_id": "customer", "contact_id": "contact", "interaction_id": "interaction"}


def _check_references(log: _Log, who: Principal, change: ChangeIn, row: _Row) -> None:
    """Every record a change names exists, may be seen by its writer and lives in the
    referring record's team: one team's record never points into another's, which that
    team's laptops do not hold."""
    for name, (_old, new) in change.fields.items():
        if new is None or (name not in door.ID_FIELDS and name != "contact_ids"):
            continue
        if name == "merged_into_id":
            kind = change.entity
        elif name in ("winner_id", "loser_id"):
            kind = (change.fields.get("kind") or [None, row.data.get("kind")])[1]
        else:
            kind = _REFERS.get(name, "contact")
        for target_id in new if name == "contact_ids" else [new]:
            if name == "merged_into_id" and target_id == row.record_id:
                raise Rejected(f"{change.entity}.merged_into_id: a record cannot merge into itself")
            target = log.load(kind, target_id)
            if target is None or not who.may_see(target.team):
                raise _unseen(kind, target_id)
            if target.team != row.team:
                label = target.data.get("name") or target.data.get("title") or target_id
                raise Rejected(
                    f"{change.entity}.{name}: {kind} '{label}' belongs to team {target.team}, "
                    f"this {change.entity} to team {row.team}: records of different teams "
                    "cannot be merged or linked"
                )


def _apply(
    conn: Connection,
    log: _Log,
    who: Principal,
    *,
    device_id: str,
    change: ChangeIn,
    offset: timedelta,
) -> int:
    if change.entity == CONFLICT_ENTITY or change.entity not in MODEL_BY_ENTITY:
        raise Rejected(f"entity: '{change.entity}' is not something Touchpoint syncs")
    try:
        corrected = _shift(change.at, offset)
        if change.hub_at is not None:
            # Measured on the laptop when the edit was made, against the Hub's clock: a
            # wall clock corrected since then does not move it (never past the Hub's now).
            corrected = min(to_utc_text(from_utc_text(change.hub_at)), log.now)
    except (ValueError, OverflowError) as exc:
        raise Rejected(f"at: {change.at!r} is not a UTC time") from exc
    row = log.load(change.entity, change.record_id)
    if row is not None and not who.may_see(row.team):
        # The same answer as for a record the Hub does not have (below).
        raise _unseen(change.entity, change.record_id)
    if row is None and change.op != "insert":
        # An edit of a record whose creation has not arrived (or was refused).
        raise _unseen(change.entity, change.record_id)
    _validate(change, row is None)
    if row is None:
        row = _Row(change.entity, change.record_id, _team_of_new(log, who, change), {}, {}, False)
    _check_references(log, who, change, row)
    if (
        change.entity == "interaction"
        and row.exists
        and row.data.get("created_by") != (change.author if who.sees_all else who.email)
        and set(change.fields) - INTERACTION_FILING
    ):
        raise Rejected(
            f"interaction: only {row.data.get('created_by')} edits this record of what happened"
        )
    # A change is signed by the account that sent it (an admin may relay others' changes).
    author = change.author if who.sees_all else who.email
    version = [corrected, device_id, change.change_id, author]
    conflicts: list[dict[str, Any]] = []
    deleted_before = row.data.get("deleted_at")
    for name, (old, new) in change.fields.items():
        current = row.data.get(name)
        held = row.versions.get(name)
        if new == current:
            if held is None or version > held:
                row.versions[name] = version
            continue
        if held is None or old == current:
            # Based on what the Hub holds (or first writer): causally later, it applies.
            row.data[name] = new
            row.versions[name] = max(version, held or version)
            continue
        # Concurrent edits of one field: the later corrected edit time wins everywhere.
        if version > held:
            conflicts.append(
                _conflict(row, name, winner=new, loser=current, win_v=version, lose_v=held)
            )
            row.data[name] = new
            row.versions[name] = version
        else:
            conflicts.append(
                _conflict(row, name, winner=current, loser=new, win_v=held, lose_v=version)
            )
    delete_v = row.versions.get("deleted_at")
    if (
        deleted_before
        and "deleted_at" not in change.fields
        and row.exists
        and change.entity == "customer"
        and delete_v
    ):
        # An edit of a customer someone deleted: it stays deleted, its editor is told
        # (once per push, with their other work on it).
        if delete_v[3] != author:
            found = _raced_conflict(
                log, row, delete_v=delete_v, loser=author, lose_v=version, detail="edited it"
            )
            if found:
                conflicts.append(found)
    elif deleted_before and "deleted_at" not in change.fields and row.exists:
        # An edit raced a delete: the record stays deleted, the edit is kept and surfaced.
        conflicts.append(
            _conflict(
                row,
                "deleted_at",
                winner=deleted_before,
                loser=None,
                win_v=row.versions.get("deleted_at") or version,
                lose_v=version,
            )
        )
    deleting = (
        change.entity == "customer"
        and row.exists
        and not deleted_before
        and (change.fields.get("deleted_at") or [None, None])[1] is not None
    )
    if deleting:
        conflicts.extend(_work_a_delete_hides(conn, log, row, change, author, version))
    elif change.entity in CHILD_ENTITIES:
        conflicts.extend(_work_under_a_deleted_customer(conn, log, row, change, author, version))
    if not row.exists:
        row.data["created_at"] = change.at
        row.data["created_by"] = author
    row.data["updated_at"] = change.at
    row.data["updated_by"] = author
    redirected = _follow_merges(
        log,
        row,
        names_contacts=not row.exists or bool({"contact_ids", "contact_id"} & set(change.fields)),
    )
    log.save(row)
    touched = set(change.fields) | set(BOOKKEEPING) | redirected
    seq = log.append(
        change_id=change.change_id,
        device_id=device_id,
        user_id=who.user_id,
        row=row,
        op=change.op,
        fields={k: row.data.get(k) for k in sorted(touched)},
        at=change.at,
        corrected_at=corrected,
        author=author,
    )
    for data in conflicts:
        _emit_conflict(conn, log, _conflict_row(log, row, data), data)
    if (
        change.entity == "customer"
        and row.data.get("merged_into_id")
        and ("merged_into_id" in change.fields)
    ):
        _move_children(conn, log, row)
    if (
        change.entity == "contact"
        and row.data.get("merged_into_id")
        and ("merged_into_id" in change.fields)
    ):
        _move_contact_references(conn, log, row)
    return seq


# --- deletes never hide work ---------------------------------------------------------------
_WHAT = {"interaction": "logged", "followup": "promised", "contact": "added", "deal": "added"}


def _what_they_did(entity: str, op: str, data: dict[str, Any]) -> str:
    """What another person did on a customer, in words: "logged a visit"."""
    if entity == "customer":
        return "edited it"
    if op != "insert":
        label = {"interaction": "the interaction", "followup": "a follow-up"}.get(entity, entity)
        return f"edited {label}"
    if entity == "interaction":
        kind = str(data.get("kind") or "interaction")
        return f"logged {'an' if kind[:1] in 'aeiou' else 'a'} {kind}"
    if entity == "followup":
        return f"promised '{str(data.get('title') or '')[:80]}'"
    name = data.get("name") or data.get("title") or ""
    return f"added {entity} {str(name)[:80]}".strip()


def _raced_conflict(
    log: _Log,
    customer: _Row,
    *,
    delete_v: list[Any],
    loser: str,
    lose_v: list[Any],
    detail: str,
) -> dict[str, Any] | None:
    """The customer's delete against one person's work on it (once per person and
    delete): restoring it on their laptop undeletes the customer."""
    key = (customer.record_id, loser, delete_v[2])
    if key in log.raced:
        return None
    log.raced.add(key)
    data = _conflict(
        customer,
        "deleted_at",
        winner=customer.data.get("deleted_at"),
        loser=None,
        win_v=delete_v,
        lose_v=lose_v,
    )
    data["detail"] = detail
    return data


def _work_a_delete_hides(  # noqa: PLR0917
    conn: Connection,
    log: _Log,
    customer: _Row,
    change: ChangeIn,
    author: str,
    version: list[Any],
) -> list[dict[str, Any]]:
    """A customer deleted now: each other person whose work on it the deleter had not
    seen (after their ``base_seq``), and each other person with an open follow-up under
    it, gets a conflict."""
    out: list[dict[str, Any]] = []
    cid = customer.record_id
    customer.data["deleted_at"] = change.fields["deleted_at"][1]  # the winner value
    if change.base_seq is not None:
        unseen = conn.execute(
            select(
                changes.c.author,
                changes.c.entity,
                changes.c.op,
                changes.c.fields,
                changes.c.corrected_at,
                changes.c.device_id,
                changes.c.change_id,
            )
            .where(
                changes.c.team == customer.team,
                changes.c.server_seq > change.base_seq,
                changes.c.author != author,
                changes.c.device_id != HUB_DEVICE,
                changes.c.entity != CONFLICT_ENTITY,
                or_(
                    changes.c.record_id == cid,
                    changes.c.fields["customer_id"].as_string() == cid,
                ),
            )
            .order_by(changes.c.server_seq)
        ).all()
        for r in unseen:
            detail = _what_they_did(r.entity, r.op, dict(r.fields))
            found = _raced_conflict(
                log,
                customer,
                delete_v=version,
                loser=r.author,
                lose_v=[r.corrected_at, r.device_id, r.change_id, r.author],
                detail=detail,
            )
            if found:
                out.append(found)
    promises = conn.execute(
        select(records.c.data).where(
            records.c.team == customer.team,
            records.c.entity == "followup",
            records.c.data["customer_id"].as_string() == cid,
            records.c.data["status"].as_string() == "open",
        )
    ).scalars()
    for data in promises:
        owner = data.get("assigned_to")
        if not owner or owner == author or data.get("deleted_at"):
            continue
        found = _raced_conflict(
            log,
            customer,
            delete_v=version,
            loser=owner,
            lose_v=[data.get("updated_at") or log.now, "", "", owner],
            detail=f"have an open follow-up '{str(data.get('title') or '')[:80]}' for it",
        )
        if found:
            out.append(found)
    return out


def _work_under_a_deleted_customer(  # noqa: PLR0917
    conn: Connection,
    log: _Log,
    row: _Row,
    change: ChangeIn,
    author: str,
    version: list[Any],
) -> list[dict[str, Any]]:
    """Work filed under a customer that was deleted by someone else, by an author who
    had not seen the delete: a conflict for that author."""
    customer_id = row.data.get("customer_id") or (change.fields.get("customer_id") or [0, 0])[1]
    parent = log.load("customer", customer_id) if isinstance(customer_id, str) else None
    if parent is None or not parent.data.get("deleted_at"):
        return []
    delete_v = parent.versions.get("deleted_at")
    if not delete_v or delete_v[3] == author:
        return []
    if change.base_seq is not None:
        seen = conn.execute(
            select(changes.c.server_seq).where(changes.c.change_id == delete_v[2])
        ).scalar()
        if seen is not None and change.base_seq >= seen:
            return []  # they had pulled the delete: no race
    merged = {**row.data, **{k: v[1] for k, v in change.fields.items()}}
    found = _raced_conflict(
        log,
        parent,
        delete_v=delete_v,
        loser=author,
        lose_v=version,
        detail=_what_they_did(row.entity, change.op, merged),
    )
    return [found] if found else []


def _conflict(
    row: _Row, name: str, *, winner: Any, loser: Any, win_v: list[Any], lose_v: list[Any]
) -> dict[str, Any]:
    return {
        "entity": row.entity,
        "record_id": row.record_id,
        "field": name,
        "winner_value": winner,
        "loser_value": loser,
        "winner_author": win_v[3],
        "loser_author": lose_v[3],
        "winner_at": win_v[0],
        "loser_at": lose_v[0],
        "loser_device": lose_v[1],
    }


def _conflict_row(log: _Log, row: _Row, data: dict[str, Any]) -> _Row:
    """The record a conflict is about (a child's work may raise one on its customer)."""
    if data["entity"] == row.entity and data["record_id"] == row.record_id:
        return row
    return log.load(data["entity"], data["record_id"]) or row


def _emit_conflict(conn: Connection, log: _Log, row: _Row, data: dict[str, Any]) -> None:
    conflict = _Row(CONFLICT_ENTITY, new_id(), row.team, data, {}, False)
    log.save_hub_change(conflict, "insert", {**data, "created_at": log.now}, data["loser_author"])


def _follow_merges(log: _Log, row: _Row, *, names_contacts: bool) -> set[str]:
    """A child filed under a customer merged away files under the one it merged into, and
    a contact merged away is named by the one it merged into."""
    if row.entity not in CHILD_ENTITIES:
        return set()
    redirected = _follow_customer_merges(log, row)
    if not names_contacts:
        return redirected
    if row.entity == "interaction":
        named = row.data.get("contact_ids") or []
        if isinstance(named, list) and named:
            now_named = list(dict.fromkeys(_merged_contact(log, c) for c in named))
            if now_named != named:
                row.data["contact_ids"] = now_named
                redirected.add("contact_ids")
    elif row.entity == "followup":
        contact_id = row.data.get("contact_id")
        if isinstance(contact_id, str) and contact_id:
            final = _merged_contact(log, contact_id)
            if final != contact_id:
                row.data["contact_id"] = final
                redirected.add("contact_id")
    return redirected


def _merged_contact(log: _Log, contact_id: str) -> str:
    """The contact this one was merged into (following chains of merges), else itself."""
    target, hops = contact_id, 0
    while hops < 10:
        contact = log.load("contact", target)
        nxt = contact.data.get("merged_into_id") if contact else None
        following = log.load("contact", nxt) if isinstance(nxt, str) and nxt else None
        if following is None or contact is None or following.team != contact.team:
            break
        target, hops = nxt, hops + 1
    return target


def _follow_customer_merges(log: _Log, row: _Row) -> set[str]:
    target = row.data.get("customer_id")
    hops = 0
    while target and hops < 10:
        parent = log.load("customer", target)
        nxt = parent.data.get("merged_into_id") if parent else None
        following = log.load("customer", nxt) if nxt else None
        # A merge into another team's customer (refused at the door since; older logs
        # may hold one) is never followed: that team's laptops do not have it.
        if following is None or following.team != row.team:
            break
        target, hops = nxt, hops + 1
    if target and target != row.data.get("customer_id"):
        row.data["customer_id"] = target
        return {"customer_id"}
    return set()


def _move_children(conn: Connection, log: _Log, customer: _Row) -> None:
    """A customer merged away: children filed under it by others, in any upload order, move
    to the kept customer too, so every replica ends with the same merge."""
    winner = customer.data["merged_into_id"]
    for entity in CHILD_ENTITIES:
        ids = set(
            conn.execute(
                select(records.c.record_id).where(
                    records.c.team == customer.team,
                    records.c.entity == entity,
                    records.c.data["customer_id"].as_string() == customer.record_id,
                )
            ).scalars()
        )
        # ... and those filed under it earlier in this batch, not written yet.
        ids |= {key[1] for key, row in log.cache.items() if row is not None and key[0] == entity}
        for record_id in sorted(ids):
            child = log.load(entity, record_id)
            if child is None or child.data.get("customer_id") != customer.record_id:
                continue
            _repoint(log, child, "customer_id", winner)


def _repoint(log: _Log, child: _Row, field: str, value: Any) -> None:
    """A colleague's record now names the kept record of a merge: one Hub-made update,
    under the child's last author, with its bookkeeping as it stands."""
    child.data[field] = value
    log.save_hub_change(
        child,
        "update",
        {field: value, **{k: child.data.get(k) for k in BOOKKEEPING}},
        child.data.get("updated_by") or "hub",
    )


def _move_contact_references(conn: Connection, log: _Log, contact: _Row) -> None:
    """A contact merged away: colleagues' interactions that name it and follow-ups with
    it, uploaded before or after the merge, name the kept contact, as on the laptop that
    merged."""
    loser, winner = contact.record_id, contact.data["merged_into_id"]
    candidates = {
        "interaction": records.c.data["customer_id"].as_string() == contact.data.get("customer_id"),
        "followup": records.c.data["contact_id"].as_string() == loser,
    }
    for entity, condition in candidates.items():
        ids = set(
            conn.execute(
                select(records.c.record_id).where(
                    records.c.team == contact.team, records.c.entity == entity, condition
                )
            ).scalars()
        )
        ids |= {key[1] for key, row in log.cache.items() if row is not None and key[0] == entity}
        for record_id in sorted(ids):
            child = log.load(entity, record_id)
            if child is None:
                continue
            if entity == "interaction":
                named = child.data.get("contact_ids") or []
                if loser not in named:
                    continue
                field = "contact_ids"
                value: Any = list(dict.fromkeys(winner if c == loser else c for c in named))
            else:
                if child.data.get("contact_id") != loser:
                    continue
                field, value = "contact_id", winner
            _repoint(log, child, field, value)


# --- pull -----------------------------------------------------------------------------
# Built once: a statement object keeps its cache key, so each pull only binds values.
_PULL_COLUMNS = (
    changes.c.server_seq,
    changes.c.change_id,
    changes.c.device_id,
    changes.c.entity,
    changes.c.record_id,
    changes.c.op,
    cast(changes.c.fields, Text).label("fields"),
    changes.c.author,
    changes.c.team,
)
_PULL_ALL = (
    select(*_PULL_COLUMNS)
    .where(changes.c.server_seq > bindparam("after"))
    .order_by(changes.c.server_seq)
    .limit(bindparam("limit"))
)
_PULL_TEAMS = (
    select(*_PULL_COLUMNS)
    .where(
        changes.c.server_seq > bindparam("after"),
        changes.c.team.in_(bindparam("teams", expanding=True)),
    )
    .order_by(changes.c.server_seq)
    .limit(bindparam("limit"))
)


_PULL_TEAMS_UP_TO = (
    select(*_PULL_COLUMNS)
    .where(
        changes.c.server_seq > bindparam("after"),
        changes.c.server_seq <= bindparam("up_to"),
        changes.c.team.in_(bindparam("teams", expanding=True)),
    )
    .order_by(changes.c.server_seq)
)


@functools.lru_cache(maxsize=16)
def _page_end_of_teams(count: int) -> Select[Any]:
    """The last sequence of the next page of several teams' changes, read from the
    (team, seq) index alone: each team's next ``limit`` numbers, merged. With only
    ``team IN (...)``, the database read every change of those teams after the cursor
    and sorted them all, at each page of a long feed."""
    parts = [
        select(changes.c.server_seq)
        .where(changes.c.team == bindparam(f"team{n}"), changes.c.server_seq > bindparam("after"))
        .order_by(changes.c.server_seq)
        .limit(bindparam("limit"))
        .subquery()
        for n in range(count)
    ]
    merged = union_all(*(select(part) for part in parts)).subquery()
    page = select(merged.c.server_seq).order_by(merged.c.server_seq).limit(bindparam("limit"))
    return select(func.max(page.subquery().c.server_seq))


HIGH_WATER = select(counter.c.value).where(counter.c.id == 1)


def pull_json(
    source: Engine | Connection,
    who: Principal,
    after: int,
    limit: int,
    *,
    high: int | None = None,
) -> bytes:
    """A :class:`PullResponse` as JSON. Built from the stored JSON text of each row, put
    in as is (``orjson.Fragment``): the first sync of a laptop streams every record, and
    decoding then re-encoding them all would be most of the Hub's work."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return pull_json(conn, who, after, limit, high=high)
    return orjson.dumps(pull_page(source, who, after, limit, high=high))


def pull_page(
    conn: Connection, who: Principal, after: int, limit: int, *, high: int | None = None
) -> dict[str, Any]:
    """One page of the changes ``who`` may see, for :func:`orjson.dumps`: each row's
    fields are its stored JSON text (a ``Fragment``). The integration API's changes
    feed serves the same pages as laptops pull.

    ``high``: the high-water mark when the caller read it already, before the page (as
    the laptops' pull does with its token check, in one statement)."""
    if high is None:
        high = high_water(conn)
    rows: Sequence[Any]
    if after >= high:
        # Nothing committed after the cursor when the mark was read: no page to look
        # for (a change committed since comes with the next pull, as it would anyway).
        rows = []
    elif who.sees_all:
        rows = conn.execute(_PULL_ALL, {"after": after, "limit": limit}).all()
    elif len(who.teams) > 1:
        # Where the page ends first (numbers only), then its rows: each step reads the
        # page's worth of index entries or rows, however deep the cursor.
        ends = {"after": after, "limit": limit}
        ends.update({f"team{n}": team for n, team in enumerate(who.teams)})
        up_to = conn.execute(_page_end_of_teams(len(who.teams)), ends).scalar()
        params = {"after": after, "up_to": up_to or after, "teams": list(who.teams)}
        rows = conn.execute(_PULL_TEAMS_UP_TO, params).all()
    else:
        params = {"after": after, "limit": limit, "teams": list(who.teams) or [""]}
        rows = conn.execute(_PULL_TEAMS, params).all()
    fragment = orjson.Fragment
    # Unpacked as tuples: a Row's attribute lookups were a quarter of building a page.
    found = [
        {
            "server_seq": seq,
            "change_id": change_id,
            "device_id": device_id,
            "entity": entity,
            "record_id": record_id,
            "op": op,
            "fields": fragment(fields),
            "author": author,
            "team": team,
        }
        for seq, change_id, device_id, entity, record_id, op, fields, author, team in rows
    ]
    more = len(rows) == limit
    next_after = rows[-1].server_seq if rows else after
    if not more:
        # Nothing else visible up to the high-water mark: skip past other teams' rows.
        next_after = max(next_after, high)
    return {"changes": found, "next_after": next_after, "high_water": high, "more": more}


def high_water(conn: Connection) -> int:
    return int(conn.execute(HIGH_WATER).scalar_one())


def last_device_seq(conn: Connection, device_id: str) -> int:
    found = conn.execute(
        select(devices.c.last_seq).where(devices.c.device_id == device_id)
    ).scalar()
    return int(found or 0)
