"""Activity: the rep's own log, filtered by date range, kind, outcome and words; paged."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt

from touchpoint.services import customers, interactions
from touchpoint.storage.workspace import Workspace
from touchpoint.ui import activity_view
from touchpoint.ui.activity_view import ActivityView
from touchpoint.ui.backend import Backend


@pytest.fixture
def logged(ws: Workspace) -> str:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    for when, kind, outcome, notes in (
        ("2026-11-18 08:00", "call", "connected", "Quote for forklifts"),
        ("2026-11-17 14:00", "visit", "order", "Signed the order"),
        ("2026-11-02 10:00", "call", "voicemail", "Left a message"),
        ("2026-09-01 10:00", "email", None, "Old news"),
    ):
        interactions.log_interaction(
            ws, customer=acme.id, kind=kind, occurred_at=when, outcome=outcome, notes=notes
        )
    return acme.id


def _view(qtbot: Any, backend: Backend, idle: Any) -> ActivityView:
    view = ActivityView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    view.activate()
    idle()
    return view


def _notes(view: ActivityView) -> list[str]:
    return [view.table.item(n, 5).text() for n in range(view.table.rowCount())]


def test_the_last_thirty_days_newest_first(
    qtbot: Any, backend: Backend, idle: Any, logged: str
) -> None:
    view = _view(qtbot, backend, idle)
    assert _notes(view) == ["Quote for forklifts", "Signed the order", "Left a message"]
    assert view.table.item(0, 2).text() == "Acme GmbH"
    assert view.status.text() == "Interactions 1–3"


def test_filters_by_kind_outcome_range_and_words(
    qtbot: Any, backend: Backend, idle: Any, logged: str
) -> None:
    view = _view(qtbot, backend, idle)
    view.kind.setCurrentIndex(view.kind.findData("call"))
    idle()
    assert _notes(view) == ["Quote for forklifts", "Left a message"]
    view.outcome.setCurrentIndex(view.outcome.findData("voicemail"))
    idle()
    assert _notes(view) == ["Left a message"]
    view.kind.setCurrentIndex(0)
    view.outcome.setCurrentIndex(0)
    view.start.setDate(QDate(2026, 8, 1))
    view.end.setDate(QDate(2026, 9, 30))
    idle()
    assert _notes(view) == ["Old news"]
    view.start.setDate(QDate(2026, 8, 1))
    view.end.setDate(QDate(2026, 11, 30))
    view.text.setText("order")
    qtbot.waitUntil(lambda: _notes(view) == ["Signed the order"])


def test_pages_and_opening_a_customer(
    qtbot: Any, backend: Backend, idle: Any, logged: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity_view, "PAGE", 2)
    view = _view(qtbot, backend, idle)
    assert _notes(view) == ["Quote for forklifts", "Signed the order"]
    assert view.next.isEnabled() and not view.previous.isEnabled()
    qtbot.mouseClick(view.next, Qt.MouseButton.LeftButton)
    idle()
    assert _notes(view) == ["Left a message"]
    assert view.status.text() == "Interactions 3–3"
    assert view.previous.isEnabled() and not view.next.isEnabled()
    # Enter opens the whole interaction; from there, its customer.
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    dialog = view.interaction_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.detail is not None)
    assert dialog.notes.toPlainText() == "Left a message"
    with qtbot.waitSignal(view.open_customer) as opened:
        dialog.customer_button.click()
    assert opened.args == [logged]


def test_new_interactions_appear(qtbot: Any, backend: Backend, idle: Any, logged: str) -> None:
    view = _view(qtbot, backend, idle)
    backend.write(
        lambda ws: interactions.log_interaction(ws, customer=logged, kind="note", notes="Fresh")
    ).run()
    idle()
    qtbot.waitUntil(lambda: _notes(view)[:1] == ["Fresh"])
