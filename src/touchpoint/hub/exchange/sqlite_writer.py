"""The Hub's write path on SQLite: a push's batch as SQLAlchemy Core statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from touchpoint.hub.db import changes, counter, devices, received, records
from touchpoint.hub.exchange.writing import Batch

# Built once (a statement object keeps its cache key): every push runs them.
_RECORD_UPDATE = (
    update(records)
    .where(records.c.entity == bindparam("k_entity"), records.c.record_id == bindparam("k_id"))
    .values(data=bindparam("data"), versions=bindparam("versions"))
)
_BUMP = (
    update(counter)
    .where(counter.c.id == 1)
    .values(value=counter.c.value + bindparam("n"))
    .returning(counter.c.value)
)


class SQLiteWriter:
    """SQLite holds its write lock from the push's first statement (``BEGIN IMMEDIATE``)
    to its commit: whole pushes are serialised, so no record is locked on its own."""

    locks_rows = False

    def write(self, conn: Connection, batch: Batch) -> int:
        _touch_device(conn, batch.device)
        if batch.inserts:
            conn.execute(
                insert(records),
                [
                    {
                        "entity": r.entity,
                        "record_id": r.record_id,
                        "team": r.team,
                        "data": r.data,
                        "versions": r.versions,
                    }
                    for r in batch.inserts
                ],
            )
        if batch.updates:
            conn.execute(
                _RECORD_UPDATE,
                [
                    {
                        "k_entity": r.entity,
                        "k_id": r.record_id,
                        "data": r.data,
                        "versions": r.versions,
                    }
                    for r in batch.updates
                ],
            )
        base = 0
        if batch.changes:
            # The counter row stays locked until this transaction commits: the log's
            # numbers are handed out in commit order, so a pull never skips a row.
            n = len(batch.changes)
            base = int(conn.execute(_BUMP, {"n": n}).scalar_one()) - n
            conn.execute(
                insert(changes),
                [{**r, "server_seq": r["server_seq"] + base} for r in batch.changes],
            )
        if batch.received:
            conn.execute(
                insert(received),
                [
                    a if a["server_seq"] is None else {**a, "server_seq": a["server_seq"] + base}
                    for a in batch.received
                ],
            )
        return base


def _touch_device(conn: Connection, values: dict[str, Any]) -> None:
    stmt = sqlite_insert(devices).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["device_id"],
            set_={k: v for k, v in values.items() if k != "device_id"},
        )
    )
