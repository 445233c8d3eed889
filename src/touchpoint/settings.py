"""The user's settings, kept as TOML in the user config dir.

Only plain preferences live here: secrets (sync tokens, the database key) live in the
OS keyring. A machine-wide policy (:mod:`touchpoint.policy`) may set some of these
settings; its values beat the ones in this file.
"""

from __future__ import annotations

import functools
import logging
import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from touchpoint.errors import ValidationError

log = logging.getLogger(__name__)


# Who signs changes before anyone gave an email (first run, provisioning or `touchpoint
# config set user`): never the operating system's login ("root", "jdoe"), which matches
# no goal nor Hub account and would show on every report.
UNNAMED_USER = "me"


@dataclass(frozen=True)
class Settings:
    user: str = ""  # the rep's email (the Hub account's once signed in); authors every change
    display_name: str = ""
    timezone: str = ""  # IANA name; empty means the system's zone
    default_region: str = "US"  # for phone numbers typed without a country code
    currency: str = "USD"
    quiet_after_days: int = 30
    reminder_minutes_before: int = 15
    theme: str = "system"
    sync_interval_minutes: int = 5  # how often the window syncs with the Hub
    log_level: str = "INFO"
    encrypt_database: bool = False  # SQLCipher at rest; applied when the database opens

    def author(self) -> str:
        """The rep's email as set in the settings (asked at first run, or the Hub
        account's), else ``UNNAMED_USER``: never the operating system's login."""
        return self.user.strip() or UNNAMED_USER

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
    return read_settings_file(path)[0]


def read_settings_file(path: Path) -> tuple[Settings, frozenset[str]]:
    """The user's settings and the names of those the file itself sets (the rest are
    defaults). A damaged file is logged and gives the defaults: the app still starts."""
    if not path.exists():
        return Settings(), frozenset()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.error("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings(), frozenset()
    known = {f.name for f in fields(Settings)}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            log.warning("unknown setting %r in %s ignored", key, path)
            continue
        expected = type(getattr(Settings(), key))
        if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
            clean[key] = value
        else:
            log.warning("setting %r in %s has the wrong type; default used", key, path)
    return replace(Settings(), **clean), frozenset(clean)


# --- checking a value typed by a person or written in a policy file -----------------------
THEMES = ("system", "light", "dark")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _user(key: str, raw: object) -> str:
    from touchpoint.domain import values

    text = values.required_name(key, str(raw))
    if "@" in text:  # an email must be a valid one; a plain login is fine too
        return values.email(key, text) or text
    return text


def _display_name(key: str, raw: object) -> str:
    from touchpoint.domain import values

    return values.short_text(key, str(raw), limit=200) or ""


def _timezone(key: str, raw: object) -> str:
    name = str(raw).strip()
    if not name:
        return ""  # the system's zone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            key, f"'{raw}' is not a known time zone; use a name like Europe/Berlin"
        ) from None
    return name


def _region(key: str, raw: object) -> str:
    import phonenumbers

    code = str(raw).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(key, f"'{raw}' is not a country code like DE, US or FR")
    return code


def _currency(key: str, raw: object) -> str:
    from touchpoint.domain import values

    code = values.currency(key, str(raw))
    if code is None:
        raise ValidationError(key, "must not be empty")
    return code


def _whole_number(low: int, high: int) -> Callable[[str, object], int]:
    def check(key: str, raw: object) -> int:
        if isinstance(raw, bool):
            raise ValidationError(key, f"'{raw}' is not a whole number")
        try:
            number = raw if isinstance(raw, int) else int(str(raw).strip())
        except ValueError:
            raise ValidationError(key, f"'{raw}' is not a whole number") from None
        if not low <= number <= high:
            raise ValidationError(key, f"must be between {low} and {high}")
        return number

    return check


def _one_of(choices: tuple[str, ...], *, upper: bool = False) -> Callable[[str, object], str]:
    def check(key: str, raw: object) -> str:
        text = str(raw).strip()
        text = text.upper() if upper else text.lower()
        if text not in choices:
            raise ValidationError(key, f"'{raw}' is not one of: {', '.join(choices)}")
        return text

    return check


def _yes_no(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValidationError(key, f"'{raw}' is not yes or no (true or false)")


CHECKS: dict[str, Callable[[str, object], Any]] = {
    "user": _user,
    "display_name": _display_name,
    "timezone": _timezone,
    "default_region": _region,
    "currency": _currency,
    "quiet_after_days": _whole_number(1, 3650),
    "reminder_minutes_before": _whole_number(0, 7 * 24 * 60),
    "theme": _one_of(THEMES),
    "sync_interval_minutes": _whole_number(1, 24 * 60),
    "log_level": _one_of(LOG_LEVELS, upper=True),
    "encrypt_database": _yes_no,
}


def check_setting(key: str, raw: object) -> Any:
    """The clean value of setting ``key``; ValidationError naming the key when it is wrong."""
    if key not in CHECKS:
        raise ValidationError(key, f"is not a setting; the settings are: {', '.join(CHECKS)}")
    return CHECKS[key](key, raw)


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
    # Only what differs from the built-in defaults: the rest follows them (and a settings
    # file that names a value says the user chose it, which `policy show` reports).
    defaults = asdict(Settings())
    lines = [
        f"{key} = {_toml_value(value)}"
        for key, value in asdict(settings).items()
        if value != defaults[key]
    ]
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)
