"""The Hub's own desktop database, for the reports it writes on a schedule.

The daily report is computed over a desktop database (services.reports), so that a
manager's laptop and the Hub give the same figures from the same code. The Hub keeps
one such database beside it, a replica that pulls every team's changes exactly as an
admin's laptop would, through the same sync engine, but straight from the Hub's
tables instead of over HTTP. Each run pulls only what changed since the last one.

The console keeps its own replica (:func:`console_folder`): pulled in the background
from the Hub's start-up, then after each change, and read by the dashboard. A replica
that once caught up is marked so (:data:`READY_KEY`); after a restart it is read at
once and only pulls the changes it has not seen, from its stored cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
from sqlalchemy import Connection, Engine, select

from touchpoint.errors import ValidationError
from touchpoint.hub import exchange
from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import memberships, sqlite_file, teams, users
from touchpoint.storage.types import to_utc_text
from touchpoint.storage.workspace import Workspace, utc_now
from touchpoint.sync.engine import (
    CURSOR_KEY,
    SCOPE_KEY,
    SyncEngine,
    SyncResult,
    read_meta,
    write_meta,
)
from touchpoint.sync.errors import ServerError
from touchpoint.sync.protocol import (
    PROTOCOL_VERSION,
    HelloRequest,
    HelloResponse,
    PushRequest,
    PushResponse,
)
from touchpoint.sync.transport import PullPage

REPLICA_USER = "hub-reports"
READY_KEY = "replica_caught_up"  # the Hub sequence of its first complete catch-up
SCOPE = "admin:"  # what a replica reads: every team (see DirectHub.hello)


class DirectHub:
    """The calls a laptop makes to a Hub, answered from the Hub's database in process.

    It reads as an admin (every team) and never accepts a push: the replica only
    reads, so it has nothing to send."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.who = Principal(
            user_id=0,
            email=REPLICA_USER,
            role="admin",
            teams=(),
            device_id="hub-replica",
            token_id=0,
        )

    def hello(self, body: HelloRequest) -> HelloResponse:
        with self.engine.connect() as conn:
            high = exchange.high_water(conn)
        return HelloResponse(
            protocol=PROTOCOL_VERSION,
            server_time=to_utc_text(datetime.now(UTC)),
            clock_offset_ms=0,
            email=REPLICA_USER,
            role="admin",
            # No team names: an admin reads every team's changes already, and a scope
            # naming them would widen with each new team and pull the book again.
            teams=[],
            high_water=high,
            last_device_seq=0,
        )

    def push(self, body: PushRequest) -> PushResponse:
        raise ServerError("the Hub's report database never sends changes", transient=False)

    def pull(self, after: int, limit: int) -> PullPage:
        page = exchange.pull_lines(self.engine, self.who, after, limit)
        return PullPage.parse(page, lines=True)

    def close(self) -> None:
        """Nothing to close: the engine belongs to the caller."""


def default_folder(db_url: str) -> Path:
    """One replica per Hub database, in the Hub user's data folder."""
    digest = hashlib.sha256(db_url.encode()).hexdigest()[:12]
    return Path(platformdirs.user_data_dir("touchpoint-hub", "Touchpoint")) / f"replica-{digest}"


def console_folder(db_url: str) -> Path:
    """The console's replica: beside a SQLite Hub's file (hub.sqlite3 ->
    hub-console-replica/), so it is backed up and moved with it; for PostgreSQL in the
    Hub user's data folder. Never the folder `touchpoint-hub report` pulls into."""
    path = sqlite_file(db_url)
    if path is not None:
        return path.with_name(f"{path.stem}-console-replica")
    base = default_folder(db_url)
    return base.with_name(base.name + "-console")


def settle_scope(ws: Workspace) -> None:
    """A replica made before :data:`SCOPE` named the teams: say it reads every team,
    so it goes on from its cursor instead of pulling everything again."""
    with ws.read() as session:
        held = read_meta(session, SCOPE_KEY)
    if held is not None and held != SCOPE and held.startswith(SCOPE):
        with ws.unit_of_work(origin="remote") as uow:
            write_meta(uow.session, SCOPE_KEY, SCOPE)
            uow.commit()


def cursor(ws: Workspace) -> int:
    """The last Hub sequence the replica holds."""
    with ws.read() as session:
        return int(read_meta(session, CURSOR_KEY) or 0)


def caught_up_once(ws: Workspace) -> bool:
    with ws.read() as session:
        return read_meta(session, READY_KEY) is not None


def mark_caught_up(ws: Workspace, seq: int) -> None:
    with ws.unit_of_work(origin="remote") as uow:
        write_meta(uow.session, READY_KEY, str(seq))
        uow.commit()


def open_replica(
    engine: Engine, folder: Path, *, clock: Callable[[], datetime] | None = None
) -> tuple[Workspace, SyncResult]:
    """The replica in ``folder``, brought up to date with the Hub; the caller closes it.

    Raises ServerError when the pull fails; the replica keeps what it had (each page is
    applied in one transaction) and the next run resumes from there."""
    ws = Workspace.open(folder, auto_backup=False, clock=clock or utc_now)
    try:
        settle_scope(ws)
        result = SyncEngine(ws, DirectHub(engine), check=False).run()  # type: ignore[arg-type]
        if result.status not in ("done", "conflicts"):
            raise ServerError(
                f"could not update the report database ({result.status}: {result.message})",
                transient=False,
            )
    except BaseException:
        ws.close()
        raise
    return ws, result


def team_members(source: Engine | Connection, team: str) -> list[str]:
    """The emails of a Hub team's members; an unknown or empty team names the option."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return team_members(conn, team)
    conn = source
    found = conn.execute(select(teams.c.id, teams.c.name).where(teams.c.name == team)).first()
    if found is None:
        known = ", ".join(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())
        raise ValidationError("team", f"no team '{team}' on this Hub (teams: {known or 'none'})")
    emails = list(
        conn.execute(
            select(users.c.email)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.team_id == found.id)
            .order_by(users.c.email)
        ).scalars()
    )
    if not emails:
        raise ValidationError("team", f"team {team} has no members yet")
    return emails
