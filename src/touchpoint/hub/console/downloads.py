"""The daily report as a file to download: the bytes ``touchpoint-hub report daily``
writes, from the same :func:`touchpoint.reports.write_report`.

HTML and Excel are written in the Hub's process. The PDF is drawn by Qt, which wants its
application object and widgets in one process's main thread, never in a server's worker
threads: it is written by a child process (:class:`_Drawer`, started at the first PDF and
kept for the next ones), which gets the report (pickled) and writes the file the page
then sends.

A file is made once per report and format: the console keeps a team's report until its
part of the log moves, so ten managers downloading the morning's PDF share one drawing.
Files are told apart by a digest of the report itself, never by the request, so a
changed report can never be served from an older file. Each worker draws one file of a
format at a time, on a thread of that format's own (a drawing takes a core for seconds,
and the pages must keep theirs); :func:`file_of` hands out the drawing as a future, so a
page waiting for it can await it without holding one of the request threads.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
_making: dict[tuple[str, bytes], Future[bytes]] = {}  # files being made now
_kept_lock = threading.Lock()
# One file of a format at a time (threads started when first needed).
_makers = {fmt: ThreadPoolExecutor(1, thread_name_prefix=f"report-{fmt}") for fmt in MEDIA}


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
    return file_of(report, fmt).result()


def file_of(report: DailyReport, fmt: str) -> Future[bytes]:
    """The report's file as a future: done at once when the file was made already, else
    the making of it under way (one for every request asking for the same report)."""
    if fmt not in MEDIA:
        raise ValueError(f"unknown report format {fmt!r}")
    key = (fmt, hashlib.blake2b(pickle.dumps(report, protocol=5), digest_size=20).digest())
    with _kept_lock:
        body = _kept.get(key)
        if body is not None:
            _kept.move_to_end(key)
            done: Future[bytes] = Future()
            done.set_result(body)
            return done
        making = _making.get(key)
        if making is None:
            making = _makers[fmt].submit(_made, key, report)
            _making[key] = making
        return making


def _made(key: tuple[str, bytes], report: DailyReport) -> bytes:
    try:
        body = _make(report, key[0])
    except BaseException:
        with _kept_lock:
            _making.pop(key, None)  # the next request tries again
        raise
    with _kept_lock:
        _kept[key] = body
        while len(_kept) > KEPT_FILES:
            _kept.popitem(last=False)
        _making.pop(key, None)
    return body


def _make(report: DailyReport, fmt: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tp-report-") as folder:
        out = Path(folder) / f"report.{fmt}"
        if fmt == "pdf":
            _draw(report, str(out))  # on the PDF's own thread: one drawing at a time
            if not out.is_file():
                raise RenderFailed("the PDF could not be drawn")
        else:
            _write(report, fmt, str(out))
        return out.read_bytes()


class _Drawer:
    """A child process that draws PDFs, one after another, kept between drawings: its
    start (an interpreter, Qt and the report code) is most of a drawing's CPU, so a
    team's PDF made again after each change costs a fifth of what a new child does."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_drawing_loop, args=(theirs,), name="touchpoint-pdf", daemon=True
        )
        self.process.start()
        theirs.close()
        self.drawn = 0

    def draw(self, report: DailyReport, out: str) -> None:
        self.conn.send((report, out))
        if not self.conn.poll(PDF_SECONDS):
            raise RenderFailed("drawing the PDF took too long")
        try:
            problem = self.conn.recv()
        except EOFError:  # the child died (the pipe closed)
            raise RenderFailed("the PDF could not be drawn") from None
        self.drawn += 1
        if problem is not None:
            raise RenderFailed("the PDF could not be drawn")

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join()


DRAWINGS_PER_CHILD = 200  # then a new child: whatever Qt keeps between drawings goes
_drawers: dict[str, _Drawer] = {}  # the one kept ("pdf"), used by the PDF's thread only


def _draw(report: DailyReport, out: str) -> None:
    drawer = _drawers.get("pdf")
    if drawer is None or not drawer.process.is_alive():
        drawer = _drawers["pdf"] = _Drawer()
    try:
        drawer.draw(report, out)
    except RenderFailed:
        del _drawers["pdf"]  # hung or dead: the next drawing starts a new child
        drawer.stop()
        raise
    if drawer.drawn >= DRAWINGS_PER_CHILD:
        del _drawers["pdf"]
        drawer.stop()


def _drawing_loop(conn: Any) -> None:
    """The drawer's child: each (report, path) received is written as a PDF there, and
    answered with None, or the problem's words; it ends when the Hub's end closes."""
    while True:
        try:
            report, out = conn.recv()
        except EOFError:
            return
        try:
            _write(report, "pdf", out)
        except Exception as exc:
            conn.send(f"{type(exc).__name__}: {exc}")
        else:
            conn.send(None)
