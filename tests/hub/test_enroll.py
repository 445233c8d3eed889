"""Enrollment tokens: made by `touchpoint-hub enroll`, traded once for a device token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from click.testing import CliRunner
from harness import HubServer
from sqlalchemy import select

from touchpoint.hub import accounts
from touchpoint.hub.cli import main as hub_cli
from touchpoint.sync.protocol import PROTOCOL_HEADER

V = {PROTOCOL_HEADER: "1"}
DEVICE = "22222222-2222-2222-2222-222222222222"


def enroll(
    hub: HubServer, token: str, *, email: str | None = None, headers: dict[str, str] = V
) -> httpx.Response:
    body: dict[str, object] = {
        "enrollment_token": token,
        "device_id": DEVICE,
        "device_name": "maria-laptop",
    }
    if email is not None:
        body["email"] = email
    return httpx.post(f"{hub.url}/v1/enroll", headers=headers, json=body)


def hello(hub: HubServer, device_token: str) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/v1/hello",
        headers={**V, "Authorization": f"Bearer {device_token}"},
        json={"protocol": 1, "device_id": DEVICE, "client_time": "2026-11-18T09:30:00.000000Z"},
    )


def hub_command(hub: HubServer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(hub_cli, [*args, "--db", hub.db_url])
    return result.exit_code, result.stdout, result.stderr


def test_the_enroll_command_prints_a_token_the_hub_keeps_only_hashed(hub: HubServer) -> None:
    hub.add_user("maria@example.com")
    code, out, err = hub_command(hub, "enroll", "maria@example.com", "--expires", "2d")
    assert code == 0, err
    token = out.strip()
    assert len(token) >= 40 and "\n" not in token
    assert "maria@example.com" in err and "valid until" in err
    with hub.engine.connect() as conn:
        stored = conn.execute(select(accounts.enrollments)).one()
    assert stored.token_hash == accounts.hash_token(token) and token not in tuple(stored)
    made = datetime.strptime(stored.created_at, "%Y-%m-%dT%H:%M:%S.%fZ")
    until = datetime.strptime(stored.expires_at, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert until - made == timedelta(days=2)


def test_the_enroll_command_refuses_unknown_disabled_users_and_bad_lifetimes(
    hub: HubServer,
) -> None:
    hub.add_user("maria@example.com")
    hub.add_user("ben@example.com")
    accounts.disable_user(hub.engine, "ben@example.com")
    code, _out, err = hub_command(hub, "enroll", "nobody@example.com")
    assert code == 1 and "email: no user nobody@example.com" in err
    code, _out, err = hub_command(hub, "enroll", "ben@example.com")
    assert code == 1 and "email: ben@example.com is disabled" in err
    for bad in ("soon", "0d", "200d"):
        code, _out, err = hub_command(hub, "enroll", "maria@example.com", "--expires", bad)
        assert code == 1 and "expires:" in err, bad
    assert accounts.list_enrollments(hub.engine) == []


def test_a_token_signs_in_one_device_once(hub: HubServer) -> None:
    hub.add_user("maria@example.com", teams=("north",))
    made = accounts.create_enrollment(hub.engine, "Maria@Example.com", timedelta(days=7))
    first = enroll(hub, made.token)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["email"] == "maria@example.com" and answer["teams"] == ["north"]
    assert hello(hub, answer["token"]).status_code == 200
    listed = accounts.list_tokens(hub.engine)
    assert [(t["device_id"], t["device_name"]) for t in listed] == [(DEVICE, "maria-laptop")]

    again = enroll(hub, made.token)
    assert again.status_code == 401
    assert again.json()["error"] == "auth"
    assert len(accounts.list_tokens(hub.engine)) == 1
    (row,) = accounts.list_enrollments(hub.engine)
    assert row["used_at"] and row["device_name"] == "maria-laptop"


def test_expired_unknown_and_disabled_users_tokens_are_refused_alike(hub: HubServer) -> None:
    hub.add_user("maria@example.com")
    hub.add_user("ben@example.com")
    long_ago = datetime.now(UTC) - timedelta(days=3)
    expired = accounts.create_enrollment(
        hub.engine, "maria@example.com", timedelta(days=1), now=long_ago
    )
    disabled = accounts.create_enrollment(hub.engine, "ben@example.com", timedelta(days=7))
    accounts.disable_user(hub.engine, "ben@example.com")
    answers = [
        enroll(hub, expired.token),
        enroll(hub, disabled.token),
        enroll(hub, "not-a-token-anyone-made"),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert accounts.list_tokens(hub.engine) == []


def test_a_token_for_someone_else_is_refused_and_stays_usable(hub: HubServer) -> None:
    hub.add_user("maria@example.com")
    made = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(hours=1))
    assert enroll(hub, made.token, email="ben@example.com").status_code == 401
    assert enroll(hub, made.token, email="maria@example.com").status_code == 200


def test_enroll_checks_the_protocol_version(hub: HubServer) -> None:
    hub.add_user("maria@example.com")
    made = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(hours=1))
    old = enroll(hub, made.token, headers={PROTOCOL_HEADER: "99"})
    assert old.status_code == 426 and old.json()["error"] == "update"
    assert enroll(hub, made.token).status_code == 200  # not used up by the refused call
