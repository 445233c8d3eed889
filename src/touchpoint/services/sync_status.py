"""What the window's status bar says about sync, read without loading the sync engine.

The engine brings the HTTP client and the protocol models with it (a quarter of a
second to import); the status bar only needs a few facts from this database and
whether the keyring still holds a token, so they are read here directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.services.sync_conflicts import rejected_count
from touchpoint.storage.models import Change, Meta
from touchpoint.storage.types import from_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.attention import set_aside_count

# The keys the sync engine keeps its account and last sync under (a test checks they agree).
SERVER_KEY = "sync_server"
EMAIL_KEY = "sync_email"
LAST_SYNC_KEY = "sync_last_at"


@dataclass(frozen=True)
class SyncState:
    account: str | None  # "maria@example.com at hub.example.com", or None: never set up
    last_sync: datetime | None
    unsynced: int  # changes not yet sent to the Hub
    signed_in: bool = False  # False after signing out: changes wait for the next sign-in
    rejected: int = 0  # changes the Hub refused that the user has not dismissed
    set_aside: int = 0  # changes from the Hub this laptop could not apply


def has_account(ws: Workspace) -> bool:
    """Whether a Hub account is kept (the engine's ``signed_in_account``), read without
    loading the engine and its HTTP client: a laptop never signed in never loads them."""
    with ws.read() as session:
        kept = _kept(session, SERVER_KEY, EMAIL_KEY)
    return bool(kept.get(SERVER_KEY) and kept.get(EMAIL_KEY))


def _kept(session: Session, *keys: str) -> dict[str, str]:
    """The values kept under ``keys`` (those set)."""
    return dict(session.execute(select(Meta.key, Meta.value).where(Meta.key.in_(keys))).all())


def sync_state(ws: Workspace) -> SyncState:
    """Cheap enough to read after every write."""
    with ws.read() as session:
        meta = _kept(session, SERVER_KEY, EMAIL_KEY, LAST_SYNC_KEY)
        unsynced = int(
            session.execute(
                select(func.count()).select_from(Change).where(Change.pushed_at.is_(None))
            ).scalar_one()
        )
    server, email = meta.get(SERVER_KEY), meta.get(EMAIL_KEY)
    last = meta.get(LAST_SYNC_KEY)
    if not server or not email:
        return SyncState(None, None, unsynced)
    from touchpoint.sync import credentials  # keyring: only once an account exists

    return SyncState(
        account=f"{email} at {urlsplit(server).hostname or server}",
        last_sync=from_utc_text(last) if last else None,
        unsynced=unsynced,
        signed_in=bool(credentials.load_token(server, email)),
        rejected=rejected_count(ws),
        set_aside=set_aside_count(ws),
    )
