"""Fresh databases for tests, copied from templates migrated once per test process.

Running every Alembic migration for each laptop and each Hub a test makes costs far more
than copying a file that went through them once (or, on PostgreSQL, creating the
database from a template). The copies are what a first start makes: the same schema at
the newest revision; each laptop copy gets its own device id, as a first start would.
The migrations themselves are tested where they are the subject (tests/storage,
tests/packaging, tests/sync/test_sync_upgrade.py, ``touchpoint-hub init`` in tests/hub).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

_FOLDER: list[Path] = []
_LAPTOP: list[Path] = []
_HUB_SQLITE: list[Path] = []
_HUB_PG: dict[str, str] = {}  # admin URL -> template database's name


def _folder() -> Path:
    if not _FOLDER:
        folder = Path(tempfile.mkdtemp(prefix="touchpoint-templates-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _FOLDER.append(folder)
    return _FOLDER[0]


def laptop_database(data_dir: Path) -> Path:
    """``data_dir``'s touchpoint.sqlite3, migrated to the newest revision, with a device id
    of its own. Workspace.open on ``data_dir`` then finds nothing to upgrade."""
    from touchpoint.storage.workspace import Workspace

    if not _LAPTOP:
        template = _folder() / "laptop"
        Workspace.open(template, auto_backup=False).close()
        _LAPTOP.append(template / "touchpoint.sqlite3")
    target = data_dir / "touchpoint.sqlite3"
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_LAPTOP[0], target)
    conn = sqlite3.connect(target)
    try:
        with conn:
            conn.execute(
                "UPDATE local_meta SET value = ? WHERE key = 'device_id'", (str(uuid.uuid4()),)
            )
    finally:
        conn.close()
    return target


def hub_sqlite(path: Path) -> str:
    """A migrated Hub database at ``path`` (SQLite); its URL."""
    if not _HUB_SQLITE:
        from touchpoint.hub.db import make_engine, upgrade

        template = _folder() / "hub.sqlite3"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        _HUB_SQLITE.append(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_HUB_SQLITE[0], path)
    return f"sqlite:///{path}"


def hub_postgres(admin_url: str, name: str) -> str:
    """A migrated Hub database ``name`` on the PostgreSQL server of ``admin_url``, made
    from a template database migrated once; its URL."""
    import psycopg

    base = admin_url.rsplit("/", 1)[0]
    if admin_url not in _HUB_PG:
        from touchpoint.hub.db import make_engine, upgrade

        template = f"tp_template_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {template}")
        engine = make_engine(f"{base}/{template}")
        upgrade(engine)
        engine.dispose()  # a template database takes no connections while it is copied

        def drop() -> None:
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(admin_url, autocommit=True) as conn,
            ):
                conn.execute(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")

        atexit.register(drop)
        _HUB_PG[admin_url] = template
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_HUB_PG[admin_url]}")
    return f"{base}/{name}"
