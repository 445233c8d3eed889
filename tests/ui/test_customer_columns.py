"""The customer list's columns: the useful ones shown at the default width without a
horizontal scroll, the others picked by the user, widths and order remembered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from touchpoint.services import customers, followups
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.customer_list_model import COLUMNS
from touchpoint.ui.main_window import MainWindow


def _headings(view: Any) -> list[str]:
    header = view.table.horizontalHeader()
    shown = [c for c in range(len(COLUMNS)) if not view.table.isColumnHidden(c)]
    return [COLUMNS[c][0] for c in sorted(shown, key=header.visualIndex)]


def _window(qtbot: Any, backend: Backend, settings: QSettings) -> MainWindow:
    window = MainWindow(backend, settings, reminders=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.show_customers()
    return window


def test_default_columns_fit_and_say_what_matters(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, clock: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(
        ws,
        {
            "name": "Adams Materials Boston Co.",
            "status": "active",
            "addresses": [{"street": "1 Main St", "city": "Boston"}],
        },
    ).value
    for score in (2, 5, 4, 4):  # the last three: 5, 4, 4 -> 4.3 (half up)
        clock.advance(hours=1)
        log_interaction(ws, customer=acme.id, kind="call", satisfaction=score)
    log_interaction(
        ws,
        customer=acme.id,
        kind="visit",
        followups=[FollowUpInput("Late one", "-2d"), FollowUpInput("Quote", "+1d")],
    )
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = _window(qtbot, backend, settings)
    view = window.customers.list
    qtbot.waitUntil(lambda: view.model.index(0, 0).data() == "Adams Materials Boston Co.")
    idle()
    assert _headings(view) == ["Name", "Last touch", "Next follow-up", "Overdue"]
    # At the default width the list needs no horizontal scroll, and the name is not cut.
    assert not view.table.horizontalScrollBar().isVisible()
    name_width = view.table.columnWidth(0)
    assert name_width >= view.table.fontMetrics().horizontalAdvance("Adams Materials Boston Co.")
    row = [view.model.index(0, c).data() for c in range(len(COLUMNS))]
    assert row[5] == "1"  # overdue
    assert row[4] == "Mon 16 Nov"  # the day of the earliest open one (the late one)
    assert row[6] == "4.3" and row[8] == "Boston"

    # Pick Satisfaction and City from the Columns menu; move City first after the name.
    view.column_actions[6].setChecked(True)
    view.column_actions[8].setChecked(True)
    header = view.table.horizontalHeader()
    header.moveSection(header.visualIndex(8), 1)
    view.table.setColumnWidth(6, 77)
    view.save_columns()
    assert _headings(view)[:2] == ["Name", "City"]
    window.close()

    again = _window(qtbot, backend, settings)
    view2 = again.customers.list
    assert _headings(view2) == [
        "Name", "City", "Last touch", "Next follow-up", "Overdue", "Satisfaction"
    ]  # fmt: skip
    assert view2.table.columnWidth(6) == 77
    assert view2.column_actions[6].isChecked() and not view2.column_actions[1].isChecked()
    again.close()


def test_on_a_small_laptop_the_list_keeps_room_for_names(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    customers.create_customer(ws, {"name": "Schneider Anlagenbau GmbH"})
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = MainWindow(backend, settings, reminders=False)
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    window.show_customers()
    view = window.customers.list
    qtbot.waitUntil(lambda: view.model.index(0, 0).data() == "Schneider Anlagenbau GmbH")
    idle()
    assert view.width() >= 440
    assert not view.table.horizontalScrollBar().isVisible()
    assert view.table.columnWidth(0) >= 150
    window.close()


def test_every_column_shows_the_records_and_follows_an_edit(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, clock: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(
        ws,
        {
            "name": "Acme GmbH",
            "status": "active",
            "owner": "tom@example.com",
            "territory": "Berlin",
            "tags": ["key"],
            "addresses": [{"street": "1 Main St"}, {"city": "Boston"}],
        },
    ).value
    logged = log_interaction(
        ws,
        customer=acme.id,
        kind="visit",
        satisfaction=4,
        occurred_at=clock() - timedelta(days=3),
        followups=[FollowUpInput("Late one", "-2d"), FollowUpInput("Quote", "+1d")],
    ).value
    late = next(f for f in logged.followups if f.title == "Late one")
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = _window(qtbot, backend, settings)
    view = window.customers.list
    for action in view.column_actions:
        action.setChecked(True)
    qtbot.waitUntil(lambda: view.model.index(0, 0).data() == "Acme GmbH")
    idle()

    def row() -> list[str]:
        return [view.model.index(0, c).data() for c in range(len(COLUMNS))]

    assert [view.table.isColumnHidden(c) for c in range(len(COLUMNS))] == [False] * len(COLUMNS)
    assert row() == [
        "Acme GmbH", "active", "tom@example.com", "3 days ago", "Mon 16 Nov", "1", "4.0",
        "key", "Boston", "Berlin", "2 open, 1 overdue",
    ]  # fmt: skip

    # Three edits, each through the window's database thread as a view makes them.
    edits = [
        lambda w: customers.edit_customer(
            w, acme.id, {"tags": ["key", "rental"], "addresses": [{"city": "Köln"}]}
        ),
        lambda w: followups.complete_followup(w, late.id),
        lambda w: log_interaction(w, customer=acme.id, kind="call", satisfaction=1),
    ]
    for edit in edits:
        backend.write(edit).run()
    qtbot.waitUntil(lambda: row()[8] == "Köln" and row()[3] == "today")
    idle()
    assert row() == [
        "Acme GmbH", "active", "tom@example.com", "today", "tomorrow", "", "2.5",
        "key, rental", "Köln", "Berlin", "1 open",
    ]  # fmt: skip
    window.close()
