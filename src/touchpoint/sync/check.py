"""Anti-entropy: after a sync, this laptop and the Hub compare what the laptop may see.

Per entity, a count and a hash of every record's values (``protocol.record_hash``),
computed the same way on both sides. A difference (a table damaged on disk, a bug,
a change applied twice by hand) is repaired for that entity only: the Hub's records
are paged in by id, each differing or missing one takes the Hub's values, and a record
the Hub does not have for this user leaves the laptop. The outbox is never touched:
the check runs only when nothing waits to be sent or is set aside. What it found is
kept (``sync_check`` in local_meta) for ``touchpoint status`` and the diagnostics file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, select

from touchpoint.storage.models import MODEL_BY_ENTITY, SYNCED_MODELS, Meta, Record
from touchpoint.storage.tracking import CONVERT
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.protocol import record_hash

log = logging.getLogger(__name__)

CHECK_KEY = "sync_check"
EVERY = timedelta(hours=24)


@dataclass
class CheckResult:
    at: str
    differed: list[str] = field(default_factory=list)  # entities whose digests differed
    repaired: int = 0  # records that took the Hub's values
    removed: int = 0  # records the Hub does not have for this user
    teams_learnt: int = 0  # customers whose team this laptop did not know


def _readers(model: type[Record]) -> list[tuple[str, Any]]:
    """Each column (but the id) with how its stored value becomes its travelling form."""
    out = []
    for column in model.__table__.columns:
        if column.key == "id":
            continue
        kind = column.type
        if isinstance(kind, JSON):
            read = lambda v: None if v is None else json.loads(v)  # noqa: E731
        elif isinstance(kind, Boolean):
            read = lambda v: None if v is None else bool(v)  # noqa: E731
        elif isinstance(kind, Integer):
            read = lambda v: None if v is None else int(v)  # noqa: E731
        else:
            read = lambda v: v  # noqa: E731 - times, dates and decimals are stored as text
        out.append((column.name, read))
    return out


def local_values(ws: Workspace, entity: str) -> dict[str, dict[str, Any]]:
    model = MODEL_BY_ENTITY[entity]
    readers = _readers(model)
    names = ", ".join(name for name, _ in readers)
    out = {}
    with ws.read() as s:
        rows = s.connection().exec_driver_sql(f"SELECT id, {names} FROM {model.__tablename__}")
        for row in rows:
            out[row[0]] = {name: read(v) for (name, read), v in zip(readers, row[1:], strict=True)}
    return out


def local_digest(ws: Workspace) -> dict[str, tuple[int, str]]:
    found = {}
    for entity in MODEL_BY_ENTITY:
        total = 0
        values = local_values(ws, entity)
        for record_id, v in values.items():
            total = (total + record_hash(record_id, v)) % 2**64
        found[entity] = (len(values), f"{total:016x}")
    return found


def due(ws: Workspace) -> bool:
    with ws.read() as s:
        row = s.get(Meta, CHECK_KEY)
    if row is None:
        return True
    try:
        return ws.now() - from_utc_text(json.loads(row.value)["at"]) >= EVERY
    except (ValueError, KeyError, TypeError):
        return True


def check_and_repair(ws: Workspace, client: Any) -> CheckResult:
    """Compare digests; repair each entity that differs (see the module)."""
    result = CheckResult(at=to_utc_text(ws.now()))
    result.teams_learnt = _learn_teams(ws, client)
    hub = client.digest().entities
    mine = local_digest(ws)
    differing = [
        m.entity
        for m in SYNCED_MODELS
        if m.entity in hub
        and (hub[m.entity].count, hub[m.entity].hash) != mine.get(m.entity, (0, ""))
    ]
    for entity in differing:
        log.warning("sync check: %s differs from the Hub; repairing", entity)
        result.differed.append(entity)
        repaired, removed = _repair(ws, client, entity)
        result.repaired += repaired
        result.removed += removed
    _keep(ws, result)
    if differing:
        log.warning("sync check: repaired %s", asdict(result))
    return result


def note_checked(ws: Workspace) -> None:
    """The copy is the Hub's (it was just pulled whole): the next check in a day."""
    _keep(ws, CheckResult(at=to_utc_text(ws.now())))


def _keep(ws: Workspace, result: CheckResult) -> None:
    with ws.unit_of_work(origin="remote") as uow:
        row = uow.session.get(Meta, CHECK_KEY)
        text = json.dumps(asdict(result))
        if row is None:
            uow.session.add(Meta(key=CHECK_KEY, value=text))
        else:
            row.value = text
        uow.commit()


def _learn_teams(ws: Workspace, client: Any) -> int:
    """Customers whose Hub team this laptop does not know learn it from the Hub: a laptop
    upgraded from a version that did not keep teams would otherwise not know what to
    remove when its rep leaves a team, nor refuse a merge across teams before sending
    it. Costs one query when every team is known, so once in practice."""
    with ws.read() as s:
        missing = set(
            s.connection()
            .exec_driver_sql(
                "SELECT id FROM customers WHERE id NOT IN (SELECT customer_id FROM customer_teams)"
            )
            .scalars()
        )
    if not missing:
        return 0
    teams: dict[str, str] = {}
    after = ""
    while True:
        page = client.records("customer", after)
        for found in page.records:
            team = found.get("team")  # an older Hub does not send it
            if found["record_id"] in missing and type(team) is str and team:
                teams[found["record_id"]] = team
        if page.next_after is None:
            break
        after = page.next_after
    if teams:
        with ws.unit_of_work(origin="remote") as uow:
            uow.session.connection().exec_driver_sql(
                "INSERT INTO customer_teams (customer_id, team) VALUES (?, ?) "
                "ON CONFLICT (customer_id) DO NOTHING",
                list(teams.items()),
            )
            uow.commit()
        log.info("sync check: learnt the team of %d customer(s)", len(teams))
    return len(teams)


def _repair(ws: Workspace, client: Any, entity: str) -> tuple[int, int]:
    theirs: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        page = client.records(entity, after)
        theirs.update((r["record_id"], r["data"]) for r in page.records)
        if page.next_after is None:
            break
        after = page.next_after
    mine = local_values(ws, entity)
    model = MODEL_BY_ENTITY[entity]
    convert = CONVERT[entity]
    repaired = removed = 0
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        s.connection().exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for record_id, values in theirs.items():
            if mine.get(record_id) == values:
                continue
            record = s.get(model, record_id)
            if record is None:
                record = model(id=record_id)
                s.add(record)
            for name, value in values.items():
                setattr(record, name, convert[name](value))
            repaired += 1
        extra = [r for r in mine if r not in theirs]
        if extra:
            pending = set(
                s.connection()
                .exec_driver_sql(
                    "SELECT record_id FROM change_log WHERE pushed_at IS NULL AND entity = ?",
                    (entity,),
                )
                .scalars()
            )
            for record_id in extra:
                if record_id in pending:
                    continue
                record = s.get(model, record_id)
                if record is not None:
                    s.delete(record)
                    removed += 1
                    # Its search document and duplicate keys go with it (no hook does
                    # this: records are otherwise never deleted, only tombstoned).
                    for table in ("search_docs", "identity_keys"):
                        s.connection().exec_driver_sql(
                            f"DELETE FROM {table} WHERE entity = ? AND record_id = ?",
                            (entity, record_id),
                        )
        s.flush()
        uow.commit()
    return repaired, removed


def last_check(ws: Workspace) -> dict[str, Any] | None:
    with ws.read() as s:
        row = s.execute(select(Meta.value).where(Meta.key == CHECK_KEY)).scalar()
    return json.loads(row) if row else None


def since(result: dict[str, Any] | None, now: datetime) -> timedelta | None:
    if not result:
        return None
    return now - from_utc_text(result["at"])
