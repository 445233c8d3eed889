"""Signed webhooks: the Hub tells other systems what changed, as it is pushed.

Events come from the ``changes`` log laptops pull (``server_seq`` order is commit
order), through a cursor kept per endpoint: nothing committed is missed, and a Hub
restarted resumes where it stopped. A pass of the dispatcher turns new changes into
``webhook_deliveries`` rows (one per endpoint and event, with the exact body), then
sends what is due, each endpoint in a thread of its own so a slow or dead receiver
holds up only its own deliveries.

Each POST is signed as the widely used payment-provider scheme does it:
``Touchpoint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
A 2xx answer is delivered; anything else is retried with exponential backoff and
jitter until a day after the delivery was first due, then it is failed (and may be
replayed). Two dispatchers on one database never send one delivery twice: each
claims a delivery with one conditional UPDATE before sending it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from touchpoint import __version__
from touchpoint.errors import ValidationError
from touchpoint.hub.db import (
    changes,
    counter,
    is_sqlite,
    read,
    records,
    teams,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_lease,
    write,
)
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import new_id
from touchpoint.storage.types import to_utc_text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Touchpoint-Signature"
EVENT_HEADER = "Touchpoint-Event"
DELIVERY_HEADER = "Touchpoint-Delivery"
TIMEOUT = 10.0  # seconds for one POST, connecting included
RETRY_FOR = timedelta(hours=24)  # retried until this long after first due, then failed
FIRST_RETRY = 30.0  # seconds; doubled at each failure ...
LONGEST_WAIT = 3600.0  # ... up to an hour between tries
CLAIM = timedelta(seconds=TIMEOUT + 50)  # a claim outlives the POST it covers
SCAN_BATCH = 500  # changes read per endpoint per pass
SEND_BATCH = 50  # deliveries one endpoint's thread sends per pass
LEASE = timedelta(seconds=30)
IDLE_RECHECK = 1.0  # seconds a dispatcher that found no active endpoint trusts that
DISABLE_ENV = "TOUCHPOINT_HUB_WEBHOOKS"  # "off": `serve` starts no dispatcher

ENTITIES = ("customer", "contact", "interaction", "followup", "deal")
ACTIONS = {
    "customer": ("created", "updated", "deleted", "merged"),
    "contact": ("created", "updated", "deleted", "merged"),
    "interaction": ("created", "updated", "deleted"),
    "followup": ("created", "updated", "completed", "deleted"),
    "deal": ("created", "updated", "deleted"),
}
EVENTS = tuple(f"{entity}.{action}" for entity in ENTITIES for action in ACTIONS[entity])
_EVENT_IDS = uuid.UUID("5b0c6f1e-7a0e-4c55-9a51-3f3c1d7e2b90")  # namespace: stable event ids


class WebhookError(ValidationError):
    """Bad input for a webhook command: names the field and the problem."""


# --- the events of a change ----------------------------------------------------------
def events_of(entity: str, op: str, fields: dict[str, Any]) -> list[str]:
    """The events one change of the log raises (a follow-up completed is also updated)."""
    if entity not in ACTIONS:
        return []  # conflict records, custom field definitions, merge bookkeeping
    if op == "insert":
        return [f"{entity}.created"]
    if fields.get("merged_into_id") and "merged" in ACTIONS[entity]:
        return [f"{entity}.merged"]  # the record merged away (its tombstone comes with it)
    if op == "delete":
        return [f"{entity}.deleted"]
    found = [f"{entity}.updated"]  # an edit, or a restore (deleted_at back to empty)
    if entity == "followup" and fields.get("status") == "done":
        found.append("followup.completed")
    return found


def event_id(change_id: str, event: str) -> str:
    """The same for every endpoint and every retry: receivers deduplicate on it."""
    return str(uuid.uuid5(_EVENT_IDS, f"{change_id}/{event}"))


def parse_events(raw: str | Iterable[str]) -> list[str]:
    """``interaction.created,followup.*`` (or ``*``) checked against the known events."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    wanted = [i.strip().lower() for i in items if i.strip()]
    if not wanted:
        raise WebhookError("events", "name at least one event, e.g. interaction.created")
    for name in wanted:
        if name == "*" or (name.endswith(".*") and name[:-2] in ACTIONS) or name in EVENTS:
            continue
        raise WebhookError(
            "events",
            f"'{name}' is not an event the Hub sends; known: {', '.join(EVENTS)} "
            "(or entity.* for all of an entity, * for all)",
        )
    return sorted(set(wanted))


def wants(subscribed: list[str], event: str) -> bool:
    return (
        "*" in subscribed
        or event in subscribed
        or f"{event.split('.', maxsplit=1)[0]}.*" in subscribed
    )


# --- signing ---------------------------------------------------------------------------
def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Touchpoint-Signature`` header value for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def read_secret(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise WebhookError("--secret-file", f"cannot read {path}: {exc}") from exc
    if len(text) < 16 or len(text) > 200 or any(c.isspace() for c in text):
        raise WebhookError(
            "--secret-file", f"{path}: the secret must be 16 to 200 characters, no spaces"
        )
    return text


def fingerprint(secret: str) -> str:
    """What the Hub shows of a secret after its creation: enough to tell two apart."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


# --- endpoints -------------------------------------------------------------------------
def check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise WebhookError("url", f"'{url}' is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookError("url", f"'{url}' is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise WebhookError(
            "url", "a URL with a user name or password is refused: the signature proves the Hub"
        )
    if len(url) > 2000:
        raise WebhookError("url", "longer than 2000 characters")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None and address.is_link_local:
        # 169.254.169.254 and its kin: cloud metadata services, never a receiver.
        raise WebhookError("url", f"{host} is a link-local address; give the receiver's address")
    return url


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    events: list[str]
    teams: list[str] | None
    state: str
    fingerprint: str
    description: str
    created_at: str
    created_by: str
    pending: int = 0
    failed: int = 0
    delivered: int = 0
    last_at: str | None = None


def add_endpoint(
    engine: Engine,
    url: str,
    events: str | Iterable[str],
    *,
    team_names: Iterable[str] | None,
    secret: str | None,
    created_by: str,
    description: str = "",
    now: datetime | None = None,
) -> tuple[int, str]:
    """A new active endpoint; it sees changes from now on. Returns its id and secret."""
    url = check_url(url)
    wanted = parse_events(events)
    chosen = None if team_names is None else sorted({t.strip() for t in team_names if t.strip()})
    if chosen is not None and not chosen:
        raise WebhookError("team", "name at least one team (or choose every team)")
    if len(description) > 200:
        raise WebhookError("description", "longer than 200 characters")
    secret = secret or new_secret()
    with write(engine) as conn:
        if chosen is not None:
            known = set(conn.execute(select(teams.c.name)).scalars())
            unknown = [t for t in chosen if t not in known]
            if unknown:
                raise WebhookError(
                    "team",
                    f"no team {', '.join(unknown)} on this Hub "
                    f"(teams: {', '.join(sorted(known)) or 'none yet'})",
                )
        start = conn.execute(select(counter.c.value).where(counter.c.id == 1)).scalar_one()
        new = conn.execute(
            insert(webhook_endpoints).values(
                url=url,
                events=wanted,
                teams=chosen,
                secret=secret,
                state="active",
                cursor=int(start),
                description=description.strip(),
                created_at=to_utc_text(now or datetime.now(UTC)),
                created_by=created_by,
            )
        )
        return int(new.inserted_primary_key[0]), secret


def list_endpoints(engine: Engine) -> list[Endpoint]:
    with read(engine) as conn:
        counts: dict[tuple[int, str], int] = {
            (e, s): n
            for e, s, n in conn.execute(
                select(
                    webhook_deliveries.c.endpoint_id,
                    webhook_deliveries.c.status,
                    func.count(),
                ).group_by(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.status)
            )
        }
        last = dict(
            conn.execute(
                select(
                    webhook_deliveries.c.endpoint_id, func.max(webhook_deliveries.c.done_at)
                ).group_by(webhook_deliveries.c.endpoint_id)
            ).all()
        )
        rows = conn.execute(select(webhook_endpoints).order_by(webhook_endpoints.c.id)).all()
    return [
        Endpoint(
            id=r.id,
            url=r.url,
            events=list(r.events),
            teams=list(r.teams) if r.teams is not None else None,
            state=r.state,
            fingerprint=fingerprint(r.secret),
            description=r.description,
            created_at=r.created_at,
            created_by=r.created_by,
            pending=counts.get((r.id, "pending"), 0),
            failed=counts.get((r.id, "failed"), 0),
            delivered=counts.get((r.id, "delivered"), 0),
            last_at=last.get(r.id),
        )
        for r in rows
    ]


def get_endpoint(engine: Engine, endpoint_id: int) -> Endpoint:
    for found in list_endpoints(engine):
        if found.id == endpoint_id:
            return found
    raise WebhookError("endpoint", f"no webhook endpoint {endpoint_id} (see `webhook list`)")


def set_state(engine: Engine, endpoint_id: int, state: str) -> None:
    """Pause (events wait, nothing is sent) or resume (what waited is sent)."""
    with write(engine) as conn:
        done = conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(state=state)
        )
    if done.rowcount != 1:
        raise WebhookError("endpoint", f"no webhook endpoint {endpoint_id} (see `webhook list`)")


def remove_endpoint(engine: Engine, endpoint_id: int) -> None:
    with write(engine) as conn:
        ids = select(webhook_deliveries.c.id).where(webhook_deliveries.c.endpoint_id == endpoint_id)
        conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
        conn.execute(
            delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id)
        )
        done = conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
        if done.rowcount != 1:
            raise WebhookError(
                "endpoint", f"no webhook endpoint {endpoint_id} (see `webhook list`)"
            )


# --- the delivery log ------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    at: str
    code: int | None
    reason: str
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: int
    event_id: str
    event: str
    status: str
    attempts: int
    created_at: str
    next_at: str
    done_at: str | None
    last_code: int | None
    last_reason: str | None
    tries: list[Attempt] = field(default_factory=list)


def deliveries(
    engine: Engine, endpoint_id: int, *, limit: int = 50, status: str | None = None
) -> tuple[list[Delivery], int]:
    """The newest deliveries of an endpoint with their attempts, and how many more there are."""
    get_endpoint(engine, endpoint_id)
    where = [webhook_deliveries.c.endpoint_id == endpoint_id]
    if status:
        where.append(webhook_deliveries.c.status == status)
    with read(engine) as conn:
        total = conn.execute(select(func.count()).where(*where)).scalar_one()
        rows = conn.execute(
            select(webhook_deliveries)
            .where(*where)
            .order_by(webhook_deliveries.c.server_seq.desc(), webhook_deliveries.c.event)
            .limit(limit)
        ).all()
        tries: dict[str, list[Attempt]] = {}
        if rows:
            for a in conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_([r.id for r in rows]))
                .order_by(webhook_attempts.c.id)
            ):
                tries.setdefault(a.delivery_id, []).append(
                    Attempt(a.at, a.code, a.reason, a.duration_ms)
                )
    return [
        Delivery(
            r.id,
            r.endpoint_id,
            r.event_id,
            r.event,
            r.status,
            r.attempts,
            r.created_at,
            r.next_at,
            r.done_at,
            r.last_code,
            r.last_reason,
            tries.get(r.id, []),
        )
        for r in rows
    ], max(0, int(total) - len(rows))


def replay(engine: Engine, delivery_id: str, now: datetime | None = None) -> Delivery:
    """Send a delivery again (failed or delivered): due at once, retried for another day.
    Same event id and body, so a receiver that had it already can tell."""
    at = now or datetime.now(UTC)
    with write(engine) as conn:
        row = conn.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id.strip())
        ).first()
        if row is None:
            raise WebhookError("delivery", f"no webhook delivery {delivery_id}")
        if row.status == "pending":
            raise WebhookError(
                "delivery", f"delivery {delivery_id} is still being tried; it needs no replay"
            )
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == row.id)
            .values(
                status="pending",
                next_at=to_utc_text(at),
                expires_at=to_utc_text(at + RETRY_FOR),
                done_at=None,
                claimed_until=None,
            )
        )
    return Delivery(
        row.id, row.endpoint_id, row.event_id, row.event, "pending", row.attempts,
        row.created_at, to_utc_text(at), None, row.last_code, row.last_reason,
    )  # fmt: skip


@contextmanager
def _dispatching(engine: Engine) -> Iterator[Connection]:
    """A write of the dispatcher's own bookkeeping. On SQLite without waiting for the
    disk at each commit (``synchronous=NORMAL``; WAL keeps it consistent): a commit lost
    to a power cut only makes a delivery be sent again, which receivers must bear anyway
    (same event id), and sends are no longer paced by fsyncs."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.connection.driver_connection.execute("PRAGMA synchronous = NORMAL")
        with write(conn):
            yield conn


# --- scanning the change log -------------------------------------------------------------
# Built once (a statement object keeps its cache key): the dispatcher runs these at every
# pass, and a busy Hub wakes it at every push.
_ACTIVE = select(func.count()).where(webhook_endpoints.c.state == "active")
_BEHIND = select(func.count()).where(
    webhook_endpoints.c.state == "active",
    webhook_endpoints.c.cursor < select(counter.c.value).where(counter.c.id == 1).scalar_subquery(),
)


def any_active(engine: Engine) -> bool:
    """Whether any endpoint is active: with none, a pass has nothing to scan or send."""
    with read(engine) as conn:
        return bool(conn.execute(_ACTIVE).scalar_one())


def scan(engine: Engine, now: datetime) -> int:
    """Turn changes after each active endpoint's cursor into deliveries; how many were made.

    One transaction; on PostgreSQL the endpoint rows are locked (FOR UPDATE), on SQLite
    the write lock is held, so two dispatchers never read the same cursor."""
    with read(engine) as conn:  # most passes find nothing new: no write lock for them
        behind = conn.execute(_BEHIND).scalar_one()
    if not behind:
        return 0
    made = 0
    stamp = to_utc_text(now)
    expires = to_utc_text(now + RETRY_FOR)
    with _dispatching(engine) as conn:
        query = select(webhook_endpoints).where(webhook_endpoints.c.state == "active")
        if not is_sqlite(engine):
            query = query.order_by(webhook_endpoints.c.id).with_for_update()
        for ep in conn.execute(query).all():
            made += _scan_endpoint(conn, ep, stamp, expires)
    return made


def _scan_endpoint(conn: Connection, ep: Any, stamp: str, expires: str) -> int:
    high = int(conn.execute(select(counter.c.value).where(counter.c.id == 1)).scalar_one())
    if high <= ep.cursor:
        return 0
    where = [changes.c.server_seq > ep.cursor]
    if ep.teams is not None:
        where.append(changes.c.team.in_(list(ep.teams) or [""]))
    rows = conn.execute(
        select(changes).where(*where).order_by(changes.c.server_seq).limit(SCAN_BATCH)
    ).all()
    # Nothing more for these teams up to the high-water mark: skip past other teams' rows.
    cursor = rows[-1].server_seq if len(rows) == SCAN_BATCH else high
    wanted = []
    for change in rows:
        for event in events_of(change.entity, change.op, dict(change.fields)):
            if wants(list(ep.events), event):
                wanted.append((change, event))
    current = _current(conn, {(c.entity, c.record_id) for c, _ in wanted})
    made = []
    for change, event in wanted:
        eid = event_id(change.change_id, event)
        body = {
            "id": eid,
            "type": event,
            "created": change.received_at,
            "sequence": change.server_seq,
            "team": change.team,
            "author": change.author,
            "data": {
                "object": {
                    "entity": change.entity,
                    "id": change.record_id,
                    **current.get((change.entity, change.record_id), {}),
                },
                "changed": sorted(dict(change.fields)),
            },
        }
        made.append(
            {
                "id": new_id(),
                "endpoint_id": ep.id,
                "event_id": eid,
                "event": event,
                "server_seq": change.server_seq,
                "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                "status": "pending",
                "attempts": 0,
                "created_at": stamp,
                "next_at": stamp,
                "expires_at": expires,
            }
        )
    if made:
        conn.execute(insert(webhook_deliveries), made)
    conn.execute(
        update(webhook_endpoints).where(webhook_endpoints.c.id == ep.id).values(cursor=cursor)
    )
    return len(made)


def _current(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    found: dict[tuple[str, str], dict] = {}
    ordered = sorted(keys)
    for chunk in chunked(ordered):
        for entity, record_id, data in conn.execute(
            select(records.c.entity, records.c.record_id, records.c.data).where(
                tuple_(records.c.entity, records.c.record_id).in_(chunk)
            )
        ):
            found[(entity, record_id)] = dict(data)
    return found


KEEP = timedelta(days=30)  # delivered and failed deliveries are kept this long


def prune(engine: Engine, now: datetime, keep: timedelta = KEEP) -> int:
    """Forget deliveries finished (delivered or failed) more than ``keep`` ago, with
    their attempts; how many. The log would otherwise grow with every change."""
    before = to_utc_text(now - keep)
    with _dispatching(engine) as conn:
        old = select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.status != "pending", webhook_deliveries.c.done_at < before
        )
        conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(old)))
        gone = conn.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.status != "pending", webhook_deliveries.c.done_at < before
            )
        )
    return int(gone.rowcount or 0)


# --- sending ---------------------------------------------------------------------------
def due_endpoints(engine: Engine, now: datetime) -> list[int]:
    """Active endpoints with a delivery due now."""
    with read(engine) as conn:
        return list(conn.execute(_DUE, {"stamp": to_utc_text(now)}).scalars())


_DUE = (
    select(webhook_deliveries.c.endpoint_id)
    .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
    .where(
        webhook_endpoints.c.state == "active",
        webhook_deliveries.c.status == "pending",
        webhook_deliveries.c.next_at <= bindparam("stamp"),
        or_(
            webhook_deliveries.c.claimed_until.is_(None),
            webhook_deliveries.c.claimed_until < bindparam("stamp"),
        ),
    )
    .distinct()
)


@dataclass
class Tally:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: Tally) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed


def send_endpoint(
    engine: Engine,
    endpoint_id: int,
    now: Callable[[], datetime],
    client: httpx.Client,
    *,
    limit: int = SEND_BATCH,
) -> Tally:
    """Send this endpoint's due deliveries, oldest first. A receiver that cannot be
    reached (no answer, refused, timed out) ends the turn: the rest wait for the next."""
    tally = Tally()
    with read(engine) as conn:
        ep = conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        ).first()
        if ep is None or ep.state != "active":
            return tally
        stamp = to_utc_text(now())
        due = (
            conn.execute(
                select(webhook_deliveries.c.id)
                .where(
                    webhook_deliveries.c.endpoint_id == endpoint_id,
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.next_at <= stamp,
                )
                .order_by(webhook_deliveries.c.next_at, webhook_deliveries.c.server_seq)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    for delivery_id in due:
        claimed = _claim(engine, delivery_id, now())
        if claimed is None:
            continue  # another dispatcher has it
        outcome, reachable = _send(engine, ep, claimed, now, client)
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        if not reachable:
            break
    return tally


def _claim(engine: Engine, delivery_id: str, at: datetime) -> Any:
    stamp = to_utc_text(at)
    with _dispatching(engine) as conn:
        done = conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_at <= stamp,
                or_(
                    webhook_deliveries.c.claimed_until.is_(None),
                    webhook_deliveries.c.claimed_until < stamp,
                ),
            )
            .values(claimed_until=to_utc_text(at + CLAIM))
        )
        if done.rowcount != 1:
            return None
        return conn.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        ).first()


def _send(
    engine: Engine, ep: Any, row: Any, now: Callable[[], datetime], client: httpx.Client
) -> tuple[str, bool]:
    body = row.body.encode()
    timestamp = int(now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Touchpoint-Hub/{__version__}",
        SIGNATURE_HEADER: signature(ep.secret, body, timestamp),
        EVENT_HEADER: row.event,
        DELIVERY_HEADER: row.id,
    }
    code: int | None = None
    reachable = True
    started = time.perf_counter()
    try:
        answer = client.post(ep.url, content=body, headers=headers)
        code = answer.status_code
        answer.close()
        if 200 <= code < 300:
            reason = "delivered"
        elif 300 <= code < 400:
            reason = f"HTTP {code}: redirects are not followed; give the final URL"
        else:
            reason = f"HTTP {code} {answer.reason_phrase}".strip()
    except httpx.TimeoutException:
        reason, reachable = f"no answer within {TIMEOUT:g} seconds", False
    except httpx.ConnectError as exc:
        # "[Errno 111] Connection refused" -> "Connection refused"
        why = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
        reason, reachable = _short(f"could not connect: {why}"), False
    except httpx.HTTPError as exc:
        reason, reachable = _short(f"{type(exc).__name__}: {exc}"), False
    duration = int((time.perf_counter() - started) * 1000)
    at = now()
    ok = code is not None and 200 <= code < 300
    attempts = row.attempts + 1
    if ok:
        values: dict[str, Any] = {"status": "delivered", "done_at": to_utc_text(at)}
        outcome = "delivered"
    elif to_utc_text(at) >= row.expires_at:
        values = {"status": "failed", "done_at": to_utc_text(at)}
        outcome = "failed"
    else:
        wait = min(LONGEST_WAIT, FIRST_RETRY * 2 ** (attempts - 1))
        wait *= random.uniform(0.8, 1.2)
        values = {"next_at": min(to_utc_text(at + timedelta(seconds=wait)), row.expires_at)}
        outcome = "retrying"
    with _dispatching(engine) as conn:
        kept = conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == row.id)
            .values(
                attempts=attempts,
                last_code=code,
                last_reason=_short(reason),
                claimed_until=None,
                **values,
            )
        )
        if kept.rowcount == 1:  # else its endpoint was removed while it was being sent
            conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=row.id,
                    at=to_utc_text(at),
                    code=code,
                    reason=_short(reason),
                    duration_ms=duration,
                )
            )
    if not ok:
        log.info("webhook %s to endpoint %s: %s", row.id, ep.id, reason)
    return outcome, reachable


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


# --- the dispatcher --------------------------------------------------------------------
def make_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        transport=transport,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )


class Dispatcher:
    """Scans the change log and sends deliveries: one pass (:meth:`run_once`, for
    ``webhook deliver``) or in a background thread (:meth:`start`, for ``serve``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        now: Callable[[], datetime] | None = None,
        poll: float = 1.0,
        wake: threading.Event | None = None,
        threads: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.engine = engine
        self.now = now or (lambda: datetime.now(UTC))
        self.poll = poll
        self.wake = wake or threading.Event()
        self.owner = f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._client = make_client(transport)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self._busy: dict[int, Future[Tally]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held_until: datetime | None = None
        self._pruned_at: datetime | None = None
        self._idle_until = -math.inf  # no active endpoint until then (monotonic)

    def run_once(self) -> Tally:
        """Scan, then send everything due, each endpoint on its own thread; waits for all."""
        self._prune_hourly()
        scan(self.engine, self.now())
        jobs = [self._submit(e) for e in due_endpoints(self.engine, self.now())]
        total = Tally()
        for job in jobs:
            if job is not None:
                total.add(job.result())
        return total

    def _submit(self, endpoint_id: int) -> Future[Tally] | None:
        held = self._busy.get(endpoint_id)
        if held is not None and not held.done():
            return None  # still sending: a slow receiver keeps only its own thread
        job = self._pool.submit(send_endpoint, self.engine, endpoint_id, self.now, self._client)
        job.add_done_callback(_log_failure)
        self._busy[endpoint_id] = job
        return job

    def holds_lease(self) -> bool:
        """Take or renew the one dispatcher lease of this database (renewed once half of
        it has run: most passes write nothing for it)."""
        at = self.now()
        if self._held_until is not None and at < self._held_until - LEASE / 2:
            return True
        with _dispatching(self.engine) as conn:
            done = conn.execute(
                update(webhook_lease)
                .where(
                    webhook_lease.c.id == 1,
                    or_(
                        webhook_lease.c.owner == self.owner,
                        webhook_lease.c.until.is_(None),
                        webhook_lease.c.until < to_utc_text(at),
                    ),
                )
                .values(owner=self.owner, until=to_utc_text(at + LEASE))
            )
        self._held_until = at + LEASE if done.rowcount == 1 else None
        return self._held_until is not None

    def _loop(self) -> None:
        tried = -math.inf  # when this process last failed to take the lease (monotonic)
        while not self._stop.is_set():
            try:
                # Another process holds the lease: it can only expire, so try again once
                # per poll, not at every push this process takes.
                if time.monotonic() - tried >= self.poll or self._held_until is not None:
                    if self.holds_lease():
                        self._pass()
                    else:
                        tried = time.monotonic()
            except Exception:  # the dispatcher outlives a database hiccup
                log.exception("webhook dispatcher pass failed")
            idle = self._idle_until - time.monotonic()
            if self._held_until is None or idle > 0:
                # Not the dispatcher, or no endpoint to send to: a push changes neither,
                # so it wakes no thread (hundreds a second on a busy Hub, each worker's).
                self._stop.wait(self.poll if self._held_until is None else min(idle, self.poll))
            else:
                self.wake.wait(self.poll)
            self.wake.clear()

    def _pass(self) -> None:
        self._prune_hourly()
        # No endpoint: nothing to do until one is added (by any process), which is seen
        # within a second; the pushes meanwhile wake the dispatcher for nothing.
        if time.monotonic() < self._idle_until:
            return
        if not any_active(self.engine):
            self._idle_until = time.monotonic() + min(self.poll, IDLE_RECHECK)
            return
        scan(self.engine, self.now())
        for endpoint_id in due_endpoints(self.engine, self.now()):
            self._submit(endpoint_id)

    def _prune_hourly(self) -> None:
        at = self.now()
        if self._pruned_at is None or at - self._pruned_at > timedelta(hours=1):
            prune(self.engine, at)
            self._pruned_at = at

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        with write(self.engine) as conn:  # let another process take over at once
            conn.execute(
                update(webhook_lease)
                .where(webhook_lease.c.id == 1, webhook_lease.c.owner == self.owner)
                .values(owner=None, until=None)
            )

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _log_failure(job: Future[Tally]) -> None:
    # A database error while sending: the claims run out and the deliveries are retried.
    if not job.cancelled() and job.exception() is not None:
        log.error("webhook sending failed", exc_info=job.exception())


def serve_dispatcher(engine: Engine, wake: threading.Event) -> Dispatcher | None:
    """The dispatcher ``serve`` runs in each worker (one of them holds the lease)."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in {"off", "0", "no"}:
        return None
    return Dispatcher(engine, wake=wake).start()
