"""What of this laptop's sync needs someone's attention, counted and listed.

- **waiting**: changes typed here that the Hub has not accepted yet: not sent, or sent
  and asked to wait because a record they name has not reached the Hub;
- **refused**: changes the Hub refused for good, until their author fixes the record or
  dismisses them (``sync_conflicts.dismiss_rejected``);
- **set aside**: changes pulled from the Hub that this laptop could not apply; kept
  with the reason and tried again at each sync.

A laptop is in sync only when nothing is waiting or refused. These figures also go to
the Hub in each hello (:func:`device_report`), for IT's view of the fleet.
"""

from __future__ import annotations

import json
import platform
import socket
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.storage.models import Change, Meta, SetAside, SyncConflict
from touchpoint.storage.workspace import Workspace

DISMISSED_KEY = "sync_rejected_dismissed"


def dismissed_ids(session: Session) -> list[str]:
    row = session.get(Meta, DISMISSED_KEY)
    return list(json.loads(row.value)) if row is not None else []


def waiting_count(ws: Workspace) -> int:
    with ws.read() as session:
        return int(
            session.execute(
                select(func.count()).select_from(Change).where(Change.pushed_at.is_(None))
            ).scalar_one()
        )


def refused_count(ws: Workspace) -> int:
    """Changes refused for good whose author has not dismissed them."""
    with ws.read() as session:
        query = select(func.count()).where(
            Change.push_error.is_not(None), Change.pushed_at.is_not(None)
        )
        dismissed = dismissed_ids(session)
        if dismissed:
            query = query.where(Change.change_id.not_in(dismissed))
        return int(session.execute(query).scalar_one())


def set_aside_count(ws: Workspace) -> int:
    with ws.read() as session:
        return int(session.execute(select(func.count()).select_from(SetAside)).scalar_one())


@dataclass(frozen=True)
class SetAsideChange:
    """A pulled change this laptop could not apply, for the window and ``status``."""

    server_seq: int
    entity: str
    record_id: str
    reason: str
    set_aside_at: datetime
    tries: int
    will_retry: bool


def set_aside_changes(ws: Workspace, *, limit: int = 200) -> list[SetAsideChange]:
    with ws.read() as session:
        rows = session.scalars(select(SetAside).order_by(SetAside.server_seq).limit(limit))
        return [
            SetAsideChange(
                r.server_seq, r.entity, r.record_id, r.reason, r.set_aside_at, r.tries, r.retry
            )
            for r in rows
        ]


def device_report(ws: Workspace) -> dict[str, object]:
    """This laptop's own figures for the Hub (see ``protocol.DeviceReport``)."""
    from touchpoint.storage import encryption

    with ws.read() as session:
        conflicts = int(
            session.execute(
                select(func.count())
                .select_from(SyncConflict)
                .where(SyncConflict.resolved_at.is_(None))
            ).scalar_one()
        )
        last = session.get(Meta, "sync_last_at")
    database = ws.paths.database
    try:
        size = database.stat().st_size
        encrypted = encryption.is_encrypted(database)
    except OSError:
        size, encrypted = None, None
    policy = ws.policy
    return {
        "waiting": waiting_count(ws),
        "refused": refused_count(ws),
        "set_aside": set_aside_count(ws),
        "conflicts": conflicts,
        "last_sync_at": last.value if last is not None else None,
        "os": platform.platform()[:200],
        "device_name": socket.gethostname()[:200],
        "encrypted": encrypted,
        "db_bytes": size,
        "policy": str(policy.path)[:500] if policy.status == "loaded" else None,
    }
