"""Today's rows through the standard library's sqlite3, read-only, without SQLAlchemy.

At start the window's Today is filled from these while SQLAlchemy and the models load
(a third of a second): the queries are the ones :func:`touchpoint.services.insights.today`
runs, with the same filters and order. Only a plain (unencrypted) database already at
the newest schema is read this way; anything else waits for the usual opening.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from touchpoint.storage.queries import rows_as_one
from touchpoint.storage.queries.watch_list import WatchRow, watch_rows
from touchpoint.storage.revisions import REVISIONS

# The first bytes of every plain SQLite file (an encrypted one starts with random bytes).
# Not imported from storage.encryption: its imports cost the start a few milliseconds.
PLAIN_HEADER = b"SQLite format 3\x00"

FOLLOWUP_COLUMNS = (
    "f.id, f.customer_id, f.contact_id, f.interaction_id, f.title, f.notes, f.due_at,"
    " f.remind_at, f.priority, f.status, f.done_at, f.assigned_to, c.name"
)
INTERACTION_COLUMNS = (
    "i.id, i.customer_id, i.kind, i.direction, i.occurred_at, i.duration_minutes,"
    " i.contact_ids, i.subject, i.notes, i.outcome, i.satisfaction, i.feedback, i.depth,"
    " i.rep, c.name"
)


def connect_read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to a plain database at the newest schema, else None
    (an encrypted file, one that a migration must upgrade first, or no database)."""
    try:
        with path.open("rb") as f:
            if f.read(len(PLAIN_HEADER)) != PLAIN_HEADER:
                return None
    except OSError:
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if row is None or row[0] != REVISIONS[-1]:
        conn.close()
        return None
    return conn


def _names(columns: str) -> str:
    """The subquery's column names of ``columns`` ("f.id, c.name" gives "id, name")."""
    return ", ".join(c.strip().split(".")[-1] for c in columns.split(","))


class OpenFollowUp(NamedTuple):
    """A follow-up as Today lists it (times as UTC text), with its customer's name."""

    id: str
    customer_id: str
    contact_id: str | None
    interaction_id: str | None
    title: str
    notes: str | None
    due_at: str
    remind_at: str | None
    priority: str
    status: str
    done_at: str | None
    assigned_to: str
    customer_name: str


class DayInteraction(NamedTuple):
    """An interaction as Today lists it (its time as UTC text, its contacts' ids as
    JSON text), with its customer's name."""

    id: str
    customer_id: str
    kind: str
    direction: str | None
    occurred_at: str
    duration_minutes: int | None
    contact_ids: str | None
    subject: str | None
    notes: str | None
    outcome: str | None
    satisfaction: int | None
    feedback: str | None
    depth: str | None
    rep: str
    customer_name: str


# The partial index of open, live follow-ups by (assigned_to, due_at) answers both (the
# conditions are written as in the index, so that SQLite sees it applies).
OPEN_FOLLOWUPS = (
    "f.status = 'open' AND f.deleted_at IS NULL AND f.assigned_to = :user"
    " AND f.due_at >= :after AND f.due_at < :before"
)


def open_followups_between(
    conn: sqlite3.Connection, *, assigned_to: str, after: str, before: str, limit: int
) -> list[OpenFollowUp]:
    """Open follow-ups of ``assigned_to`` due in [after, before) (UTC text), by due
    time, with their customer's name; as ``list_followups`` reads them."""
    rows = rows_as_one(
        conn,
        _names(FOLLOWUP_COLUMNS),
        f"SELECT {FOLLOWUP_COLUMNS} FROM followups f JOIN customers c ON c.id = f.customer_id"
        f" WHERE {OPEN_FOLLOWUPS} ORDER BY f.due_at, f.id LIMIT :limit",
        {"user": assigned_to, "after": after, "before": before, "limit": limit},
    )
    rows.sort(key=lambda r: (str(r[6]), str(r[0])))  # an aggregate keeps no order by rule
    return [OpenFollowUp(*r) for r in rows]


def count_open_followups(
    conn: sqlite3.Connection, *, assigned_to: str, after: str, before: str
) -> int:
    """How many open follow-ups ``assigned_to`` has due in [after, before)."""
    sql = f"SELECT count(*) FROM followups f WHERE {OPEN_FOLLOWUPS}"
    params = {"user": assigned_to, "after": after, "before": before}
    return int(conn.execute(sql, params).fetchone()[0])


def interactions_between(
    conn: sqlite3.Connection, *, rep: str, start: str, end: str, limit: int
) -> list[DayInteraction]:
    """The rep's live interactions in [start, end) (UTC text), newest first, with their
    customer's name; as ``insights.activity`` reads them."""
    rows = rows_as_one(
        conn,
        _names(INTERACTION_COLUMNS),
        f"SELECT {INTERACTION_COLUMNS} FROM interactions i"
        " JOIN customers c ON c.id = i.customer_id"
        " WHERE i.deleted_at IS NULL AND i.occurred_at >= ? AND i.occurred_at < ?"
        " AND i.rep = ? ORDER BY i.occurred_at DESC, i.id DESC LIMIT ?",
        (start, end, rep, limit),
    )
    rows.sort(key=lambda r: (str(r[4]), str(r[0])), reverse=True)
    return [DayInteraction(*r) for r in rows]


class TodayRows(NamedTuple):
    """Today's rows as read: the follow-ups overdue (the longest overdue first, at most
    the limit) and their count, those due later today, the day's interactions and the
    watch list's."""

    overdue: list[OpenFollowUp]
    overdue_total: int
    due_today: list[OpenFollowUp]
    interactions: list[DayInteraction]
    quiet: list[WatchRow]


# Before any due time: the start of the overdue range.
EARLIEST = ""


def read_today(
    conn: sqlite3.Connection,
    *,
    user: str,
    start: str,
    now: str,
    end: str,
    due_limit: int,
    interactions_limit: int,
) -> TodayRows:
    """All of Today's rows for ``user`` at ``now``, whose day is [start, end) (UTC text)."""
    overdue = open_followups_between(
        conn, assigned_to=user, after=EARLIEST, before=now, limit=due_limit
    )
    total = len(overdue)
    if total == due_limit:  # more may wait beyond the list
        total = count_open_followups(conn, assigned_to=user, after=EARLIEST, before=now)
    return TodayRows(
        overdue=overdue,
        overdue_total=total,
        due_today=open_followups_between(
            conn, assigned_to=user, after=now, before=end, limit=due_limit
        ),
        interactions=interactions_between(
            conn, rep=user, start=start, end=end, limit=interactions_limit
        ),
        quiet=watch_rows(conn, owner=user),
    )
