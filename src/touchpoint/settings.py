"""The user's settings, kept as TOML in the user config dir.

Only plain preferences live here: secrets (sync tokens) live in the OS keyring.
"""

from __future__ import annotations

import functools
import getpass
import logging
import os
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return "me"


@dataclass(frozen=True)
class Settings:
    user: str = ""  # the rep's email or login; authors every change
    display_name: str = ""
    timezone: str = ""  # IANA name; empty means the system's zone
    default_region: str = "US"  # for phone numbers typed without a country code
    currency: str = "USD"
    quiet_after_days: int = 30
    reminder_minutes_before: int = 15
    theme: str = "system"

    def author(self) -> str:
        return self.user or _default_user()

    def tz(self) -> tzinfo:
        name = self.timezone or os.environ.get("TZ", "")
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown time zone %r; using the system's", name)
        return _system_zone()


@functools.lru_cache(maxsize=1)
def _system_zone() -> tzinfo:
    # Resolved once per process: following /etc/localtime costs several system calls, and
    # every write that parses a typed date asks for the zone.
    try:
        link = Path("/etc/localtime").resolve()
        if "zoneinfo" in link.parts:
            name = "/".join(link.parts[link.parts.index("zoneinfo") + 1 :])
            return ZoneInfo(name)
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    from datetime import datetime

    local = datetime.now().astimezone().tzinfo
    return local if local is not None else ZoneInfo("UTC")


def load_settings(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.error("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings()
    known = {f.name: f.type for f in fields(Settings)}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            log.warning("unknown setting %r in %s ignored", key, path)
            continue
        expected = type(getattr(Settings(), key))
        if isinstance(value, expected):
            clean[key] = value
        else:
            log.warning("setting %r in %s has the wrong type; default used", key, path)
    return replace(Settings(), **clean)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def save_settings(path: Path, settings: Settings) -> None:
    """Write atomically: a crash mid-write leaves the old file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} = {_toml_value(value)}" for key, value in asdict(settings).items()]
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)
