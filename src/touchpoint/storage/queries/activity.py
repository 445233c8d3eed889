"""The activity export's reads: every interaction or follow-up of a period, streamed.

A million rows go through these, so they come as the driver's plain tuples, in the
order of the fields of :class:`ExportedInteraction` and :class:`ExportedFollowUp`
(name them by unpacking: a NamedTuple per row would cost more than SQLite itself).
Times are UTC text as stored; names inside one cell are joined by :data:`SEPARATOR`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from touchpoint.storage.queries import driver_connection

SEPARATOR = "\x1f"  # joins contact names and follow-up titles; never typed by people


class ExportedInteraction(NamedTuple):
    occurred_at: str
    customer: str
    contacts: str | None  # their names, joined by SEPARATOR
    rep: str
    kind: str
    direction: str | None
    duration_minutes: int | None
    outcome: str | None
    satisfaction: int | None
    feedback: str | None
    subject: str | None
    notes: str | None
    followups: str | None  # the titles of the follow-ups promised in it, joined
    customer_id: str
    id: str


class ExportedFollowUp(NamedTuple):
    due_at: str
    customer: str
    title: str
    assigned_to: str
    status: str
    done_at: str | None
    priority: str
    notes: str | None
    customer_id: str
    interaction_id: str | None
    id: str


ACTIVITY_SQL = """
SELECT i.occurred_at, c.name,
  CASE WHEN i.contact_ids IS NOT NULL AND i.contact_ids != '[]' THEN
    (SELECT group_concat(ct.name, char(31)) FROM json_each(i.contact_ids) j
      JOIN contacts ct ON ct.id = j.value) END,
  i.rep, i.kind, i.direction, i.duration_minutes, i.outcome, i.satisfaction, i.feedback,
  i.subject, i.notes,
  (SELECT group_concat(f.title, char(31)) FROM followups f
    WHERE f.customer_id = i.customer_id AND f.interaction_id = i.id AND f.deleted_at IS NULL),
  i.customer_id, i.id
FROM interactions i JOIN customers c ON c.id = i.customer_id
WHERE i.deleted_at IS NULL AND i.occurred_at >= :start AND i.occurred_at < :end
"""
ACTIVITY_ORDER = " ORDER BY i.occurred_at, i.id"

_FOLLOWUP_SQL = """
SELECT f.due_at, c.name, f.title, f.assigned_to, f.status, f.done_at, f.priority, f.notes,
  f.customer_id, f.interaction_id, f.id
FROM followups f JOIN customers c ON c.id = f.customer_id
WHERE f.deleted_at IS NULL AND f.due_at >= :start AND f.due_at < :end
"""
_FOLLOWUP_ORDER = " ORDER BY f.due_at, f.id"


@dataclass(frozen=True)
class _Table:
    name: str
    alias: str
    rep_column: str
    time_column: str
    sql: str
    order: str


_TABLES = {
    "interactions": _Table("interactions", "i", "rep", "occurred_at", ACTIVITY_SQL, ACTIVITY_ORDER),
    "followups": _Table("followups", "f", "assigned_to", "due_at", _FOLLOWUP_SQL, _FOLLOWUP_ORDER),
}


@dataclass(frozen=True)
class ExportWindow:
    """Which rows: [start, end) (UTC text) of the table's time, optionally only some
    reps' (None: everyone's) and one customer's."""

    start: str
    end: str
    reps: Sequence[str] | None = None
    customer_id: str | None = None


def _where(window: ExportWindow, table: _Table) -> tuple[str, dict[str, Any]]:
    sql = ""
    params: dict[str, Any] = {"start": window.start, "end": window.end}
    if window.reps is not None:
        names = [f"rep{n}" for n in range(len(window.reps))]
        listed = ", ".join(":" + n for n in names) or "NULL"
        sql += f" AND {table.alias}.{table.rep_column} IN ({listed})"
        params.update(zip(names, window.reps, strict=True))
    if window.customer_id:
        sql += f" AND {table.alias}.customer_id = :customer_id"
        params["customer_id"] = window.customer_id
    return sql, params


class ExportRead:
    """One table's rows of a window, read in the session's snapshot: :meth:`count`
    first if a progress bar needs it, then :meth:`batches`."""

    def __init__(self, session: Session, table: str, window: ExportWindow) -> None:
        self.table = _TABLES[table]
        self.extra, self.params = _where(window, self.table)
        # The session's transaction (and so its snapshot) covers the raw cursor too.
        self.cursor = driver_connection(session).cursor()

    def count(self) -> int:
        t = self.table
        sql = (
            f"SELECT count(*) FROM {t.name} {t.alias}"
            f" WHERE {t.alias}.deleted_at IS NULL AND {t.alias}.{t.time_column} >= :start"
            f" AND {t.alias}.{t.time_column} < :end" + self.extra
        )
        return int(self.cursor.execute(sql, self.params).fetchone()[0])

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows oldest first, ``size`` at a time."""
        self.cursor.execute(self.table.sql + self.extra + self.table.order, self.params)
        while True:
            chunk = self.cursor.fetchmany(size)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self.cursor.close()
