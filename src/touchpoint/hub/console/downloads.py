"""The daily report as a file to download: the bytes ``touchpoint-hub report daily``
writes, from the same :func:`touchpoint.reports.write_report`.

HTML and Excel are written in the request's thread. The PDF is drawn by Qt, which
wants its application object and widgets in one process's main thread, never in a
server's worker threads: it is written by a child process started for it, which gets
the report (pickled by :mod:`multiprocessing`) and writes the file the page then sends.

A file is made once per report and format: the console keeps a team's report until its
part of the log moves, so ten managers downloading the morning's PDF share one drawing.
Files are told apart by a digest of the report itself, never by the request, so a
changed report can never be served from an older file. Each worker draws one file of a
format at a time: a drawing takes a core for seconds, and the pages must keep theirs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
import tempfile
import threading
from collections import OrderedDict
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

KEPT_FILES = 24  # recent files per worker (a 50-rep PDF is about 200 KB)
_kept: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
_kept_lock = threading.Lock()
_drawing = {fmt: threading.Lock() for fmt in MEDIA}


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
    """The report as ``fmt`` (pdf, xlsx or html), as the command line writes it; the same
    report asked for again is the file already made."""
    if fmt not in MEDIA:
        raise ValueError(f"unknown report format {fmt!r}")
    key = (fmt, hashlib.blake2b(pickle.dumps(report, protocol=5), digest_size=20).digest())
    body = _kept_file(key)
    if body is not None:
        return body
    with _drawing[fmt]:
        body = _kept_file(key)  # made by the request this one waited for
        if body is None:
            body = _make(report, fmt)
            with _kept_lock:
                _kept[key] = body
                while len(_kept) > KEPT_FILES:
                    _kept.popitem(last=False)
    return body


def _kept_file(key: tuple[str, bytes]) -> bytes | None:
    with _kept_lock:
        body = _kept.get(key)
        if body is not None:
            _kept.move_to_end(key)
        return body


def _make(report: DailyReport, fmt: str) -> bytes:
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
