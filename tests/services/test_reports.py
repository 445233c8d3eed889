"""The daily report's figures against a small dataset worked out by hand.

The clock stands at Wed 2026-11-18 09:30 UTC; the user is in Europe/Berlin (UTC+1),
so "yesterday" is the local day Tue 2026-11-17, from 2026-11-16 23:00 UTC to
2026-11-17 23:00 UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from touchpoint.errors import ValidationError
from touchpoint.services import customers, followups, goals, reports
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace

MARIA = "maria@example.com"
TOM = "tom@example.com"
IDA = "ida@example.com"  # in the team, no activity at all
DAY = date(2026, 11, 17)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def logged(clock: Any, ws: Workspace, **fields: Any) -> Any:
    """Log an interaction as a rep does: a minute after it happened (never ahead of it)."""
    clock.current = fields["occurred_at"] + timedelta(minutes=1)
    return log_interaction(ws, **fields)


def as_rep(ws: Workspace, rep: str) -> None:
    ws.settings = replace(ws.settings, user=rep)


@pytest.fixture
def team(ws: Workspace, clock) -> Workspace:
    """Two working reps and an idle one; every figure below is counted by hand."""
    clock.current = utc(2026, 11, 16, 12, 0)
    acme = customers.create_customer(
        ws,
        {
            "name": "Acme GmbH",
            "status": "active",
            "owner": MARIA,
            "industry": "Machinery",
            "emails": ["info@acme.de"],
            "addresses": [{"label": "office", "street": "Hauptstr. 1", "city": "Berlin"}],
        },
    ).value
    customers.add_contact(ws, acme.id, {"name": "Jonas Weber"})
    bolt = customers.create_customer(
        ws, {"name": "Bolt AG", "status": "active", "owner": TOM}
    ).value
    customers.create_customer(ws, {"name": "Quiet KG", "status": "active", "owner": MARIA})
    customers.create_customer(ws, {"name": "Former Ltd", "status": "former", "owner": MARIA})

    as_rep(ws, MARIA)
    # The day before (Mon 16th, local): counts only for the satisfaction change.
    logged(
        clock,
        ws,
        customer=acme.id,
        kind="call",
        occurred_at=utc(2026, 11, 16, 10, 0),
        satisfaction=3,
    )
    # 00:30 local on the 17th is 23:30 UTC on the 16th: it belongs to the 17th.
    logged(
        clock,
        ws,
        customer=acme.id,
        kind="call",
        occurred_at=utc(2026, 11, 16, 23, 30),
        outcome="connected",
        satisfaction=5,
        feedback="Loved the demo,   really",
        followups=[
            FollowUpInput(title="Send quote", due=utc(2026, 11, 17, 16, 0)),
            FollowUpInput(title="Call back", due=utc(2026, 11, 17, 16, 0)),
            FollowUpInput(title="Book visit", due=utc(2026, 11, 17, 16, 0)),
        ],
    )
    logged(
        clock,
        ws,
        customer=acme.id,
        kind="visit",
        occurred_at=utc(2026, 11, 17, 9, 0),
        outcome="order",
        satisfaction=4,
    )
    # 23:30 local on the 17th (22:30 UTC): still the 17th.
    logged(
        clock,
        ws,
        customer=acme.id,
        kind="call",
        occurred_at=utc(2026, 11, 17, 22, 30),
        outcome="no answer",
    )
    as_rep(ws, TOM)
    logged(
        clock,
        ws,
        customer=bolt.id,
        kind="visit",
        occurred_at=utc(2026, 11, 17, 10, 0),
        satisfaction=2,
        feedback="Delivery was late again",
        followups=[FollowUpInput(title="Refund", due=utc(2026, 11, 17, 11, 0))],
    )
    # 00:30 local on Wed 18th (23:30 UTC on the 17th): not in Tuesday's report.
    logged(clock, ws, customer=bolt.id, kind="call", occurred_at=utc(2026, 11, 17, 23, 30))

    made = {f.title: f for f in followups.list_followups(ws, followups.FollowUpFilter(scope="all"))}
    # Kept at the exact due time, late by one second, the third left open (overdue).
    followups.complete_followup(ws, made["Send quote"].id, at=utc(2026, 11, 17, 16, 0))
    followups.complete_followup(ws, made["Call back"].id, at=utc(2026, 11, 17, 16, 0, 1))
    followups.cancel_followup(ws, made["Refund"].id)

    goals.set_goal(ws, kind="call", count=4, per="day")  # default for everyone
    goals.set_goal(ws, kind="visit", count=7, per="week", rep=MARIA)
    goals.add_team_members(ws, "north", [MARIA, TOM, IDA])
    clock.current = utc(2026, 11, 18, 9, 30)
    as_rep(ws, MARIA)
    return ws


def by_rep(report: reports.DailyReport) -> dict[str, reports.RepFigures]:
    return {r.rep: r for r in report.reps}


def test_period_is_yesterday_local_or_its_week(ws: Workspace) -> None:
    assert reports.report_period(ws) == (DAY, DAY)
    assert reports.report_period(ws, day="2026-11-18", week=True) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    with pytest.raises(ValidationError) as bad:
        reports.report_period(ws, day="someday")
    assert bad.value.field == "date"


def test_range_from_after_to_is_an_error(ws: Workspace) -> None:
    assert reports.parse_range(ws, "-2d", "yesterday") == (date(2026, 11, 16), DAY)
    with pytest.raises(ValidationError) as bad:
        reports.parse_range(ws, "2026-11-18", "2026-11-17")
    assert bad.value.field == "from"
    assert "after" in bad.value.problem


def test_interactions_by_kind_against_goal(team: Workspace) -> None:
    members = goals.resolve_reps(team, team="north")
    report = reports.daily_report(team, DAY, DAY, reps=members, scope="team north")
    reps = by_rep(report)
    assert list(reps) == [MARIA, TOM, IDA]
    maria, tom, ida = reps[MARIA], reps[TOM], reps[IDA]
    assert maria.interactions == 3  # 00:30 call, visit, 23:30 call
    assert maria.by_kind == {"call": 2, "visit": 1}
    assert maria.by_outcome == {"connected": 1, "order": 1, "no answer": 1}
    lines = {g.kind: g for g in maria.goals}
    assert lines["call"].goal == 4 and lines["call"].percent == 50.0
    assert lines["call"].over_under == -50.0
    # A weekly goal is not spread over days: a day's report has no visit goal.
    assert lines["visit"].goal is None and lines["visit"].done == 1
    assert tom.by_kind == {"visit": 1}  # his 00:30 call on the 18th is not Tuesday's
    assert {g.kind: (g.done, g.goal) for g in tom.goals} == {"call": (0, 4), "visit": (1, None)}
    assert ida.interactions == 0 and ida.by_kind == {}
    assert {g.kind: g.percent for g in ida.goals} == {"call": 0.0}
    team_lines = {g.kind: g for g in report.team.goals}
    assert team_lines["call"].done == 2 and team_lines["call"].goal == 12
    assert team_lines["visit"].done == 2 and team_lines["visit"].goal is None
    assert report.kinds == ["call", "visit"]
    # The day's goal line: the daily goals (3 reps x 4 calls); toward it, the kinds with a
    # daily goal (Maria's two calls; visits have a weekly goal or none).
    assert report.activity_by_day == [reports.DayActivity(DAY, 4, 2, pytest.approx(12.0))]


def test_promises_kept_at_due_time_late_a_second_after(team: Workspace) -> None:
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA])
    maria = by_rep(report)[MARIA].promises
    assert (maria.kept, maria.late, maria.overdue, maria.open) == (1, 1, 1, 0)
    assert maria.rate == pytest.approx(1 / 3)
    tom = by_rep(report)[TOM].promises
    assert (tom.due, tom.cancelled, tom.rate) == (0, 1, None)  # none due: no data, not 100%
    assert by_rep(report)[MARIA].followups_made == 3
    assert by_rep(report)[TOM].followups_made == 1
    assert report.team.promises.rate == pytest.approx(1 / 3)
    assert report.team.followups_made == 4
    day = report.promises_by_day[DAY]
    assert (day.kept, day.late, day.overdue) == (1, 1, 1)


def test_satisfaction_average_change_and_voices(team: Workspace) -> None:
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA])
    maria = by_rep(report)[MARIA]
    assert maria.satisfaction == pytest.approx(4.5) and maria.scored == 2
    assert maria.satisfaction_before == 3  # Monday's call
    assert maria.satisfaction_change == pytest.approx(1.5)
    assert by_rep(report)[TOM].satisfaction_change is None  # nothing scored before
    assert by_rep(report)[IDA].satisfaction is None
    assert report.team.satisfaction == pytest.approx((5 + 4 + 2) / 3)
    assert report.team.satisfaction_change == pytest.approx(11 / 3 - 3)
    assert [(v.customer, v.score, v.words) for v in report.best] == [
        ("Acme GmbH", 5, "Loved the demo, really")
    ]
    assert [(v.customer, v.rep, v.score) for v in report.worst] == [("Bolt AG", TOM, 2)]
    assert [(p.day, p.count) for p in report.satisfaction_by_day] == [(DAY, 3)]


def test_going_quiet_and_hygiene_with_owner(team: Workspace) -> None:
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA])
    quiet = {q.name: q for q in report.quiet}
    assert set(quiet) == {"Quiet KG"}  # active, never touched; Former Ltd is not active
    assert quiet["Quiet KG"].owner == MARIA and quiet["Quiet KG"].days is None
    hygiene = report.hygiene
    assert hygiene.checked == 3  # Acme, Bolt, Quiet (former customers are left out)
    lines = {h.customer: h for h in hygiene.worst}
    assert "Acme GmbH" not in lines  # all seven items filled
    assert lines["Bolt AG"].missing == (
        "a contact",
        "an email or phone",
        "industry",
        "an address",
    )
    assert lines["Bolt AG"].percent == 43  # 3 of 7: owner, status, a recent score
    assert lines["Quiet KG"].percent == 29  # owner and status only
    assert hygiene.incomplete == 2 and hygiene.stale == 0


def test_rep_with_no_activity_and_day_with_no_data(team: Workspace) -> None:
    report = reports.daily_report(team, date(2026, 11, 10), date(2026, 11, 10), reps=[IDA])
    assert [r.rep for r in report.reps] == [IDA]
    assert report.team.interactions == 0
    assert report.team.promises.rate is None
    assert report.team.satisfaction is None
    assert report.activity_by_day == [reports.DayActivity(date(2026, 11, 10), 0, 0, 4.0)]
    assert report.best == [] and report.worst == []


def test_week_counts_daily_goals_on_working_days_and_the_weekly_goal_once(
    team: Workspace,
) -> None:
    first, last = reports.report_period(team, day="2026-11-17", week=True)
    report = reports.daily_report(team, first, last, reps=[MARIA])
    maria = report.reps[0]
    # 4 calls a day on five working days (not seven); 7 visits a week, once.
    assert {g.kind: g.goal for g in maria.goals} == {"call": 20, "visit": 7}
    assert [d.interactions for d in report.activity_by_day] == [1, 3, 0, 0, 0, 0, 0]
    assert report.activity_by_day[0].day == date(2026, 11, 16)
    # The day's goal line: 4 calls Monday to Friday, none at the weekend.
    assert [d.goal for d in report.activity_by_day] == [4, 4, 4, 4, 4, None, None]


def test_everyone_when_no_rep_or_team(team: Workspace) -> None:
    report = reports.daily_report(team, DAY, DAY)
    assert [r.rep for r in report.reps] == [MARIA, TOM]  # seen in the data or with own goals


def test_unknown_rep_or_team_is_an_error(team: Workspace) -> None:
    with pytest.raises(ValidationError) as bad:
        goals.resolve_reps(team, rep="nobody@example.com")
    assert bad.value.field == "rep"
    with pytest.raises(ValidationError) as bad:
        goals.resolve_reps(team, team="south")
    assert bad.value.field == "team" and "north" in bad.value.problem
    assert goals.resolve_reps(team, rep=TOM) == [TOM]


def test_goals_file_round_trip_and_precedence(ws: Workspace) -> None:
    goals.set_goal(ws, kind="call", count=20, per="day")
    goals.set_goal(ws, kind="visit", count=6, per="week")
    goals.add_team_members(ws, "north", [MARIA, "Tom@Example.com"])
    goals.set_goal(ws, kind="visit", count=8, per="week", team="north")
    goals.set_goal(ws, kind="call", count=25.5, per="day", rep=MARIA)
    book = goals.load_goals(ws)
    assert book.teams["north"].members == (MARIA, TOM)
    assert book.goals_for(MARIA)["call"].count == 25.5
    assert book.goals_for(MARIA)["visit"].count == 8  # the team's
    assert book.goals_for(TOM)["call"].count == 20  # the default
    assert book.goals_for("x@example.com")["visit"].count == 6
    with pytest.raises(ValidationError):
        goals.set_goal(ws, kind="call", count=3, per="fortnight")
    with pytest.raises(ValidationError):
        goals.set_goal(ws, kind="call", count="many", per="day")
    with pytest.raises(ValidationError):
        goals.set_goal(ws, kind="call", count=3, per="day", team="nowhere")
    assert goals.load_goals(ws) == book  # the failed calls wrote nothing


def test_watch_list_is_the_today_views(team: Workspace, clock) -> None:
    from touchpoint.services import insights

    clock.advance(days=40)  # everyone silent for over 30 days now
    today = reports.parse_range(team, "today", "today")[0]
    report = reports.daily_report(team, today, today, reps=[MARIA, TOM])
    expected = insights.going_quiet(team, limit=None)
    assert report.quiet == [q for q in expected if q.owner in (MARIA, TOM)]
    assert {q.name for q in report.quiet} == {"Acme GmbH", "Bolt AG", "Quiet KG"}


def test_watch_list_at_the_silence_boundary_and_with_falling_scores(ws: Workspace, clock) -> None:
    """Silent means more than 30 local days: a touch at 00:00 Berlin 30 days ago keeps a
    customer off the list, one a second before puts them on; six scores that fall put a
    customer touched yesterday on it too."""
    from touchpoint.services import insights

    clock.current = utc(2026, 10, 1, 12, 0)
    names = ("Edge Kept", "Edge Lost", "Falling Fine", "Steady Fine")
    made = {
        name: customers.create_customer(ws, {"name": name, "status": "active"}).value.id
        for name in names
    }
    clock.current = utc(2026, 11, 18, 9, 30)  # the touches below are logged afterwards
    # 2026-10-19 00:00 in Berlin (UTC+2 until the 25th) is 2026-10-18 22:00 UTC.
    log_interaction(ws, customer=made["Edge Kept"], kind="call", occurred_at=utc(2026, 10, 18, 22))
    log_interaction(
        ws, customer=made["Edge Lost"], kind="call", occurred_at=utc(2026, 10, 18, 21, 59, 59)
    )
    for day, score in enumerate((5, 5, 5, 2, 2, 2), start=10):
        for name, falling in (("Falling Fine", score), ("Steady Fine", 4)):
            log_interaction(
                ws,
                customer=made[name],
                kind="call",
                occurred_at=utc(2026, 11, day, 9),
                satisfaction=falling,
            )
    clock.current = utc(2026, 11, 18, 9, 30)
    report = reports.daily_report(ws, DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert {q.name: q.reason for q in report.quiet} == {
        "Edge Lost": "no touch for 31 days",
        "Falling Fine": "satisfaction falling",
    }
    assert report.quiet == insights.going_quiet(ws, limit=None)


def test_promises_made_count_by_the_interaction_they_were_made_in(
    team: Workspace, clock: Any
) -> None:
    """A promise counts on the day of the interaction it was made in, whenever it was
    typed in; one made on its own on the day it was created; a deleted one never."""
    from touchpoint.storage.models import FollowUp, Interaction

    with team.read() as session:
        visits = session.query(Interaction).filter(Interaction.kind == "visit").all()
        tom_visit = next(i for i in visits if i.rep == TOM)  # Tue 17th
        monday_call = session.query(Interaction).filter(Interaction.satisfaction == 3).one()
        bolt_id = tom_visit.customer_id

    def promise(
        at: datetime, assigned: str, interaction: str | None, deleted: bool = False
    ) -> None:
        clock.current = at
        with team.unit_of_work() as uow:
            uow.session.add(
                FollowUp(
                    customer_id=bolt_id,
                    interaction_id=interaction,
                    title="promise",
                    due_at=utc(2026, 11, 30, 9),
                    assigned_to=assigned,
                    deleted_at=at if deleted else None,
                )
            )
            uow.commit()

    promise(utc(2026, 11, 17, 12), TOM, None)  # on its own, on the day: counts
    promise(utc(2026, 11, 16, 22, 59), TOM, None)  # on its own, 23:59 local Monday
    promise(utc(2026, 11, 17, 13), TOM, None, deleted=True)
    promise(utc(2026, 11, 17, 14), MARIA, monday_call.id)  # typed Tuesday, made Monday
    promise(utc(2026, 11, 18, 8), IDA, tom_visit.id)  # typed Wednesday, made Tuesday
    promise(utc(2026, 11, 18, 8), "zed@example.com", tom_visit.id)  # not in the team
    clock.current = utc(2026, 11, 18, 9, 30)

    team_report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA])
    made = {r.rep: r.followups_made for r in team_report.reps}
    assert made == {MARIA: 3, TOM: 2, IDA: 1}
    assert team_report.team.followups_made == 6
    everyone = reports.daily_report(team, DAY, DAY)
    assert {r.rep: r.followups_made for r in everyone.reps}["zed@example.com"] == 1

    # The same figure worked out from every follow-up, one by one.
    start, end = utc(2026, 11, 16, 23), utc(2026, 11, 17, 23)
    with team.read() as session:
        happened = {i.id: i.occurred_at for i in session.query(Interaction)}
        counted: dict[str, int] = {}
        for f in session.query(FollowUp).filter(FollowUp.deleted_at.is_(None)):
            at = happened[f.interaction_id] if f.interaction_id else f.created_at
            if start <= at < end:
                counted[f.assigned_to] = counted.get(f.assigned_to, 0) + 1
    assert {r.rep: r.followups_made for r in everyone.reps if r.followups_made} == counted
