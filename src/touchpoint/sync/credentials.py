"""The device token lives in the OS keyring (service "touchpoint"), never in a file."""

from __future__ import annotations

import contextlib

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

SERVICE = "touchpoint"


def _account(server: str, email: str) -> str:
    return f"{email}@{server.rstrip('/')}"


def save_token(server: str, email: str, token: str) -> None:
    keyring.set_password(SERVICE, _account(server, email), token)


def load_token(server: str, email: str) -> str | None:
    try:
        return keyring.get_password(SERVICE, _account(server, email))
    except KeyringError:
        return None


def delete_token(server: str, email: str) -> None:
    with contextlib.suppress(PasswordDeleteError, KeyringError):
        keyring.delete_password(SERVICE, _account(server, email))
