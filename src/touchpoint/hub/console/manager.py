"""The managers' pages: the team dashboard and the customer 360, for managers (their
teams) and admins (every team). A rep is refused both (403).

The figures are the daily report's (see :mod:`touchpoint.hub.console.figures`) and are
worded by :mod:`touchpoint.reports.format`, as in the HTML, Excel and PDF reports.
Charts are SVG drawn here on the server: the page runs no script of its own for them,
and the Content-Security-Policy allows no inline style, so bars are sized by the SVG's
own attributes.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, select

from touchpoint.domain.rounding import fixed
from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.hub.console.downloads import report_links
from touchpoint.hub.console.figures import PERIODS, FiguresBusy, TeamFigures, customer_team
from touchpoint.hub.db import teams, users
from touchpoint.reports import format as fmt

Team = Annotated[str, Query(max_length=120)]
PeriodKey = Annotated[str, Query(max_length=20)]
CHART_W, CHART_H = 640, 180
TIMELINE_ROWS = 25  # a customer's interactions per page


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # under the bar
    text: str  # the value, for people and for screen readers


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    peak_text: str
    line_y: float | None = None  # a goal, drawn across
    line_text: str = ""
    width: int = CHART_W
    height: int = CHART_H


def bar_chart(
    title: str,
    points: list[tuple[str, float | None, str]],
    *,
    peak: float | None = None,
    line: float | None = None,
    line_text: str = "",
) -> Chart:
    """Vertical bars for (label, value, value as text); None draws no bar."""
    values = [v for _, v, _ in points if v is not None]
    top = max([peak or 0.0, line or 0.0, *values, 1.0])
    inner_h = CHART_H - 30
    slot = CHART_W / max(1, len(points))
    bars = []
    for n, (label, value, text) in enumerate(points):
        h = 0.0 if value is None else inner_h * value / top
        width = min(slot * 0.7, 56.0)  # one or two bars stay bars, not a wall
        x = n * slot + (slot - width) / 2
        bars.append(Bar(x, 8 + inner_h - h, width, h, label, text or ""))
    line_y = None if line is None else 8 + inner_h - inner_h * line / top
    return Chart(title, bars, fixed(top, 0 if float(top).is_integer() else 1), line_y, line_text)


def day_text(day: date | datetime | None, tz: tzinfo | None = None) -> str:
    """A day as people read it: 'Mon 30 Nov 2026'."""
    if day is None:
        return "–"
    if isinstance(day, datetime):
        day = day.astimezone(tz).date() if tz else day.date()
    return f"{day:%a} {day.day} {day:%b %Y}"


def moment_text(when: datetime | None, tz: tzinfo) -> str:
    """'Mon 30 Nov 2026, 14:05' in the Hub's time zone."""
    if when is None:
        return "–"
    local = when.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def period_text(first: date, last: date) -> str:
    if first == last:
        return day_text(first)
    if first.year == last.year:
        return f"{first:%a} {first.day} {first:%b} – {day_text(last)}"
    return f"{day_text(first)} – {day_text(last)}"


def mount(app: FastAPI, engine: Engine, now: Any, kit: Any) -> TeamFigures:
    """Add the dashboard, its CSV and the customer 360 to the console."""
    figures = TeamFigures(engine, now)

    def busy(request: Request, viewer: Any) -> Response:
        text = (
            "The team's figures are being brought up to date with the Hub's latest "
            "changes. Try again in a minute."
        )
        response = kit.render(request, "error.html", viewer, 503, title="One moment", text=text)
        response.headers["Retry-After"] = "60"
        return response

    def teams_of(viewer: Any) -> list[str]:
        if viewer.role == "admin":
            with engine.connect() as conn:
                return list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())
        return list(viewer.teams)

    def chosen(request: Request, team: str) -> tuple[Any, list[str], str | None]:
        viewer = kit.need(request, "manager", "admin")
        allowed = teams_of(viewer)
        if team and team not in allowed:
            kit.forbid(viewer)  # another team's dashboard is answered as one that is not
        return viewer, allowed, team or (allowed[0] if allowed else None)

    def team_report(viewer: Any, team: str, period: str) -> tuple[Any, Any, str]:
        """(report, period, problem): an empty team has no report, and says so."""
        try:
            report, shown = figures.team_report(team, period)
        except ValidationError as exc:
            return None, None, exc.message
        return report, shown, ""

    @app.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def dashboard(request: Request, team: Team = "", period: PeriodKey = "week") -> Response:
        viewer, allowed, team_name = chosen(request, team)
        report = shown = None
        problem = "" if team_name else "You are in no team yet: an admin adds you to one."
        try:
            if team_name:
                report, shown, problem = team_report(viewer, team_name, period)
            tz = figures.tz()
        except FiguresBusy:
            return busy(request, viewer)
        context: dict[str, Any] = {}
        if report is not None:
            context = _dashboard_context(report, tz)
            context["rep_ids"] = rep_ids(engine, [r.rep for r in report.reps])
            context["downloads"] = report_links(team_name or "", period=shown.key)
        return kit.render(
            request,
            "dashboard.html",
            viewer,
            title=f"Team {team_name}" if team_name else "Team dashboard",
            teams=allowed,
            team=team_name,
            periods=[
                (key, label, "/dashboard?" + urlencode({"team": team_name or "", "period": key}))
                for key, label in PERIODS
            ],
            period=shown.key if shown else period,
            span=period_text(shown.first, shown.last) if shown else "",
            report=report,
            problem=problem,
            csv_link="/dashboard.csv?" + urlencode({"team": team_name or "", "period": period}),
            fmt=fmt,
            **context,
        )

    @app.get("/dashboard.csv", include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def dashboard_csv(request: Request, team: Team = "", period: PeriodKey = "week") -> Response:
        viewer, _allowed, team_name = chosen(request, team)
        if not team_name:
            kit.forbid(viewer)
        try:
            report, shown, problem = team_report(viewer, team_name, period)
        except FiguresBusy:
            return busy(request, viewer)
        if report is None:
            return kit.render(request, "error.html", viewer, 422, title="No figures", text=problem)
        body = _csv(report)
        name = f"team-{team_name}-{shown.first:%Y-%m-%d}-{shown.last:%Y-%m-%d}.csv"
        response = Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_safe(name)}"'},
        )
        return kit.headers(response)

    @app.get("/customers/{customer_id}", response_class=HTMLResponse, include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def customer_page(
        request: Request,
        customer_id: str,
        page: Annotated[str, Query(max_length=9)] = "1",
    ) -> Response:
        viewer = kit.need(request, "manager", "admin")
        team = customer_team(engine, customer_id[:36])
        if team is None or (viewer.role != "admin" and team not in viewer.teams):
            kit.forbid(viewer)  # another team's customer and no customer look the same
        number = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
        try:
            # The timeline a page at a time: a big customer has thousands of interactions.
            summary, timeline, total = figures.customer(
                customer_id, offset=(number - 1) * TIMELINE_ROWS, limit=TIMELINE_ROWS
            )
            pages = max(1, math.ceil(total / TIMELINE_ROWS))
            if number > pages:  # a page past the last: the last one
                number = pages
                summary, timeline, total = figures.customer(
                    customer_id, offset=(number - 1) * TIMELINE_ROWS, limit=TIMELINE_ROWS
                )
            tz = figures.tz()
        except NotFoundError:
            kit.forbid(viewer)
        except FiguresBusy:
            return busy(request, viewer)
        names = figures.display_names(
            [summary.customer.owner, *(i.rep for i in timeline)]
            + [f.assigned_to for f in summary.open_followups],
        )
        points = summary.satisfaction_points
        chart = bar_chart(
            "Satisfaction, newest scores",
            [(day_text(when, tz).rsplit(" ", 1)[0], float(s), str(s)) for when, s in points],
            peak=5,
        )
        return kit.render(
            request,
            "customer.html",
            viewer,
            title=summary.customer.name,
            c=summary.customer,
            s=summary,
            team=team,
            timeline=timeline,
            total=total,
            first_shown=(number - 1) * TIMELINE_ROWS + 1,
            more=max(0, total - ((number - 1) * TIMELINE_ROWS + len(timeline))),
            page=number,
            pages=pages,
            newer=f"/customers/{summary.customer.id}?page={number - 1}" if number > 1 else None,
            older=f"/customers/{summary.customer.id}?page={number + 1}" if number < pages else None,
            chart=chart if points else None,
            person=lambda email: names.get(email) or (email or "–"),
            day=lambda d: day_text(d, tz),
            moment=lambda d: moment_text(d, tz),
            fmt=fmt,
        )

    @app.get("/dashboard/{rest:path}", include_in_schema=False)
    @app.get("/customers/{customer_id}/{rest:path}", include_in_schema=False)
    def elsewhere(request: Request) -> Response:
        kit.forbid(kit.need(request))

    return figures


def rep_ids(engine: Engine, emails: list[str]) -> dict[str, int]:
    """Hub users by email: whose page (/reps/<id>) a row can link to."""
    if not emails:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.email, users.c.id).where(users.c.email.in_(emails)))
        return {email: int(uid) for email, uid in rows}


def _dashboard_context(report: Any, tz: tzinfo) -> dict[str, Any]:
    """What the dashboard shows beyond the report itself: its charts and words."""
    activity = bar_chart(
        "Interactions a day",
        [
            (f"{d.day:%a} {d.day.day}", float(d.interactions), str(d.interactions))
            for d in report.activity_by_day
        ],
        line=max((d.goal or 0 for d in report.activity_by_day), default=0) or None,
        line_text="daily goal",
    )
    if len(report.activity_by_day) > 14:  # a month: label every Monday only
        activity = Chart(
            activity.title,
            [
                Bar(
                    b.x,
                    b.y,
                    b.width,
                    b.height,
                    b.label if b.label.startswith("Mon") else "",
                    b.text,
                )
                for b in activity.bars
            ],
            activity.peak_text,
            activity.line_y,
            activity.line_text,
        )
    satisfaction = bar_chart(
        "Average satisfaction a day (1 to 5)",
        [
            (f"{p.day:%a} {p.day.day}", p.average, fmt.score(p.average))
            for p in report.satisfaction_by_day
        ],
        peak=5,
    )
    promises = report.team.promises
    return {
        "activity": activity,
        "satisfaction": satisfaction if report.satisfaction_by_day else None,
        "promises": promises,
        "as_of": moment_text(report.as_of or report.generated_at, tz),
        "quiet_day": lambda q: day_text(q.last_touch, tz),
        "rows": [_row(report, r) for r in report.reps],
        "team_row": _row(report, report.team),
    }


def _row(report: Any, rep: Any) -> dict[str, Any]:
    """One rep's line of the dashboard's table (and of its CSV)."""
    by_kind = {g.kind: g for g in rep.goals}
    kinds = []
    for kind in report.kinds:
        g = by_kind.get(kind)
        done = g.done if g else rep.by_kind.get(kind, 0)
        goal = g.goal if g else None
        pct = g.percent if g else None
        kinds.append(
            {
                "kind": kind,
                "done": done,
                "goal": fmt.goal_number(goal),
                "percent": fmt.percent(pct),
                "bar": None if pct is None else min(pct, 150.0) / 150.0,
                "state": fmt.goal_state(g) if g else "",
            }
        )
    return {
        "rep": rep.rep,
        "name": report.display(rep.rep),
        "interactions": rep.interactions,
        "kinds": kinds,
        "kept": rep.promises.kept,
        "late": rep.promises.late,
        "overdue": rep.promises.overdue,
        "rate": fmt.rate(rep.promises),
        "satisfaction": fmt.score(rep.satisfaction),
        "scored": rep.scored,
        "change": fmt.change(rep.satisfaction_change),
        "trend": (
            ""
            if rep.satisfaction_change is None
            else "up"
            if rep.satisfaction_change > 0
            else "down"
            if rep.satisfaction_change < 0
            else "flat"
        ),
    }


def _csv(report: Any) -> str:
    """The dashboard's table as CSV: one line a rep, then the team."""
    out = io.StringIO()
    writer = csv.writer(out)
    head = ["Rep", "Email", "Interactions"]
    for kind in report.kinds:
        head += [f"{kind} done", f"{kind} goal", f"{kind} % of goal"]
    head += ["Kept", "Late", "Overdue", "Promise keeping", "Satisfaction", "Change"]
    writer.writerow(head)
    for rep in [*report.reps, report.team]:
        row = _row(report, rep)
        who = [row["name"], "" if rep.rep == "team" else rep.rep]
        line = [*(_cell(text) for text in who), row["interactions"]]
        for k in row["kinds"]:
            line += [k["done"], k["goal"], k["percent"]]
        line += [row["kept"], row["late"], row["overdue"], row["rate"], row["satisfaction"]]
        line.append(row["change"])
        writer.writerow(line)
    return out.getvalue()


def _cell(text: str) -> str:
    """A name as a spreadsheet shows it, never run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in name)
