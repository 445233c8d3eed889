"""The managers' figures for the console: the daily report's, from the same code.

The dashboard shows what ``touchpoint-hub report daily --team`` writes: both compute
:func:`touchpoint.services.reports.daily_report` over a replica of the Hub's records
(:mod:`touchpoint.hub.replica`), so every definition (kept, late, overdue, going quiet,
satisfaction, activity against goal on working days) is the laptop's.

A report for a team of 50 takes seconds at L, so a page view never recomputes it: the
replica pulls only when the Hub's change log has moved (one indexed read per view),
and a report is kept until then, keyed by team, period and members. A period not over
yet is figured as of now, so its report is also kept for :data:`FRESH_SECONDS` at most
(a promise falls overdue as time passes, with no change at all).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from touchpoint.domain import dates
from touchpoint.errors import NotFoundError
from touchpoint.hub import exchange, replica
from touchpoint.hub.db import records
from touchpoint.services import goals as goals_service
from touchpoint.services import reports
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine
from touchpoint.sync.errors import ServerError

GOALS_ENV = "TOUCHPOINT_HUB_GOALS"  # a goals.toml, as `touchpoint-hub report --goals` takes
FRESH_SECONDS = 300
BUSY_WAIT = 15.0  # seconds a page waits for the figures before saying they are on the way
KEPT_REPORTS = 64
PERIODS = (("week", "This week"), ("last-week", "Last week"), ("month", "This month"))


class FiguresBusy(Exception):
    """The figures are being brought up to date (a first pull of a big book takes
    minutes): the page says so instead of holding a request thread."""


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    first: date
    last: date


def period_of(key: str, today: date) -> Period:
    """This week (Monday to Sunday), last week, or this calendar month, as local days."""
    labels = dict(PERIODS)
    if key == "last-week":
        first = dates.week_start(today) - timedelta(days=7)
        return Period(key, labels[key], first, first + timedelta(days=6))
    if key == "month":
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(key, labels[key], first, following - timedelta(days=1))
    first = dates.week_start(today)
    return Period("week", labels["week"], first, first + timedelta(days=6))


def _folder_for(engine: Engine) -> Path:
    # The console keeps a replica of its own, beside the one `touchpoint-hub report`
    # keeps: a scheduled report run and the serving Hub never pull into the same file.
    url = engine.url.render_as_string(hide_password=False)
    base = replica.default_folder(url)
    return base.with_name(base.name + "-console")


class TeamFigures:
    """The replica and the reports computed over it, for one Hub process.

    One lock: the replica is pulled and read by one request at a time, and a report
    asked for by many managers at once is computed once."""

    def __init__(
        self,
        engine: Engine,
        now: Any,
        *,
        folder: Path | None = None,
        goals_file: Path | None = None,
    ) -> None:
        self.engine = engine
        self.now = now
        self.folder = folder or _folder_for(engine)
        self._goals_file = goals_file
        self._lock = threading.Lock()
        self._ws: Workspace | None = None
        self._pulled_to = -1
        self._tz: Any = None
        self.busy_wait = BUSY_WAIT
        self._kept: OrderedDict[tuple[Any, ...], reports.DailyReport] = OrderedDict()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self.busy_wait):
            raise FiguresBusy
        try:
            yield
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

    def _fresh(self) -> Workspace:
        """The replica, pulled when the Hub's change log has moved (under the lock)."""
        with self.engine.connect() as conn:
            high = exchange.high_water(conn)
        if self._ws is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._ws = Workspace.open(self.folder, auto_backup=False, clock=self.now)
        if high != self._pulled_to:
            result = SyncEngine(self._ws, replica.DirectHub(self.engine)).run()  # type: ignore[arg-type]
            if result.status not in ("done", "conflicts"):
                raise ServerError(
                    f"could not update the console's figures ({result.status})", transient=False
                )
            self._pulled_to = high
            self._kept.clear()
        return self._ws

    @property
    def goals_file(self) -> Path | None:
        """The goals given, else $TOUCHPOINT_HUB_GOALS (read each time: a file set later
        counts at the next view)."""
        if self._goals_file is not None:
            return self._goals_file
        explicit = os.environ.get(GOALS_ENV, "").strip()
        return Path(explicit).expanduser() if explicit else None

    def display_names(self, emails: list[str | None]) -> dict[str, str]:
        """How reps are shown: the goals file's [names], else a name made of the email."""
        return goals_service.display_names(None, self._book(), emails)

    def _book(self) -> goals_service.GoalBook:
        goals_file = self.goals_file
        if goals_file is None:
            return goals_service.GoalBook()
        return goals_service.read_goals_file(goals_file)

    def today(self) -> date:
        with self._locked():
            ws = self._fresh()
            return dates.local_date(ws.now(), ws.tz)

    def team_report(self, team: str, period_key: str) -> tuple[reports.DailyReport, Period]:
        """The daily report of ``team``'s members for the period (see the module)."""
        members = tuple(replica.team_members(self.engine, team))
        goals_file = self.goals_file
        goals_stamp = (
            goals_file.stat().st_mtime_ns
            if goals_file is not None and goals_file.is_file()
            else None
        )
        with self._locked():
            ws = self._fresh()
            now = ws.now()
            period = period_of(period_key, dates.local_date(now, ws.tz))
            over = dates.local_range_bounds(period.first, period.last, ws.tz)[1] <= now
            fresh = None if over else int(now.timestamp() // FRESH_SECONDS)
            key = (team, period.first, period.last, members, goals_stamp, fresh)
            found = self._kept.get(key)
            if found is None:
                found = reports.daily_report(
                    ws,
                    period.first,
                    period.last,
                    reps=list(members),
                    scope=f"team {team}",
                    book=self._book(),
                )
                self._kept[key] = found
                while len(self._kept) > KEPT_REPORTS:
                    self._kept.popitem(last=False)
            return found, period

    def customer(self, customer_id: str, *, timeline: int = 50) -> tuple[Any, list[Any], int]:
        """(summary, newest interactions, how many in all) of one customer, from the
        replica; NotFoundError when it has none (or it was deleted)."""
        from touchpoint.services import insights, interactions

        with self._locked():
            ws = self._fresh()
            summary = insights.customer_summary(ws, customer_id)
            shown = interactions.timeline(ws, customer_id, limit=timeline)
            return summary, shown, summary.interactions_count

    def tz(self) -> Any:
        """The zone days are counted in (the replica's settings; read once)."""
        if self._tz is None:
            with self._locked():
                self._tz = self._fresh().tz
        return self._tz

    # --- for the rep, customer, late-promise and report-download pages ---------------

    @contextmanager
    def replica(self) -> Iterator[Workspace]:
        """The replica, up to date, held for one page's queries (FiguresBusy as above)."""
        with self._locked():
            yield self._fresh()

    def report_between(
        self, reps: tuple[str, ...], first: date | None, last: date | None, scope: str
    ) -> reports.DailyReport:
        """The daily report of ``reps`` for the local days ``first`` to ``last`` (both
        None: yesterday, as ``touchpoint-hub report daily`` by default), kept as
        :meth:`team_report` keeps its own."""
        goals_file = self.goals_file
        goals_stamp = (
            goals_file.stat().st_mtime_ns
            if goals_file is not None and goals_file.is_file()
            else None
        )
        with self._locked():
            ws = self._fresh()
            now = ws.now()
            if first is None or last is None:
                first, last = reports.report_period(ws)
            over = dates.local_range_bounds(first, last, ws.tz)[1] <= now
            fresh = None if over else int(now.timestamp() // FRESH_SECONDS)
            key = ("between", scope, first, last, reps, goals_stamp, fresh)
            found = self._kept.get(key)
            if found is None:
                found = reports.daily_report(
                    ws, first, last, reps=list(reps), scope=scope, book=self._book()
                )
                self._kept[key] = found
                while len(self._kept) > KEPT_REPORTS:
                    self._kept.popitem(last=False)
            return found


def customer_team(engine: Engine, customer_id: str) -> str | None:
    """The Hub team a customer belongs to; None when the Hub has no such customer."""
    with engine.connect() as conn:
        return conn.execute(
            select(records.c.team).where(
                records.c.entity == "customer", records.c.record_id == customer_id
            )
        ).scalar()


__all__ = [
    "PERIODS",
    "FiguresBusy",
    "NotFoundError",
    "Period",
    "TeamFigures",
    "customer_team",
    "period_of",
]
