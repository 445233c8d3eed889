"""The integration REST API against a real Hub on 127.0.0.1: keys limited to their teams
and scope, writes that are changes like a laptop's (and reach the laptops), the changes
feed, idempotent retries, paging, bad input and rate limits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import PASSWORD, Clock, HubServer, Laptop
from sqlalchemy import func, select

from touchpoint.hub import accounts, apikeys
from touchpoint.hub.console import fleet
from touchpoint.hub.db import changes, records
from touchpoint.hub.replica import team_members
from touchpoint.services import customers, interactions
from touchpoint.sync.protocol import PROTOCOL_HEADER

API = "/api/v1"
LAST_ID = "ffffffff-ffff-4fff-8fff-ffffffffffff"  # sorts after every other id


def make_key(hub: HubServer, name: str, teams: tuple[str, ...], scope: str, **kw: Any) -> str:
    return apikeys.create_key(hub.engine, name, list(teams), scope, "test", **kw).token


class Client:
    """httpx against the Hub with one key."""

    def __init__(self, hub: HubServer, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=hub.url + API, headers=headers, timeout=30)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)


@pytest.fixture
def teams(hub: HubServer) -> HubServer:
    hub.add_user("maria@example.com", teams=("north",))
    hub.add_user("sara@example.com", teams=("south",))
    return hub


@pytest.fixture
def north(teams: HubServer) -> Iterator[Client]:
    client = Client(teams, make_key(teams, "ERP north", ("north",), "write"))
    yield client
    client.close()


@pytest.fixture
def south(teams: HubServer) -> Iterator[Client]:
    client = Client(teams, make_key(teams, "ERP south", ("south",), "write"))
    yield client
    client.close()


def create(client: Client, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    answer = client.post(path, json=body, **kw)
    assert answer.status_code == 201, answer.text
    return answer.json()


def change_count(hub: HubServer) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(changes)).scalar_one())


def test_a_key_sees_and_writes_only_its_teams(
    teams: HubServer, north: Client, south: Client
) -> None:
    mine = create(north, "/customers", {"name": "Nordwerk GmbH", "industry": "steel"})
    theirs = create(south, "/customers", {"name": "Südhaus AG"})
    assert mine["team"] == "north" and theirs["team"] == "south"
    assert mine["created_by"] == "api:erp north" and mine["kind"] == "organisation"

    listed = north.get("/customers").json()
    assert [c["id"] for c in listed["data"]] == [mine["id"]]
    assert listed["next"] is None
    # Crafted requests for the other team's record: the same 404 as for a missing one.
    missing = "00000000-0000-4000-8000-000000000000"
    for record_id in (theirs["id"], missing):
        assert north.get(f"/customers/{record_id}").status_code == 404
        patched = north.patch(f"/customers/{record_id}", json={"name": "Mine now"})
        assert patched.status_code == 404 and patched.json()["error"] == "not_found"
        assert north.delete(f"/customers/{record_id}").status_code == 404
    # A child filed under the other team's customer names the field.
    answer = north.post("/contacts", json={"customer_id": theirs["id"], "name": "Eve"})
    assert answer.status_code == 422 and answer.json()["field"] == "customer_id"
    # A customer of another team, or of a team this key lacks, cannot be chosen.
    answer = north.post("/customers", json={"name": "X", "team": "south"})
    assert answer.status_code == 422 and answer.json()["field"] == "team"
    # The changes feed shows the key's teams only.
    feed = north.get("/changes", params={"after": 0}).json()
    assert {c["record_id"] for c in feed["changes"]} == {mine["id"]}
    assert teams.state()[("customer", theirs["id"])]["name"] == "Südhaus AG"


def test_scope_revocation_and_missing_keys(teams: HubServer, north: Client) -> None:
    reader = Client(teams, make_key(teams, "BI", ("north",), "read"))
    made = create(north, "/customers", {"name": "Readable Ltd"})
    assert reader.get(f"/customers/{made['id']}").json()["name"] == "Readable Ltd"
    before = change_count(teams)
    for answer in (
        reader.post("/customers", json={"name": "Nope"}),
        reader.patch(f"/customers/{made['id']}", json={"name": "Nope"}),
        reader.delete(f"/customers/{made['id']}"),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "forbidden"
    assert change_count(teams) == before

    # A key of two teams names the team of a new customer.
    both = Client(teams, make_key(teams, "Shop", ("north", "south"), "write"))
    answer = both.post("/customers", json={"name": "Which team?"})
    assert answer.status_code == 422 and answer.json()["field"] == "team"
    assert create(both, "/customers", {"name": "Süd", "team": "south"})["team"] == "south"
    assert {c["team"] for c in both.get("/customers").json()["data"]} == {"north", "south"}
    assert both.get("/customers", params={"team": "south"}).json()["data"][0]["name"] == "Süd"
    both.close()

    assert Client(teams, None).get("/customers").status_code == 401
    assert Client(teams, "tpk_not-a-key").get("/customers").status_code == 401
    apikeys.revoke_key(teams.engine, "BI")
    answer = reader.get("/customers")
    assert answer.status_code == 401 and "revoked" in answer.json()["message"]
    reader.close()


def test_a_retry_with_the_same_idempotency_key_changes_nothing(
    teams: HubServer, north: Client
) -> None:
    body = {"name": "Once Only GmbH"}
    first = north.post("/customers", json=body, headers={"Idempotency-Key": "order-4711"})
    assert first.status_code == 201
    count = change_count(teams)
    again = north.post("/customers", json=body, headers={"Idempotency-Key": "order-4711"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert change_count(teams) == count
    names = [c["name"] for c in north.get("/customers").json()["data"]]
    assert names == ["Once Only GmbH"]
    # The same key for another request is refused, naming the header.
    other = north.post(
        "/customers", json={"name": "Twice GmbH"}, headers={"Idempotency-Key": "order-4711"}
    )
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"

    # A retry whose first answer was lost (none kept) is still one change: the change id
    # comes from the key and body, and the Hub's log knows it.
    with teams.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM api_idempotency")
    lost = north.post("/customers", json=body, headers={"Idempotency-Key": "order-4711"})
    assert lost.status_code == 201 and lost.json()["id"] == first.json()["id"]
    assert change_count(teams) == count

    record_id = first.json()["id"]
    edit = {"status": "active"}
    patched = north.patch(f"/customers/{record_id}", json=edit, headers={"Idempotency-Key": "e1"})
    assert patched.json()["status"] == "active"
    count = change_count(teams)
    assert (
        north.patch(f"/customers/{record_id}", json=edit, headers={"Idempotency-Key": "e1"}).json()
        == patched.json()
    )
    assert change_count(teams) == count


def test_writes_reach_a_laptop_and_a_laptops_edits_reach_the_feed(
    teams: HubServer, north: Client, tmp_path: Path, clock: Clock
) -> None:
    laptop = Laptop(tmp_path / "maria", "maria@example.com", clock, teams)
    try:
        own = customers.create_customer(laptop.ws, {"name": "Laptop Kunde"}).value.id
        assert laptop.sync().in_sync
        seen = north.get(f"/customers/{own}").json()
        assert seen["name"] == "Laptop Kunde" and seen["created_by"] == "maria@example.com"

        made = create(north, "/customers", {"name": "API Kunde", "phones": ["+49 30 1234567"]})
        visit = create(
            north,
            "/interactions",
            {
                "customer_id": made["id"],
                "kind": "visit",
                "occurred_at": "2026-11-18T10:00:00+01:00",
                "rep": "maria@example.com",
                "notes": "Logged by the ERP",
                "satisfaction": 4,
            },
        )
        assert visit["occurred_at"] == "2026-11-18T09:00:00.000000Z"
        promise = create(
            north,
            "/followups",
            {
                "customer_id": made["id"],
                "title": "Send the offer",
                "due_at": "2026-11-20T16:00:00Z",
                "assigned_to": "maria@example.com",
            },
        )
        deal = create(
            north,
            "/deals",
            {"customer_id": made["id"], "title": "Press", "value": 12500.5, "currency": "EUR"},
        )
        assert deal["value"] == "12500.50"  # money, as the window writes it
        north.patch(f"/customers/{own}", json={"industry": "printing"}).raise_for_status()

        assert laptop.sync().in_sync
        state = laptop.state()
        assert state[("customer", made["id"])]["name"] == "API Kunde"
        assert state[("customer", made["id"])]["phones"] == [
            {"label": "work", "value": "+49301234567"}
        ]
        assert state[("interaction", visit["id"])]["notes"] == "Logged by the ERP"
        assert state[("followup", promise["id"])]["status"] == "open"
        assert state[("deal", deal["id"])]["title"] == "Press"
        assert state[("customer", own)]["industry"] == "printing"

        # The rep logs a call on the laptop: the feed shows it, as the laptop sent it.
        feed = north.get("/changes", params={"after": 0}).json()
        after = feed["next_after"]
        call = interactions.log_interaction(
            laptop.ws, customer=made["id"], kind="call", notes="Called back"
        ).value.interaction.id
        assert laptop.sync().in_sync
        page = north.get("/changes", params={"after": after}).json()
        [row] = [c for c in page["changes"] if c["record_id"] == call]
        assert row["entity"] == "interaction" and row["author"] == "maria@example.com"
        assert row["fields"]["notes"] == "Called back"
        # The rep's own record of what happened is theirs: the API cannot rewrite it.
        answer = north.patch(f"/interactions/{call}", json={"notes": "rewritten"})
        assert answer.status_code == 409

        # A delete through the API is a delete on the laptop.
        assert north.delete(f"/followups/{promise['id']}").status_code == 204
        assert laptop.sync().in_sync
        assert laptop.state()[("followup", promise["id"])]["deleted_at"] is not None
        assert north.get("/followups").json()["data"] == []
        deleted = north.get("/followups", params={"include_deleted": "true"}).json()["data"]
        assert [f["id"] for f in deleted] == [promise["id"]]
    finally:
        laptop.close()


def test_an_api_edit_racing_a_laptop_edit_is_merged_with_a_conflict(
    teams: HubServer, north: Client, tmp_path: Path, clock: Clock
) -> None:
    laptop = Laptop(tmp_path / "maria", "maria@example.com", clock, teams)
    try:
        own = customers.create_customer(laptop.ws, {"name": "Race GmbH"}).value.id
        assert laptop.sync().in_sync
        customers.edit_customer(laptop.ws, own, {"industry": "laptop value"})
        # Sent half an hour after it was made: the API's edit, made meanwhile, is later.
        clock.advance(minutes=30)
        north.patch(f"/customers/{own}", json={"industry": "api value"}).raise_for_status()
        laptop.sync()
        assert north.get(f"/customers/{own}").json()["industry"] == "api value"
        assert laptop.state()[("customer", own)]["industry"] == "api value"
        [conflict] = laptop.conflicts()
        assert conflict.field == "industry" and conflict.loser_value == "laptop value"
    finally:
        laptop.close()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/customers", {"name": 5}, "name"),
        ("/customers", {"name": "A", "colour": "red"}, "colour"),
        ("/customers", {"name": "A", "created_by": "me"}, "created_by"),
        ("/customers", {"industry": "no name"}, "name"),
        ("/customers", {"name": "A", "kind": "robot"}, "kind"),
        ("/customers", {"name": "A", "tags": "not a list"}, "tags"),
        ("/customers", {"name": "x" * 201}, "name"),
        ("/customers", {"name": "nul\u0000byte"}, "name"),
        ("/customers", {"name": "A", "notes": "n" * 1_200_000}, "notes"),
        ("/customers", {"name": "A", "id": "not-a-uuid"}, "id"),
        ("/customers", {"name": "A", "confirmed_at": "yesterday"}, "confirmed_at"),
        ("/customers", {"name": "A", "confirmed_at": "2026-11-18T10:00:00"}, "confirmed_at"),
        ("/customers", {"name": "A", "yearly_potential": "lots"}, "yearly_potential"),
        ("/customers", {"name": "A", "yearly_potential": True}, "yearly_potential"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    teams: HubServer, north: Client, path: str, body: dict[str, Any], field: str
) -> None:
    before = change_count(teams)
    answer = north.post(path, json=body)
    assert answer.status_code == 422, answer.text
    found = answer.json()
    assert found["field"] == field and found["message"].startswith(f"{field}: ")
    assert "Traceback" not in answer.text
    assert change_count(teams) == before


def test_bad_input_on_children_and_edits(teams: HubServer, north: Client) -> None:
    made = create(north, "/customers", {"name": "Kids Co"})
    visit = {
        "customer_id": made["id"],
        "kind": "visit",
        "occurred_at": "2026-11-18T10:00:00Z",
        "rep": "maria@example.com",
    }
    for bad, field in (
        ({**visit, "satisfaction": 9}, "satisfaction"),
        ({**visit, "satisfaction": "5"}, "satisfaction"),
        ({**visit, "contact_ids": ["00000000-0000-4000-8000-000000000009"]}, "contact_ids"),
        ({**visit, "customer_id": "nope"}, "customer_id"),
        ({k: v for k, v in visit.items() if k != "rep"}, "rep"),
        ({**visit, "rep": "nobody@example.com"}, "rep"),
        ({**visit, "rep": "api:erp north"}, "rep"),
    ):
        answer = north.post("/interactions", json=bad)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    answer = north.post("/interactions", json={**visit, "satisfaction": 9})
    assert answer.json()["message"] == "satisfaction: must be from 1 to 5, not 9"
    answer = north.post("/customers", json={"name": "A", "phones": ["12"]})
    assert answer.json()["field"] == "phones" and "not a" in answer.json()["message"]
    answer = north.patch(f"/customers/{made['id']}", json={"deleted_at": None})
    assert answer.status_code == 422 and answer.json()["field"] == "deleted_at"
    answer = north.patch(f"/customers/{made['id']}", json={})
    assert answer.status_code == 422
    answer = north.post(
        "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and "not valid JSON" in answer.json()["message"]
    answer = north.post("/customers", json=["a", "list"])
    assert answer.status_code == 422
    huge = json.dumps({"name": "A", "notes": "n" * (5 * 1024 * 1024)})
    answer = north.post("/customers", content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    for params, field in (
        ({"cursor": "garbage"}, "cursor"),
        ({"limit": 501}, "limit"),
        ({"updated_since": "last week"}, "updated_since"),
    ):
        answer = north.get("/customers", params=params)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    answer = north.get("/customers", params={"status": "open"})
    assert answer.status_code == 422 and answer.json()["field"] == "status"


def test_paging_meets_every_record_once(teams: HubServer, north: Client) -> None:
    made = {create(north, "/customers", {"name": f"Kunde {i:02}"})["id"] for i in range(23)}
    seen: list[str] = []
    url: str | None = f"{teams.url}{API}/customers?limit=5"
    pages = 0
    while url:
        page = north.get(url).json()
        seen += [c["id"] for c in page["data"]]
        url = page["next"]
        pages += 1
        # A record made while paging, after the cursor, is met too; none twice.
        if pages == 2:
            made.add(create(north, "/customers", {"name": "zz late", "id": LAST_ID})["id"])
    assert pages == 5
    assert len(seen) == len(set(seen)) and set(seen) == made
    assert seen == sorted(seen)

    # The changes feed in pages of 7: every change once, in order.
    after, feed = 0, []
    while True:
        page = north.get("/changes", params={"after": after, "limit": 7}).json()
        feed += [c["server_seq"] for c in page["changes"]]
        after = page["next_after"]
        if not page["more"]:
            break
    assert feed == sorted(set(feed)) and len(feed) == len(made)


def test_filters(teams: HubServer, north: Client) -> None:
    a = create(north, "/customers", {"name": "A"})
    b = create(north, "/customers", {"name": "B"})
    promise = {"title": "Call", "assigned_to": "maria@example.com"}
    late = create(
        north, "/followups", {**promise, "customer_id": a["id"], "due_at": "2020-01-01T09:00:00Z"}
    )
    soon = create(
        north, "/followups", {**promise, "customer_id": b["id"], "due_at": "2999-01-01T09:00:00Z"}
    )
    done = create(
        north, "/followups", {**promise, "customer_id": b["id"], "due_at": "2020-01-01T09:00:00Z"}
    )
    north.patch(f"/followups/{done['id']}", json={"status": "done"}).raise_for_status()

    def ids(**params: Any) -> set[str]:
        answer = north.get("/followups", params=params)
        assert answer.status_code == 200, answer.text
        return {f["id"] for f in answer.json()["data"]}

    assert ids(customer_id=b["id"]) == {soon["id"], done["id"]}
    assert ids(status="open") == {late["id"], soon["id"]}
    assert ids(overdue="true") == {late["id"]}
    assert ids(due_before="2021-01-01T00:00:00Z") == {late["id"], done["id"]}
    assert ids(due_after="2021-01-01T00:00:00Z") == {soon["id"]}
    stamp = north.get(f"/followups/{done['id']}").json()["updated_at"]
    assert ids(updated_since=stamp) == {done["id"]}
    answer = north.get("/customers", params={"overdue": "true"})
    assert answer.status_code == 422 and answer.json()["field"] == "overdue"


def test_a_key_over_its_rate_limit_is_told_when_to_come_back(teams: HubServer) -> None:
    client = Client(teams, make_key(teams, "Chatty", ("north",), "read", per_minute=3))
    for _ in range(3):
        assert client.get("/key").status_code == 200
    answer = client.get("/key")
    assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert int(answer.headers["retry-after"]) >= 1
    # Other keys are not held back.
    other = Client(teams, make_key(teams, "Quiet", ("north",), "read"))
    assert other.get("/key").json() == {
        "name": "Quiet",
        "teams": ["north"],
        "scope": "read",
        "per_minute": apikeys.DEFAULT_PER_MINUTE,
    }
    client.close()
    other.close()


def test_a_key_is_no_person(teams: HubServer, north: Client) -> None:
    create(north, "/customers", {"name": "Service Co"})
    emails = [u.email for u in accounts.list_users(teams.engine)]
    assert "api:erp north" not in emails
    assert team_members(teams.engine, "north") == ["maria@example.com"]
    with teams.engine.connect() as conn:
        assert fleet.list_devices(conn, None, datetime.now(UTC)) == []
        author = conn.execute(select(records.c.data)).scalars().first()["created_by"]
    assert author == "api:erp north"
    # It can never sign in: no password works, and no enrollment token is made for it.
    assert accounts.check_password(teams.engine, "api:erp north", "!api-key") is None
    with pytest.raises(accounts.AccountError):
        accounts.create_enrollment(teams.engine, "api:erp north", accounts.parse_lifetime("1d"))


def test_openapi_document_and_docs_page(teams: HubServer) -> None:
    spec = httpx.get(f"{teams.url}{API}/openapi.json").json()
    assert spec["info"]["title"] == "Touchpoint Hub integration API"
    for path in ("/customers", "/customers/{record_id}", "/followups", "/deals", "/changes"):
        assert path in spec["paths"]
    assert set(spec["paths"]["/customers/{record_id}"]) == {"get", "patch", "delete"}
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    create = spec["paths"]["/followups"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "due_at" in spec["components"]["schemas"][body.split("/")[-1]]["properties"]
    page = httpx.get(f"{teams.url}{API}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script" not in page.text and "cdn" not in page.text.lower()
    assert "GET /api/v1/changes" in page.text and "Idempotency-Key" in page.text
    assert "curl" in page.text


def test_the_feed_is_what_a_laptop_of_the_same_team_pulls(
    teams: HubServer, north: Client, south: Client
) -> None:
    made = create(north, "/customers", {"name": "Feed GmbH"})
    create(
        north, "/contacts", {"customer_id": made["id"], "name": "Anna", "phones": ["+4930123456"]}
    )
    create(south, "/customers", {"name": "Not north"})
    north.patch(f"/customers/{made['id']}", json={"status": "active"}).raise_for_status()
    signed = httpx.post(
        f"{teams.url}/v1/login",
        headers={PROTOCOL_HEADER: "1"},
        json={"email": "maria@example.com", "password": PASSWORD, "device_id": str(uuid.uuid4())},
    )
    token = signed.json()["token"]
    pulled = httpx.get(
        f"{teams.url}/v1/pull",
        params={"after": 0, "limit": 1000},
        headers={PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"},
    ).json()
    feed = north.get("/changes", params={"after": 0, "limit": 1000}).json()
    assert len(feed["changes"]) == 3
    assert feed["changes"] == pulled["changes"]
    assert (feed["next_after"], feed["more"]) == (pulled["next_after"], pulled["more"])


def test_the_same_write_sent_twice_at_once_is_made_once(teams: HubServer, north: Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {"name": "Twins GmbH"}

    def send(_n: int) -> httpx.Response:
        with httpx.Client(headers=north.http.headers, timeout=30) as http:
            return http.post(
                f"{teams.url}{API}/customers", json=body, headers={"Idempotency-Key": "twins"}
            )

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert [c["name"] for c in north.get("/customers").json()["data"]] == ["Twins GmbH"]
    assert change_count(teams) == 1
