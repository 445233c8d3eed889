"""Anti-entropy: a laptop whose tables were damaged behind the app's back finds out at
its next check and is repaired from the Hub, without touching its outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harness import Clock, HubServer, Laptop, assert_converged

from touchpoint.services import customers, interactions
from touchpoint.sync import check


def damage(laptop: Laptop, *statements: str) -> None:
    """Straight into the file, as a disk error or a hand with a SQL tool would."""
    conn = sqlite3.connect(laptop.ws.paths.database)
    with conn:
        for sql in statements:
            conn.execute(sql)
    conn.close()


def test_a_damaged_table_is_found_and_repaired_from_the_hub(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    kept = customers.create_customer(ana.ws, {"name": "Kept GmbH", "industry": "tools"}).value.id
    lost = customers.create_customer(ana.ws, {"name": "Lost AG"}).value.id
    interactions.log_interaction(ana.ws, customer=kept, kind="call", notes="fine")
    assert ana.sync().in_sync
    first = ben.sync()
    assert first.in_sync and first.repaired == 0  # a copy just pulled is not checked
    assert check.local_digest(ben.ws)["customer"][0] == 2

    damage(
        ben,
        f"UPDATE customers SET industry = 'garbled' WHERE id = '{kept}'",
        f"DELETE FROM customers WHERE id = '{lost}'",
        "INSERT INTO customers (id, created_at, created_by, updated_at, updated_by, name, kind,"
        " status, addresses, phones, emails, tags, custom, currency) VALUES"
        " ('00000000-0000-7000-8000-000000000001', '2026-01-01T00:00:00.000000Z', 'x',"
        " '2026-01-01T00:00:00.000000Z', 'x', 'Ghost', 'organisation', 'active',"
        " '[]', '[]', '[]', '[]', '{}', 'EUR')",
    )
    # Ben types something meanwhile: it is sent, never touched by the repair.
    customers.create_customer(ben.ws, {"name": "Ben's New Lead"})
    clock.advance(hours=1)
    assert ben.sync().repaired == 0  # not due yet (a day after the last check)
    result = ben.sync(check=True)
    assert result.in_sync and result.repaired == 3  # one fixed, one back, one removed
    [notice] = result.notices
    assert "differed from the Hub's (customer)" in notice
    assert_converged(hub, ana, ben)
    assert {v["name"] for (e, _), v in ben.state().items() if e == "customer"} == {
        "Kept GmbH",
        "Lost AG",
        "Ben's New Lead",
    }
    found = check.last_check(ben.ws)
    assert found is not None and found["differed"] == ["customer"] and found["removed"] == 1

    # A day on, the check runs by itself, and finds nothing.
    clock.advance(days=1, minutes=1)
    assert ben.sync().repaired == 0
    again = check.last_check(ben.ws)
    assert again is not None and again["differed"] == [] and again["at"] != found["at"]


def test_the_digest_counts_only_what_the_user_may_see(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com", teams=("north",))
    hub.add_user("sven@example.com", teams=("south",))
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    sven = Laptop(tmp_path / "sven", "sven@example.com", clock, hub)
    customers.create_customer(sven.ws, {"name": "Southern Ltd"})
    customers.create_customer(ana.ws, {"name": "Northern AG"})
    assert sven.sync().in_sync and ana.sync().in_sync
    clock.advance(days=2)
    assert ana.sync().repaired == 0 and sven.sync().repaired == 0
    for laptop in (ana, sven):
        found = check.last_check(laptop.ws)
        # A digest over every team would differ from what each laptop holds.
        assert found is not None and found["differed"] == [] and found["removed"] == 0
    assert [v["name"] for v in ana.state().values()] == ["Northern AG"]
    ana.close()
    sven.close()
