"""A push on the Hub: one batch in one transaction, idempotent per change id, answered in order.

A push is one transaction. On PostgreSQL it locks the records it reads (``FOR
UPDATE``), so pushes touching different records merge at the same time, and only
at the end bumps the counter row, which it then holds until it commits: the
short part that numbers and writes the change log is serialised, and every row
gets a ``server_seq`` in commit order. (SQLite's write lock, taken by ``BEGIN
IMMEDIATE``, serialises whole pushes.) Two pushes of the same new change id meet
at its unique key; the later one is run again and answers "duplicate".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from touchpoint.hub import door
from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import received, write
from touchpoint.hub.exchange.applying import apply_change
from touchpoint.hub.exchange.checks import Rejected, Waiting
from touchpoint.hub.exchange.log import PushLog
from touchpoint.storage.models import MODEL_BY_ENTITY
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.sync.protocol import ChangeIn, PushResult

# Built once (a statement object keeps its cache key): every push runs it.
_RECEIVED = select(received).where(received.c.change_id.in_(bindparam("ids", expanding=True)))


def push(
    conn: Connection,
    authorize: Callable[[Connection], Principal],
    *,
    device_id: str,
    client_time: str,
    batch: list[ChangeIn],
    server_now: datetime,
) -> list[PushResult]:
    """Apply one batch in one transaction; answers in the batch's order. ``authorize``
    checks the caller inside that transaction (it raises when they may not push)."""
    try:
        door.check_time("client_time", client_time)
        offset = server_now - from_utc_text(client_time)
    except (ValueError, door.Refused) as exc:
        raise Rejected(f"client_time: {client_time[:40]!r} is not a UTC time in range") from exc
    for attempt in range(PUSH_ATTEMPTS):
        try:
            with write(conn):
                who = authorize(conn)
                return push_once(
                    conn, who, device_id=device_id, batch=batch, offset=offset, now=server_now
                )
        except (DBAPIError, psycopg.Error) as exc:
            # The same change pushed twice at once (its key taken meanwhile), or two
            # pushes that locked the same records: run again on what is committed now.
            if attempt == PUSH_ATTEMPTS - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


PUSH_ATTEMPTS = 5


def _retryable(exc: DBAPIError | psycopg.Error) -> bool:
    code = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    # unique_violation, deadlock_detected, serialization_failure
    return isinstance(exc, IntegrityError) or code in ("23505", "40P01", "40001")


def push_once(
    conn: Connection,
    who: Principal,
    *,
    device_id: str,
    batch: list[ChangeIn],
    offset: timedelta,
    now: datetime,
) -> list[PushResult]:
    stamp = to_utc_text(now)
    log = PushLog(conn, stamp)
    ids = [c.change_id for c in batch]
    seen = {r.change_id: r for r in conn.execute(_RECEIVED, {"ids": ids})} if ids else {}
    results: list[PushResult] = []
    accepted: list[dict[str, Any]] = []
    last_seq = 0
    log.prefetch(_referenced_ids(batch))
    for change in batch:
        try:
            door.check_change(change)
        except door.Refused as exc:
            # Malformed: refused again whenever it comes, so no answer is kept for it
            # (its change id may not even fit the table of answers).
            results.append(
                PushResult(change_id=change.change_id, status="rejected", error=str(exc))
            )
            continue
        last_seq = max(last_seq, change.seq)
        old = seen.get(change.change_id)
        if old is not None:
            results.append(
                PushResult(
                    change_id=change.change_id,
                    status="duplicate" if old.status == "applied" else "rejected",
                    server_seq=old.server_seq,
                    error=old.error,
                )
            )
            continue
        # Checks come before any change to the cached state, so a rejection leaves
        # nothing behind: no savepoint needed.
        try:
            seq = apply_change(conn, log, who, device_id=device_id, change=change, offset=offset)
        except Waiting as exc:
            results.append(_rejection(log, who, change, str(exc), retry=True))
            continue
        except Rejected as exc:
            results.append(_rejection(log, who, change, str(exc)))
            accepted.append(
                {
                    "change_id": change.change_id,
                    "device_id": device_id,
                    "status": "rejected",
                    "server_seq": None,
                    "error": str(exc),
                }
            )
        else:
            accepted.append(
                {
                    "change_id": change.change_id,
                    "device_id": device_id,
                    "status": "applied",
                    "server_seq": seq,
                    "error": None,
                }
            )
            results.append(PushResult(change_id=change.change_id, status="applied", server_seq=seq))
        last = results[-1]
        seen[change.change_id] = SimpleNamespace(
            status="applied" if last.status != "rejected" else "rejected",
            server_seq=last.server_seq,
            error=last.error,
        )
    device = {
        "device_id": device_id,
        "user_id": who.user_id,
        "last_seq": last_seq,
        "clock_offset_ms": int(offset.total_seconds() * 1000),
        "last_seen": stamp,
    }
    log.close(accepted, device)
    # Numbers handed out in this batch, now known: shift them past the counter.
    fresh = {a["change_id"] for a in accepted if a["status"] == "applied"}
    for r in results:
        if r.change_id in fresh and r.server_seq is not None:  # also a repeat in this batch
            r.server_seq += log.base
    return results


def _referenced_ids(batch: list[ChangeIn]) -> set[str]:
    """The records a batch touches or points at, to load them in one query."""
    ids = set()
    for change in batch:
        ids.add(change.record_id)
        for name in door.ID_FIELDS:
            pair = change.fields.get(name)
            if pair and isinstance(pair[1], str):
                ids.add(pair[1])
        pair = change.fields.get("contact_ids")
        if pair and isinstance(pair[1], list):
            ids.update(c for c in pair[1] if isinstance(c, str))
    return ids


def _rejection(
    log: PushLog, who: Principal, change: ChangeIn, error: str, *, retry: bool = False
) -> PushResult:
    current = None
    if change.entity in MODEL_BY_ENTITY:
        row = log.load(change.entity, change.record_id)
        if row is not None and who.may_see(row.team):
            current = row.data
    return PushResult(
        change_id=change.change_id, status="rejected", error=error, current=current, retry=retry
    )
