"""``touchpoint config``: the user's settings (who you are, time zone, defaults, theme).

Values are checked before anything is written: an unknown time zone or a
negative reminder is refused with the setting's name and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields, replace
from typing import Any

import click

from touchpoint.cli.output import emit_json, facts
from touchpoint.cli.runtime import state
from touchpoint.errors import ValidationError

THEMES = ("system", "light", "dark")


def _user(key: str, raw: str) -> str:
    from touchpoint.domain import values

    text = values.required_name(key, raw)
    if "@" in text:  # an email must be a valid one; a plain login is fine too
        return values.email(key, text) or text
    return text


def _display_name(key: str, raw: str) -> str:
    from touchpoint.domain import values

    return values.short_text(key, raw, limit=200) or ""


def _timezone(key: str, raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = raw.strip()
    if not name:
        return ""  # the system's zone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            key, f"'{raw}' is not a known time zone; use a name like Europe/Berlin"
        ) from None
    return name


def _region(key: str, raw: str) -> str:
    import phonenumbers

    code = raw.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(key, f"'{raw}' is not a country code like DE, US or FR")
    return code


def _currency(key: str, raw: str) -> str:
    from touchpoint.domain import values

    code = values.currency(key, raw)
    if code is None:
        raise ValidationError(key, "must not be empty")
    return code


def _whole_number(low: int, high: int) -> Callable[[str, str], int]:
    def check(key: str, raw: str) -> int:
        try:
            number = int(raw.strip())
        except ValueError:
            raise ValidationError(key, f"'{raw}' is not a whole number") from None
        if not low <= number <= high:
            raise ValidationError(key, f"must be between {low} and {high}")
        return number

    return check


def _theme(key: str, raw: str) -> str:
    theme = raw.strip().lower()
    if theme not in THEMES:
        raise ValidationError(key, f"'{raw}' is not one of: {', '.join(THEMES)}")
    return theme


CHECKS: dict[str, Callable[[str, str], Any]] = {
    "user": _user,
    "display_name": _display_name,
    "timezone": _timezone,
    "default_region": _region,
    "currency": _currency,
    "quiet_after_days": _whole_number(1, 3650),
    "reminder_minutes_before": _whole_number(0, 7 * 24 * 60),
    "theme": _theme,
}


def _key(raw: str) -> str:
    key = raw.strip().lower().replace("-", "_")
    if key not in CHECKS:
        raise ValidationError(raw, f"is not a setting; the settings are: {', '.join(CHECKS)}")
    return key


def _paths():  # type: ignore[no-untyped-def]
    from touchpoint.paths import resolve_paths

    return resolve_paths(state().data_dir)


@click.group()
def config() -> None:
    """Show and change your settings."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def config_show(as_json: bool) -> None:
    """Every setting and its value."""
    from touchpoint.settings import load_settings

    paths = _paths()
    current = load_settings(paths.settings_file)
    values = asdict(current)
    if as_json:
        emit_json({"file": paths.settings_file, "settings": values})
        return
    click.echo(facts([(k, "" if v == "" else v) for k, v in values.items()]))
    effective = current.tz()
    if not current.timezone:
        click.echo(f"(time zone: the system's, now {effective})")
    click.echo(f"(kept in {paths.settings_file})")


@config.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """The value of one setting."""
    from touchpoint.settings import load_settings

    name = _key(key)
    click.echo(getattr(load_settings(_paths().settings_file), name))


# A value may start with a dash (-1, -05:00): it is a value, never an option.
@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Change one setting (checked first; nothing is written when it is wrong)."""
    from touchpoint.settings import Settings, load_settings, save_settings

    name = _key(key)
    assert name in {f.name for f in fields(Settings)}
    clean = CHECKS[name](name, value)
    paths = _paths().ensure()
    updated = replace(load_settings(paths.settings_file), **{name: clean})
    save_settings(paths.settings_file, updated)
    click.echo(f"{name} = {clean}")


def register(group: click.Group) -> None:
    group.add_command(config)
