"""Looking after the local database: status, backup, restore and health check."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from touchpoint import __version__
from touchpoint.errors import StorageError, ValidationError
from touchpoint.paths import AppPaths, resolve_paths
from touchpoint.storage import backup as backups
from touchpoint.storage import encryption, migrate, search_index
from touchpoint.storage.models import SYNCED_MODELS, Change, Meta
from touchpoint.storage.queries import schema
from touchpoint.storage.workspace import Workspace


@dataclass(frozen=True)
class StatusReport:
    version: str
    schema_version: str
    device_id: str
    user: str
    timezone: str
    data_dir: str
    database: str
    database_bytes: int
    config_dir: str
    log_dir: str
    backup_dir: str
    counts: dict[str, int]  # live records per entity
    deleted: dict[str, int]  # tombstones per entity
    unsynced_changes: int
    last_backup: str | None
    # Of the unsynced: sent and asked by the Hub to wait (a record they name is not there).
    waiting_changes: int = 0
    refused_changes: int = 0  # refused by the Hub, not dismissed
    set_aside_changes: int = 0  # pulled from the Hub, could not be applied here
    attention: list[str] = field(default_factory=list)  # one line each, for people


def _counts(session, model) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    live = session.scalar(select(func.count()).select_from(model).where(model.deleted_at.is_(None)))
    total = session.scalar(select(func.count()).select_from(model))
    return int(live or 0), int((total or 0) - (live or 0))


def status(ws: Workspace) -> StatusReport:
    counts: dict[str, int] = {}
    deleted: dict[str, int] = {}
    with ws.read() as session:
        for model in SYNCED_MODELS:
            counts[model.entity], deleted[model.entity] = _counts(session, model)
        unsynced = session.scalar(
            select(func.count()).select_from(Change).where(Change.pushed_at.is_(None))
        )
    recent = backups.list_backups(ws.paths.backup_dir)
    return StatusReport(
        version=__version__,
        schema_version=ws.schema_version,
        device_id=ws.device_id,
        user=ws.author,
        timezone=str(ws.tz),
        data_dir=str(ws.paths.data_dir),
        database=str(ws.paths.database),
        database_bytes=ws.paths.database.stat().st_size if ws.paths.database.exists() else 0,
        config_dir=str(ws.paths.config_dir),
        log_dir=str(ws.paths.log_dir),
        backup_dir=str(ws.paths.backup_dir),
        counts=counts,
        deleted=deleted,
        unsynced_changes=int(unsynced or 0),
        last_backup=str(recent[0]) if recent else None,
        **_attention(ws),
    )


def _attention(ws: Workspace) -> dict[str, Any]:
    """Changes refused, waiting or set aside, counted and named (at most 20 lines)."""
    from touchpoint.services.sync_conflicts import rejected_changes
    from touchpoint.sync import attention as sync_attention

    lines: list[str] = []
    refused = rejected_changes(ws, limit=21)
    for c in refused:
        what = f"{c.entity} {c.record_name or c.record_id[-8:]}"
        state = "waiting" if c.waiting else "refused"
        lines.append(f"{state}: {what}: {c.reason}")
    for a in sync_attention.set_aside_changes(ws, limit=21):
        lines.append(f"set aside: {a.entity} {a.record_id[-8:]} from the Hub: {a.reason}")
    with ws.read() as session:
        waiting = session.scalar(
            select(func.count()).where(Change.push_error.is_not(None), Change.pushed_at.is_(None))
        )
    counts = {
        "waiting_changes": int(waiting or 0),
        "refused_changes": sync_attention.refused_count(ws),
        "set_aside_changes": sync_attention.set_aside_count(ws),
    }
    more = sum(counts.values()) - min(len(lines), 20)
    shown = lines[:20] + ([f"... and {more} more"] if more > 0 else [])
    return {**counts, "attention": shown}


def can_encrypt() -> bool:
    """Whether SQLCipher is installed here (the window offers encryption only then)."""
    return encryption.available()


def _paths(where: AppPaths | str | os.PathLike[str] | None) -> AppPaths:
    """The paths the caller resolved at its start, or those of a folder given by name."""
    return where if isinstance(where, AppPaths) else resolve_paths(where)


def recover_unreadable(data_dir: AppPaths | str | os.PathLike[str] | None) -> Path:
    """An encrypted database whose key is lost: move it aside (kept, never deleted), so the
    next open starts a new one for the Hub to fill again. Refused for a readable file."""
    paths = _paths(data_dir)
    database = paths.database
    if not encryption.is_encrypted(database) or encryption.stored_key(database) is not None:
        raise StorageError(
            f"{database} can be opened; there is nothing to recover (a lost key is the "
            "only reason to start again)"
        )
    return encryption.move_aside(database, backups.stamp())


def backup_if_due(ws: Workspace) -> Path | None:
    """Today's rotating backup when the newest is over a day old (the window runs this
    in the background after it opens, so a big database never delays the start)."""
    return backups.daily_backup_if_due(ws.paths.database, ws.paths.backup_dir, key=ws.db.key)


def backup(ws: Workspace, out: Path | None = None) -> Path:
    """A consistent copy of the database, taken while it may be in use."""
    if out is None:
        return backups.backup_now(ws.paths.database, ws.paths.backup_dir, key=ws.db.key)
    from touchpoint.services.outfiles import atomic_target, os_reason

    out = Path(out).expanduser()
    if out.is_dir():
        out = out / f"touchpoint-{backups.stamp()}.sqlite3"
    # A named file is a whole copy of the data: no folder is made for it, it is the
    # owner's only (0600), and whatever the system refuses is said on --out.
    try:
        with atomic_target(out, field="--out") as temp:
            backups.copy_database(ws.paths.database, temp, key=ws.db.key)
    except encryption.database_errors() as exc:
        raise ValidationError("--out", f"cannot write {out}: {os_reason(exc)}") from None
    return out


def _could_be_encrypted(file: Path) -> bool:
    """Whether a file without SQLite's header may be an SQLCipher database: whole pages
    (at least two of 512 bytes) starting with a random salt, not text like /etc/passwd."""
    size = file.stat().st_size
    if size < 1024 or size % 512:
        return False
    with open(file, "rb") as f:
        salt = f.read(16)
    return not all(32 <= b < 127 or b in (9, 10, 13) for b in salt)


def _validate_backup(file: Path, key: str | None = None) -> str:
    if not file.exists():
        raise StorageError(f"{file} does not exist")
    if not file.is_file():
        raise StorageError(f"{file} is not a file")
    not_ours = f"{file} is not a Touchpoint database or backup"
    encrypted = encryption.is_encrypted(file)
    if encrypted and not _could_be_encrypted(file):
        raise StorageError(not_ours)
    if encrypted and key is None:
        raise StorageError(
            f"{not_ours}, or it is encrypted and this computer's keyring has no key for it"
        )
    problems = backups.integrity(file, key=key)
    if problems and encrypted:
        raise StorageError(f"{not_ours} (or it was encrypted with another key)")
    if problems:
        raise StorageError(f"{file} is damaged: {problems[0]}")
    revision = migrate.schema_revision(file, key)
    if revision is None:
        raise StorageError(not_ours)
    if revision not in migrate.known_revisions():
        raise StorageError(f"{file} was written by a newer Touchpoint (schema {revision})")
    return revision


def check_backup(data_dir: AppPaths | str | os.PathLike[str] | None, file: Path) -> str:
    """Raise StorageError unless ``file`` is a Touchpoint database this computer can
    restore (before anyone is asked to confirm); returns its schema revision."""
    paths = _paths(data_dir)
    return _validate_backup(Path(file), encryption.stored_key(paths.database))


def restore(data_dir: AppPaths | str | os.PathLike[str] | None, file: Path) -> Path:
    """Replace the database with a backup; the current one is kept as a backup first.

    Run it with no workspace open. Returns the safety copy of the replaced database.
    The restored file is migrated to this version's schema at the next open.
    """
    file = Path(file)
    paths = _paths(data_dir).ensure()
    # Backups of an encrypted database share its key (kept even after encryption is off).
    key = encryption.stored_key(paths.database)
    _validate_backup(file, key)
    safety = paths.backup_dir / f"pre-restore-{backups.stamp()}.sqlite3"
    if paths.database.exists():
        if encryption.is_encrypted(paths.database) and key is None:
            safety = encryption.move_aside(paths.database, backups.stamp())  # unreadable: kept
        else:
            backups.copy_database(paths.database, safety, key=key)
    backups.restore_into(file, paths.database, key=key)
    return safety


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    problems: list[str]
    integrity: str
    search_index: str
    counts: dict[str, int]
    unsynced_changes: int
    schema_version: str
    checked_at: datetime
    notes: list[str] = field(default_factory=list)


def check(ws: Workspace) -> CheckReport:
    """SQLite's integrity and foreign key checks, the search index's own check, counts."""
    sqlite_problems = backups.integrity(ws.paths.database, key=ws.db.key)
    problems = list(sqlite_problems)
    with ws.db.engine.connect() as conn:
        index_ok = search_index.integrity_ok(conn)
        conn.rollback()
    if not index_ok:
        problems.append("the search index does not match its documents (run repair)")
    notes: list[str] = []
    with ws.read() as session:
        revision = schema.revision(session)
        if revision != migrate.head_revision():
            problems.append(f"schema is {revision}, expected {migrate.head_revision()}")
        device = session.get(Meta, "device_id")
        if device is None:
            problems.append("the device id is missing")
    report = status(ws)
    try:
        wal = Path(str(ws.paths.database) + "-wal")
        if wal.exists() and wal.stat().st_size > 64 * 1024 * 1024:
            notes.append(f"the write-ahead log is large ({wal.stat().st_size // 1_000_000} MB)")
    except OSError:
        pass
    return CheckReport(
        ok=not problems,
        problems=problems,
        integrity="ok" if not sqlite_problems else "damaged",
        search_index="ok" if index_ok else "out of step",
        counts=report.counts,
        unsynced_changes=report.unsynced_changes,
        schema_version=str(revision),
        checked_at=ws.now(),
        notes=notes,
    )


def repair_search_index(ws: Workspace) -> None:
    """Rebuild the FTS index from its documents (after ``check`` reported it out of step)."""
    with ws.db.engine.begin() as conn:
        search_index.rebuild(conn)


__all__ = [
    "CheckReport",
    "StatusReport",
    "backup",
    "check",
    "repair_search_index",
    "restore",
    "status",
]
