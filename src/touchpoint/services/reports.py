"""The figures of the managers' daily activity report, as plain dataclasses.

Every definition comes from :mod:`touchpoint.domain.metrics` (kept, late, overdue,
going quiet, completeness, activity against goal), so the PDF, the HTML page,
the Excel file and the window's Reports page show the same numbers. A day is the
user's local calendar day (``ws.tz``); times are stored in UTC.

**As of.** Every figure is computed as it stood at the end of the report's period
(``as_of``: the end of its last local day, or now for a period not over yet): promises
done only later were open (or overdue) then; the watch list and satisfaction read the
interactions up to then; profile hygiene counts the customers and contacts that existed
then, their last scored interaction before then and their last change known before then
(a customer keeps only its newest change and its creation, so a profile changed since
counts from its creation). Status, industry and addresses are the current ones: their
history is not kept.

**Working days.** Goals count on the team's working days (Monday to Friday unless the
goals file or the machine policy says otherwise): a daily goal is its count times the
working days in the period, so a Saturday has no goal. A weekly goal is never spread
over days: it is a goal for whole weeks (the weekly report), and a day's report shows
no goal for that kind (the day's count is still shown).

**The rep** is identified by email and shown by display name (``DailyReport.display``).
Lists that are cut keep their full count beside them (``quiet_total``,
``Hygiene.flagged``, ``best_total``...), so every format can say "and N more".
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from touchpoint.collector import collector_paused
from touchpoint.domain import dates, metrics
from touchpoint.domain.enums import CustomerStatus, FollowUpStatus
from touchpoint.domain.rounding import half_up_int
from touchpoint.errors import ValidationError
from touchpoint.services import goals as goals_service
from touchpoint.services.today import QuietCustomer, longest_silent_first, quiet_customer
from touchpoint.storage.queries import customers as customer_queries
from touchpoint.storage.queries import driver_connection, watch_list
from touchpoint.storage.queries import period as period_queries
from touchpoint.storage.types import to_utc_text
from touchpoint.storage.workspace import Workspace

VOICES = 3  # best and worst customer words shown
BEST_FROM = 4  # scores that count as the best words (happy, delighted)
WORST_FROM = 2  # scores that count as the worst (unhappy)
HYGIENE_ROWS = 30
BOOK_OWNER_INDEX = 10  # up to this many owners, their customers are found by the index
QUIET_ROWS = 50
NO_OWNER = "(no owner)"


def _utc(value: str | None) -> datetime | None:
    # Stored as fixed-width "...Z" text; fromisoformat is several times faster than strptime.
    return datetime.fromisoformat(value) if value else None


# --- the figures ------------------------------------------------------------------


@dataclass(frozen=True)
class RepFigures:
    """One rep's period (or the team's, with ``rep`` = "team")."""

    rep: str
    interactions: int
    by_kind: dict[str, int]
    by_outcome: dict[str, int]
    goals: list[metrics.GoalProgress]  # one line per kind with a goal or with activity
    followups_made: int
    promises: metrics.PromiseStats
    satisfaction: float | None  # average score of the period's scored interactions
    scored: int
    satisfaction_before: float | None  # the same average over the period before

    @property
    def satisfaction_change(self) -> float | None:
        if self.satisfaction is None or self.satisfaction_before is None:
            return None
        return self.satisfaction - self.satisfaction_before

    @property
    def goal_total(self) -> float | None:
        set_goals = [g.goal for g in self.goals if g.goal]
        return sum(set_goals) if set_goals else None


@dataclass(frozen=True)
class DayActivity:
    day: date
    interactions: int  # every kind
    toward_goal: int  # interactions of the kinds each rep has a goal for
    goal: float | None  # the reps' goals for one day, all kinds together


@dataclass(frozen=True)
class Voice:
    """A customer's own words on a scored interaction."""

    occurred_at: datetime
    customer_id: str
    customer: str
    rep: str
    kind: str
    score: int
    words: str


@dataclass(frozen=True)
class HygieneLine:
    customer_id: str
    customer: str
    owner: str | None
    status: str
    percent: int
    missing: tuple[str, ...]
    stale: bool
    last_confirmed: datetime | None


@dataclass(frozen=True)
class Hygiene:
    checked: int  # active and prospect customers looked at
    incomplete: int  # missing at least one key item
    stale: int  # not confirmed or changed for a year
    average_percent: int | None
    worst: list[HygieneLine]  # the worst first, cut at ``HYGIENE_ROWS``
    flagged: int = 0  # every customer incomplete or stale: ``worst`` before the cut

    @property
    def more(self) -> int:
        """How many flagged customers the cut list leaves out."""
        return max(0, self.flagged - len(self.worst))


@dataclass(frozen=True)
class DailyReport:
    first: date
    last: date
    generated_at: datetime
    timezone: str
    scope: str  # "all reps", "team north", or one rep by name ("Maria Lopez")
    reps: list[RepFigures]
    team: RepFigures
    kinds: list[str]  # kinds with a goal or activity, in a stable order
    activity_by_day: list[DayActivity]
    satisfaction_by_day: list[metrics.SatisfactionPoint]
    promises_by_day: dict[date, metrics.PromiseStats]
    best: list[Voice]
    worst: list[Voice]
    quiet: list[QuietCustomer]
    quiet_total: int
    hygiene: Hygiene
    goals_set: bool = field(default=False)
    # How the reader sets goals where this report was made (the Hub has its own way).
    goals_hint: str = "touchpoint goals set --kind call --per day 20"
    as_of: datetime | None = None  # the moment every figure stands at (UTC)
    work_days: frozenset[int] = metrics.DEFAULT_WORK_DAYS
    names: dict[str, str] = field(default_factory=dict)  # rep email -> display name
    best_total: int = 0  # scored 4-5 with words: ``best`` before the cut
    worst_total: int = 0

    def display(self, rep: str | None) -> str:
        """How a rep reads in the report: their display name ("Team" for the team)."""
        if rep is None:
            return NO_OWNER
        if rep == "team":
            return "Team"
        return self.names.get(rep) or goals_service.name_from_email(rep)

    @property
    def quiet_more(self) -> int:
        """How many customers going quiet the cut list leaves out."""
        return max(0, self.quiet_total - len(self.quiet))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def period_text(self) -> str:
        if self.first == self.last:
            return self.first.strftime("%a %d %b %Y")
        return f"{self.first.strftime('%a %d %b')} – {self.last.strftime('%a %d %b %Y')}"


# --- periods ----------------------------------------------------------------------


def report_period(
    ws: Workspace, *, day: str | date | None = None, week: bool = False
) -> tuple[date, date]:
    """The days a daily report covers: one local day (yesterday by default) or its week."""
    today = dates.local_date(ws.now(), ws.tz)
    if day is None or day == "":
        chosen = today - timedelta(days=1)
    elif isinstance(day, date):
        chosen = day
    else:
        try:
            chosen = dates.parse_day(day, today=today)
        except ValueError as exc:
            raise ValidationError("date", str(exc)) from None
    if week:
        first = dates.week_start(chosen)
        return first, first + timedelta(days=6)
    return chosen, chosen


def parse_range(
    ws: Workspace, first: str | date | None, last: str | date | None
) -> tuple[date, date]:
    """--from/--to as typed (ISO, today, -7d...); --from defaults to --to, --to to today."""
    today = dates.local_date(ws.now(), ws.tz)

    def one(value: str | date | None, name: str, default: date) -> date:
        if value is None or value == "":
            return default
        if isinstance(value, date):
            return value
        try:
            return dates.parse_day(value, today=today)
        except ValueError as exc:
            raise ValidationError(name, str(exc)) from None

    end = one(last, "to", today)
    start = one(first, "from", end)
    if start > end:
        raise ValidationError("from", f"{start} is after --to {end}")
    if (end - start).days > 366 * 20:
        raise ValidationError("from", "the range is longer than twenty years")
    return start, end


# --- the report -------------------------------------------------------------------


def daily_report(
    ws: Workspace,
    first: date,
    last: date,
    *,
    reps: Sequence[str] | None = None,
    scope: str | None = None,
    book: goals_service.GoalBook | None = None,
) -> DailyReport:
    """The report over the local days ``first``..``last`` for ``reps`` (None: everyone)."""
    if first > last:
        raise ValidationError("from", f"{first} is after --to {last}")
    now = ws.now()
    book = book if book is not None else goals_service.load_goals(ws)
    # Every figure as it stood at the end of the period (now, for one not over yet).
    # (The last microsecond of the last day: still that local day for "days since".)
    end = dates.local_range_bounds(first, last, ws.tz)[1]
    as_of = min(now, end - timedelta(microseconds=1))
    # The watch list and the hygiene read the whole book, not the period: they run on
    # their own connections beside the period's queries (SQLite lets go of the GIL).
    # Both make about a million short-lived objects, none in a cycle: the cyclic
    # collector would walk them again and again.
    with collector_paused(), ThreadPoolExecutor(max_workers=1) as pool:
        book_later = pool.submit(book_health, ws, reps, now=as_of)
        report = _daily_report(ws, first, last, reps, scope, book, book_later, as_of)
    names = goals_service.display_names(
        ws,
        book,
        [
            *(r.rep for r in report.reps),
            *(v.rep for v in [*report.best, *report.worst]),
            *(q.owner for q in report.quiet),
            *(h.owner for h in report.hygiene.worst),
        ],
    )
    # A one-rep report is titled with the rep's name, not their email.
    scope_shown = names.get(report.scope, report.scope)
    return replace(report, generated_at=now, names=names, scope=scope_shown)


def _daily_report(  # noqa: PLR0917
    ws: Workspace,
    first: date,
    last: date,
    reps: Sequence[str] | None,
    scope: str | None,
    book: goals_service.GoalBook,
    book_later: Future[tuple[list[QuietCustomer], Hygiene]],
    now: datetime,
) -> DailyReport:
    """The report with every figure as of ``now`` (the end of the period at the latest)."""
    tz = ws.tz
    work_days = goals_service.work_days(ws, book)
    start, end = dates.local_range_bounds(first, last, tz)
    days = (last - first).days + 1
    before_start = dates.local_range_bounds(first - timedelta(days=days), first, tz)[0]
    start_t, end_t, before_t = to_utc_text(start), to_utc_text(end), to_utc_text(before_start)
    with ws.read() as session:
        period = period_queries.interactions_between(session, start_t, end_t, reps)
        before = period_queries.scores_by_rep_between(session, before_t, start_t, reps)
        due = period_queries.followups_due_between(session, start_t, end_t, reps)
        made = period_queries.promises_made_between(session, start_t, end_t, reps)

    # The time of each interaction parsed once, for the days, the trend and the voices.
    interactions = [(r[0], r[1], r[2], _utc(r[3]), r[4], r[5], r[6]) for r in period]

    # Who is in the report: the given reps (even with no activity), else everyone seen.
    if reps is not None:
        people = list(dict.fromkeys(reps))
    else:
        seen = {r[0] for r in interactions} | {r[0] for r in due} | {r[0] for r in made}
        seen |= {r for r in book.reps if book.reps[r]}
        people = sorted(seen)

    by_rep: dict[str, list[Any]] = defaultdict(list)
    for row in interactions:
        by_rep[row[0]].append(row)
    due_by_rep: dict[str, list[metrics.FollowUpFacts]] = defaultdict(list)
    promises_by_day: dict[date, list[metrics.FollowUpFacts]] = defaultdict(list)
    for assigned, due_at, status, done_at in due:
        facts = metrics.FollowUpFacts(_utc(due_at), FollowUpStatus(status), _utc(done_at))  # type: ignore[arg-type]
        due_by_rep[assigned].append(facts)
        promises_by_day[dates.local_date(facts.due_at, tz)].append(facts)
    made_by_rep = dict(made)
    before_by_rep = {r: (s, n) for r, s, n in before}

    kinds_seen = Counter(row[1] for row in interactions)
    goal_kinds = {k for rep in people for k in book.goals_for(rep)}
    kinds = _order_kinds(set(kinds_seen) | goal_kinds)

    rep_figures = [
        _rep_figures(
            rep,
            by_rep.get(rep, []),
            due_by_rep.get(rep, []),
            made_by_rep.get(rep, 0),
            before_by_rep.get(rep),
            book.goals_for(rep),
            kinds,
            (first, last, work_days),
            now,
        )
        for rep in people
    ]
    team = _team_figures(rep_figures, interactions, due, before, kinds, now)

    # Activity per local day against the team's daily goals (every kind with one
    # together), on working days; weekly goals are not spread over days.
    members = set(people)
    per_day = metrics.activity_per_day(
        (row[3] for row in interactions if row[0] in members),
        first=first,
        last=last,
        tz=tz,
    )
    daily_kinds_of = {
        rep: {k for k, g in book.goals_for(rep).items() if g.per == "day"} for rep in people
    }
    toward = metrics.activity_per_day(
        (r[3] for r in interactions if r[0] in members and r[1] in daily_kinds_of[r[0]]),
        first=first,
        last=last,
        tz=tz,
    )
    daily_goal = _daily_goal(book, people)
    activity = [
        DayActivity(d, n, toward[d], daily_goal if d.weekday() in work_days else None)
        for d, n in per_day.items()
    ]

    scored = [(row[3], row[4]) for row in interactions if row[4] is not None and row[0] in members]
    trend = metrics.satisfaction_trend(scored, tz=tz)  # type: ignore[arg-type]
    (best, best_total), (worst, worst_total) = _voices(ws, interactions, members)
    quiet, hygiene = book_later.result()

    return DailyReport(
        first=first,
        last=last,
        generated_at=now,
        timezone=str(getattr(tz, "key", tz)),
        scope=scope or ("all reps" if reps is None else ", ".join(reps)),
        reps=rep_figures,
        team=team,
        kinds=kinds,
        activity_by_day=activity,
        satisfaction_by_day=trend,
        promises_by_day={
            d: metrics.promise_keeping(f, now=now) for d, f in sorted(promises_by_day.items())
        },
        best=best,
        worst=worst,
        quiet=quiet[:QUIET_ROWS],
        quiet_total=len(quiet),
        hygiene=hygiene,
        # Goals set for these reps (or for everyone, when no rep was active), whether or
        # not they count in this period (a Saturday, a weekly goal on a day).
        goals_set=any(book.goals_for(r) for r in people)
        or (reps is None and bool(book.defaults or any(t.goals for t in book.teams.values()))),
        as_of=now,
        work_days=work_days,
        best_total=best_total,
        worst_total=worst_total,
    )


_KIND_ORDER = ["call", "visit", "meeting", "email", "message", "note"]


def _order_kinds(kinds: set[str]) -> list[str]:
    known = [k for k in _KIND_ORDER if k in kinds]
    return known + sorted(kinds - set(_KIND_ORDER))


def _rep_figures(  # noqa: PLR0917
    rep: str,
    rows: list[Any],
    due: list[metrics.FollowUpFacts],
    made: int,
    before: tuple[int, int] | None,
    rep_goals: dict[str, goals_service.Goal],
    kinds: list[str],
    period: tuple[date, date, frozenset[int]],
    now: datetime,
) -> RepFigures:
    by_kind = Counter(r[1] for r in rows)
    by_outcome = Counter(r[2] or "(none)" for r in rows)
    scores = [r[4] for r in rows if r[4] is not None]
    lines = []
    for kind in kinds:
        goal = rep_goals.get(kind)
        target = metrics.goal_for_period(goal.count, goal.per, *period) if goal else None
        if target is not None or by_kind.get(kind):
            lines.append(metrics.GoalProgress(kind=kind, done=by_kind.get(kind, 0), goal=target))
    return RepFigures(
        rep=rep,
        interactions=len(rows),
        by_kind=dict(by_kind),
        by_outcome=dict(by_outcome.most_common()),
        goals=lines,
        followups_made=made,
        promises=metrics.promise_keeping(due, now=now),
        satisfaction=metrics.average(scores),
        scored=len(scores),
        satisfaction_before=(before[0] / before[1]) if before and before[1] else None,
    )


def _team_figures(  # noqa: PLR0917
    reps: list[RepFigures],
    interactions: Sequence[Any],
    due: Sequence[Any],
    before: Sequence[Any],
    kinds: list[str],
    now: datetime,
) -> RepFigures:
    members = {r.rep for r in reps}
    rows = [r for r in interactions if r[0] in members]
    by_kind = Counter(r[1] for r in rows)
    by_outcome = Counter(r[2] or "(none)" for r in rows)
    lines = []
    for kind in kinds:
        # A team goal for a kind only when every member has one: otherwise the team's
        # count would be set against part of the team's goal.
        goals = [g.goal for r in reps for g in r.goals if g.kind == kind and g.goal is not None]
        target = sum(goals) if goals and len(goals) == len(reps) else None
        if target is not None or by_kind.get(kind):
            lines.append(metrics.GoalProgress(kind=kind, done=by_kind.get(kind, 0), goal=target))
    scores = [r[4] for r in rows if r[4] is not None]
    total_before = sum(s for rep, s, _ in before if rep in members)
    count_before = sum(n for rep, _, n in before if rep in members)
    return RepFigures(
        rep="team",
        interactions=len(rows),
        by_kind=dict(by_kind),
        by_outcome=dict(by_outcome.most_common()),
        goals=lines,
        followups_made=sum(r.followups_made for r in reps),
        promises=metrics.PromiseStats(
            kept=sum(r.promises.kept for r in reps),
            late=sum(r.promises.late for r in reps),
            overdue=sum(r.promises.overdue for r in reps),
            open=sum(r.promises.open for r in reps),
            cancelled=sum(r.promises.cancelled for r in reps),
        ),
        satisfaction=metrics.average(scores),
        scored=len(scores),
        satisfaction_before=total_before / count_before if count_before else None,
    )


def _daily_goal(book: goals_service.GoalBook, people: Sequence[str]) -> float | None:
    """The reps' daily goals of one working day, every kind together (weekly goals are
    not spread over days)."""
    daily = [g.count for rep in people for g in book.goals_for(rep).values() if g.per == "day"]
    return float(sum(daily)) if daily else None


def _voices(
    ws: Workspace, interactions: Sequence[Any], people: set[str]
) -> tuple[tuple[list[Voice], int], tuple[list[Voice], int]]:
    """The best and the worst scored interactions that carry the customer's words, each
    with how many there were before the cut."""
    with_words = [
        row
        for row in interactions
        if row[4] is not None and row[0] in people and row[5] and not row[5].isspace()
    ]
    # Best: the happiest (4 or 5), worst: the unhappiest (1 or 2), newest first among
    # equals; only the few shown become Voices (a week of a big team has thousands).
    best_rows = heapq.nsmallest(
        VOICES,
        (row for row in with_words if row[4] >= BEST_FROM),
        key=lambda row: (-row[4], -row[3].timestamp()),
    )
    worst_rows = heapq.nsmallest(
        VOICES,
        (row for row in with_words if row[4] <= WORST_FROM),
        key=lambda row: (row[4], -row[3].timestamp()),
    )
    best, worst = (
        [
            Voice(
                occurred_at=row[3],
                customer_id=row[6],
                customer="",
                rep=row[0],
                kind=row[1],
                score=row[4],
                words=" ".join(row[5].split()),
            )
            for row in rows
        ]
        for rows in (best_rows, worst_rows)
    )
    # Customer names for the few shown, rather than a join on every interaction.
    ids = list({v.customer_id for v in [*best, *worst]})
    names: dict[str, str] = {}
    if ids:
        with ws.read() as session:
            names = customer_queries.names_by_id(session, ids)
    best_total = sum(1 for row in with_words if row[4] >= BEST_FROM)
    worst_total = sum(1 for row in with_words if row[4] <= WORST_FROM)
    return (
        ([replace(v, customer=names.get(v.customer_id, "")) for v in best], best_total),
        ([replace(v, customer=names.get(v.customer_id, "")) for v in worst], worst_total),
    )


# --- the customer book: going quiet and data hygiene ------------------------------

# One pass over the live customers gives both book-wide sections (the same going-quiet
# facts insights.going_quiet reads, so the watch list of today is the Today view's).


def book_health(
    ws: Workspace, reps: Sequence[str] | None, *, now: datetime, rows: int | None = None
) -> tuple[list[QuietCustomer], Hygiene]:
    """The customers of ``reps`` (everyone's when None) going quiet, the longest silent
    first, and the hygiene of the active and prospect profiles, the worst first; all as
    they stood at ``now`` (a past moment for a past period's report)."""
    tz = ws.tz
    quiet_after = ws.settings.quiet_after_days
    as_of = to_utc_text(now)
    owners = set(reps) if reps is not None else None
    # A few owners: their customers through the owner index; a big team owns most of
    # the book, which one sequential scan reads faster.
    by_owner = reps if reps is not None and len(reps) <= BOOK_OWNER_INDEX else None
    # Completeness is decided by eight booleans (metrics.completeness_of): the two that
    # depend on time are compared as fixed-width UTC text, which sorts as time.
    scored_from = to_utc_text(metrics.scored_since(now))
    stale_from = to_utc_text(metrics.stale_before(now))
    # A customer touched on or after this local day is not silent, and is on the watch
    # list only when its satisfaction is falling (most of a book is neither), which the
    # stored text and its newest scores tell without parsing a date.
    recent_day = dates.local_date(now, tz) - timedelta(days=quiet_after)
    recent_from = to_utc_text(dates.local_range_bounds(recent_day, recent_day, tz)[0])
    enough_to_fall = 2 * metrics.SATISFACTION_WINDOW
    shown = HYGIENE_ROWS if rows is None else rows
    quiet: list[QuietCustomer] = []
    # The profiles by the eight booleans that decide their completeness (a few hundred
    # sets at most): how many have each, and the first ``shown`` of each by name and id
    # (the worst lines can only be among those).
    counts: Counter[tuple[bool, ...]] = Counter()
    firsts: dict[tuple[bool, ...], list[watch_list.BookRow]] = {}
    active = CustomerStatus.ACTIVE
    with ws.read() as session:
        # 100,000 customers: the driver's rows, not SQLAlchemy's, cost a second less.
        chunks = watch_list.book_rows(
            driver_connection(session), as_of=as_of, scored_since=scored_from, owners=by_owner
        )
        for chunk in chunks:
            profiles: defaultdict[tuple[bool, ...], list[watch_list.BookRow]] = defaultdict(list)
            for row in chunk:
                if owners is not None and row.owner not in owners:
                    continue
                if row.status == active and (
                    row.last_touch is None
                    or row.last_touch < recent_from
                    or (len(row.scores) >= enough_to_fall and metrics.falling_of(tuple(row.scores)))
                ):
                    on_list = quiet_customer(
                        row.customer_id,
                        row.name,
                        row.owner,
                        last_touch=_utc(row.last_touch),
                        scores_newest_first=row.scores,
                        now=now,
                        tz=tz,
                        quiet_after_days=quiet_after,
                    )
                    if on_list is not None:
                        quiet.append(on_list)
                profiles[
                    row.has_contact,
                    row.reachable,
                    row.industry,
                    bool(row.owner),
                    bool(row.status),
                    row.has_address,
                    row.scored_since,
                    row.last_change is None or row.last_change < stale_from,
                ].append(row)
            for key, found in profiles.items():
                counts[key] += len(found)
                result = metrics.completeness_of(key[:-1], stale=key[-1])
                if result.missing or result.stale:
                    firsts[key] = heapq.nsmallest(
                        shown, [*firsts.get(key, ()), *found], key=_BY_NAME
                    )
    longest_silent_first(quiet)
    return quiet, _hygiene(counts, firsts, shown)


_BY_NAME = itemgetter(1, 0)  # a BookRow's name, then its id


def _hygiene(
    counts: Counter[tuple[bool, ...]], firsts: dict[tuple[bool, ...], list[Any]], shown: int
) -> Hygiene:
    """The hygiene section from how many profiles have each set of the booleans that
    decide completeness (the seven items present, then stale) and, for the flagged
    sets, their first ``shown`` rows by name; its worst ``shown`` lines."""
    results = {key: metrics.completeness_of(key[:-1], stale=key[-1]) for key in counts}
    checked = counts.total()
    # The flagged sets by their place in the list (the lowest percent first, the stale
    # before the others); within a place, by name and id.
    places: defaultdict[tuple[int, bool], list[tuple[metrics.Completeness, Any]]] = defaultdict(
        list
    )
    for key, found in firsts.items():
        result = results[key]
        places[result.percent, not result.stale].extend((result, row) for row in found)
    worst: list[HygieneLine] = []
    for place in sorted(places):
        if len(worst) >= shown:
            break
        for result, row in heapq.nsmallest(
            shown - len(worst), places[place], key=lambda pair: _BY_NAME(pair[1])
        ):
            worst.append(
                HygieneLine(
                    customer_id=row.customer_id,
                    customer=row.name,
                    owner=row.owner,
                    status=row.status,
                    percent=result.percent,
                    missing=result.missing,
                    stale=result.stale,
                    last_confirmed=_utc(row.last_change),
                )
            )
    percent_sum = sum(result.percent * counts[key] for key, result in results.items())
    return Hygiene(
        checked=checked,
        incomplete=sum(counts[key] for key, result in results.items() if result.missing),
        stale=sum(counts[key] for key, result in results.items() if result.stale),
        average_percent=half_up_int(percent_sum / checked) if checked else None,
        worst=worst,
        flagged=sum(
            counts[key] for key, result in results.items() if result.missing or result.stale
        ),
    )
