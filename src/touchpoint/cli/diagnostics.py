"""``touchpoint diagnostics``: a zip for a support ticket, with no customer data or secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from touchpoint.cli.runtime import state


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=True, path_type=Path),
    help="The .zip to write (default: touchpoint-diagnostics-<time>.zip here).",
)
def diagnostics(out: Path | None) -> None:
    """Collect versions, settings and policy, the log tail, the database's health and
    record counts, and the sync state into one zip for the help desk.

    It never holds customer data (only counts) or secrets (tokens, passwords). The
    database is only read, never migrated, so this works when Touchpoint cannot start.
    """
    from touchpoint.services.diagnostics import write_diagnostics

    if out is None:
        out = Path(f"touchpoint-diagnostics-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip")
    report = write_diagnostics(state().paths, out)
    click.echo(
        f"Wrote {report.path} ({report.bytes // 1024 + 1} KB; database: {report.integrity})."
    )
    click.echo("It holds no customer data and no secrets; attach it to your support ticket.")


def register(group: click.Group) -> None:
    group.add_command(diagnostics)
