"""The local database: pragmas, the change log as outbox and audit, tombstones."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from contextlib import closing

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from touchpoint.errors import ValidationErrors
from touchpoint.services import customers
from touchpoint.storage.models import Change, Customer
from touchpoint.storage.workspace import Workspace


def keeps_its_promises(ws: Workspace) -> None:
    """What the connections' settings are for, as behaviour (the encrypted database is
    held to the same): a reader never blocks a writer and keeps its snapshot; a second
    writer waits for the first instead of failing; a record naming one that is not
    there is refused; and what is committed is in the file for another connection."""
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, acme.id, {"name": "Anna Vogel"})
    # A reader in the middle of its snapshot: a write commits meanwhile, unseen by it.
    with ws.read() as reader:
        assert reader.scalar(select(Customer.name).where(Customer.id == acme.id)) == "Acme GmbH"
        customers.edit_customer(ws, acme.id, {"name": "Acme Robotics GmbH"})
        assert reader.scalar(select(Customer.name).where(Customer.id == acme.id)) == "Acme GmbH"
    # A second writer while the first holds the write lock waits for it, then writes.
    first = ws.unit_of_work()
    first.__enter__()
    first.session.connection()  # BEGIN IMMEDIATE: the write lock is held from here
    second: list[object] = []
    writer = threading.Thread(
        target=lambda: second.append(customers.create_customer(ws, {"name": "Zweite GmbH"}))
    )
    writer.start()
    writer.join(0.2)  # give it time to meet the lock (it passes either way, never fails)
    first.commit()
    first.__exit__(None, None, None)
    writer.join(30)
    assert len(second) == 1, "the second writer failed instead of waiting"
    # A contact's customer cannot go while the contact names it.
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), ws.unit_of_work() as uow:
        uow.session.connection().exec_driver_sql("DELETE FROM customers WHERE id = ?", (acme.id,))
        uow.commit()
    # Committed is on disk: a plain connection of its own reads it from the file.
    if ws.db.key is None:
        with closing(sqlite3.connect(ws.paths.database)) as other:
            names = {n for (n,) in other.execute("SELECT name FROM customers")}
        assert names == {"Acme Robotics GmbH", "Zweite GmbH"}


def test_the_database_keeps_its_promises(ws):
    keeps_its_promises(ws)


def test_commits_are_flushed_to_disk_before_they_return(ws):
    # Durability against a power cut (synchronous=FULL) has no behaviour a test can
    # cause: no test cuts the power. Its setting is all there is to check.
    with ws.read() as session:
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_every_change_is_logged_with_old_and_new_values(ws, clock):
    made = customers.create_customer(ws, {"name": "Acme GmbH", "industry": "Machinery"}).value
    clock.advance(minutes=5)
    customers.edit_customer(ws, made.id, {"industry": "Robotics", "status": "active"})
    with ws.read() as session:
        log = session.scalars(select(Change).order_by(Change.seq)).all()
    assert [c.op for c in log] == ["insert", "update"]
    insert, update = log
    assert insert.fields["name"] == [None, "Acme GmbH"]
    assert insert.fields["status"] == [None, "prospect"]  # defaults travel with the insert
    assert update.fields == {
        "industry": ["Machinery", "Robotics"],
        "status": ["prospect", "active"],
    }
    assert update.author == "maria@example.com"
    assert update.at == clock.current
    assert update.device_id == ws.device_id
    assert insert.seq < update.seq and insert.change_id != update.change_id
    assert all(c.pushed_at is None for c in log)  # the outbox: nothing pushed yet


def test_an_edit_that_changes_nothing_logs_nothing(ws):
    made = customers.create_customer(ws, {"name": "Acme"}).value
    customers.edit_customer(ws, made.id, {"name": "Acme"})
    with ws.read() as session:
        assert session.scalar(select(text("count(*)")).select_from(Change)) == 1


def test_a_failed_write_leaves_no_trace(ws):
    with pytest.raises(ValidationErrors):
        customers.create_customer(ws, {"name": "Acme", "emails": ["not-an-address"]})
    with ws.read() as session:
        assert session.scalars(select(Customer)).all() == []
        assert session.scalars(select(Change)).all() == []


def test_delete_is_a_tombstone_that_can_be_undone(ws):
    made = customers.create_customer(ws, {"name": "Acme"}).value
    customers.delete_customer(ws, made.id)
    with ws.read() as session:
        row = session.get(Customer, made.id)
        assert row is not None and row.deleted_at is not None
        ops = session.scalars(select(Change.op).order_by(Change.seq)).all()
    assert ops == ["insert", "delete"]
    customers.restore_customer(ws, made.id)
    assert customers.get_customer(ws, made.id).name == "Acme"


def test_records_get_uuid_times_and_author(ws, clock):
    made = customers.create_customer(ws, {"name": "Acme"}).value
    assert len(made.id) == 36 and made.id.count("-") == 4
    assert made.created_at == clock.current == made.updated_at
    with ws.read() as session:
        row = session.get(Customer, made.id)
        assert row.created_by == row.updated_by == "maria@example.com"


def test_times_are_stored_as_sortable_utc_text(ws):
    customers.create_customer(ws, {"name": "Acme"})
    conn = sqlite3.connect(ws.paths.database)
    stored = conn.execute("SELECT created_at FROM customers").fetchone()[0]
    conn.close()
    assert stored == "2026-11-18T09:30:00.000000Z"


def test_record_ids_are_time_ordered_version_7_uuids_in_canonical_text() -> None:
    import time
    import uuid

    from touchpoint.storage.models import new_id

    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(5000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    # Made one after another, they sort one after another (as text, as SQLite compares).
    assert ids == sorted(ids)
    for text_id in ids:
        parsed = uuid.UUID(text_id)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text_id
        assert before <= parsed.int >> 80 <= after + 1  # the millisecond it was made
    # The random part is random: every value of its first free nibble turns up.
    assert {text_id[20] for text_id in ids} == set("0123456789abcdef")


def test_ids_made_at_once_are_the_ids_made_one_by_one() -> None:
    """A bulk write's ids (new_ids): unique, in order with those made before and after
    one at a time, version 7 in canonical text, stamped no later than they were made."""
    import time
    import uuid

    from touchpoint.storage.models import new_id, new_ids

    before = time.time_ns() // 1_000_000
    ids = [new_id(), *new_ids(3000), new_id(), *new_ids(1), *new_ids(0), *new_ids(700)]
    after = time.time_ns() // 1_000_000
    assert len(ids) == 3703 and len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for text_id in ids:
        parsed = uuid.UUID(text_id)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text_id
        assert before <= parsed.int >> 80 <= after
    assert {text_id[20] for text_id in ids} == set("0123456789abcdef")
    assert len({text_id[19:] for text_id in ids}) == len(ids)  # no random part twice


def test_ids_stay_in_order_while_the_clock_stands_still(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from touchpoint.storage import models

    monkeypatch.setattr(models, "time", SimpleNamespace(time_ns=lambda: 1_800_000_000_000_000_000))
    ids = [models.new_id(), *models.new_ids(50), models.new_id(), *models.new_ids(2)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_forked_process_makes_ids_of_its_own() -> None:
    """Ids take their random part from bytes read ahead: a forked child (a Hub worker)
    must not reuse the ones its parent will use next."""
    import multiprocessing

    from touchpoint.storage.models import new_id

    new_id()  # the parent has random bytes read ahead
    parent_end, child_end = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=lambda: child_end.send([new_id() for _ in range(3)])
    )
    child.start()
    theirs = parent_end.recv()
    child.join(10)
    ours = [new_id() for _ in range(3)]
    # The random part (after the time and version) differs.
    assert not {i[19:] for i in theirs} & {i[19:] for i in ours}


def test_committed_pages_are_copied_into_the_file_by_a_thread_of_its_own(ws):
    """The committing thread does not copy the WAL into the database file (a big write
    waited for it): the checkpoint thread does, soon after, and stops with the file."""
    import time

    with ws.read() as session:
        assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    before = ws.paths.database.stat().st_size
    # Another test's database may still be closing in this process: only this one's counts.
    others = {t for t in threading.enumerate() if t.name == "touchpoint-checkpoint"}
    with ws.unit_of_work() as uow:
        conn = uow.session.connection()
        conn.exec_driver_sql("CREATE TABLE scratch (x TEXT)")
        conn.exec_driver_sql(  # 4 MB of pages
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)"
            " INSERT INTO scratch SELECT hex(randomblob(500)) FROM n"
        )
        uow.commit()
    deadline = time.monotonic() + 10
    while ws.paths.database.stat().st_size < before + 4_000_000:
        assert time.monotonic() < deadline, "the WAL was not copied into the file"
        time.sleep(0.02)
    mine = {t for t in threading.enumerate() if t.name == "touchpoint-checkpoint"} - others
    assert len(mine) == 1
    if sys.platform == "linux":  # it yields the core to the threads doing the real work
        (thread,) = mine
        here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) > here
    ws.db.dispose()
    assert not any(t.is_alive() for t in mine)
