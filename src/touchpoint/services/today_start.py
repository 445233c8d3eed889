"""Today read at start, straight from the database file, before the Workspace opens.

The window is built on the UI thread while this runs on the database thread. Both
need Python's lock except while SQLite works, so the order matters: the rows are read
first (SQLite, without the lock, beside the window's build), and only then is the code
that turns them into Today's view imported and run. It answers None whenever the file
cannot be read this way (an encrypted database, a migration due, no database yet); the
window then waits for the usual read through the Workspace.

Only light modules are imported here: the settings and paths are loaded by the start
already, and :mod:`touchpoint.services.today` comes after the rows.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from touchpoint.domain import dates
from touchpoint.errors import TouchpointError
from touchpoint.storage import today_rows
from touchpoint.storage.utc_text import to_utc_text

if TYPE_CHECKING:
    from touchpoint.services.today import TodayView

log = logging.getLogger(__name__)

DUE_LIMIT = 500  # as many as the follow-up list reads
INTERACTIONS_LIMIT = 200


def read_before_open(
    data_dir: str | os.PathLike[str] | None, *, now: datetime | None = None
) -> TodayView | None:
    """Today straight from the database file of ``data_dir``, read-only, before the
    Workspace opens; None when only the Workspace can read it."""
    from touchpoint.paths import resolve_paths
    from touchpoint.policy import apply_policy, current_policy
    from touchpoint.settings import load_settings

    try:
        paths = resolve_paths(data_dir)
        settings = apply_policy(load_settings(paths.settings_file), current_policy())
    except (OSError, TouchpointError) as exc:  # the opening says what is wrong
        log.info("Today waits for the database to open: %s", exc)
        return None
    if settings.encrypt_database:  # it may be about to be encrypted: SQLCipher's job
        return None
    conn = today_rows.connect_read_only(paths.database)
    if conn is None:
        return None
    now = now or datetime.now(UTC)
    tz = settings.tz()
    start, end = dates.local_day_bounds(dates.local_date(now, tz), tz)
    try:
        rows = today_rows.read_today(
            conn,
            user=settings.author(),
            start=to_utc_text(start),
            end=to_utc_text(end),
            due_limit=DUE_LIMIT,
            interactions_limit=INTERACTIONS_LIMIT,
        )
    except (sqlite3.Error, ValueError) as exc:  # e.g. a database being replaced: wait
        log.warning("Today could not be read before the database opened: %s", exc)
        return None
    finally:
        conn.close()
    from touchpoint.services.today import view_from_rows

    return view_from_rows(rows, now=now, tz=tz, quiet_after_days=settings.quiet_after_days)
