"""``touchpoint policy show``: the settings in force on this computer and where each came from;
``touchpoint policy check FILE``: whether a policy file would be taken, before it is deployed.

Each value comes from Touchpoint's built-in default, the user's settings file, or the
machine-wide policy file an IT department deployed (which beats the user's file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from touchpoint.cli.output import emit_json, table
from touchpoint.cli.runtime import state


def register(group: click.Group) -> None:
    group.add_command(policy)


@click.group()
def policy() -> None:
    """The machine-wide policy set by your IT department."""


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value) if value != "" else "—"


@policy.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def policy_show(as_json: bool) -> None:
    """Every setting in force, its value and where it came from (default, your settings
    file, or the policy file); locked settings cannot be changed by `config set`."""
    paths = state().paths
    effective = state().context.effective()
    loaded = effective.policy
    if as_json:
        emit_json(
            {
                "policy_file": loaded.path,
                "policy_status": loaded.status,
                "problem": loaded.problem,
                "settings_file": paths.settings_file,
                "settings": {
                    key: {
                        "value": item.value,
                        "source": item.source.kind,
                        "file": item.source.file,
                        "locked": item.locked,
                    }
                    for key, item in effective.items.items()
                },
            }
        )
        return
    words = {
        "absent": "none (built-in defaults)",
        "loaded": "in force",
        "invalid": "INVALID: ignored, built-in defaults in use",
    }
    click.echo(f"Policy file: {loaded.path} ({words[loaded.status]})")
    if loaded.problem:
        click.echo(f"Problem: {loaded.problem}")
    if loaded.status == "invalid":
        click.echo(f"Each problem, one a line: touchpoint policy check {loaded.path}")
    click.echo(f"Settings file: {paths.settings_file}")
    click.echo()
    rows = [
        (key, _shown(item.value), str(item.source), "locked" if item.locked else "")
        for key, item in effective.items.items()
    ]
    click.echo(table(["setting", "value", "from", ""], rows))


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def policy_check(file: Path, as_json: bool) -> None:
    """Check a policy FILE before deploying it: exit code 0 when Touchpoint would take it,
    1 when it would ignore it (one line per problem: a misspelt key names the key it
    is probably meant to be, a bad value says what is wanted)."""
    from touchpoint.policy import load_policy

    loaded = load_policy(file)
    problems = list(loaded.problems)
    if loaded.status == "absent":
        problems = ["does not exist"]
    elif loaded.status == "invalid" and not problems:
        problems = [loaded.problem or "cannot be used"]
    sets = sorted(_keys_set(loaded.checked)) if loaded.checked is not None else []
    if as_json:
        emit_json({"file": file, "valid": not problems, "problems": problems, "sets": sets})
    elif problems:
        for problem in problems:
            click.echo(f"error: {file}: {problem}", err=True)
        click.echo(
            f"{file} would be ignored: Touchpoint would run on its built-in defaults", err=True
        )
    else:
        what = ", ".join(sets) if sets else "nothing (every value is the default)"
        click.echo(f"{file} is a valid policy; it sets {what}")
    if problems:
        raise click.exceptions.Exit(1)


def _keys_set(checked: Any) -> list[str]:
    """The keys a valid policy file names, as section.key."""
    keys = []
    for section in type(checked).model_fields:
        given = getattr(checked, section)
        keys += [f"{section}.{name}" for name in sorted(given.model_fields_set)]
    return keys
