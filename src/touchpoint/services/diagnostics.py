"""A diagnostics file for a support ticket: how this Touchpoint is set up and how it is.

The zip holds versions, the settings in force (and the machine policy), the tail of
the log, the database's health and its record counts, and the sync state. It holds
no customer data (no names, notes, emails or numbers of customers: only counts) and
no secrets (the device token is reported as present or not, never its value; the
log tail is scrubbed of anything that looks like a token, password or address).

The database is read through a read-only SQLite connection, never migrated or
opened for writing: the file is looked at as support will want to see it, even when
Touchpoint itself cannot open it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import platform
import re
import sqlite3
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from touchpoint import __version__
from touchpoint.errors import StorageError, ValidationError
from touchpoint.paths import AppPaths
from touchpoint.settings import load_settings
from touchpoint.storage import encryption, migrate
from touchpoint.storage.queries import diagnostics as db_facts

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 2000
# Meta keys of the sync engine (kept in sync with touchpoint.sync.engine; no import there
# so a diagnostics run never loads the sync stack).
_SERVER, _EMAIL, _CA, _LAST_SYNC, _CURSOR, _DISMISSED = (
    "sync_server",
    "sync_email",
    "sync_ca_bundle",
    "sync_last_at",
    "sync_cursor",
    "sync_rejected_dismissed",
)


@dataclass(frozen=True)
class DiagnosticsReport:
    path: Path
    files: list[str]
    bytes: int
    integrity: str


# --- scrubbing ------------------------------------------------------------------------------
_SCRUBS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|token|secret|api[_-]?key|key|authorization)"
            r"(\s*[=:]\s*|\"\s*:\s*\")[^\s\",;&]+"
        ),
        r"\1\2***",
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***:***@"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (re.compile(r"\+\d[\d ()/.-]{7,}\d"), "<number>"),
]
# 32+ characters of base64/hex in one piece: a token or key, whatever its label.
_LONG_RUN = re.compile(r"(?<![\w/.-])[A-Za-z0-9_-]{32,}(?![\w/.-])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _secret_or_id(match: re.Match[str]) -> str:
    # Record and device ids are UUIDs: support needs them, and they are no secret.
    return match.group(0) if _UUID.fullmatch(match.group(0)) else "<secret>"


def scrub(text: str) -> str:
    """Remove what looks like a secret or a person's address from free text."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return _LONG_RUN.sub(_secret_or_id, text)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        # Only credentials inside URLs here: settings values are the rep's own choices.
        return _SCRUBS[2][0].sub(_SCRUBS[2][1], value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


# --- the parts --------------------------------------------------------------------------------
def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, Any]:
    pyside = _version("PySide6-Essentials") or _version("PySide6")
    return {
        "touchpoint": __version__,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "executable_frozen": bool(getattr(sys, "frozen", False)),
        "os": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": _version("SQLAlchemy"),
        "alembic": _version("alembic"),
        "pyside6": pyside,
        # PySide6 wheels carry the Qt of their own version.
        "qt": pyside,
        "httpx": _version("httpx"),
        "keyring": _version("keyring"),
        "schema_head": migrate.head_revision(),
    }


def effective_settings(paths: AppPaths) -> dict[str, Any]:
    """The settings in force and where each came from (with the machine policy when this
    build has one); never a secret: tokens and passwords are not settings."""
    try:
        from touchpoint import policy
    except ImportError:
        policy = None  # type: ignore[assignment]
    if policy is not None:
        try:
            effective = policy.effective_settings(paths.settings_file)
            loaded = effective.policy
            return _scrub_value(
                {
                    "settings_file": str(paths.settings_file),
                    "settings": {
                        name: {
                            "value": item.value,
                            "source": str(item.source),
                            "locked": item.locked,
                        }
                        for name, item in effective.items.items()
                    },
                    "policy": {
                        "file": str(loaded.path),
                        "status": loaded.status,
                        "problem": loaded.problem,
                    },
                }
            )
        except Exception as exc:  # the bundle is most needed when something is broken
            log.warning("diagnostics: effective settings unavailable: %s", exc)
    return _scrub_value(
        {
            "settings_file": str(paths.settings_file),
            "settings": asdict(load_settings(paths.settings_file)),
            "policy": None,
        }
    )


def _log_files(log_dir: Path) -> list[Path]:
    """Oldest first: touchpoint.log.5 … touchpoint.log.1, touchpoint.log."""
    files = [p for p in log_dir.glob("*.log*") if p.is_file()]

    def age(p: Path) -> tuple[int, str]:
        suffix = p.name.rsplit(".", 1)[-1]
        return (-int(suffix) if suffix.isdigit() else 0, p.name)

    return sorted(files, key=age)


def log_tail(log_dir: Path, lines: int = LOG_TAIL_LINES) -> str:
    kept: list[str] = []
    for file in reversed(_log_files(log_dir)):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            kept.insert(0, f"[{file.name} unreadable: {exc.strerror}]")
            continue
        chunk = text.splitlines()
        kept[:0] = chunk[-(lines - len(kept)) :] if len(kept) < lines else []
        if len(kept) >= lines:
            break
    return "\n".join(scrub(line) for line in kept[-lines:]) + "\n"


# Errors of either driver: the standard sqlite3, or SQLCipher's for an encrypted database.
_DB_ERRORS = encryption.database_errors()


def _connect_read_only(database: Path) -> Any:
    # The key comes from the keyring and is never put in the bundle.
    return db_facts.open_read_only(database)


def database_health(paths: AppPaths) -> dict[str, Any]:
    database = paths.database
    out: dict[str, Any] = {"file": str(database), "exists": database.exists()}
    if not database.exists():
        return out
    out["bytes"] = database.stat().st_size
    wal = Path(str(database) + "-wal")
    out["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
    out["encrypted"] = encryption.is_encrypted(database)
    if out["encrypted"]:
        out["key_in_keyring"] = encryption.stored_key(database) is not None
    try:
        conn = _connect_read_only(database)
    except (*_DB_ERRORS, StorageError) as exc:
        out["error"] = f"cannot open: {getattr(exc, 'message', exc)}"
        return out
    try:
        rows = db_facts.quick_check(conn)
        out["quick_check"] = "ok" if rows == ["ok"] else rows[:50]
        out["journal_mode"] = db_facts.journal_mode(conn)
        try:
            out["schema_revision"] = db_facts.schema_revision(conn)
        except (*_DB_ERRORS, TypeError):
            out["schema_revision"] = None
        out["schema_expected"] = migrate.head_revision()
        counts: dict[str, int | str] = {}
        for table in db_facts.table_names(conn):
            try:
                counts[table] = db_facts.row_count(conn, table)
            except _DB_ERRORS as exc:
                counts[table] = f"unreadable: {exc}"
        out["counts"] = counts
    except _DB_ERRORS as exc:  # damaged
        out.setdefault("quick_check", f"failed: {exc}")
        out["error"] = str(exc)
    finally:
        conn.close()
    return out


def sync_state(paths: AppPaths) -> dict[str, Any]:
    database = paths.database
    if not database.exists():
        return {"configured": False}
    try:
        conn = _connect_read_only(database)
    except (*_DB_ERRORS, StorageError) as exc:
        return {"error": f"cannot open: {getattr(exc, 'message', exc)}"}
    try:
        meta = db_facts.local_meta(conn)
        changes = db_facts.outbox(conn)
        try:
            dismissed = set(json.loads(meta.get(_DISMISSED) or "[]"))
        except (ValueError, TypeError):
            dismissed = set()
        conflicts = db_facts.conflict_counts(conn)
        state: dict[str, Any] = {
            "device_id": meta.get("device_id"),
            "server": _scrub_value(meta.get(_SERVER)),
            "account": meta.get(_EMAIL),
            "ca_bundle": meta.get(_CA),
            "cursor": meta.get(_CURSOR),
            "last_sync": meta.get(_LAST_SYNC),
            "changes_waiting": changes.waiting,
            "changes_rejected": len(changes.rejected),
            "changes_rejected_not_dismissed": len(changes.rejected - dismissed),
            "conflicts": conflicts.total,
            "conflicts_open": conflicts.open,
        }
        # The last anti-entropy check (sync.check) and the records set aside on pulls.
        with contextlib.suppress(ValueError, TypeError):
            state["last_check"] = json.loads(meta.get("sync_check") or "null")
        with contextlib.suppress(*_DB_ERRORS):
            state["set_aside"] = [r._asdict() for r in db_facts.set_aside(conn, limit=200)]
    except _DB_ERRORS as exc:
        return {"error": str(exc)}
    finally:
        conn.close()
    state["configured"] = bool(state["server"])
    state["signed_in"] = _token_kept(meta.get(_SERVER), meta.get(_EMAIL))
    return state


def _token_kept(server: str | None, email: str | None) -> bool | str:
    """Whether a device token is in the keyring (its value is never read into the bundle)."""
    if not server or not email:
        return False
    try:
        from touchpoint.sync import credentials

        return credentials.load_token(server, email) is not None
    except Exception as exc:  # no keyring backend: say so rather than fail
        return f"unknown ({type(exc).__name__})"


# --- the bundle -----------------------------------------------------------------------------
_README = """Touchpoint diagnostics, made {made} by Touchpoint {version}.

versions.json   Touchpoint, Python, Qt/PySide6, SQLite, SQLAlchemy, the OS
settings.json   the settings in force, where each comes from, the machine policy
database.json   SQLite's quick check, schema revision, record counts per table
sync.json       the Hub, signed in or not, last sync, changes waiting, rejected, conflicts
log-tail.txt    the last {lines} lines of the log, scrubbed of tokens and addresses

It holds no customer data (only counts) and no secrets (the device token is only
reported as kept or not).
"""


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode() + b"\n"


def build(paths: AppPaths, *, now: datetime | None = None) -> dict[str, bytes]:
    """Every file of the bundle, by name."""
    made = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    health = database_health(paths)
    files = {
        "README.txt": _README.format(made=made, version=__version__, lines=LOG_TAIL_LINES).encode(),
        "versions.json": _json(versions()),
        "settings.json": _json(effective_settings(paths)),
        "database.json": _json(health),
        "sync.json": _json(sync_state(paths)),
        "log-tail.txt": log_tail(paths.log_dir).encode("utf-8"),
    }
    return files


def _zip(files: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(f"touchpoint-diagnostics/{name}", data)
    return buffer.getvalue()


def write_diagnostics(
    paths: AppPaths, out: Path, *, now: datetime | None = None
) -> DiagnosticsReport:
    """Write the bundle to ``out`` atomically: the file appears only when complete."""
    from touchpoint.services.outfiles import atomic_target, check_target

    out = Path(out).expanduser()
    if out.is_dir():
        raise ValidationError("--out", f"{out} is a folder; name the .zip file to write")
    check_target(out, field="--out")  # before collecting: a typo is said at once
    log.info("diagnostics: collecting for %s", out)
    files = build(paths, now=now)
    data = _zip(files.items())
    # Written 0600 beside the target and renamed: no customer data, but paths and
    # settings are nobody else's business either.
    with atomic_target(out, field="--out") as temp:
        temp.write_bytes(data)
    health = json.loads(files["database.json"])
    integrity = health.get("quick_check", "no database")
    log.info("diagnostics: wrote %s (%d bytes, database %s)", out, len(data), integrity)
    return DiagnosticsReport(
        path=out,
        files=sorted(files),
        bytes=len(data),
        integrity=integrity if isinstance(integrity, str) else "problems found",
    )
