"""Goals on working days, reps by display name, cut lists that keep their count.

The team's Tuesday of tests/reports/conftest.py: Tue 2026-11-17 in Europe/Berlin, a
default goal of 4 calls a day, Maria's 7 visits a week.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from touchpoint.errors import ValidationError
from touchpoint.policy import load_policy
from touchpoint.services import customers, goals, reports
from touchpoint.settings import Settings
from touchpoint.storage.workspace import Workspace

MARIA, TOM, IDA = "maria@example.com", "tom@example.com", "ida@example.com"
TUESDAY = date(2026, 11, 17)
SATURDAY = date(2026, 11, 21)
WEEK = (date(2026, 11, 16), date(2026, 11, 22))


def goal_of(report: reports.DailyReport, rep: str, kind: str) -> float | None:
    figures = next(r for r in report.reps if r.rep == rep)
    return next((g.goal for g in figures.goals if g.kind == kind), None)


def test_a_daily_goal_counts_on_working_days_only(team: Workspace) -> None:
    goals.set_goal(team, kind="call", count=30, per="day", rep=MARIA)
    week = reports.daily_report(team, *WEEK, reps=[MARIA])
    assert goal_of(week, MARIA, "call") == 150  # five working days, not seven (210)
    saturday = reports.daily_report(team, SATURDAY, SATURDAY, reps=[MARIA])
    assert goal_of(saturday, MARIA, "call") is None  # no goal, never "-100 %"
    assert saturday.activity_by_day[0].goal is None
    from touchpoint.reports.html import report_html

    page = report_html(saturday)
    assert "no goal: not a working day" in page and "−100%" not in page
    tuesday = reports.daily_report(team, TUESDAY, TUESDAY, reps=[MARIA])
    assert goal_of(tuesday, MARIA, "call") == 30


def test_a_weekly_goal_is_never_spread_over_days(team: Workspace) -> None:
    friday = date(2026, 11, 20)
    day = reports.daily_report(team, friday, friday, reps=[MARIA])
    assert goal_of(day, MARIA, "visit") is None  # never 7 / 7 = 1, nor 3.57
    week = reports.daily_report(team, *WEEK, reps=[MARIA])
    assert goal_of(week, MARIA, "visit") == 7
    # The day line of the week chart has the daily goals only (4 calls), never 1 visit.
    assert {d.goal for d in week.activity_by_day} == {4, None}


def test_the_work_week_from_the_goals_file_and_the_policy(
    team: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = goals.goals_path(team)
    path.write_text(
        'work_days = ["mon", "tue", "wed", "thu", "fri", "sat"]\n' + path.read_text("utf-8"),
        encoding="utf-8",
    )
    book = goals.load_goals(team)
    assert book.work_days == frozenset(range(6))
    assert goals.load_goals(team) == goals.read_goals_file(path)
    goals.save_goals(team, book)  # written back as it was read
    assert goals.load_goals(team) == book
    saturday = reports.daily_report(team, SATURDAY, SATURDAY, reps=[TOM])
    assert goal_of(saturday, TOM, "call") == 4
    assert goal_of(reports.daily_report(team, *WEEK, reps=[TOM]), TOM, "call") == 24

    # The machine policy beats the goals file.
    policy = tmp_path / "policy.toml"
    policy.write_text('[reports]\nwork_days = ["tue", "wed", "thu"]\n', encoding="utf-8")
    team.policy = load_policy(policy)
    assert team.policy.status == "loaded"
    assert goal_of(reports.daily_report(team, SATURDAY, SATURDAY, reps=[TOM]), TOM, "call") is None
    assert goal_of(reports.daily_report(team, *WEEK, reps=[TOM]), TOM, "call") == 12

    bad = tmp_path / "bad.toml"
    bad.write_text('[reports]\nwork_days = ["mon", "funday"]\n', encoding="utf-8")
    assert load_policy(bad).status == "invalid" and "funday" in (load_policy(bad).problem or "")


def test_a_bad_work_week_in_the_goals_file_names_the_key(team: Workspace) -> None:
    path = goals.goals_path(team)
    path.write_text('work_days = ["someday"]\n', encoding="utf-8")
    with pytest.raises(ValidationError) as bad:
        goals.load_goals(team)
    assert bad.value.field.endswith("work_days") and "someday" in bad.value.problem


def test_reps_show_by_display_name(team: Workspace) -> None:
    path = goals.goals_path(team)
    path.write_text('[names]\n"Tom@Example.com" = "Tom Brandt"\n' + path.read_text("utf-8"))
    goals.set_goal(team, kind="note", count=1, per="day", rep=IDA)  # rewrites the file
    assert goals.load_goals(team).names == {TOM: "Tom Brandt"}  # kept, the email lower-cased
    team.settings = replace(team.settings, display_name="Maria Lopez")  # the laptop's own
    report = reports.daily_report(team, TUESDAY, TUESDAY, reps=[MARIA, TOM, IDA])
    assert report.names == {MARIA: "Maria Lopez", TOM: "Tom Brandt", IDA: "Ida"}
    assert [report.display(r.rep) for r in report.reps] == ["Maria Lopez", "Tom Brandt", "Ida"]
    assert report.display("team") == "Team" and report.display(None) == "(no owner)"
    one = reports.daily_report(team, TUESDAY, TUESDAY, reps=[TOM], scope=TOM)
    assert one.scope == "Tom Brandt"  # the title names the rep
    assert goals.name_from_email("maria.keller@northwind-sales.example") == "Maria Keller"
    assert goals.name_from_email("root") == "root"


def test_a_laptop_without_an_email_never_signs_as_the_os_login() -> None:
    import getpass

    assert Settings().author() == "me"
    assert Settings().author() != getpass.getuser() or getpass.getuser() == "me"
    assert Settings(user=" maria@example.com ").author() == MARIA


def test_goals_set_by_email_match_the_laptops_rep(team: Workspace) -> None:
    # The laptop's user is the email given at first run: goals keyed by it apply.
    assert team.author == MARIA
    report = reports.daily_report(team, TUESDAY, TUESDAY)
    assert goal_of(report, team.author, "call") == 4


def test_cut_lists_keep_their_full_count(team: Workspace, monkeypatch) -> None:
    for n in range(5):
        customers.create_customer(team, {"name": f"Bare {n}", "status": "active", "owner": IDA})
    monkeypatch.setattr(reports, "HYGIENE_ROWS", 2)
    monkeypatch.setattr(reports, "QUIET_ROWS", 3)
    today = date(2026, 11, 18)  # the five came today
    report = reports.daily_report(team, today, today, reps=[MARIA, TOM, IDA])
    # Acme (no address), the =HYPERLINK one, Quiet KG and the five bare ones.
    assert report.hygiene.incomplete == report.hygiene.flagged == 8
    assert len(report.hygiene.worst) == 2 and report.hygiene.more == 6
    assert len(report.quiet) == 3 and report.quiet_total == 6  # Quiet KG and the five
    assert report.quiet_more == 3
    tuesday = reports.daily_report(team, TUESDAY, TUESDAY)
    assert (tuesday.best_total, len(tuesday.best), tuesday.worst_total) == (1, 1, 1)
