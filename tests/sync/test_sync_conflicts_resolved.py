"""A conflict restored on one laptop leaves the list of the other one once it syncs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop

from touchpoint.errors import ValidationErrors
from touchpoint.services import customers
from touchpoint.services.sync_conflicts import conflict_list, list_conflicts, restore_conflict

OFFICE = {"label": "office", "street": "Hafenstr. 1", "city": "Bremen", "postcode": "28195",
          "country": "DE"}  # fmt: skip


@pytest.fixture
def pair(hub: HubServer, tmp_path: Path, clock: Clock) -> Iterator[tuple[Laptop, Laptop]]:
    hub.add_user("maria@example.com")
    hub.add_user("tom@example.com")
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    tom = Laptop(tmp_path / "tom", "tom@example.com", clock, hub)
    yield maria, tom
    maria.close()
    tom.close()


def address_conflict(maria: Laptop, tom: Laptop, clock: Clock) -> str:
    made = customers.create_customer(maria.ws, {"name": "Müller Bau", "addresses": [OFFICE]})
    assert maria.sync().in_sync and tom.sync().in_sync
    clock.advance(minutes=5)
    customers.edit_customer(maria.ws, made.value.id, {"addresses": [{**OFFICE, "city": "Kiel"}]})
    clock.advance(minutes=5)
    customers.edit_customer(tom.ws, made.value.id, {"addresses": [{**OFFICE, "city": "Hamburg"}]})
    for laptop in (maria, tom, maria, tom):
        laptop.sync()
    return made.value.id


def test_restored_on_one_laptop_resolved_on_the_other(
    pair: tuple[Laptop, Laptop], clock: Clock
) -> None:
    maria, tom = pair
    address_conflict(maria, tom, clock)
    assert conflict_list(tom.ws).synced
    [on_tom] = list_conflicts(tom.ws)
    assert on_tom.words is not None and on_tom.words.field == "Address"
    assert on_tom.words.kept == "office: Hafenstr. 1, 28195 Hamburg, DE"
    assert on_tom.words.lost == "office: Hafenstr. 1, 28195 Kiel, DE"

    [on_maria] = list_conflicts(maria.ws)
    restore_conflict(maria.ws, on_maria.id)
    assert list_conflicts(maria.ws) == []
    assert len(list_conflicts(tom.ws)) == 1  # tom has not heard of it yet
    maria.sync()
    tom.sync()
    assert list_conflicts(tom.ws) == []  # the record no longer holds the kept value
    with pytest.raises(ValidationErrors, match="already resolved"):
        restore_conflict(tom.ws, on_tom.id)


def test_a_later_edit_of_the_field_also_ends_the_conflict(
    pair: tuple[Laptop, Laptop], clock: Clock
) -> None:
    maria, tom = pair
    cid = address_conflict(maria, tom, clock)
    clock.advance(minutes=5)
    customers.edit_customer(tom.ws, cid, {"addresses": [{**OFFICE, "city": "Lübeck"}]})
    assert list_conflicts(tom.ws) == []
    tom.sync()
    maria.sync()
    assert list_conflicts(maria.ws) == []


def test_a_laptop_that_never_synced_says_so(tmp_path: Path, clock: Clock, hub: HubServer) -> None:
    from touchpoint.storage.workspace import Workspace

    ws = Workspace.open(tmp_path / "fresh", clock=clock)
    try:
        listed = conflict_list(ws)
        assert listed.conflicts == [] and listed.synced is False
    finally:
        ws.close()
