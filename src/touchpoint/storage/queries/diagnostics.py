"""What the diagnostics bundle reads from a database file that may be damaged.

Each function runs one statement on a read-only DB-API connection (sqlite3 or
SQLCipher) and lets the driver's error through: the bundle notes, per fact, what could
not be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from touchpoint.storage import encryption
from touchpoint.storage.models import Change, Meta, SyncConflict


def open_read_only(database: Path) -> Any:
    """A read-only connection that writes nothing, even by mistake; an encrypted
    database opens with its key from the keyring (MissingKeyError when none is kept)."""
    key = encryption.stored_key(database) if encryption.is_encrypted(database) else None
    if encryption.is_encrypted(database) and key is None:
        raise encryption.MissingKeyError(database)
    conn = encryption.connect(database, key, read_only=True)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA query_only = ON")
    return conn


def quick_check(conn: Any) -> list[str]:
    """SQLite's quick check: ["ok"], or what it found wrong."""
    return [r[0] for r in conn.execute("PRAGMA quick_check")]


def journal_mode(conn: Any) -> str:
    return conn.execute("PRAGMA journal_mode").fetchone()[0]  # type: ignore[no-any-return]


def schema_revision(conn: Any) -> str | None:
    """The recorded schema revision (a TypeError when the table is empty)."""
    return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]  # type: ignore[no-any-return]


def table_names(conn: Any) -> list[str]:
    return [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]


def row_count(conn: Any, table: str) -> int:
    quoted = '"' + table.replace('"', '""') + '"'
    return int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])


def local_meta(conn: Any) -> dict[str, str | None]:
    """The laptop's own settings kept in the database (device id, Hub, cursor...)."""
    return dict(conn.execute(f"SELECT key, value FROM {Meta.__tablename__}").fetchall())


class Outbox(NamedTuple):
    waiting: int  # changes not pushed yet
    rejected: set[str]  # change ids the Hub refused


def outbox(conn: Any) -> Outbox:
    table = Change.__tablename__
    waiting = conn.execute(f"SELECT count(*) FROM {table} WHERE pushed_at IS NULL").fetchone()[0]
    rejected = {
        r[0] for r in conn.execute(f"SELECT change_id FROM {table} WHERE push_error IS NOT NULL")
    }
    return Outbox(int(waiting), rejected)


class ConflictCounts(NamedTuple):
    total: int
    open: int  # not resolved yet


def conflict_counts(conn: Any) -> ConflictCounts:
    total, unresolved = conn.execute(
        f"SELECT count(*), count(*) - count(resolved_at) FROM {SyncConflict.__tablename__}"
    ).fetchone()
    return ConflictCounts(total, unresolved)


class SetAside(NamedTuple):
    """A record a pull set aside, and why."""

    server_seq: int
    entity: str
    record_id: str
    reason: str


def set_aside(conn: Any, *, limit: int) -> list[SetAside]:
    rows = conn.execute(
        "SELECT server_seq, entity, record_id, reason FROM sync_set_aside "
        "ORDER BY server_seq LIMIT ?",
        (limit,),
    )
    return [SetAside(*r) for r in rows]
