"""The managers' figures for the console: the daily report's, from the same code.

The dashboard shows what ``touchpoint-hub report daily --team`` writes: both compute
:func:`touchpoint.services.reports.daily_report` over a replica of the Hub's records
(:mod:`touchpoint.hub.replica`), so every definition (kept, late, overdue, going quiet,
satisfaction, activity against goal on working days) is the laptop's.

The replica is a file beside the Hub's database, kept for good: its first catch-up
(a big book takes minutes) starts with the Hub, in the background, and pages say the
figures are on their way until it ends (:class:`FiguresBusy`). From then on it is
read at once, also after a restart, and follows the Hub's change log: a background
pull every :data:`FOLLOW_SECONDS`, and a page that finds the log moved pulls first.
The server's workers (and several Hub processes on one machine) share the replica, so
one of them follows it: the one holding :data:`FOLLOW_LOCK` in its folder (an OS file
lock, taken over by another when that process stops or dies). A page in any worker
that finds the replica already holds what the log has reads it without a pull.
At the start each team's week is figured ahead, so the first dashboard does not wait;
the reports kept when the Hub stopped are read back and count as before.

A report for a team of 50 takes seconds at L, so a page view never recomputes it
without reason: a report is kept per team, period and members until that team's part
of the change log moves (one indexed read per view). A period not over yet is figured
as of now, so its report is also refigured every :data:`FRESH_SECONDS` (a promise falls
overdue with no change at all); meanwhile the page shows the one it has.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, func, select

from touchpoint.domain import dates
from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.hub import exchange, replica
from touchpoint.hub.db import changes, records, teams
from touchpoint.services import goals as goals_service
from touchpoint.services import reports, search
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine, device_lock
from touchpoint.sync.errors import ServerError

log = logging.getLogger(__name__)
T = TypeVar("T")

GOALS_ENV = "TOUCHPOINT_HUB_GOALS"  # a goals.toml, as `touchpoint-hub report --goals` takes
FRESH_SECONDS = 300
FOLLOW_SECONDS = 10.0  # how often the background pull looks at the Hub's log
BUSY_WAIT = 15.0  # seconds a page waits for the figures before saying they are on the way
PULL_WAIT = 2.0  # seconds a page waits for another's pull before reading what is there
KEPT_REPORTS = 64
KEPT_LISTS = 256  # late lists, rep pages' lists and searches (each a page of rows)
LIST_SECONDS = 60  # a kept list counts as of up to this long ago (overdue: "now")
KEPT_FILE = "console-reports.pickle"  # the kept reports, written when the Hub stops
FOLLOW_LOCK = "follow.lock"  # held by the one process that follows the log into the replica
_NONE = object()  # no list kept
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


@functools.cache
def _kept_version() -> str:
    """What kept reports were made by: another Touchpoint, or another report code, and
    they are figured again rather than read back in a shape they no longer have."""
    from touchpoint import __version__
    from touchpoint.domain import metrics

    code = b"".join(Path(m.__file__ or "").read_bytes() for m in (reports, metrics))
    return f"{__version__}:{hashlib.sha256(code).hexdigest()[:16]}"


def _folder_for(engine: Engine) -> Path:
    return replica.console_folder(engine.url.render_as_string(hide_password=False))


@dataclass
class _Kept:
    report: reports.DailyReport
    seen: int  # the team's last change in the log when the report was figured
    fresh: int | None  # the FRESH_SECONDS slot it was figured in (None: a period over)


@dataclass(frozen=True)
class _Job:
    key: tuple[Any, ...]  # (team, first, last, members, goals file's stamp)
    period: Period
    seen: int
    fresh: int | None


class TeamFigures:
    """The replica and the reports computed over it, for one Hub process.

    One pull at a time (``_pull_lock``; between processes the replica's own sync lock);
    pages read the replica meanwhile. Of the processes sharing the replica, the one
    holding its :data:`FOLLOW_LOCK` pulls in the background. A report asked for by many
    managers at once is computed once (a lock per report)."""

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
        self._pull_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._kept_lock = threading.Lock()
        self._ws: Workspace | None = None
        self._ready = False
        self._pulled_to = -1
        self._tz: Any = None
        self.busy_wait = BUSY_WAIT
        self.follow_seconds = FOLLOW_SECONDS
        self._kept: OrderedDict[tuple[Any, ...], _Kept] = OrderedDict()
        self._lists: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._listing: dict[tuple[Any, ...], threading.Lock] = {}
        self._figuring: dict[tuple[Any, ...], threading.Lock] = {}
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._caught_up = threading.Event()
        self._following: ExitStack | None = None  # holds FOLLOW_LOCK while this one follows
        # The report's files made ahead (set by the pages that serve them): a PDF takes
        # a core for seconds, and a manager asking for it should not wait for that.
        self.files_ahead: Callable[[reports.DailyReport], None] | None = None
        self._files_wanted: set[tuple[str, str]] = set()  # (team, period key)
        self._files_waiting: dict[tuple[str, str], reports.DailyReport] = {}
        self._files_lock = threading.Lock()
        self._files_worker: threading.Thread | None = None

    # --- the replica ------------------------------------------------------------------
    def _open(self) -> Workspace:
        with self._open_lock:
            if self._ws is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                ws = Workspace.open(self.folder, auto_backup=False, clock=self.now)
                replica.settle_scope(ws)
                self._ready = replica.caught_up_once(ws)
                self._pulled_to = replica.cursor(ws) if self._ready else -1
                self._ws = ws
                if self._ready:
                    self._load_kept()
            return self._ws

    def _load_kept(self) -> None:
        """The reports kept when the Hub last stopped: each still counts until its
        team's log moves (and is refigured as time passes), as if never stopped."""
        path = self.folder / KEPT_FILE
        try:
            # The Hub's own file, beside its replica, written by this code when it stopped.
            with path.open("rb") as f:
                version, kept = pickle.load(f)
        except FileNotFoundError:
            return
        except Exception:  # written by another version, or cut short: figure again
            log.info("the console's kept reports could not be read; figuring them again")
            return
        if version == _kept_version():
            with self._kept_lock:
                self._kept.update(kept)

    def _save_kept(self) -> None:
        path = self.folder / KEPT_FILE
        with self._kept_lock:
            kept = list(self._kept.items())
        if not kept or not self.folder.is_dir():
            return
        part = path.with_suffix(".part")
        try:
            with part.open("wb") as f:
                pickle.dump((_kept_version(), kept), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(part, path)
        except Exception:
            log.exception("the console could not keep its reports for the next start")

    def _high(self) -> int:
        with self.engine.connect() as conn:
            return exchange.high_water(conn)

    def pull(self) -> bool:
        """Bring the replica up to the Hub's log (the caller holds ``_pull_lock``);
        False when another process is pulling into it now, or the Hub is stopping."""
        ws = self._open()
        high = self._high()
        if high == self._pulled_to:
            return True
        if self._ready and replica.cursor(ws) >= high:
            # Another process (the one following) pulled it already: one read, no sync.
            self._pulled_to = high
            return True
        engine = SyncEngine(ws, replica.DirectHub(self.engine), check=False, cancel=self._stop)  # type: ignore[arg-type]
        result = engine.run()
        if result.status in ("busy", "cancelled"):
            return False
        if result.status not in ("done", "conflicts"):
            raise ServerError(
                f"could not update the console's figures ({result.status})", transient=False
            )
        self._pulled_to = high
        if not self._ready:
            replica.mark_caught_up(ws, high)
            self._ready = True
        self._caught_up.set()
        return True

    def start(self) -> None:
        """Catch up in the background, then follow the Hub's log (the Hub's start-up)."""
        self._background(follow=True)

    def _background(self, *, follow: bool) -> None:
        with self._open_lock:
            running = self._worker is not None and self._worker.is_alive()
            if running or self._stop.is_set():
                return
            self._worker = threading.Thread(
                target=self._work, args=(follow,), name="console-replica", daemon=True
            )
            self._worker.start()

    def _work(self, follow: bool) -> None:
        """Pull (the first catch-up, if not done yet); with ``follow``, figure each
        team's week ahead of the first page, then pull again every
        :data:`FOLLOW_SECONDS` until the Hub stops, while this process is the one
        following the replica (else it tries to become that one at each round)."""
        warmed = not follow
        while not self._stop.is_set():
            try:
                if not follow or self._leads():
                    with self._pull_lock:
                        if not self._stop.is_set():
                            self.pull()
                else:
                    self._open()  # read what the process following copies
            except Exception:  # the next round tries again; pages say what they can
                log.exception("the console's replica could not follow the Hub")
            if not self._ready and self._ws is not None and replica.caught_up_once(self._ws):
                self._ready = True  # another process made the first copy
            if self._ready:
                self._caught_up.set()
            if not follow and self._ready:
                return
            if self._ready and not warmed:
                warmed = True
                self._warm()
            if self._ready and self._following is not None:
                self._index_names()  # only the process that writes the replica
            self._stop.wait(self.follow_seconds if self._ready else 2.0)

    def _leads(self) -> bool:
        """Whether this process follows the log into the replica: it holds, or now takes,
        the replica's :data:`FOLLOW_LOCK` (the OS lets it go when the process ends)."""
        if self._following is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            stack = ExitStack()
            if stack.enter_context(device_lock(self.folder / FOLLOW_LOCK)):
                self._following = stack
            else:
                stack.close()
        return self._following is not None

    def _index_names(self) -> None:
        """Index the names a first catch-up left to index (it defers the full-text
        index), a short transaction at a time between pulls: the customer search looks
        every customer over until then. The notes' index is never read here, so it is
        left as it is."""
        while not self._stop.is_set():
            try:
                with self._pull_lock:
                    ws = self._open()
                    more = search.catch_up_index_step(ws, names_only=True)
            except Exception:  # the next round goes on from where this one stopped
                log.exception("the console's replica could not index its names")
                return
            if not more:
                return

    def _warm(self) -> None:
        """This week's report of every team, figured once the replica is ready: the
        first dashboard after a start shows it at once; and its files, made in the
        background, so the first download does not wait for them either."""
        with self.engine.connect() as conn:
            names = list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())
        for name in names:
            if self._stop.is_set():
                return
            try:
                report, period = self.team_report(name, "week")
                self.want_files(name, period.key)
                self._make_files(name, period.key, report)
            except (ValidationError, FiguresBusy):
                continue  # a team without members has no report
            except Exception:
                log.exception("the console could not figure team %s ahead", name)

    def _fresh(self, high: int | None = None) -> Workspace:
        """The replica to read: up to date with the Hub's log (at ``high``, read now
        when not given) when a pull can be had soon; FiguresBusy until its first
        catch-up is over."""
        ws = self._open()
        if not self._ready:
            self._background(follow=False)
            self._caught_up.wait(self.busy_wait)
            if not self._ready:
                raise FiguresBusy
            return ws
        if high is None:
            high = self._high()
        if high != self._pulled_to and self._pull_lock.acquire(timeout=PULL_WAIT):
            # A page that finds the log moved pulls first (a few changes: milliseconds);
            # when a big pull holds the lock it reads what is there.
            try:
                self.pull()
            finally:
                self._pull_lock.release()
        return ws

    def close(self) -> None:
        """Stop the background pull (a pull under way ends at its next page) and close
        the replica."""
        self._stop.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=60)
        with self._pull_lock, self._open_lock:
            if self._ws is not None:
                if self._ready:
                    self._save_kept()
                self._ws.close()
                self._ws = None
            if self._following is not None:  # another process follows from its next round
                self._following.close()
                self._following = None

    # --- goals and names --------------------------------------------------------------
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

    # --- what pages ask ---------------------------------------------------------------
    def today(self) -> date:
        ws = self._fresh()
        return dates.local_date(ws.now(), ws.tz)

    def _hub_facts(self, team: str) -> tuple[tuple[str, ...], int, int]:
        """(the team's members, its last change in the log, the log's last change), read
        in one connection (each costs an index lookup; a connection costs more)."""
        with self.engine.connect() as conn:
            members = tuple(replica.team_members(conn, team))
            seen = conn.execute(
                select(func.max(changes.c.server_seq)).where(changes.c.team == team)
            ).scalar()
            high = exchange.high_water(conn)
        return members, int(seen or 0), high

    def team_report(self, team: str, period_key: str) -> tuple[reports.DailyReport, Period]:
        """The daily report of ``team``'s members for the period (see the module)."""
        members, seen, high = self._hub_facts(team)
        goals_file = self.goals_file
        goals_stamp = (
            goals_file.stat().st_mtime_ns
            if goals_file is not None and goals_file.is_file()
            else None
        )
        ws = self._fresh(high)
        now = ws.now()
        period = period_of(period_key, dates.local_date(now, ws.tz))
        over = dates.local_range_bounds(period.first, period.last, ws.tz)[1] <= now
        fresh = None if over else int(now.timestamp() // FRESH_SECONDS)
        key = (team, period.first, period.last, members, goals_stamp)
        job = _Job(key, period, seen, fresh)
        with self._kept_lock:
            kept = self._kept.get(key)
            figuring = self._figuring.setdefault(key, threading.Lock())
        if kept is not None and kept.seen >= seen:
            if kept.fresh != fresh and figuring.acquire(blocking=False):
                # Only time has passed: show this one while the next is figured.
                threading.Thread(
                    target=self._refigure, args=(ws, job, figuring), daemon=True
                ).start()
            return kept.report, period
        if not figuring.acquire(timeout=PULL_WAIT if kept is not None else self.busy_wait):
            if kept is not None:
                # Being figured already (as time passed, or for another page): show the
                # one kept; the next view after it ends figures the newest changes in.
                return kept.report, period
            raise FiguresBusy
        try:
            with self._kept_lock:
                kept = self._kept.get(key)
            if kept is not None and kept.seen >= seen and kept.fresh == fresh:
                return kept.report, period  # figured by another page meanwhile
            return self._figure(ws, job), period
        finally:
            figuring.release()

    def want_files(self, team: str, period_key: str) -> None:
        """Someone downloaded a file of this team's report for the period: from now on,
        each report of it figured anew has its files made ahead, in the background."""
        with self._files_lock:
            self._files_wanted.add((team, period_key))

    def _make_files(self, team: str, period_key: str, report: reports.DailyReport) -> None:
        """Have :attr:`files_ahead` make the report's files on a thread of its own, when
        they are wanted (the newest report of a team and period only, one at a time)."""
        if self.files_ahead is None or self._stop.is_set():
            return
        with self._files_lock:
            if (team, period_key) not in self._files_wanted:
                return
            # The newest first: a report figured after a change is the one being looked
            # at now, not the other teams' weeks figured ahead at the start.
            self._files_waiting.pop((team, period_key), None)
            self._files_waiting[(team, period_key)] = report
            if self._files_worker is None:
                self._files_worker = threading.Thread(
                    target=self._files_work, name="console-files", daemon=True
                )
                self._files_worker.start()

    def _files_work(self) -> None:
        make = self.files_ahead
        while make is not None and not self._stop.is_set():
            with self._files_lock:
                if not self._files_waiting:
                    break
                _key, report = self._files_waiting.popitem()
            try:
                make(report)
            except Exception:  # a download makes it then, and says so if it cannot
                if not self._stop.is_set():  # (the Hub stopping ends the drawing too)
                    log.exception("the console could not make the files of a team report ahead")
        with self._files_lock:
            self._files_worker = None
            if self._files_waiting and not self._stop.is_set():  # came as this one ended
                self._files_worker = threading.Thread(
                    target=self._files_work, name="console-files", daemon=True
                )
                self._files_worker.start()

    def _refigure(self, ws: Workspace, job: _Job, figuring: threading.Lock) -> None:
        try:
            self._figure(ws, job)
        except Exception:  # the kept report stays; the next view tries again
            log.exception("the console could not refigure a team report")
        finally:
            figuring.release()

    def _figure(self, ws: Workspace, job: _Job) -> reports.DailyReport:
        # What the replica holds covers ``seen`` unless a pull could not be had: then
        # the report counts as of the replica's cursor, and the next view figures again.
        covered = min(job.seen, self._pulled_to)
        team, first, last, members, _stamp = job.key
        report = reports.daily_report(
            ws, first, last, reps=list(members), scope=f"team {team}", book=self._book()
        )
        with self._kept_lock:
            self._kept[job.key] = _Kept(report, covered, job.fresh)
            self._kept.move_to_end(job.key)
            while len(self._kept) > KEPT_REPORTS:
                old, _ = self._kept.popitem(last=False)
                self._figuring.pop(old, None)
        self._make_files(team, job.period.key, report)
        return report

    def customer(
        self, customer_id: str, *, offset: int = 0, limit: int = 25
    ) -> tuple[Any, list[Any], int]:
        """(summary, one page of its interactions newest first, how many in all) of one
        customer, from the replica; NotFoundError when it has none (or it was deleted)."""
        from touchpoint.services import insights, interactions

        ws = self._fresh()
        summary = insights.customer_summary(ws, customer_id)
        shown = interactions.customer_timeline(
            ws, summary.customer.id, summary.customer.name, limit=limit, offset=offset
        )
        return summary, shown, summary.interactions_count

    def tz(self) -> Any:
        """The zone days are counted in (the replica's settings; read once)."""
        if self._tz is None:
            self._tz = self._open().tz
        return self._tz

    # --- for the rep, customer, late-promise and report-download pages ---------------

    @contextmanager
    def replica(self) -> Iterator[Workspace]:
        """The replica, up to date, for one page's queries (FiguresBusy as above)."""
        yield self._fresh()

    def kept_list(self, key: tuple[Any, ...], read: Callable[[Workspace], T]) -> T:
        """``read(replica)``, kept for pages asking the same ``key`` until the replica
        pulls a change or :data:`LIST_SECONDS` pass (a list that is seconds to read
        at L, such as a team's late promises, is read once for fifty managers). When
        only time has passed (no change pulled), the list of the minute before is shown
        while it is read anew in the background, as a team report is refigured."""
        ws = self._fresh()
        slot = int(ws.now().timestamp() // LIST_SECONDS)
        full = (key, self._pulled_to, slot)
        with self._kept_lock:
            if full in self._lists:
                self._lists.move_to_end(full)  # the most asked stay, the rest go first
                return cast(T, self._lists[full])
            reading = self._listing.setdefault(full, threading.Lock())
            before = self._lists.get((key, self._pulled_to, slot - 1), _NONE)
        if before is not _NONE:
            if reading.acquire(blocking=False):
                threading.Thread(
                    target=self._read_list_behind, args=(ws, full, read, reading), daemon=True
                ).start()
            return cast(T, before)
        if not reading.acquire(timeout=self.busy_wait):
            raise FiguresBusy
        return self._read_list(ws, full, read, reading)

    def _read_list(
        self,
        ws: Workspace,
        full: tuple[Any, ...],
        read: Callable[[Workspace], T],
        reading: threading.Lock,
    ) -> T:
        """Read a list for :meth:`kept_list` and keep it (the caller holds ``reading``)."""
        try:
            with self._kept_lock:
                if full in self._lists:
                    return cast(T, self._lists[full])
            value = read(ws)
            with self._kept_lock:
                self._lists[full] = value
                while len(self._lists) > KEPT_LISTS:
                    old, _ = self._lists.popitem(last=False)
                    self._listing.pop(old, None)
            return value
        finally:
            reading.release()

    def _read_list_behind(self, *args: Any) -> None:
        try:
            self._read_list(*args)
        except Exception:  # the list of the minute before stays; the next view tries again
            log.exception("the console could not read a list anew")

    def report_between(
        self, reps: tuple[str, ...], first: date | None, last: date | None, scope: str
    ) -> reports.DailyReport:
        """The daily report of ``reps`` for the local days ``first`` to ``last`` (both
        None: yesterday, as ``touchpoint-hub report daily`` by default), kept as
        :meth:`team_report` keeps its own: until the log moves, or time passes in a
        period not over yet."""
        goals_file = self.goals_file
        goals_stamp = (
            goals_file.stat().st_mtime_ns
            if goals_file is not None and goals_file.is_file()
            else None
        )
        ws = self._fresh()
        covered = self._pulled_to
        now = ws.now()
        if first is None or last is None:
            first, last = reports.report_period(ws)
        over = dates.local_range_bounds(first, last, ws.tz)[1] <= now
        fresh = None if over else int(now.timestamp() // FRESH_SECONDS)
        key = ("between", scope, first, last, reps, goals_stamp)
        with self._kept_lock:
            kept = self._kept.get(key)
            figuring = self._figuring.setdefault(key, threading.Lock())
        if kept is not None and kept.seen >= covered and kept.fresh == fresh:
            return kept.report
        # Many managers opening the same rep's page at once figure it once: the others
        # wait for it, and read it kept.
        if not figuring.acquire(timeout=self.busy_wait):
            raise FiguresBusy
        try:
            with self._kept_lock:
                kept = self._kept.get(key)
            if kept is not None and kept.seen >= covered and kept.fresh == fresh:
                return kept.report
            report = reports.daily_report(
                ws, first, last, reps=list(reps), scope=scope, book=self._book()
            )
            with self._kept_lock:
                self._kept[key] = _Kept(report, covered, fresh)
                self._kept.move_to_end(key)
                while len(self._kept) > KEPT_REPORTS:
                    old, _ = self._kept.popitem(last=False)
                    self._figuring.pop(old, None)
            return report
        finally:
            figuring.release()


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
