"""Managers' commands: activity and follow-up exports, the daily report, goals and teams.

    touchpoint export activity --from -7d --to yesterday --team north --format xlsx --out a.xlsx
    touchpoint export followups --from mon --to fri --format csv --out promises.csv
    touchpoint report daily --team north --format pdf --out daily.pdf
    touchpoint goals set --kind call --per day 20 --rep maria@example.com
    touchpoint goals team add north maria@example.com tom@example.com

Files are written atomically: a finished file or none. Bad dates, an unknown rep
or team and an unwritable --out exit with code 1 and name the option.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchpoint.cli.formats import choose_format, format_help
from touchpoint.cli.output import emit_json, facts, heading, plural, progress_bar, table
from touchpoint.cli.runtime import fail, with_workspace
from touchpoint.reports import FORMATS, write_report

if TYPE_CHECKING:
    from touchpoint.services.activity_export import ExportScope
    from touchpoint.storage.workspace import Workspace


class _BarSink:
    """Adapts the terminal progress bar to the exports' report/cancelled protocol."""

    def __init__(self, update: Any) -> None:
        self.update = update

    def report(self, done: int, total: int) -> None:
        self.update(done, total)

    def cancelled(self) -> bool:
        return False


def _scope(
    ws: Workspace,
    *,
    first: str | None,
    last: str | None,
    rep: str | None,
    team: str | None,
    customer: str | None,
    default_last: str = "today",
) -> ExportScope:
    from touchpoint.services import goals
    from touchpoint.services.activity_export import scope_of

    reps = goals.resolve_reps(ws, rep=rep, team=team)
    return scope_of(
        ws,
        first=first,
        last=last,
        reps=reps,
        team=team,
        customer=customer,
        default_last=default_last,
    )


def _format_for(fmt: str | None, out: Path, allowed: tuple[str, ...]) -> str:
    """--format, or the --out file's extension; a contradiction is refused naming both
    (see :mod:`touchpoint.cli.formats`)."""
    return choose_format(fmt, out, allowed)


def _done(path: Path, fmt: str, rows: int, word: str, as_json: bool, **extra: Any) -> None:
    if as_json:
        emit_json({"path": str(path), "format": fmt, "count": rows, **extra})
    else:
        click.echo(f"wrote {plural(rows, word)} to {path} ({fmt})")


FILTERS = [
    click.option("--from", "first", metavar="DATE", help="First local day (default: 30 days)."),
    click.option("--to", "last", metavar="DATE", help="Last local day, included."),
    click.option("--rep", metavar="EMAIL", help="Only this rep."),
    click.option("--team", metavar="NAME", help="Only this team (see touchpoint goals team)."),
    click.option("--customer", metavar="NAME_OR_ID", help="Only this customer."),
]
OUT = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (replaced only once complete).",
)
BOM = click.option("--bom", is_flag=True, help="CSV: start with a byte-order mark for Excel.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _filters(fn: Any) -> Any:
    for option in reversed(FILTERS):
        fn = option(fn)
    return fn


# --- exports -------------------------------------------------------------------------


@click.command("activity")
@_filters
@click.option(
    "--format", "fmt", metavar="[csv|xlsx|json]", help=format_help(("csv", "xlsx", "json"))
)
@OUT
@BOM
@JSON
@with_workspace
def export_activity(
    ws: Workspace,
    *,
    first: str | None,
    last: str | None,
    rep: str | None,
    team: str | None,
    customer: str | None,
    fmt: str | None,
    out: Path,
    bom: bool,
    as_json: bool,
) -> None:
    """One row per interaction, with its customer, contacts, rep, outcome, satisfaction,
    the customer's words, notes and the follow-ups it created. Times are local."""
    from touchpoint.services import activity_export

    fmt = _format_for(fmt, out, activity_export.FORMATS)
    scope = _scope(ws, first=first, last=last, rep=rep, team=team, customer=customer)
    with progress_bar("exporting") as update:
        sink = _BarSink(update) if update else None
        result = activity_export.export_activity(ws, scope, out, fmt, bom=bom, progress=sink)
    _done(result.path, fmt, result.rows, "interaction", as_json)


@click.command("followups")
@_filters
@click.option(
    "--format",
    "fmt",
    metavar="[csv|xlsx|json|ics]",
    help=format_help(("csv", "xlsx", "json", "ics")),
)
@OUT
@click.option(
    "--scope",
    type=click.Choice(["open", "all"]),
    default="open",
    show_default=True,
    help="iCalendar only: open promises, or all.",
)
@click.option(
    "--ics-as",
    "ics_as",
    type=click.Choice(["todo", "event"]),
    default="todo",
    show_default=True,
    help="iCalendar only: each promise as a to-do (due time, status, priority) or an event.",
)
@click.option("--mine", is_flag=True, help="Only those assigned to you.")
@BOM
@JSON
@with_workspace
def export_followups(
    ws: Workspace,
    *,
    first: str | None,
    last: str | None,
    rep: str | None,
    team: str | None,
    customer: str | None,
    fmt: str | None,
    out: Path,
    scope: str,
    ics_as: str,
    mine: bool,
    bom: bool,
    as_json: bool,
) -> None:
    """Follow-ups due in a range, each kept, late, overdue, open or cancelled (csv, xlsx,
    json); or as an iCalendar file of to-dos with their due times, status, priority,
    customer and reminders (ics; --ics-as event for calendar events). For ics, --from,
    --to, --customer, --rep and --team narrow it; without dates it holds every one."""
    from touchpoint.services import activity_export

    fmt = _format_for(fmt, out, (*activity_export.FORMATS, "ics"))
    if mine:
        if rep or team:
            fail("mine: give --mine, --rep or --team, not several")
        rep = ws.author
    if fmt == "ics":
        from touchpoint.domain import dates
        from touchpoint.services import exporting

        window = _scope(
            ws,
            first=first,
            last=last or first,
            rep=None if mine else rep,
            team=team,
            customer=customer,
        )
        # A calendar file holds every promise unless dates are given: --from alone has
        # no end, --to alone no start.
        start, end = dates.local_range_bounds(window.first, window.last, ws.tz)
        due_from = start if first else None
        due_before = end if last else None
        report = exporting.export_followups_ics(
            ws,
            out,
            scope=scope,
            kind=ics_as,
            assigned_to=rep if mine else None,
            reps=window.reps,
            customer_id=window.customer_id,
            due_from=due_from,
            due_before=due_before,
        )
        _done(report.path, "ics", report.count, "follow-up", as_json)
        return
    window = _scope(
        ws, first=first, last=last, rep=rep, team=team, customer=customer, default_last="+30d"
    )
    with progress_bar("exporting") as update:
        sink = _BarSink(update) if update else None
        result = activity_export.export_followups(ws, window, out, fmt, bom=bom, progress=sink)
    _done(result.path, fmt, result.rows, "follow-up", as_json)


# --- the daily report ------------------------------------------------------------------


@click.group("report")
def report_group() -> None:
    """Managers' reports as PDF, HTML or Excel."""


@report_group.command("daily")
@click.option("--date", "day", metavar="DATE", help="The local day (default: yesterday).")
@click.option("--week", is_flag=True, help="The whole week (Monday to Sunday) holding --date.")
@click.option("--rep", metavar="EMAIL", help="Only this rep.")
@click.option("--team", metavar="NAME", help="This team's members (see touchpoint goals team).")
@click.option("--format", "fmt", metavar="[pdf|html|xlsx]", help=format_help(FORMATS))
@OUT
@JSON
@with_workspace
def report_daily(
    ws: Workspace,
    *,
    day: str | None,
    week: bool,
    rep: str | None,
    team: str | None,
    fmt: str | None,
    out: Path,
    as_json: bool,
) -> None:
    """Activity against each rep's goal, promises kept and late, satisfaction with the
    customers' own words, customers going quiet and data hygiene, for a day or a week."""
    from touchpoint.services import goals, reports

    first, last = reports.report_period(ws, day=day, week=week)
    book = goals.load_goals(ws)
    members = goals.resolve_reps(ws, rep=rep, team=team, book=book)
    fmt = _format_for(fmt, out, FORMATS)
    scope = f"team {team}" if team else (members[0] if members else "all reps")
    report = reports.daily_report(ws, first, last, reps=members, scope=scope, book=book)
    pages = write_report(report, fmt, out)
    if as_json:
        emit_json(
            {
                "path": str(out),
                "format": fmt,
                "from": first,
                "to": last,
                "scope": scope,
                "reps": len(report.reps),
                "pages": pages,
            }
        )
    else:
        span = first.isoformat() if first == last else f"{first} to {last}"
        click.echo(f"wrote the report for {scope}, {span}, to {out} ({fmt})")


# --- goals and teams ---------------------------------------------------------------------


@click.group("goals")
def goals_group() -> None:
    """Activity goals per rep (calls a day, visits a week...) and the team roster."""


def _goal_rows(goals_by_kind: dict[str, Any], source: str) -> list[tuple[str, str, str, str]]:
    return [(k, f"{g.count:g}", f"a {g.per}", source) for k, g in sorted(goals_by_kind.items())]


@goals_group.command("show")
@click.option("--rep", metavar="EMAIL", help="The goals in force for this rep.")
@JSON
@with_workspace
def goals_show(ws: Workspace, rep: str | None, as_json: bool) -> None:
    """The goals file: defaults, teams and each rep's own goals."""
    from touchpoint.services import goals

    book = goals.load_goals(ws)
    if rep:
        email = goals.resolve_reps(ws, rep=rep, book=book)[0]  # type: ignore[index]
        in_force = book.goals_for(email)
        team = book.team_of(email)
        if as_json:
            emit_json({"rep": email, "team": team.name if team else None, "goals": in_force})
            return
        click.echo(heading(email) + (f"  (team {team.name})" if team else ""))
        own = book.reps.get(email, {})
        team_goals = team.goals if team else {}
        rows = [
            (
                k,
                f"{g.count:g}",
                f"a {g.per}",
                "own" if k in own else ("team" if k in team_goals else "default"),
            )
            for k, g in sorted(in_force.items())
        ]
        click.echo(table(["kind", "goal", "per", "from"], rows) if rows else "no goals set")
        return
    if as_json:
        emit_json(book)
        return
    click.echo(facts([("goals file", goals.goals_path(ws))]))
    rows = _goal_rows(book.defaults, "everyone")
    for name, t in sorted(book.teams.items()):
        rows += _goal_rows(t.goals, f"team {name}")
    for email, own in sorted(book.reps.items()):
        rows += _goal_rows(own, email)
    click.echo()
    click.echo(table(["kind", "goal", "per", "for"], rows) if rows else "no goals set yet")
    if book.teams:
        click.echo()
        click.echo(
            table(
                ["team", "members"],
                [(n, ", ".join(t.members) or "(none)") for n, t in sorted(book.teams.items())],
            )
        )


@goals_group.command("set")
@click.option("--kind", required=True, help="The kind of interaction: call, visit, meeting...")
@click.option("--per", required=True, type=click.Choice(["day", "week"]), help="The period.")
@click.argument("count")
@click.option("--rep", metavar="EMAIL", help="For this rep only.")
@click.option("--team", metavar="NAME", help="For this team's members.")
@with_workspace
def goals_set(
    ws: Workspace, *, kind: str, per: str, count: str, rep: str | None, team: str | None
) -> None:
    """Set a goal of COUNT interactions of a kind per day or week: for one rep, a team,
    or (neither given) the default for everyone."""
    from touchpoint.services import goals

    goal = goals.set_goal(ws, kind=kind, count=count, per=per, rep=rep, team=team)  # type: ignore[arg-type]
    who = rep or (f"team {team}" if team else "everyone")
    click.echo(f"goal for {who}: {goal.text}")


@goals_group.command("unset")
@click.option("--kind", required=True, help="The kind of interaction.")
@click.option("--rep", metavar="EMAIL", help="Remove this rep's own goal (else the default).")
@with_workspace
def goals_unset(ws: Workspace, kind: str, rep: str | None) -> None:
    """Remove a rep's own goal for a kind, or the default goal."""
    from touchpoint.services import goals

    goals.remove_goal(ws, kind=kind, rep=rep)
    click.echo(f"removed the {'own' if rep else 'default'} {kind} goal")


@goals_group.group("team")
def team_group() -> None:
    """The local team roster used by --team."""


@team_group.command("add")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@with_workspace
def team_add(ws: Workspace, name: str, emails: tuple[str, ...]) -> None:
    """Add rep EMAILS to team NAME (made if new)."""
    from touchpoint.services import goals

    team = goals.add_team_members(ws, name, list(emails))
    click.echo(f"team {team.name}: {', '.join(team.members)}")


@team_group.command("remove")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@with_workspace
def team_remove(ws: Workspace, name: str, emails: tuple[str, ...]) -> None:
    """Remove rep EMAILS from team NAME."""
    from touchpoint.services import goals

    team = goals.remove_team_members(ws, name, list(emails))
    click.echo(f"team {team.name}: {', '.join(team.members) or '(no members)'}")


def register(group: click.Group) -> None:
    """Adds report and goals, and activity and follow-ups to the ``export`` group (the
    follow-ups export writes iCalendar as well as csv, xlsx and json)."""
    export = group.commands.get("export")
    if not isinstance(export, click.Group):
        export = click.Group("export", help="Write data to files for other programs.")
        group.add_command(export)
    export.add_command(export_activity)
    export.add_command(export_followups)
    group.add_command(report_group)
    group.add_command(goals_group)
