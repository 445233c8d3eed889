"""Two or more laptops and a real Hub: field merges, conflicts, clocks, deletes, merges."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop, assert_converged
from sqlalchemy import select

from touchpoint.services import customers, duplicates, followups, interactions
from touchpoint.services.sync_conflicts import list_conflicts, rejected_changes, restore_conflict
from touchpoint.storage.models import Change, Contact, Customer, FollowUp, Interaction


def shared_customer(ana: Laptop, ben: Laptop, **fields: object) -> str:
    made = customers.create_customer(ana.ws, {"name": "Müller Bau GmbH", **fields})
    assert ana.sync().in_sync
    assert ben.sync().in_sync
    return made.value.id


def name_of(laptop: Laptop, customer_id: str) -> Customer:
    with laptop.ws.read() as s:
        record = s.get(Customer, customer_id)
        assert record is not None
        return record


def test_a_new_laptop_gets_what_another_typed(team: tuple[Laptop, Laptop], hub: HubServer) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben, industry="construction")
    assert name_of(ben, cid).industry == "construction"
    assert_converged(hub, ana, ben)


def test_different_fields_edited_offline_both_survive(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    clock.advance(minutes=5)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})
    customers.edit_customer(ben.ws, cid, {"notes": "call after lunch"})
    for laptop in (ana, ben, ana):
        assert laptop.sync().in_sync
    for laptop in (ana, ben):
        record = name_of(laptop, cid)
        assert (record.industry, record.notes) == ("roofing", "call after lunch")
    assert ana.conflicts() == [] and ben.conflicts() == []
    assert_converged(hub, ana, ben)


@pytest.mark.parametrize("upload_first", ["earlier", "later"])
def test_same_field_the_later_edit_wins_and_the_loser_is_kept(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock, upload_first: str
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    clock.advance(minutes=5)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})  # earlier
    clock.advance(minutes=5)
    customers.edit_customer(ben.ws, cid, {"industry": "plumbing"})  # later
    order = (ana, ben) if upload_first == "earlier" else (ben, ana)
    for laptop in (*order, *order):
        laptop.sync()
    for laptop in (ana, ben):
        assert name_of(laptop, cid).industry == "plumbing"
        [conflict] = list_conflicts(laptop.ws)
        assert (conflict.field, conflict.winner_value, conflict.loser_value) == (
            "industry",
            "plumbing",
            "roofing",
        )
        assert conflict.loser_author == "ana@example.com"
    assert_converged(hub, ana, ben)
    # Ana restores her value from the Conflicts list: it becomes the value everywhere.
    [conflict] = list_conflicts(ana.ws)
    restore_conflict(ana.ws, conflict.id)
    assert list_conflicts(ana.ws) == []
    for laptop in (ana, ben):
        laptop.sync()
    assert name_of(ben, cid).industry == "roofing"
    assert_converged(hub, ana, ben)


def test_the_same_value_on_both_sides_is_no_conflict(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})
    clock.advance(minutes=1)
    customers.edit_customer(ben.ws, cid, {"industry": "roofing"})
    for laptop in (ana, ben, ana):
        laptop.sync()
    assert list_conflicts(ana.ws) == [] and list_conflicts(ben.ws) == []
    assert_converged(hub, ana, ben)


def test_a_clock_a_day_fast_does_not_win_and_keeps_typed_times(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    fast = Clock(clock.current + timedelta(hours=24))  # Ben's laptop is a day ahead
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", fast, hub)
    cid = shared_customer(ana, ben)
    # Ben edits first (in real time), Ana five minutes later: Ana's edit is the later one.
    customers.edit_customer(ben.ws, cid, {"industry": "plumbing"})
    logged = interactions.log_interaction(
        ben.ws, customer=cid, kind="call", occurred_at="2026-11-19 10:15", subject="price"
    )
    clock.advance(minutes=5)
    fast.advance(minutes=5)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})
    for laptop in (ben, ana, ben):
        laptop.sync()
    assert name_of(ana, cid).industry == name_of(ben, cid).industry == "roofing"
    [conflict] = list_conflicts(ben.ws)
    assert conflict.loser_value == "plumbing"
    with ana.ws.read() as s:
        call = s.get(Interaction, logged.value.interaction.id)
        assert call is not None
        # The time as typed (Berlin 10:15), not shifted by the clock correction.
        assert call.occurred_at.isoformat() == "2026-11-19T09:15:00+00:00"
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()


def test_a_pending_local_edit_stays_until_acknowledged(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    customers.edit_customer(ben.ws, cid, {"industry": "plumbing"})
    ben.sync()
    clock.advance(minutes=5)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})
    # Pull only (as if the push had failed): Ben's value must not replace Ana's on screen.
    engine_pull_only(ana)
    assert name_of(ana, cid).industry == "roofing"
    assert len(ana.outbox()) == 1
    for laptop in (ana, ben):
        laptop.sync()
    assert name_of(ana, cid).industry == name_of(ben, cid).industry == "roofing"
    assert_converged(hub, ana, ben)


def engine_pull_only(laptop: Laptop) -> None:
    from touchpoint.sync.engine import SyncEngine

    engine = SyncEngine.for_workspace(laptop.ws)
    counts = {"pushed": 0, "rejected": 0, "pulled": 0, "conflicts": 0}
    engine._pull_all(counts)
    engine.client.close()
    assert counts["pulled"] > 0


def test_a_rejected_change_is_shown_and_does_not_block_the_rest(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    customers.edit_customer(ana.ws, cid, {"industry": "roofing"})
    # A change the Hub cannot accept (a name far too long), as an older client might send.
    with ana.ws.unit_of_work() as uow:
        record = uow.session.get(Customer, cid)
        assert record is not None
        record.name = "x" * 300
        uow.commit()
    customers.edit_customer(ana.ws, cid, {"notes": "after the bad one"})
    result = ana.sync()
    assert result.rejected == 1 and result.waiting == 0
    with ana.ws.read() as s:
        [bad] = s.scalars(select(Change).where(Change.push_error.is_not(None))).all()
        assert "name" in (bad.push_error or "")
    [shown] = rejected_changes(ana.ws)
    assert shown.fields == ["name"] and "name" in shown.reason
    assert ana.sync().rejected == 0  # not retried
    ben.sync()
    for laptop in (ana, ben):
        record = name_of(laptop, cid)
        assert (record.name, record.industry, record.notes) == (
            "Müller Bau GmbH",
            "roofing",
            "after the bad one",
        )
    assert_converged(hub, ana, ben)


def test_delete_against_a_concurrent_edit(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    customers.delete_customer(ana.ws, cid)
    clock.advance(minutes=1)
    customers.edit_customer(ben.ws, cid, {"notes": "they called back"})
    for laptop in (ana, ben, ana):
        laptop.sync()
    for laptop in (ana, ben):
        record = name_of(laptop, cid)
        assert record.deleted_at is not None
        assert record.notes == "they called back"  # the edit is kept
        assert any(c.field == "deleted_at" for c in list_conflicts(laptop.ws))
    assert_converged(hub, ana, ben)


def test_merge_against_concurrent_edits_merges_everywhere(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    keep = shared_customer(ana, ben)
    other = customers.create_customer(ana.ws, {"name": "Mueller Bau"}).value.id
    ana.sync()
    ben.sync()
    clock.advance(minutes=1)
    duplicates.merge_records(ana.ws, "customer", keep, other)
    # Meanwhile Ben, offline, logs a call on the duplicate and edits it.
    call = interactions.log_interaction(ben.ws, customer=other, kind="call", subject="offer")
    customers.edit_customer(ben.ws, other, {"industry": "roofing"})
    for laptop in (ben, ana, ben):
        laptop.sync()
    for laptop in (ana, ben):
        with laptop.ws.read() as s:
            moved = s.get(Interaction, call.value.interaction.id)
            assert moved is not None and moved.customer_id == keep
            merged = s.get(Customer, other)
            assert merged is not None and merged.merged_into_id == keep
    assert_converged(hub, ana, ben)


def test_a_contact_merge_moves_a_colleagues_concurrent_interaction_and_follow_up(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    keep = customers.add_contact(ana.ws, cid, {"name": "Jana Novak"}).value.id
    other = customers.add_contact(ana.ws, cid, {"name": "J. Novak"}).value.id
    ana.sync()
    ben.sync()
    clock.advance(minutes=1)
    duplicates.merge_records(ana.ws, "contact", keep, other)
    # Meanwhile Ben, offline, logs a call with the duplicate and promises it something.
    call = interactions.log_interaction(
        ben.ws,
        customer=cid,
        kind="call",
        contacts=[other],
        followups=[
            interactions.FollowUpInput(title="send specs", due="2026-11-20 10:00", contact=other)
        ],
    ).value
    for laptop in (ben, ana, ben):
        assert laptop.sync().in_sync
    for laptop in (ana, ben):
        with laptop.ws.read() as s:
            moved = s.get(Interaction, call.interaction.id)
            assert moved is not None and moved.contact_ids == [keep]
            promise = s.get(FollowUp, call.followups[0].id)
            assert promise is not None and promise.contact_id == keep
            merged = s.get(Contact, other)
            assert merged is not None and merged.merged_into_id == keep
    assert_converged(hub, ana, ben)


def test_a_call_logged_after_the_contact_merge_reached_the_hub_names_the_kept_one(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    keep = customers.add_contact(ana.ws, cid, {"name": "Jana Novak"}).value.id
    other = customers.add_contact(ana.ws, cid, {"name": "J. Novak"}).value.id
    ana.sync()
    ben.sync()
    clock.advance(minutes=1)
    duplicates.merge_records(ana.ws, "contact", keep, other)
    assert ana.sync().in_sync  # the merge is on the Hub before Ben's call arrives
    call = interactions.log_interaction(
        ben.ws, customer=cid, kind="visit", contacts=[other, keep]
    ).value
    for laptop in (ben, ana):
        assert laptop.sync().in_sync
    for laptop in (ana, ben):
        with laptop.ws.read() as s:
            moved = s.get(Interaction, call.interaction.id)
            assert moved is not None and moved.contact_ids == [keep]
    assert_converged(hub, ana, ben)


def test_completing_is_not_undone_by_a_concurrent_reschedule(
    team: tuple[Laptop, Laptop], hub: HubServer, clock: Clock
) -> None:
    ana, ben = team
    cid = shared_customer(ana, ben)
    logged = interactions.log_interaction(
        ana.ws,
        customer=cid,
        kind="visit",
        followups=[interactions.FollowUpInput(title="send quote", due="2026-11-20 10:00")],
    )
    fid = logged.value.followups[0].id
    ana.sync()
    ben.sync()
    followups.complete_followup(ana.ws, fid)
    clock.advance(minutes=2)
    followups.reschedule_followup(ben.ws, fid, "2026-11-25 10:00")
    for laptop in (ben, ana, ben):
        laptop.sync()
    for laptop in (ana, ben):
        with laptop.ws.read() as s:
            f = s.get(FollowUp, fid)
            assert f is not None and f.status == "done"
    assert_converged(hub, ana, ben)


def test_the_same_custom_field_defined_on_two_laptops_does_not_stop_syncing(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = team
    customers.define_custom_field(ana.ws, "region", "Region", "text")
    customers.define_custom_field(ben.ws, "region", "Region", "text")
    assert ana.sync().in_sync
    assert ben.sync().in_sync  # Ana's definition is skipped here: Ben's own is kept
    assert ana.sync().in_sync
    made = customers.create_customer(ana.ws, {"name": "After", "custom": {"region": "Süd"}})
    assert ana.sync().in_sync and ben.sync().in_sync
    assert name_of(ben, made.value.id).custom == {"region": "Süd"}
