"""Logging an interaction: keyboard only, one transaction, errors beside fields, drafts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import select

from touchpoint.services import customers
from touchpoint.services.drafts import LOG_INTERACTION, DraftStore
from touchpoint.storage.models import FollowUp, Interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.log_dialog import LogInteractionDialog, flush_drafts, pending_draft


@pytest.fixture(autouse=True)
def _never_block_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a filled form asks a question; at teardown keep the draft, never block."""
    monkeypatch.setattr(LogInteractionDialog, "ask_discard", lambda self: "keep")


def _acme(ws: Workspace) -> tuple[str, str]:
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.create_customer(ws, {"name": "Bakery Schmidt"})
    contact = customers.add_contact(ws, customer.id, {"name": "Jana Weber"}).value
    return customer.id, contact.id


def _focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _press(
    qtbot: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(_focused(), key, modifier)


def _type(qtbot: Any, text: str) -> None:
    qtbot.keyClicks(_focused(), text)


def _open(qtbot: Any, backend: Backend, **kwargs: Any) -> LogInteractionDialog:
    dialog = LogInteractionDialog(backend, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(dialog.customer_edit.hasFocus)
    return dialog


def test_log_a_call_with_a_follow_up_from_the_keyboard_only(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    customer_id, contact_id = _acme(ws)
    dialog = _open(qtbot, backend)
    saved: list[Any] = []
    dialog.saved.connect(saved.append)

    _type(qtbot, "acm")
    popup = dialog.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    assert dialog.completer.completionModel().rowCount() == 1
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    idle()
    assert dialog.customer_edit.text() == "Acme GmbH"
    qtbot.waitUntil(lambda: dialog.contacts.count() == 1)

    _press(qtbot, Qt.Key.Key_Tab)  # contacts
    assert _focused() is dialog.contacts
    _press(qtbot, Qt.Key.Key_Space)  # tick Jana
    _press(qtbot, Qt.Key.Key_Tab)  # kind: call is chosen already
    assert _focused() is dialog.kind_buttons["call"]
    _press(qtbot, Qt.Key.Key_Tab)  # direction
    _press(qtbot, Qt.Key.Key_Tab)  # when
    assert _focused() is dialog.when
    _press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    _type(qtbot, "today 9:00")
    _press(qtbot, Qt.Key.Key_Tab)  # outcome
    _type(qtbot, "connected")
    _press(qtbot, Qt.Key.Key_Tab)  # duration
    _press(qtbot, Qt.Key.Key_Tab)  # satisfaction
    assert _focused() is dialog.satisfaction
    _press(qtbot, Qt.Key.Key_4)
    _press(qtbot, Qt.Key.Key_Tab)  # their words
    _type(qtbot, "The new forklifts are a delight")
    _press(qtbot, Qt.Key.Key_Tab)  # notes
    _type(qtbot, "Wants a quote for three more")
    _press(
        qtbot, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert _focused() is dialog.rows[0].title
    _type(qtbot, "Send the quote")
    _press(qtbot, Qt.Key.Key_Tab)
    assert _focused() is dialog.rows[0].due
    _press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    _type(qtbot, "fri 10:00")
    assert "Fri 20 Nov 2026, 10:00" in dialog.rows[0].parsed.text()
    _press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    idle()

    assert len(saved) == 1
    assert dialog.result() == dialog.DialogCode.Accepted
    with ws.read() as session:
        interaction = session.scalars(select(Interaction)).one()
        followup = session.scalars(select(FollowUp)).one()
    assert interaction.customer_id == customer_id
    assert interaction.kind == "call"
    assert interaction.contact_ids == [contact_id]
    assert interaction.outcome == "connected"
    assert interaction.satisfaction == 4
    assert interaction.feedback == "The new forklifts are a delight"
    assert interaction.notes == "Wants a quote for three more"
    assert interaction.occurred_at.replace(tzinfo=UTC) == datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    assert followup.title == "Send the quote"
    assert followup.interaction_id == interaction.id
    assert followup.due_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    flush_drafts(backend)
    assert not DraftStore(ws.paths.data_dir).exists(LOG_INTERACTION)


def test_kind_shortcuts_and_satisfaction_keys(qtbot: Any, backend: Backend, ws: Workspace) -> None:
    dialog = _open(qtbot, backend)
    qtbot.keyClick(dialog.customer_edit, Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)
    assert dialog.kind() == "visit"
    dialog.satisfaction.setFocus()
    qtbot.keyClick(dialog.satisfaction, Qt.Key.Key_5)
    assert dialog.satisfaction.value() == 5
    qtbot.keyClick(dialog.satisfaction, Qt.Key.Key_Backspace)
    assert dialog.satisfaction.value() is None


def test_bad_input_is_shown_beside_its_field_and_nothing_is_saved(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    customer_id, _ = _acme(ws)
    dialog = _open(qtbot, backend, customer_id=customer_id)
    idle()
    assert dialog.customer_edit.text() == "Acme GmbH"
    dialog.when.setText("someday")
    row = dialog.add_followup()
    row.title.setText("Call back")
    row.due.setText("the day after never")
    assert row.parsed.text() == "not a date yet"
    dialog.submit()
    idle()

    assert dialog.isVisible()
    assert "is not a date" in dialog.errors["when"].text()
    assert dialog.errors["when"].isVisibleTo(dialog)
    assert "due" in row.error.text() and "is not a date" in row.error.text()
    with ws.read() as session:
        assert session.scalars(select(Interaction)).all() == []
        assert session.scalars(select(FollowUp)).all() == []


def test_an_unknown_customer_is_named_beside_the_customer_field(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    _acme(ws)
    dialog = _open(qtbot, backend)
    dialog.customer_edit.setText("Nobody Ltd")
    dialog.notes.setPlainText("hello")
    dialog.submit()
    idle()
    assert "Nobody Ltd" in dialog.errors["customer"].text()
    with ws.read() as session:
        assert session.scalars(select(Interaction)).all() == []


def test_a_draft_survives_a_crash_and_comes_back(
    qtbot: Any, ws: Workspace, data_dir: Path, clock: Any, idle: Any
) -> None:
    customer_id, contact_id = _acme(ws)
    first = Backend(ws)
    dialog = LogInteractionDialog(first, customer_id=customer_id)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.contacts.count() == 1)
    dialog.contacts.item(0).setCheckState(Qt.CheckState.Checked)
    qtbot.keyClicks(dialog.notes, "Pallet racks damaged in hall 2")
    dialog.satisfaction.set_value(2)
    row = dialog.add_followup()
    qtbot.keyClicks(row.title, "Send a technician")
    store = DraftStore(data_dir)

    def drafted() -> bool:
        draft = store.load(LOG_INTERACTION)
        return draft is not None and draft.fields["followups"] == [
            {"title": "Send a technician", "due": "tomorrow"}
        ]

    qtbot.waitUntil(drafted)
    # The crash: no close, no accept/reject, the window and its backend simply vanish.
    dialog.hide()
    dialog.deleteLater()
    first._closed = True  # stop taking work without a tidy shutdown
    first._queue.put(None)

    again = Workspace.open(data_dir, auto_backup=False, clock=clock)
    second = Backend(again)
    try:
        draft = pending_draft(second)
        assert draft is not None
        restored = LogInteractionDialog(second, draft=draft)
        qtbot.addWidget(restored)
        qtbot.waitUntil(lambda: restored.contacts.count() == 1)
        assert restored.customer_edit.text() == "Acme GmbH"
        assert restored.notes.toPlainText() == "Pallet racks damaged in hall 2"
        assert restored.satisfaction.value() == 2
        assert restored.checked_contacts() == [contact_id]
        assert [r.title.text() for r in restored.rows] == ["Send a technician"]
        restored.submit()
        qtbot.waitUntil(lambda: second.pending == 0)
        flush_drafts(second)
        assert pending_draft(second) is None
        with again.read() as session:
            assert session.scalars(select(FollowUp.title)).all() == ["Send a technician"]
    finally:
        second.shutdown()


def test_escape_asks_before_discarding_typed_text(
    qtbot: Any, backend: Backend, ws: Workspace, monkeypatch: Any
) -> None:
    dialog = _open(qtbot, backend)
    qtbot.keyClicks(dialog.customer_edit, "Someone")
    answers = iter(["stay", "discard"])
    monkeypatch.setattr(dialog, "ask_discard", lambda: next(answers))
    qtbot.keyClick(dialog.customer_edit, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    qtbot.keyClick(dialog.customer_edit, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    flush_drafts(backend)
    assert not DraftStore(ws.paths.data_dir).exists(LOG_INTERACTION)


def test_follow_up_rows_are_added_and_removed(qtbot: Any, backend: Backend) -> None:
    dialog = _open(qtbot, backend)
    first = dialog.add_followup()
    second = dialog.add_followup()
    assert second.title.accessibleName() == "Follow-up 2: what was promised"
    dialog.remove_followup(first)
    assert dialog.rows == [second]
    assert second.title.accessibleName() == "Follow-up 1: what was promised"
    second.due.setText("+3d")
    assert "Sat 21 Nov 2026, 17:00" in second.parsed.text()


@pytest.mark.parametrize(("people", "rows"), [(4, 4), (9, 6)])
def test_contacts_are_shown_whole_up_to_six(
    qtbot: Any, backend: Backend, ws: Workspace, people: int, rows: int
) -> None:
    customer = customers.create_customer(ws, {"name": "Many People AG"}).value
    for n in range(people):
        customers.add_contact(ws, customer.id, {"name": f"Person {n}", "title": "Buyer"})
    dialog = _open(qtbot, backend, customer_id=customer.id)
    qtbot.waitUntil(lambda: dialog.contacts.count() == people)
    row = dialog.contacts.sizeHintForRow(0)
    inside = dialog.contacts.height() - 2 * dialog.contacts.frameWidth()
    assert inside == rows * row  # whole rows, none cut in half
    assert dialog.contacts.verticalScrollBar().maximum() == (0 if people <= 6 else people - 6)
