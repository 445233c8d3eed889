"""Creating and upgrading the local database, only ever through Alembic migrations.

Before an upgrade, the file is copied aside; a database written by a newer
Touchpoint is refused with a clear message and left untouched.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from touchpoint import __version__
from touchpoint.errors import NewerSchemaError, StorageError
from touchpoint.storage import encryption
from touchpoint.storage.backup import copy_database, stamp
from touchpoint.storage.database import Database
from touchpoint.storage.revisions import REVISIONS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# New migrations are listed in storage/revisions.py (REVISIONS).


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def script_revisions() -> list[str]:
    """The revisions of the migration scripts themselves, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def head_revision() -> str:
    return REVISIONS[-1]


def known_revisions() -> set[str]:
    return set(REVISIONS)


def _read_meta(path: Path, key: str | None = None) -> tuple[str | None, str | None]:
    """(schema revision, version of Touchpoint that last wrote it) without touching the file."""
    conn = encryption.connect(path, key if encryption.is_encrypted(path) else None, read_only=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revision = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        written_by = None
        if "local_meta" in tables:
            row = conn.execute(
                "SELECT value FROM local_meta WHERE key = 'min_app_version'"
            ).fetchone()
            written_by = row[0] if row else None
        return revision, written_by
    except encryption.database_errors() as exc:
        raise StorageError(f"{path} is not a Touchpoint database ({exc})") from exc
    finally:
        conn.close()


def schema_revision(path: Path, key: str | None = None) -> str | None:
    return _read_meta(path, key)[0] if path.exists() else None


def upgrade(db: Database, backup_dir: Path) -> Path | None:
    """Bring ``db`` to the newest schema; returns the pre-upgrade backup, if one was made."""
    path = db.path
    backup: Path | None = None
    if path.exists() and path.stat().st_size > 0:
        revision, written_by = _read_meta(path, db.key)
        if revision is not None and revision not in known_revisions():
            needs = written_by or "a newer version"
            raise NewerSchemaError(
                f"This data needs Touchpoint {needs} or newer (schema {revision}); "
                f"this is Touchpoint {__version__}. The database was left untouched."
            )
        if revision == head_revision():
            return None
        if revision is not None:
            backup = copy_database(
                path, backup_dir / f"pre-upgrade-{revision}-{stamp()}.sqlite3", key=db.key
            )
    from alembic import command

    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        _ensure_meta(conn)
    return backup


def _ensure_meta(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO local_meta (key, value) VALUES ('device_id', ?)",
        (str(uuid.uuid4()),),
    )
    conn.exec_driver_sql(
        "INSERT INTO local_meta (key, value) VALUES ('min_app_version', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (__version__,),
    )
