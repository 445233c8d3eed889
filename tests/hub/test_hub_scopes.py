"""Who sees what: crafted requests for another team's records are refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from harness import PASSWORD, HubServer

from touchpoint.sync.protocol import PROTOCOL_HEADER, ChangeIn, PushRequest

NOW = "2026-11-18T09:30:00.000000Z"


class Rep:
    def __init__(self, hub: HubServer, email: str) -> None:
        self.hub = hub
        self.email = email
        self.device = str(uuid.uuid4())
        answer = httpx.post(
            f"{hub.url}/v1/login",
            headers={PROTOCOL_HEADER: "1"},
            json={"email": email, "password": PASSWORD, "device_id": self.device},
        )
        answer.raise_for_status()
        self.headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {answer.json()['token']}"}

    def push(self, entity: str, record_id: str, fields: dict[str, Any], **kw: Any) -> dict:
        change = ChangeIn(
            change_id=str(uuid.uuid4()),
            seq=1,
            tx_id=str(uuid.uuid4()),
            entity=entity,
            record_id=record_id,
            op="insert",
            fields={k: [None, v] for k, v in fields.items()},
            at=NOW,
            author=self.email,
            schema_version="0003",
        )
        body = PushRequest(
            device_id=kw.get("device", self.device), client_time=NOW, changes=[change]
        )
        answer = httpx.post(
            f"{self.hub.url}/v1/push",
            headers={**self.headers, "Content-Type": "application/json"},
            content=body.model_dump_json(),
        )
        if answer.status_code != 200:
            return {"status": answer.status_code}
        return answer.json()["results"][0]

    def pulled(self) -> set[str]:
        rows = httpx.get(f"{self.hub.url}/v1/pull?after=0&limit=5000", headers=self.headers).json()
        return {r["record_id"] for r in rows["changes"]}


def customer(rep: Rep, name: str) -> str:
    cid = str(uuid.uuid4())
    assert rep.push("customer", cid, {"name": name, "kind": "organisation"})["status"] == "applied"
    return cid


def test_a_rep_cannot_read_or_write_another_teams_data(hub: HubServer) -> None:
    hub.add_user("ana@example.com", "rep", ("north",))
    hub.add_user("zoe@example.com", "rep", ("south",))
    hub.add_user("max@example.com", "manager", ("north", "south"))
    hub.add_user("root@example.com", "admin", ())
    ana, zoe = Rep(hub, "ana@example.com"), Rep(hub, "zoe@example.com")
    north = customer(ana, "Nordwerk")
    south = customer(zoe, "Südhaus")

    assert north not in zoe.pulled() and south in zoe.pulled()
    # Editing, filing under, merging into, or faking a conflict on the other team's records:
    edit = zoe.push("customer", north, {"name": "mine now"})
    assert edit["status"] == "rejected" and edit["current"] is None
    child = zoe.push(
        "interaction",
        str(uuid.uuid4()),
        {"customer_id": north, "kind": "call", "occurred_at": NOW, "rep": zoe.email},
    )
    assert child["status"] == "rejected"
    contact = str(uuid.uuid4())
    assert zoe.push("contact", contact, {"customer_id": south, "name": "Eva"})["status"] == (
        "applied"
    )
    moved = zoe.push("contact", contact, {"customer_id": north})
    assert moved["status"] == "rejected"
    merge = zoe.push(
        "merge",
        str(uuid.uuid4()),
        {"kind": "customer", "winner_id": north, "loser_id": south, "snapshot": {}},
    )
    assert merge["status"] == "rejected"
    fake = zoe.push("conflict", str(uuid.uuid4()), {"field": "name"})
    assert fake["status"] == "rejected"
    # Another device's id with this token is refused outright.
    assert zoe.push("customer", str(uuid.uuid4()), {"name": "x"}, device=ana.device) == {
        "status": 403
    }
    assert north not in zoe.pulled()
    # A manager sees their teams; an admin sees everything.
    assert {north, south} <= Rep(hub, "max@example.com").pulled()
    assert {north, south} <= Rep(hub, "root@example.com").pulled()


def test_a_colleagues_interaction_is_theirs_to_edit(hub: HubServer) -> None:
    hub.add_user("ana@example.com", "rep", ("north",))
    hub.add_user("ben@example.com", "rep", ("north",))
    ana, ben = Rep(hub, "ana@example.com"), Rep(hub, "ben@example.com")
    cid = customer(ana, "Nordwerk")
    call = str(uuid.uuid4())
    fields = {"customer_id": cid, "kind": "call", "occurred_at": NOW, "rep": ana.email}
    assert ana.push("interaction", call, fields)["status"] == "applied"
    assert ben.push("interaction", call, {"notes": "rewritten"})["status"] == "rejected"
    assert ana.push("interaction", call, {"notes": "my own words"})["status"] == "applied"


def test_invalid_data_is_rejected_with_the_field_named(hub: HubServer) -> None:
    hub.add_user("ana@example.com", "rep", ("north",))
    ana = Rep(hub, "ana@example.com")
    no_name = ana.push("customer", str(uuid.uuid4()), {"industry": "retail"})
    assert no_name["status"] == "rejected" and "customer.name" in no_name["error"]
    wrong_type = ana.push("customer", str(uuid.uuid4()), {"name": "A", "tags": "not a list"})
    assert wrong_type["status"] == "rejected" and "customer.tags" in wrong_type["error"]
    unknown = ana.push("customer", str(uuid.uuid4()), {"name": "A", "password": "x"})
    assert unknown["status"] == "rejected" and "no such field" in unknown["error"]
