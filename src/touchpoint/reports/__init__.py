"""Rendering the managers' reports: HTML, Excel and PDF from the figures of
:mod:`touchpoint.services.reports`. Only ``pdf`` needs Qt; the services never
import this package."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from touchpoint.services.reports import DailyReport

FORMATS = ("pdf", "html", "xlsx")


def write_report(report: DailyReport, fmt: str, out: str | os.PathLike[str]) -> int | None:
    """Write the daily report as ``fmt``, atomically; the PDF's page count, else None.

    Each writer is imported only when asked for: the PDF is the one that loads Qt."""
    if fmt == "pdf":
        from touchpoint.reports.pdf import write_pdf

        return write_pdf(report, out)
    if fmt == "html":
        from touchpoint.reports.html import write_html

        write_html(report, os.fspath(out))
        return None
    if fmt == "xlsx":
        from touchpoint.reports.xlsx import write_workbook

        write_workbook(report, out)
        return None
    raise ValueError(f"unknown report format {fmt!r}")
