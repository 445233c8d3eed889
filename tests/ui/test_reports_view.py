"""The Reports page: the same figures as the exported report, filters, exports."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from touchpoint.services import customers, goals, reports
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.reports_view import ReportsView

MARIA, TOM = "maria@example.com", "tom@example.com"


@pytest.fixture
def seeded(ws: Workspace, clock) -> Workspace:
    """Tuesday 17 Nov: Maria calls Acme (5) with a promise kept late; Tom visits Bolt (2)."""
    clock.current = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
    acme = customers.create_customer(ws, {"name": "Acme", "status": "active", "owner": MARIA})
    bolt = customers.create_customer(ws, {"name": "Bolt", "status": "active", "owner": TOM})
    customers.create_customer(ws, {"name": "Silent KG", "status": "active", "owner": TOM})
    log_interaction(
        ws,
        customer=acme.value.id,
        kind="call",
        satisfaction=5,
        feedback="Great",
        followups=[FollowUpInput(title="Quote", due=datetime(2026, 11, 17, 10, tzinfo=UTC))],
    )
    ws.settings = replace(ws.settings, user=TOM)
    clock.current = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    log_interaction(ws, customer=bolt.value.id, kind="visit", satisfaction=2)
    ws.settings = replace(ws.settings, user=MARIA)
    goals.set_goal(ws, kind="call", count=2, per="day")
    goals.add_team_members(ws, "north", [MARIA, TOM])
    clock.current = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    return ws


@pytest.fixture
def view(seeded: Workspace, backend: Backend, qtbot: Any) -> ReportsView:
    page = ReportsView(backend)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    return page


def test_figures_match_the_exported_report(view: ReportsView, on_worker) -> None:
    assert view.first.date().toString("yyyy-MM-dd") == "2026-11-11"
    assert view.last.date().toString("yyyy-MM-dd") == "2026-11-17"
    expected = on_worker(
        lambda ws: reports.daily_report(ws, date(2026, 11, 11), date(2026, 11, 17))
    )
    assert view.report == expected
    assert view.report.team.interactions == 2
    text = view.summary.text()
    assert "<b>2</b> interactions" in text
    assert "promise-keeping <b>0%</b>" in text  # the one promise was overdue
    assert "satisfaction <b>3.5</b>" in text
    assert view.quiet.rowCount() == 1
    assert view.quiet.item(0, 0).text() == "Silent KG"
    assert view.quiet.item(0, 1).text() == "Tom"  # the owner by name


def test_team_and_rep_filters(view: ReportsView, qtbot: Any) -> None:
    choices = [view.who.itemText(i) for i in range(view.who.count())]
    # Reps by name, with the email that identifies them.
    assert choices == ["All reps", "Team north", f"Maria ({MARIA})", f"Tom ({TOM})"]
    view.who.setCurrentIndex(choices.index(f"Tom ({TOM})"))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    assert [r.rep for r in view.report.reps] == [TOM]
    assert view.report.team.satisfaction == 2


def test_from_after_to_is_said_not_computed(view: ReportsView) -> None:
    before = view.report
    view.first.setDate(view.last.date().addDays(1))
    view.refresh()
    assert "is after" in view.summary.text()
    assert view.report is before


def test_exports_write_the_shown_figures(view: ReportsView, qtbot: Any, tmp_path) -> None:
    pdf = tmp_path / "report.pdf"
    with qtbot.waitSignal(view.exported, timeout=20_000):
        view.export("pdf", pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    out = tmp_path / "activity.csv"
    with qtbot.waitSignal(view.exported, timeout=20_000):
        view.export("activity-csv", out)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[1] for r in rows[1:]] == ["Acme", "Bolt"]
    assert "Wrote 2 interactions" in view.status.text()
    assert all(b.isEnabled() for b in view.buttons.values())
    bad = tmp_path / "missing" / "a.xlsx"
    view.export("activity-xlsx", bad)
    qtbot.waitUntil(lambda: "Nothing was written" in view.status.text(), timeout=10_000)
    assert not bad.exists()


def test_charts_and_check_boxes_follow_the_dark_theme(
    qtbot: Any, backend: Backend, idle: Any, qapp: Any
) -> None:
    """On the dark palette a chart is a dark panel with light text (not a white panel),
    and a check box has an outline of its own."""
    from PySide6.QtGui import QPalette

    from touchpoint.ui.reports_view import ReportsView
    from touchpoint.ui.theme import apply_theme

    apply_theme(qapp, "dark")
    try:
        view = ReportsView(backend)
        qtbot.addWidget(view)
        view.show()
        idle()
        chart = view.activity_chart.chart()
        base = qapp.palette().color(QPalette.ColorRole.Base)
        assert chart.backgroundBrush().color() == base and base.lightness() < 64
        assert chart.titleBrush().color().lightness() > 180
        assert chart.axes() and all(a.labelsColor().lightness() > 180 for a in chart.axes())
        assert "QCheckBox::indicator" in qapp.styleSheet()
    finally:
        apply_theme(qapp, "light")
    assert "QCheckBox::indicator" not in qapp.styleSheet()
    # Back to light while shown: the charts follow (Settings changes the theme so).
    qtbot.waitUntil(lambda: chart.backgroundBrush().color().lightness() > 200)
    assert all(a.labelsColor().lightness() < 100 for a in chart.axes())
