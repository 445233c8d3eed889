"""Backups through SQLite's online API: rotation, manual backup, restore, check."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.errors import StorageError
from touchpoint.services import customers, maintenance
from touchpoint.storage.backup import daily_backup_if_due
from touchpoint.storage.workspace import Workspace


def test_daily_backups_rotate_and_keep_seven(ws):
    customers.create_customer(ws, {"name": "Acme"})
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    made = []
    for day in range(10):
        now = start + timedelta(days=day)
        path = daily_backup_if_due(ws.paths.database, ws.paths.backup_dir, now=now)
        assert path is not None
        stamp = now.timestamp()
        os.utime(path, (stamp, stamp))
        made.append(path)
        # a second call the same day makes nothing
        assert daily_backup_if_due(ws.paths.database, ws.paths.backup_dir, now=now) is None
    kept = sorted(ws.paths.backup_dir.glob("daily-*.sqlite3"))
    assert kept == sorted(made[-7:])


def test_backup_and_restore_round_trip(ws, data_dir):
    customers.create_customer(ws, {"name": "Before backup"})
    file = maintenance.backup(ws, data_dir.parent / "copy.sqlite3")
    customers.create_customer(ws, {"name": "After backup"})
    ws.close()
    safety = maintenance.restore(data_dir, file)
    reopened = Workspace.open(data_dir, auto_backup=False)
    try:
        assert maintenance.status(reopened).counts["customer"] == 1
        assert customers.get_customer(reopened, "Before backup").name == "Before backup"
    finally:
        reopened.close()
    # the replaced database was kept
    conn = sqlite3.connect(safety)
    assert conn.execute("SELECT count(*) FROM customers").fetchone() == (2,)
    conn.close()


def test_restore_refuses_a_file_that_is_not_a_touchpoint_database(ws, data_dir, tmp_path):
    bogus = tmp_path / "notes.sqlite3"
    conn = sqlite3.connect(bogus)
    conn.execute("CREATE TABLE x (y)")
    conn.close()
    with pytest.raises(StorageError, match="not a Touchpoint database"):
        maintenance.restore(data_dir, bogus)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError):
        maintenance.restore(data_dir, garbage)
    assert customers.create_customer(ws, {"name": "Still here"}).value.name == "Still here"


def test_check_reports_a_healthy_database(ws):
    customers.create_customer(ws, {"name": "Acme", "emails": ["a@acme.com"]})
    report = maintenance.check(ws)
    assert report.ok, report.problems
    assert report.counts["customer"] == 1
    assert report.unsynced_changes == 1


def test_check_finds_a_damaged_search_index(ws):
    customers.create_customer(ws, {"name": "Acme"})
    conn = sqlite3.connect(ws.paths.database)
    with conn:
        # change a document behind the index's back
        conn.execute("DROP TRIGGER search_fts_names_au")
        conn.execute("UPDATE search_docs SET title = 'Zebra'")
    conn.close()
    report = maintenance.check(ws)
    assert not report.ok
    assert report.search_index == "out of step"
