"""A table row of the PDF never falls on two pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from touchpoint.services import reports
from touchpoint.storage.workspace import Workspace

DAY = date(2026, 11, 17)


def _two_line_rows(count: int) -> str:
    rows = "".join(
        f"<tr><td width='30%'>American Manufacturing Miller Co. {n}</td><td>Maria</td>"
        f"<td>86%</td><td>a scored interaction in the last 180 days</td></tr>"
        for n in range(count)
    )
    return f"<table width='100%' border='1' cellpadding='4'>{rows}</table>"


@pytest.mark.parametrize("lead", range(0, 60, 7))
def test_rows_of_two_lines_move_to_the_next_page_whole(lead: int) -> None:
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QTextDocument

    from touchpoint.reports.pdf import ensure_app, keep_rows_together, rows_across_pages

    ensure_app()
    page_h = 400.0
    doc = QTextDocument()
    doc.setPageSize(QSizeF(220, page_h))  # narrow: each name takes two lines
    # A few lines of text first shift where the rows meet the page ends.
    doc.setHtml("<p>x</p>" * (lead % 9) + _two_line_rows(40))
    split_before = rows_across_pages(doc, page_h)
    keep_rows_together(doc, page_h)
    assert rows_across_pages(doc, page_h) == []
    # The layout did split some rows at first (else the test proves nothing).
    if lead == 0:
        assert split_before


def test_the_report_pdf_has_no_row_on_two_pages(team: Workspace, monkeypatch, tmp_path) -> None:
    from touchpoint.reports import pdf

    report = reports.daily_report(team, DAY, DAY)
    # Fifty long-named customers on the watch list: rows of two lines down three pages.
    quiet = [
        replace(report.quiet[0], name=f"American Manufacturing Miller Holding Co. {n}")
        for n in range(50)
    ]
    report = replace(report, quiet=quiet, quiet_total=50)
    seen: list[list[list[str]]] = []
    keep = pdf.keep_rows_together

    def spy(doc, page_h):  # type: ignore[no-untyped-def]
        keep(doc, page_h)
        seen.append(pdf.rows_across_pages(doc, page_h))

    monkeypatch.setattr(pdf, "keep_rows_together", spy)
    assert pdf.render_pdf(report, tmp_path / "r.pdf") >= 2
    assert seen == [[]]
