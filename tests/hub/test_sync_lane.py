"""The sync lane (touchpoint.hub.lane) answers hello, push and pull exactly as the routes do.

Every request below goes to two apps on one Hub database: the Hub as served (with the
lane) and the same app without the lane (FastAPI's routes only). Their answers must be
the same, for the laptops' own requests and for everything odd a client could send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from harness import HubServer, now_utc
from sqlalchemy import Text, cast, literal, select
from sqlalchemy.types import JSON as JSON_TYPE

from touchpoint.hub import accounts, db, exchange, lane
from touchpoint.hub.app import create_app
from touchpoint.hub.db import make_engine, users, write
from touchpoint.storage.types import to_utc_text
from touchpoint.sync import transport
from touchpoint.sync.protocol import MAX_BATCH, MAX_PUSH_BYTES, PROTOCOL_HEADER, PULL_LINES

JSON = {"Content-Type": "application/json"}


class Pair:
    """The same requests to the Hub with and without its lane."""

    def __init__(self, hub: HubServer) -> None:
        hub.add_user("lane@example.com", teams=("north",))
        self.device = str(uuid.uuid4())
        with write(hub.engine) as conn:
            user = conn.execute(select(users).where(users.c.email == "lane@example.com")).one()
            self.token, self.who = accounts._issue_token(conn, user, self.device, "laptop")
        laned, plain = create_app(hub.engine), create_app(hub.engine)
        assert isinstance(laned.sync_lane, lane.SyncLane)
        plain.sync_lane = None
        self.laned = TestClient(laned, raise_server_exceptions=False)
        self.plain = TestClient(plain, raise_server_exceptions=False)
        self.headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {self.token}"}

    def both(self, method: str, url: str, **kw: Any) -> tuple[Any, Any]:
        kw["headers"] = self.headers | kw.get("headers", {})
        return self.laned.request(method, url, **kw), self.plain.request(method, url, **kw)

    def same(self, method: str, url: str, **kw: Any) -> int:
        """Both answers alike (status and body); the status."""
        laned, plain = self.both(method, url, **kw)
        assert laned.status_code == plain.status_code, (laned.text, plain.text)
        assert _timeless(laned.json()) == _timeless(plain.json())
        return laned.status_code

    def close(self) -> None:
        self.laned.close()
        self.plain.close()


def _timeless(answer: Any) -> Any:
    """An answer without the Hub's clock readings (two requests are never at one time)."""
    if isinstance(answer, dict):
        return {k: v for k, v in answer.items() if k not in ("server_time", "clock_offset_ms")}
    return answer


@pytest.fixture
def pair(hub: HubServer) -> Iterator[Pair]:
    found = Pair(hub)
    yield found
    found.close()


def _change(seq: int, **over: Any) -> dict[str, Any]:
    return {
        "change_id": str(uuid.uuid4()),
        "seq": seq,
        "tx_id": str(uuid.uuid4()),
        "entity": "customer",
        "record_id": str(uuid.uuid4()),
        "op": "insert",
        "fields": {"name": [None, "Acme"], "kind": [None, "organisation"]},
        "at": to_utc_text(now_utc()),
        "author": "lane@example.com",
        "schema_version": "0008",
        **over,
    }


def test_pulls_odd_or_plain_get_the_routes_answers(pair: Pair) -> None:
    statuses = [
        pair.same("GET", url)
        for url in (
            "/v1/pull",
            "/v1/pull?after=0&limit=5",
            "/v1/pull?after=-1",
            "/v1/pull?limit=0",
            "/v1/pull?limit=100000",
            "/v1/pull?after=%31",  # "1", escaped
            "/v1/pull?after=1&after=2",
            "/v1/pull?after=+1",
            "/v1/pull?after=1.0",
            "/v1/pull?after=&limit=",
            "/v1/pull?after=1&other=x",
            f"/v1/pull?after={2**63}",
        )
    ]
    assert statuses.count(200) >= 4 and 422 in statuses
    # Headers: no token, a wrong one, another protocol, a header sent twice.
    assert pair.same("GET", "/v1/pull", headers={"Authorization": ""}) == 401
    assert pair.same("GET", "/v1/pull", headers={"Authorization": "Bearer nope"}) == 401
    assert pair.same("GET", "/v1/pull", headers={"Authorization": "Basic abc"}) == 401
    assert pair.same("GET", "/v1/pull", headers={PROTOCOL_HEADER: "2"}) == 426
    assert pair.same("GET", "/v1/pull", headers={PROTOCOL_HEADER: "x"}) in (422, 426)
    twice = [
        (PROTOCOL_HEADER, "7"),
        (PROTOCOL_HEADER, "1"),
        ("Authorization", pair.headers["Authorization"]),
    ]
    laned = pair.laned.get("/v1/pull", headers=twice)
    plain = pair.plain.get("/v1/pull", headers=twice)
    assert laned.status_code == plain.status_code and laned.json() == plain.json()


def test_hellos_odd_or_plain_get_the_routes_answers(pair: Pair) -> None:
    hello = {"protocol": 1, "device_id": pair.device, "client_time": to_utc_text(now_utc())}
    laned, plain = pair.both("POST", "/v1/hello", json=hello)
    assert laned.status_code == plain.status_code == 200
    assert {
        k: v for k, v in laned.json().items() if k not in ("server_time", "clock_offset_ms")
    } == {k: v for k, v in plain.json().items() if k not in ("server_time", "clock_offset_ms")}
    assert laned.json()["teams"] == ["north"] and laned.json()["email"] == "lane@example.com"
    odd = [
        {"content": b"not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"", "headers": {"Content-Type": "application/json"}},
        {"content": json.dumps(hello).encode(), "headers": {"Content-Type": "text/plain"}},
        {
            "content": json.dumps(hello).encode("utf-16"),
            "headers": {"Content-Type": "application/json"},
        },
        {"json": hello | {"device_id": str(uuid.uuid4())}},  # another device's: 403
        {"json": hello | {"client_time": "9999-12-31T23:00:00Z"}},  # 422 in words
        {"json": hello | {"client_time": 5}},
        {"json": hello | {"report": {"waiting": -1}}},
        {"json": [hello]},
        {"content": b'{"protocol": NaN}', "headers": {"Content-Type": "application/json"}},
    ]
    statuses = [pair.same("POST", "/v1/hello", **kw) for kw in odd]
    assert 403 in statuses and 422 in statuses
    assert statuses.count(200) == 1  # JSON in UTF-16 is JSON to json.loads


def test_pushes_odd_or_plain_get_the_routes_answers(pair: Pair) -> None:
    body = {"device_id": pair.device, "client_time": to_utc_text(now_utc())}
    # Pushed once through each app: the same answer (the second is told "duplicate").
    change = _change(1)
    laned = pair.laned.post("/v1/push", json=body | {"changes": [change]}, headers=pair.headers)
    plain = pair.plain.post("/v1/push", json=body | {"changes": [change]}, headers=pair.headers)
    assert laned.status_code == plain.status_code == 200
    [first], [second] = laned.json()["results"], plain.json()["results"]
    assert first["status"] == "applied" and second["status"] == "duplicate"
    assert first["server_seq"] == second["server_seq"]
    odd = [
        {"json": body | {"changes": []}},
        {"json": body | {"changes": [_change(2) | {"seq": "x"}]}},
        {"json": body | {"changes": [_change(2)] * (MAX_BATCH + 1)}},
        {"json": body | {"client_time": "9999-12-31T23:59:59.000000Z", "changes": []}},
        {"json": body | {"device_id": str(uuid.uuid4()), "changes": []}},
        {"json": {"changes": []}},
        {"content": b'{"device_id": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
        {"content": b"[", "headers": {"Content-Type": "application/json"}},
    ]
    statuses = [pair.same("POST", "/v1/push", **kw) for kw in odd]
    assert statuses[0] == 200 and 403 in statuses and 422 in statuses


def test_a_body_over_the_limit_and_an_unexpected_error_get_the_apps_answers(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane stands in front of the app's middleware: what they do for a sync request
    (refuse a body too big, answer and log a failure) it does alike."""
    # A push in the laptops' shape, but over the size the Hub takes.
    change = _change(2, fields={"name": [None, "x" * MAX_PUSH_BYTES]})
    body = {"device_id": pair.device, "client_time": to_utc_text(now_utc()), "changes": [change]}
    big = json.dumps(body).encode()
    laned, plain = pair.both("POST", "/v1/push", content=big, headers=JSON)
    assert laned.status_code == plain.status_code == 413
    assert laned.text == plain.text

    def broken(*_a: Any, **_kw: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(exchange, "pull_json", broken)
    assert pair.same("GET", "/v1/pull") == 500


def test_a_revoked_token_stops_at_the_next_request_through_the_lane(pair: Pair) -> None:
    assert pair.same("GET", "/v1/pull") == 200
    accounts.revoke_token(pair.laned.app.state.engine, pair.who.token_id)
    assert pair.same("GET", "/v1/pull") == 401
    hello = {"protocol": 1, "device_id": pair.device, "client_time": to_utc_text(now_utc())}
    assert pair.same("POST", "/v1/hello", json=hello) == 401
    body = {"device_id": pair.device, "client_time": to_utc_text(now_utc()), "changes": []}
    assert pair.same("POST", "/v1/push", json=body) == 401


def test_a_pooled_connection_killed_while_idle_costs_no_request(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle in the pool is checked before use (one used a moment ago is not:
    see touchpoint.hub.db.PING_AFTER_IDLE_S); a dead one is replaced, unseen."""
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite opens a new connection for each use")
    engine = make_engine(hub.db_url)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with hub.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()


def test_account_changes_reach_both_nodes_at_their_next_request(hub: HubServer) -> None:
    """Two Hub nodes (apps with their own pools) on one database: a team taken away, a new
    role, a revoked token and a disabled user count at the very next request on either,
    whichever node the laptop used just before."""
    hub.add_user("two@example.com", teams=("north", "south"))
    device = str(uuid.uuid4())
    with write(hub.engine) as conn:
        user = conn.execute(select(users).where(users.c.email == "two@example.com")).one()
        token, who = accounts._issue_token(conn, user, device, "laptop")
        second = str(uuid.uuid4())
        other, _ = accounts._issue_token(conn, user, second, "second laptop")
    engines = [make_engine(hub.db_url) for _ in range(2)]
    nodes = [TestClient(create_app(e), raise_server_exceptions=False) for e in engines]
    headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"}

    def hello(node: TestClient, bearer: str = token, laptop: str = device) -> Any:
        body = {"protocol": 1, "device_id": laptop, "client_time": to_utc_text(now_utc())}
        auth = {"Authorization": f"Bearer {bearer}"}
        return node.post("/v1/hello", json=body, headers=headers | auth)

    def pushed_to(node: TestClient, team_of: str) -> int:
        """A customer pushed for ``team_of`` (a new one goes to the home team, the first)."""
        body = {
            "device_id": device,
            "client_time": to_utc_text(now_utc()),
            "changes": [_change(1, fields={"name": [None, team_of], "kind": [None, "person"]})],
        }
        answer = node.post("/v1/push", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["server_seq"]

    def pulled(node: TestClient) -> Any:
        return node.get("/v1/pull?after=0&limit=100", headers=headers)

    try:
        for node in nodes:  # both nodes have read this caller once
            assert hello(node).json()["teams"] == ["north", "south"]
            assert pulled(node).status_code == 200
        seq = pushed_to(nodes[0], "north")  # the home team: north
        assert [c["server_seq"] for c in pulled(nodes[1]).json()["changes"]] == [seq]

        accounts.edit_user(hub.engine, "two@example.com", remove_teams=["north"])
        for node in nodes:
            assert hello(node).json()["teams"] == ["south"]
            assert pulled(node).json()["changes"] == []  # north's customer: out of sight
        accounts.edit_user(hub.engine, "two@example.com", role="manager")
        assert [hello(node).json()["role"] for node in nodes] == ["manager", "manager"]

        accounts.revoke_token(hub.engine, who.token_id)
        for node in nodes:
            assert hello(node).status_code == 401
            assert pulled(node).status_code == 401
            empty = {"device_id": device, "client_time": to_utc_text(now_utc()), "changes": []}
            assert node.post("/v1/push", json=empty, headers=headers).status_code == 401
        # The user's other laptop still works, until the user is disabled.
        assert [hello(node, other, second).status_code for node in nodes] == [200, 200]
        accounts.disable_user(hub.engine, "two@example.com")
        assert [hello(node, other, second).status_code for node in nodes] == [401, 401]
    finally:
        for node in nodes:
            node.close()
        for engine in engines:
            engine.dispose()


def test_a_pull_as_json_lines_is_the_same_page_through_the_lane_and_the_routes(
    pair: Pair, hub: HubServer
) -> None:
    """A laptop asks for its pages as JSON lines (read a line at a time); an odd value of
    ``lines`` is refused alike; stored JSON written over several lines stays one line,
    and stored JSON holding what marks the end of a change is not cut there."""
    body = {"device_id": pair.device, "client_time": to_utc_text(now_utc())}
    notes = {"notes": [None, 'Two lines:\n},{"server_seq": "quoted"']}
    sent = [_change(1), _change(2, fields=_change(2)["fields"] | notes), _change(3)]
    pushed = pair.laned.post("/v1/push", json=body | {"changes": sent}, headers=pair.headers)
    assert [r["status"] for r in pushed.json()["results"]] == ["applied"] * 3
    # As another tool could have stored them: a list of objects like changes, and JSON
    # written over several lines.
    sent[1]["fields"]["tags"] = [None, [{"a": 1}, {"server_seq": 2, "op": "insert"}]]
    stored = {
        sent[1]["record_id"]: json.dumps(sent[1]["fields"], separators=(",", ":")),
        sent[2]["record_id"]: json.dumps(sent[2]["fields"], indent=2),
    }
    with write(hub.engine) as conn:
        for record_id, fields in stored.items():
            text = literal(fields, Text)
            value = cast(text, JSON_TYPE) if conn.dialect.name == "postgresql" else text
            conn.execute(
                db.changes.update().where(db.changes.c.record_id == record_id).values(fields=value)
            )
    whole = pair.plain.get("/v1/pull?after=0&limit=2", headers=pair.headers)
    expected = transport.PullPage.parse(whole.content)
    for answer in pair.both("GET", "/v1/pull?after=0&limit=2&lines=1"):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == PULL_LINES
        head, *rows = answer.content.split(b"\n")[:-1]
        assert json.loads(head)["count"] == len(rows) == 2
        assert transport.PullPage.parse(answer.content, lines=True) == expected
    assert expected.changes[1]["fields"] == sent[1]["fields"]
    rest = [r.content for r in pair.both("GET", "/v1/pull?after=2&lines=1")]
    assert rest[0] == rest[1] and rest[0].count(b"\n") == 2  # the head, one change
    page = transport.PullPage.parse(rest[0], lines=True)
    assert page.changes[0]["fields"] == sent[2]["fields"] and page.more is False
    statuses = [pair.same("GET", f"/v1/pull?lines={odd}") for odd in ("2", "-1", "x", "")]
    assert statuses == [422] * 4
