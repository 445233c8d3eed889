"""Contacts in the customer profile: add from the keyboard, edit in place, delete and undo."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from sqlalchemy import func, select

from touchpoint.services import customers
from touchpoint.storage.models import Change
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.contact_editor import ContactEditor
from touchpoint.ui.profile_view import ProfileView


@pytest.fixture
def profile(qtbot: Any, backend: Backend) -> ProfileView:
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 900)
    view.show()
    view.activateWindow()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def acme(ws: Workspace) -> str:
    return customers.create_customer(ws, {"name": "Acme GmbH"}).value.id


def _open(qtbot: Any, profile: ProfileView, customer_id: str) -> ContactEditor:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(customer_id)
    return profile.contact_editor


def _line(editor: ContactEditor, key: str) -> QLineEdit:
    return editor._line(key)


def _type(qtbot: Any, editor: ContactEditor, key: str, text: str) -> None:
    line = _line(editor, key)
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)


def _log_rows(on_worker: Any) -> int:
    def count(ws: Workspace) -> int:
        with ws.read() as s:
            return int(s.scalar(select(func.count()).select_from(Change)) or 0)

    return int(on_worker(count))


def test_a_contact_is_added_from_the_keyboard(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, profile: ProfileView, acme: str, idle: Any, on_worker: Any
) -> None:
    editor = _open(qtbot, profile, acme)
    profile.contacts.setFocus()
    QApplication.processEvents()
    qtbot.keyClick(
        profile.contacts,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert editor.form.isVisible()
    assert QApplication.focusWidget() is _line(editor, "name")
    qtbot.keyClicks(_line(editor, "name"), "Jana Roth")
    _type(qtbot, editor, "title", "Head of Purchasing")
    editor.role.setCurrentIndex(editor.role.findData("decision maker"))
    _type(qtbot, editor, "emails", "jana@acme.example")
    _type(qtbot, editor, "phones", "030 1234567")
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        qtbot.keyClick(_line(editor, "phones"), Qt.Key.Key_Return)
    idle()

    stored = on_worker(lambda w: customers.list_contacts(w, acme))
    assert [p.name for p in stored] == ["Jana Roth"]
    jana = stored[0]
    assert jana.title == "Head of Purchasing"
    assert jana.decision_role == "decision maker"
    assert jana.emails[0]["value"] == "jana@acme.example"
    assert jana.phones[0]["value"] == "+49301234567"  # stored E.164
    assert not editor.form.isVisible()
    assert profile.contacts.count() == 1
    assert "+49 30 1234567" in profile.contacts.item(0).text()  # shown international
    assert profile.contacts_title.text() == "Contacts (1)"


def test_an_invalid_email_shows_its_message_beside_the_field_and_saves_nothing(  # noqa: PLR0917
    qtbot: Any, ws: Workspace, profile: ProfileView, acme: str, idle: Any, on_worker: Any
) -> None:
    editor = _open(qtbot, profile, acme)
    before = _log_rows(on_worker)
    editor.add_button.click()
    qtbot.keyClicks(_line(editor, "name"), "Jana Roth")
    _type(qtbot, editor, "emails", "jana@@acme")
    qtbot.keyClick(_line(editor, "emails"), Qt.Key.Key_Return)
    idle()

    message = editor.messages["emails"]
    assert message.isVisible() and message.text()
    assert not editor.messages["name"].isVisible()
    assert editor.form.isVisible()  # the form stays open with what was typed
    assert _line(editor, "emails").text() == "jana@@acme"
    assert _log_rows(on_worker) == before
    assert on_worker(lambda w: customers.list_contacts(w, acme)) == []
    # Typing in the field clears its message; Esc closes the form without saving.
    qtbot.keyClicks(_line(editor, "emails"), "x")
    assert not message.isVisible()
    qtbot.keyClick(_line(editor, "emails"), Qt.Key.Key_Escape)
    assert not editor.form.isVisible()
    assert _log_rows(on_worker) == before


def test_a_title_is_edited_in_place(  # noqa: PLR0917
    qtbot: Any, ws: Workspace, profile: ProfileView, acme: str, idle: Any, on_worker: Any
) -> None:
    customers.add_contact(
        ws, acme, {"name": "Jana Roth", "title": "Buyer", "phones": ["+49 30 1234567"]}
    )
    editor = _open(qtbot, profile, acme)
    profile.contacts.setCurrentRow(0)
    profile.contacts.setFocus()
    qtbot.keyClick(profile.contacts, Qt.Key.Key_F2)
    assert editor.form.isVisible()
    assert _line(editor, "title").text() == "Buyer"
    assert _line(editor, "phones").text() == "+49 30 1234567"
    _type(qtbot, editor, "title", "Head of Purchasing")
    assert editor.typed() == {"title": "Head of Purchasing"}  # the phone is not resent
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        editor.save_button.click()
    idle()
    jana = on_worker(lambda w: customers.list_contacts(w, acme))[0]
    assert jana.title == "Head of Purchasing"
    assert jana.phones[0]["value"] == "+49301234567"
    assert "Head of Purchasing" in profile.contacts.item(0).text()


def test_a_deleted_contact_comes_back_with_undo(  # noqa: PLR0917
    qtbot: Any, ws: Workspace, profile: ProfileView, acme: str, idle: Any, on_worker: Any
) -> None:
    customers.add_contact(ws, acme, {"name": "Jana Roth"})
    customers.add_contact(ws, acme, {"name": "Tom Weber"})
    editor = _open(qtbot, profile, acme)
    row = next(
        i for i in range(profile.contacts.count()) if "Tom" in profile.contacts.item(i).text()
    )
    profile.contacts.setCurrentRow(row)
    profile.contacts.setFocus()
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        qtbot.keyClick(profile.contacts, Qt.Key.Key_Delete)
    idle()
    names = [p.name for p in on_worker(lambda w: customers.list_contacts(w, acme))]
    assert names == ["Jana Roth"]
    assert profile.contacts.count() == 1
    assert editor.undo_bar.isVisible()
    assert "Tom Weber" in editor.undo_bar.message.text()

    with qtbot.waitSignal(profile.loaded, timeout=5000):
        editor.undo_bar.button.click()
    idle()
    names = sorted(p.name for p in on_worker(lambda w: customers.list_contacts(w, acme)))
    assert names == ["Jana Roth", "Tom Weber"]
    assert profile.contacts.count() == 2
    assert not editor.undo_bar.isVisible()


def test_notes_take_several_lines_and_keep_their_line_breaks(  # noqa: PLR0917
    qtbot: Any, ws: Workspace, profile: ProfileView, acme: str, idle: Any, on_worker: Any
) -> None:
    editor = _open(qtbot, profile, acme)
    editor.add_button.click()
    qtbot.keyClicks(_line(editor, "name"), "Jana Roth")
    editor.notes.setFocus()
    qtbot.keyClicks(editor.notes, "Prefers calls before 9")
    qtbot.keyClick(editor.notes, Qt.Key.Key_Return)  # a new line, not a save
    qtbot.keyClicks(editor.notes, "Assistant: Tom")
    assert editor.form.isVisible()
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        qtbot.keyClick(editor.notes, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    idle()

    jana = on_worker(lambda w: customers.list_contacts(w, acme))[0]
    assert jana.notes == "Prefers calls before 9\nAssistant: Tom"
    item = profile.contacts.item(0)
    assert item.text().endswith("\nPrefers calls before 9\nAssistant: Tom")
    assert item.toolTip() == "Prefers calls before 9\nAssistant: Tom"
    # Editing shows them as typed, on their lines.
    profile.contacts.setCurrentRow(0)
    editor.start_edit()
    assert editor.notes.toPlainText() == "Prefers calls before 9\nAssistant: Tom"
    assert editor.notes.document().blockCount() == 2


def test_long_notes_show_their_first_lines_in_the_list() -> None:
    from touchpoint.ui.contact_editor import notes_preview

    assert notes_preview("a\nb\nc\nd") == "a\nb\nc…"
    assert notes_preview("a\nb") == "a\nb"
    assert notes_preview(None) == ""
