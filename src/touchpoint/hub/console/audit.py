"""The audit log of administrative actions: who did what, when.

Kept as an append-only JSON-lines file in the Hub's log folder (one object a line),
written by the console and by ``touchpoint-hub`` alike. A file rather than a table
until the Hub's next migration adds one; each line is written with one ``write``
on a file opened for appending, so lines from several workers never interleave.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from touchpoint.storage.types import to_utc_text

AUDIT_ENV = "TOUCHPOINT_HUB_AUDIT_LOG"


def audit_path() -> Path:
    """$TOUCHPOINT_HUB_AUDIT_LOG, else audit.jsonl beside the Hub's log file."""
    explicit = os.environ.get(AUDIT_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("touchpoint-hub", "Touchpoint")) / "audit.jsonl"


def record(who: str, action: str, target: str, *, via: str, now: datetime | None = None) -> None:
    """Append one administrative action (``via``: "console" or "cli")."""
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "at": to_utc_text(now or datetime.now(UTC)),
            "who": who,
            "action": action,
            "target": target,
            "via": via,
        },
        ensure_ascii=False,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def entries(limit: int = 500) -> tuple[list[dict[str, str]], int]:
    """The newest ``limit`` entries, newest first, and how many older ones were left out."""
    path = audit_path()
    if not path.is_file():
        return [], 0
    found: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                item = json.loads(raw)
            except ValueError:
                continue  # a torn last line after a crash is skipped, never fatal
            if isinstance(item, dict):
                found.append(
                    {k: str(item.get(k, "")) for k in ("at", "who", "action", "target", "via")}
                )
    found.reverse()
    return found[:limit], max(0, len(found) - limit)
