"""A seeded model of a company against a real Hub: three teams, six laptops, random work.

Creates, edits, deletes, merges and unmerges within and across teams; a rep taken out
of a team and put back; laptop clocks jumping hours either way; connections cut before
and after the Hub committed; malformed pushes from a hostile client; laptops killed in
the middle of a sync. Then everyone syncs, and the model's promises are checked:

- every laptop holds exactly the Hub's records of its scope (no more, no less, equal);
- no change is lost or duplicated: each change a laptop made is on the Hub once, or is
  refused and listed for its author to see;
- no laptop is stuck: nothing set aside, nothing waiting, every laptop in sync once its
  author has dismissed what the Hub refused.

A kill happens at one of the sync engine's crash points: an exception no handler in
the engine catches unwinds the sync with its open transaction uncommitted, as SIGKILL
leaves it, and the laptop's database is opened again as a restarted app would. (A real
SIGKILL at each point, in a process of its own, is tests/sync/test_sync_crash.py.)

Used by tests/sync/test_sync_model.py (a few seeds) and
tests/benchmarks/bench_sync_model.py (many).
"""

from __future__ import annotations

import contextlib
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import (
    PASSWORD,
    Clock,
    FaultTransport,
    HubServer,
    Laptop,
    hub_change_count,
    now_utc,
)
from sqlalchemy import select

from touchpoint.errors import TouchpointError
from touchpoint.hub import accounts
from touchpoint.hub.db import records
from touchpoint.services import customers, duplicates, interactions
from touchpoint.services.sync_conflicts import dismiss_rejected, rejected_changes
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, Customer, Interaction
from touchpoint.storage.types import to_utc_text
from touchpoint.sync.attention import set_aside_count
from touchpoint.sync.protocol import CONFLICT_ENTITY, PROTOCOL_HEADER

FAULTS = ["drop_request", "drop_answer", "duplicate", "timeout", "5xx", "503_after"]
WORDS = ["roofing", "retail", "logistics", "dairy", "tools", "print", "solar"]
# Who is where: x works for north and south; the manager sees all three teams.
PEOPLE = {
    "n1@example.com": ("rep", ("north",)),
    "n2@example.com": ("rep", ("north",)),
    "s1@example.com": ("rep", ("south",)),
    "e1@example.com": ("rep", ("east",)),
    "x@example.com": ("rep", ("north", "south")),
    "m@example.com": ("manager", ("east", "north", "south")),
}
# Where the engine says it is: after the Hub committed a push and before this laptop
# knows, while acknowledging, after a page arrived, before and after applying it.
CRASH_POINTS = ["pushed", "acknowledging", "acknowledged", "pulled", "applying", "applied"]


class Killed(BaseException):
    """The laptop's process ends here (no ``except Exception`` in the engine stops it)."""


def _kill_during_sync(laptop: Laptop, rng: random.Random) -> str:
    point = rng.choice(CRASH_POINTS)

    def crash(name: str) -> None:
        if name == point:
            raise Killed(point)

    try:
        laptop.sync(crash_point=crash, attempts=1)
    except Killed:
        laptop.restart()
        return "killed"
    return "kill point not reached"


POISON = [
    {"name": "Evil\ud800"},
    {"name": "a\x00b"},
    {"notes": "n" * 1_100_000},
    {"confirmed_at": "9999-12-31T00:00:00.000000Z"},
]


def _live(laptop: Laptop, model: type) -> list[str]:
    with laptop.ws.read() as s:
        query = select(model.id).where(model.deleted_at.is_(None))
        if hasattr(model, "merged_into_id"):
            query = query.where(model.merged_into_id.is_(None))
        return sorted(s.scalars(query))


def _poison(hub: HubServer, rng: random.Random) -> None:
    """A hostile client with n1's password pushes something no laptop could read."""
    device = str(uuid.uuid4())
    with httpx.Client(base_url=hub.url, headers={PROTOCOL_HEADER: "1"}, timeout=30) as http:
        token = http.post(
            "/v1/login",
            json={"email": "n1@example.com", "password": PASSWORD, "device_id": device},
        ).json()["token"]
        fields = {"name": "Poison", "kind": "organisation", "status": "active"}
        fields |= rng.choice(POISON)
        change = {
            "change_id": str(uuid.uuid4()),
            "seq": 1,
            "tx_id": str(uuid.uuid4()),
            "entity": "customer",
            "record_id": str(uuid.uuid4()),
            "op": "insert",
            "fields": {k: [None, v] for k, v in fields.items()},
            "at": to_utc_text(now_utc()),
            "author": "n1@example.com",
            "schema_version": "0008",
        }
        import json

        body = {"device_id": device, "client_time": to_utc_text(now_utc()), "changes": [change]}
        answer = http.post(
            "/v1/push",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert answer.status_code in (200, 413), answer.text
        if answer.status_code == 200:
            assert answer.json()["results"][0]["status"] == "rejected"


def _work(laptop: Laptop, rng: random.Random) -> str:
    ws = laptop.ws
    live = _live(laptop, Customer)
    roll = rng.random()
    if not live or roll < 0.15:
        customers.create_customer(ws, {"name": f"Kunde {rng.randint(1, 10**6)}"})
        return "create"
    if roll < 0.40:
        field = rng.choice(["industry", "segment", "notes"])
        customers.edit_customer(ws, rng.choice(live), {field: rng.choice(WORDS)})
        return "edit"
    if roll < 0.48:
        customers.delete_customer(ws, rng.choice(live))
        return "delete"
    if roll < 0.72:
        interactions.log_interaction(
            ws,
            customer=rng.choice(live),
            kind=rng.choice(["call", "visit", "email"]),
            notes=rng.choice(WORDS),
            followups=[interactions.FollowUpInput(title="call back", due="+3d")]
            if rng.random() < 0.4
            else [],
        )
        return "log"
    if roll < 0.80:
        mine = [
            i for i in _live(laptop, Interaction) if _author(laptop, Interaction, i) == laptop.email
        ]
        if mine:
            interactions.edit_interaction(ws, rng.choice(mine), {"notes": rng.choice(WORDS)})
        return "edit interaction"
    if roll < 0.92 and len(live) >= 2:
        keep, other = rng.sample(live, 2)  # maybe across teams: refused before it is made
        duplicates.merge_records(ws, "customer", keep, other)
        return "merge"
    merges = [m for m in duplicates.list_merges(ws) if not m.undone]
    if merges:
        duplicates.unmerge(ws, rng.choice(merges).id)
    return "unmerge"


def _author(laptop: Laptop, model: type, record_id: str) -> str | None:
    with laptop.ws.read() as s:
        record = s.get(model, record_id)
        return record.created_by if record is not None else None


def hub_scope(hub: HubServer, teams: tuple[str, ...] | None) -> dict[tuple[str, str], Any]:
    """The Hub's records a user of these teams may see (None: all), as laptops hold them."""
    out = {}
    with hub.engine.connect() as conn:
        rows = conn.execute(
            select(records.c.entity, records.c.record_id, records.c.team, records.c.data)
        ).all()
    for entity, record_id, team, data in rows:
        if entity == CONFLICT_ENTITY or (teams is not None and team not in teams):
            continue
        columns = [c.key for c in MODEL_BY_ENTITY[entity].__table__.columns if c.key != "id"]
        out[(entity, record_id)] = {c: dict(data).get(c) for c in columns}
    return out


class TwoNodes(FaultTransport):
    """Faults as FaultTransport, and each request sent to one of several Hub servers on
    one database, at random: a laptop behind a load balancer."""

    def __init__(self, ports: list[int], rng: random.Random) -> None:
        super().__init__()
        self.ports, self.rng = ports, rng

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.rng.choice(self.ports))
        return super().handle_request(request)


def run_model(
    hub: HubServer,
    root: Path,
    start: Clock,
    *,
    seed: int,
    ops: int,
    nodes: list[HubServer] | None = None,
) -> dict[str, int]:
    """Run one seeded scenario; the operations done by kind. Raises on a broken promise.

    With ``nodes`` (more Hub servers on the hub's database), every laptop request goes
    to one of them or the hub at random."""
    rng = random.Random(seed)
    ports = [hub.port, *(n.port for n in nodes or [])]
    for email, (role, teams) in PEOPLE.items():
        hub.add_user(email, role, teams)
    laptops: dict[str, Laptop] = {}
    clocks: dict[str, Clock] = {}
    for email in PEOPLE:
        clocks[email] = Clock(start.current + timedelta(minutes=rng.randint(-120, 120)))
        laptops[email] = Laptop(
            root / email.split("@")[0],
            email,
            clocks[email],
            hub,
            transport=TwoNodes(ports, random.Random(seed + len(laptops))),
        )
    done: dict[str, int] = {}
    x_left = False
    try:
        for _ in range(ops):
            email = rng.choice(list(laptops))
            laptop = laptops[email]
            for c in clocks.values():
                c.advance(seconds=rng.randint(1, 120))
            roll = rng.random()
            if roll < 0.22:
                transport = laptop.transport
                assert isinstance(transport, FaultTransport)
                if rng.random() < 0.4:
                    transport.add(rng.choice(["/v1/push", "/v1/pull"]), rng.choice(FAULTS))
                laptop.sync(attempts=3)
                kind = "sync"
            elif roll < 0.25:
                clocks[email].advance(hours=rng.choice([-3, -2, 2, 3]))  # set wrong, or right
                kind = "clock jump"
            elif roll < 0.27:
                _poison(hub, rng)
                kind = "malformed push"
            elif roll < 0.31:
                kind = _kill_during_sync(laptop, rng)
            elif roll < 0.33:
                change = {"remove_teams": ["south"]} if not x_left else {"add_teams": ["south"]}
                accounts.edit_user(hub.engine, "x@example.com", **change)  # type: ignore[arg-type]
                x_left = not x_left
                kind = "team change"
            else:
                kind = "refused here"
                with contextlib.suppress(TouchpointError):  # e.g. a merge across teams
                    kind = _work(laptop, rng)
            done[kind] = done.get(kind, 0) + 1
        _settle(hub, laptops)
    finally:
        for laptop in laptops.values():
            laptop.close()
    return done


def _settle(hub: HubServer, laptops: dict[str, Laptop]) -> None:
    """Everyone syncs until quiet; then the model's promises are checked."""
    for _ in range(3):
        for laptop in laptops.values():
            laptop.sync()
    # Every refused change is listed for its author; once dismissed, the laptop is in sync.
    made_here: dict[str, set[str]] = {}
    for email, laptop in laptops.items():
        with laptop.ws.read() as s:
            made_here[email] = set(s.scalars(select(Change.change_id)))
            refused_ids = set(
                s.scalars(select(Change.change_id).where(Change.push_error.is_not(None)))
            )
        listed = {r.change_id for r in rejected_changes(laptop.ws, limit=100_000)}
        assert refused_ids == listed, f"{email}: a refused change is not listed"
        for change_id in listed:
            dismiss_rejected(laptop.ws, change_id)
        result = laptop.sync()
        assert result.in_sync, f"{email} is not in sync: {result}"
        assert set_aside_count(laptop.ws) == 0, f"{email} set records aside"
        assert laptop.outbox() == [], f"{email} has changes waiting"
    # Nothing lost or duplicated: what laptops made is on the Hub once, or was refused.
    counts = hub_change_count(hub)
    assert set(counts.values()) <= {1}, "a change is on the Hub twice"
    for email, laptop in laptops.items():
        with laptop.ws.read() as s:
            accepted = set(s.scalars(select(Change.change_id).where(Change.push_error.is_(None))))
        assert accepted <= set(counts), f"{email}: an accepted change is missing on the Hub"
    # Every laptop holds exactly its scope of the Hub.
    for email, laptop in laptops.items():
        with hub.engine.connect() as conn:
            who = accounts.user_teams(conn, _user_id(conn, email))
        role = PEOPLE[email][0]
        expected = hub_scope(hub, None if role == "admin" else tuple(who))
        assert laptop.state() == expected, f"{email} differs from its scope on the Hub"


def _user_id(conn: Any, email: str) -> int:
    from touchpoint.hub.db import users

    return int(conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one())
