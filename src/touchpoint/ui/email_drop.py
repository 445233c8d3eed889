"""Saved emails (.eml, Outlook .msg) dropped on the window become email interactions.

Dropped on a customer's profile, every message is filed under that customer. Dropped
anywhere else, each goes to the customer its addresses belong to, as
``touchpoint import emails`` does; a message whose addresses belong to several
customers, or to none, is not guessed: :class:`EmailChooser` asks which customer
(or to skip it). The work is the command line's own service
(:func:`touchpoint.services.capture.import_emails`); the result is said in the
window's undo bar, with Undo when something was logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.services import capture, interactions, search
from touchpoint.storage.workspace import Saved, Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.dropped_files import dropped_files
from touchpoint.ui.errors import show_error

if TYPE_CHECKING:
    from touchpoint.services.capture import CapturedMessage, EmailImportReport

log = logging.getLogger(__name__)
ID_ROLE = Qt.ItemDataRole.UserRole
SEARCH_DELAY_MS = 250


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _why(m: CapturedMessage) -> str:
    reason = m.reason or "skipped"
    return reason if reason.startswith(m.file) else f"{m.file}: {reason}"


@dataclass
class DropResult:
    """What one drop came to, over the messages filed at once and those chosen later."""

    messages: list[CapturedMessage] = field(default_factory=list)

    def add(self, report: EmailImportReport) -> None:
        self.messages += [m for m in report.messages if m.outcome != "unsure"]

    def skip(self, m: CapturedMessage) -> None:
        self.messages.append(
            capture.CapturedMessage(m.file, m.subject, "skipped", "you chose to skip it")
        )

    @property
    def logged_ids(self) -> list[str]:
        return [
            m.interaction_id for m in self.messages if m.outcome == "logged" and m.interaction_id
        ]

    def text(self) -> str:
        """'Logged 2 emails with Acme · 1 already logged (same Message-ID) · 1 skipped: …'"""
        logged = [m for m in self.messages if m.outcome == "logged"]
        there = [m for m in self.messages if m.outcome == "already there"]
        skipped = [m for m in self.messages if m.outcome == "skipped"]
        parts = []
        names = list(dict.fromkeys(m.customer for m in logged if m.customer))
        if logged:
            where = f" with {names[0]}" if len(names) == 1 else ""
            parts.append(f"Logged {_plural(len(logged), 'email')}{where}")
        else:
            parts.append("No email logged")
        if there:
            parts.append(f"{len(there)} already logged (same Message-ID)")
        if skipped:
            parts.append(f"{len(skipped)} skipped: " + "; ".join(_why(m) for m in skipped))
        return " · ".join(parts)


class EmailChooser(QDialog):
    """Asks which customer one unsure message goes under, or to skip it.

    The customers its addresses belong to are listed first; typing finds any other.
    ``chosen`` is the customer's id once accepted, None when skipped."""

    def __init__(
        self,
        backend: Backend,
        message: CapturedMessage,
        position: tuple[int, int] = (1, 1),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self.message = message
        self.chosen: str | None = None
        self._search_seq = 0
        number, total = position
        self.setWindowTitle("File an email" + (f" ({number} of {total})" if total > 1 else ""))
        self.setAccessibleName("Choose the customer of an email")
        self.setMinimumWidth(520)
        column = QVBoxLayout(self)
        question = QLabel(
            "Which customer is this email with?"
            if not message.candidates
            else "This email's addresses belong to more than one customer. Which one is it with?"
        )
        question.setObjectName("CardTitle")
        question.setWordWrap(True)
        column.addWidget(question)
        subject = f"“{message.subject}”" if message.subject else "(no subject)"
        about = QLabel(f"{message.file}: {subject}")
        about.setWordWrap(True)
        about.setAccessibleName("The email")
        column.addWidget(about)
        if message.people:
            people = QLabel("Between: " + ", ".join(message.people))
            people.setObjectName("Muted")
            people.setWordWrap(True)
            column.addWidget(people)
        self.find = QLineEdit(self)
        self.find.setPlaceholderText("Find another customer…")
        self.find.setAccessibleName("Find another customer")
        self.find.setClearButtonEnabled(True)
        column.addWidget(self.find)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Customers")
        self.list.setMinimumHeight(120)
        column.addWidget(self.list, 1)
        self.hint = QLabel("")
        self.hint.setObjectName("Muted")
        self.hint.setWordWrap(True)
        column.addWidget(self.hint)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.skip_button = QPushButton("&Skip this email")
        self.skip_button.setAccessibleName("Skip this email")
        self.skip_button.clicked.connect(self.reject)
        self.file_button = QPushButton("&File under customer")
        self.file_button.setAccessibleName("File under customer")
        self.file_button.setDefault(True)
        self.file_button.clicked.connect(self._file)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.file_button)
        column.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._search)
        self.find.textChanged.connect(lambda _t: self._timer.start())
        self.find.returnPressed.connect(self._search)
        # Chosen means selected: the list's current row on focus is no choice.
        self.list.itemSelectionChanged.connect(self._update)
        self.list.itemActivated.connect(self._file)
        self._fill([(c.id, c.name) for c in message.candidates])
        if message.candidates:
            self.list.setFocus()
        else:
            self.hint.setText("No customer has its addresses: find the customer by name.")
            self.find.setFocus()

    def _fill(self, rows: Sequence[tuple[str, str]]) -> None:
        self.list.clear()
        for customer_id, name in rows:
            item = QListWidgetItem(name)
            item.setData(ID_ROLE, customer_id)
            self.list.addItem(item)
        self._update()

    def _update(self) -> None:
        self.file_button.setEnabled(bool(self.list.selectedItems()))

    def _search(self) -> None:
        self._timer.stop()
        text = self.find.text().strip()
        self._search_seq += 1
        seq = self._search_seq
        if not text:
            self._fill([(c.id, c.name) for c in self.message.candidates])
            return

        def hits(found: list[search.SearchHit]) -> None:
            if seq != self._search_seq:
                return  # an older search answered late
            self._fill([(h.record_id, h.plain_title) for h in found])
            self.hint.setText("" if found else f"No customer matches “{text}”.")

        self._backend.query(
            lambda ws: search.search(ws, text, limit=12, entities=("customer",))
        ).success(hits).failure(lambda exc: log.warning("customer search: %s", exc)).run()

    def _file(self, item: QListWidgetItem | bool | None = None) -> None:
        if not isinstance(item, QListWidgetItem):  # the button's "checked", or nothing
            chosen = self.list.selectedItems()
            item = chosen[0] if chosen else None
        if item is None:
            return
        self.chosen = str(item.data(ID_ROLE))
        self.accept()


class EmailDrop(QObject):
    """Files dropped emails: the service first, then a chooser for each unsure one,
    then one line of result (``done`` carries it, with Undo when something was logged)."""

    done = Signal(str, object)  # the result's text, and an undo (a callable) or None
    chooser_shown = Signal(object)  # the EmailChooser, for tests and screenshots

    def __init__(self, backend: Backend, parent: QWidget) -> None:
        super().__init__(parent)
        self._backend = backend
        self._parent = parent
        self.chooser: EmailChooser | None = None

    def drop(self, paths: Sequence[Path], customer_id: str | None = None) -> None:
        """File ``paths`` under ``customer_id``, or by their addresses (asking)."""
        files = [str(p) for p in paths]
        if not files:
            return
        result = DropResult()

        def work(ws: Workspace) -> Saved[EmailImportReport]:
            report = capture.import_emails(ws, files, customer=customer_id, ask=customer_id is None)
            return Saved(report, report.changes)

        def filed(report: EmailImportReport) -> None:
            result.add(report)
            self._ask(list(report.unsure), result, total=len(report.unsure))

        self._backend.write(work, initiator=self).success(filed).failure(
            lambda exc: show_error(self._parent, exc)
        ).run()

    def _ask(self, waiting: list[CapturedMessage], result: DropResult, total: int) -> None:
        if not waiting:
            self._finish(result)
            return
        message = waiting.pop(0)
        chooser = EmailChooser(self._backend, message, (total - len(waiting), total), self._parent)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.chooser = chooser

        def answered(code: int) -> None:
            self.chooser = None
            if code != QDialog.DialogCode.Accepted or not chooser.chosen or not message.path:
                result.skip(message)
                self._ask(waiting, result, total)
                return
            self._file_one(
                message.path, chooser.chosen, lambda: self._ask(waiting, result, total), result
            )

        chooser.finished.connect(answered)
        chooser.open()
        self.chooser_shown.emit(chooser)

    def _file_one(
        self, path: str, customer_id: str, then: Callable[[], None], result: DropResult
    ) -> None:
        def work(ws: Workspace) -> Saved[EmailImportReport]:
            report = capture.import_emails(ws, [path], customer=customer_id)
            return Saved(report, report.changes)

        def filed(report: EmailImportReport) -> None:
            result.add(report)
            then()

        def failed(exc: Exception) -> None:
            show_error(self._parent, exc)
            then()

        self._backend.write(work, initiator=self).success(filed).failure(failed).run()

    def _finish(self, result: DropResult) -> None:
        ids = result.logged_ids
        undo: Callable[[], None] | None = None
        if ids:

            def undo() -> None:
                self._backend.write(
                    lambda ws: interactions.delete_interactions(ws, ids), initiator=self
                ).failure(lambda exc: show_error(self._parent, exc)).run()

        self.done.emit(result.text(), undo)


__all__ = ["DropResult", "EmailChooser", "EmailDrop", "dropped_files"]
