"""The managers' other pages: one rep's page, the customers with a search, the late
promises, and the daily report to download as PDF, Excel or HTML.

Who sees what, checked on the server for every page and every query: a rep sees their
own page only; a manager their teams' reps, customers and promises; an admin every
team. Anything else is answered 403, the same whether or not it exists.

Every figure comes from the replica the dashboard reads (:mod:`.figures`), through the
services the laptop uses: the rep's activity against goal is the daily report's row,
the promises' words are the product's (kept, late, overdue), the search folds case and
accents as the laptop's search box does.
"""

from __future__ import annotations

import asyncio
import math
import re
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, select

from touchpoint.errors import ValidationError
from touchpoint.hub import accounts, replica
from touchpoint.hub.console import downloads
from touchpoint.hub.console.figures import PERIODS, FiguresBusy, TeamFigures, period_of
from touchpoint.hub.console.manager import _row, day_text, moment_text, period_text, rep_ids
from touchpoint.hub.db import teams, users
from touchpoint.reports import format as fmt
from touchpoint.services import customer_list, team_lists
from touchpoint.services import reports as report_service

Text = Annotated[str, Query(max_length=200)]
PAGE_ROWS = 25  # a rep's interactions per page
CUSTOMER_ROWS = 50
LATE_ROWS = 200
GOALS_HINT = "touchpoint-hub report daily --goals goals.toml"  # as the command line says


@dataclass(frozen=True)
class _RepLists:
    """What a rep's page lists for a period, read from the replica in one go."""

    number: int  # the page shown (the last one when asked for one past it)
    done: team_lists.Cut[Any]
    scores: team_lists.Cut[Any]
    promises: team_lists.Cut[Any]  # the open ones
    overdue: int
    late: team_lists.Cut[team_lists.LatePromise]


def _page_number(text: str) -> int:
    return int(text) if text.strip().isdigit() and 0 < int(text) < 1_000_000 else 1


def mount(app: FastAPI, engine: Engine, figures: TeamFigures, kit: Any) -> None:
    """Add /reps/<id>, /customers, /promises/late and /reports/daily to the console."""

    def busy(request: Request, viewer: Any) -> Response:
        text = (
            "The team's figures are being brought up to date with the Hub's latest "
            "changes. Try again in a minute."
        )
        response = kit.render(request, "error.html", viewer, 503, title="One moment", text=text)
        response.headers["Retry-After"] = "60"
        return response

    def refused(request: Request, viewer: Any, text: str) -> Response:
        return kit.render(request, "error.html", viewer, 422, title="Not shown", text=text)

    def all_teams() -> list[str]:
        with engine.connect() as conn:
            return list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())

    def teams_of(viewer: Any) -> list[str]:
        return all_teams() if viewer.role == "admin" else list(viewer.teams)

    def scope_of(viewer: Any, team: str) -> tuple[list[str], tuple[str, ...] | None]:
        """(the teams to choose from, the teams a query is held to: None for all).
        A team not the viewer's is answered as one that does not exist."""
        allowed = teams_of(viewer)
        if team:
            if team not in allowed:
                kit.forbid(viewer)
            return allowed, (team,)
        return allowed, None if viewer.role == "admin" else tuple(allowed)

    def user_ids(emails: list[str]) -> dict[str, int]:
        return rep_ids(engine, emails)

    def make_files(report: Any) -> None:
        # The PDF first: the one that takes seconds.
        for kind in ("pdf", "xlsx", "html"):
            downloads.render(_as_file(report), kind)

    figures.files_ahead = make_files

    # --- one rep ------------------------------------------------------------------------

    @app.get("/reps/{rep_id}", response_class=HTMLResponse, include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def rep_page(
        request: Request,
        rep_id: str,
        period: Annotated[str, Query(max_length=20)] = "week",
        page: Annotated[str, Query(max_length=9)] = "1",
    ) -> Response:
        viewer = kit.need(request, "rep", "manager", "admin")
        if not rep_id.isdigit() or len(rep_id) > 12:
            kit.forbid(viewer)
        with engine.connect() as conn:
            rep = conn.execute(select(users).where(users.c.id == int(rep_id))).first()
            rep_teams = accounts.user_teams(conn, rep.id) if rep is not None else ()
        if rep is None:
            kit.forbid(viewer)
        own = rep.id == viewer.user_id
        if viewer.role == "rep" and not own:
            kit.forbid(viewer)  # a rep sees their own page, and nobody else's
        shared = tuple(t for t in rep_teams if t in viewer.teams)
        if viewer.role == "manager" and not own and not shared:
            kit.forbid(viewer)
        # What the lists hold: a manager sees the rep's work with their teams' customers.
        held: tuple[str, ...] | None = shared if viewer.role == "manager" and not own else None
        number = _page_number(page)
        try:
            today = figures.today()
            shown = period_of(period, today)
            report = figures.report_between((rep.email,), shown.first, shown.last, scope=rep.email)
            first, last = shown.first, shown.last

            def read(ws: Any) -> _RepLists:
                def page_of(n: int) -> team_lists.Cut[Any]:
                    return team_lists.rep_interactions(
                        ws,
                        rep.email,
                        first,
                        last,
                        teams=held,
                        offset=(n - 1) * PAGE_ROWS,
                        limit=PAGE_ROWS,
                    )

                n = number
                done = page_of(n)
                if not done.rows and done.total:  # a page past the last: the last one
                    n = math.ceil(done.total / PAGE_ROWS)
                    done = page_of(n)
                promises, overdue = team_lists.rep_open_promises(ws, rep.email, teams=held)
                return _RepLists(
                    number=n,
                    done=done,
                    scores=team_lists.rep_scores(ws, rep.email, first, last, teams=held),
                    promises=promises,
                    overdue=overdue,
                    late=team_lists.rep_late_promises(ws, rep.email, first, last, teams=held),
                )

            # Read once for the managers opening the same rep's page at once, until the
            # replica pulls a change or a minute passes (as the late promises are kept).
            # The key holds everything the lists depend on, the viewer's teams included.
            lists = figures.kept_list(("rep", rep.email, first, last, held, number), read)
            tz = figures.tz()
        except FiguresBusy:
            return busy(request, viewer)
        number, done = lists.number, lists.done
        figures_row = next((r for r in report.reps if r.rep == rep.email), None)
        name = report.display(rep.email)
        pages = max(1, math.ceil(done.total / PAGE_ROWS))

        def link(**changes: Any) -> str:
            query = {"period": shown.key, "page": number, **changes}
            return f"/reps/{rep.id}?{urlencode(query)}"

        return kit.render(
            request,
            "rep.html",
            viewer,
            title=name,
            rep=rep,
            rep_teams=rep_teams,
            own=own,
            held=held,
            periods=[(key, label, link(period=key, page=1)) for key, label in PERIODS],
            period=shown.key,
            span=period_text(shown.first, shown.last),
            as_of=moment_text(report.as_of or report.generated_at, tz),
            report=report,
            row=_row(report, figures_row) if figures_row else None,
            done=done,
            first_shown=(number - 1) * PAGE_ROWS + 1,
            page=number,
            pages=pages,
            newer=link(page=number - 1) if number > 1 else None,
            older=link(page=number + 1) if number < pages else None,
            scores=lists.scores,
            promises=lists.promises,
            overdue=lists.overdue,
            late=lists.late,
            day=lambda d: day_text(d, tz),
            moment=lambda d: moment_text(d, tz),
            hour=lambda d: f"{d.astimezone(tz):%H:%M}",
            fmt=fmt,
        )

    # --- customers ----------------------------------------------------------------------

    @app.get("/customers", response_class=HTMLResponse, include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def customers_page(
        request: Request,
        q: Text = "",
        team: Annotated[str, Query(max_length=120)] = "",
        page: Annotated[str, Query(max_length=9)] = "1",
    ) -> Response:
        viewer = kit.need(request, "manager", "admin")
        allowed, held = scope_of(viewer, team)
        number = _page_number(page)
        q = q.strip() if re.search(r"\w", q) else ""  # "%%" searches for nothing: all
        query = customer_list.CustomerQuery(words=q or None, teams=held)

        def read(ws: Any) -> tuple[int, int, list[Any]]:
            total = customer_list.count_customers(ws, query)
            n = min(number, max(1, math.ceil(total / CUSTOMER_ROWS)))
            rows = customer_list.customer_rows(ws, query, (n - 1) * CUSTOMER_ROWS, CUSTOMER_ROWS)
            return total, n, rows

        try:
            # One search read once for the managers asking it at once (kept as the late
            # promises are); the key holds the teams the viewer may see.
            total, number, rows = figures.kept_list(("customers", q, held, number), read)
            tz = figures.tz()
        except FiguresBusy:
            return busy(request, viewer)
        pages = max(1, math.ceil(total / CUSTOMER_ROWS))
        names = figures.display_names([r.owner for r in rows])
        first = (number - 1) * CUSTOMER_ROWS + 1

        def link(n: int) -> str:
            return "/customers?" + urlencode({"q": q, "team": team, "page": n})

        return kit.render(
            request,
            "customers.html",
            viewer,
            title="Customers",
            teams=allowed,
            team=team,
            q=q,
            rows=rows,
            total=total,
            first=first,
            last=first + len(rows) - 1,
            after=max(0, total - (first + len(rows) - 1)),
            newer=link(number - 1) if number > 1 else None,
            older=link(number + 1) if number < pages else None,
            person=lambda email: names.get(email) or (email or "–"),
            day=lambda d: day_text(d, tz),
            fmt=fmt,
        )

    # --- late promises ------------------------------------------------------------------

    @app.get("/promises/late", response_class=HTMLResponse, include_in_schema=False)
    @kit.waits  # it may wait for the figures: on threads of its own
    def late_page(
        request: Request,
        team: Annotated[str, Query(max_length=120)] = "",
        period: Annotated[str, Query(max_length=20)] = "week",
        rep: Annotated[str, Query(max_length=200)] = "",
        sort: Annotated[str, Query(max_length=10)] = "due",
    ) -> Response:
        viewer = kit.need(request, "manager", "admin")
        allowed = teams_of(viewer)
        if team and team not in allowed:
            kit.forbid(viewer)
        team = team or (allowed[0] if allowed else "")
        sort = sort if sort in team_lists.LATE_SORTS else "due"
        found = None
        shown = None
        tz = None
        try:
            if team:
                shown = period_of(period, figures.today())
                chosen = shown

                def read(ws: Any) -> team_lists.LatePromises:
                    return team_lists.late_promises(
                        ws,
                        chosen.first,
                        chosen.last,
                        teams=(team,),
                        rep=rep or None,
                        sort=sort,
                        limit=LATE_ROWS,
                    )

                # The same team's list, read once for the managers asking at once.
                key = ("late", team, shown.first, shown.last, rep, sort)
                found = figures.kept_list(key, read)
                tz = figures.tz()
        except FiguresBusy:
            return busy(request, viewer)
        # The rep chosen stays in the list even with nothing late any more.
        people = sorted({*(found.reps if found else []), *([rep] if rep else [])})
        names = figures.display_names(list(people))
        links = user_ids(list(people))

        def link(**changes: Any) -> str:
            query = {"team": team, "period": shown.key if shown else period, "rep": rep}
            query["sort"] = sort
            query.update(changes)
            return "/promises/late?" + urlencode(query)

        return kit.render(
            request,
            "late.html",
            viewer,
            title="Late promises",
            teams=allowed,
            team=team,
            periods=PERIODS,
            period=shown.key if shown else period,
            span=period_text(shown.first, shown.last) if shown else "",
            rep=rep,
            reps=[(email, names.get(email) or email) for email in people],
            sort=sort,
            sorts=[
                ("due", "Due"),
                ("days", "Days late"),
                ("rep", "Rep"),
                ("customer", "Customer"),
            ],
            sort_link=lambda key: link(sort=key),
            found=found,
            problem="" if team else "You are in no team yet: an admin adds you to one.",
            person=lambda email: names.get(email) or (email or "–"),
            rep_link=lambda email: f"/reps/{links[email]}" if email in links else None,
            day=lambda d: day_text(d, tz),
            hour=lambda d: f"{d.astimezone(tz):%H:%M}",
            fmt=fmt,
        )

    # --- the daily report as a file -----------------------------------------------------

    def file_to_make(
        request: Request, team: str, date_: str, period: str, format: str
    ) -> Response | tuple[Any, Future[bytes], str]:
        """The checks and the report of a download, on a request thread: an answer
        already (refused, "one moment"), or (viewer, the file being made, its name)."""
        viewer = kit.need(request, "manager", "admin")
        allowed = teams_of(viewer)
        if not team or team not in allowed:
            kit.forbid(viewer)  # another team's report is answered as one that is not
        if format not in downloads.MEDIA:
            return refused(
                request, viewer, f"Format: '{format}' is not one of PDF, Excel (xlsx) or HTML."
            )
        try:
            if period:
                # The dashboard's own report of the period (kept, figured ahead for the
                # week): a team's report takes seconds at L, and holds the others up.
                report, shown = figures.team_report(team, period)
                first, last = shown.first, shown.last
                figures.want_files(team, shown.key)
            else:
                members = tuple(replica.team_members(engine, team))
                with figures.replica() as ws:
                    first, last = report_service.report_period(ws, day=date_.strip() or None)
                report = figures.report_between(members, first, last, scope=f"team {team}")
        except ValidationError as exc:
            return refused(request, viewer, f"{exc.field.capitalize()}: {exc.problem}")
        except FiguresBusy:
            return busy(request, viewer)
        span = f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d}-to-{last:%Y-%m-%d}"
        return viewer, downloads.file_of(_as_file(report), format), f"daily-report-{team}-{span}"

    checked = kit.waits(file_to_make)  # it may wait for the report being figured

    @app.get("/reports/daily", include_in_schema=False)
    async def report_file(
        request: Request,
        team: Annotated[str, Query(max_length=120)] = "",
        date_: Annotated[str, Query(alias="date", max_length=40)] = "",
        period: Annotated[str, Query(max_length=20)] = "",
        format: Annotated[str, Query(max_length=10)] = "pdf",
    ) -> Response:
        made = await checked(request, team, date_, period, format)
        if isinstance(made, Response):
            return made
        viewer, making, name = made
        try:
            # Awaited here, not on a request thread: the managers waiting for one PDF
            # being drawn (seconds) hold none of the threads the other pages need.
            body = await asyncio.wrap_future(making)
        except downloads.RenderFailed as exc:
            text = (
                f"The {downloads.FORMAT_NAMES[format]} report could not be made: {exc}. Try again."
            )
            return await run_in_threadpool(
                kit.render, request, "error.html", viewer, 500, title="Not made", text=text
            )
        response = Response(
            body,
            media_type=downloads.MEDIA[format],
            headers={"Content-Disposition": _attachment(f"{name}.{format}")},
        )
        return kit.headers(response)

    @app.get("/reps/{rep_id}/{rest:path}", include_in_schema=False)
    @app.get("/promises/{rest:path}", include_in_schema=False)
    @app.get("/reports/{rest:path}", include_in_schema=False)
    def elsewhere(request: Request) -> Response:
        kit.forbid(kit.need(request))


def _as_file(report: Any) -> Any:
    """The report as its files show it (with the command line's hint about goals); the
    files made ahead and those made for a download are of this same report."""
    return replace(report, goals_hint=GOALS_HINT)


def _attachment(name: str) -> str:
    """A download's Content-Disposition: an ASCII name for every browser, and the
    exact one (a team named Zürich) for those that read RFC 5987's ``filename*``."""
    plain = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-._") else "_" for ch in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
