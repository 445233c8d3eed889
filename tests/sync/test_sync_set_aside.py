"""One bad record never blocks a pull: what a laptop cannot apply is set aside with its
reason, the pull moves on, and it applies later if it can. The bad records are written
straight into a real Hub's log, as an older Hub (before its door checked them) or a
broken tool could have left them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from harness import HubServer, Laptop, assert_converged
from sqlalchemy import insert, select, update

from touchpoint.hub.db import changes, counter, records
from touchpoint.services import customers, interactions, maintenance
from touchpoint.storage.models import Customer, Interaction
from touchpoint.sync import pulling
from touchpoint.sync.attention import set_aside_changes, set_aside_count

STAMP = "2026-11-18T09:30:00.000000Z"


def append(
    hub: HubServer, entity: str, record_id: str, fields: dict[str, Any], op: str = "insert"
) -> int:
    """One change written into the Hub's log as it is, team north; a new record's
    values also into its records (an update is written to the log alone)."""
    bookkeeping = {
        "created_at": STAMP,
        "created_by": "tool@example.com",
        "updated_at": STAMP,
        "updated_by": "tool@example.com",
    }
    data = {**bookkeeping, **fields} if op == "insert" else fields
    with hub.engine.begin() as conn:
        seq = int(
            conn.execute(
                update(counter)
                .where(counter.c.id == 1)
                .values(value=counter.c.value + 1)
                .returning(counter.c.value)
            ).scalar_one()
        )
        conn.execute(
            insert(changes).values(
                server_seq=seq,
                change_id=str(uuid.uuid4()),
                device_id="hub",
                user_id=None,
                entity=entity,
                record_id=record_id,
                team="north",
                op=op,
                fields=data,
                at=STAMP,
                corrected_at=STAMP,
                author="tool@example.com",
                received_at=STAMP,
            )
        )
        held = conn.execute(
            select(records.c.data).where(
                records.c.entity == entity, records.c.record_id == record_id
            )
        ).first()
        if held is None and op == "insert":
            conn.execute(
                insert(records).values(
                    entity=entity, record_id=record_id, team="north", data=data, versions={}
                )
            )
    return seq


def customer_fields(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "organisation",
        "status": "active",
        "currency": "EUR",
        "addresses": [],
        "phones": [],
        "emails": [],
        "tags": [],
        "custom": {},
    }


def visit_fields(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": "visit",
        "occurred_at": STAMP,
        "rep": "tool@example.com",
        "contact_ids": [],
        "notes": "met the buyer",
    }


def test_bad_records_in_the_log_are_set_aside_and_the_rest_applies(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = team
    good = customers.create_customer(ana.ws, {"name": "Good GmbH"}).value.id
    assert ana.sync().in_sync
    try:
        append(hub, "customer", str(uuid.uuid4()), customer_fields("Evil\ud800Corp"))
    except Exception as exc:  # PostgreSQL's json type refuses it at the door already
        pytest.skip(f"this database refuses a lone surrogate itself: {exc.__class__.__name__}")
    orphan = str(uuid.uuid4())
    append(hub, "interaction", orphan, visit_fields(str(uuid.uuid4())))  # no such customer
    after = customers.create_customer(ana.ws, {"name": "After GmbH"}).value.id
    interactions.log_interaction(ana.ws, customer=after, kind="call", notes="later work")
    assert ana.sync().status == "done"

    result = ben.sync()
    assert result.status == "done" and result.in_sync  # nothing of Ben's waits
    assert result.set_aside == 2
    with ben.ws.read() as s:
        assert {c.name for c in s.scalars(select(Customer))} == {"Good GmbH", "After GmbH"}
        assert s.scalar(select(Interaction.notes)) == "later work"
    reasons = {c.entity: c for c in set_aside_changes(ben.ws)}
    assert "lone surrogate" in reasons["customer"].reason and not reasons["customer"].will_retry
    assert "is not on this laptop" in reasons["interaction"].reason
    assert reasons["interaction"].will_retry
    report = maintenance.status(ben.ws)
    assert report.set_aside_changes == 2
    assert any("set aside: interaction" in line for line in report.attention)

    # The pull position moved on: the next sync pulls only what is new.
    customers.edit_customer(ana.ws, good, {"industry": "roofing"})
    ana.sync()
    again = ben.sync()
    assert again.in_sync and again.pulled == 1 and again.set_aside == 2
    with ben.ws.read() as s:
        assert s.get(Customer, good).industry == "roofing"


def test_a_set_aside_child_applies_once_its_parent_arrives(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = team
    parent = str(uuid.uuid4())
    child = str(uuid.uuid4())
    append(hub, "interaction", child, visit_fields(parent))  # the child first
    first = ben.sync()
    assert first.set_aside == 1
    append(hub, "customer", parent, customer_fields("Late Parent AG"))
    second = ben.sync()
    assert second.set_aside == 0 and second.in_sync
    with ben.ws.read() as s:
        assert s.get(Interaction, child).customer_id == parent
    assert ana.sync().in_sync
    assert_converged(hub, ana, ben)


def test_later_changes_of_a_held_back_record_wait_behind_it(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    _ana, ben = team
    parent, child = str(uuid.uuid4()), str(uuid.uuid4())
    append(hub, "interaction", child, visit_fields(parent))
    assert ben.sync().set_aside == 1
    # A later edit of the same interaction: it must not apply before the first change.
    append(hub, "interaction", child, {"notes": "corrected notes", "updated_at": STAMP}, "update")
    assert ben.sync().set_aside == 2
    append(hub, "customer", parent, customer_fields("Parent AG"))
    assert ben.sync().set_aside == 0
    with ben.ws.read() as s:
        assert s.get(Interaction, child).notes == "corrected notes"
    assert set_aside_count(ben.ws) == 0


def test_a_malformed_change_inside_a_first_syncs_big_transaction_is_set_aside(
    team: tuple[Laptop, Laptop], hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page the Hub sends with a change this laptop cannot read (here its fields are a
    list) arrives while a first sync applies big pages several to a transaction: that
    page waits for a transaction of its own and is applied change by change, so only
    the bad change is set aside."""
    ana, ben = team
    for n in range(12):
        customers.create_customer(ana.ws, {"name": f"Kunde {n}"})
    assert ana.sync().in_sync
    bad = str(uuid.uuid4())
    append(hub, "customer", bad, customer_fields("Broken GmbH"))
    with hub.engine.begin() as conn:  # as a broken tool could have left it
        conn.execute(update(changes).where(changes.c.record_id == bad).values(fields=[]))
    customers.create_customer(ana.ws, {"name": "After GmbH"})
    assert ana.sync().in_sync
    monkeypatch.setattr(pulling, "BIG_PAGE", 3)

    result = ben.sync(page_size=4)  # pages of 4: the bad change is in the fourth
    assert result.status == "done" and result.in_sync
    assert result.set_aside == 1
    with ben.ws.read() as s:
        names = {c.name for c in s.scalars(select(Customer))}
    assert names == {f"Kunde {n}" for n in range(12)} | {"After GmbH"}
    (aside,) = set_aside_changes(ben.ws)
    assert aside.record_id == bad
