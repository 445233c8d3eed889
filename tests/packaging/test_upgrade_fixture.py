"""A database written by the first release, with changes never pushed, upgraded and synced.

The fixture (tests/fixtures/upgrade/, made by its make_fixture.py) is a committed file at
schema 0001: opening a copy with this Touchpoint migrates it, keeping a backup, and the
waiting changes then reach a real Hub exactly once, with the data intact on both sides.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from touchpoint.services import search
from touchpoint.settings import Settings, save_settings
from touchpoint.storage import migrate
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine, sign_in

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "upgrade"))

import make_fixture  # noqa: E402
from harness import PASSWORD, HubServer, hub_change_count  # noqa: E402

FIXTURE = make_fixture.FIXTURE


def _rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def hub(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = HubServer(f"sqlite:///{tmp_path / 'hub.sqlite3'}").start()
    server.add_user(make_fixture.REP)
    yield server
    server.stop()


@pytest.fixture
def old_data(tmp_path: Path) -> Path:
    data = tmp_path / "laptop"
    data.mkdir()
    shutil.copyfile(FIXTURE, data / "touchpoint.sqlite3")
    save_settings(
        data / "config" / "settings.toml",
        Settings(user=make_fixture.REP, timezone="Europe/Berlin", default_region="DE"),
    )
    return data


def test_the_fixture_is_the_first_schema_with_changes_waiting() -> None:
    assert migrate.schema_revision(FIXTURE) == "0001"
    waiting = _rows(FIXTURE, "SELECT count(*) FROM change_log WHERE pushed_at IS NULL")
    assert waiting == [(12,)]
    entities = dict(_rows(FIXTURE, "SELECT entity, count(*) FROM change_log GROUP BY entity"))
    assert entities == {"customer": 4, "contact": 1, "interaction": 3, "followup": 4}


def test_the_fixture_script_writes_the_committed_file(tmp_path: Path) -> None:
    """The committed file is what make_fixture.py writes, so it can be made again."""
    again = tmp_path / "again.sqlite3"
    make_fixture.make(again)
    for table in ("customers", "contacts", "interactions", "followups", "change_log"):
        sql = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert _rows(again, sql) == _rows(FIXTURE, sql), table


def test_first_release_database_upgrades_and_syncs_every_waiting_change_once(
    old_data: Path, hub: HubServer
) -> None:
    waiting = {
        cid for (cid,) in _rows(FIXTURE, "SELECT change_id FROM change_log WHERE pushed_at IS NULL")
    }

    ws = Workspace.open(old_data, auto_backup=False)
    try:
        # Migrated to the newest schema, with the 0001 file set aside first.
        assert ws.schema_version == migrate.head_revision()
        backups = list((old_data / "backups").glob("pre-upgrade-0001-*.sqlite3"))
        assert len(backups) == 1
        assert migrate.schema_revision(backups[0]) == "0001"
        for table in ("customers", "followups", "change_log"):
            sql = f"SELECT * FROM {table} ORDER BY 1, 2"
            assert _rows(backups[0], sql) == _rows(FIXTURE, sql)
        # The upgraded data is all there and searchable.
        assert ws.device_id == make_fixture.DEVICE
        assert [h.record_id for h in search.search(ws, "zurich prototype")] == [
            make_fixture.uid(21)
        ]

        sign_in(ws, hub.url, make_fixture.REP, PASSWORD)
        engine = SyncEngine.for_workspace(ws, sleep=lambda _s: None)
        try:
            result = engine.run()
            assert result.in_sync
            assert result.pushed == len(waiting)
            again = engine.run()
            assert again.pushed == 0
        finally:
            engine.client.close()
    finally:
        ws.close()

    db = old_data / "touchpoint.sqlite3"
    assert _rows(db, "SELECT count(*) FROM change_log WHERE pushed_at IS NULL") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM change_log WHERE push_error IS NOT NULL") == [(0,)]
    counts = hub_change_count(hub)
    assert set(counts) == waiting
    assert set(counts.values()) == {1}  # each change arrived exactly once

    # The Hub holds every record with the values the rep typed (edits included).
    hub_state = hub.state()
    for _table, entity, rows in make_fixture.CREATED:
        for row in rows:
            on_hub = hub_state[(entity, row["id"])]
            for name, value in row.items():
                if name == "id":
                    continue
                expected = dict((e[3], e[4]) for e in make_fixture.EDITED if e[2] == row["id"]).get(
                    name, value
                )
                assert on_hub.get(name) == expected, (entity, name)
    customer = json.loads(
        _rows(db, f"SELECT emails FROM customers WHERE id = '{make_fixture.uid(1)}'")[0][0]
    )
    assert customer == make_fixture.CUSTOMERS[0]["emails"]
