"""The follow-ups list: sections, one-key completion, snooze, reschedule, delete and undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt

from touchpoint.domain.enums import PromiseState
from touchpoint.services import customers, interactions
from touchpoint.services.interactions import FollowUpInput
from touchpoint.storage.models import FollowUp
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.followups_view import FollowUpsView


@pytest.fixture
def promises(ws: Workspace) -> dict[str, str]:
    """Three promises, made yesterday: one already overdue, one due today, one next month."""
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    logged = interactions.log_interaction(
        ws,
        customer=customer.id,
        kind="visit",
        occurred_at="yesterday 10:00",
        followups=[
            FollowUpInput("Send the quote", due="2026-11-18 08:00"),
            FollowUpInput("Call about delivery", due="today 16:00"),
            FollowUpInput("Quarterly review", due="2026-12-20 10:00"),
        ],
    ).value
    return {f.title: f.id for f in logged.followups}


def _row(ws: Workspace, followup_id: str) -> FollowUp:
    with ws.read() as session:
        row = session.get(FollowUp, followup_id)
        assert row is not None
        session.expunge(row)
        return row


def _view(qtbot: Any, backend: Backend, idle: Any) -> FollowUpsView:
    view = FollowUpsView(backend)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    view.activate()
    idle()
    return view


def test_sections_show_each_promise_under_its_heading(
    qtbot: Any, backend: Backend, idle: Any, promises: dict[str, str]
) -> None:
    view = _view(qtbot, backend, idle)
    rows = [
        view.tree.topLevelItem(n).text(0) + "|" + view.tree.topLevelItem(n).text(1)
        for n in range(view.tree.topLevelItemCount())
    ]
    assert rows[0] == "Overdue (1)|"
    assert rows[1].endswith("|Send the quote")
    assert rows[2] == "Today (1)|"
    assert rows[3] == "today 16:00|Call about delivery"
    # A Wednesday: tomorrow, the rest of this working week, next week, then later.
    assert rows[4:10] == [
        "Tomorrow (0)|",
        "|nothing here",
        "This week (0)|",
        "|nothing here",
        "Next week (0)|",
        "|nothing here",
    ]
    assert rows[10] == "Later (1)|"
    assert rows[11].endswith("|Quarterly review")
    assert "3 open · 1 overdue" in view.summary.text()
    # Rows a hand can hit; whose and what state are not repeated on every row.
    assert view.tree.visualItemRect(view.tree.topLevelItem(1)).height() >= 24
    assert view.tree.isColumnHidden(3) and view.tree.isColumnHidden(4)
    view.mine_only.setChecked(False)
    idle()
    assert not view.tree.isColumnHidden(3)


def test_on_a_sunday_mondays_promises_are_tomorrow_and_the_filter_finds_them(
    qtbot: Any, backend: Backend, ws: Workspace, clock: Any, idle: Any
) -> None:
    clock.current = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday in Berlin
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    muller = customers.create_customer(ws, {"name": "Müller Bau"}).value
    for customer, title, due in (
        (acme, "Send the quote", "2026-11-23 10:00"),
        (muller, "Call about delivery", "2026-11-23 15:00"),
        (acme, "Visit the plant", "2026-11-26 10:00"),
    ):
        interactions.log_interaction(
            ws, customer=customer.id, kind="call", followups=[FollowUpInput(title, due=due)]
        )
    view = _view(qtbot, backend, idle)
    headings = [
        view.tree.topLevelItem(n).text(0)
        for n in range(view.tree.topLevelItemCount())
        if not view.tree.topLevelItem(n).data(0, Qt.ItemDataRole.UserRole)
        and view.tree.topLevelItem(n).text(0)
    ]
    assert headings == ["Overdue (0)", "Today (0)", "Tomorrow (2)", "Next week (1)", "Later (0)"]
    view.filter.setText("muller")  # accents and case folded
    shown = [
        view.tree.topLevelItem(n).text(1)
        for n in range(view.tree.topLevelItemCount())
        if view.tree.topLevelItem(n).data(0, Qt.ItemDataRole.UserRole)
        and not view.tree.topLevelItem(n).isHidden()
    ]
    assert shown == ["Call about delivery"]
    assert any(
        view.tree.topLevelItem(n).text(0) == "Tomorrow (1 of 2)"
        for n in range(view.tree.topLevelItemCount())
    )


def test_space_completes_and_marks_it_late(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, promises: dict[str, str]
) -> None:
    view = _view(qtbot, backend, idle)
    assert view.select(promises["Send the quote"])
    qtbot.keyClick(view.tree, Qt.Key.Key_Space)
    idle()
    done = _row(ws, promises["Send the quote"])
    assert done.status == "done"
    assert "late" in view.message.text()
    # It moves to "Done just now" with its mark; the cursor moved on to the next promise.
    assert view.current_id() == promises["Call about delivery"]
    last = view.tree.topLevelItem(view.tree.topLevelItemCount() - 1)
    assert last.text(1) == "Send the quote" and last.text(4) == "✓ late"

    qtbot.keyClick(view.tree, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    idle()
    kept = _row(ws, promises["Call about delivery"])
    assert kept.status == "done"
    assert view._views[kept.id].state == PromiseState.KEPT


def test_snooze_moves_only_the_reminder(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, promises: dict[str, str]
) -> None:
    view = _view(qtbot, backend, idle)
    before = _row(ws, promises["Call about delivery"])
    view.select(promises["Call about delivery"])
    qtbot.keyClick(view.tree, Qt.Key.Key_S)
    menu = view._menu
    qtbot.waitUntil(menu.isVisible)
    qtbot.keyClick(menu, Qt.Key.Key_T)  # Tomorrow morning
    idle()
    after = _row(ws, promises["Call about delivery"])
    assert after.due_at == before.due_at
    # 9:00 in Berlin on Thu 19 Nov is 08:00 UTC.
    assert after.remind_at.replace(tzinfo=UTC) == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert after.status == "open"


def test_reschedule_and_reassign_take_typed_values(
    qtbot: Any,
    backend: Backend,
    idle: Any,
    promises: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = backend.ws
    view = _view(qtbot, backend, idle)
    answers = iter(["fri 10:00", "tom@example.com"])
    monkeypatch.setattr(view, "ask_when", lambda *_: next(answers))
    monkeypatch.setattr(view, "ask_text", lambda *_: next(answers))
    view.select(promises["Quarterly review"])
    qtbot.keyClick(view.tree, Qt.Key.Key_R)
    idle()
    view.select(promises["Quarterly review"])
    qtbot.keyClick(view.tree, Qt.Key.Key_A)
    idle()
    row = _row(ws, promises["Quarterly review"])
    assert row.due_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert row.assigned_to == "tom@example.com"
    # Mine only: it left this rep's list.
    assert not view.select(promises["Quarterly review"])


def test_a_bad_typed_date_is_shown_and_nothing_changes(
    qtbot: Any,
    backend: Backend,
    idle: Any,
    promises: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = backend.ws
    view = _view(qtbot, backend, idle)
    before = _row(ws, promises["Quarterly review"])
    monkeypatch.setattr(view, "ask_when", lambda *_: "someday soon")
    view.select(promises["Quarterly review"])
    view.reschedule_current()
    idle()
    assert "is not a date" in view.message.text()
    assert _row(ws, promises["Quarterly review"]).due_at == before.due_at


def test_delete_then_undo_restores_it(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, promises: dict[str, str]
) -> None:
    view = _view(qtbot, backend, idle)
    view.select(promises["Quarterly review"])
    qtbot.keyClick(view.tree, Qt.Key.Key_Delete)
    idle()
    assert _row(ws, promises["Quarterly review"]).deleted_at is not None
    assert view.undo_bar.isVisible() and "Quarterly review" in view.undo_bar.message.text()
    assert not view.select(promises["Quarterly review"])

    qtbot.keyClick(view.undo_bar.button, Qt.Key.Key_Space)
    idle()
    assert _row(ws, promises["Quarterly review"]).deleted_at is None
    assert not view.undo_bar.isVisible()
    assert view.select(promises["Quarterly review"])


def test_enter_opens_the_customer(
    qtbot: Any, backend: Backend, idle: Any, promises: dict[str, str]
) -> None:
    view = _view(qtbot, backend, idle)
    view.select(promises["Send the quote"])
    with qtbot.waitSignal(view.open_customer) as opened:
        qtbot.keyClick(view.tree, Qt.Key.Key_Return)
    assert opened.args[0] == view._views[promises["Send the quote"]].customer_id


def test_changes_elsewhere_refresh_the_list(
    qtbot: Any, backend: Backend, idle: Any, promises: dict[str, str]
) -> None:
    from touchpoint.services import followups

    view = _view(qtbot, backend, idle)
    backend.write(lambda ws: followups.cancel_followup(ws, promises["Send the quote"])).run()
    idle()
    idle()
    assert not view.select(promises["Send the quote"])


def test_the_when_dialog_shows_what_it_understood(qtbot: Any, ws: Workspace) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from touchpoint.ui.widgets.when_dialog import WhenDialog

    dialog = WhenDialog("Reschedule", "New due time:", "+1d", now=ws.now, tz=ws.tz)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    tomorrow = (ws.now() + timedelta(days=1)).astimezone(ws.tz)
    assert dialog.understood.text().startswith("→ " + tomorrow.strftime("%a %d %b %Y"))
    assert ok.isEnabled()
    dialog.edit.setText("someday soon")
    assert "type a date" in dialog.understood.text() and not ok.isEnabled()
    dialog.edit.setText("fri 10:00")
    assert dialog.understood.text().startswith("→ Fri ") and dialog.value() == "fri 10:00"
