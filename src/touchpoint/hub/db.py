"""The Hub's tables and how to open its database (SQLite or PostgreSQL).

``changes`` is the ordered log laptops pull from; ``server_seq`` comes from the
``counter`` row, locked and bumped inside each push transaction, so sequence
order is commit order and a pull never skips a row. ``records`` holds each
record's current values and, per field, the version that set it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
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
    create_engine,
    event,
)
from sqlalchemy.pool import NullPool

DB_ENV = "TOUCHPOINT_HUB_DB"
DEFAULT_DB = "sqlite:///touchpoint-hub.sqlite3"
MIGRATIONS = Path(__file__).parent / "migrations"

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
)

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
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def db_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get(DB_ENV) or DEFAULT_DB


def upgrade(engine: Engine) -> None:
    """Create or upgrade the Hub's schema (Alembic), then the counter row."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it holds the write lock from its first statement."""
    with engine.execution_options(hub_write=True).begin() as conn:
        yield conn
