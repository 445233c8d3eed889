"""``touchpoint config``: the user's settings (who you are, time zone, defaults, theme).

Values are checked before anything is written: an unknown time zone or a
negative reminder is refused with the setting's name and the problem. A setting
the machine's policy sets is shown as locked and ``config set`` refuses it.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace

import click

from touchpoint.cli.output import emit_json, facts
from touchpoint.cli.runtime import state
from touchpoint.errors import ValidationError


def _key(raw: str) -> str:
    from touchpoint.settings import CHECKS

    key = raw.strip().lower().replace("-", "_")
    if key not in CHECKS:
        raise ValidationError(raw, f"is not a setting; the settings are: {', '.join(CHECKS)}")
    return key


def _paths():  # type: ignore[no-untyped-def]
    return state().paths


@click.group()
def config() -> None:
    """Show and change your settings."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def config_show(as_json: bool) -> None:
    """Every setting and its value (those set by the machine's policy marked locked)."""
    paths = _paths()
    effective = state().context.effective()
    current = effective.settings
    values = asdict(current)
    if as_json:
        emit_json(
            {
                "file": paths.settings_file,
                "settings": values,
                "locked": sorted(k for k in values if k in effective.locked),
            }
        )
        return
    click.echo(
        facts(
            [
                (k, f"{v} (locked by policy)" if k in effective.locked else ("" if v == "" else v))
                for k, v in values.items()
            ]
        )
    )
    if not current.timezone:
        click.echo(f"(time zone: the system's, now {current.tz()})")
    click.echo(f"(kept in {paths.settings_file})")
    if effective.locked:
        click.echo(f"(locked settings come from {effective.policy.path})")


@config.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """The value of one setting (the one in force, policy included)."""
    name = _key(key)
    click.echo(getattr(state().context.settings, name))


# A value may start with a dash (-1, -05:00): it is a value, never an option.
@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Change one setting (checked first; nothing is written when it is wrong)."""
    from touchpoint.policy import locked_message
    from touchpoint.settings import Settings, check_setting, save_settings

    name = _key(key)
    assert name in {f.name for f in fields(Settings)}
    context = state().context
    loaded = context.policy
    if name in loaded.policy.settings.given():
        raise ValidationError(name, locked_message(name, loaded))
    clean = check_setting(name, value)
    if name == "encrypt_database" and clean:
        from touchpoint.storage.encryption import available

        if not available():
            raise ValidationError(name, "this computer cannot encrypt: SQLCipher is not installed")
    paths = _paths().ensure()
    updated = replace(context.user_settings, **{name: clean})
    save_settings(paths.settings_file, updated)
    click.echo(f"{name} = {clean}")


def register(group: click.Group) -> None:
    group.add_command(config)
