"""`touchpoint conflicts` in words: labels, readable addresses, local times."""

from __future__ import annotations

from pathlib import Path

from touchpoint.services import customers
from touchpoint.storage.models import Customer, Meta, SyncConflict
from touchpoint.storage.workspace import Workspace


def test_a_laptop_that_never_synced_says_not_synced_yet(tp) -> None:
    assert tp("conflicts").stdout.strip() == "Not synced yet: no conflicts to show."


def test_an_address_conflict_is_listed_in_words(tp, data_dir: Path, clock) -> None:
    tp("config", "set", "timezone", "Europe/Berlin")
    with Workspace.open(data_dir, auto_backup=False, clock=clock) as ws:
        made = customers.create_customer(
            ws, {"name": "Müller Bau", "addresses": [{"city": "Hamburg", "country": "DE"}]}
        )
        with ws.unit_of_work(origin="remote") as uow:
            kept = uow.session.get(Customer, made.value.id).addresses
            lost = [{**kept[0], "street": "Hafenstr. 1", "postcode": "20095"}]
            uow.session.add(
                SyncConflict(
                    id="00000000-0000-0000-0000-0000c0ffee00", entity="customer",
                    record_id=made.value.id, field="addresses", winner_value=kept,
                    loser_value=lost, winner_author="tom@example.com",
                    loser_author=ws.author, winner_at="2026-11-24T02:03:04.501694Z",
                    loser_at="2026-11-24T01:59:00.000000Z", created_at="2026-11-24T02:03:05Z",
                )
            )  # fmt: skip
            uow.session.add(Meta(key="sync_last_at", value="2026-11-24T02:03:05Z"))
            uow.commit()
    out = tp("conflicts").stdout
    line = next(x for x in out.splitlines() if x.startswith("c0ffee00"))
    assert "Address" in line and "office: Hamburg, DE" in line
    assert "office: Hafenstr. 1, 20095 Hamburg, DE" in line
    assert "Tue 2026-11-24 02:59" in line  # maria's edit time in Berlin
    assert "None" not in out and "{" not in out and "2026-11-24T" not in out
    listed = tp.json("conflicts")  # scripts keep the stored values
    assert listed[0]["winner_value"] == kept and "words" not in listed[0]
