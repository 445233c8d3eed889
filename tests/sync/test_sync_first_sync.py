"""A new laptop's first sync loads pages in bulk, on the bulk-load thread, and indexes
them for full-text search as it goes: what it holds then is what normal writes would
have made (search documents, full-text index, duplicate keys), whatever was edited
meanwhile, and a kill in the middle of loading a page resumes with no gap and no
duplicate."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from harness import Clock, HubServer, Laptop, assert_converged
from sqlalchemy import event

from gc_probe import frees_cycles_by_itself
from touchpoint.services import customers, interactions, search
from touchpoint.storage import deferred_indexes, search_index
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import applying, credentials, first_sync, pulling, transport
from touchpoint.sync import engine as sync_engine

CLIENT = Path(__file__).with_name("crash_client.py")


def fill(laptop: Laptop, count: int) -> None:
    """Customers with phones and emails, contacts, and calls with notes, as typed."""
    for i in range(count):
        made = customers.create_customer(
            laptop.ws,
            {
                "name": f"Kunde {i} Bau GmbH",
                "phones": [f"030 55{i:05d}"],
                "emails": [f"info{i}@kunde{i}.de"],
                "notes": "Stammkunde seit Jahren",
            },
        )
        cid = made.value.id
        customers.add_contact(
            laptop.ws, cid, {"name": f"Eva Muster {i}", "phones": [f"+49 171 88{i:05d}"]}
        )
        notes = f"Angebot {i} besprochen; Lieferung per Schwerlasttransport"
        if i == count // 2:
            notes += ", Kran wird vom Kunden gestellt: Zwischenlager Nord"
        interactions.log_interaction(
            laptop.ws, customer=cid, kind="call", subject=f"Anruf {i}", notes=notes
        )


def index_rows(laptop: Laptop) -> dict[str, Any]:
    """The search documents and duplicate keys of a laptop, by record (not by row id)."""
    with laptop.ws.read() as s:
        conn = s.connection()
        docs = conn.exec_driver_sql(
            "SELECT entity, record_id, customer_id, title, body FROM search_docs"
        ).all()
        keys = conn.exec_driver_sql(
            "SELECT entity, record_id, kind, value FROM identity_keys"
        ).all()
        settings = [
            dict(
                conn.exec_driver_sql(
                    f"SELECT k, v FROM {t}_config WHERE k IN ('automerge', 'hashsize')"
                ).all()
            )
            for t in search_index.FTS_TABLES
        ]
        sound = search_index.integrity_ok(conn)
    assert len(docs) == len({(d[0], d[1]) for d in docs}), "a record has two documents"
    return {"docs": sorted(docs), "keys": sorted(keys), "settings": settings, "ok": sound}


def indexed_as_typed(hub: HubServer, ana: Laptop, ben: Laptop) -> dict[str, Any]:
    """Ben's pulled records hold the search documents and duplicate keys Ana's typing
    made, in a sound index, and both laptops match the Hub. Ben's index rows."""
    got, typed = index_rows(ben), index_rows(ana)
    assert got["ok"], "the full-text index does not match its documents"
    assert (got["docs"], got["keys"]) == (typed["docs"], typed["keys"])
    assert_converged(hub, ana, ben)
    return got


def ana_with_data_and_ben_new(
    hub: HubServer, tmp_path: Path, clock: Clock, count: int
) -> tuple[Laptop, Laptop]:
    """Ana's laptop with ``count`` customers (each with a contact and a call) on the Hub,
    and Ben's, new, signed in to the same team and not yet synced."""
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    fill(ana, count)
    assert ana.sync().in_sync
    return ana, Laptop(tmp_path / "ben", "ben@example.com", clock, hub)


def indexes(ws: Workspace) -> tuple[list[str], list[str]]:
    """(the indexes in the file, those noted as left out by a first sync)."""
    with ws.read() as s:
        conn = s.connection()
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).scalars()
        return list(names), deferred_indexes.deferred(conn)


def found(laptop: Laptop, query: str) -> set[str]:
    return {hit.entity for hit in search.search(laptop.ws, query)}


def test_a_first_sync_in_bulk_indexes_as_typing_would(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 30)
    # Pages of 50 are big here: three to a transaction, each loaded on the bulk-load
    # thread in batches of 7 new records.
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 7)
    monkeypatch.setattr(pulling, "BIG_PAGE", 20)
    monkeypatch.setattr(pulling, "BULK_TRANSACTION", 150)
    built: list[list[str]] = []
    real_build = deferred_indexes.build
    monkeypatch.setattr(
        deferred_indexes, "build", lambda conn: built.append(real_build(conn)) or built[-1]
    )
    collecting: list[bool] = []
    real_insert = first_sync.insert_fresh
    monkeypatch.setattr(
        first_sync,
        "insert_fresh",
        lambda *a: collecting.append(frees_cycles_by_itself()) or real_insert(*a),
    )
    synchronous: list[int] = []  # at each commit
    event.listen(
        ben.ws.db.engine,
        "commit",
        lambda conn: synchronous.append(
            conn.connection.driver_connection.execute("PRAGMA synchronous").fetchone()[0]
        ),
    )
    assert frees_cycles_by_itself()
    assert ben.sync(page_size=50).in_sync
    # Its big pages committed without waiting for the disk (NORMAL), the index builds
    # after them with it (FULL), which syncs the log with theirs.
    assert 1 in synchronous and synchronous[-1] == 2
    # Garbage cycles waited while it loaded (the collector paused), and go again after.
    assert collecting and not any(collecting)
    assert frees_cycles_by_itself()
    # Its lookup indexes were left out while it loaded, and built when the pull ended.
    assert built == [sorted(deferred_indexes.DEFERRABLE)]
    assert indexes(ben.ws) == (indexes(ana.ws)[0], [])

    # Indexed for full-text search as it loaded: nothing waits for a catch-up.
    assert search.index_backlog(ben.ws) == 0
    assert found(ben, "Zwischenlager") == {"interaction"}
    assert found(ben, "Schwerlast") == {"interaction"}  # a prefix of a note's word
    assert "customer" in found(ben, "Kunde 17")
    assert "contact" in found(ben, "Muster 3")
    got = indexed_as_typed(hub, ana, ben)
    # No bulk setting left: each index merges and writes out as usual again.
    assert all(
        settings.get(key, usual) == usual
        for settings in got["settings"]
        for key, usual in search_index.USUAL_SETTINGS.items()
    )
    held = [ben.ws.db.engine.connect() for _ in range(3)]
    for conn in held:  # and the pooled connections their usual page cache and syncing
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() != pulling.BULK_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        conn.close()
    ana.close()
    ben.close()


def test_a_big_transaction_failing_before_its_first_page_is_applied_carefully_once(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure as a transaction of big pages begins (here its settings, every time)
    sends at least its first page to the careful path, which applies it change by
    change: once it went back to the same cursor and failed the same way forever."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 10)
    monkeypatch.setattr(pulling, "BIG_PAGE", 5)
    tries: list[int] = []

    @contextmanager
    def failing(*_args: Any, **_kwargs: Any) -> Iterator[None]:
        tries.append(1)
        if len(tries) > 5:
            raise RuntimeError("the same stretch failed again and again")
        raise sqlite3.OperationalError("disk I/O error")
        yield

    monkeypatch.setattr(pulling, "_bulk_pragmas", failing)
    assert ben.sync(page_size=10).in_sync  # each try took a page on, carefully
    assert_converged(hub, ana, ben)
    assert "customer" in found(ben, "Kunde 7")
    ana.close()
    ben.close()


def test_a_first_sync_cancelled_while_loading_turns_the_collector_back_on(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 10)
    monkeypatch.setattr(pulling, "BIG_PAGE", 5)
    cancel = threading.Event()
    paused: list[bool] = []

    def stop_after_first_page(progress: sync_engine.SyncProgress) -> None:
        paused.append(not frees_cycles_by_itself())
        cancel.set()

    assert frees_cycles_by_itself()
    result = ben.sync(page_size=10, progress=stop_after_first_page, cancel=cancel)
    assert result.status == "cancelled"
    assert paused[:1] == [True]
    assert frees_cycles_by_itself()
    # The next sync goes on from the page it applied.
    assert ben.sync(page_size=10).in_sync
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()


def test_a_big_pull_leaves_no_page_for_the_collector_to_free(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the collector paused, whatever a pull leaves in a reference cycle stays until
    the pull ends: no page's bytes may be among it (a first sync's would add up to GBs)."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 20)
    monkeypatch.setattr(pulling, "BIG_PAGE", 10)
    gc.collect()
    gc.disable()
    try:
        assert ben.sync(page_size=20).in_sync
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        pages = [
            held
            for cycle in gc.garbage
            for held in gc.get_referents(cycle)
            if isinstance(held, bytes) and b'"changes"' in held
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert pages == []
    ana.close()
    ben.close()


def test_records_edited_or_deleted_before_their_indexing_are_indexed_as_they_are_then(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 12)
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 7)
    assert ben.sync().in_sync
    assert search.index_backlog(ben.ws) > 0
    # Work goes on before the index has caught up: a rename, a deleted call, a new note.
    with ben.ws.read() as s:
        conn = s.connection()
        customer_id = conn.exec_driver_sql(
            "SELECT id FROM customers WHERE name = 'Kunde 3 Bau GmbH'"
        ).scalar()
        call_id = conn.exec_driver_sql(
            "SELECT id FROM interactions WHERE notes LIKE '%Zwischenlager%'"
        ).scalar()
    customers.edit_customer(ben.ws, customer_id, {"name": "Umbenannt Logistik"})
    interactions.delete_interaction(ana.ws, call_id)  # hers to delete: it comes in a pull
    assert ana.sync().in_sync and ben.sync().in_sync
    interactions.log_interaction(
        ben.ws, customer=customer_id, kind="visit", notes="Besuch am Hochregallager"
    )
    # Stopped halfway (the window closed), then finished at the next start.
    cancel = threading.Event()
    assert not search.catch_up_index(
        ben.ws, progress=lambda d, t: cancel.set(), cancel=cancel, documents=5
    )
    assert search.index_backlog(ben.ws) > 0
    assert search.catch_up_index(ben.ws, documents=5)

    assert found(ben, "Umbenannt") == {"customer"}
    assert found(ben, "Zwischenlager") == set()
    assert found(ben, "Hochregallager") == {"interaction"}
    assert index_rows(ben)["ok"], "the full-text index does not match its documents"
    ana.close()
    ben.close()


def run_client(laptop: Laptop, point: str, count: int) -> subprocess.CompletedProcess[str]:
    token = credentials.load_token(laptop.hub.url, laptop.email)
    assert token
    return subprocess.run(
        [sys.executable, str(CLIENT), str(laptop.root), token, point, str(count), "5,10,25"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_killed_while_loading_a_page_in_bulk_resumes_with_no_gap_and_no_duplicate(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    # Killed in the first transaction (nothing kept), then in the second (the first kept).
    kill_first_sync(hub, tmp_path, clock, counts=(3, 7), min_kills=2)


@pytest.mark.slow
def test_killed_many_times_while_loading_pages_in_bulk_resumes_with_no_gap_and_no_duplicate(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    kill_first_sync(hub, tmp_path, clock, counts=(2, 3, 6, 9, 12, 16, 20), min_kills=3)


def kill_first_sync(
    hub: HubServer, tmp_path: Path, clock: Clock, *, counts: tuple[int, ...], min_kills: int
) -> None:
    """Ben's first sync in its own process, killed at the ``counts``-th chunk its bulk
    load inserts, run after run; then let finish: it holds what Ana typed, indexed."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 15)
    # Pages of 25 changes, big here (one to a transaction), loaded in chunks of
    # 5: killed while the bulk-load thread writes, a little further on each time.
    kills = 0
    reopened = False
    for count in counts:
        done = run_client(ben, "inserting", count)
        if done.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert done.returncode == 0, done.stdout + done.stderr
        names, left_out = indexes(ben.ws)
        if left_out:
            # Killed after its first transaction, with its lookup indexes left out:
            # they are noted, and the next opening builds them (the syncs after it
            # resume with them in place).
            assert sorted(left_out) == sorted(deferred_indexes.DEFERRABLE)
            assert not set(left_out) & set(names)
            Workspace.open(ben.root, auto_backup=False).close()
            assert indexes(ben.ws) == (indexes(ana.ws)[0], [])
            reopened = True
    assert kills >= min_kills, "the bulk path was not reached"
    assert reopened, "no kill left indexes out"
    final = run_client(ben, "none", 1)
    assert final.returncode == 0, final.stdout + final.stderr
    assert indexes(ben.ws) == (indexes(ana.ws)[0], [])

    assert search.catch_up_index(ben.ws)
    assert found(ben, "Zwischenlager") == {"interaction"}
    got = index_rows(ben)
    assert got["ok"], "the full-text index does not match its documents"
    typed = index_rows(ana)
    assert (got["docs"], got["keys"]) == (typed["docs"], typed["keys"])
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()


def looked_up_pages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the pulled pages that looked their records up in the database."""
    sizes: list[int] = []
    real = applying._held_ids
    monkeypatch.setattr(
        applying, "_held_ids", lambda conn, rows: sizes.append(len(rows)) or real(conn, rows)
    )
    return sizes


def test_a_first_sync_streams_pages_of_new_records_and_applies_edits_in_their_turn(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages that only insert records new here stream through one bulk load without a
    look at the database; a page with an edit of a record loaded a page or two before
    waits for it to be written, then edits it."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 30)
    with ana.ws.read() as s:
        ids = s.connection().exec_driver_sql("SELECT id FROM customers ORDER BY name").scalars()
        first, second = list(ids)[:2]
    customers.edit_customer(ana.ws, first, {"name": "Umbenannt Logistik"})
    fill(ana, 8)  # more new records after the edit
    customers.edit_customer(ana.ws, second, {"notes": "Zahlt immer pünktlich"})
    interactions.log_interaction(ana.ws, customer=second, kind="call", notes="Nachgefragt")
    assert ana.sync().in_sync
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 7)
    monkeypatch.setattr(pulling, "BIG_PAGE", 10)
    monkeypatch.setattr(pulling, "BULK_TRANSACTION", 100)
    looked_up = looked_up_pages(monkeypatch)

    assert ben.sync(page_size=20).in_sync
    # 90 + 24 + 1 insertions and 2 edits: 6 pages only insert, the page of each edit looks.
    assert len(looked_up) == 2
    with ben.ws.read() as s:  # each customer's Hub team, written in the stream's turn
        teams = s.connection().exec_driver_sql("SELECT team FROM customer_teams").scalars()
        assert list(teams) == ["north"] * 38
    assert search.catch_up_index(ben.ws)
    assert found(ben, "Umbenannt") == {"customer"}
    assert found(ben, "pünktlich") == {"customer"}
    indexed_as_typed(hub, ana, ben)
    ana.close()
    ben.close()


def test_a_first_sync_given_one_record_twice_as_new_still_applies_every_change(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page inserting a record an earlier page inserted (a Hub's log should not, but
    a pulled page is input like any other): the write fails on the record's key, and
    the stretch is applied again change by change, the second insert as an edit."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 30)
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 7)
    monkeypatch.setattr(pulling, "BIG_PAGE", 10)
    monkeypatch.setattr(pulling, "BULK_TRANSACTION", 100)
    replayed: list[dict[str, Any]] = []
    real_parse = transport.PullPage.parse.__func__  # type: ignore[attr-defined]

    def parse(
        cls: type[transport.PullPage], content: bytes, *, lines: bool = False
    ) -> transport.PullPage:
        page = real_parse(cls, content, lines=lines)
        if not replayed:
            insert = next(c for c in page.changes if c["entity"] == "customer")
            replayed.append({**insert, "fields": {**insert["fields"], "notes": "Noch einmal"}})
        elif page.changes and page.changes[0]["server_seq"] == 41:
            page.changes.append(replayed[0])  # two pages after its first insert
            replayed.append(page.changes[0])
        return page

    monkeypatch.setattr(transport.PullPage, "parse", classmethod(parse))
    result = ben.sync(page_size=20)
    # The page was read twice: applied in bulk, then again change by change.
    assert result.in_sync and len(replayed) >= 2
    with ben.ws.read() as s:
        conn = s.connection()
        notes = conn.exec_driver_sql(
            "SELECT notes FROM customers WHERE id = ?", (replayed[0]["record_id"],)
        ).scalar()
        set_aside = conn.exec_driver_sql("SELECT count(*) FROM sync_set_aside").scalar()
    assert notes == "Noch einmal"
    assert set_aside == 0
    assert ben.state().keys() == ana.state().keys()
    ana.close()
    ben.close()


@pytest.mark.skipif(sys.platform != "linux", reason="niceness per thread: Linux")
def test_the_page_fetched_ahead_is_fetched_at_a_lower_priority_than_the_load(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next page is read on a thread that yields the core to the sync and its bulk
    load; the sync's own thread keeps its priority."""
    ana, ben = ana_with_data_and_ben_new(hub, tmp_path, clock, 12)
    monkeypatch.setattr(pulling, "BIG_PAGE", 10)
    priorities: list[tuple[bool, int]] = []
    pull = transport.HubClient.pull

    def noting(self: transport.HubClient, after: int, limit: int) -> transport.PullPage:
        me = threading.get_native_id()
        priorities.append((me == sync_thread, os.getpriority(os.PRIO_PROCESS, me)))
        return pull(self, after, limit)

    monkeypatch.setattr(transport.HubClient, "pull", noting)
    sync_thread = threading.get_native_id()
    mine = os.getpriority(os.PRIO_PROCESS, sync_thread)

    assert ben.sync(page_size=10).in_sync
    ahead = [nice for on_sync_thread, nice in priorities if not on_sync_thread]
    assert len(ahead) >= 3  # 36 records in pages of 10, each after the first read ahead
    assert all(nice > mine for nice in ahead)
    assert os.getpriority(os.PRIO_PROCESS, sync_thread) == mine
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()
