"""The managers' other pages in a real browser: a rep's page, the customers with a
search, the late promises, and the daily report's files (the bytes `touchpoint-hub
report daily` writes); each page and each query held to the viewer's teams."""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import http_client, sign_in
from click.testing import CliRunner
from harness import Clock, HubServer, Laptop
from sqlalchemy import select

from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.console.figures import period_of
from touchpoint.hub.db import users
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
EXTRA = 52  # more of Maria's customers than a page of the list holds (50)
CALLS = 26  # more of her calls than a page of her interactions holds (25)


@pytest.fixture
def goals_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "goals.toml"
    path.write_text(GOALS, "utf-8")
    monkeypatch.setenv("TOUCHPOINT_HUB_GOALS", str(path))
    return path


@pytest.fixture
def book(goals_file: Path, hub: HubServer, tmp_path: Path) -> Any:
    """North (Maria, Ben) and south (Sara): customers in accented cities, scores and
    words, promises overdue and kept late; synced to the Hub."""
    # Today's and this week's events happen within two minutes of the Hub's now (pinned
    # midweek at noon by the hub fixture): the page's day and week hold them.
    clock = Clock(hub.now())
    now = clock()
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    sara = Laptop(tmp_path / "sara", "sara@example.com", clock, hub)
    gonzalez = customers.create_customer(
        maria.ws,
        {
            "name": "González Hermanos",
            "status": "active",
            "addresses": [{"city": "Málaga", "country": "ES"}],
            "tags": ["VIP"],
        },
    ).value.id
    for seconds, score, words in ((50, 4, "Muy buen servicio"), (40, 2, "Delivery was late again")):
        interactions.log_interaction(
            maria.ws,
            customer=gonzalez,
            kind="visit",
            occurred_at=now - timedelta(seconds=seconds),
            satisfaction=score,
            feedback=words,
        )
    acme = customers.create_customer(
        maria.ws, {"name": "Acme GmbH", "status": "active", "addresses": [{"city": "Köln"}]}
    ).value.id
    logged = interactions.log_interaction(
        maria.ws,
        customer=acme,
        kind="call",
        occurred_at=now - timedelta(seconds=30),
        subject="Spare parts",
        followups=[
            FollowUpInput("Send the spare parts quote", now - timedelta(days=3)),  # overdue
            FollowUpInput("Call back about delivery", now - timedelta(seconds=120)),
        ],
    ).value
    late = next(f for f in logged.followups if f.title.startswith("Call back"))
    followups.complete_followup(maria.ws, late.id, at=now - timedelta(seconds=60))  # late
    for n in range(CALLS):
        interactions.log_interaction(
            maria.ws,
            customer=acme,
            kind="call",
            occurred_at=now - timedelta(seconds=60 + n),
            subject=f"Call {n:02d}",
        )
    for n in range(EXTRA):
        customers.create_customer(maria.ws, {"name": f"Kunde {n:02d}", "status": "prospect"})
    beta = customers.create_customer(
        ben.ws, {"name": "Beta AG", "status": "active", "addresses": [{"city": "Bern"}]}
    ).value.id
    interactions.log_interaction(
        ben.ws,
        customer=beta,
        kind="visit",
        occurred_at=now - timedelta(seconds=20),
        satisfaction=5,
        feedback="Best service we have had",
        followups=[FollowUpInput("Ben's promise", now - timedelta(days=1))],
    )
    gamma = customers.create_customer(
        sara.ws,
        {"name": "Gamma SRL", "status": "active", "addresses": [{"city": "Malaga"}]},
    ).value.id
    interactions.log_interaction(
        sara.ws,
        customer=gamma,
        kind="visit",
        satisfaction=1,
        feedback="South's secret words",
        followups=[FollowUpInput("South's secret promise", now - timedelta(days=2))],
    )
    for laptop in (maria, ben, sara):
        assert laptop.sync().in_sync
    with hub.engine.connect() as conn:
        ids = dict(conn.execute(select(users.c.email, users.c.id)).all())
    yield {
        "gonzalez": gonzalez,
        "acme": acme,
        "beta": beta,
        "gamma": gamma,
        "maria": ids["maria@example.com"],
        "ben": ids["ben@example.com"],
        "sara": ids["sara@example.com"],
        "tom": ids["tom@example.com"],
    }
    for laptop in (maria, ben, sara):
        laptop.close()


def cells(page: Any, label: str) -> list[list[str]]:
    rows = page.get_by_role("region", name=label, exact=True).locator("tbody tr").all()
    return [[c.inner_text().strip() for c in r.locator("th, td").all()] for r in rows]


def caption(page: Any, label: str) -> str:
    return page.get_by_role("region", name=label, exact=True).locator("caption").inner_text()


# --- a rep's page -------------------------------------------------------------------------


def test_a_rep_s_page_from_the_dashboard(
    signed_in: Any, hub: HubServer, book: dict[str, Any], goals_file: Path, tmp_path: Path
) -> None:
    tom = signed_in("tom@example.com")
    tom.goto("/dashboard")
    tom.get_by_role("link", name="Maria Keller").click()
    tom.wait_for_url(re.compile(rf"/reps/{book['maria']}\?period=week$"))
    assert tom.get_by_role("heading", name="Maria Keller", level=1).is_visible()

    # The daily report's per-rep figures, for Maria alone, as the command line makes them.
    from touchpoint.hub import report_cli

    ws, _ = report_cli._replica(hub.db_url, tmp_path / "report-replica", None, None)
    ws.clock = hub.now  # the Hub's today, as its pages count it
    with ws:
        week = period_of("week", reports.report_period(ws, day="today")[0])
        expected = reports.daily_report(
            ws,
            week.first,
            week.last,
            reps=["maria@example.com"],
            book=goals.read_goals_file(goals_file),
        )
    mine = expected.reps[0]
    glance = tom.get_by_role("region", name="At a glance").inner_text()
    assert f"{mine.interactions}\ninteractions" in glance
    assert mine.interactions == 2 + 1 + CALLS
    promises = mine.promises
    assert (
        f"{fmt.rate(promises)}\npromises kept on time: {promises.kept} kept, "
        f"{promises.late} late, {promises.overdue} overdue"
    ) in glance
    assert f"{fmt.score(mine.satisfaction)}\naverage satisfaction" in glance
    goal_rows = {r[0]: r for r in cells(tom, "Activity against goal")}
    visit = next(g for g in mine.goals if g.kind == "visit")
    assert goal_rows["Visits"][1:4] == [
        str(visit.done),
        fmt.goal_number(visit.goal),
        fmt.percent(visit.percent),
    ]
    assert goal_rows["Calls"][1] == str(CALLS + 1)

    # Her interactions in the period, newest first, 25 a page, and how many more.
    done = cells(tom, "Interactions")
    assert len(done) == 25
    assert caption(tom, "Interactions") == f"1–25 of {mine.interactions}, newest first · 4 more"
    assert [r[1] for r in done[:3]] == ["Acme GmbH", "González Hermanos", "González Hermanos"]
    assert done[0][5] == "Spare parts"
    tom.get_by_role("link", name="Older →").click()
    tom.wait_for_url(re.compile(r"page=2"))
    assert len(cells(tom, "Interactions")) == 4
    assert caption(tom, "Interactions") == f"26–29 of {mine.interactions}, newest first"
    assert tom.get_by_role("link", name="← Newer").is_visible()
    tom.goto(f"/reps/{book['maria']}?page=99")  # past the last page: the last page
    assert caption(tom, "Interactions") == f"26–29 of {mine.interactions}, newest first"
    tom.goto(f"/reps/{book['maria']}")

    opened = cells(tom, "Open promises")
    assert opened == [["Send the spare parts quote", "Acme GmbH", opened[0][2], "overdue"]]
    assert caption(tom, "Open promises") == "1 open now · 1 overdue"
    assert cells(tom, "Kept late")[0][0] == "Call back about delivery"
    assert cells(tom, "Kept late")[0][3] in ("same day", "1")
    words = tom.locator("ol.timeline > li").all_inner_texts()
    assert len(words) == 2
    assert words[0].startswith("2/5 · González Hermanos · Visit")  # newest first
    assert "“Delivery was late again”" in words[0] and "“Muy buen servicio”" in words[1]
    assert "Best service" not in tom.content()  # Ben's words are on Ben's page

    # Last week is the same page over other days.
    tom.get_by_role("navigation", name="Period").get_by_role("link", name="Last week").click()
    tom.wait_for_url(re.compile(r"period=last-week"))
    assert caption(tom, "Interactions") == "None in this period"
    assert tom.locator("[style]").count() == 0


def test_a_rep_sees_their_own_page_and_nobody_else_s(
    signed_in: Any, hub: HubServer, book: dict[str, Any]
) -> None:
    maria = signed_in("maria@example.com")
    maria.get_by_role("link", name="My activity").click()
    assert maria.get_by_role("heading", name="Maria Keller", level=1).is_visible()
    assert maria.get_by_role("link", name="Acme GmbH").count() == 0  # no 360 for a rep
    for path in (
        f"/reps/{book['ben']}",  # her teammate
        f"/reps/{book['sara']}",  # another team
        f"/reps/{book['tom']}",
        "/reps/99999",
        "/reps/abc",
        "/customers",
        "/promises/late",
        "/reports/daily?team=north&format=html",
    ):
        assert maria.goto(path).status == 403, path
    assert maria.get_by_role("link", name="Customers").count() == 0

    tom = signed_in("tom@example.com")
    assert tom.goto(f"/reps/{book['ben']}").status == 200
    assert "Best service we have had" in tom.content()
    assert tom.goto(f"/reps/{book['sara']}").status == 403  # south is not Tom's
    assert "South's secret" not in tom.content()
    assert tom.goto(f"/reps/{book['maria']}/edit").status == 403

    admin = signed_in("priya@example.com")
    assert admin.goto(f"/reps/{book['sara']}").status == 200
    assert "South's secret words" in admin.content()


# --- customers -----------------------------------------------------------------------------


def test_customers_of_the_viewer_s_teams_with_a_search(
    signed_in: Any, hub: HubServer, book: dict[str, Any]
) -> None:
    tom = signed_in("tom@example.com")
    tom.goto("/dashboard")
    tom.get_by_role("link", name="Customers").click()
    tom.wait_for_url(re.compile(r"/customers$"))
    north = 2 + EXTRA + 1  # Maria's and Ben's; never Sara's
    assert caption(tom, "Customers") == f"1–50 of {north} customers · {north - 50} more"
    rows = cells(tom, "Customers")
    assert len(rows) == 50 and rows[0][0] == "Acme GmbH"  # by name
    acme = rows[0]
    assert acme[1:3] == ["Maria Keller", "Köln"]
    assert acme[3].endswith("today") and acme[4:6] == ["1", "1"]  # one open, overdue
    tom.get_by_role("link", name=f"Next {north - 50} →").click()
    assert caption(tom, "Customers") == f"51–{north} of {north} customers"
    assert not any("Gamma" in r[0] for r in cells(tom, "Customers"))

    # Words folded like the laptop's search: no case, no accents; name, city or tag.
    for typed, found in (
        ("malaga", ["González Hermanos\nVIP"]),  # not south's Gamma SRL, in Malaga too
        ("GONZALEZ", ["González Hermanos\nVIP"]),
        ("vip", ["González Hermanos\nVIP"]),
        ("koln", ["Acme GmbH"]),
        ("kunde 0", [f"Kunde {n:02d}" for n in range(10)]),
        ("hermanos", ["González Hermanos\nVIP"]),
    ):
        search = tom.get_by_role("searchbox", name="Search")
        search.fill(typed)
        search.press("Enter")
        tom.wait_for_load_state()
        assert [r[0] for r in cells(tom, "Customers")] == found, typed
    row = cells(tom, "Customers")[0]
    assert row[4:] == ["0", "0", "3.0"]  # no promise; (4 + 2) / 2, as the 360 says
    tom.get_by_role("link", name="González Hermanos").click()  # the 360, read only
    assert tom.get_by_role("heading", name="González Hermanos", exact=True).is_visible()
    tom.goto("/customers?q=%25%25")  # no word at all: every customer, and no "matching"
    assert caption(tom, "Customers") == f"1–50 of {north} customers · {north - 50} more"
    tom.goto("/customers?q=nothing+like+this")
    assert caption(tom, "Customers") == "No customer matches “nothing like this”"
    assert tom.goto("/customers?team=south").status == 403

    admin = signed_in("priya@example.com")
    admin.goto("/customers?q=malaga")
    assert [r[0].splitlines()[0] for r in cells(admin, "Customers")] == [
        "Gamma SRL",
        "González Hermanos",
    ]
    admin.goto("/customers?q=malaga&team=south")
    assert [r[0] for r in cells(admin, "Customers")] == ["Gamma SRL"]


# --- late promises ---------------------------------------------------------------------------


def test_late_promises_per_team(signed_in: Any, hub: HubServer, book: dict[str, Any]) -> None:
    tom = signed_in("tom@example.com")
    tom.goto("/dashboard")
    tom.get_by_role("link", name="Late promises").click()
    tom.wait_for_url(re.compile(r"/promises/late$"))
    overdue = cells(tom, "Overdue now")
    assert [(r[0], r[1], r[2], r[4]) for r in overdue] == [
        ("Send the spare parts quote", "Acme GmbH", "Maria Keller", "3"),
        ("Ben's promise", "Beta AG", "Ben Ott", "1"),
    ]  # by due time
    late_label = tom.locator("section h2").nth(1).inner_text().rsplit(" ", 1)[0]
    late = cells(tom, late_label)
    assert [(r[0], r[2]) for r in late] == [("Call back about delivery", "Maria Keller")]
    assert late[0][5] in ("same day", "1")
    assert "South's secret" not in tom.content()

    tom.get_by_role("link", name="Rep", exact=True).click()  # sort by rep
    tom.wait_for_url(re.compile(r"sort=rep"))
    assert [r[2] for r in cells(tom, "Overdue now")] == ["Ben Ott", "Maria Keller"]
    tom.get_by_role("link", name="Days late").click()
    tom.wait_for_url(re.compile(r"sort=days"))
    assert [r[4] for r in cells(tom, "Overdue now")] == ["3", "1"]
    tom.get_by_label("Rep", exact=True).select_option(label="Ben Ott")
    tom.get_by_role("button", name="Show").click()
    tom.wait_for_url(re.compile(r"rep=ben"))
    assert [r[0] for r in cells(tom, "Overdue now")] == ["Ben's promise"]
    assert cells(tom, late_label)[0][0] == "No promise due in this period was kept late."
    assert caption(tom, "Overdue now") == "Still open after their due time, as of now, Ben Ott's: 1"
    tom.get_by_role("link", name="Ben Ott").click()
    assert tom.get_by_role("heading", name="Ben Ott", level=1).is_visible()

    assert tom.goto("/promises/late?team=south").status == 403
    admin = signed_in("priya@example.com")
    admin.goto("/promises/late?team=south")
    assert [r[0] for r in cells(admin, "Overdue now")] == ["South's secret promise"]


# --- the daily report's files ----------------------------------------------------------------


def _html_text(raw: str) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            if data.strip():
                self.parts.append(data.strip())

    parser = Text()
    parser.feed(raw)
    return _no_times("\n".join(parser.parts))


def _no_times(text: str) -> str:
    # The moment it was generated (and "as of" now, for today) are the only differences.
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<time>", text)


def _cells(raw: bytes) -> dict[str, list[tuple[Any, ...]]]:
    from datetime import datetime

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(io.BytesIO(raw))
    return {
        sheet.title: [
            tuple(None if isinstance(v, datetime) else v for v in row)
            for row in sheet.iter_rows(values_only=True)
        ]
        for sheet in book.worksheets
    }


def _pdf_text(raw: bytes, tmp_path: Path) -> str | None:
    if not shutil.which("pdftotext"):
        return None
    path = tmp_path / "x.pdf"
    path.write_bytes(raw)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return _no_times(out.stdout.decode())


@pytest.fixture
def report_command_on_the_hub_s_clock(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``touchpoint-hub report`` counts "today" by the test Hub's clock, as its pages do."""
    from touchpoint.hub import report_cli

    opened = report_cli._replica

    def on_the_hub_s_clock(*args: Any) -> Any:
        ws, members = opened(*args)
        ws.clock = hub.now
        return ws, members

    monkeypatch.setattr(report_cli, "_replica", on_the_hub_s_clock)


@pytest.mark.usefixtures("report_command_on_the_hub_s_clock")
def test_the_report_files_are_the_command_line_s(
    signed_in: Any, hub: HubServer, book: dict[str, Any], goals_file: Path, tmp_path: Path
) -> None:
    tom = signed_in("tom@example.com")
    today = tom.request.get("/reports/daily?team=north&date=today&format=html")
    assert today.status == 200
    day = re.search(
        r"daily-report-north-(\d{4}-\d\d-\d\d)\.html", today.headers["content-disposition"]
    )
    assert day, today.headers["content-disposition"]
    made: dict[str, bytes] = {}
    for key, media in (
        ("pdf", "application/pdf"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("html", "text/html; charset=utf-8"),
    ):
        answer = tom.request.get(f"/reports/daily?team=north&date={day[1]}&format={key}")
        assert answer.status == 200, key
        assert answer.headers["content-type"] == media
        assert answer.headers["content-disposition"].startswith(
            f'attachment; filename="daily-report-north-{day[1]}.{key}"'
        )
        made[key] = answer.body()
    assert made["pdf"].startswith(b"%PDF")

    cli: dict[str, bytes] = {}
    for key in ("pdf", "xlsx", "html"):
        out = tmp_path / f"cli.{key}"
        result = CliRunner().invoke(
            hub_cli,
            [
                "report", "daily", "--db", hub.db_url, "--team", "north", "--date", day[1],
                "--goals", str(goals_file), "--replica", str(tmp_path / "cli-replica"),
                "--out", str(out),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        cli[key] = out.read_bytes()

    console_cells, cli_cells = _cells(made["xlsx"]), _cells(cli["xlsx"])
    assert console_cells == cli_cells
    summary = {row[0]: row[1] for row in console_cells["Summary"] if row and row[0]}
    assert summary["interactions"] == 2 + 1 + CALLS + 1  # Maria's and Ben's, not Sara's
    assert _html_text(made["html"].decode()) == _html_text(cli["html"].decode())
    assert "Maria Keller" in _html_text(made["html"].decode())
    assert "South's secret" not in made["html"].decode()
    pdf = _pdf_text(made["pdf"], tmp_path)
    if pdf is not None:
        assert pdf == _pdf_text(cli["pdf"], tmp_path)
        assert "Maria Keller" in pdf

    # The dashboard's period, as offered on the dashboard.
    tom.goto("/dashboard")
    with tom.expect_download() as download:
        tom.get_by_role("link", name="Excel", exact=True).click()
    week = period_of("week", _day(day[1]))
    assert download.value.suggested_filename == (
        f"daily-report-north-{week.first:%Y-%m-%d}-to-{week.last:%Y-%m-%d}.xlsx"
    )
    # A day typed in the dashboard's form.
    tom.get_by_label("For a day").fill(day[1])
    tom.get_by_label("as", exact=True).select_option("html")
    with tom.expect_download() as download:
        tom.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == f"daily-report-north-{day[1]}.html"

    month = tom.request.get("/reports/daily?team=north&period=month&format=html")
    assert month.status == 200
    assert "Activity report: team north" in _html_text(month.text())  # never "Weekly"
    assert "Weekly" not in month.text()

    bad = tom.request.get("/reports/daily?team=north&date=someday&format=pdf")
    assert bad.status == 422 and "Date: 'someday' is not a date" in html.unescape(bad.text())
    assert tom.request.get("/reports/daily?team=north&format=doc").status == 422
    assert tom.request.get("/reports/daily?team=south&format=html").status == 403
    assert tom.request.get("/reports/daily?format=html").status == 403


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


# --- how the pages look ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_new_pages(
    open_page: Any, hub: HubServer, book: dict[str, Any], tmp_path: Path, scheme: str
) -> None:
    """Each new page in light and dark, at desktop and tablet width, for a person to look
    at; checked here: no page scrolls sideways, the theme holds, Tab reaches the nav."""
    out = Path(os.environ.get("TOUCHPOINT_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    for width in (1280, 768):
        page = open_page(scheme, width)
        sign_in(page, "tom@example.com")
        for name, path in (
            ("rep", f"/reps/{book['maria']}"),
            ("customers", "/customers"),
            ("customers-search", "/customers?q=malaga"),
            ("late", "/promises/late"),
            ("dashboard", "/dashboard"),
        ):
            assert page.goto(path).status == 200
            shot = f"tom-{name}-{scheme}-{width}.png"
            # Nothing the Content-Security-Policy would refuse: no inline style or script
            # (looked at before the screenshot, which marks elements with a style of its own).
            assert page.locator("[style]").count() == 0, shot
            assert page.locator("script:not([src])").count() == 0, shot
            page.screenshot(path=out / shot, full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, shot
            dark = page.evaluate("getComputedStyle(document.body).backgroundColor") == (
                "rgb(21, 23, 26)"
            )
            assert dark == (scheme == "dark"), shot
        # The keyboard: Tab from the top reaches the skip link, then the new nav links.
        page.goto("/customers")
        reached = []
        for _ in range(6):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        assert "Customers" in reached and "Late promises" in reached
    maria = open_page(scheme, 768)
    sign_in(maria, "maria@example.com")
    maria.goto(f"/reps/{book['maria']}")
    maria.screenshot(path=out / f"maria-rep-{scheme}-768.png", full_page=True)
    assert maria.evaluate("document.documentElement.scrollWidth") <= 768


def test_a_manager_sees_a_rep_of_two_teams_with_their_own_team_s_customers(
    signed_in: Any, hub: HubServer, book: dict[str, Any], tmp_path: Path
) -> None:
    hub.add_user("olga@example.com", "rep", ("north", "south"))
    clock = Clock(hub.now())
    olga = Laptop(tmp_path / "olga", "olga@example.com", clock, hub)
    try:
        assert olga.sync().in_sync
        for customer, words in ((book["beta"], "North words"), (book["gamma"], "South words")):
            interactions.log_interaction(
                olga.ws, customer=customer, kind="visit", satisfaction=3, feedback=words
            )
        assert olga.sync().in_sync
    finally:
        olga.close()
    with hub.engine.connect() as conn:
        olga_id = conn.execute(select(users.c.id).where(users.c.email == "olga@example.com"))
        page = f"/reps/{olga_id.scalar_one()}"

    tom = signed_in("tom@example.com")
    assert tom.goto(page).status == 200
    assert "the lists show north's customers only" in tom.content()
    assert [r[1] for r in cells(tom, "Interactions")] == ["Beta AG"]
    assert "North words" in tom.content() and "South words" not in tom.content()
    admin = signed_in("priya@example.com")
    admin.goto(page)
    assert sorted(r[1] for r in cells(admin, "Interactions")) == ["Beta AG", "Gamma SRL"]


def test_while_the_figures_are_brought_up_to_date_the_new_pages_say_so(
    signed_in: Any, hub: HubServer, book: dict[str, Any]
) -> None:
    figures = hub.app.state.console_figures
    figures.busy_wait = 0.2
    tom = signed_in("tom@example.com")
    with figures._pull_lock:  # a long first catch-up of a big book holds it
        for path in (
            f"/reps/{book['maria']}",
            "/customers?q=acme",
            "/promises/late",
            "/reports/daily?team=north&format=xlsx",
        ):
            answer = tom.goto(path) if "reports" not in path else tom.request.get(path)
            assert answer.status == 503, path
            assert answer.headers["retry-after"] == "60"
    # Released, the figures may still be worked out ahead in the background for a moment:
    # with the usual wait, the page waits for them instead of saying they are on the way.
    figures.busy_wait = 10
    assert tom.goto("/customers?q=acme").status == 200


def test_a_download_s_name_is_plain_for_every_browser_and_exact_for_most() -> None:
    from touchpoint.hub.console.team_pages import _attachment

    assert _attachment('daily-report-Zürich "Nord"-2026-12-05.pdf') == (
        'attachment; filename="daily-report-Z_rich__Nord_-2026-12-05.pdf"; '
        "filename*=UTF-8''daily-report-Z%C3%BCrich%20%22Nord%22-2026-12-05.pdf"
    )


# --- read once for everyone asking, until a change -----------------------------------------


def test_a_rep_s_lists_and_a_search_are_read_once_until_a_change_reaches_the_hub(
    signed_in: Any,
    hub: HubServer,
    book: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fifty managers opening one rep's page or one search read the replica once; a
    viewer of other teams gets a list of their own; a change reaching the Hub is shown
    at the next view."""
    from touchpoint.services import customer_list, team_lists

    reads: list[str] = []

    def counted(name: str, module: Any) -> None:
        real = getattr(module, name)

        def read(*args: Any, **kwargs: Any) -> Any:
            reads.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, read)

    counted("rep_interactions", team_lists)
    counted("count_customers", customer_list)
    rep_page = f"/reps/{book['maria']}?period=week"
    search = "/customers?q=acme"
    tom, priya = signed_in("tom@example.com"), signed_in("priya@example.com")
    for _ in range(2):
        tom.goto(rep_page)
        tom.goto(search)
    assert reads == ["rep_interactions", "count_customers"]
    assert caption(tom, "Customers") == "1 customer matching “acme”"
    priya.goto(search)  # an admin sees every team's customers: a list of her own
    assert reads[2:] == ["count_customers"]

    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria-again", "maria@example.com", clock, hub)
    try:
        acme = customers.create_customer(maria.ws, {"name": "Acme Two"}).value.id
        interactions.log_interaction(
            maria.ws, customer=acme, kind="call", occurred_at=clock(), subject="Fresh call"
        )
        assert maria.sync().in_sync
    finally:
        maria.close()
    tom.goto(rep_page)
    assert cells(tom, "Interactions")[0][5] == "Fresh call"
    tom.goto(search)
    assert caption(tom, "Customers") == "2 customers matching “acme”"
    assert reads[3:] == ["rep_interactions", "count_customers"]


def test_managers_waiting_for_a_pdf_being_drawn_leave_the_other_pages_their_threads(
    hub: HubServer, book: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """More managers than the server has request threads ask for the week's PDF while
    it is drawn: they wait for the one drawing without a thread each, so the fleet page
    answers meanwhile; then every one of them gets the file."""
    import threading

    from touchpoint.hub.console import downloads

    asking = threading.Semaphore(0)
    drawn = threading.Event()
    drawings: list[str] = []
    real_file_of = downloads.file_of

    def file_of(report: Any, kind: str) -> Any:
        asking.release()  # this request's checks are done: it waits for the file now
        return real_file_of(report, kind)

    def make(report: Any, kind: str) -> bytes:
        drawings.append(kind)
        assert drawn.wait(60)
        return b"%PDF-1.4 the week"

    monkeypatch.setattr(downloads, "file_of", file_of)
    monkeypatch.setattr(downloads, "_make", make)
    monkeypatch.setattr(downloads, "_kept", type(downloads._kept)())
    client = http_client(hub.url, "tom@example.com")
    managers = 45  # more than the request threads (anyio's 40 here, 8 in `serve`)
    bodies: list[bytes] = []
    pdf = "/reports/daily?team=north&period=week&format=pdf"
    waiting = [
        threading.Thread(target=lambda: bodies.append(client.get(pdf).content))
        for _ in range(managers)
    ]
    try:
        for thread in waiting:
            thread.start()
        for _ in range(managers):
            assert asking.acquire(timeout=60)
        fleet = client.get("/fleet")  # with a thread each, this would wait for the PDF
        assert fleet.status_code == 200 and not drawn.is_set()
    finally:
        drawn.set()
        for thread in waiting:
            thread.join()
        client.close()
    assert drawings == ["pdf"]  # one drawing for all of them
    assert bodies == [b"%PDF-1.4 the week"] * managers
