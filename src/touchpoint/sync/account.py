"""Signing in to a Hub, and the sync bookkeeping this laptop keeps in its Meta table."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.storage.models import Meta
from touchpoint.storage.types import from_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.errors import KeyringUnavailable, SyncError
from touchpoint.sync.protocol import LoginRequest
from touchpoint.sync.transport import HubClient

log = logging.getLogger(__name__)

CURSOR_KEY = "sync_cursor"
SERVER_KEY = "sync_server"
EMAIL_KEY = "sync_email"
CA_KEY = "sync_ca_bundle"
LAST_SYNC_KEY = "sync_last_at"
SCOPE_KEY = "sync_scope"  # "role:team,team" this laptop last pulled with


# --- local metadata ---------------------------------------------------------------------
def read_meta(session: Session, key: str) -> str | None:
    return session.execute(select(Meta.value).where(Meta.key == key)).scalar()


def write_meta(session: Session, key: str, value: str | None) -> None:
    row = session.get(Meta, key)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


@dataclass(frozen=True)
class Account:
    server: str
    email: str
    ca_bundle: str | None


def signed_in_account(ws: Workspace) -> Account | None:
    with ws.read() as session:
        server = read_meta(session, SERVER_KEY)
        email = read_meta(session, EMAIL_KEY)
        ca = read_meta(session, CA_KEY)
    if not server or not email:
        return None
    return Account(server, email, ca or None)


def hub_reachable(ws: Workspace, *, timeout: float = 5.0) -> bool:
    """Whether the Hub this laptop signed in to answers its health check: the cheap
    question asked before a sync is tried again after being offline."""
    account = signed_in_account(ws)
    if account is None:
        return False
    try:
        with HubClient(
            account.server, ca_bundle=account.ca_bundle, timeout=timeout, policy=ws.policy
        ) as client:
            client.health()
    except SyncError:
        return False
    return True


def last_sync_at(ws: Workspace) -> datetime | None:
    with ws.read() as session:
        value = read_meta(session, LAST_SYNC_KEY)
    return from_utc_text(value) if value else None


def sign_in(
    ws: Workspace,
    server: str,
    email: str,
    password: str,
    *,
    ca_bundle: str | None = None,
    transport: Any = None,
) -> Account:
    """Trade email and password for a device token, kept in the keyring."""
    account = hub_login(ws, server, email, password, ca_bundle=ca_bundle, transport=transport)
    remember_account(ws, account)
    return account


def hub_login(
    ws: Workspace,
    server: str,
    email: str,
    password: str,
    *,
    ca_bundle: str | None = None,
    transport: Any = None,
) -> Account:
    """Signing in's talk with the Hub: the device token, kept in the keyring. Nothing is
    written to the database (:func:`remember_account` does that), so the window runs
    this off its database thread and the write on it."""
    from touchpoint.policy import check_hub_server

    check_hub_server(server, ws.policy)  # a locked policy allows its own Hub only
    credentials.require_keyring()  # before the Hub issues a token with nowhere to keep it
    server = server.rstrip("/")
    with HubClient(server, ca_bundle=ca_bundle, transport=transport, policy=ws.policy) as client:
        answer = client.login(
            LoginRequest(
                email=email, password=password, device_id=ws.device_id, device_name=_host()
            )
        )
    try:
        credentials.save_token(server, answer.email, answer.token)
    except KeyringUnavailable:
        # The keyring failed after all: hand the token back rather than leave it live.
        with (
            contextlib.suppress(SyncError),
            HubClient(
                server,
                token=answer.token,
                ca_bundle=ca_bundle,
                transport=transport,
                policy=ws.policy,
            ) as client,
        ):
            client.logout()
        raise
    return Account(server, answer.email, ca_bundle)


def remember_account(ws: Workspace, account: Account) -> None:
    """The account signed in to, kept here: the author of changes and the Meta keys."""
    if ws.settings.user != account.email:
        # Changes are signed by the Hub account: make this laptop's author the same.
        ws.update_settings(replace(ws.settings, user=account.email))
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        if read_meta(s, SERVER_KEY) != account.server or read_meta(s, EMAIL_KEY) != account.email:
            write_meta(s, CURSOR_KEY, "0")  # another Hub or user: pull everything again
        write_meta(s, SERVER_KEY, account.server)
        write_meta(s, EMAIL_KEY, account.email)
        write_meta(s, CA_KEY, account.ca_bundle)
        uow.commit()


def sign_out(ws: Workspace, *, transport: Any = None) -> Account | None:
    """Forget the token (revoked on the Hub when reachable). Waiting changes stay queued."""
    account = signed_in_account(ws)
    if account is None:
        return None
    token = credentials.load_token(account.server, account.email)
    if token:
        try:
            with HubClient(
                account.server,
                token=token,
                ca_bundle=account.ca_bundle,
                transport=transport,
                policy=ws.policy,
            ) as client:
                client.logout()
        except SyncError as exc:
            log.info("could not revoke the token on the Hub: %s", exc.kind)
    credentials.delete_token(account.server, account.email)
    return account


def _host() -> str:
    import socket

    return socket.gethostname()[:200]
