"""Drafts of forms being typed, kept on disk so a crash or a closed laptop loses nothing.

A draft is a small JSON document in ``<data dir>/drafts``. It is written
atomically (a temporary file, fsync, rename, fsync of the folder): a crash in
the middle of a write leaves the previous draft whole, never half of one. No
database is involved, so saving a draft never waits for (or blocks) a write.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
LOG_INTERACTION = "log-interaction"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Draft:
    """What was typed in one form, and when it was last saved."""

    name: str
    fields: dict[str, Any]
    saved_at: datetime


def drafts_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / "drafts"


class DraftStore:
    """Save, load and discard the drafts of one data folder."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.folder = drafts_dir(data_dir)

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"'{name}' is not a draft name (a-z, 0-9 and '-')")
        return self.folder / f"{name}.json"

    def save(self, name: str, fields: Mapping[str, Any], *, now: datetime | None = None) -> Path:
        """Replace the draft ``name`` with ``fields`` (JSON-serialisable values)."""
        target = self.path(name)
        saved_at = (now or datetime.now(UTC)).astimezone(UTC)
        document = {
            "format": FORMAT_VERSION,
            "name": name,
            "saved_at": saved_at.isoformat(),
            "fields": dict(fields),
        }
        payload = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_folder(self.folder)
        return target

    def load(self, name: str) -> Draft | None:
        """The saved draft, or None when there is none (or it cannot be read)."""
        target = self.path(name)
        try:
            raw = target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("draft %s cannot be read: %s", target, exc)
            return None
        try:
            document = json.loads(raw.decode("utf-8"))
            fields = document["fields"]
            saved_at = datetime.fromisoformat(document["saved_at"])
            if not isinstance(fields, dict) or document.get("format") != FORMAT_VERSION:
                raise ValueError("unexpected layout")
        except (ValueError, KeyError, TypeError) as exc:
            # Atomic writes make this unlikely; keep the file aside for support, never crash.
            aside = target.with_suffix(".unreadable")
            log.error("draft %s is unreadable (%s); kept as %s", target, exc, aside.name)
            with contextlib.suppress(OSError):
                os.replace(target, aside)
            return None
        return Draft(name=name, fields=fields, saved_at=saved_at)

    def discard(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def clean_leftovers(self) -> int:
        """Remove temporary files a crash left behind; returns how many."""
        removed = 0
        if self.folder.is_dir():
            for leftover in self.folder.glob(".*.partial"):
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["LOG_INTERACTION", "Draft", "DraftStore", "drafts_dir"]
