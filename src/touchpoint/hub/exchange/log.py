"""One push's state: records read through a cache, the change log numbered, then written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from touchpoint.hub.db import records
from touchpoint.hub.exchange.postgres_writer import PostgresWriter
from touchpoint.hub.exchange.sqlite_writer import SQLiteWriter
from touchpoint.hub.exchange.writing import Batch, Row, Writer
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import MODEL_BY_ENTITY, new_id
from touchpoint.sync.protocol import CONFLICT_ENTITY

# The device id of the changes the Hub makes itself (conflict records, moved references).
HUB_DEVICE = "hub"

# One writer per database the Hub runs on, chosen by the engine's dialect.
_WRITERS: dict[str, Writer] = {"sqlite": SQLiteWriter(), "postgresql": PostgresWriter()}


def writer_for(conn: Connection) -> Writer:
    """The write path of the connection's database."""
    try:
        return _WRITERS[conn.dialect.name]
    except KeyError:
        raise ValueError(f"the Hub runs on SQLite or PostgreSQL, not {conn.dialect.name}") from None


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


class PushLog:
    """One push transaction: reads records through a cache, numbers new ``changes`` rows
    from the locked counter, and writes everything in a few bulk statements at the end."""

    def __init__(self, conn: Connection, now: str) -> None:
        self.conn = conn
        self.now = now
        self.writer = writer_for(conn)
        # Rows are numbered from 1 here; close() shifts them past the counter.
        self.seq = 0
        self.base = 0
        self.cache: dict[tuple[str, str], Row | None] = {}
        self.fetched: set[str] = set()  # record ids already looked up (all entities)
        self.in_db: set[tuple[str, str]] = set()
        self.dirty: dict[tuple[str, str], Row] = {}
        self.rows: list[dict[str, Any]] = []
        # (customer, person, delete's change id) already told in this push
        self.raced: set[tuple[str, str, str]] = set()

    def prefetch(self, record_ids: set[str]) -> None:
        wanted = [i for i in record_ids if i and i not in self.fetched]
        for chunk in chunked(wanted):
            query = _PREFETCH_LOCKED if self.writer.locks_rows else _PREFETCH
            for r in self.conn.execute(query, {"ids": chunk}):
                key = (r.entity, r.record_id)
                self.cache[key] = Row(
                    r.entity, r.record_id, r.team, dict(r.data), dict(r.versions), True
                )
                self.in_db.add(key)
            self.fetched.update(chunk)

    def load(self, entity: str, record_id: str) -> Row | None:
        key = (entity, record_id)
        if key not in self.cache and record_id not in self.fetched:
            self.prefetch({record_id})
        return self.cache.get(key)

    def save(self, row: Row) -> None:
        key = (row.entity, row.record_id)
        self.cache[key] = row
        self.dirty[key] = row
        row.exists = True

    def save_hub_change(self, row: Row, op: str, fields: dict[str, Any], author: str) -> None:
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
        row: Row,
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
        """Write the batch through the database's writer: records, the device's row, the
        numbered change log and the answers given (on PostgreSQL this also commits); then
        number this log's rows and answers past the counter as they were stored."""
        batch = Batch(
            device=device,
            inserts=[r for k, r in self.dirty.items() if k not in self.in_db],
            updates=[r for k, r in self.dirty.items() if k in self.in_db],
            changes=self.rows,
            received=received_rows,
        )
        self.base = self.writer.write(self.conn, batch)
        for row in self.rows:
            row["server_seq"] += self.base
        for a in received_rows:
            if a["server_seq"] is not None:
                a["server_seq"] += self.base
