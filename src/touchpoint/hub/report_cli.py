"""``touchpoint-hub report daily`` and ``touchpoint-hub export activity|followups``: the
managers' daily report and exports, written by the Hub.

For a scheduled job (cron, a systemd timer): it brings the Hub's report database up to
date (see :mod:`touchpoint.hub.replica`), computes the same report a manager's laptop
would, and writes the file atomically. Exit code 0 when the file is written, 1 with
one ``error:`` line when it is not (bad option, unknown team, Hub database
unreachable), 2 for a usage error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import SQLAlchemyError

from touchpoint.errors import TouchpointError, ValidationError

if TYPE_CHECKING:
    from touchpoint.storage.workspace import Workspace

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
    summary = _or_exit(
        "report",
        lambda: _write_daily(db, day, week, rep, team, fmt, out, goals_file, timezone, replica),
    )
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

    from touchpoint.reports import FORMATS, write_report
    from touchpoint.services import goals, reports

    # Every option is checked before the Hub's database is touched.
    if rep and team:
        raise ValidationError("rep", "give either --rep or --team, not both")
    fmt = _format_of(fmt, out, FORMATS)
    if goals_file is not None and not goals_file.is_file():
        raise ValidationError("goals", f"no goals file at {goals_file}")
    _check_zone_and_folder(timezone, out)
    book = goals.read_goals_file(goals_file) if goals_file else goals.GoalBook()

    ws, members = _replica(db, replica_dir, team, timezone)
    with ws:
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


def _or_exit(what: str, work: Callable[[], dict[str, object]]) -> dict[str, object]:
    """The work's summary; or one ``error:`` line and exit code 1, nothing written."""
    try:
        return work()
    except TouchpointError as exc:
        log.info("hub %s failed: %s", what, exc.message)
        click.echo(f"error: {exc.message}", err=True)
    except (OSError, SQLAlchemyError) as exc:
        log.warning("hub %s failed: %s", what, exc)
        click.echo(f"error: could not write the {what}: {exc}", err=True)
    raise click.exceptions.Exit(1)


def _format_of(fmt: str | None, out: Path, allowed: tuple[str, ...]) -> str:
    """--format, or the --out file's suffix when it is one of the allowed formats."""
    if fmt:
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise ValidationError(
            "format", f"give --format ({'|'.join(allowed)}); '{out.name}' does not say which"
        )
    return suffix


def _check_zone_and_folder(timezone: str | None, out: Path) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("timezone", f"'{timezone}' is not a known time zone") from None
    if not out.parent.is_dir():
        raise ValidationError("out", f"the folder {out.parent} does not exist")


def _replica(
    db: str | None, replica_dir: Path | None, team: str | None, timezone: str | None
) -> tuple[Workspace, list[str] | None]:
    """The Hub's report database brought up to date, and the members of ``team``."""
    from dataclasses import replace

    from touchpoint.hub import replica
    from touchpoint.hub.db import db_url, normalise_url, open_hub

    url = normalise_url(db_url(db))
    engine = open_hub(url)  # a report never creates or upgrades a Hub
    try:
        members = replica.team_members(engine, team) if team else None
        ws, _result = replica.open_replica(engine, replica_dir or replica.default_folder(url))
    finally:
        engine.dispose()
    if timezone:
        ws.settings = replace(ws.settings, timezone=timezone)
    return ws, members


# --- exports ------------------------------------------------------------------------------


@click.group("export")
def export_group() -> None:
    """Every team's interactions or follow-ups as CSV, Excel or JSON."""


def _export_options(fn: Any) -> Any:
    options = [
        click.option("--db", "db", envvar="TOUCHPOINT_HUB_DB", default=None,
                     help="The Hub's database URL; default $TOUCHPOINT_HUB_DB."),
        click.option("--from", "first", metavar="DATE", help="First local day (default: 30 days)."),
        click.option("--to", "last", metavar="DATE", help="Last local day, included."),
        click.option("--rep", metavar="EMAIL", help="Only this rep."),
        click.option("--team", metavar="NAME", help="Only this Hub team."),
        click.option("--customer", metavar="NAME_OR_ID", help="Only this customer."),
        click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]),
                     help="File type (or --out's)."),
        click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="The file to write (replaced only once complete)."),
        click.option("--bom", is_flag=True, help="CSV: start with a byte-order mark for Excel."),
        click.option("--timezone", metavar="ZONE", help="The IANA zone days are counted in."),
        click.option("--replica", type=click.Path(file_okay=False, path_type=Path),
                     help="Where the report database lives (default: the Hub user's data folder)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_export(kind: str, options: dict[str, Any]) -> None:
    result = _or_exit("export", lambda: _export(kind, **options))
    if options["as_json"]:
        click.echo(json.dumps(result, default=str))
    else:
        click.echo(f"wrote {result['rows']} {kind} rows to {result['path']} ({result['format']})")


@export_group.command("activity")
@_export_options
def export_activity(**options: Any) -> None:
    """One row per interaction of every team (or --team, --rep, --customer): customer,
    contacts, rep, outcome, satisfaction, the customer's words, notes, follow-ups made."""
    _run_export("interaction", options)


@export_group.command("followups")
@_export_options
def export_followups(**options: Any) -> None:
    """Follow-ups due in the range, each kept, late, overdue, open or cancelled."""
    _run_export("follow-up", options)


def _export(
    kind: str,
    *,
    db: str | None,
    first: str | None,
    last: str | None,
    rep: str | None,
    team: str | None,
    customer: str | None,
    fmt: str | None,
    out: Path,
    bom: bool,
    timezone: str | None,
    replica: Path | None,
    as_json: bool,
) -> dict[str, object]:
    from touchpoint.services import activity_export, goals

    if rep and team:
        raise ValidationError("rep", "give either --rep or --team, not both")
    fmt = _format_of(fmt, out, activity_export.FORMATS)
    _check_zone_and_folder(timezone, out)
    ws, members = _replica(db, replica, team, timezone)
    with ws:
        if rep:
            members = goals.resolve_reps(ws, rep=rep)
        scope = activity_export.scope_of(
            ws, first=first, last=last, reps=members, team=team, customer=customer
        )
        write = (
            activity_export.export_activity
            if kind == "interaction"
            else activity_export.export_followups
        )
        result = write(ws, scope, out, fmt, bom=bom)
    return {
        "path": str(result.path),
        "format": fmt,
        "rows": result.rows,
        "from": scope.first,
        "to": scope.last,
    }
