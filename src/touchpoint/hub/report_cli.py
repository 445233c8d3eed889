"""``touchpoint-hub report daily``: the managers' daily report, written by the Hub.

For a scheduled job (cron, a systemd timer): it brings the Hub's report database up to
date (see :mod:`touchpoint.hub.replica`), computes the same report a manager's laptop
would, and writes the file atomically. Exit code 0 when the file is written, 1 with
one ``error:`` line when it is not (bad option, unknown team, Hub database
unreachable), 2 for a usage error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from touchpoint.errors import TouchpointError, ValidationError

log = logging.getLogger(__name__)


@click.group("report")
def report_group() -> None:
    """Managers' reports over every team's synced data."""


@report_group.command("daily")
@click.option(
    "--db",
    "db",
    envvar="TOUCHPOINT_HUB_DB",
    default=None,
    help="The Hub's database URL; default $TOUCHPOINT_HUB_DB.",
)
@click.option("--date", "day", metavar="DATE", help="The local day (default: yesterday).")
@click.option("--week", is_flag=True, help="The whole week (Monday to Sunday) holding --date.")
@click.option("--rep", metavar="EMAIL", help="Only this rep.")
@click.option("--team", metavar="NAME", help="The members of this Hub team.")
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "html", "xlsx"]), help="File type (or --out's)."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (replaced only once complete).",
)
@click.option(
    "--goals",
    "goals_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Activity goals (a goals.toml as `touchpoint goals` writes); default: none.",
)
@click.option(
    "--timezone", metavar="ZONE", help="The IANA zone days are counted in (default: the server's)."
)
@click.option(
    "--replica",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the report database lives (default: in the Hub user's data folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def report_daily(  # noqa: PLR0917 (click passes options positionally)
    db: str | None,
    day: str | None,
    week: bool,
    rep: str | None,
    team: str | None,
    fmt: str | None,
    out: Path,
    goals_file: Path | None,
    timezone: str | None,
    replica: Path | None,
    as_json: bool,
) -> None:
    """Activity against each rep's goal, promises kept and late, satisfaction with the
    customers' own words, customers going quiet and data hygiene, for a day or a week."""
    try:
        summary = _write_daily(db, day, week, rep, team, fmt, out, goals_file, timezone, replica)
    except TouchpointError as exc:
        log.info("hub report failed: %s", exc.message)
        click.echo(f"error: {exc.message}", err=True)
        raise click.exceptions.Exit(1) from None
    except (OSError, SQLAlchemyError) as exc:
        log.warning("hub report failed: %s", exc)
        click.echo(f"error: could not write the report: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        first, last = summary["from"], summary["to"]
        span = str(first) if first == last else f"{first} to {last}"
        click.echo(
            f"wrote the report for {summary['scope']}, {span}, to {out} ({summary['format']})"
        )


def _write_daily(  # noqa: PLR0917
    db: str | None,
    day: str | None,
    week: bool,
    rep: str | None,
    team: str | None,
    fmt: str | None,
    out: Path,
    goals_file: Path | None,
    timezone: str | None,
    replica_dir: Path | None,
) -> dict[str, object]:
    from dataclasses import replace
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from touchpoint.hub import replica
    from touchpoint.hub.db import db_url, normalise_url, open_hub
    from touchpoint.reports import FORMATS, write_report
    from touchpoint.services import goals, reports

    # Every option is checked before the Hub's database is touched.
    if rep and team:
        raise ValidationError("rep", "give either --rep or --team, not both")
    if fmt is None:
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValidationError(
                "format", f"give --format ({'|'.join(FORMATS)}); '{out.name}' does not say which"
            )
    if goals_file is not None and not goals_file.is_file():
        raise ValidationError("goals", f"no goals file at {goals_file}")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("timezone", f"'{timezone}' is not a known time zone") from None
    if not out.parent.is_dir():
        raise ValidationError("out", f"the folder {out.parent} does not exist")
    book = goals.read_goals_file(goals_file) if goals_file else goals.GoalBook()

    url = normalise_url(db_url(db))
    engine = open_hub(url)  # a report never creates or upgrades a Hub
    try:
        members = replica.team_members(engine, team) if team else None
        ws, _result = replica.open_replica(engine, replica_dir or replica.default_folder(url))
    finally:
        engine.dispose()
    with ws:
        if timezone:
            ws.settings = replace(ws.settings, timezone=timezone)
        if rep:
            members = goals.resolve_reps(ws, rep=rep, book=book)
        first, last = reports.report_period(ws, day=day, week=week)
        scope = f"team {team}" if team else (members[0] if members else "all reps")
        report = reports.daily_report(ws, first, last, reps=members, scope=scope, book=book)
        report = replace(report, goals_hint="touchpoint-hub report daily --goals goals.toml")
        pages = write_report(report, fmt, out)
    return {
        "path": str(out),
        "format": fmt,
        "from": first,
        "to": last,
        "scope": scope,
        "reps": len(report.reps),
        "pages": pages,
    }
