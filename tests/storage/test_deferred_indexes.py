"""Indexes a first sync leaves out are built whole afterwards, sorting in runs on a plain
laptop, and the connection that built them goes back to the pool as it was."""

from __future__ import annotations

from typing import Any

import pytest

from touchpoint.storage import database, deferred_indexes
from touchpoint.storage.database import Database
from touchpoint.storage.workspace import Workspace

# Enough keys that the lookup index's sort fills several runs of SORT_CACHE_KIB.
KEYS = 60_000


def _left_out_with_keys(db: Database) -> None:
    with db.write_session() as session:
        conn = session.connection()
        assert deferred_indexes.defer(conn)
        conn.exec_driver_sql(
            "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)",
            [
                (
                    "customer",
                    f"{i:08d}-0000-4000-8000-000000000000",
                    "email",
                    f"rep.{i}@kunde-{i % 97}.example.de",
                )
                for i in range(KEYS)
            ],
        )
        session.commit()


def _settings(driver: Any) -> dict[str, int]:
    names = ("temp_store", "cache_size", "threads")
    return {name: driver.execute(f"PRAGMA {name}").fetchone()[0] for name in names}


def _watch_build(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    seen: list[dict[str, int]] = []
    real = deferred_indexes.build

    def build(conn: Any) -> list[str]:
        seen.append(_settings(conn.connection.driver_connection))
        return real(conn)

    monkeypatch.setattr(deferred_indexes, "build", build)
    return seen


def test_indexes_left_out_are_built_whole_and_the_connection_goes_back_as_it_was(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ws.db.engine.connect() as conn:
        usual = _settings(conn.connection.driver_connection)
    _left_out_with_keys(ws.db)
    seen = _watch_build(monkeypatch)

    deferred_indexes.build_pending(ws.db)

    # Sorted in runs on disk, with helper threads, while building.
    assert seen == [
        {
            "temp_store": 1,
            "cache_size": -deferred_indexes.SORT_CACHE_KIB,
            "threads": deferred_indexes.SORT_THREADS,
        }
    ]
    with ws.db.read() as session:
        conn = session.connection()
        assert deferred_indexes.deferred(conn) == []
        present = {n for (n,) in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
        assert set(deferred_indexes.DEFERRABLE) <= present
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        lookup = "SELECT record_id FROM identity_keys WHERE kind = 'email' AND value = ?"
        plan = " ".join(
            str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookup}", ("x",))
        )
        assert "ix_identity_keys_lookup" in plan
        assert conn.exec_driver_sql(
            lookup, (f"rep.31337@kunde-{31337 % 97}.example.de",)
        ).scalar() == ("00031337-0000-4000-8000-000000000000")
    # Every pooled connection, the builder's included, has the usual settings again.
    held = [ws.db.engine.connect() for _ in range(4)]
    try:
        for conn in held:
            assert _settings(conn.connection.driver_connection) == usual
    finally:
        for conn in held:
            conn.close()
    assert usual["temp_store"] == 2  # in memory, as every connection is opened


def test_a_build_that_cannot_take_the_write_lock_waits_and_leaves_the_settings(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _left_out_with_keys(ws.db)
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    ws.db.engine.pool.dispose()  # connections opened from now on wait 50 ms for a lock
    other = Database(ws.db.path)
    try:
        with other.write_session() as writer:
            writer.connection().exec_driver_sql("DELETE FROM local_meta WHERE 0")  # the lock
            deferred_indexes.build_pending(ws.db)
            writer.rollback()
    finally:
        other.dispose()
    with ws.db.read() as session:
        assert deferred_indexes.deferred(session.connection())  # still to build
    with ws.db.engine.connect() as conn:
        assert _settings(conn.connection.driver_connection)["temp_store"] == 2
    deferred_indexes.build_pending(ws.db)
    with ws.db.read() as session:
        assert deferred_indexes.deferred(session.connection()) == []
