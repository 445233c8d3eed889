"""Leaving a team: a laptop keeps only what its rep may still see.

When the Hub says the rep's scope shrank (a team taken away, a role lowered), the
customers of the teams no longer visible leave this laptop at the next sync, with
everything filed under them. The rep's own changes to them that never reached the Hub
are not thrown away: they are written to a hand-over file (JSON, readable and
importable by a colleague or IT) and listed as refused, with the file named, so the
window and ``touchpoint status`` say what happened. One transaction: all or nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from touchpoint.storage import deferred_indexes
from touchpoint.storage.models import Change
from touchpoint.storage.workspace import Workspace

# Children first: follow-ups name contacts and interactions.
_CHILDREN = ("followups", "deals", "interactions", "contacts")
_ENTITY_OF = {
    "followups": "followup",
    "deals": "deal",
    "interactions": "interaction",
    "contacts": "contact",
    "customers": "customer",
}


@dataclass(frozen=True)
class LeftTeams:
    teams: tuple[str, ...]
    customers: int  # customers removed from this laptop
    records: int  # every record removed, customers included
    handed_over: int  # unsynced changes written to the hand-over file
    file: Path | None

    def words(self) -> str:
        names = ", ".join(self.teams)
        text = (
            f"You no longer see team {names}: {self.customers} customer(s) and what is "
            "filed under them were removed from this laptop"
        )
        if self.file is not None:
            text += (
                f"; your {self.handed_over} change(s) to them that had not reached the Hub "
                f"are kept in {self.file}"
            )
        return text + "."


def leave_teams(ws: Workspace, visible: set[str] | None) -> LeftTeams | None:
    """Remove the customers of teams outside ``visible`` (None: every team is visible)."""
    if visible is None:
        return None
    with ws.unit_of_work(origin="remote") as uow:
        conn = uow.session.connection()
        marks = ", ".join("?" for _ in visible) or "''"
        gone = conn.exec_driver_sql(
            f"SELECT customer_id, team FROM customer_teams WHERE team NOT IN ({marks})",
            tuple(visible),
        ).all()
        if not gone:
            return None
        # Deleting a customer looks its children up through their indexes: a first
        # sync stopped before its end may have left some out.
        deferred_indexes.build(conn)
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS leaving (entity TEXT, id TEXT)")
        conn.exec_driver_sql("DELETE FROM temp.leaving")
        conn.exec_driver_sql(
            "INSERT INTO temp.leaving VALUES ('customer', ?)", [(c,) for c, _t in gone]
        )
        for table in _CHILDREN:
            conn.exec_driver_sql(
                f"INSERT INTO temp.leaving SELECT '{_ENTITY_OF[table]}', id FROM {table} "
                "WHERE customer_id IN (SELECT id FROM temp.leaving WHERE entity = 'customer')"
            )
        conn.exec_driver_sql(
            "INSERT INTO temp.leaving SELECT 'merge', id FROM merges WHERE winner_id IN "
            "(SELECT id FROM temp.leaving WHERE entity IN ('customer', 'contact'))"
        )
        teams = tuple(sorted({t for _c, t in gone}))
        handed, file = _hand_over(ws, conn, teams)
        records = conn.exec_driver_sql("SELECT count(*) FROM temp.leaving").scalar_one()
        inside = "SELECT id FROM temp.leaving"
        conn.exec_driver_sql(f"DELETE FROM search_docs WHERE record_id IN ({inside})")
        conn.exec_driver_sql(f"DELETE FROM identity_keys WHERE record_id IN ({inside})")
        conn.exec_driver_sql(f"DELETE FROM sync_conflicts WHERE record_id IN ({inside})")
        conn.exec_driver_sql(f"DELETE FROM sync_set_aside WHERE record_id IN ({inside})")
        for table in (*_CHILDREN, "customers"):
            entity = _ENTITY_OF[table]
            conn.exec_driver_sql(
                f"DELETE FROM {table} WHERE id IN "
                f"(SELECT id FROM temp.leaving WHERE entity = '{entity}')"
            )
        conn.exec_driver_sql(
            "DELETE FROM merges WHERE id IN (SELECT id FROM temp.leaving WHERE entity = 'merge')"
        )
        conn.exec_driver_sql(f"DELETE FROM customer_teams WHERE customer_id IN ({inside})")
        conn.exec_driver_sql("DROP TABLE temp.leaving")
        uow.commit()
    return LeftTeams(teams, len(gone), int(records), handed, file)


def _hand_over(ws: Workspace, conn: Connection, teams: tuple[str, ...]) -> tuple[int, Path | None]:
    """The outbox's changes to leaving records: written to a file, then marked refused
    with the file named (they are never sent: the Hub would refuse them)."""
    rows = conn.execute(
        select(Change.seq, Change.change_id, Change.entity, Change.record_id, Change.op)
        .add_columns(Change.fields, Change.at, Change.author)
        .where(
            Change.pushed_at.is_(None),
            Change.record_id.in_(select_leaving()),
        )
        .order_by(Change.seq)
    ).all()
    if not rows:
        return 0, None
    now = ws.now()
    folder = ws.paths.data_dir / "handover"
    folder.mkdir(mode=0o700, exist_ok=True)
    file = folder / f"{now:%Y%m%d-%H%M%S}-left-{'-'.join(teams)}.json"
    document: dict[str, Any] = {
        "about": (
            "Changes made on this laptop to records of teams its user no longer sees, "
            "which had not reached the Hub. Hand this file to someone in the team."
        ),
        "teams": list(teams),
        "user": ws.author,
        "device": ws.device_id,
        "written_at": now.isoformat(),
        "changes": [
            {
                "change_id": r.change_id,
                "entity": r.entity,
                "record_id": r.record_id,
                "op": r.op,
                "fields": r.fields,
                "at": r.at.isoformat(),
                "author": r.author,
            }
            for r in rows
        ],
    }
    temp = file.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=2, default=str)
        out.flush()
        os.fsync(out.fileno())
    temp.replace(file)
    reason = f"not sent: you no longer see team {', '.join(teams)}; kept in {file}"
    conn.execute(
        update(Change)
        .where(Change.change_id.in_([r.change_id for r in rows]))
        .values(pushed_at=now, push_error=reason)
    )
    return len(rows), file


def select_leaving() -> Any:
    from sqlalchemy import column, table

    leaving = table("leaving", column("id"), schema="temp")
    return select(leaving.c.id)
