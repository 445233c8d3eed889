"""Applying pulled changes: a page at once, or change by change with the unfit set aside."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from operator import itemgetter, methodcaller
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from touchpoint.storage import encryption
from touchpoint.storage.bulk_write import BulkWrite
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, Record, SetAside, SyncConflict
from touchpoint.storage.tracking import CONVERT
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import first_sync
from touchpoint.sync.cycle import Stage
from touchpoint.sync.protocol import CONFLICT_ENTITY, MAX_PAGE, is_uuid, text_problem
from touchpoint.sync.transport import PullPage

log = logging.getLogger(__name__)


class ApplyStage(Stage):
    """The engine's apply: pulled pages into the local database."""

    def _apply_carefully(
        self, s: Session, page: PullPage, held_back: set[tuple[str, str]]
    ) -> tuple[int, int]:
        """Apply one page with every change checked first (foreign keys checked at once);
        a change that cannot be applied is set aside with its reason, the rest applies.
        A change that still fails (a case no check foresaw) is tried alone, in a savepoint,
        and set aside if it fails again. The changes received from others, and the new
        conflicts of this user."""
        fit: list[dict[str, Any]] = []
        present = _Present(s.connection())
        for row in page.changes:
            key = (row.get("entity"), row.get("record_id"))
            if key in held_back:
                _set_aside(s, row, "waits for an earlier change of this record", retry=True)
                continue
            reason, retry = _unfit(row, present)
            if reason is not None:
                _set_aside(s, row, reason, retry=retry)
                if retry:
                    held_back.add(key)  # type: ignore[arg-type]
                continue
            present.add(row)
            fit.append(row)
        received = from_others(page.changes, self.ws.device_id)
        try:
            with s.begin_nested():
                return received, self._apply_changes(s, replace(page, changes=fit))
        except _UNAPPLIABLE:
            pass
        conflicts = 0
        for row in fit:
            try:
                with s.begin_nested():
                    conflicts += self._apply_changes(s, replace(page, changes=[row]))
            except _UNAPPLIABLE as exc:
                _set_aside(s, row, f"this laptop could not store it ({_short(exc)})", retry=False)
        return received, conflicts

    def _retry_set_aside(self, counts: dict[str, int]) -> None:
        """Changes set aside for a record that was not here yet: tried again, in the
        Hub's order, after each pull (what still cannot apply stays, counted)."""
        with self.ws.read() as session:
            if not session.scalar(select(SetAside.id).where(SetAside.retry.is_(True)).limit(1)):
                return
        with self.ws.unit_of_work(origin="remote") as uow:
            s = uow.session
            s.connection().exec_driver_sql("PRAGMA defer_foreign_keys = OFF")
            waiting = list(
                s.scalars(
                    select(SetAside)
                    .where(SetAside.retry.is_(True))
                    .order_by(SetAside.server_seq)
                    .limit(MAX_PAGE)
                )
            )
            rows, tries = [], {}
            for item in waiting:
                row = _decode_row(item.change)
                tries[row.get("server_seq")] = (item.tries, item.set_aside_at)
                rows.append(row)
                s.delete(item)
            s.flush()
            others = _held_back_in(s)
            page = PullPage(rows, 0, 0, more=False, careful=True)
            _received, conflicts = self._apply_carefully(s, page, others)
            # What was set aside again keeps its first time and counts one more try.
            for item in s.new:
                first = tries.get(getattr(item, "server_seq", None))
                if isinstance(item, SetAside) and first is not None:
                    item.tries, item.set_aside_at = first[0] + 1, first[1]
            uow.commit()
        counts["conflicts"] += conflicts

    def _apply_changes(
        self,
        s: Session,
        page: PullPage,
        held_back: set[tuple[str, str]] | None = None,
        stream: Stream | None = None,
    ) -> int:
        """Apply one page in the caller's transaction; the new conflicts for this user.

        Records this laptop already holds are updated through the ORM (so fields with
        a pending local edit keep it, and the indexes follow). Records new here, most
        of a first sync, are inserted with one executemany per table and indexed in
        bulk.

        ``stream``: a first sync's bulk load, open across its pages. A page that only
        inserts records new here joins its queue without a look at the database; any
        other page waits for the writes before it, then is applied as usual."""
        me = self.ws.author
        new_conflicts = 0
        conn = s.connection()
        if stream is not None and stream.only_new(page.changes, held_back):
            held: dict[str, list[str]] = {}
        else:
            if stream is not None:
                stream.bulk.wait()
            held = _held_ids(conn, page.changes)
        pending = _pending_fields(s) if held else {}
        loaded = _load_records(s, held)
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        teams: dict[str, str] = {}  # customer id: its Hub team
        for row in page.changes:
            entity = row["entity"]
            fields = row["fields"]
            if entity == CONFLICT_ENTITY:
                if _store_conflict(s, row) and me in (
                    fields.get("loser_author"),
                    fields.get("winner_author"),
                ):
                    new_conflicts += 1
                continue
            convert = CONVERT.get(entity)
            if convert is None:
                log.warning("sync: unknown entity %r from the Hub skipped", entity)
                continue
            key = (entity, row["record_id"])
            if held_back and key in held_back:
                # An earlier change of this record is set aside: this one waits behind it,
                # so the record's changes still apply in the Hub's order.
                _set_aside(s, row, "waits for an earlier change of this record", retry=True)
                continue
            if entity == "customer":
                team = row.get("team")
                if type(team) is str and team:
                    teams[key[1]] = team
            record = loaded.get(key)
            if record is None:
                # New here: as it travels is also as SQLite stores it.
                known = convert.keys() >= fields.keys()
                values = fresh.get(key)
                if values is None:
                    if known:
                        # The page's own dict, not a copy: nothing reads it after this.
                        fields.setdefault("id", key[1])
                        fresh[key] = fields
                        continue
                    values = fresh[key] = {"id": key[1]}
                if known:
                    values.update(fields)
                else:  # a field this version does not know
                    values.update((k, v) for k, v in fields.items() if k in convert)
                continue
            keep_local = pending.get(key, ())
            for name, value in fields.items():
                if name in convert and name not in keep_local:
                    new = convert[name](value)
                    if getattr(record, name) != new:
                        setattr(record, name, new)
        # Updates first, so the bulk indexing below sees only inserts.
        s.flush()
        bulk = None if stream is None else stream.bulk
        first_sync.insert_fresh(s, fresh, self.crash_point, bulk)
        if teams:
            write = conn.exec_driver_sql if bulk is None else bulk.execute
            write(_KEEP_TEAM, list(teams.items()))
        return new_conflicts


_KEEP_TEAM = (
    "INSERT INTO customer_teams (customer_id, team) VALUES (?, ?) "
    "ON CONFLICT (customer_id) DO UPDATE SET team = excluded.team WHERE team != excluded.team"
)


class Stream:
    """A first sync's pages written through one bulk load that stays open from page to
    page, so SQLite writes one page while this thread reads the next: the thread then
    never waits for the database, only for a full queue.

    ``known``: the records this laptop held when the pull began (read once: a new
    laptop holds few). A change inserting a record not among them needs no look at the
    database; if the Hub's log ever inserted one record twice, the second insert fails
    on its primary key and the stretch is applied again change by change."""

    def __init__(self, bulk: BulkWrite, known: set[tuple[str, str]]) -> None:
        self.bulk = bulk
        self.known = known

    def only_new(self, rows: list[dict[str, Any]], held_back: set[tuple[str, str]] | None) -> bool:
        # Read with map and sets, not a Python loop: a first sync asks it of every page.
        if not _INSERT.issuperset(map(_op, rows)) or not CONVERT.keys() >= set(map(_entity, rows)):
            return False
        if not self.known and not held_back:  # a new laptop: nothing to look up
            return True
        keys = set(zip(map(_entity, rows), map(_record_id, rows), strict=True))
        return keys.isdisjoint(self.known) and (not held_back or keys.isdisjoint(held_back))


_INSERT = frozenset({"insert"})
_op = methodcaller("get", "op")
_device = methodcaller("get", "device_id")
_entity = itemgetter("entity")
_record_id = itemgetter("record_id")


def from_others(changes: list[dict[str, Any]], device_id: str) -> int:
    """How many of a page's changes came from other devices (this laptop's own changes
    come back in the pages too)."""
    devices = list(map(_device, changes))
    return len(devices) - devices.count(device_id)


def known_records(conn: Connection, limit: int) -> set[tuple[str, str]] | None:
    """Every record this laptop holds, as (entity, id); None when more than ``limit``."""
    out: set[tuple[str, str]] = set()
    for entity, model in MODEL_BY_ENTITY.items():
        ids = conn.exec_driver_sql(
            f"SELECT id FROM {model.__tablename__} LIMIT ?", (limit - len(out) + 1,)
        ).all()
        out.update((entity, i) for (i,) in ids)
        if len(out) > limit:
            return None
    return out


# What a change this laptop cannot apply fails with, in the database or before it.
_UNAPPLIABLE = (
    SQLAlchemyError,
    *encryption.database_errors(),
    ValueError,
    TypeError,
    UnicodeError,
    OverflowError,
)
# References that are foreign keys here: the record they name must be on this laptop.
_REFERENCES = {
    "contact": {"customer_id": "customer"},
    "interaction": {"customer_id": "customer"},
    "followup": {
        "customer_id": "customer",
        "contact_id": "contact",
        "interaction_id": "interaction",
    },
    "deal": {"customer_id": "customer"},
}


class _Present:
    """Which records this laptop holds, asked of the database once per id and kept up to
    date with the page's own new records as they are found fit."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[tuple[str, str], bool] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        found = self.known.get(key)
        if found is None:
            table = MODEL_BY_ENTITY[key[0]].__tablename__
            found = self.known[key] = (
                self.conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE id = ?", (key[1],)).first()
                is not None
            )
        return found

    def add(self, row: dict[str, Any]) -> None:
        if row.get("entity") in MODEL_BY_ENTITY:
            self.known[(row["entity"], row["record_id"])] = True


def _unfit(row: Any, present: _Present) -> tuple[str | None, bool]:
    """Why this pulled change cannot be applied here (and whether it may later), or None."""
    if not isinstance(row, dict) or not isinstance(row.get("fields"), dict):
        return "it is not a change this Touchpoint can read", False
    entity, record_id, fields = row.get("entity"), row.get("record_id"), row["fields"]
    if not is_uuid(record_id):
        return "its record id is not an id", False
    if entity == CONFLICT_ENTITY:
        problem = _values_problem(fields)
        return (f"a conflict's value {problem}", False) if problem else (None, False)
    convert = CONVERT.get(entity) if isinstance(entity, str) else None
    if convert is None:
        return f"this version of Touchpoint does not know {str(entity)[:30]!r} records", False
    for name, value in fields.items():
        if name not in convert:
            continue
        problem = _values_problem(value)
        if problem:
            return f"{entity}.{name} {problem}", False
        try:
            convert[name](value)
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            shown = str(value)[:60]
            return f"{entity}.{name}: {shown!r} is not a value this laptop can store", False
    held = (entity, record_id) in present
    if not held:
        model = MODEL_BY_ENTITY[entity]
        for column in model.__table__.columns:
            if (
                not column.nullable
                and column.default is None
                and not column.primary_key
                and fields.get(column.key) is None
            ):
                return f"the creation of this {entity} has not reached this laptop", True
    for name, target in _REFERENCES.get(entity, {}).items():
        ref = fields.get(name)
        if isinstance(ref, str) and ref and (target, ref) not in present:
            return f"the {target} it belongs to ({ref[-8:]}) is not on this laptop", True
    return None, False


def _values_problem(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{problem}" if problem else None
    if depth > 8:
        return "is nested too deeply"
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        problem = _values_problem(item, depth + 1)
        if problem:
            return problem
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and text_problem(key):
                return "has a key that is not valid text"
    return None


def _set_aside(s: Session, row: Any, reason: str, *, retry: bool) -> None:
    entity = row.get("entity") if isinstance(row, dict) else None
    record_id = row.get("record_id") if isinstance(row, dict) else None
    seq = row.get("server_seq") if isinstance(row, dict) else None
    log.warning("sync: change %s set aside: %s", seq, reason)
    s.add(
        SetAside(
            server_seq=seq if isinstance(seq, int) else 0,
            entity=str(entity)[:30],
            record_id=str(record_id)[:36],
            change=json.dumps(row, ensure_ascii=True, default=str),
            reason=reason,
            retry=retry,
            set_aside_at=datetime.now(UTC),
            tries=1,
        )
    )


def _decode_row(text: str) -> dict[str, Any]:
    # Kept with ASCII escapes: a lone surrogate reads back as it came.
    return json.loads(text)


def _held_back(ws: Workspace) -> set[tuple[str, str]]:
    """Records with a change set aside that may still apply: their later changes wait."""
    with ws.read() as s:
        return _held_back_in(s)


def _held_back_in(s: Session) -> set[tuple[str, str]]:
    return {
        (e, r)
        for e, r in s.execute(
            select(SetAside.entity, SetAside.record_id).where(SetAside.retry.is_(True))
        )
    }


def _short(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return (lines[0] if lines else type(exc).__name__)[:120]


def _pending_fields(s: Session) -> dict[tuple[str, str], set[str]]:
    """Fields with a local edit the Hub has not acknowledged: they keep the local value."""
    out: dict[tuple[str, str], set[str]] = {}
    for entity, record_id, fields in s.execute(
        select(Change.entity, Change.record_id, Change.fields).where(Change.pushed_at.is_(None))
    ):
        out.setdefault((entity, record_id), set()).update(fields)
    return out


def _held_ids(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per entity, the ids of this page's records that this laptop already holds: one
    index lookup per chunk of ids, with no ORM objects for the (many) that are new."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        entity = row["entity"]
        if entity in MODEL_BY_ENTITY:
            wanted.setdefault(entity, set()).add(row["record_id"])
    out: dict[str, list[str]] = {}
    for entity, ids in wanted.items():
        table = MODEL_BY_ENTITY[entity].__tablename__
        for chunk in chunked(list(ids)):
            marks = ", ".join("?" for _ in chunk)
            found = conn.exec_driver_sql(
                f"SELECT id FROM {table} WHERE id IN ({marks})", tuple(chunk)
            ).all()
            if found:
                out.setdefault(entity, []).extend(r[0] for r in found)
    return out


def _load_records(s: Session, held: dict[str, list[str]]) -> dict[tuple[str, str], Record]:
    out: dict[tuple[str, str], Record] = {}
    for entity, ids in held.items():
        model = MODEL_BY_ENTITY[entity]
        for chunk in chunked(ids):
            for record in s.scalars(select(model).where(model.id.in_(chunk))):
                out[(entity, record.id)] = record
    return out


def _store_conflict(s: Session, row: dict[str, Any]) -> bool:
    if s.get(SyncConflict, row["record_id"]) is not None:
        return False
    f = row["fields"]
    s.add(
        SyncConflict(
            id=row["record_id"],
            entity=f.get("entity", ""),
            record_id=f.get("record_id", ""),
            field=f.get("field", ""),
            winner_value=f.get("winner_value"),
            loser_value=f.get("loser_value"),
            winner_author=f.get("winner_author") or "",
            loser_author=f.get("loser_author") or "",
            winner_at=f.get("winner_at") or "",
            loser_at=f.get("loser_at") or "",
            created_at=f.get("created_at") or "",
            detail=f.get("detail") if isinstance(f.get("detail"), str) else None,
        )
    )
    return True
