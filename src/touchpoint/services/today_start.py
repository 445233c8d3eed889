"""Today read at start, straight from the database file, before the Workspace opens.

The window is built on the UI thread while the read runs on the database thread. Both
need Python's lock except while SQLite works, and a thread that gives the lock up (at
every file read) waits to get it back while the other runs Python. So the start splits
the work: :func:`plan_read` reads the settings on the UI thread (a few small files),
and :func:`read_planned` on the database thread reads the rows first (SQLite, without
the lock, beside the window's build) and only then turns them into Today's view.

Either answers None whenever the file cannot be read this way (an encrypted database,
a migration due, no database yet); the window then waits for the usual read through the
Workspace. Only light modules are imported here: :mod:`touchpoint.services.today`, which
builds the view, is imported after the rows.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from touchpoint.domain import dates
from touchpoint.errors import TouchpointError
from touchpoint.storage import today_rows
from touchpoint.storage.utc_text import to_utc_text

if TYPE_CHECKING:
    from touchpoint.context import AppContext
    from touchpoint.services.today import TodayView

log = logging.getLogger(__name__)

# Today's lists hold at most this many rows (the overdue count has no limit).
DUE_LIMIT = 500  # as many as the follow-up list reads
INTERACTIONS_LIMIT = 200


@dataclass(frozen=True)
class TodayPlan:
    """What the read needs from the settings: whose Today, in which time zone."""

    database: Path
    user: str
    tz: tzinfo
    quiet_after_days: int


def plan_read(where: AppContext | str | os.PathLike[str] | None) -> TodayPlan | None:
    """The read of Today from the start-up context's settings and policy (or those of
    a folder given by name); None when only the Workspace can read it (settings it
    cannot read, an encrypted database)."""
    from touchpoint.context import AppContext, resolve_context

    try:
        context = where if isinstance(where, AppContext) else resolve_context(where)
        paths, settings = context.paths, context.settings
        tz = settings.tz()
    except (OSError, TouchpointError) as exc:  # the opening says what is wrong
        log.info("Today waits for the database to open: %s", exc)
        return None
    if settings.encrypt_database:  # it may be about to be encrypted: SQLCipher's job
        return None
    return TodayPlan(
        database=paths.database,
        user=settings.author(),
        tz=tz,
        quiet_after_days=settings.quiet_after_days,
    )


def read_planned(plan: TodayPlan, *, now: datetime | None = None) -> TodayView | None:
    """Today as ``plan`` says, read-only; None when the file cannot be read this way."""
    conn = today_rows.connect_read_only(plan.database)
    if conn is None:
        return None
    now = now or datetime.now(UTC)
    start, end = dates.local_day_bounds(dates.local_date(now, plan.tz), plan.tz)
    try:
        rows = today_rows.read_today(
            conn,
            user=plan.user,
            start=to_utc_text(start),
            now=to_utc_text(now),
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

    return view_from_rows(rows, now=now, tz=plan.tz, quiet_after_days=plan.quiet_after_days)


def read_before_open(
    data_dir: AppContext | str | os.PathLike[str] | None, *, now: datetime | None = None
) -> TodayView | None:
    """Today straight from the database file of ``data_dir``, read-only, before the
    Workspace opens; None when only the Workspace can read it."""
    plan = plan_read(data_dir)
    return None if plan is None else read_planned(plan, now=now)
