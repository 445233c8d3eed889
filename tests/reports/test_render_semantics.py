"""What every format says: cut lists say how many more, figures round half up, a
named outcome tied at the cut is shown, and the HTML charts match the PDF's."""

from __future__ import annotations

import itertools
import re
import subprocess
from dataclasses import replace
from datetime import date

import openpyxl
import pytest

from touchpoint.reports import format as fmt
from touchpoint.services import goals, reports
from touchpoint.storage.workspace import Workspace

DAY = date(2026, 11, 17)
MARIA, TOM, IDA = "maria@example.com", "tom@example.com", "ida@example.com"


@pytest.fixture
def report(team: Workspace) -> reports.DailyReport:
    return reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA], scope="team north")


@pytest.fixture
def cut(report: reports.DailyReport) -> reports.DailyReport:
    """The report as a big book gives it: 5 going quiet (1 listed), 6 flagged (2 listed)."""
    assert report.quiet and len(report.hygiene.worst) >= 2
    hygiene = replace(report.hygiene, worst=report.hygiene.worst[:2], flagged=6)
    return replace(report, quiet=report.quiet[:1], quiet_total=5, hygiene=hygiene)


def test_every_format_says_how_many_more(cut: reports.DailyReport, tmp_path) -> None:
    from touchpoint.reports.html import report_html
    from touchpoint.reports.pdf import write_pdf
    from touchpoint.reports.xlsx import write_workbook

    page = report_html(cut)
    assert "and 4 more" in page  # going quiet: 5, one listed
    assert page.count("and 4 more") == 2  # and data hygiene: 6, two listed

    write_workbook(cut, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    for sheet in ("Going quiet", "Data hygiene"):
        rows = list(book[sheet].iter_rows(min_row=2, values_only=True))
        assert rows[-1][0] == "and 4 more"

    write_pdf(cut, tmp_path / "r.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert text.count("and 4 more") == 2


def test_nothing_cut_says_nothing_more(report: reports.DailyReport) -> None:
    from touchpoint.reports.html import report_html

    assert "more</i>" not in report_html(report)
    assert fmt.more(0) == "" and fmt.more(3) == "and 3 more"


def test_figures_round_half_up_everywhere(report: reports.DailyReport, tmp_path) -> None:
    from touchpoint.reports.html import report_html

    team = replace(report.team, satisfaction=3.25, satisfaction_before=3.0)
    page = report_html(replace(report, team=team))
    assert "<b>3.3</b>" in page  # the team's satisfaction, never 3.2
    assert "+0.3" in page  # its change of 0.25
    assert fmt.score(3.25) == "3.3" and fmt.score(3.35) == "3.4"
    assert fmt.percent(12.5) == "13%" and fmt.goal_number(2.25) == "2.3"
    stats = reports.metrics.PromiseStats(kept=1, late=7)  # 12.5 %
    assert fmt.rate(stats) == "13%"


def test_an_outcome_tied_at_the_cut_is_never_other() -> None:
    counts = {"connected": 9, "order": 5, "no answer": 4, "voicemail": 3, "meeting": 2,
              "quote": 1, "complaint": 1, "wrong number": 1}  # fmt: skip
    shown = fmt.top_outcomes(counts, 6)
    assert shown == [
        "connected", "order", "no answer", "voicemail", "meeting",
        "complaint", "quote", "wrong number",
    ]  # fmt: skip
    assert fmt.top_outcomes({"b": 2, "a": 2, "c": 1}, 1) == ["a", "b"]
    assert fmt.top_outcomes({"b": 3, "a": 2, "c": 1}, 2) == ["b", "a"]


def test_the_html_outcomes_table_shows_a_tied_complaint(report: reports.DailyReport) -> None:
    from touchpoint.reports.html import report_html

    counts = {"connected": 9, "order": 5, "no answer": 4, "voicemail": 3, "meeting": 2,
              "quote": 1, "complaint": 1, "wrong number": 1, "lost": 0}  # fmt: skip
    maria = replace(report.reps[0], by_outcome=counts)
    page = report_html(replace(report, reps=[maria], team=replace(report.team, by_outcome=counts)))
    table = page[page.index("<h3>Outcomes</h3>") :]
    table = table[: table.index("</table>")]
    assert "<th>complaint</th>" in table.replace(' align="right"', "")
    assert ">other<" not in table  # the 0-count "lost" aside, everything has a column


def _ticks(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r'fill="#5f6b7a">([0-9.]+)</text>', svg)]


def test_html_charts_have_titles_whole_ticks_and_the_pdfs_content(team: Workspace) -> None:
    from touchpoint.reports.html import svg_charts

    no_goals = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA], book=goals.GoalBook())
    charts = svg_charts(no_goals)
    activity = charts["activity"]
    assert "Interactions per rep" in activity  # the PDF's chart: every interaction
    bars = re.findall(r'height="([0-9.]+)" fill="[^"]+"><title>([^<]+)</title>', activity)
    assert [label for _, label in bars] == ["Maria: 2", "Tom: 1", "Ida: 0"]
    assert float(bars[0][0]) == pytest.approx(2 * float(bars[1][0]))  # bars to scale
    # The day's satisfaction, per rep, as in the PDF.
    assert "Average satisfaction per rep (1 to 5)" in charts["satisfaction"]
    assert _ticks(charts["satisfaction"]) == [0, 1, 2, 3, 4, 5]
    for svg in charts.values():
        ticks = _ticks(svg)
        steps = {b - a for a, b in itertools.pairwise(ticks)}
        assert all(t.is_integer() for t in ticks) and len(steps) == 1, ticks

    week = reports.daily_report(team, date(2026, 11, 16), date(2026, 11, 22))
    weekly = svg_charts(week)
    assert "Interactions per day against the daily goal" in weekly["activity"]
    assert "Average satisfaction per day (1 to 5)" in weekly["satisfaction"]


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [(20.6, [0, 5, 10, 15, 20, 25]), (79, [0, 20, 40, 60, 80]), (3, [0, 1, 2, 3])],
)
def test_nice_axis_steps(peak: float, ticks: list[int]) -> None:
    top, step = fmt.nice_scale(peak)
    assert [step * n for n in range(round(top / step) + 1)] == ticks
