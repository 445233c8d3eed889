"""Backups through SQLite's online backup API: consistent even while the app writes.

A backup of an encrypted database is encrypted with the same key (``key``), so no
plain copy of the data is ever written beside it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from touchpoint.storage.encryption import connect, database_errors, is_encrypted

DAILY_PREFIX = "daily-"
KEEP_DAILY = 7


def copy_database(source: Path, target: Path, *, key: str | None = None) -> Path:
    """A consistent copy of ``source`` at ``target`` (written beside it, then renamed);
    an encrypted ``source`` (opened with ``key``) gives a copy encrypted the same way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # The copy is the whole database: its owner's only. SQLite keeps the mode of a file
    # that exists, and the rename below keeps it too.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    key = key if is_encrypted(source) else None
    src = connect(source, key, read_only=True)
    try:
        dst = connect(partial, key)
        try:
            src.backup(dst, pages=4096)
            dst.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    partial.replace(target)
    return target


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def backup_now(
    database: Path, backup_dir: Path, prefix: str = "manual-", *, key: str | None = None
) -> Path:
    return copy_database(database, backup_dir / f"{prefix}{stamp()}.sqlite3", key=key)


def list_backups(backup_dir: Path) -> list[Path]:
    if not backup_dir.exists():
        return []
    return sorted(backup_dir.glob("*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True)


def daily_backup_if_due(
    database: Path,
    backup_dir: Path,
    *,
    now: datetime | None = None,
    keep: int = KEEP_DAILY,
    key: str | None = None,
) -> Path | None:
    """Make today's rotating backup when the newest is over a day old; keep ``keep`` of them."""
    if not database.exists():
        return None
    now = now or datetime.now(UTC)
    daily = sorted(backup_dir.glob(f"{DAILY_PREFIX}*.sqlite3")) if backup_dir.exists() else []
    if daily:
        newest = datetime.fromtimestamp(daily[-1].stat().st_mtime, UTC)
        if now - newest < timedelta(days=1):
            return None
    made = copy_database(database, backup_dir / f"{DAILY_PREFIX}{stamp(now)}.sqlite3", key=key)
    daily = sorted(backup_dir.glob(f"{DAILY_PREFIX}*.sqlite3"))
    for old in daily[:-keep]:
        old.unlink(missing_ok=True)
    return made


def restore_into(backup_file: Path, database: Path, *, key: str | None = None) -> None:
    """Replace the live database's content with the backup's, page by page, atomically.

    Both are opened the way the backup is (plain, or encrypted with ``key``): the
    database ends up in the backup's form."""
    key = key if is_encrypted(backup_file) else None
    if database.exists() and is_encrypted(database) != (key is not None):
        # Plain into encrypted or the other way: the pages cannot be copied over the
        # live file; a full copy beside it replaces it in one rename instead.
        copy = copy_database(backup_file, database.with_name(database.name + ".restoring"), key=key)
        for side in ("-wal", "-shm"):
            Path(f"{database}{side}").unlink(missing_ok=True)
        copy.replace(database)
        return
    src = connect(backup_file, key, read_only=True)
    try:
        dst = connect(database, key)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()


def integrity(database: Path, *, key: str | None = None) -> list[str]:
    """SQLite's own integrity and foreign key checks; an empty list means healthy."""
    try:
        conn = connect(database, key if is_encrypted(database) else None, read_only=True)
    except database_errors() as exc:
        return [str(exc)]
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [
            f"foreign key: {table} row {rowid} points at missing {parent}"
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
        ]
    except database_errors() as exc:
        problems = [str(exc)]
    finally:
        conn.close()
    return problems
