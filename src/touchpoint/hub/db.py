"""The Hub's tables and how to open its database (SQLite or PostgreSQL).

``changes`` is the ordered log laptops pull from; ``server_seq`` comes from the
``counter`` row, locked and bumped inside each push transaction, so sequence
order is commit order and a pull never skips a row. ``records`` holds each
record's current values and, per field, the version that set it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from touchpoint.errors import StorageError, ValidationError

DB_ENV = "TOUCHPOINT_HUB_DB"
DB_SCHEMES = ("sqlite", "postgresql", "postgres")
MIGRATIONS = Path(__file__).parent / "migrations"
# Connections per worker process, and its request threads. Few: under many laptops at
# once, more threads only queue for the GIL while holding locks in PostgreSQL (measured
# with tests/benchmarks/bench_sync.py: 8 beat 20 and 40); scale with --workers instead.
POOL_SIZE = 8

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(200), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(10), nullable=False),
    Column("disabled_at", String(27)),
    Column("created_at", String(27), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id"), primary_key=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("device_id", String(36), nullable=False),
    Column("device_name", String(200), nullable=False, default=""),
    Column("created_at", String(27), nullable=False),
    Column("last_used_at", String(27)),
    Column("revoked_at", String(27)),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(36), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("clock_offset_ms", BigInteger, nullable=False, default=0),
    Column("last_seen", String(27)),
    # What the laptop said of itself in its last hello (migration hub0003).
    Column("app_version", String(40)),
    Column("report", JSON),  # {"waiting": n, "refused": n, "set_aside": n, ...}
    Column("reported_at", String(27)),
)

# Wrong sign-ins per "email:..." and "addr:..." key (migration hub0003).
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", String(27), nullable=False),
    Column("blocked_until", String(27)),
)

# Every administrative action, from the console and the command line (migration hub0007).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(27), nullable=False),
    Column("who", String(300), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", Text, nullable=False),
    Column("via", String(10), nullable=False),  # "console" or "cli"
    Column("address", String(100)),  # the browser's address; none from the command line
    Index("ix_audit_log_at", "at"),
)

# --- The integration API (migration hub0004) ---------------------------------------------
# A key for a server, made by an admin: only its SHA-256 is kept. Each key writes as a
# Hub user of its own (role "service", no password, no team membership), so the change
# log names it as the author and reports never count it as a rep.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),  # "tpk_" and 8 characters, to recognise it
    Column("teams", JSON, nullable=False),  # the team names it may read and write
    Column("scope", String(5), nullable=False),  # "read" | "write"
    Column("per_minute", Integer, nullable=False),  # its rate limit
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(36), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("last_used_at", String(27)),
    Column("revoked_at", String(27)),
)

# The answer given to a write sent with an Idempotency-Key, kept 24 hours.
api_idempotency = Table(
    "api_idempotency",
    metadata,
    Column("key_id", Integer, ForeignKey("api_keys.id"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
    Index("ix_api_idempotency_created_at", "created_at"),
)
# --- end of hub0004 ------------------------------------------------------------------------

counter = Table(
    "counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

changes = Table(
    "changes",
    metadata,
    Column("server_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("change_id", String(36), nullable=False, unique=True),
    Column("device_id", String(36), nullable=False),
    Column("user_id", Integer),
    Column("entity", String(30), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("team", String(120), nullable=False),
    Column("op", String(10), nullable=False),
    Column("fields", JSON, nullable=False),  # resulting values of the touched fields
    Column("at", String(27), nullable=False),  # edit time as the laptop stamped it
    Column("corrected_at", String(27), nullable=False),  # ... corrected by its clock offset
    Column("author", String(200), nullable=False),
    Column("received_at", String(27), nullable=False),
    Index("ix_changes_team_seq", "team", "server_seq"),
    Index("ix_changes_record", "entity", "record_id"),
)

# Every change id ever received, with the answer given: a resent change gets it again.
received = Table(
    "received",
    metadata,
    Column("change_id", String(36), primary_key=True),
    Column("device_id", String(36), nullable=False),
    Column("status", String(10), nullable=False),
    Column("server_seq", BigInteger),
    Column("error", Text),
)

records = Table(
    "records",
    metadata,
    Column("entity", String(30), primary_key=True),
    Column("record_id", String(36), primary_key=True),
    Column("team", String(120), nullable=False),
    Column("data", JSON, nullable=False),
    # {field: [corrected edit time, device id, change id, author]}
    Column("versions", JSON, nullable=False),
    Index("ix_records_team", "team", "entity"),
)


# --- Webhooks (migration hub0005) ------------------------------------------------------
# An endpoint receives signed POSTs for the events it names, of the records of its teams
# (teams NULL: every team). ``cursor`` is the last ``changes.server_seq`` it has turned
# into deliveries: a restart resumes there, and a paused endpoint's events wait for it.
# The secret is kept as given (the Hub signs with it); it is shown once, at creation.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),  # ["interaction.created", "followup.*", ...]
    Column("teams", JSON),  # ["north", ...]; NULL: every team
    Column("secret", String(200), nullable=False),
    Column("state", String(10), nullable=False),  # active | paused
    Column("cursor", BigInteger, nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("created_at", String(27), nullable=False),
    Column("created_by", String(200), nullable=False),
)

# One row per (endpoint, event): its exact body (retries and replays send the same
# bytes), where it stands, and who is sending it now (``claimed_until``: a dispatcher
# claims a delivery with one conditional UPDATE, so two never send it at once).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "endpoint_id",
        Integer,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(36), nullable=False),
    Column("event", String(40), nullable=False),
    Column("server_seq", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", String(27), nullable=False),
    Column("next_at", String(27), nullable=False),
    Column("expires_at", String(27), nullable=False),  # retried until then, then failed
    Column("claimed_until", String(27)),
    Column("done_at", String(27)),
    Column("last_code", Integer),
    Column("last_reason", String(200)),
    UniqueConstraint("endpoint_id", "event_id"),
    Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_at"),
)

# Every try of a delivery: when, the receiver's status code (or none), a short reason
# and how long it took. Never the receiver's body.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        String(36),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", String(27), nullable=False),
    Column("code", Integer),
    Column("reason", String(200), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

# Which Hub process runs the webhook dispatcher: one row, taken and renewed with one
# conditional UPDATE, so several workers or nodes on one database run one dispatcher.
webhook_lease = Table(
    "webhook_lease",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(80)),
    Column("until", String(27)),
)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front: pushes queue instead of failing on upgrade.
    mode = "IMMEDIATE" if conn.get_execution_options().get("hub_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def normalise_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=10)
    _ping_when_idle(engine)
    return engine


# A pooled connection unused for this long is checked with a round trip before a request
# gets it (a database restarted meanwhile costs no request). One used a moment ago is
# taken as it is: under load, a check at every checkout was one round trip in two or three.
PING_AFTER_IDLE_S = 2.0


def _ping_when_idle(engine: Engine) -> None:
    def checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = (dbapi_connection, time.monotonic())

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        held, since = record.info.get("idle_since", (None, 0.0))
        if held is not dbapi_connection or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new (just connected) or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and hands out another (a new one if need be).
            raise DisconnectionError(str(exc)) from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def default_db_path() -> Path:
    """The Hub's SQLite file when no --db is given: in the Hub user's data folder, never
    wherever the command happens to run."""
    return Path(platformdirs.user_data_dir("touchpoint-hub", "Touchpoint")) / "hub.sqlite3"


def db_url(explicit: str | None = None) -> str:
    """The database URL from --db, else $TOUCHPOINT_HUB_DB, else :func:`default_db_path`.

    A plain path (no ``scheme://``) is taken as a SQLite file."""
    raw = (explicit or os.environ.get(DB_ENV) or "").strip()
    if not raw:
        return f"sqlite:///{default_db_path()}"
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    scheme = raw.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in DB_SCHEMES:
        raise ValidationError(
            "--db",
            f"'{safe_url(raw)}' is not a database URL the Hub knows; give a URL like "
            "sqlite:////path/hub.sqlite3 or postgresql://user@host/touchpoint",
        )
    return raw


def upgrade(engine: Engine) -> None:
    """Create or upgrade the Hub's schema (Alembic), then the counter row."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def write(source: Engine | Connection) -> Iterator[Connection]:
    """A write transaction, on a new connection or on the given one (outside any
    transaction); on SQLite it holds the write lock from its first statement."""
    if isinstance(source, Engine):
        with source.execution_options(hub_write=True).begin() as conn:
            yield conn
        return
    source.execution_options(hub_write=True)
    with source.begin():
        yield source


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection for a read. On PostgreSQL in autocommit: each statement sees what is
    committed when it starts, as under READ COMMITTED in a transaction, without the
    BEGIN and ROLLBACK round trips. On SQLite a deferred transaction (one snapshot)."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise ValidationError(
            "--db", f"'{safe_url(url)}' is not a URL like sqlite:////path/hub.sqlite3"
        ) from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _where(url: str) -> str:
    path = sqlite_file(url)
    return str(path) if path is not None else safe_url(url)


def _unreachable(url: str, exc: SQLAlchemyError) -> StorageError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return StorageError(f"could not open the Hub database at {_where(url)}: {reason}")


class HubNeedsUpgrade(StorageError):
    """The Hub's database is at an older schema revision: ``init`` (or ``serve``) upgrades it."""


def create_hub(url: str) -> Engine:
    """Open the Hub's database, creating or upgrading its schema (``init`` and ``serve``).

    The default SQLite folder is made when missing; a folder named in --db must exist."""
    path = sqlite_file(url)
    if path is not None and not path.parent.is_dir():
        if path != default_db_path():
            raise ValidationError("--db", f"the folder {path.parent} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise _unreachable(url, exc) from exc
    return engine


def open_hub(url: str) -> Engine:
    """Open an existing, up-to-date Hub database; never creates or upgrades one.

    A missing SQLite file, a database without the Hub's tables or one at another schema
    revision is refused, naming ``touchpoint-hub init``."""
    path = sqlite_file(url)
    init = f"run touchpoint-hub init --db {safe_url(url)}"
    if path is not None and not path.is_file():
        raise StorageError(f"no Hub database at {path} — {init}")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise _unreachable(url, exc) from exc
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    if current == head:
        return engine
    engine.dispose()
    if current is None:
        raise StorageError(f"no Hub database at {_where(url)} — {init}")
    if current not in {rev.revision for rev in scripts.walk_revisions()}:
        raise StorageError(
            f"the Hub database at {_where(url)} was written by a newer touchpoint-hub "
            f"(schema {current}); update touchpoint-hub"
        )
    raise HubNeedsUpgrade(
        f"the Hub database at {_where(url)} needs an upgrade (schema {current}, "
        f"this touchpoint-hub uses {head}) — {init}"
    )


# --- connectors to other systems (migration hub0006) -----------------------------------
# One row per connector: where the other system is, which team its records belong to,
# the Hub account it writes as, and how far it has read the change log.
connectors = Table(
    "connectors",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("kind", String(20), nullable=False),  # "bottlecrm"
    Column("url", String(500), nullable=False),
    Column("token_file", String(1000), nullable=False),  # the token stays in this file
    Column("team", String(120), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(36), nullable=False),
    Column("out_after", BigInteger, nullable=False, default=0),  # changes read up to here
    Column("created_at", String(27), nullable=False),
    Column("last_run_at", String(27)),
    Column("last_ok_at", String(27)),
    Column("last_error", Text),
    Column("last_counts", JSON),
)

# The id map: a Hub record and the other system's record it is, with a fingerprint of the
# values last exchanged (a change is sent, or taken in, once). ``state`` is "creating"
# from just before a create is sent until its id is known: a run killed between the two
# looks the record up on the other side before creating it again.
connector_links = Table(
    "connector_links",
    metadata,
    Column("connector", String(60), ForeignKey("connectors.name"), primary_key=True),
    Column("entity", String(30), primary_key=True),
    Column("record_id", String(36), primary_key=True),
    Column("remote_id", String(64)),
    Column("state", String(10), nullable=False),  # creating | linked | deleted
    Column("fingerprint", String(64)),
    Column("version", Integer, nullable=False, default=0),
    Column("updated_at", String(27), nullable=False),
    Index("ix_connector_links_remote", "connector", "entity", "remote_id"),
)

# What could not be delivered: retried at each run until ``attempts`` reaches the limit,
# then dead (listed with its reason until someone retries it).
connector_failures = Table(
    "connector_failures",
    metadata,
    Column("connector", String(60), ForeignKey("connectors.name"), primary_key=True),
    Column("direction", String(3), primary_key=True),  # "out" to the other system, "in"
    Column("entity", String(30), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("dead", Integer, nullable=False, default=0),
    Column("first_failed_at", String(27), nullable=False),
    Column("last_failed_at", String(27), nullable=False),
)
