"""The full-text index built beside a load: swapped in, it is exactly the index of the
documents the laptop holds (whatever was inserted, edited or deleted meanwhile, and
through which path); when anything else may have written a document, or a relayed
transaction did not commit, it is left and the backlog's catch-up indexes as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState
from touchpoint.services import customers, search
from touchpoint.storage import search_index, search_side
from touchpoint.storage.search_index import INSERT_DOC
from touchpoint.storage.search_side import SideIndex
from touchpoint.storage.workspace import Workspace

ENTITIES = ("customer", "contact", "interaction", "followup", "deal")


def _rows(start: int, count: int) -> list[tuple[Any, ...]]:
    """INSERT_DOC's rows: documents of every entity (deals have none in an index)."""
    return [
        (
            ENTITIES[i % len(ENTITIES)],
            f"rec-{i:05d}",
            None,
            f"Titel {i} Kranverleih",
            f"Notiz {i}: Lieferung nach Halle {i % 7}, Schwerlast",
        )
        for i in range(start, start + count)
    ]


def _load(ws: Workspace, side: SideIndex) -> None:
    """One relayed transaction: documents by a bulk load (handed over with their ids),
    then an insert, edits and deletes as a normal write makes them (relayed)."""
    with ws.unit_of_work(origin="remote") as uow:
        conn = uow.session.connection()
        with side.relayed(conn):
            with search_index.bulk_insert(conn, background=True, defer=True) as load:
                for start in range(0, 600, 150):
                    load.insert(INSERT_DOC, _rows(start, 150))
                    load.index()
            conn.exec_driver_sql(INSERT_DOC, _rows(900, 1)[0])  # a record's first text
            conn.exec_driver_sql(
                "UPDATE search_docs SET body = 'Zwischenlager Nord' WHERE record_id = 'rec-00012'"
            )
            conn.exec_driver_sql(
                "UPDATE search_docs SET title = 'Umbenannt Logistik' "
                "WHERE record_id IN ('rec-00011', 'rec-00900')"
            )
            conn.exec_driver_sql("DELETE FROM search_docs WHERE record_id = 'rec-00013'")
        uow.commit()


def _sound(ws: Workspace) -> bool:
    with ws.read() as s:
        return search_index.integrity_ok(s.connection())


def _found(ws: Workspace, query: str) -> set[str]:
    return {hit.entity for hit in search.search(ws, query)}


def test_swapped_in_it_is_the_index_of_the_documents_held(ws: Workspace) -> None:
    customers.create_customer(ws, {"name": "Acme Forklift GmbH"})  # present before
    side = SideIndex.start(ws.db)
    assert side is not None
    _load(ws, side)
    assert search.index_backlog(ws) > 0  # the laptop's own indexes waited meanwhile

    assert side.swap()
    assert search.index_backlog(ws) == 0
    assert _sound(ws), "the swapped index does not match its documents"
    assert _found(ws, "Acme") == {"customer"}
    assert _found(ws, "Zwischenlager") == {"interaction"}  # an edit's text
    assert _found(ws, "Umbenannt") == {"customer", "contact"}
    assert _found(ws, "Kranverl") >= {"customer", "contact", "interaction", "followup"}
    with ws.read() as s:
        hits = s.connection().exec_driver_sql(
            "SELECT count(*) FROM search_fts WHERE search_fts MATCH 'Halle'"
        )
        # 240 interactions and follow-ups, less the one deleted and the one edited away.
        assert hits.scalar() == 238
    # The laptop's indexes go on as usual: a new write is found at once.
    customers.create_customer(ws, {"name": "Blue Harbour Ltd"})
    assert _found(ws, "Harbour") == {"customer"}
    assert _sound(ws)


def test_a_transaction_that_did_not_commit_leaves_it_to_the_catch_up(ws: Workspace) -> None:
    side = SideIndex.start(ws.db)
    assert side is not None
    _load(ws, side)
    with ws.unit_of_work(origin="remote") as uow:  # rolled back: the side took its text
        conn = uow.session.connection()
        with side.relayed(conn):
            conn.exec_driver_sql(INSERT_DOC, ("interaction", "gone", None, "Nie", "Phantom"))
    side.abandon()
    assert not side.swap()
    assert search.index_backlog(ws) > 0
    assert search.catch_up_index(ws)
    assert _sound(ws)
    assert _found(ws, "Zwischenlager") == {"interaction"}
    assert not _found(ws, "Phantom")


def test_a_record_written_meanwhile_leaves_it_to_the_catch_up(ws: Workspace) -> None:
    side = SideIndex.start(ws.db)
    assert side is not None
    _load(ws, side)
    # Typed while the pull loads: through another connection, so never relayed.
    customers.create_customer(ws, {"name": "Blue Harbour Ltd"})
    assert not side.swap()
    assert search.catch_up_index(ws)
    assert _sound(ws)
    assert _found(ws, "Harbour") == {"customer"}
    assert _found(ws, "Umbenannt") == {"customer", "contact"}


def test_a_document_it_was_not_told_of_leaves_it_to_the_catch_up(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    side = SideIndex.start(ws.db)
    assert side is not None
    real = SideIndex.documents
    monkeypatch.setattr(  # one batch of the load lost on its way
        SideIndex, "documents", lambda self, first, rows: first > 150 and real(self, first, rows)
    )
    _load(ws, side)
    assert not side.swap()
    assert search.catch_up_index(ws)
    assert _sound(ws)


def test_built_beside_an_encrypted_database(data_dir: Path) -> None:
    pytest.importorskip("sqlcipher3")
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(data_dir), "encryption", "enable"],
        obj=CliState(auto_backup=False),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    ws = Workspace.open(data_dir, auto_backup=False)
    try:
        assert ws.db.key is not None
        side = SideIndex.start(ws.db)
        assert side is not None
        with_memory = side._dbapi.execute("PRAGMA database_list").fetchall()
        assert [(name, file) for _seq, name, file in with_memory][-1] == (search_side.SIDE, "")
        _load(ws, side)
        assert side.swap()
        assert _sound(ws)
        assert _found(ws, "Zwischenlager") == {"interaction"}
    finally:
        ws.close()


def test_a_swap_that_fails_leaves_the_laptop_s_indexes_to_the_catch_up(ws: Workspace) -> None:
    side = SideIndex.start(ws.db)
    assert side is not None
    _load(ws, side)
    with ws.unit_of_work() as uow:  # another writer holds the file past the side's patience
        uow.session.connection().exec_driver_sql("PRAGMA user_version")
        side._dbapi.execute("PRAGMA busy_timeout = 50")
        assert not side.swap()
    assert search.index_backlog(ws) > 0
    assert search.catch_up_index(ws)
    assert _sound(ws)
    assert _found(ws, "Zwischenlager") == {"interaction"}
