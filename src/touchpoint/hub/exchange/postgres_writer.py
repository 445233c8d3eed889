"""The Hub's write path on PostgreSQL: a push's batch in one psycopg pipeline with its COMMIT."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection

from touchpoint.hub.exchange.writing import Batch


class PostgresWriter:
    """Every write and the COMMIT sent to PostgreSQL at once (psycopg's pipeline mode),
    answered in one round trip. The counter row is locked from its bump to the commit,
    which then happens without waiting on this process: pushes queued behind the lock
    do not wait for each other's round trips and turns at the GIL. The log's numbers are
    computed in SQL from the bumped counter, read back after the commit.

    A push locks the records it reads (``FOR UPDATE``), so pushes touching different
    records merge at the same time; only the short part from the counter's bump to the
    commit is serialised."""

    locks_rows = True

    def write(self, conn: Connection, batch: Batch) -> int:
        raw = conn.connection.driver_connection
        n = len(batch.changes)
        with raw.pipeline(), raw.cursor() as cur, raw.cursor() as bump:
            cur.execute(_PG_DEVICE, batch.device)
            # One statement per table, however many rows: PostgreSQL parses, plans and
            # runs each once. The rows travel as one JSON array (orjson), each stored JSON
            # value in it as the text a single-row write stores (``_stored``).
            if batch.inserts:
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
                            for r in batch.inserts
                        ),
                    ),
                )
            if batch.updates:
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
                            for r in batch.updates
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
                            for r in batch.changes
                        ),
                    ),
                )
            if batch.received:
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
                            for a in batch.received
                        ),
                    ),
                )
            raw.commit()
            top = bump.fetchone()[0] if n else 0
        return int(top) - n


# The same writes as the SQLite writer's statements. A change's number is the bumped
# counter minus its place from the end of the batch.
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
