"""The daily report as a file to download: the bytes ``touchpoint-hub report daily``
writes, from the same :func:`touchpoint.reports.write_report`.

HTML and Excel are written in the request's thread. The PDF is drawn by Qt, which
wants its application object and widgets in one process's main thread, never in a
server's worker threads: it is written by a child process started for it, which gets
the report (pickled by :mod:`multiprocessing`) and writes the file the page then sends.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from touchpoint.services.reports import DailyReport

PDF_SECONDS = 120  # a report of 50 reps is drawn in seconds; a hung child is stopped
MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}

FORMAT_NAMES = {"pdf": "PDF", "xlsx": "Excel", "html": "HTML"}


def report_links(team: str, **when: str) -> list[tuple[str, str]]:
    """(format's name, link) of the daily report's three files for a team and a day or
    a period (``date=`` or ``period=``), as the dashboard offers them."""
    return [
        (label, "/reports/daily?" + urlencode({"team": team, **when, "format": key}))
        for key, label in FORMAT_NAMES.items()
    ]


class RenderFailed(Exception):
    """The file could not be made (said to the person in words, never a traceback)."""


def _write(report: DailyReport, fmt: str, out: str) -> None:
    from touchpoint.reports import write_report

    write_report(report, fmt, out)


def render(report: DailyReport, fmt: str) -> bytes:
    """The report as ``fmt`` (pdf, xlsx or html), as the command line writes it."""
    if fmt not in MEDIA:
        raise ValueError(f"unknown report format {fmt!r}")
    with tempfile.TemporaryDirectory(prefix="tp-report-") as folder:
        out = Path(folder) / f"report.{fmt}"
        if fmt == "pdf":
            child = multiprocessing.get_context("spawn").Process(
                target=_write, args=(report, fmt, str(out)), daemon=True
            )
            child.start()
            child.join(PDF_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()
                raise RenderFailed("drawing the PDF took too long")
            if child.exitcode != 0 or not out.is_file():
                raise RenderFailed("the PDF could not be drawn")
        else:
            _write(report, fmt, str(out))
        return out.read_bytes()
