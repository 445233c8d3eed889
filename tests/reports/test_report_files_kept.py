"""The console's report files: made once per report and format, never stale."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date

import pytest

from touchpoint.hub.console import downloads
from touchpoint.services import reports
from touchpoint.storage.workspace import Workspace

MARIA, TOM = "maria@example.com", "tom@example.com"

DAY = date(2026, 11, 17)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> list[str]:
    """Each file the console really writes (its format), with the cache emptied. A test
    marked ``slow_drawing`` has each drawing take 0.2 s more: long enough for a second
    request to arrive while it draws."""
    made: list[str] = []
    real = downloads._write
    delay = 0.2 if request.node.get_closest_marker("slow_drawing") else 0.0

    def counted(report: reports.DailyReport, fmt: str, out: str) -> None:
        time.sleep(delay)
        real(report, fmt, out)
        made.append(fmt)

    monkeypatch.setattr(downloads, "_write", counted)
    monkeypatch.setattr(downloads, "_kept", type(downloads._kept)())
    return made


def test_the_same_report_is_written_once_and_a_changed_one_again(
    team: Workspace, writes: list[str]
) -> None:
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM], scope="team north")
    first = downloads.render(report, "html")
    assert downloads.render(report, "html") == first
    assert writes == ["html"]

    # Another format, and a report whose figures differ, are files of their own.
    downloads.render(report, "xlsx")
    other = replace(report, scope="team south")
    changed = downloads.render(other, "html")
    assert writes == ["html", "xlsx", "html"]
    assert "team south" in changed.decode() and "team south" not in first.decode()


@pytest.mark.slow_drawing
def test_requests_arriving_together_share_one_drawing(team: Workspace, writes: list[str]) -> None:
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM], scope="team north")
    bodies: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: bodies.append(downloads.render(report, "html")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writes == ["html"]
    assert len(bodies) == 4 and len(set(bodies)) == 1


def test_only_the_newest_files_are_kept(
    team: Workspace, writes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "KEPT_FILES", 2)
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM], scope="team north")
    for scope in ("a", "b", "c"):
        downloads.render(replace(report, scope=scope), "html")
    downloads.render(replace(report, scope="a"), "html")  # pushed out by b and c
    downloads.render(replace(report, scope="c"), "html")  # still kept
    assert writes == ["html"] * 4


def test_pdfs_are_drawn_by_one_child_kept_between_drawings(team: Workspace) -> None:
    """The child drawing PDFs is started once and kept (its start is most of a drawing's
    work); one that died is replaced at the next drawing."""
    report = reports.daily_report(team, DAY, DAY, reps=[MARIA, TOM], scope="team north")
    first = downloads.render(replace(report, scope="one"), "pdf")
    drawer = downloads._drawers["pdf"]
    drawn = drawer.drawn  # (it may have drawn for another test before)
    second = downloads.render(replace(report, scope="two"), "pdf")
    assert first.startswith(b"%PDF") and second.startswith(b"%PDF") and first != second
    assert downloads._drawers["pdf"] is drawer and drawer.drawn == drawn + 1
    drawer.process.kill()
    drawer.process.join()
    third = downloads.render(replace(report, scope="three"), "pdf")
    assert third.startswith(b"%PDF") and downloads._drawers["pdf"] is not drawer
