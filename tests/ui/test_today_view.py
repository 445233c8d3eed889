"""Today: overdue first and large, every cut list opens in full."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from touchpoint.services import customers, insights
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow
from touchpoint.ui.today_view import TodayView


def test_going_quiet_cut_at_twenty_opens_in_full(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    for n in range(23):
        customers.create_customer(ws, {"name": f"Silent {n:02}", "status": "active"})
    view = TodayView(backend)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    view.refresh()
    idle()
    assert view.quiet.list.count() == 20
    assert view.quiet.more.isVisible() and view.quiet.more.text() == "Show all 23"
    view.quiet.more.click()
    idle()
    assert view.quiet.list.count() == 23
    assert view.quiet.title.text() == "Going quiet  (23)"
    assert not view.quiet.more.isVisible()


def test_overdue_fills_the_left_column_and_opens_in_full_on_follow_ups(  # noqa: PLR0917
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(insights, "DUE_LIMIT", 2)
    acme = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    promises = [FollowUpInput(title=f"Late {n}", due=f"-{n}d") for n in range(1, 5)]
    log_interaction(ws, customer=acme.id, kind="call", followups=promises, allow_past=True)
    window = MainWindow(backend, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    today = window.today
    qtbot.waitUntil(lambda: today.data is not None)
    idle()
    # Large: the whole height of the page, taller than the empty "Due today" beside it.
    assert today.overdue.height() > 2 * today.due.height()
    assert today.overdue.title.text() == "Overdue  (2 of 4)"
    assert today.overdue.more.isVisible()
    today.overdue.more.click()
    assert window.current_page == "followups"
    idle()
    page = window.pages["followups"]
    assert page.tree.topLevelItem(0).text(0) == "Overdue (4)"  # type: ignore[attr-defined]
    window.close()
