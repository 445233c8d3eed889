"""A real Hub on 127.0.0.1 (SQLite or PostgreSQL), laptops, faults, and state checks.

Used by tests/sync and tests/hub. PostgreSQL comes from ``TOUCHPOINT_TEST_PG_URL``
(.ci/run starts a cluster and sets it); each test gets its own database.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

import fresh_db
import pg_cluster
from touchpoint.hub import accounts
from touchpoint.hub.app import create_app
from touchpoint.hub.db import make_engine, records, upgrade
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import MODEL_BY_ENTITY, Change, SyncConflict
from touchpoint.storage.tracking import jsonable
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine, SyncResult, sign_in
from touchpoint.sync.protocol import CONFLICT_ENTITY, PULL_LINES

# The Hub hashes passwords with argon2 at strengths meant to slow an attacker: some 0.15 s
# of two cores per sign-in or new user, which hundreds of Hub tests would spend over and
# over. They keep argon2 (hash, verify, the same code path) at its cheapest strength.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = pg_cluster.url_for_tests()  # a throwaway server when PostgreSQL is installed
REQUIRE_PG = os.environ.get("TOUCHPOINT_REQUIRE_PG") == "1"
PASSWORD = "correct horse battery"


def backends() -> list[Any]:
    pg_marks = []
    if not PG_URL and not REQUIRE_PG:
        pg_marks.append(pytest.mark.skip(reason="TOUCHPOINT_TEST_PG_URL not set"))
    return ["sqlite", pytest.param("postgresql", marks=pg_marks)]


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql)


class HubServer:
    """A Hub served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime] | None = None,
        *,
        tls: tuple[Path, Path] | None = None,  # (certificate, key): serve HTTPS
        migrated: bool = False,  # a copy of the migrated template: no upgrade to look for
    ) -> None:
        self.db_url = url
        # The Hub's "now" (its day and week on the console's pages, its stamps), as a test
        # sets it; the real time when none is given.
        self.now: Callable[[], datetime] = clock or now_utc
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            fresh_db.hub_sqlite(Path(url.removeprefix("sqlite:///")))  # migrated once, copied
            migrated = True
        self.engine: Engine = make_engine(url)
        if not migrated:  # Alembic's look at a copy of the template finds nothing to do
            upgrade(self.engine)
        self.app = create_app(self.engine, clock=clock)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> HubServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Hub did not start")
            time.sleep(0.002)  # it starts in milliseconds: hundreds of tests wait for it
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop serving. Without ``wait`` it returns at once and the server's thread
        finishes by itself (uvicorn takes 0.1-0.2 s of idle ticks to wind down): for a
        test's teardown, where nothing asks the Hub anything afterwards."""
        self._server.should_exit = True
        if not wait:
            self._server.force_exit = True  # no waiting for idle keep-alive connections
            return  # the thread closes the socket and disposes of the engine (_serve)
        self._thread.join(10)
        self._sock.close()
        self.engine.dispose()

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()
            self.engine.dispose()

    def add_user(self, email: str, role: str = "rep", teams: tuple[str, ...] = ("north",)) -> str:
        accounts.add_user(self.engine, email, PASSWORD, role, list(teams))
        return email

    def state(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(records.c.entity, records.c.record_id, records.c.data))
            return {(e, r): dict(d) for e, r, d in rows if e != CONFLICT_ENTITY}


def start_hub(
    backend: str, tmp_path: Path, clock: Callable[[], datetime] | None = None
) -> tuple[HubServer, Callable[[], None]]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        if not PG_URL:
            pytest.fail("PostgreSQL is required here: set TOUCHPOINT_TEST_PG_URL (.ci/run does)")
        name = f"tp_test_{uuid.uuid4().hex[:12]}"
        url = fresh_db.hub_postgres(PG_URL, name)

        def drop() -> None:
            # The Hub's idle connections closed first: FORCE then has no backend to
            # terminate and wait for (some 40 ms a test).
            server.engine.dispose()
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    server = HubServer(url, clock, migrated=True).start()

    def stop() -> None:
        server.stop(wait=False)
        drop()

    return server, stop


class Laptop:
    """One rep's laptop: its own database file, signed in to the Hub."""

    def __init__(
        self,
        root: Path,
        email: str,
        clock: Callable[[], datetime],
        hub: HubServer,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.root = root
        self.email = email
        self.hub = hub
        self.transport = transport
        self.clock = clock
        save_settings(
            root / "config" / "settings.toml",
            Settings(user=email, timezone="Europe/Berlin", default_region="DE"),
        )
        if not (root / "touchpoint.sqlite3").exists():
            fresh_db.laptop_database(root)  # migrated once, copied: a new laptop's database
        self.ws = Workspace.open(root, auto_backup=False, clock=clock)
        sign_in(self.ws, hub.url, email, PASSWORD, transport=transport)

    def sync(self, **options: Any) -> SyncResult:
        options.setdefault("sleep", lambda _s: None)
        engine = SyncEngine.for_workspace(self.ws, transport=self.transport, **options)
        try:
            return engine.run()
        finally:
            engine.client.close()

    def state(self) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        with self.ws.read() as s:
            for entity, model in MODEL_BY_ENTITY.items():
                for rec in s.scalars(select(model)):
                    out[(entity, rec.id)] = {
                        c.key: jsonable(getattr(rec, c.key))
                        for c in model.__table__.columns
                        if c.key != "id"
                    }
        return out

    def outbox(self) -> list[Change]:
        with self.ws.read() as s:
            return list(s.scalars(select(Change).where(Change.pushed_at.is_(None))))

    def conflicts(self) -> list[SyncConflict]:
        with self.ws.read() as s:
            return list(s.scalars(select(SyncConflict)))

    def close(self) -> None:
        self.ws.close()

    def restart(self) -> None:
        """The app started again after its process ended: the database opened anew."""
        self.ws.close()
        self.ws = Workspace.open(self.root, auto_backup=False, clock=self.clock)


def hub_as_local(hub: HubServer) -> dict[tuple[str, str], dict[str, Any]]:
    """The Hub's records with every column a laptop has (absent means empty)."""
    out = {}
    for (entity, record_id), data in hub.state().items():
        columns = [c.key for c in MODEL_BY_ENTITY[entity].__table__.columns if c.key != "id"]
        out[(entity, record_id)] = {c: data.get(c) for c in columns}
    return out


def assert_converged(hub: HubServer, *laptops: Laptop) -> None:
    expected = hub_as_local(hub)
    for laptop in laptops:
        assert laptop.outbox() == [], f"{laptop.email} still has changes waiting"
        got = laptop.state()
        # A laptop holds exactly the records of its scope: compare on those keys.
        visible = {k: v for k, v in expected.items() if k in got}
        assert got == visible, f"{laptop.email} differs from the Hub"


def now_utc() -> datetime:
    return datetime.now(UTC)


class RunningClock:
    """A clock that starts at a chosen time and runs at the real pace: a Hub's clock in a
    test that must not depend on the day or hour it runs (throttling waits still pass)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._started = time.monotonic()
        self._held: datetime | None = None

    def __call__(self) -> datetime:
        if self._held is not None:
            return self._held
        return self.start + timedelta(seconds=time.monotonic() - self._started)

    def hold(self) -> None:
        """Stop the clock where it is: a wait the Hub sets (a throttled sign-in's second)
        does not run out while a slow machine takes the test's next step."""
        self._held = self()


def midweek_noon() -> datetime:
    """Noon (UTC) on the Wednesday of this week: a "today" and a "this week" that hold
    everything a test does within hours or a day or two of it, whenever the test runs,
    and near enough the real time that the Hub's few real-time stamps agree with it."""
    today = datetime.now(UTC).date()
    wednesday = today + timedelta(days=2 - today.weekday())
    return datetime(wednesday.year, wednesday.month, wednesday.day, 12, tzinfo=UTC)


class Clock:
    """A laptop clock the test moves by hand (its own, so laptops can disagree)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


class FaultTransport(httpx.HTTPTransport):
    """Real HTTP to the Hub, with faults queued per path: the next matching request gets one.

    ``drop_request`` (never reaches the Hub), ``drop_answer`` (the Hub commits, the
    answer is lost), ``duplicate`` (sent twice), ``timeout``, ``5xx``/``503_after``
    (503 before or after the Hub did the work), ``401``, ``delay``; for pulls,
    ``cut_line`` (a page in JSON lines loses its last line on the way) and
    ``older_hub`` (asked as a Hub that knows no JSON lines is: it answers JSON).
    """

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[tuple[str, str]] = []
        self.seen: list[tuple[str, str]] = []

    def add(self, path: str, fault: str, times: int = 1) -> None:
        self.faults.extend([(path, fault)] * times)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = None
        for i, (path, kind) in enumerate(self.faults):
            if request.url.path == path:
                fault = kind
                del self.faults[i]
                break
        self.seen.append((request.url.path, fault or "ok"))
        if fault == "drop_request":
            raise httpx.ConnectError("connection refused (injected)", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out (injected)", request=request)
        if fault == "5xx":
            return httpx.Response(503, json={"error": "server", "message": "busy"})
        if fault == "401":
            return httpx.Response(401, json={"error": "auth", "message": "expired"})
        if fault == "delay":
            time.sleep(0.2)
        if fault == "older_hub":
            url = request.url.copy_remove_param("lines")
            request = httpx.Request(request.method, url, headers=request.headers)
        if fault == "duplicate":
            first = super().handle_request(request)
            first.read()
            first.close()
        response = super().handle_request(request)
        if fault == "cut_line":
            body = response.read()
            response.close()
            kept = body[: body.rstrip(b"\n").rfind(b"\n") + 1] if body.count(b"\n") > 1 else body
            return httpx.Response(200, headers={"content-type": PULL_LINES}, content=kept)
        if fault in ("drop_answer", "503_after"):
            response.read()
            response.close()
            if fault == "drop_answer":
                raise httpx.RemoteProtocolError("connection closed (injected)", request=request)
            return httpx.Response(503, json={"error": "server", "message": "failed late"})
        return response


def hub_change_count(hub: HubServer) -> dict[str, int]:
    """How many times the Hub recorded each laptop change id (every one must be 1)."""
    from sqlalchemy import func

    from touchpoint.hub.db import changes

    with hub.engine.connect() as conn:
        rows = conn.execute(
            select(changes.c.change_id, func.count())
            .where(changes.c.device_id != "hub")
            .group_by(changes.c.change_id)
        )
        return {cid: n for cid, n in rows}


def all_change_ids(*laptops: Laptop) -> set[str]:
    ids: set[str] = set()
    for laptop in laptops:
        with laptop.ws.read() as s:
            ids |= set(s.scalars(select(Change.change_id).where(Change.push_error.is_(None))))
    return ids
