"""Managers' pages in a real browser: the team dashboard (the daily report's figures for
a team and a period, as `touchpoint-hub report` computes them), its CSV, and the
customer 360, each limited to the viewer's teams."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import http_client, sign_in
from harness import Clock, HubServer, Laptop

from touchpoint.hub import report_cli
from touchpoint.hub.console.figures import period_of
from touchpoint.reports import format as fmt
from touchpoint.services import customers, followups, goals, interactions, reports
from touchpoint.services.interactions import FollowUpInput

GOALS = """
[names]
"maria@example.com" = "Maria Keller"
"ben@example.com" = "Ben Ott"
[defaults]
visit = { count = 2, per = "day" }
"""


@pytest.fixture
def goals_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "goals.toml"
    path.write_text(GOALS, "utf-8")
    monkeypatch.setenv("TOUCHPOINT_HUB_GOALS", str(path))  # read when the Hub starts
    return path


@pytest.fixture
def book(goals_file: Path, hub: HubServer, tmp_path: Path) -> Any:
    """Two north reps' and one south rep's week, synced to the Hub."""
    # Everything happens within a minute of the Hub's now (pinned midweek at noon by the
    # hub fixture): this day and this week, as its pages count them, hold all of it.
    clock = Clock(hub.now())
    now = clock()
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    sara = Laptop(tmp_path / "sara", "sara@example.com", clock, hub)
    acme = customers.create_customer(
        maria.ws, {"name": "Acme GmbH", "status": "active", "industry": "Machinery"}
    ).value.id
    customers.add_contact(maria.ws, acme, {"name": "Hans Weber", "title": "Head of buying"})
    for seconds, score, words in ((50, 4, "Quick answers, thank you"), (20, 2, None)):
        interactions.log_interaction(
            maria.ws,
            customer=acme,
            kind="visit",
            occurred_at=now - timedelta(seconds=seconds),
            satisfaction=score,
            feedback=words or "Delivery was late again",
            notes="Walked the new line",
        )
    logged = interactions.log_interaction(
        maria.ws,
        customer=acme,
        kind="call",
        occurred_at=now - timedelta(seconds=10),
        followups=[
            FollowUpInput("Send the spare parts quote", now - timedelta(seconds=5)),  # overdue
            FollowUpInput("Call back about delivery", now + timedelta(seconds=30)),
        ],
    ).value
    done = next(f for f in logged.followups if f.title.startswith("Call back"))
    followups.complete_followup(maria.ws, done.id)  # kept: done before it was due
    quiet = customers.create_customer(maria.ws, {"name": "Silent Sägewerk", "status": "active"})
    interactions.log_interaction(
        maria.ws, customer=quiet.value.id, kind="call", occurred_at=now - timedelta(days=45)
    )
    beta = customers.create_customer(ben.ws, {"name": "Beta AG", "status": "active"}).value.id
    interactions.log_interaction(
        ben.ws, customer=beta, kind="visit", occurred_at=now - timedelta(seconds=30),
        satisfaction=5, feedback="Best service we have had",
    )  # fmt: skip
    gamma = customers.create_customer(sara.ws, {"name": "Gamma SRL", "status": "active"}).value.id
    interactions.log_interaction(
        sara.ws, customer=gamma, kind="visit", satisfaction=1, feedback="South's secret words"
    )
    for laptop in (maria, ben, sara):
        assert laptop.sync().in_sync
    yield {"acme": acme, "beta": beta, "gamma": gamma, "quiet": quiet.value.id}
    for laptop in (maria, ben, sara):
        laptop.close()


def table_rows(page: Any, label: str) -> list[list[str]]:
    rows = page.get_by_role("region", name=label).locator("tbody tr").all()
    return [[c.inner_text().strip() for c in r.locator("th, td").all()] for r in rows]


def test_the_dashboard_shows_the_team_report_s_figures(
    signed_in: Any, hub: HubServer, book: dict[str, str], goals_file: Path, tmp_path: Path
) -> None:
    page = signed_in("tom@example.com")
    answer = page.goto("/dashboard")
    assert answer.status == 200
    assert page.get_by_role("heading", name="Team north").is_visible()

    # The same figures as `touchpoint-hub report daily --team north --week` computes.
    ws, members = report_cli._replica(hub.db_url, tmp_path / "report-replica", "north", None)
    ws.clock = hub.now  # the Hub's today, as its pages count it
    with ws:
        week = period_of("week", reports.report_period(ws, day="today")[0])
        expected = reports.daily_report(
            ws, week.first, week.last, reps=members, book=goals.read_goals_file(goals_file)
        )
    rows = {r[0].splitlines()[0]: r for r in table_rows(page, "Activity by rep")}
    assert set(rows) == {expected.display(r.rep) for r in expected.reps}
    assert "Maria Keller" in rows and "Ben Ott" in rows  # display names, never emails alone
    assert not any("sara" in name.lower() for name in rows)  # south is not Tom's team
    kinds = expected.kinds
    for rep in expected.reps:
        cells = rows[expected.display(rep.rep)]
        assert cells[1] == str(rep.interactions)
        promises = cells[2 + len(kinds) : 2 + len(kinds) + 4]
        assert promises == [
            str(rep.promises.kept),
            str(rep.promises.late),
            str(rep.promises.overdue),
            fmt.rate(rep.promises),
        ]
        assert cells[6 + len(kinds)] == fmt.score(rep.satisfaction)
        by_kind = {g.kind: g for g in rep.goals}
        visit = cells[2 + kinds.index("visit")]
        assert visit.startswith(f"{by_kind['visit'].done} / ")
        assert fmt.percent(by_kind["visit"].percent) in visit
    maria = rows["Maria Keller"]
    assert maria[1] == "3" and maria[2 + len(kinds) : 5 + len(kinds)] == ["1", "0", "1"]
    assert maria[6 + len(kinds)] == "3.0"  # (4 + 2) / 2
    team = [c.inner_text() for c in page.locator("tfoot tr th, tfoot tr td").all()]
    assert team[0] == "Team" and team[1] == str(expected.team.interactions)
    assert team[2 + len(kinds) + 3] == fmt.rate(expected.team.promises)
    assert team[6 + len(kinds)] == fmt.score(expected.team.satisfaction)
    glance = page.get_by_role("region", name="The team at a glance").inner_text()
    assert fmt.rate(expected.team.promises) in glance
    assert f"{expected.quiet_total}\ncustomers going quiet" in glance
    hygiene = expected.hygiene
    assert (
        f"{fmt.percent(hygiene.average_percent)}\nprofiles complete on average; "
        f"{hygiene.incomplete} of {hygiene.checked} miss a key item, {hygiene.stale} stale"
    ) in glance

    quiet = table_rows(page, "Customers going quiet")
    assert len(quiet) == expected.quiet_total == 1
    assert quiet[0][0] == "Silent Sägewerk" and quiet[0][1] == "Maria Keller"
    assert quiet[0][3] == "45"
    assert re.match(r"\w{3} \d{1,2} \w{3} \d{4}$", quiet[0][2])  # a day as people read it

    # Charts are SVG with their figures in words; no inline style or script anywhere.
    assert page.locator("figure.chart svg").count() == 2
    assert "Interactions a day" in page.locator("figure.chart").first.inner_text()
    assert page.locator("[style]").count() == 0
    assert page.locator("script:not([src])").count() == 0

    # Last week and this month are the same report over other days.
    page.get_by_label("Period").select_option("last-week")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile("period=last-week"))
    rows = {r[0].splitlines()[0]: r for r in table_rows(page, "Activity by rep")}
    assert all(r[1] == "0" for r in rows.values())
    assert page.goto("/dashboard?team=north&period=month").status == 200


def test_the_dashboard_table_downloads_as_csv(
    signed_in: Any, hub: HubServer, book: dict[str, str]
) -> None:
    page = signed_in("tom@example.com")
    answer = page.request.get("/dashboard.csv?team=north&period=week")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(answer.text())))
    assert lines[0][:3] == ["Rep", "Email", "Interactions"]
    by_email = {line[1]: line for line in lines[1:]}
    assert by_email["maria@example.com"][0] == "Maria Keller"
    assert by_email["maria@example.com"][2] == "3"
    assert lines[-1][0] == "Team" and lines[-1][2] == "4"
    assert "sara@example.com" not in answer.text()
    assert page.request.get("/dashboard.csv?team=south").status == 403


def test_each_role_sees_only_its_teams(
    signed_in: Any, hub: HubServer, book: dict[str, str]
) -> None:
    rep = signed_in("maria@example.com")
    for path in ("/dashboard", "/dashboard.csv?team=north", f"/customers/{book['acme']}"):
        assert rep.goto(path).status == 403, path  # a rep: not even their own customer here
    assert rep.get_by_role("link", name="Team dashboard").count() == 0

    tom = signed_in("tom@example.com")
    assert tom.get_by_role("link", name="Team dashboard").count() == 1
    assert tom.goto("/dashboard?team=south").status == 403
    other = tom.goto(f"/customers/{book['gamma']}")
    unknown = tom.goto("/customers/00000000-0000-0000-0000-000000000000")
    assert other.status == unknown.status == 403
    assert "South's secret words" not in tom.content()
    assert tom.goto("/customers/" + book["acme"] + "/edit").status == 403
    assert tom.get_by_label("Team").count() == 0  # one team: nothing to choose

    admin = signed_in("priya@example.com")
    admin.goto("/dashboard")
    assert admin.get_by_label("Team").locator("option").all_inner_texts() == ["north", "south"]
    admin.goto("/dashboard?team=south")
    rows = table_rows(admin, "Activity by rep")
    assert [r[0].splitlines()[0] for r in rows] == ["Sara"]
    assert admin.goto(f"/customers/{book['gamma']}").status == 200
    assert "South's secret words" in admin.content()


def test_the_customer_360_from_the_dashboard(
    signed_in: Any, hub: HubServer, book: dict[str, str]
) -> None:
    tom = signed_in("tom@example.com")
    tom.goto("/dashboard")
    tom.get_by_role("link", name="Silent Sägewerk").click()
    assert tom.get_by_role("heading", name="Silent Sägewerk").is_visible()
    assert "going quiet" in tom.get_by_role("region", name="At a glance").inner_text()

    tom.goto(f"/customers/{book['acme']}")
    assert tom.get_by_role("heading", name="Acme GmbH", exact=True).is_visible()
    glance = tom.get_by_role("region", name="At a glance").inner_text()
    assert "3.0\nsatisfaction, last three scores" in glance  # (4 + 2) / 2, half up
    assert "1 kept, 0 late, 1 overdue" in glance
    assert "Hans Weber" in table_rows(tom, "Contacts")[0][0]
    open_rows = table_rows(tom, "Open follow-ups")
    assert len(open_rows) == 1 and open_rows[0][0] == "Send the spare parts quote"
    assert open_rows[0][2] == "overdue" and open_rows[0][3] == "Maria Keller"
    items = tom.locator("ol.timeline > li").all_inner_texts()
    assert len(items) == 3
    assert items[0].startswith("Call ·")  # newest first
    assert "“Delivery was late again”" in items[1] and "satisfaction 2/5" in items[1]
    assert "“Quick answers, thank you”" in items[2]
    assert re.search(r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d", items[0])
    assert tom.locator("figure.chart svg").count() == 1


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_managers_pages(
    open_page: Any, hub: HubServer, book: dict[str, str], tmp_path: Path, scheme: str
) -> None:
    """The dashboard and a customer in light and dark, at desktop and tablet width, for a
    person to look at; checked here: the page never scrolls sideways, the theme holds."""
    import os

    out = Path(os.environ.get("TOUCHPOINT_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    for width in (1280, 768):
        page = open_page(scheme, width)
        sign_in(page, "tom@example.com")
        for name, path in (
            ("dashboard", "/dashboard"),
            ("dashboard-month", "/dashboard?period=month"),
            ("customer", f"/customers/{book['acme']}"),
        ):
            assert page.goto(path).status == 200
            shot = f"tom-{name}-{scheme}-{width}.png"
            page.screenshot(path=out / shot, full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, shot
            dark = page.evaluate("getComputedStyle(document.body).backgroundColor") == (
                "rgb(21, 23, 26)"
            )
            assert dark == (scheme == "dark"), shot


def test_periods_are_local_weeks_and_the_calendar_month() -> None:
    from datetime import date

    sunday = date(2026, 12, 6)
    week = period_of("week", sunday)
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    last = period_of("last-week", sunday)
    assert (last.first, last.last) == (date(2026, 11, 23), date(2026, 11, 29))
    month = period_of("month", date(2028, 2, 10))
    assert (month.first, month.last) == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_of("anything", sunday).key == "week"  # an unknown period is this week


def test_a_team_report_is_kept_until_the_hub_has_a_new_change(
    hub: HubServer, tmp_path: Path
) -> None:
    from touchpoint.hub.console.figures import TeamFigures

    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
    interactions.log_interaction(maria.ws, customer=acme, kind="call")
    assert maria.sync().in_sync
    figures = TeamFigures(hub.engine, hub.now, folder=tmp_path / "replica")
    try:
        first, _ = figures.team_report("north", "week")
        again, _ = figures.team_report("north", "week")
        assert again is first  # kept: nothing reached the Hub meanwhile
        interactions.log_interaction(maria.ws, customer=acme, kind="call")
        assert maria.sync().in_sync
        after, _ = figures.team_report("north", "week")
        assert after is not first
        assert after.team.interactions == first.team.interactions + 1 == 2
        with pytest.raises(Exception, match="no team 'west'"):
            figures.team_report("west", "week")
    finally:
        figures.close()
        maria.close()


def test_while_the_figures_are_brought_up_to_date_the_page_says_so(
    signed_in: Any, hub: HubServer, book: dict[str, str]
) -> None:
    figures = hub.app.state.console_figures
    figures.busy_wait = 0.2
    tom = signed_in("tom@example.com")
    with figures._pull_lock:  # a long first catch-up of a big book holds it
        answer = tom.goto("/dashboard")
        assert answer.status == 503 and answer.headers["retry-after"] == "60"
        assert "being brought up to date" in tom.get_by_role("alert").inner_text()
        assert tom.goto(f"/customers/{book['acme']}").status == 503
        assert tom.goto("/fleet").status == 200  # the other pages go on
    figures.busy_wait = 15
    assert tom.goto("/dashboard").status == 200


def test_a_long_timeline_is_shown_a_page_at_a_time(
    open_page: Any, hub: HubServer, tmp_path: Path
) -> None:
    """A customer's interactions, newest first, TIMELINE_ROWS a page with how many more,
    Older and Newer links; a page past the last shows the last; a rep is still refused."""
    from touchpoint.hub.console.manager import TIMELINE_ROWS

    clock = Clock(hub.now())
    now = clock()
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    loyal = customers.create_customer(maria.ws, {"name": "Loyal AG", "status": "active"})
    total = TIMELINE_ROWS + 5
    for n in range(total):  # call 00 is the oldest
        interactions.log_interaction(
            maria.ws,
            customer=loyal.value.id,
            kind="call",
            occurred_at=now - timedelta(hours=total - n),
            subject=f"call {n:02d}",
        )
    assert maria.sync().in_sync
    maria.close()
    path = f"/customers/{loyal.value.id}"

    tom = sign_in(open_page(), "tom@example.com")
    tom.goto(path)
    subjects = tom.locator("ol.timeline > li p.subject").all_inner_texts()
    assert subjects == [f"call {n:02d}" for n in range(total - 1, 4, -1)]
    shown = tom.locator("#timeline-shown").inner_text()
    assert shown == f"1–{TIMELINE_ROWS} of {total}, newest first · 5 more"
    tom.get_by_role("link", name="Older →").click()
    tom.wait_for_url(re.compile(r"page=2$"))
    older = tom.locator("ol.timeline > li p.subject").all_inner_texts()
    assert older == [f"call {n:02d}" for n in range(4, -1, -1)]
    assert tom.locator("#timeline-shown").inner_text() == (
        f"{TIMELINE_ROWS + 1}–{total} of {total}, newest first"
    )
    assert tom.get_by_role("link", name="← Newer").is_visible()
    assert tom.get_by_role("link", name="Older →").count() == 0
    tom.goto(path + "?page=99")  # past the last page: the last page
    assert tom.locator("ol.timeline > li p.subject").all_inner_texts() == older
    tom.goto(path + "?page=nonsense")  # not a page number: the first
    assert tom.locator("ol.timeline > li p.subject").all_inner_texts() == subjects

    rep = sign_in(open_page(), "ben@example.com")
    assert rep.goto(path + "?page=2").status == 403


def test_managers_waiting_for_a_report_being_figured_leave_the_other_pages_their_threads(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team's report takes seconds at L: more managers than the server has request
    threads open the dashboard meanwhile and wait for the one being figured, on the
    console's own threads, so the fleet page still answers; then each gets the figures."""
    import threading

    from touchpoint.hub.console import kit

    figures = hub.app.state.console_figures
    figures.busy_wait = 60
    figured = threading.Event()
    asking = threading.Semaphore(0)
    real_report, real_team_report = reports.daily_report, figures.team_report

    def slow_report(*args: Any, **kwargs: Any) -> Any:
        assert figured.wait(60)
        return real_report(*args, **kwargs)

    def team_report(*args: Any) -> Any:
        asking.release()
        return real_team_report(*args)

    monkeypatch.setattr(reports, "daily_report", slow_report)
    monkeypatch.setattr(figures, "team_report", team_report)
    client = http_client(hub.url, "tom@example.com")
    managers = 45  # more than the request threads (anyio's 40 here, 8 in `serve`)
    answers: list[int] = []
    waiting = [
        threading.Thread(target=lambda: answers.append(client.get("/dashboard").status_code))
        for _ in range(managers)
    ]
    try:
        for thread in waiting:
            thread.start()
        # As many as the console's threads wait inside (the others queue for those):
        # the server's own threads are free for the other pages.
        for _ in range(min(managers, kit.FIGURES_THREADS)):
            assert asking.acquire(timeout=60)
        assert client.get("/fleet").status_code == 200 and not figured.is_set()
    finally:
        figured.set()
        for thread in waiting:
            thread.join()
        client.close()
    assert answers == [200] * managers
