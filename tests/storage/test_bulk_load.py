"""The bulk-load thread writes exactly what an executemany would, types and all, as few
multi-row statements as SQLite's limit on bound values allows."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from touchpoint.storage import search_index

ROWS: list[tuple[Any, ...]] = [
    (1, "plain", None, 1.5),
    (2**62, "quote ' \" and \\ backslash", '{"a": [1, 2]}', -0.1),
    (-7, "ünïcödé 漢字 emoji 😀", "", 1e300),
    (0, "new\nline\ttab", "null", 3.0),
    (True, "a bool goes in as 1", "[]", 0.0),
]


def _stored(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT n, typeof(n), s, typeof(s), j, typeof(j), f, typeof(f) FROM t ORDER BY rowid"
    ).fetchall()


def _engine(tmp_path: Path, table: str) -> Engine:
    """A file database with ``table`` and the search documents a bulk load reads."""
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(table)
        conn.exec_driver_sql(
            "CREATE TABLE search_docs (doc_id INTEGER PRIMARY KEY, entity, record_id, "
            "customer_id, title, body)"
        )
        conn.exec_driver_sql("CREATE TABLE search_backlog (fts TEXT PRIMARY KEY, done INTEGER)")
    return engine


def test_rows_written_in_the_background_equal_an_executemany(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER, s TEXT, j JSON, f REAL)")
    sql = "INSERT INTO t (n, s, j, f) VALUES (?, ?, ?, ?)"
    reference = sqlite3.connect(":memory:")
    reference.execute("CREATE TABLE t (n INTEGER, s TEXT, j JSON, f REAL)")
    reference.executemany(sql, ROWS)
    with engine.begin() as conn:
        with search_index.bulk_insert(conn, background=True) as load:
            load.insert(sql, ROWS[:2])
            load.insert(sql, ROWS[2:])
        written = _stored(conn.connection.driver_connection)
    assert written == _stored(reference)


def test_values_go_through_the_drivers_adapters(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER, s TEXT, j JSON, f REAL)")
    sqlite3.register_adapter(Decimal, str)
    sqlite3.register_adapter(datetime, lambda moment: moment.strftime("%d.%m.%Y"))
    try:
        with engine.begin() as conn:
            with search_index.bulk_insert(conn, background=True) as load:
                load.insert("INSERT INTO t (n, s) VALUES (?, ?)", [(1, Decimal("1.10"))])
                load.insert("INSERT INTO t (n, s) VALUES (?, ?)", [(2, datetime(2026, 11, 24))])
            assert conn.execute(text("SELECT n, s FROM t")).all() == [
                (1, "1.10"),
                (2, "24.11.2026"),
            ]
    finally:
        sqlite3.adapters.pop((Decimal, sqlite3.PrepareProtocol), None)
        sqlite3.adapters.pop((datetime, sqlite3.PrepareProtocol), None)


def test_rows_beyond_sqlites_limit_of_bound_values_go_in_several_statements(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER, s TEXT, j JSON, f REAL)")
    sql = "INSERT INTO t (n, s, j, f) VALUES (?, ?, ?, ?)"
    statements: list[str] = []
    with engine.begin() as conn:
        db = conn.connection.driver_connection
        db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 9)  # two rows of four
        db.set_trace_callback(statements.append)
        with search_index.bulk_insert(conn, background=True) as load:
            load.insert(sql, ROWS)
        db.set_trace_callback(None)
        written = _stored(db)
    inserts = [s for s in statements if s.startswith("INSERT INTO t ")]
    assert [s.count("(") - 1 for s in inserts] == [2, 2, 1]
    assert [row[0::2] for row in written] == [(int(n), s, j, f) for n, s, j, f in ROWS]


def test_a_row_of_the_wrong_width_is_refused_whole(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER, s TEXT)")
    with (
        pytest.raises(ValueError, match="needs 2 values"),
        engine.begin() as conn,
        search_index.bulk_insert(conn, background=True) as load,
    ):
        load.insert("INSERT INTO t (n, s) VALUES (?, ?)", [(1, "a", "extra"), (2,)])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_a_failed_background_write_is_raised_in_the_callers_thread(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER PRIMARY KEY)")
    with (
        pytest.raises(sqlite3.IntegrityError),
        engine.begin() as conn,
        search_index.bulk_insert(conn, background=True) as load,
    ):
        load.insert("INSERT INTO t (n) VALUES (?)", [(1,), (1,)])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def _plan(ws: Any, sql: str, params: tuple[Any, ...]) -> str:
    conn = sqlite3.connect(ws.paths.database)
    try:
        return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    finally:
        conn.close()


def test_a_fill_reads_the_new_documents_by_their_id_range(ws: Any) -> None:
    """Each fill of a bulk load (and of the backlog's catch-up) reads only the documents
    written since the last one: by the id range, never the documents of its entities
    through their (entity, record_id) index, which is every one of them (at L a quarter
    of a second a fill, even a fill with nothing new for that index)."""
    for table in search_index.FTS_TABLES:
        plan = _plan(ws, search_index._fill_sql(table), (1, 2, "contact", "customer"))
        assert "INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan
        assert "autoindex" not in plan, plan


def test_customers_are_found_by_their_folded_names_through_the_lookup_index(ws: Any) -> None:
    from touchpoint.storage.queries import customers as queries

    sql = queries._BY_NAME_KEY.text.replace(":keys", "(?, ?)")
    plan = _plan(ws, sql, ("acme", "zeta"))
    # The index holds the whole key (the table has no row ids): nothing else is read.
    assert "SEARCH k USING COVERING INDEX ix_identity_keys_lookup (kind=? AND value=?)" in plan


def test_the_load_is_busy_until_what_it_was_given_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(tmp_path, "CREATE TABLE t (n INTEGER)")
    release = threading.Event()
    real = search_index._insert_many

    def held(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        release.wait()
        real(cursor, sql, rows)

    monkeypatch.setattr(search_index, "_insert_many", held)
    with engine.begin() as conn, search_index.bulk_insert(conn, background=True) as load:
        assert not load.busy
        load.insert("INSERT INTO t (n) VALUES (?)", [(1,)])
        load.index()
        assert load.busy
        release.set()
        for _wait in range(1000):  # until the thread has written it (not a measure of time)
            if not load.busy:
                break
            time.sleep(0.01)
        assert not load.busy
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
