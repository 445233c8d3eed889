"""The local database: pragmas, the change log as outbox and audit, tombstones."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, text

from touchpoint.errors import ValidationErrors
from touchpoint.services import customers
from touchpoint.storage.models import Change, Customer


def test_pragmas_are_durable(ws):
    with ws.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


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
