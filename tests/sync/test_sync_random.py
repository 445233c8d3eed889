"""Three reps and a manager, random edits, syncs at random points and random faults.

At the end, after everyone has synced, every laptop equals the Hub, every outbox is
empty and every change made is on the Hub exactly once.
"""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from pathlib import Path

import pytest
from harness import (
    Clock,
    FaultTransport,
    HubServer,
    Laptop,
    all_change_ids,
    assert_converged,
    hub_change_count,
)
from sqlalchemy import select

from touchpoint.errors import TouchpointError
from touchpoint.services import customers, duplicates, followups, interactions
from touchpoint.storage.models import Contact, Customer, FollowUp, Interaction

FAULTS = ["drop_request", "drop_answer", "duplicate", "timeout", "5xx", "503_after", "delay"]
WORDS = ["roofing", "retail", "logistics", "dairy", "tools", "print", "solar"]


def _ids(laptop: Laptop, model: type, **where: object) -> list[str]:
    with laptop.ws.read() as s:
        query = select(model.id).where(model.deleted_at.is_(None))
        if hasattr(model, "merged_into_id"):
            query = query.where(model.merged_into_id.is_(None))
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return sorted(s.scalars(query))


def random_op(laptop: Laptop, rng: random.Random) -> None:
    ws = laptop.ws
    live = _ids(laptop, Customer)
    roll = rng.random()
    if not live or roll < 0.15:
        customers.create_customer(ws, {"name": f"Kunde {rng.randint(1, 10**6)}"})
    elif roll < 0.45:
        field = rng.choice(["industry", "segment", "notes", "territory"])
        customers.edit_customer(ws, rng.choice(live), {field: rng.choice(WORDS)})
    elif roll < 0.52:
        customers.delete_customer(ws, rng.choice(live))
    elif roll < 0.62:
        customers.add_contact(ws, rng.choice(live), {"name": f"Person {rng.randint(1, 999)}"})
    elif roll < 0.68:
        people = _ids(laptop, Contact)
        if people:
            customers.edit_contact(ws, rng.choice(people), {"title": rng.choice(WORDS)})
    elif roll < 0.80:
        interactions.log_interaction(
            ws,
            customer=rng.choice(live),
            kind=rng.choice(["call", "visit", "email"]),
            subject=rng.choice(WORDS),
            followups=[interactions.FollowUpInput(title="call back", due="+3d")]
            if rng.random() < 0.5
            else [],
        )
    elif roll < 0.85:
        mine = _ids(laptop, Interaction, created_by=laptop.email)
        if mine:
            interactions.edit_interaction(ws, rng.choice(mine), {"notes": rng.choice(WORDS)})
    elif roll < 0.93:
        open_ones = _ids(laptop, FollowUp, status="open")
        if open_ones:
            fid = rng.choice(open_ones)
            if rng.random() < 0.5:
                followups.complete_followup(ws, fid)
            else:
                followups.reschedule_followup(ws, fid, f"+{rng.randint(1, 9)}d")
    elif len(live) >= 2:
        keep, other = rng.sample(live, 2)
        duplicates.merge_records(ws, "customer", keep, other)


def run_scenario(hub: HubServer, tmp_path: Path, clock: Clock, ops: int, seed: int) -> None:
    rng = random.Random(seed)
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    hub.add_user("cem@example.com")
    hub.add_user("max@example.com", "manager", ("north", "south"))
    laptops = []
    for email in ("ana@example.com", "ben@example.com", "cem@example.com", "max@example.com"):
        skew = timedelta(minutes=rng.randint(-180, 180))
        own = Clock(clock.current + skew)
        laptops.append(Laptop(tmp_path / email, email, own, hub, transport=FaultTransport()))
    clocks = {id(lt): lt.ws.clock for lt in laptops}
    for _ in range(ops):
        laptop = rng.choice(laptops)
        for other in laptops:
            clocks[id(other)].advance(seconds=rng.randint(1, 90))  # type: ignore[attr-defined]
        if rng.random() < 0.2:
            transport = laptop.transport
            assert isinstance(transport, FaultTransport)
            if rng.random() < 0.4:
                transport.add(rng.choice(["/v1/push", "/v1/pull"]), rng.choice(FAULTS))
            laptop.sync(attempts=3)
            continue
        # A record another laptop deleted or merged meanwhile, say: refused, nothing written.
        with contextlib.suppress(TouchpointError):
            random_op(laptop, rng)
    for _ in range(2):
        for laptop in laptops:
            assert laptop.sync().in_sync
    counts = hub_change_count(hub)
    assert set(counts.values()) == {1}
    assert set(counts) == all_change_ids(*laptops)
    assert_converged(hub, *laptops)
    states = [lt.state() for lt in laptops]
    assert all(s == states[0] for s in states)  # one team: every laptop holds the same
    for laptop in laptops:
        laptop.close()


def test_a_short_random_run_converges(hub: HubServer, tmp_path: Path, clock: Clock) -> None:
    run_scenario(hub, tmp_path, clock, ops=60, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_syncs_and_faults_converge(
    hub: HubServer, tmp_path: Path, clock: Clock, seed: int
) -> None:
    run_scenario(hub, tmp_path, clock, ops=200, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [10, 11])
def test_random_long_runs_converge(hub: HubServer, tmp_path: Path, clock: Clock, seed: int) -> None:
    run_scenario(hub, tmp_path, clock, ops=500, seed=seed)
