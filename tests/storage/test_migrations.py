"""Migrations: a database holding data upgrades from the first revision to the newest."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection

from touchpoint.errors import NewerSchemaError
from touchpoint.services import search
from touchpoint.storage import migrate, search_index
from touchpoint.storage.database import Database
from touchpoint.storage.workspace import Workspace


@contextmanager
def _at_revision(path: Path, revision: str, *, down: bool = False) -> Iterator[Connection]:
    """One transaction on ``path``'s database, moved up (or ``down``) to ``revision`` first."""
    db = Database(path)
    cfg = migrate.alembic_config()
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)
            yield conn
    finally:
        db.dispose()


def _first_revision_with_data(path: Path) -> None:
    with _at_revision(path, "0001") as conn:
        conn.exec_driver_sql("INSERT INTO local_meta (key, value) VALUES ('device_id', 'dev-1')")
        now = "2026-01-05T10:00:00.000000Z"
        conn.exec_driver_sql(
            "INSERT INTO customers (id, name, kind, status, website, addresses, phones, emails,"
            " tags, custom, notes, currency, created_at, created_by, updated_at, updated_by)"
            " VALUES ('c1', 'Müller Maschinenbau', 'organisation', 'active',"
            " 'https://www.mueller.de', '[]', ?, ?, '[\"key\"]', '{}', 'Wants the blue model',"
            " 'EUR', ?, 'maria', ?, 'maria')",
            (
                json.dumps([{"label": "work", "value": "+4930123456"}]),
                json.dumps([{"label": "work", "value": "Info@Mueller.de"}]),
                now,
                now,
            ),
        )
        conn.exec_driver_sql(
            "INSERT INTO interactions (id, customer_id, kind, occurred_at, contact_ids, notes,"
            " feedback, satisfaction, rep, created_at, created_by, updated_at, updated_by)"
            " VALUES ('i1', 'c1', 'visit', ?, '[]', 'Demo of the Zürich prototype',"
            " 'Très content', 5, 'maria', ?, 'maria', ?, 'maria')",
            (now, now, now),
        )
        conn.exec_driver_sql(
            "INSERT INTO change_log (change_id, tx_id, device_id, entity, record_id, op, fields,"
            " at, author, schema_version) VALUES ('ch1', 'tx1', 'dev-1', 'customer', 'c1',"
            " 'insert', '{}', ?, 'maria', '0001')",
            (now,),
        )


def test_upgrade_from_first_revision_keeps_data_and_indexes_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _first_revision_with_data(data / "touchpoint.sqlite3")
    ws = Workspace.open(data, auto_backup=False)
    try:
        assert ws.schema_version == migrate.head_revision()
        assert ws.device_id == "dev-1"
        # the old data is searchable, accent- and case-insensitively
        assert [h.record_id for h in search.search(ws, "muller")] == ["c1"]
        assert [h.record_id for h in search.search(ws, "zurich")] == ["i1"]
        assert [h.record_id for h in search.search(ws, "TRES")] == ["i1"]
        conn = sqlite3.connect(ws.paths.database)
        keys = set(conn.execute("SELECT kind, value FROM identity_keys").fetchall())
        pending = conn.execute("SELECT count(*) FROM change_log WHERE pushed_at IS NULL").fetchone()
        conn.close()
        assert {
            ("email", "info@mueller.de"),
            ("phone", "+4930123456"),
            ("host", "mueller.de"),
        } <= keys
        assert pending == (1,)  # a change waiting to be pushed survives the upgrade
    finally:
        ws.close()
    backups = list((data / "backups").glob("pre-upgrade-0001-*.sqlite3"))
    assert len(backups) == 1  # the file was copied aside before the upgrade
    assert migrate.schema_revision(backups[0]) == "0001"


def test_upgrade_to_name_keys_keys_each_live_customer_by_its_folded_name(tmp_path):
    """0012: the customers already here get their folded names as identity keys (the
    live ones only, as every write keys them), and an import matches them by it."""
    from touchpoint.services.importing import import_customers_csv

    data = tmp_path / "data"
    data.mkdir()
    now = "2026-01-05T10:00:00.000000Z"
    with _at_revision(data / "touchpoint.sqlite3", "0011") as conn:
        for record_id, name, deleted, merged in (
            ("c1", "Müller Maschinenbau GmbH", None, None),
            ("c2", "Müller Maschinenbau", now, None),
            ("c3", "Mueller & Co.", None, "c1"),
            ("c4", "The Company", None, None),
        ):
            conn.exec_driver_sql(
                "INSERT INTO customers (id, name, kind, status, addresses, phones, emails, tags,"
                " custom, currency, created_at, created_by, updated_at, updated_by, deleted_at,"
                " merged_into_id) VALUES (?, ?, 'organisation', 'active', '[]', '[]',"
                ' \'[{"label": "work", "value": "info@mueller.de"}]\', \'[]\', \'{}\','
                " 'EUR', ?, 'maria', ?, 'maria', ?, ?)",
                (record_id, name, now, now, deleted, merged),
            )
        conn.exec_driver_sql(
            "INSERT INTO identity_keys (entity, record_id, kind, value)"
            " VALUES ('customer', 'c1', 'email', 'info@mueller.de')"
        )
    ws = Workspace.open(data, auto_backup=False)
    try:
        conn = sqlite3.connect(ws.paths.database)
        keys = conn.execute("SELECT record_id, kind, value FROM identity_keys").fetchall()
        names = conn.execute("SELECT id, name FROM customers ORDER BY id").fetchall()
        conn.close()
        assert sorted(keys) == [
            ("c1", "email", "info@mueller.de"),
            ("c1", "name", "muller maschinenbau"),
            ("c4", "name", ""),  # legal words only: a file's "Ltd" folds to it too
        ]
        assert [n for _id, n in names] == [
            "Müller Maschinenbau GmbH", "Müller Maschinenbau", "Mueller & Co.", "The Company",
        ]  # fmt: skip
        path = tmp_path / "people.csv"
        path.write_text("Company,Contact Name\nMULLER MASCHINENBAU,Anna\n", encoding="utf-8")
        report = import_customers_csv(ws, path)
        assert (report.created_customers, report.created_contacts) == (0, 1)
    finally:
        ws.close()


def test_a_newer_database_is_refused_and_left_untouched(tmp_path):
    data = tmp_path / "data"
    Workspace.open(data, auto_backup=False).close()
    path = data / "touchpoint.sqlite3"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
        conn.execute("UPDATE local_meta SET value = '9.1.0' WHERE key = 'min_app_version'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NewerSchemaError, match=r"needs Touchpoint 9\.1\.0 or newer"):
        Workspace.open(data, auto_backup=False)
    assert path.read_bytes() == before


def test_models_match_the_migrations(tmp_path):
    """The ORM and the migration history describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from touchpoint.storage.models import Base

    data = tmp_path / "data"
    ws = Workspace.open(data, auto_backup=False)
    with ws.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = [d for d in compare_metadata(context, Base.metadata) if "search_fts" not in str(d)]
    ws.close()
    assert diff == []


def test_the_known_revisions_are_the_migration_scripts() -> None:
    # A new migration must be added to REVISIONS, or starts would not upgrade to it.
    assert list(migrate.REVISIONS) == migrate.script_revisions()


def test_going_back_before_the_backlog_indexes_what_waits(tmp_path):
    """Revision 0005 knows no backlog: its downgrade indexes the waiting documents."""
    from touchpoint.services import customers
    from touchpoint.storage import search_index

    data = tmp_path / "data"
    ws = Workspace.open(data, auto_backup=False)
    with ws.db.engine.begin() as conn, search_index.bulk_insert(conn, defer=True):
        pass  # from here on, new documents wait
    customers.create_customer(ws, {"name": "Wartend Logistik"})
    assert search.index_backlog(ws) == 1 and search.search(ws, "wartend") == []
    cfg = migrate.alembic_config()
    with ws.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        for table in search_index.FTS_TABLES:  # the index matches its documents
            conn.exec_driver_sql(
                f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"
            )
        names = conn.exec_driver_sql(
            "SELECT count(*) FROM search_fts_names WHERE search_fts_names MATCH 'wartend'"
        ).scalar()
    assert names == 1
    ws.close()


def _fts_sql(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('search_fts', 'search_fts_names')"
        ).fetchall()
        return dict(rows)
    finally:
        conn.close()


def test_upgrade_to_column_detail_fills_the_activity_index_again_and_back(tmp_path):
    """0013: the activity index is made again keeping columns, not positions, and filled
    from every document, the ones a big pull left waiting too; the names index keeps its
    positions; a downgrade gives the activity index its positions back."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "touchpoint.sqlite3"
    _first_revision_with_data(path)
    with _at_revision(path, "0012") as conn:
        # A big pull's documents, left to a catch-up that never ran.
        conn.exec_driver_sql("INSERT INTO search_backlog (fts, done) VALUES ('search_fts', 0)")
        conn.exec_driver_sql(
            "INSERT INTO search_docs (entity, record_id, customer_id, title, body)"
            " VALUES ('interaction', 'i2', 'c1', 'Call', 'Quote for the mail_gateway upgrade')"
        )
    assert all("detail" not in sql for sql in _fts_sql(path).values())
    ws = Workspace.open(data, auto_backup=False)
    try:
        made = _fts_sql(path)
        assert "detail=column" in made["search_fts"]
        assert "detail" not in made["search_fts_names"]
        with ws.read() as session:
            conn = session.connection()
            assert search_index.backlog(conn) == 0
            assert not search_index.lagging(conn)
            assert search_index.integrity_ok(conn)
        assert [h.record_id for h in search.search(ws, "zurich")] == ["i1"]
        assert [h.record_id for h in search.search(ws, "gatew")] == ["i2"]
        assert [h.record_id for h in search.search(ws, "mail_gate")] == ["i2"]
        assert [h.record_id for h in search.search(ws, "mull")] == ["c1"]
    finally:
        ws.close()
    with _at_revision(path, "0012", down=True) as conn:
        found = conn.exec_driver_sql(
            "SELECT d.record_id FROM search_fts f JOIN search_docs d ON d.doc_id = f.rowid"
            " WHERE search_fts MATCH '\"mail gateway\"'"
        ).all()
        assert found == [("i2",)]  # a phrase again: positions are kept
    assert "detail=full" in _fts_sql(path)["search_fts"]


def _identity_table(conn: sqlite3.Connection) -> tuple[str, list[str]]:
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'identity_keys'").fetchone()
    indexes = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'identity_keys'"
        " AND sql IS NOT NULL"
    ).fetchall()
    return sql, [name for (name,) in indexes]


@pytest.mark.parametrize("lookup_left_out", [False, True])
def test_upgrade_to_identity_keys_without_rowid_keeps_every_key_and_back(
    tmp_path: Path, lookup_left_out: bool
) -> None:
    """0014: the keys move to a table that is its own primary key, each one kept, and a
    duplicate check still finds a customer by them; the lookup index comes along unless
    a stopped first sync had left it out (it is built when that sync ends). Going back
    gives the table its row ids again, with the same keys."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "touchpoint.sqlite3"
    keys = [
        ("customer", f"c{i}", kind, f"{kind}-{i}@example.com")
        for i in range(300)
        for kind in ("email", "host")
    ]
    with _at_revision(path, "0013") as conn:
        conn.exec_driver_sql(
            "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)",
            keys,
        )
        if lookup_left_out:
            conn.exec_driver_sql("DROP INDEX ix_identity_keys_lookup")
    with _at_revision(path, "0014"):
        pass
    conn = sqlite3.connect(path)
    try:
        sql, indexes = _identity_table(conn)
        assert sql.rstrip().endswith("WITHOUT ROWID")
        assert indexes == ([] if lookup_left_out else ["ix_identity_keys_lookup"])
        stored = conn.execute("SELECT entity, record_id, kind, value FROM identity_keys")
        assert sorted(stored.fetchall()) == sorted(keys)
        found = conn.execute(
            "SELECT record_id FROM identity_keys WHERE kind = 'email' AND value = ?",
            ("email-17@example.com",),
        ).fetchall()
        assert found == [("c17",)]
    finally:
        conn.close()
    with _at_revision(path, "0013", down=True):
        pass
    conn = sqlite3.connect(path)
    try:
        sql, _indexes = _identity_table(conn)
        assert "WITHOUT ROWID" not in sql
        back = conn.execute("SELECT entity, record_id, kind, value FROM identity_keys")
        assert sorted(back.fetchall()) == sorted(keys)
    finally:
        conn.close()


def test_a_new_database_keeps_identity_keys_without_rowid(tmp_path: Path) -> None:
    """Made from the models or by the migrations, the table is the same."""
    from sqlalchemy import create_engine

    from touchpoint.storage.models import Base

    ws = Workspace.open(tmp_path / "data", auto_backup=False)
    migrated = sqlite3.connect(ws.paths.database)
    try:
        by_migrations, _ = _identity_table(migrated)
    finally:
        migrated.close()
        ws.close()
    engine = create_engine(f"sqlite:///{tmp_path / 'models.sqlite3'}")
    Base.metadata.create_all(engine)
    engine.dispose()
    made = sqlite3.connect(tmp_path / "models.sqlite3")
    try:
        by_models, _ = _identity_table(made)
    finally:
        made.close()
    for sql in (by_migrations, by_models):
        assert sql.rstrip().endswith("WITHOUT ROWID")
