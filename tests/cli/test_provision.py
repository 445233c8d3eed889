"""`touchpoint provision`: silent set-up against a real Hub on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import sys
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from harness import HubServer, Laptop, start_hub

from touchpoint.hub import accounts
from touchpoint.services import customers
from touchpoint.services.provisioning import first_run_state
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub("sqlite", tmp_path)
    server.add_user("maria@example.com", teams=("north",))
    server.add_user("ben@example.com", teams=("north",))
    yield server
    stop()


Touchpoint = Any  # tests/cli/conftest.py's runner


@pytest.fixture
def fresh(tp: Touchpoint, tmp_path: Path, clock: Any) -> Touchpoint:
    """A laptop where Touchpoint never ran: no database, no settings."""
    return type(tp)(tmp_path / "fresh", clock)


def settings_of(tp: Touchpoint) -> dict[str, Any]:
    return tomllib.loads((tp.data_dir / "config" / "settings.toml").read_text())


def state_of(tp: Touchpoint) -> Any:
    with Workspace.open(tp.data_dir, auto_backup=False) as ws:
        return first_run_state(ws)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_input_names_each_option_exits_1_and_writes_nothing(
    fresh: Touchpoint, tmp_path: Path
) -> None:
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("hello")
    out = fresh(
        "provision",
        "--server",
        "hub.example.com",
        "--email",
        "maria@",
        "--timezone",
        "Mars/Olympus",
        "--ca-bundle",
        str(not_pem),
        "--enrollment-token",
        "short",
        code=1,
    )
    lines = out.stderr.splitlines()
    for option in ("--server", "--email", "--timezone", "--ca-bundle", "--enrollment-token"):
        assert any(line.startswith(f"error: {option}: ") for line in lines), option
    assert not (fresh.data_dir / "touchpoint.sqlite3").exists()
    assert not (fresh.data_dir / "config" / "settings.toml").exists()

    missing = fresh("provision", "--email", "maria@example.com", code=1)
    assert "--server" in missing.stderr
    unknown = fresh("provision", "--server", "https://hub.example.com", "--colour", code=1)
    assert "--colour" in unknown.stderr


def test_without_a_token_it_records_the_hub_for_the_first_start_and_is_idempotent(
    fresh: Touchpoint, tmp_path: Path
) -> None:
    ca = tmp_path / "corp-ca.pem"
    ca.write_text(CA_PEM)
    args = (
        "provision",
        "--server",
        "HTTPS://Hub.Example.com:8600/",
        "--email",
        "Maria@Example.com",
        "--display-name",
        "Maria Lopez",
        "--timezone",
        "Europe/Madrid",
        "--ca-bundle",
        str(ca),
        "--no-demo",
    )
    first = fresh(*args)
    assert "window asks for the password" in first.stdout
    assert (fresh.data_dir / "touchpoint.sqlite3").exists()
    written = settings_of(fresh)
    assert written["user"] == "maria@example.com"
    assert written["display_name"] == "Maria Lopez" and written["timezone"] == "Europe/Madrid"
    state = state_of(fresh)
    assert state.server == "https://hub.example.com:8600" and state.email == "maria@example.com"
    assert state.ca_bundle == str(ca.resolve())
    assert not state.signed_in and state.show and not state.demo_allowed
    settings_bytes = (fresh.data_dir / "config" / "settings.toml").read_bytes()

    again = fresh(*args, "--json")
    report = json.loads(again.stdout)
    assert report["signed_in"] is False and report["server"] == "https://hub.example.com:8600"
    assert (fresh.data_dir / "config" / "settings.toml").read_bytes() == settings_bytes
    assert state_of(fresh) == state
    log_text = (fresh.data_dir / "logs" / "touchpoint.log").read_text()
    assert "provision: hub https://hub.example.com:8600" in log_text
    assert "Maria@" not in log_text and "maria@example.com" not in log_text


def test_an_enrollment_token_signs_in_syncs_once_and_a_rerun_changes_nothing(
    fresh: Touchpoint, hub: HubServer, tmp_path: Path, clock: Any
) -> None:
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    made = customers.create_customer(ben.ws, {"name": "Müller Bau GmbH"})
    assert ben.sync().in_sync
    ben.close()
    token = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1)).token

    args = ("provision", "--server", hub.url, "--enrollment-token", token, "--timezone", "UTC")
    first = fresh(*args, "--sync")
    assert "Signed in" in first.stdout and "First sync done" in first.stdout
    assert settings_of(fresh)["user"] == "maria@example.com"
    assert credentials.load_token(hub.url, "maria@example.com")
    with Workspace.open(fresh.data_dir, auto_backup=False) as ws:
        assert customers.get_customer(ws, made.value.id).name == "Müller Bau GmbH"
        assert not first_run_state(ws).show
    assert token not in (fresh.data_dir / "logs" / "touchpoint.log").read_text()

    # The same script again: the kept device token still works, the used one is not sent.
    again = fresh(*args)
    assert "Already signed in" in again.stdout
    mine = [t for t in accounts.list_tokens(hub.engine) if t["email"] == "maria@example.com"]
    assert len(mine) == 1


def test_a_refused_token_or_an_unreachable_hub_exits_2_and_writes_nothing(
    fresh: Touchpoint, hub: HubServer, clock: Any, tmp_path: Path
) -> None:
    token = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1)).token
    other = type(fresh)(tmp_path / "other", clock)
    other("provision", "--server", hub.url, "--enrollment-token", token)

    used = fresh(
        "provision", "--server", hub.url, "--enrollment-token", token, "--display-name", "M", code=2
    )
    assert "error: hub: --enrollment-token: the Hub refused it" in used.stderr
    assert not (fresh.data_dir / "config" / "settings.toml").exists()
    assert state_of(fresh).server == ""

    gone = f"http://127.0.0.1:{closed_port()}"
    down = fresh("provision", "--server", gone, "--enrollment-token", token, code=2)
    assert "cannot reach the Hub" in down.stderr


def test_sync_without_a_sign_in_is_bad_input(fresh: Touchpoint, hub: HubServer) -> None:
    out = fresh("provision", "--server", hub.url, "--email", "maria@example.com", "--sync", code=1)
    assert "error: --sync: needs --enrollment-token" in out.stderr


def test_a_locked_policy_refuses_another_hub(
    fresh: Touchpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = pytest.importorskip("touchpoint.policy")
    file = tmp_path / "policy.toml"
    file.write_text(
        '[hub]\nserver = "https://hub.corp.example"\nlocked = true\n'
        '[settings]\ntimezone = "Europe/Berlin"\n'
    )
    monkeypatch.setenv(policy.POLICY_ENV, str(file))
    out = fresh(
        "provision", "--server", "https://elsewhere.example", "--timezone", "Asia/Tokyo", code=1
    )
    assert "error: --server: this computer's policy locks the Hub address" in out.stderr
    assert "error: --timezone: this computer's policy sets it to 'Europe/Berlin'" in out.stderr
    fresh("provision", "--server", "https://hub.corp.example/")
    state = state_of(fresh)
    assert state.server == "https://hub.corp.example" and state.server_locked


def test_the_token_may_come_from_the_environment_and_must_match_a_given_email(
    fresh: Touchpoint, hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1)).token
    monkeypatch.setenv("TOUCHPOINT_ENROLLMENT_TOKEN", token)
    other = fresh("provision", "--server", hub.url, "--email", "ben@example.com", code=2)
    assert "--enrollment-token: the Hub refused it" in other.stderr
    done = fresh("provision", "--server", hub.url, "--email", "maria@example.com", "--json")
    assert json.loads(done.stdout)["enrolled"] is True
    assert credentials.load_token(hub.url, "maria@example.com")


def test_no_keyring_refuses_before_the_token_is_spent(fresh: Touchpoint, hub: HubServer) -> None:
    import keyring
    from keyring.backends import fail

    token = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1)).token
    keyring.set_keyring(fail.Keyring())
    out = fresh("provision", "--server", hub.url, "--enrollment-token", token, code=1)
    assert "error: keyring: no OS keyring" in out.stderr
    (row,) = accounts.list_enrollments(hub.engine)
    assert row["used_at"] is None


def test_a_revoked_device_token_is_replaced_by_a_new_enrollment(
    fresh: Touchpoint, hub: HubServer
) -> None:
    first = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1))
    fresh("provision", "--server", hub.url, "--enrollment-token", first.token)
    (kept,) = accounts.list_tokens(hub.engine)
    assert accounts.revoke_token(hub.engine, int(kept["id"]))  # type: ignore[call-overload]

    second = accounts.create_enrollment(hub.engine, "maria@example.com", timedelta(days=1))
    again = fresh("provision", "--server", hub.url, "--enrollment-token", second.token, "--json")
    assert json.loads(again.stdout)["enrolled"] is True
    active = [t for t in accounts.list_tokens(hub.engine) if not t["revoked_at"]]
    assert len(active) == 1
    assert credentials.load_token(hub.url, "maria@example.com") not in (None, "")
    assert fresh("sync").exit_code == 0


def test_a_plain_http_hub_elsewhere_is_refused_unless_allowed(fresh: Touchpoint) -> None:
    out = fresh(
        "provision", "--server", "http://hub.example.com:8600", "--email", "maria@example.com",
        code=1,
    )  # fmt: skip
    assert "error: --server: " in out.stderr and "not encrypted" in out.stderr
    assert "--allow-http" in out.stderr
    assert not (fresh.data_dir / "config" / "settings.toml").exists()
    fresh(
        "provision", "--server", "http://hub.example.com:8600", "--email", "maria@example.com",
        "--allow-http",
    )  # fmt: skip
    assert (fresh.data_dir / "config" / "settings.toml").exists()
