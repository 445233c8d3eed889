"""The Hub's sign-in, tokens, protocol check and team scopes, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from harness import PASSWORD, HubServer
from sqlalchemy import select

from touchpoint.hub import accounts
from touchpoint.hub.cli import main
from touchpoint.hub.db import tokens
from touchpoint.sync.protocol import PROTOCOL_HEADER

V = {PROTOCOL_HEADER: "1"}
DEVICE = "11111111-1111-1111-1111-111111111111"


def login(
    hub: HubServer, email: str, password: str = PASSWORD, device: str = DEVICE
) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/v1/login",
        headers=V,
        json={"email": email, "password": password, "device_id": device},
    )


def auth(token: str) -> dict[str, str]:
    return {**V, "Authorization": f"Bearer {token}"}


def hello(hub: HubServer, token: str, device: str = DEVICE) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/v1/hello",
        headers=auth(token),
        json={"protocol": 1, "device_id": device, "client_time": "2026-11-18T09:30:00.000000Z"},
    )


def test_health_and_openapi(hub: HubServer) -> None:
    assert httpx.get(f"{hub.url}/health").json()["status"] == "ok"
    paths = httpx.get(f"{hub.url}/openapi.json").json()["paths"]
    assert {"/v1/login", "/v1/hello", "/v1/push", "/v1/pull"} <= set(paths)


def test_login_gives_a_token_stored_only_as_a_hash(hub: HubServer) -> None:
    hub.add_user("ana@example.com")
    answer = login(hub, "ana@example.com")
    assert answer.status_code == 200
    token = answer.json()["token"]
    with hub.engine.connect() as conn:
        stored = conn.execute(select(tokens.c.token_hash)).scalars().all()
    assert token not in stored and accounts.hash_token(token) in stored
    assert hello(hub, token).status_code == 200


def test_wrong_password_and_unknown_user_are_refused_alike(hub: HubServer) -> None:
    hub.add_user("ana@example.com")
    wrong = login(hub, "ana@example.com", "not the password")
    nobody = login(hub, "nobody@example.com")
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()


def test_revoked_and_disabled_tokens_stop_at_once(hub: HubServer) -> None:
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = login(hub, "ana@example.com").json()["token"]
    ben = login(hub, "ben@example.com").json()["token"]
    token_id = next(
        t["id"] for t in accounts.list_tokens(hub.engine) if t["email"].startswith("ana")
    )
    assert accounts.revoke_token(hub.engine, int(token_id))
    assert hello(hub, ana).status_code == 401
    accounts.disable_user(hub.engine, "ben@example.com")
    assert hello(hub, ben).status_code == 401
    assert login(hub, "ben@example.com").status_code == 401


def test_a_token_works_only_for_its_own_device(hub: HubServer) -> None:
    hub.add_user("ana@example.com")
    token = login(hub, "ana@example.com").json()["token"]
    assert hello(hub, token, device="22222222-2222-2222-2222-222222222222").status_code == 403


@pytest.mark.parametrize("version", [None, "0", "99"])
def test_other_protocol_versions_get_update_touchpoint(hub: HubServer, version: str | None) -> None:
    headers = {} if version is None else {PROTOCOL_HEADER: version}
    answer = httpx.post(
        f"{hub.url}/v1/login",
        headers=headers,
        json={"email": "x@example.com", "password": "x", "device_id": DEVICE},
    )
    assert answer.status_code == 426
    assert answer.json()["error"] == "update"
    assert "update Touchpoint" in answer.json()["message"]


def test_hub_cli_adds_users_from_stdin_and_lists_teams(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli-hub.sqlite3'}"

    def hub_cli(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, [*args, "--db", db], input=stdin)

    assert hub_cli("init").exit_code == 0
    added = hub_cli(
        "user", "add", "mia@example.com", "--role", "manager", "--team", "south",
        "--team", "north", stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    short = hub_cli(
        "user", "add", "leo@example.com", "--role", "rep", "--team", "x", stdin="short\n"
    )
    assert short.exit_code != 0 and "password" in short.stderr
    listed = hub_cli("teams")
    assert listed.exit_code == 0, listed.stderr
    assert "north: mia@example.com (manager)" in listed.stdout
    assert "south: mia@example.com (manager)" in listed.stdout
