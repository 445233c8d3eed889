"""Looking after the data: status, demo data, import, export, backup, restore, check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from touchpoint.cli.output import (
    emit_json,
    facts,
    heading,
    is_tty,
    local_time,
    plural,
    progress_bar,
    style,
    table,
)
from touchpoint.cli.runtime import (
    fail,
    open_workspace,
    state,
    with_workspace,
    with_workspace_to_read,
)

if TYPE_CHECKING:
    from touchpoint.storage.workspace import Workspace


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)  # pragma: no cover


# --- status -----------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace_to_read
def status(ws: Workspace, as_json: bool) -> None:
    """Paths, schema version, record counts and changes not yet synced."""
    from touchpoint.services import maintenance

    report = maintenance.status(ws)
    if as_json:
        emit_json(report)
        return
    click.echo(heading(f"Touchpoint {report.version}") + f"  (schema {report.schema_version})")
    click.echo(
        facts(
            [
                ("user", report.user),
                ("time zone", report.timezone),
                ("device", report.device_id),
                ("data", report.data_dir),
                ("database", f"{report.database} ({_size(report.database_bytes)})"),
                ("settings", report.config_dir),
                ("logs", report.log_dir),
                ("backups", report.backup_dir),
                ("last backup", report.last_backup or "none yet"),
            ]
        )
    )
    click.echo()
    rows = [
        (entity, report.counts[entity], report.deleted.get(entity, 0))
        for entity in sorted(report.counts)
    ]
    click.echo(table(["records", "live", "deleted"], rows))
    click.echo()
    unsynced = report.unsynced_changes
    click.echo(f"changes not yet synced: {style(str(unsynced), bold=bool(unsynced))}")
    for label, count in (
        ("sent, waiting for a record on the Hub", report.waiting_changes),
        ("refused by the Hub", report.refused_changes),
        ("from the Hub, set aside here", report.set_aside_changes),
    ):
        if count:
            click.echo(f"{label}: {style(str(count), bold=True)}")
    for line in report.attention:
        click.echo(f"  {line}")


# --- backup, restore, check ---------------------------------------------------------


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=True, path_type=Path),
    help="Write the copy here (a file, or a folder to put it in). Default: the backups folder.",
)
@with_workspace
def backup(ws: Workspace, out: Path | None) -> None:
    """Take a consistent copy of the database, even while the window is open."""
    from touchpoint.services import maintenance

    made = maintenance.backup(ws, out)
    click.echo(str(made))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore(file: Path, yes: bool) -> None:
    """Replace the database with a backup FILE (the current one is kept as a backup first)."""
    from touchpoint.services import maintenance

    # A missing or foreign file is said first: asking to confirm it would be pointless.
    maintenance.check_backup(state().paths, file)
    if not yes:
        if not is_tty(sys.stdin):
            fail("restore replaces the whole database; add --yes to confirm")
        click.confirm(
            f"Replace the database with {file}? The current one is kept as a backup.",
            abort=True,
        )
    safety = maintenance.restore(state().paths, file)
    # Opening migrates the restored file to this version's schema right away.
    with open_workspace() as ws:
        report = maintenance.status(ws)
    click.echo(f"restored {file}")
    click.echo(f"the replaced database is kept at {safety}")
    click.echo(f"{sum(report.counts.values())} records, schema {report.schema_version}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--repair", is_flag=True, help="Rebuild the search index if it is out of step.")
@with_workspace_to_read
def check(ws: Workspace, as_json: bool, repair: bool) -> None:
    """Check the database and its search index; exit code 1 when something is wrong."""
    from touchpoint.services import maintenance

    report = maintenance.check(ws)
    repaired = False
    if repair and report.search_index != "ok":
        maintenance.repair_search_index(ws)
        repaired = True
        report = maintenance.check(ws)
    if as_json:
        data = {
            "ok": report.ok,
            "problems": report.problems,
            "integrity": report.integrity,
            "search_index": report.search_index,
            "counts": report.counts,
            "unsynced_changes": report.unsynced_changes,
            "schema_version": report.schema_version,
            "checked_at": report.checked_at,
            "notes": report.notes,
            "repaired": repaired,
        }
        emit_json(data)
    else:
        click.echo(
            facts(
                [
                    ("database", report.integrity),
                    ("search index", report.search_index + (" (rebuilt)" if repaired else "")),
                    ("schema", report.schema_version),
                    ("records", sum(report.counts.values())),
                    ("not yet synced", report.unsynced_changes),
                    ("checked", local_time(report.checked_at, ws.tz)),
                ]
            )
        )
        for note in report.notes:
            click.echo(f"note: {note}")
        for problem in report.problems:
            click.echo(f"problem: {problem}", err=True)
        if report.ok:
            click.echo(style("everything is in order", fg="green"))
    if not report.ok:
        raise click.exceptions.Exit(1)


# --- demo data -------------------------------------------------------------------------


@click.command()
@click.option("--customers", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=1, show_default=True, help="The same seed makes the same data.")
@click.option("--force", is_flag=True, help="Add the demo data even if the database has data.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def demo(ws: Workspace, customers: int, seed: int, force: bool, as_json: bool) -> None:
    """Fill the database with a realistic demo: customers, people, visits, promises."""
    from touchpoint.services import demo as demo_data

    if not force and not demo_data.is_empty(ws):
        fail(
            "the database already holds data; demo data would mix with it. "
            "Add --force to add it anyway, or use an empty --data-dir"
        )
    with progress_bar("making demo data") as progress:
        report = demo_data.generate_demo(ws, customers=customers, seed=seed, progress=progress)
    if as_json:
        emit_json(report)
        return
    made = ", ".join(
        plural(n, entity.replace("_", " ")) for entity, n in sorted(report.counts.items()) if n
    )
    click.echo(f"made {made} in {report.seconds:.1f} s")


# --- export ----------------------------------------------------------------------------


@click.group("export")
def export_group() -> None:
    """Write contacts, customers or follow-ups to vCard, CSV or iCalendar files."""


def register(group: click.Group) -> None:
    for command in (status, demo, export_group, backup, restore, check):
        group.add_command(command)
