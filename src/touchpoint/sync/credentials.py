"""The device token lives in the OS keyring (service "touchpoint"), never in a file."""

from __future__ import annotations

import contextlib

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

from touchpoint.sync.errors import KeyringUnavailable

SERVICE = "touchpoint"


def _account(server: str, email: str) -> str:
    return f"{email}@{server.rstrip('/')}"


def require_keyring() -> None:
    """Refuse before signing in when there is nowhere safe to keep the device token:
    the Hub would issue a token that nobody could use or revoke from this laptop."""
    from keyring.backends import fail

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration
        raise KeyringUnavailable(_NO_KEYRING.format(reason=exc)) from exc
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable(_NO_KEYRING.format(reason="no keyring service is running"))


_NO_KEYRING = (
    "keyring: this computer has no keyring to keep the sign-in in ({reason}); "
    "sign in from your desktop session (GNOME Keyring, KWallet, Windows Credential "
    "Manager or the macOS Keychain), or ask IT"
)


def save_token(server: str, email: str, token: str) -> None:
    try:
        keyring.set_password(SERVICE, _account(server, email), token)
    except KeyringError as exc:
        raise KeyringUnavailable(_NO_KEYRING.format(reason=exc)) from exc


def load_token(server: str, email: str) -> str | None:
    try:
        return keyring.get_password(SERVICE, _account(server, email))
    except KeyringError:
        return None


def delete_token(server: str, email: str) -> None:
    with contextlib.suppress(PasswordDeleteError, KeyringError):
        keyring.delete_password(SERVICE, _account(server, email))
