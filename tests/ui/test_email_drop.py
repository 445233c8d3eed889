"""Saved emails dropped on the window: on a customer's profile they are filed under that
customer; elsewhere by their addresses, asking (never guessing) when a message belongs
to several customers or to none; the result is said in the undo bar, with Undo.

The messages are real files (tests/fixtures/import/real/README.md says where from):
mailparser-mail_test_3.eml (Outlook mobile, from Ava Oneil to kalinokyra@thismail.it),
mailparser-mail_test_17.eml (Exchange, to compliance@akaancasadebolsa.com.mx) and
msgextractor-strangeDate.msg (Outlook, saved without a date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import select

from touchpoint.services import customers
from touchpoint.storage.models import Customer, Interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.email_drop import EmailChooser
from touchpoint.ui.main_window import MainWindow

REAL = Path(__file__).parents[1] / "fixtures" / "import" / "real"
OUTLOOK_MOBILE = REAL / "mailparser-mail_test_3.eml"
EXCHANGE = REAL / "mailparser-mail_test_17.eml"
NO_DATE = REAL / "msgextractor-strangeDate.msg"


@pytest.fixture
def window(qtbot: Any, backend: Backend, tmp_path: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    win = MainWindow(backend, settings, reminders=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def drop(widget: QWidget, files: list[Path]) -> QDropEvent:
    """A drag of ``files`` entering ``widget`` and dropped on its middle, as Qt sends it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    middle = widget.rect().center()
    enter = QDragEnterEvent(
        middle,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(middle),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


def result(qtbot: Any, window: MainWindow) -> str:
    bar = window.undo_bar
    assert bar is not None
    qtbot.waitUntil(bar.isVisible, timeout=10_000)
    return bar.message.text()


def logged(on_worker: Any) -> list[tuple[str, str, bool]]:
    """(customer, subject, deleted) of every email interaction."""

    def read(ws: Workspace) -> list[tuple[str, str, bool]]:
        with ws.read() as s:
            rows = s.execute(
                select(Customer.name, Interaction.subject, Interaction.deleted_at)
                .join(Customer, Customer.id == Interaction.customer_id)
                .order_by(Interaction.occurred_at)
            )
            return [(n, subj, d is not None) for n, subj, d in rows]

    return on_worker(read)


def open_profile(qtbot: Any, window: MainWindow, customer_id: str) -> Any:
    window.open_customer(customer_id)
    profile = window.customers.profile
    qtbot.waitUntil(
        lambda: profile.data is not None and profile.customer_id == customer_id, timeout=10_000
    )
    return profile


def test_dropped_on_a_profile_every_email_is_filed_there_with_undo(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, window: MainWindow, on_worker: Any, idle: Any, tmp_path: Path
) -> None:
    # Nobody here has these addresses: the profile says where they go.
    rand = customers.create_customer(ws, {"name": "Randtelekom"}).value.id
    pdf = tmp_path / "offer.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n")
    profile = open_profile(qtbot, window, rand)
    assert drop(profile, [OUTLOOK_MOBILE, NO_DATE, pdf]).isAccepted()
    assert result(qtbot, window) == (
        "Logged 1 email with Randtelekom · 2 skipped: msgextractor-strangeDate.msg: it has no "
        "date; offer.pdf is not an email (.eml or Outlook .msg)"
    )
    idle()
    assert logged(on_worker) == [("Randtelekom", "Hi there", False)]
    # The profile shows it at once (the timeline refreshed on the change).
    qtbot.waitUntil(lambda: len(profile.timeline_model.items) == 1, timeout=10_000)
    assert window.undo_bar.button.isVisible()
    window.undo_bar.button.click()
    idle()
    assert logged(on_worker) == [("Randtelekom", "Hi there", True)]
    # Dropped again after the undo: back; and once more: the same Message-ID, not twice.
    drop(profile, [OUTLOOK_MOBILE])
    assert result(qtbot, window) == "Logged 1 email with Randtelekom"
    idle()
    window.undo_bar.expire()
    drop(profile, [OUTLOOK_MOBILE])
    assert result(qtbot, window) == "No email logged · 1 already logged (same Message-ID)"
    assert not window.undo_bar.button.isVisible()  # nothing to take back
    assert logged(on_worker) == [("Randtelekom", "Hi there", False)]


def test_dropped_elsewhere_an_email_goes_to_its_peoples_customer(
    qtbot: Any, ws: Workspace, window: MainWindow, on_worker: Any
) -> None:
    rand = customers.create_customer(ws, {"name": "Randtelekom"}).value.id
    customers.add_contact(
        ws, rand, {"name": "Ava Oneil", "emails": ["oneil.844@randtelekom.com.tr"]}
    )
    shown: list[Any] = []
    window.email_drop.chooser_shown.connect(shown.append)
    assert drop(window, [OUTLOOK_MOBILE]).isAccepted()
    assert result(qtbot, window) == "Logged 1 email with Randtelekom"
    assert shown == []  # sure: nobody was asked
    assert logged(on_worker) == [("Randtelekom", "Hi there", False)]


def test_an_email_of_two_customers_is_asked_about_not_guessed(
    qtbot: Any, ws: Workspace, window: MainWindow, on_worker: Any
) -> None:
    rand = customers.create_customer(ws, {"name": "Randtelekom"}).value.id
    customers.add_contact(
        ws, rand, {"name": "Ava Oneil", "emails": ["oneil.844@randtelekom.com.tr"]}
    )
    customers.create_customer(
        ws, {"name": "Kyra Kalino", "kind": "individual", "emails": ["kalinokyra@thismail.it"]}
    )
    with qtbot.waitSignal(window.email_drop.chooser_shown, timeout=10_000) as shown:
        drop(window, [OUTLOOK_MOBILE])
    chooser: EmailChooser = shown.args[0]
    assert chooser.isVisible()
    names = [chooser.list.item(i).text() for i in range(chooser.list.count())]
    assert names == ["Randtelekom", "Kyra Kalino"]
    assert not chooser.file_button.isEnabled()  # nothing chosen yet
    chooser.list.setCurrentRow(1)
    chooser.file_button.click()
    assert result(qtbot, window) == "Logged 1 email with Kyra Kalino"
    assert logged(on_worker) == [("Kyra Kalino", "Hi there", False)]


def test_an_email_of_nobody_is_found_by_name_or_skipped(
    qtbot: Any, ws: Workspace, window: MainWindow, on_worker: Any
) -> None:
    customers.create_customer(ws, {"name": "Akaan Casa de Bolsa"})
    choosers: list[EmailChooser] = []
    window.email_drop.chooser_shown.connect(choosers.append)
    drop(window, [EXCHANGE, OUTLOOK_MOBILE])
    qtbot.waitUntil(lambda: len(choosers) == 1, timeout=10_000)
    first = choosers[0]
    assert first.windowTitle() == "File an email (1 of 2)"
    assert first.list.count() == 0 and "find the customer by name" in first.hint.text()
    first.find.setText("akaan")
    qtbot.waitUntil(lambda: first.list.count() == 1, timeout=10_000)
    first.list.setCurrentRow(0)
    qtbot.keyClick(first.list, Qt.Key.Key_Return)  # Enter on the customer files it
    qtbot.waitUntil(lambda: len(choosers) == 2, timeout=10_000)
    second = choosers[1]
    assert second.windowTitle() == "File an email (2 of 2)"
    second.skip_button.click()
    assert result(qtbot, window) == (
        "Logged 1 email with Akaan Casa de Bolsa · 1 skipped: "
        "mailparser-mail_test_3.eml: you chose to skip it"
    )
    assert logged(on_worker) == [
        ("Akaan Casa de Bolsa", "Transferencia Interbancaria Banca en Línea", False)
    ]


def test_a_drag_without_files_is_not_taken(qtbot: Any, window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("just words")
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.setAccepted(False)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()
