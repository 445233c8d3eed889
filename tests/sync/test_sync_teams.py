"""Teams on the laptop: each customer's team arrives with it, a merge across teams is
refused before it is made, and a team the rep no longer sees leaves the laptop at the
next sync while the rep's unsent work on it is handed over in a file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop, assert_converged

from touchpoint.errors import ValidationErrors
from touchpoint.hub import accounts
from touchpoint.services import customers, duplicates, interactions, search
from touchpoint.services.sync_conflicts import rejected_changes
from touchpoint.storage import deferred_indexes
from touchpoint.storage.models import CustomerTeam
from touchpoint.sync import check


@pytest.fixture
def crew(hub: HubServer, tmp_path: Path, clock: Clock) -> Iterator[dict[str, Laptop]]:
    hub.add_user("x1@example.com", teams=("east", "west"))
    hub.add_user("e1@example.com", teams=("east",))
    hub.add_user("w2@example.com", teams=("west",))
    laptops = {
        name: Laptop(tmp_path / name, f"{name}@example.com", clock, hub)
        for name in ("x1", "e1", "w2")
    }
    yield laptops
    for laptop in laptops.values():
        laptop.close()


def teams_of(laptop: Laptop) -> dict[str, str]:
    with laptop.ws.read() as s:
        return {t.customer_id: t.team for t in s.query(CustomerTeam)}


def test_a_merge_across_teams_is_refused_before_it_is_made(
    crew: dict[str, Laptop], hub: HubServer
) -> None:
    x1, e1, w2 = crew["x1"], crew["e1"], crew["w2"]
    east = customers.create_customer(e1.ws, {"name": "Dupli Co"}).value.id
    interactions.log_interaction(e1.ws, customer=east, kind="visit", notes="east visit")
    west = customers.create_customer(w2.ws, {"name": "Dupli Co"}).value.id
    for laptop in (e1, w2, x1):
        assert laptop.sync().in_sync
    assert teams_of(x1) == {east: "east", west: "west"}
    assert teams_of(e1) == {east: "east"}

    before = len(x1.outbox())
    with pytest.raises(ValidationErrors, match="team west and Dupli Co to team east"):
        duplicates.merge_records(x1.ws, "customer", west, east)
    assert len(x1.outbox()) == before  # nothing written
    for laptop in (x1, e1, w2):
        assert laptop.sync().in_sync
    assert_converged(hub, x1, e1, w2)


def test_leaving_a_team_removes_its_records_and_hands_over_unsent_work(
    crew: dict[str, Laptop], hub: HubServer
) -> None:
    x1, e1 = crew["x1"], crew["e1"]
    west = customers.create_customer(crew["w2"].ws, {"name": "Westwind AG"}).value.id
    interactions.log_interaction(crew["w2"].ws, customer=west, kind="call", notes="west call")
    east = customers.create_customer(e1.ws, {"name": "Ostwerk GmbH"}).value.id
    for laptop in (crew["w2"], e1, x1):
        assert laptop.sync().in_sync
    assert search.search(x1.ws, "Westwind")

    # Offline, x1 edits the west customer and logs a call; meanwhile x1 leaves west.
    customers.edit_customer(x1.ws, west, {"industry": "wind power"})
    interactions.log_interaction(x1.ws, customer=west, kind="call", notes="promised a quote")
    customers.edit_customer(x1.ws, east, {"industry": "steel"})  # still theirs
    accounts.edit_user(hub.engine, "x1@example.com", remove_teams=["west"])

    result = x1.sync()
    [notice] = result.notices
    assert "You no longer see team west: 1 customer(s)" in notice
    assert not result.in_sync and result.refused == 2  # the two west changes, handed over
    state = x1.state()
    assert {e for (e, _id) in state} == {"customer"}
    assert [v["name"] for v in state.values()] == ["Ostwerk GmbH"]
    assert teams_of(x1) == {east: "east"}
    assert not search.search(x1.ws, "Westwind")  # gone from search too
    assert state[("customer", east)]["industry"] == "steel"  # the east edit went through

    [file] = (x1.ws.paths.data_dir / "handover").glob("*-left-west.json")
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    handed = json.loads(file.read_text(encoding="utf-8"))
    assert handed["teams"] == ["west"]
    kinds = sorted(c["entity"] for c in handed["changes"])
    assert kinds == ["customer", "interaction"]
    assert any(c["fields"].get("notes") == [None, "promised a quote"] for c in handed["changes"])
    reasons = {r.reason for r in rejected_changes(x1.ws)}
    assert reasons == {f"not sent: you no longer see team west; kept in {file}"}

    # Nothing west is pulled again, and east's records keep syncing both ways.
    customers.edit_customer(e1.ws, east, {"notes": "east note"})
    assert e1.sync().in_sync
    again = x1.sync()
    assert again.pulled >= 1 and again.notices == ()
    assert {v["name"] for v in x1.state().values()} == {"Ostwerk GmbH"}


def test_an_upgraded_laptop_learns_its_customers_teams_then_can_leave_one(
    crew: dict[str, Laptop], hub: HubServer
) -> None:
    x1 = crew["x1"]
    west = customers.create_customer(crew["w2"].ws, {"name": "Westwind AG"}).value.id
    east = customers.create_customer(crew["e1"].ws, {"name": "Ostwerk GmbH"}).value.id
    for laptop in (crew["w2"], crew["e1"], x1):
        assert laptop.sync().in_sync
    # As a laptop upgraded from a version that kept no teams: none known.
    conn = sqlite3.connect(x1.ws.paths.database)
    with conn:
        conn.execute("DELETE FROM customer_teams")
    conn.close()
    assert teams_of(x1) == {}

    result = x1.sync(check=True)
    assert result.in_sync and result.notices == ()  # nothing differed: nothing to say
    found = check.last_check(x1.ws)
    assert found is not None and found["teams_learnt"] == 2
    assert teams_of(x1) == {west: "west", east: "east"}

    accounts.edit_user(hub.engine, "x1@example.com", remove_teams=["west"])
    [notice] = x1.sync().notices
    assert "You no longer see team west: 1 customer(s)" in notice
    assert [v["name"] for v in x1.state().values()] == ["Ostwerk GmbH"]


def test_leaving_a_team_after_a_stopped_first_sync_builds_the_indexes_it_left_out(
    crew: dict[str, Laptop], hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first sync stopped before its end leaves lookup indexes out, the one under a
    customer's calls among them; deleting a leaving customer looks its children up
    through it, so they are built first (else each delete read every call)."""
    x1 = crew["x1"]
    west = customers.create_customer(crew["w2"].ws, {"name": "Westwind AG"}).value.id
    interactions.log_interaction(crew["w2"].ws, customer=west, kind="call", notes="west call")
    for laptop in (crew["w2"], x1):
        assert laptop.sync().in_sync
    with x1.ws.unit_of_work(origin="remote") as uow:
        assert "ix_interactions_customer_occurred" in deferred_indexes.defer(
            uow.session.connection()
        )
        uow.commit()
    accounts.edit_user(hub.engine, "x1@example.com", remove_teams=["west"])
    # Not at the pull's end, this time: before the customer is deleted.
    monkeypatch.setattr(deferred_indexes, "build_pending", lambda db: None)
    x1.sync()
    with x1.ws.read() as s:
        conn = s.connection()
        assert deferred_indexes.deferred(conn) == []
        plan = " ".join(
            row[-1]
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM interactions WHERE customer_id = ?", (west,)
            )
        )
    assert "ix_interactions_customer_occurred" in plan
    assert ("customer", west) not in x1.state()
