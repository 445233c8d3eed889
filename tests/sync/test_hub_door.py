"""The Hub's door, tried as a hostile but plausible client would: crafted pushes and pulls
against a real Hub on 127.0.0.1. Nothing malformed enters the log, nothing answers 500,
and the team's laptops keep syncing whatever one of them sent."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from harness import PASSWORD, HubServer, Laptop, assert_converged, now_utc
from sqlalchemy import func, select

from touchpoint.hub import exchange
from touchpoint.hub.db import changes
from touchpoint.services import customers
from touchpoint.storage.types import to_utc_text
from touchpoint.sync.protocol import MAX_PUSH_BYTES, PROTOCOL_HEADER


class Raw:
    """A client that speaks the protocol by hand, to send what no laptop would."""

    def __init__(self, hub: HubServer, email: str) -> None:
        self.device_id = str(uuid.uuid4())
        self.http = httpx.Client(base_url=hub.url, headers={PROTOCOL_HEADER: "1"}, timeout=30)
        answer = self.http.post(
            "/v1/login", json={"email": email, "password": PASSWORD, "device_id": self.device_id}
        )
        assert answer.status_code == 200, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        self.seq = 0

    def change(self, entity: str, record_id: str, fields: dict[str, Any], **over: Any) -> dict:
        self.seq += 1
        return {
            "change_id": str(uuid.uuid4()),
            "seq": self.seq,
            "tx_id": str(uuid.uuid4()),
            "entity": entity,
            "record_id": record_id,
            "op": "insert",
            "fields": {k: [None, v] for k, v in fields.items()},
            "at": to_utc_text(now_utc()),
            "author": "x",
            "schema_version": "0008",
            **over,
        }

    def push_raw(self, changes: list[dict], **body: Any) -> httpx.Response:
        payload = {"device_id": self.device_id, "client_time": to_utc_text(now_utc())}
        payload.update(body)
        payload["changes"] = changes
        # ASCII escapes, as a hand-made client may send them: "\ud800" alone is valid JSON.
        return self.http.post(
            "/v1/push",
            content=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )

    def push(self, *changes: dict) -> list[dict]:
        answer = self.push_raw(list(changes))
        assert answer.status_code == 200, answer.text
        return answer.json()["results"]

    def customer(self, name: str = "Acme", **fields: Any) -> dict:
        return self.change(
            "customer",
            str(uuid.uuid4()),
            {"name": name, "kind": "organisation", "status": "active", "currency": "EUR"} | fields,
        )


@pytest.fixture
def raw(hub: HubServer) -> Iterator[Raw]:
    hub.add_user("mallory@example.com", teams=("north",))
    client = Raw(hub, "mallory@example.com")
    yield client
    client.http.close()


def log_size(hub: HubServer) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(changes)).scalar_one())


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ({"name": "Evil\ud800Corp"}, "lone surrogate"),
        ({"name": "Nul\x00Corp"}, "NUL"),
        ({"notes": "x" * 1_000_001}, "larger than 1,000,000 bytes"),
        ({"tags": ["t" * 600_000, "u" * 600_000]}, "larger than 1,000,000 bytes"),
        ({"confirmed_at": "9999-12-31T23:59:59.000000Z"}, "outside"),
        ({"merged_into_id": "not-a-uuid"}, "not a record id"),
        ({"yearly_potential": "NaN"}, "out of range"),
    ],
)
def test_a_malformed_value_is_refused_and_never_logged(
    raw: Raw, hub: HubServer, shape: dict[str, Any], words: str
) -> None:
    before = log_size(hub)
    good = raw.customer("Good Co")
    [bad_answer, good_answer] = raw.push(raw.customer(**shape), good)
    assert bad_answer["status"] == "rejected" and words in bad_answer["error"]
    assert not bad_answer["retry"]
    assert good_answer["status"] == "applied"  # one bad change never stops the rest
    assert log_size(hub) == before + 1


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"record_id": "r" * 1_000_000}, "record_id: is not a UUID"),
        ({"change_id": "c" * 100_000}, "change_id: is not a UUID"),
        ({"seq": 2**63}, "seq:"),
        ({"at": "9999-12-31T23:59:59.000000Z"}, "at:"),
        ({"op": "drop table"}, "op:"),
    ],
)
def test_malformed_ids_numbers_and_times_are_refused_not_failed(
    raw: Raw, hub: HubServer, over: dict[str, Any], words: str
) -> None:
    change = raw.customer() | over
    [answer] = raw.push(change)
    assert answer["status"] == "rejected" and words in answer["error"]
    assert log_size(hub) == 0
    # The device's sequence is not moved by a number out of range.
    hello = raw.http.post(
        "/v1/hello",
        json={"protocol": 1, "device_id": raw.device_id, "client_time": to_utc_text(now_utc())},
    )
    assert hello.status_code == 200 and hello.json()["last_device_seq"] < 2**53


def test_out_of_range_cursors_and_clocks_are_4xx(raw: Raw) -> None:
    assert raw.http.get("/v1/pull", params={"after": 2**63}).status_code == 422
    far = raw.push_raw([raw.customer()], client_time="9999-12-31T23:59:59.000000Z")
    assert far.status_code == 422
    hello = raw.http.post(
        "/v1/hello",
        json={"protocol": 1, "device_id": raw.device_id, "client_time": "9999-12-31T23:00:00Z"},
    )
    assert hello.status_code == 422 and "client_time" in hello.json()["message"]


def test_a_body_over_the_limit_is_413_before_it_is_read(raw: Raw) -> None:
    filler = "x" * (MAX_PUSH_BYTES + 1024)
    answer = raw.push_raw([raw.customer(notes=filler)])
    assert answer.status_code == 413


def test_another_teams_record_and_a_missing_one_get_the_same_answer(
    hub: HubServer, raw: Raw
) -> None:
    hub.add_user("sven@example.com", teams=("south",))
    south = Raw(hub, "sven@example.com")
    theirs = south.customer("Southern Ltd")
    assert south.push(theirs)[0]["status"] == "applied"

    def edit(record_id: str) -> dict:
        change = raw.change("customer", record_id, {"industry": "spying"}, op="update")
        [answer] = raw.push(change)
        return answer | {"said": answer["error"].replace(record_id, "ID")}

    hidden, missing = edit(theirs["record_id"]), edit(str(uuid.uuid4()))
    assert hidden["status"] == missing["status"] == "rejected"
    assert hidden["retry"] and missing["retry"]
    assert hidden["said"] == missing["said"]
    assert hidden["current"] is None and missing["current"] is None


def test_a_contact_of_another_team_cannot_be_named(hub: HubServer, raw: Raw) -> None:
    hub.add_user("sven@example.com", teams=("south",))
    south = Raw(hub, "sven@example.com")
    their_customer = south.customer("Southern Ltd")
    their_contact = south.change(
        "contact",
        str(uuid.uuid4()),
        {"customer_id": their_customer["record_id"], "name": "Sune"},
    )
    south.push(their_customer, their_contact)
    mine = raw.customer("Northern AG")
    visit = raw.change(
        "interaction",
        str(uuid.uuid4()),
        {
            "customer_id": mine["record_id"],
            "kind": "visit",
            "occurred_at": to_utc_text(now_utc()),
            "rep": "mallory@example.com",
            "contact_ids": [their_contact["record_id"]],
        },
    )
    answers = raw.push(mine, visit)
    assert [a["status"] for a in answers] == ["applied", "rejected"]
    assert "not on the Hub yet, or not one you may see" in answers[1]["error"]


def test_a_merge_into_another_teams_customer_is_refused_in_words(hub: HubServer) -> None:
    hub.add_user("x1@example.com", teams=("east", "west"))
    x1 = Raw(hub, "x1@example.com")
    east, west = x1.customer("Dupli Co"), x1.customer("Dupli Co")
    # x1's home team is the first: file one customer in each team through team members.
    hub.add_user("w2@example.com", teams=("west",))
    w2 = Raw(hub, "w2@example.com")
    assert x1.push(east)[0]["status"] == "applied"
    assert w2.push(west)[0]["status"] == "applied"
    merge = x1.change(
        "customer", east["record_id"], {"merged_into_id": west["record_id"]}, op="update"
    )
    [answer] = x1.push(merge)
    assert answer["status"] == "rejected" and not answer["retry"]
    assert "belongs to team west" in answer["error"] and "different teams" in answer["error"]


def test_unexpected_errors_go_to_the_log_with_their_traceback(
    raw: Raw, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_a: Any, **_k: Any) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(exchange, "pull_json", broken)
    with caplog.at_level(logging.ERROR, logger="touchpoint.hub.app"):
        answer = raw.http.get("/v1/pull")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "server",
        "message": "the Hub failed; its log has the details",
    }
    [record] = [r for r in caplog.records if r.name == "touchpoint.hub.app"]
    assert record.exc_info and "disk on fire" in str(record.exc_info[1])


# --- laptops ------------------------------------------------------------------------------
def test_a_poisoned_push_never_stops_a_teammates_pull(
    team: tuple[Laptop, Laptop], hub: HubServer, raw: Raw
) -> None:
    ana, ben = team
    customers.create_customer(ana.ws, {"name": "Müller Bau GmbH"})
    for shape in ({"name": "Evil\ud800"}, {"notes": "n" * 2_000_000}, {"name": "a\x00b"}):
        raw.push(raw.customer(**shape))
    assert ana.sync().in_sync
    result = ben.sync()
    assert result.in_sync and result.pulled == 1
    assert_converged(hub, ana, ben)


def test_a_child_sent_before_its_parent_waits_and_applies_when_the_parent_comes(
    raw: Raw, hub: HubServer
) -> None:
    customer = raw.customer("Parent GmbH")
    note = raw.change(
        "interaction",
        str(uuid.uuid4()),
        {
            "customer_id": customer["record_id"],
            "kind": "note",
            "occurred_at": to_utc_text(now_utc()),
            "rep": "mallory@example.com",
        },
    )
    [first] = raw.push(note)
    assert first["status"] == "rejected" and first["retry"]
    assert raw.push(customer)[0]["status"] == "applied"
    [again] = raw.push(note)  # the same change id: no refusal was kept for it
    assert again["status"] == "applied"
    assert ("interaction", note["record_id"]) in hub.state()


def _hold_back(laptop: Laptop, entity: str, held: bool) -> None:
    """Take the changes of one entity out of the outbox (or put them back), so the rest
    reaches the Hub first, as a change relayed out of order would."""
    from sqlalchemy import update

    from touchpoint.storage.models import Change

    with laptop.ws.unit_of_work(origin="remote") as uow:
        uow.session.execute(
            update(Change)
            .where(Change.entity == entity)
            .values(pushed_at=now_utc() if held else None)
        )
        uow.commit()


def test_a_laptop_with_a_waiting_change_is_not_in_sync_until_it_applies(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    from touchpoint.services import interactions, maintenance
    from touchpoint.services.sync_conflicts import rejected_changes

    ana, ben = team
    made = customers.create_customer(ana.ws, {"name": "Waiting Works AG"})
    interactions.log_interaction(
        ana.ws, customer=made.value.id, kind="call", notes="asked for a quote"
    )
    _hold_back(ana, "customer", True)
    result = ana.sync()
    assert result.status == "done" and not result.in_sync
    assert result.waiting == 1 and result.refused == 0
    [waiting] = rejected_changes(ana.ws)
    assert waiting.waiting and waiting.entity == "interaction"
    assert "not on the Hub yet" in waiting.reason
    report = maintenance.status(ana.ws)
    assert report.waiting_changes == 1
    assert any(line.startswith("waiting: interaction") for line in report.attention)

    _hold_back(ana, "customer", False)
    result = ana.sync()
    assert result.in_sync and result.waiting == 0
    assert rejected_changes(ana.ws) == []
    assert ben.sync().in_sync
    assert_converged(hub, ana, ben)


def test_a_refused_change_keeps_the_laptop_out_of_sync_until_dismissed(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    from touchpoint.services.sync_conflicts import dismiss_rejected, rejected_changes
    from touchpoint.storage.models import Customer

    ana, _ben = team
    made = customers.create_customer(ana.ws, {"name": "Fine Co"})
    assert ana.sync().in_sync
    with ana.ws.unit_of_work() as uow:  # a value the Hub refuses, as an older bug could write
        uow.session.get(Customer, made.value.id).industry = "x" * 500
        uow.commit()
    result = ana.sync()
    assert result.refused == 1 and not result.in_sync
    [refused] = rejected_changes(ana.ws)
    assert not refused.waiting and "industry" in refused.reason
    dismiss_rejected(ana.ws, refused.change_id)
    assert ana.sync().in_sync


def test_a_busy_sync_says_how_many_changes_wait(team: tuple[Laptop, Laptop]) -> None:
    from touchpoint.sync.engine import device_lock

    ana, _ben = team
    for n in range(3):
        customers.create_customer(ana.ws, {"name": f"Queued {n}"})
    with device_lock(ana.ws.paths.data_dir / "sync.lock"):
        result = ana.sync()
    assert result.status == "busy" and result.waiting == 3 and not result.in_sync


def test_a_hello_reports_the_laptops_figures_to_the_hub(
    team: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    from touchpoint.hub.db import devices

    ana, _ben = team
    made = customers.create_customer(ana.ws, {"name": "Reported GmbH"})
    customers.edit_customer(ana.ws, made.value.id, {"industry": "retail"})
    _hold_back(ana, "customer", True)
    _hold_back(ana, "customer", False)
    ana.sync()
    with hub.engine.connect() as conn:
        row = conn.execute(
            select(devices.c.app_version, devices.c.report).where(
                devices.c.device_id == ana.ws.device_id
            )
        ).one()
    assert row.app_version
    # The figures as they stood at the hello, before this sync pushed the two changes.
    assert row.report["waiting"] == 2 and row.report["refused"] == 0
    assert row.report["set_aside"] == 0 and row.report["encrypted"] in (True, False)
    assert row.report["db_bytes"] > 0
