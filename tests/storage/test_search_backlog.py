"""The search backlog fed beside a big pull: on a thread of its own, in the pull's own
transaction, and kept out while the pull may change documents."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection

from touchpoint.services import search
from touchpoint.storage import search_index
from touchpoint.storage.workspace import Workspace


def _documents(count: int) -> list[tuple[Any, ...]]:
    """INSERT_DOC's rows: calls with a word of their own, and customers."""
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        customer = str(uuid.uuid4())
        rows.append(("customer", customer, customer, f"Kunde {i} Spedition", "Stammkunde"))
        rows.append(("interaction", str(uuid.uuid4()), customer, f"Anruf {i}", f"Gabelstapler {i}"))
    return rows


def _backlog(conn: Connection) -> dict[str, int]:
    return dict(conn.exec_driver_sql("SELECT fts, done FROM search_backlog").all())


def _until(condition: Callable[[], bool]) -> None:
    """Wait for the indexing thread to get there (a busy machine may take a while)."""
    deadline = time.monotonic() + 120
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_the_backlog_is_indexed_beside_in_the_callers_transaction(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "IDLE_SLICE", 25)
    rows = _documents(100)
    with ws.db.engine.begin() as conn:
        with search_index.bulk_insert(conn, defer=True) as load:
            load.insert(search_index.INSERT_DOC, rows)
        newest = conn.exec_driver_sql("SELECT max(doc_id) FROM search_docs").scalar()
        with search_index.indexing_beside(conn) as indexer:
            _until(lambda: indexer.indexed >= 50)
            with indexer.paused():
                before = _backlog(conn)
                # A document already indexed changes: its triggers keep the index in
                # step, with the backlog where it is until the pause ends.
                indexed_call = conn.exec_driver_sql(
                    "SELECT max(doc_id) FROM search_docs "
                    "WHERE entity = 'interaction' AND doc_id <= ?",
                    (min(before.values()),),
                ).scalar()
                conn.exec_driver_sql(
                    "UPDATE search_docs SET body = 'Hubwagen' WHERE doc_id = ?", (indexed_call,)
                )
                time.sleep(0.2)
                assert _backlog(conn) == before
            _until(lambda: indexer.indexed >= len(rows))
        assert _backlog(conn) == dict.fromkeys(search_index.FTS_TABLES, newest)
    # Indexed and committed with its documents; the catch-up ends the backlog.
    assert len(search.search(ws, "Gabelstapler", limit=500)) == len(rows) // 2 - 1
    assert search.index_backlog(ws) == 0 and search.index_catching_up(ws)
    assert search.catch_up_index(ws)
    assert not search.index_catching_up(ws)
    with ws.read() as s:
        assert search_index.integrity_ok(s.connection())
    assert {h.entity for h in search.search(ws, "Hubwagen")} == {"interaction"}
    assert len(search.search(ws, "Spedition", limit=500)) == len(rows) // 2


def test_a_transaction_rolled_back_takes_back_what_was_indexed_beside(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "IDLE_SLICE", 10)
    with pytest.raises(RuntimeError), ws.db.engine.begin() as conn:
        with search_index.bulk_insert(conn, defer=True) as load:
            load.insert(search_index.INSERT_DOC, _documents(50))
        with search_index.indexing_beside(conn) as indexer:
            _until(lambda: indexer.indexed > 0)
            raise RuntimeError("the pull failed")
    assert search.search(ws, "Gabelstapler") == []
    assert not search.index_catching_up(ws)
    with ws.read() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("SELECT count(*) FROM search_docs").scalar() == 0
        assert search_index.integrity_ok(conn)
