"""Backups through SQLite's online backup API: consistent even while the app writes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAILY_PREFIX = "daily-"
KEEP_DAILY = 7


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy of ``source`` at ``target`` (written beside it, then renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
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


def backup_now(database: Path, backup_dir: Path, prefix: str = "manual-") -> Path:
    return copy_database(database, backup_dir / f"{prefix}{stamp()}.sqlite3")


def list_backups(backup_dir: Path) -> list[Path]:
    if not backup_dir.exists():
        return []
    return sorted(backup_dir.glob("*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True)


def daily_backup_if_due(
    database: Path, backup_dir: Path, *, now: datetime | None = None, keep: int = KEEP_DAILY
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
    made = copy_database(database, backup_dir / f"{DAILY_PREFIX}{stamp(now)}.sqlite3")
    daily = sorted(backup_dir.glob(f"{DAILY_PREFIX}*.sqlite3"))
    for old in daily[:-keep]:
        old.unlink(missing_ok=True)
    return made


def restore_into(backup_file: Path, database: Path) -> None:
    """Replace the live database's content with the backup's, page by page, atomically."""
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(database)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()


def integrity(database: Path) -> list[str]:
    """SQLite's own integrity and foreign key checks; an empty list means healthy."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [
            f"foreign key: {table} row {rowid} points at missing {parent}"
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
        ]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    finally:
        conn.close()
    return problems
