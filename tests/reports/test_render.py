"""The daily report rendered: PDF (pages, footer, text), HTML and Excel read back."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from touchpoint.errors import ValidationError
from touchpoint.services import goals, reports
from touchpoint.storage.workspace import Workspace

DAY = date(2026, 11, 17)
MARIA, TOM, IDA = "maria@example.com", "tom@example.com", "ida@example.com"


@pytest.fixture
def report(team: Workspace) -> reports.DailyReport:
    members = goals.resolve_reps(team, team="north")
    return reports.daily_report(team, DAY, DAY, reps=members, scope="team north")


def pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: run packaging/bootstrap.sh (it installs poppler-utils)"
    return subprocess.run(
        [tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])


def test_pdf_pages_footer_and_figures(report: reports.DailyReport, tmp_path) -> None:
    from touchpoint.reports.pdf import write_pdf

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "daily.pdf"
    pages = write_pdf(report, out)
    assert out.read_bytes().startswith(b"%PDF")
    assert pages == pdf_pages(out) == 3
    text = pdf_text(out)
    assert "Daily activity report: team north" in text
    assert "Tue 17 Nov 2026" in text
    assert "page 1 of 3" in text and "page 3 of 3" in text
    assert "generated 2026-11-18 10:30 (Europe/Berlin)" in text  # 09:30 UTC, local time
    assert "Loved the demo — danke!" in text  # the customer's words, best
    assert "@everyone delivery was late again" in text  # and worst
    assert "Quiet KG" in text  # going quiet
    assert "50%" in text  # one kept, one overdue: the keeping rate
    assert [p.name for p in folder.iterdir()] == ["daily.pdf"]  # no temporary left


def test_pdf_of_a_week_without_goals_or_data(ws: Workspace, tmp_path) -> None:
    from touchpoint.reports.pdf import write_pdf

    empty = reports.daily_report(ws, date(2026, 11, 9), date(2026, 11, 15))
    out = tmp_path / "week.pdf"
    assert write_pdf(empty, out) == 1
    text = pdf_text(out)
    assert "Weekly activity report: all reps" in text
    assert "No goals are set" in text and "no data" in text


def test_pdf_to_an_unwritable_place_writes_nothing(report: reports.DailyReport) -> None:
    from touchpoint.reports.pdf import write_pdf

    with pytest.raises(ValidationError) as bad:
        write_pdf(report, "/proc/daily.pdf")
    assert bad.value.field == "out"


def test_html_page(report: reports.DailyReport, tmp_path) -> None:
    from touchpoint.reports.html import write_html

    out = tmp_path / "daily.html"
    write_html(report, out)
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page  # charts inline: the page is one self-contained file
    assert "“Loved the demo — danke!”" in page
    assert "=HYPERLINK(&quot;http://x&quot;)" in page  # escaped, never markup
    assert "generated 2026-11-18 10:30" in page


def test_xlsx_sheets_and_types_cell_by_cell(report: reports.DailyReport, tmp_path) -> None:
    from touchpoint.reports.xlsx import write_workbook

    out = tmp_path / "daily.xlsx"
    write_workbook(report, out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "Summary",
        "Activity",
        "Outcomes",
        "Promises",
        "Satisfaction",
        "Customer words",
        "Going quiet",
        "Data hygiene",
        "By day",
    ]
    summary = {r[0].value: r[1] for r in book["Summary"].iter_rows(min_row=3) if r[0].value}
    assert summary["from"].value == datetime(2026, 11, 17)
    assert summary["generated"].value == datetime(2026, 11, 18, 10, 30)
    assert summary["interactions"].value == 3
    rate = summary["promise-keeping rate"]
    assert rate.value == 0.5 and rate.number_format == "0%"
    assert summary["satisfaction"].value == pytest.approx(11 / 3)

    activity = book["Activity"]
    assert activity.freeze_panes == "B2" and activity.auto_filter.ref.startswith("A1:G")
    # Reps by display name, identified by email in the last column.
    rows = {(r[0], r[1]): r for r in activity.iter_rows(min_row=2, values_only=True)}
    maria_call = rows[("Maria", "call")]
    assert maria_call[2:] == (1, 4, 0.25, -0.75, MARIA)  # 1 call of 4: 25%, 75% under
    assert rows[("Ida", "call")][2:4] == (0, 4)
    assert rows[("Team", "call")][2:] == (
        1,
        12,
        pytest.approx(1 / 12),
        pytest.approx(-11 / 12),
        None,
    )

    promises = {r[0]: r for r in book["Promises"].iter_rows(min_row=2, values_only=True)}
    assert promises["Maria"][1:] == (2, 2, 1, 0, 1, 0, 0, 0.5, MARIA)
    assert promises["Tom"][-2] is None  # nothing due: no data, an empty cell, not 100%

    words = list(book["Customer words"].iter_rows(min_row=2, values_only=True))
    assert words[0][0] == "best" and words[0][1] == datetime(2026, 11, 17, 0, 30)
    assert words[0][5] == 5 and words[-1][0] == "worst"

    quiet = list(book["Going quiet"].iter_rows(min_row=2, values_only=True))
    assert quiet == [("Quiet KG", "Maria", None, None, None, False, "never contacted")]

    by_day = list(book["By day"].iter_rows(min_row=2, values_only=True))
    assert by_day[0][:4] == (datetime(2026, 11, 17), 3, 1, pytest.approx(12.0))
    assert book["By day"].cell(2, 1).number_format == "yyyy-mm-dd"


def test_a_day_without_goals_charts_each_reps_interactions(team: Workspace) -> None:
    from touchpoint.reports.pdf import activity_chart

    with_goals = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA])
    no_goals = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM, IDA], book=goals.GoalBook())
    chart = activity_chart(no_goals)
    assert chart.title() == "Interactions per rep"
    (bars,) = chart.series()
    (counts,) = bars.barSets()
    assert [counts.at(n) for n in range(counts.count())] == [r.interactions for r in no_goals.reps]
    assert sum(r.interactions for r in no_goals.reps) > 0
    assert activity_chart(with_goals).title() == "Interactions against goal, per rep"
