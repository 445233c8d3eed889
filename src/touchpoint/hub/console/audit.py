"""The audit log of administrative actions: who did what, when, on what, from where.

Kept in the Hub's database (table ``audit_log``, migration hub0007), written by the
console and by ``touchpoint-hub`` alike, and only ever appended to. Hubs from before
the table kept it as ``audit.jsonl`` in the Hub's log folder: :func:`import_old_file`
moves that file's lines into the table once (``touchpoint-hub init`` and ``serve``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, or_, select

from touchpoint.hub.db import audit_log, write
from touchpoint.storage.types import to_utc_text

AUDIT_ENV = "TOUCHPOINT_HUB_AUDIT_LOG"
VIA = ("console", "cli")
PAGE = 50  # entries a page


@dataclass(frozen=True)
class Entry:
    at: str  # UTC text
    who: str
    action: str
    target: str
    via: str  # "console" or "cli"
    address: str | None


def record(
    source: Engine | Connection,
    who: str,
    action: str,
    target: str,
    *,
    via: str,
    address: str | None = None,
    now: datetime | None = None,
) -> None:
    """Append one administrative action (``via``: "console" or "cli")."""
    with write(source) as conn:
        conn.execute(
            insert(audit_log).values(
                at=to_utc_text(now or datetime.now(UTC)),
                who=who[:300],
                action=action[:100],
                target=target,
                via=via,
                address=(address or None) and address[:100],
            )
        )


def entries(
    engine: Engine, *, page: int = 1, text: str = "", via: str = "", per_page: int = PAGE
) -> tuple[list[Entry], int]:
    """One page of entries, newest first, and how many match in all.

    ``text`` is found in who, what or on what (any case); ``via`` keeps one source."""
    where = []
    words = text.strip()
    if words:
        like = f"%{words.lower()}%"
        where.append(
            or_(
                func.lower(audit_log.c.who).like(like),
                func.lower(audit_log.c.action).like(like),
                func.lower(audit_log.c.target).like(like),
            )
        )
    if via in VIA:
        where.append(audit_log.c.via == via)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar()
        rows = conn.execute(
            select(audit_log)
            .where(*where)
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(per_page)
            .offset(max(0, page - 1) * per_page)
        ).all()
    found = [Entry(r.at, r.who, r.action, r.target, r.via, r.address) for r in rows]
    return found, int(total or 0)


def old_file() -> Path:
    """Where Hubs before the table kept the log: $TOUCHPOINT_HUB_AUDIT_LOG, else
    audit.jsonl beside the Hub's log file."""
    explicit = os.environ.get(AUDIT_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("touchpoint-hub", "Touchpoint")) / "audit.jsonl"


def import_old_file(engine: Engine, path: Path | None = None) -> int:
    """Move the lines of an old ``audit.jsonl`` into the table, once; how many.

    The lines go in, and the file is renamed ``audit.jsonl.imported``, in the one
    transaction: a rename that fails leaves the table without them, and the next start
    tries again, so no line is imported twice or lost. A torn last line is skipped."""
    path = path or old_file()
    if not path.is_file():
        return 0
    rows = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(item, dict) or not item.get("at"):
                continue
            via = str(item.get("via", ""))
            rows.append(
                {
                    "at": str(item["at"])[:27],
                    "who": str(item.get("who", ""))[:300],
                    "action": str(item.get("action", ""))[:100],
                    "target": str(item.get("target", "")),
                    "via": via if via in VIA else "cli",
                    "address": None,
                }
            )
    with write(engine) as conn:
        if rows:
            conn.execute(insert(audit_log), rows)
        path.rename(path.with_name(path.name + ".imported"))
    return len(rows)
