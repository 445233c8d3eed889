"""Deletes never hide work, and an edit's time survives a clock change: two or more
laptops against a real Hub, in both upload orders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop, assert_converged

from touchpoint.services import customers, interactions
from touchpoint.services.sync_conflicts import list_conflicts, restore_conflict
from touchpoint.storage.models import Customer


@pytest.fixture
def team(hub: HubServer, tmp_path: Path, clock: Clock) -> Iterator[tuple[Laptop, Laptop, Clock]]:
    hub.add_user("tom@example.com")
    hub.add_user("ben@example.com")
    ben_clock = Clock(clock.current)  # Ben's own, to set wrong
    tom = Laptop(tmp_path / "tom", "tom@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", ben_clock, hub)
    yield tom, ben, ben_clock
    tom.close()
    ben.close()


def shared(tom: Laptop, ben: Laptop, name: str = "Acme") -> str:
    cid = customers.create_customer(tom.ws, {"name": name}).value.id
    assert tom.sync().in_sync and ben.sync().in_sync
    return cid


def deleted(laptop: Laptop, cid: str) -> bool:
    with laptop.ws.read() as s:
        return s.get(Customer, cid).deleted_at is not None


@pytest.mark.parametrize("first", ["work", "delete"])
def test_a_delete_racing_a_visit_is_a_conflict_both_see(
    team: tuple[Laptop, Laptop, Clock], hub: HubServer, first: str
) -> None:
    tom, ben, _ = team
    cid = shared(tom, ben)
    # Offline, apart: Ben logs a visit and edits Acme; Tom deletes Acme.
    interactions.log_interaction(ben.ws, customer=cid, kind="visit", notes="big order coming")
    customers.edit_customer(ben.ws, cid, {"industry": "logistics"})
    customers.delete_customer(tom.ws, cid)
    order = (ben, tom) if first == "work" else (tom, ben)
    for laptop in (*order, *order):
        laptop.sync()
    # Tom's delete stands on every laptop ...
    assert deleted(tom, cid) and deleted(ben, cid)
    # ... and Ben is told, in words, on his laptop; Tom sees it too.
    [mine] = [c for c in list_conflicts(ben.ws) if c.field == "deleted_at"]
    assert mine.words is not None
    assert mine.words.sentence == "Acme was deleted by tom@example.com while you logged a visit"
    assert any(c.field == "deleted_at" for c in list_conflicts(tom.ws))
    assert_converged(hub, tom, ben)

    # Restoring it brings Acme back everywhere, the visit with it.
    restore_conflict(ben.ws, mine.id)
    assert ben.sync().in_sync and tom.sync().in_sync
    assert not deleted(tom, cid)
    assert any(
        v.get("notes") == "big order coming"
        for (e, _), v in tom.state().items()
        if e == "interaction"
    )
    assert_converged(hub, tom, ben)


def test_a_delete_after_seeing_the_work_is_no_conflict(
    team: tuple[Laptop, Laptop, Clock], hub: HubServer
) -> None:
    tom, ben, _ = team
    cid = shared(tom, ben)
    interactions.log_interaction(ben.ws, customer=cid, kind="call", notes="no interest")
    assert ben.sync().in_sync and tom.sync().in_sync  # Tom has seen the call
    customers.delete_customer(tom.ws, cid)
    assert tom.sync().in_sync and ben.sync().in_sync
    assert [c for c in list_conflicts(ben.ws) if c.field == "deleted_at"] == []
    assert_converged(hub, tom, ben)


def test_an_open_follow_up_under_a_deleted_customer_is_never_unseen(
    team: tuple[Laptop, Laptop, Clock], hub: HubServer, clock: Clock
) -> None:
    tom, ben, _ = team
    cid = shared(tom, ben)
    logged = interactions.log_interaction(
        ben.ws,
        customer=cid,
        kind="visit",
        followups=[
            interactions.FollowUpInput(
                title="Send the quote", due=clock.current + timedelta(days=2)
            )
        ],
    )
    assert logged
    assert ben.sync().in_sync and tom.sync().in_sync  # Tom saw it, and deletes anyway
    customers.delete_customer(tom.ws, cid)
    assert tom.sync().in_sync and ben.sync().in_sync
    [told] = [c for c in list_conflicts(ben.ws) if c.field == "deleted_at"]
    assert told.words is not None
    assert told.words.sentence == (
        "Acme was deleted by tom@example.com while you have an open follow-up "
        "'Send the quote' for it"
    )


@pytest.mark.hub_clock
@pytest.mark.parametrize("first", ["fast", "right"])
def test_an_edit_made_while_the_clock_was_fast_keeps_its_real_time(
    team: tuple[Laptop, Laptop, Clock], hub: HubServer, clock: Clock, first: str
) -> None:
    tom, ben, ben_clock = team
    cid = shared(tom, ben)
    # Ben's clock runs two hours fast while he edits; it is put right before he syncs.
    ben_clock.advance(hours=2)
    customers.edit_customer(ben.ws, cid, {"industry": "fast clock"})
    ben_clock.advance(hours=-2)
    # Tom's edit is made after Ben's in real time (the Hub's), with a right clock. Each
    # laptop places the Hub's time within half its last hello's round trip: the gap is
    # wider than that on a busy machine too (50 ms was not, once, at a load of 8).
    time.sleep(0.25)
    clock.advance(seconds=1)
    customers.edit_customer(tom.ws, cid, {"industry": "later edit"})
    order = (ben, tom) if first == "fast" else (tom, ben)
    for laptop in (*order, *order):
        laptop.sync()
    for laptop in (tom, ben):
        with laptop.ws.read() as s:
            assert s.get(Customer, cid).industry == "later edit"
    assert_converged(hub, tom, ben)
