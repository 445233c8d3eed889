"""An interaction, whole: opened from the timeline with the keyboard, edited with the
checks of logging, deleted and brought back with Ctrl+Z, read-only for a colleague."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from touchpoint.errors import NotFoundError
from touchpoint.services import customers, interactions
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.settings import Settings
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.interaction_dialog import InteractionDialog
from touchpoint.ui.main_window import MainWindow
from touchpoint.ui.profile_view import ProfileView

NOTES = (
    "Walked the warehouse with Jana; the second forklift is due for service in "
    "January and they want the quote for two new ones before the budget meeting."
)
WORDS = "Much faster than last year, but the invoices still confuse our accountant."


@pytest.fixture(autouse=True)
def _dialogs_closed() -> Any:
    """The dialogs these tests open (from a timeline row) are closed when each ends."""
    yield
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, InteractionDialog):
            widget.close()
            widget.deleteLater()


@pytest.fixture
def acme(ws: Workspace, clock: Any) -> tuple[str, str]:
    """Acme and one visit Maria logged two days ago (Monday 16 November, 10:00 Berlin)."""
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, customer.id, {"name": "Jana Roth", "title": "Buyer"})
    customers.add_contact(ws, customer.id, {"name": "Olaf Berg"})
    visit = log_interaction(
        ws,
        customer=customer.id,
        kind="visit",
        occurred_at="2026-11-16 10:00",
        contacts=["Jana Roth"],
        subject="Forklift service",
        notes=NOTES,
        outcome="order",
        satisfaction=4,
        feedback=WORDS,
        depth="relationship",
        direction="outbound",
        duration_minutes=45,
        followups=[FollowUpInput("Send the quote", "fri 10:00")],
    ).value
    return customer.id, visit.interaction.id


@pytest.fixture
def profile(qtbot: Any, backend: Backend) -> ProfileView:
    view = ProfileView(backend)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    return view


def _open_from_timeline(qtbot: Any, profile: ProfileView, customer_id: str) -> InteractionDialog:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(customer_id)
    profile.timeline.setFocus()
    profile.timeline.setCurrentIndex(profile.timeline_model.index(0, 0))
    qtbot.keyClick(profile.timeline, Qt.Key.Key_Return)
    dialog = profile.interaction_dialog
    assert isinstance(dialog, InteractionDialog)
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=5000)
    return dialog


def test_enter_on_a_timeline_row_opens_the_whole_interaction(
    qtbot: Any, acme: tuple[str, str], profile: ProfileView
) -> None:
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    assert dialog.isVisible()
    assert dialog.title.text() == "Visit at Acme GmbH"
    # Monday 16 November 10:00 in Berlin, seen on Wednesday the 18th.
    assert dialog.subtitle.text() == "Mon 16 Nov 10:00 · logged by Maria"
    assert dialog.notes.toPlainText() == NOTES
    assert dialog.feedback.toPlainText() == WORDS
    assert dialog.subject.text() == "Forklift service"
    assert dialog.outcome.currentText() == "order"
    assert dialog.satisfaction.value() == 4
    assert dialog.depth.currentData() == "relationship"
    assert dialog.direction.currentData() == "outbound"
    assert dialog.duration.value() == 45
    assert dialog.checked_contacts() == [dialog.detail.contacts[0].id]  # type: ignore[union-attr]
    assert dialog.contacts.count() == 2  # Jana ticked, Olaf there to tick
    assert dialog.followups.topLevelItemCount() == 1
    assert dialog.followups.topLevelItem(0).text(1) == "Send the quote"
    assert dialog.history.topLevelItem(0).text(2) == "logged"
    assert dialog.history.topLevelItem(0).text(1) == "Maria"
    assert dialog.save_button.isVisible() and not dialog.save_button.isEnabled()
    assert not dialog.read_only_note.isVisible()


def test_notes_and_satisfaction_are_edited_from_the_keyboard(
    qtbot: Any, ws: Workspace, acme: tuple[str, str], profile: ProfileView, idle: Any
) -> None:
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    dialog.notes.setFocus()
    dialog.notes.selectAll()
    qtbot.keyClicks(dialog.notes, "Quote for two forklifts wanted")
    dialog.satisfaction.setFocus()
    qtbot.keyClick(dialog.satisfaction, Qt.Key.Key_2)
    assert dialog.save_button.isEnabled()
    assert dialog.patch() == {"notes": "Quote for two forklifts wanted", "satisfaction": 2}
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        qtbot.keyClick(dialog.notes, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    idle()
    saved = interactions.get_interaction(ws, acme[1])
    assert saved.notes == "Quote for two forklifts wanted"
    assert saved.satisfaction == 2
    assert saved.feedback == WORDS  # what was not touched stays
    # The timeline shows the new notes; opened again, the history says what changed.
    qtbot.waitUntil(lambda: "Quote for two" in profile.timeline_model.index(0, 1).data())
    again = _open_from_timeline(qtbot, profile, acme[0])
    changed = again.history.topLevelItem(0).text(2)
    assert "notes: Walked the warehouse" in changed
    assert "satisfaction: 4 → 2" in changed


def test_wrong_values_are_named_beside_their_fields_and_nothing_is_saved(
    qtbot: Any, ws: Workspace, acme: tuple[str, str], profile: ProfileView, idle: Any
) -> None:
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    dialog.when.setFocus()
    dialog.when.selectAll()
    qtbot.keyClicks(dialog.when, "+2d")
    dialog.outcome.setCurrentText("x" * 130)
    dialog.subject.setText("Still the forklifts")
    dialog.save()
    qtbot.waitUntil(dialog.errors["when"].isVisible, timeout=5000)
    idle()
    when_problem = dialog.errors["when"].text()
    assert "is in the future" in when_problem
    assert "--" not in when_problem  # the window's words, not the command line's
    assert dialog.errors["outcome"].text() == "is longer than 120 characters"
    assert not dialog.errors["subject"].isVisible()
    assert dialog.isVisible()  # open, to be corrected
    assert interactions.get_interaction(ws, acme[1]).subject == "Forklift service"
    # Corrected, it saves.
    dialog.when.setText("2026-11-16 11:30")
    dialog.outcome.setCurrentText("order")
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
    idle()
    saved = interactions.get_interaction(ws, acme[1])
    assert saved.subject == "Still the forklifts"
    assert saved.occurred_at.isoformat() == "2026-11-16T10:30:00+00:00"


def test_a_colleagues_interaction_opens_read_only_and_says_why(
    qtbot: Any, ws: Workspace, acme: tuple[str, str], profile: ProfileView
) -> None:
    ws.update_settings(Settings(user="tom.weber@example.com", timezone="Europe/Berlin"))
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    assert dialog.read_only_note.isVisible()
    assert dialog.read_only_note.text().startswith("Logged by Maria: only they can change")
    assert dialog.notes.isReadOnly() and dialog.feedback.isReadOnly()
    assert dialog.subject.isReadOnly() and dialog.when.isReadOnly()
    assert not dialog.satisfaction.isEnabled() and not dialog.kind.isEnabled()
    assert not dialog.save_button.isVisible() and not dialog.delete_button.isVisible()
    assert dialog.feedback.toPlainText() == WORDS  # still all there to read
    qtbot.keyClicks(dialog.notes, "mine now")
    dialog.save()  # Ctrl+Enter does nothing either
    assert dialog.notes.toPlainText() == NOTES
    assert dialog.patch() == {}


def _window(qtbot: Any, backend: Backend, tmp_path: Path) -> MainWindow:
    window = MainWindow(backend, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def test_a_deleted_interaction_comes_back_with_ctrl_z(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, backend: Backend, acme: tuple[str, str], idle: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    window.open_customer(acme[0])
    profile = window.customers.profile
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 1, timeout=5000)
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: profile.interaction_dialog is None or not dialog.isVisible())
    idle()
    with pytest.raises(NotFoundError):
        interactions.get_interaction(ws, acme[1])
    assert window.undo_bar is not None and window.undo_bar.isVisibleTo(window)
    assert window.undo_bar.message.text() == "Visit at Acme GmbH deleted"
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 0, timeout=5000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    profile.timeline.setFocus()
    qtbot.keyClick(profile.timeline, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 1, timeout=5000)
    idle()
    assert interactions.get_interaction(ws, acme[1]).notes == NOTES
    assert not window.undo_bar.isVisibleTo(window)


def test_timeline_rows_show_notes_and_their_words_on_two_lines_at_1024_by_640(
    qtbot: Any, backend: Backend, acme: tuple[str, str], tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    window.open_customer(acme[0])
    profile = window.customers.profile
    qtbot.waitUntil(lambda: profile.timeline_model.rowCount() == 1, timeout=5000)
    text = profile.timeline_model.index(0, 1).data()
    said, words = text.split("\n")
    assert said.startswith("Forklift service — Walked the warehouse with Jana")
    assert words == f"“{WORDS}” · order"
    assert profile.timeline_model.index(0, 0).data() == "Mon 16 Nov 10:00\nvisit  ★★★★"
    assert profile.timeline.wordWrap()
    assert profile.timeline.rowHeight(0) >= 2 * profile.timeline.fontMetrics().lineSpacing()
    # At 1024x640 the words get the room: far more than the dozen characters of before.
    width = profile.timeline.columnWidth(1)
    assert width > profile.timeline.columnWidth(0)
    assert width > 25 * profile.timeline.fontMetrics().averageCharWidth()


def test_esc_with_changes_asks_before_dropping_them(
    qtbot: Any, ws: Workspace, acme: tuple[str, str], profile: ProfileView
) -> None:
    dialog = _open_from_timeline(qtbot, profile, acme[0])
    assert dialog.notes.hasFocus()  # the author opens it to write
    asked: list[bool] = []
    dialog.ask_discard = lambda: asked.append(True) or False  # type: ignore[method-assign]
    qtbot.keyClicks(dialog.notes, "More: ")
    qtbot.keyClick(dialog.notes, Qt.Key.Key_Escape)
    assert asked == [True] and dialog.isVisible()
    dialog.ask_discard = lambda: True  # type: ignore[method-assign]
    qtbot.keyClick(dialog.notes, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert interactions.get_interaction(ws, acme[1]).notes == NOTES


def test_a_two_line_cell_keeps_the_customers_words_on_the_second_line(qapp: Any) -> None:
    from PySide6.QtGui import QFont, QFontMetrics

    from touchpoint.ui.widgets.two_lines import two_lines

    font = QFont()
    width = 30 * QFontMetrics(font).averageCharWidth()
    first, second = two_lines(f"{NOTES}\n“{WORDS}”", font, width)
    assert first.startswith("Walked the") and first.endswith("…")
    assert second.startswith("“Much faster") and second.endswith("…")
    # Notes alone wrap over both lines.
    first, second = two_lines(NOTES, font, width)
    assert NOTES.startswith(first) and not first.endswith("…")
    assert second.endswith("…") and NOTES[len(first) :].strip().startswith(second[:10])
    assert two_lines("Short", font, width) == ("Short", "")


def test_a_double_click_on_a_timeline_row_opens_it_too(
    qtbot: Any, acme: tuple[str, str], profile: ProfileView
) -> None:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(acme[0])
    rect = profile.timeline.visualRect(profile.timeline_model.index(0, 1))
    viewport = profile.timeline.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: profile.interaction_dialog is not None, timeout=5000)
    dialog = profile.interaction_dialog
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=5000)
    assert dialog.detail.interaction.id == acme[1]


def test_deleted_from_activity_the_undo_bar_names_it_and_brings_it_back(  # noqa: PLR0917
    qtbot: Any, ws: Workspace, backend: Backend, acme: tuple[str, str], idle: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    window.show_activity()
    activity = window.pages["activity"]
    qtbot.waitUntil(lambda: len(activity.rows) == 1, timeout=5000)  # type: ignore[attr-defined]
    qtbot.keyClick(activity.table, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    dialog = activity.interaction_dialog  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=5000)
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: not activity.rows, timeout=5000)  # type: ignore[attr-defined]
    assert window.undo_bar is not None
    assert window.undo_bar.message.text() == "Visit at Acme GmbH deleted"
    window.undo_bar.button.click()
    qtbot.waitUntil(lambda: len(activity.rows) == 1, timeout=5000)  # type: ignore[attr-defined]
    idle()
    assert interactions.get_interaction(ws, acme[1]).notes == NOTES


@pytest.fixture
def toms_note(ws: Workspace, acme: tuple[str, str]) -> str:
    """A bare note Tom logged at Acme yesterday: no subject, score, contact or promise."""
    own = ws.settings
    ws.update_settings(replace(own, user="tom.weber@example.com", display_name=""))
    note = log_interaction(
        ws, customer=acme[0], kind="note", occurred_at="2026-11-17 15:00", notes="Called back"
    ).value
    ws.update_settings(own)
    return note.interaction.id


def _open_row(qtbot: Any, profile: ProfileView, interaction_id: str) -> InteractionDialog:
    """Enter on the timeline row of one interaction; the dialog once filled with it."""
    row = next(n for n, i in enumerate(profile.timeline_model.items) if i.id == interaction_id)
    profile.timeline.setFocus()
    profile.timeline.setCurrentIndex(profile.timeline_model.index(row, 0))
    qtbot.keyClick(profile.timeline, Qt.Key.Key_Return)
    dialog = profile.interaction_dialog
    assert isinstance(dialog, InteractionDialog)
    qtbot.waitUntil(
        lambda: dialog.detail is not None and dialog.detail.interaction.id == interaction_id,
        timeout=5000,
    )
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    return dialog


def test_opening_one_interaction_after_another_shows_only_the_second(
    qtbot: Any, acme: tuple[str, str], toms_note: str, profile: ProfileView, idle: Any
) -> None:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(acme[0])
    first = _open_row(qtbot, profile, acme[1])
    # The visit, with a wrong value named beside its field, then closed without saving.
    first.when.setText("+2d")
    first.save()
    qtbot.waitUntil(first.errors["when"].isVisible, timeout=5000)
    idle()
    first.ask_discard = lambda: True  # type: ignore[method-assign]
    qtbot.keyClick(first.notes, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not first.isVisible())

    dialog = _open_row(qtbot, profile, toms_note)
    assert dialog is first  # the same window, refilled
    assert dialog.title.text() == "Note at Acme GmbH"
    assert dialog.windowTitle() == "Note at Acme GmbH"
    assert dialog.subtitle.text() == "yesterday 15:00 · logged by Tom Weber"
    assert dialog.notes.toPlainText() == "Called back"
    assert dialog.when.text() == "2026-11-17 15:00"
    assert dialog.kind.currentData() == "note"
    for empty in (dialog.subject.text(), dialog.feedback.toPlainText()):
        assert empty == ""
    assert dialog.outcome.currentText() == ""
    assert dialog.satisfaction.value() is None
    assert dialog.depth.currentData() == "" and dialog.direction.currentData() == ""
    assert dialog.duration.value() == 0
    assert dialog.checked_contacts() == []
    assert dialog.contacts.count() == 2  # Acme's people, neither ticked
    assert dialog.followups.topLevelItemCount() == 0
    assert dialog.followups_title.text() == "Follow-ups made in it: none"
    assert dialog.history.topLevelItemCount() == 1
    assert dialog.history.topLevelItem(0).text(1) == "Tom Weber"
    assert not any(label.isVisible() for label in dialog.errors.values())
    assert not dialog.general_error.isVisible()
    # Tom's: read-only, saying why, where the visit before was Maria's to edit.
    assert dialog.read_only_note.isVisible()
    assert dialog.notes.isReadOnly() and not dialog.satisfaction.isEnabled()
    assert not dialog.save_button.isVisible() and not dialog.delete_button.isVisible()
    assert dialog.patch() == {} and dialog.state.text() == ""
    assert not dialog.notes.document().isUndoAvailable()
    assert not dialog.when.isUndoAvailable()
    dialog.close()
    qtbot.waitUntil(lambda: not dialog.isVisible())

    # And back to the visit: Maria's again, as it is stored, nothing of the note.
    again = _open_row(qtbot, profile, acme[1])
    assert again is first
    assert not again.read_only_note.isVisible()
    assert again.save_button.isVisible() and not again.save_button.isEnabled()
    assert not again.notes.isReadOnly() and again.satisfaction.isEnabled()
    assert again.notes.toPlainText() == NOTES
    assert again.when.text() == "2026-11-16 10:00"
    assert not again.errors["when"].isVisible()
    assert again.followups.topLevelItemCount() == 1
    assert again.subtitle.text() == "Mon 16 Nov 10:00 · logged by Maria"
    assert again.patch() == {}


def test_an_edit_not_saved_is_asked_about_and_never_carried_to_the_next(
    qtbot: Any, ws: Workspace, acme: tuple[str, str], toms_note: str, profile: ProfileView
) -> None:
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(acme[0])
    dialog = _open_row(qtbot, profile, acme[1])
    qtbot.keyClicks(dialog.notes, "More: ")
    qtbot.keyClick(dialog.satisfaction, Qt.Key.Key_2)
    assert dialog.save_button.isEnabled()
    asked: list[bool] = []
    # Another interaction asked for while this one has changes: asked first; keeping
    # on editing keeps the visit and its changes.
    dialog.ask_discard = lambda: asked.append(True) or False  # type: ignore[method-assign]
    assert profile.open_interaction(toms_note) is dialog
    assert asked == [True]
    assert dialog.detail is not None and dialog.detail.interaction.id == acme[1]
    assert dialog.notes.toPlainText().startswith("More: ")
    assert dialog.satisfaction.value() == 2
    # Dropping them: the note, with nothing of the visit's changes.
    dialog.ask_discard = lambda: asked.append(True) or True  # type: ignore[method-assign]
    profile.open_interaction(toms_note)
    assert asked == [True, True]
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=5000)
    assert dialog.detail.interaction.id == toms_note  # type: ignore[union-attr]
    assert dialog.notes.toPlainText() == "Called back"
    assert dialog.satisfaction.value() is None
    assert dialog.state.text() == "" and dialog.patch() == {}
    dialog.close()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    # The visit opened again is as stored; its dropped edit cannot be undone back in.
    again = _open_row(qtbot, profile, acme[1])
    assert again.notes.toPlainText() == NOTES
    assert again.satisfaction.value() == 4
    assert not again.save_button.isEnabled() and again.state.text() == ""
    assert not again.notes.document().isUndoAvailable()
    assert interactions.get_interaction(ws, acme[1]).notes == NOTES


def test_an_answer_for_an_interaction_no_longer_wanted_is_dropped(
    qtbot: Any, acme: tuple[str, str], toms_note: str, profile: ProfileView, idle: Any
) -> None:
    """Two asked for in a row (Enter on one row, then at once on another): only the
    last one is shown, whichever read answers last."""
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(acme[0])
    dialog = profile.open_interaction(acme[1])
    assert profile.open_interaction(toms_note) is dialog
    idle()
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.detail.interaction.id == toms_note
    assert dialog.notes.toPlainText() == "Called back"
    assert dialog.followups.topLevelItemCount() == 0


def test_the_dialog_is_built_ahead_and_the_first_enter_fills_it_whole(
    qtbot: Any, acme: tuple[str, str], profile: ProfileView
) -> None:
    assert profile.interaction_dialog is None
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(acme[0])
    # Built while the window is idle after the profile is shown, laid out, not on screen.
    qtbot.waitUntil(lambda: profile.interaction_dialog is not None, timeout=5000)
    built = profile.interaction_dialog
    assert isinstance(built, InteractionDialog)
    assert not built.isVisible() and built.detail is None
    assert built.testAttribute(Qt.WidgetAttribute.WA_WState_Created)  # its window made
    dialog = _open_row(qtbot, profile, acme[1])
    assert dialog is built
    assert dialog.title.text() == "Visit at Acme GmbH"
    assert dialog.windowTitle() == "Visit at Acme GmbH"
    assert dialog.subtitle.text() == "Mon 16 Nov 10:00 · logged by Maria"
    assert dialog.kind.currentData() == "visit"
    assert dialog.when.text() == "2026-11-16 10:00"
    assert dialog.subject.text() == "Forklift service"
    assert dialog.notes.toPlainText() == NOTES
    assert dialog.feedback.toPlainText() == WORDS
    assert dialog.outcome.currentText() == "order"
    assert dialog.satisfaction.value() == 4
    assert dialog.depth.currentData() == "relationship"
    assert dialog.direction.currentData() == "outbound"
    assert dialog.duration.value() == 45
    assert dialog.contacts.count() == 2
    assert dialog.checked_contacts() == [dialog.detail.contacts[0].id]  # type: ignore[union-attr]
    assert dialog.followups_title.text() == "Follow-ups made in it (1)"
    assert dialog.followups.topLevelItem(0).text(1) == "Send the quote"
    assert dialog.history_title.text() == "History (1)"
    assert dialog.history.topLevelItem(0).text(2) == "logged"
    assert dialog.save_button.isVisible() and dialog.delete_button.isEnabled()
    assert dialog.patch() == {}
    # Another customer's profile keeps the one dialog: nothing more is built.
    other = customers.create_customer(profile._backend.ws, {"name": "Bauer KG"}).value
    with qtbot.waitSignal(profile.loaded, timeout=5000):
        profile.show_customer(other.id)
    qtbot.wait(50)
    assert profile.interaction_dialog is built
