"""Signing in on a computer with no keyring: a clear refusal, and no live token left on
the Hub that nobody can use or revoke from this laptop."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from harness import PASSWORD, HubServer
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordSetError

from touchpoint.cli.main import cli
from touchpoint.hub import accounts
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import sign_in, signed_in_account
from touchpoint.sync.errors import KeyringUnavailable


class LockedKeyring(KeyringBackend):
    """A keyring that is there but refuses to store anything (a locked wallet)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the wallet is locked")

    def delete_password(self, service: str, username: str) -> None:
        return None


@pytest.fixture
def no_keyring() -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def live_tokens(hub: HubServer) -> list[dict[str, object]]:
    return [t for t in accounts.list_tokens(hub.engine) if t["revoked_at"] is None]


def test_no_keyring_refuses_before_asking_the_hub(
    hub: HubServer, tmp_path: Path, no_keyring: None
) -> None:
    hub.add_user("ana@example.com")
    ws = Workspace.open(tmp_path / "ana", auto_backup=False)
    with pytest.raises(KeyringUnavailable, match="no keyring to keep the sign-in"):
        sign_in(ws, hub.url, "ana@example.com", PASSWORD)
    assert accounts.list_tokens(hub.engine) == []  # the Hub was never asked
    assert signed_in_account(ws) is None
    ws.close()


def test_a_keyring_that_refuses_the_token_gets_it_revoked(hub: HubServer, tmp_path: Path) -> None:
    hub.add_user("ana@example.com")
    before = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        ws = Workspace.open(tmp_path / "ana", auto_backup=False)
        with pytest.raises(KeyringUnavailable, match="the wallet is locked"):
            sign_in(ws, hub.url, "ana@example.com", PASSWORD)
        ws.close()
    finally:
        keyring.set_keyring(before)
    issued = accounts.list_tokens(hub.engine)
    assert len(issued) == 1 and issued[0]["revoked_at"] is not None


def test_login_command_says_so_in_words(hub: HubServer, tmp_path: Path, no_keyring: None) -> None:
    from click.testing import CliRunner

    hub.add_user("ana@example.com")
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path / "ana"), "login", "--server", hub.url,
         "--email", "ana@example.com"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "error: keyring: this computer has no keyring" in result.output
    assert "Traceback" not in result.output
    assert live_tokens(hub) == []


def test_the_sign_in_dialog_does_not_blame_the_server() -> None:
    from touchpoint.ui.sign_in_dialog import _problem

    field, words = _problem(KeyringUnavailable("keyring: none"))
    assert field == "password"
    assert "no keyring" in words and "server" not in words.lower()
