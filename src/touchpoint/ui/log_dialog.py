"""Log an interaction and the promises made in it, from the keyboard, in under a minute.

What is typed is kept as a draft on disk (a moment after typing stops, written on
the Backend's thread in turn) so a crash or a closed laptop never loses it; saving
the interaction discards the draft.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import dates
from touchpoint.domain.enums import Direction, InteractionKind, Outcome
from touchpoint.errors import AmbiguousError, NotFoundError, ValidationError, ValidationErrors
from touchpoint.services import customers, interactions, search
from touchpoint.services.drafts import LOG_INTERACTION, Draft, DraftStore
from touchpoint.services.interactions import FollowUpInput
from touchpoint.storage.workspace import Workspace
from touchpoint.ui import errors as errors_module
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import only_past_times, show_error
from touchpoint.ui.theme import visible_check_boxes

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 500
SEARCH_DELAY_MS = 120

# Each kind has an Alt+letter shortcut (explicit QShortcuts: mnemonics are off on some
# platforms, and a mnemonic plus a shortcut on the same key would be ambiguous).
KINDS: list[tuple[InteractionKind, str]] = [
    (InteractionKind.CALL, "C"),
    (InteractionKind.VISIT, "V"),
    (InteractionKind.MEETING, "M"),
    (InteractionKind.EMAIL, "E"),
    (InteractionKind.MESSAGE, "G"),
    (InteractionKind.NOTE, "N"),
]
SATISFACTION_WORDS = {
    1: "very unhappy",
    2: "unhappy",
    3: "neutral",
    4: "happy",
    5: "delighted",
}
ERROR_STYLE = "color: #c62828;"
HINT_STYLE = "color: palette(placeholder-text);"


def _error_label(name: str) -> QLabel:
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.setAccessibleName(f"{name} problem")
    label.hide()
    return label


CONTACT_ROWS = 6  # contacts shown at once in the form; more scroll


def _local_text(moment: datetime, ws: Workspace) -> str:
    return moment.astimezone(ws.tz).strftime("%a %d %b %Y, %H:%M")


class SatisfactionPicker(QFrame):
    """1 to 5, or nothing: keys 1-5 pick, 0 / Backspace / Delete clear, arrows step."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Satisfaction, 1 to 5")
        self.setAccessibleDescription("Type 1 to 5; 0 or Backspace clears it")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet(
            "SatisfactionPicker:focus { border: 1px solid palette(highlight); }"
            "QToolButton:checked { background: palette(highlight);"
            " color: palette(highlighted-text); font-weight: 600; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self._buttons: dict[int, QToolButton] = {}
        for n in range(1, 6):
            button = QToolButton()
            button.setText(str(n))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"{n}: {SATISFACTION_WORDS[n]} (key {n})")
            button.setAccessibleName(f"Satisfaction {n}, {SATISFACTION_WORDS[n]}")
            button.clicked.connect(lambda _=False, n=n: self._toggle(n))
            button.setMinimumWidth(30)
            layout.addWidget(button)
            self._buttons[n] = button
        self.words = QLabel("not scored")
        self.words.setStyleSheet(HINT_STYLE)
        self.words.setMinimumWidth(110)
        layout.addWidget(self.words)
        layout.addStretch(1)
        self._value: int | None = None

    def value(self) -> int | None:
        return self._value

    def set_value(self, value: int | None) -> None:
        if value is not None and not 1 <= value <= 5:
            value = None
        self._value = value
        for n, button in self._buttons.items():
            button.setChecked(n == value)
        self.words.setText(SATISFACTION_WORDS[value] if value else "not scored")
        self.changed.emit()

    def _toggle(self, n: int) -> None:
        self.set_value(None if self._value == n else n)
        self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key = event.key()
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_5 and not event.modifiers() & ~(
            Qt.KeyboardModifier.KeypadModifier
        ):
            self.set_value(key - Qt.Key.Key_0)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.set_value(None)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Up):
            self.set_value(min(5, (self._value or 0) + 1))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Down):
            self.set_value(max(1, (self._value or 2) - 1))
        else:
            super().keyPressEvent(event)


class FollowUpRow(QWidget):
    """One promise: what, and when as a person types it, with the parsed date shown live."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, ws: Workspace, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        line = QHBoxLayout()
        line.setSpacing(6)
        self.title = QLineEdit()
        self.title.setPlaceholderText("What was promised, e.g. Send the quote")
        self.due = QLineEdit("tomorrow")
        self.due.setPlaceholderText("tomorrow, +3d, fri 10:00")
        self.due.setMaximumWidth(170)
        self.parsed = QLabel()
        self.parsed.setMinimumWidth(170)
        self.parsed.setStyleSheet(HINT_STYLE)
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this follow-up")
        line.addWidget(self.title, 3)
        line.addWidget(self.due, 1)
        line.addWidget(self.parsed)
        line.addWidget(self.remove)
        outer.addLayout(line)
        self.error = _error_label("Follow-up")
        outer.addWidget(self.error)
        self.renumber(number)
        self.title.textChanged.connect(self.changed)
        self.due.textChanged.connect(self._due_changed)
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self._due_changed()

    def renumber(self, number: int) -> None:
        self.number = number
        self.title.setAccessibleName(f"Follow-up {number}: what was promised")
        self.due.setAccessibleName(f"Follow-up {number}: due")
        self.parsed.setAccessibleName(f"Follow-up {number}: due date understood as")
        self.remove.setAccessibleName(f"Remove follow-up {number}")

    def _due_changed(self) -> None:
        text = self.due.text().strip()
        if not text:
            self.parsed.setText("type a date")
        else:
            try:
                when = dates.parse_when(text, now=self._ws.now(), tz=self._ws.tz)
            except ValueError:
                self.parsed.setText("not a date yet")
            else:
                self.parsed.setText("→ " + _local_text(when, self._ws))
        self.changed.emit()

    def is_blank(self) -> bool:
        return not self.title.text().strip()

    def value(self) -> dict[str, str]:
        return {"title": self.title.text(), "due": self.due.text()}

    def set_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))


class LogInteractionDialog(QDialog):
    """The log form. ``saved`` carries the LoggedInteraction once it is stored."""

    saved = Signal(object)

    def __init__(
        self,
        backend: Backend,
        *,
        customer_id: str | None = None,
        parent: QWidget | None = None,
        draft: Draft | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.store = DraftStore(self.ws.paths.data_dir)
        self._customer_id: str | None = None
        self._customer_name = ""
        self._contacts_wanted: set[str] = set()
        self._loading = True  # no draft writes while filling the form programmatically
        self._saving = False
        self._closing = False
        self._draft_pending = False
        self._search_seq = 0
        self.rows: list[FollowUpRow] = []
        self.setWindowTitle("Log interaction")
        self.setAccessibleName("Log interaction")
        self.setMinimumWidth(720)
        self._build()
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft_now)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_customers)
        if draft is not None:
            self.restore(draft.fields)
        elif customer_id:
            self.set_customer(customer_id)
        self._loading = False
        self.customer_edit.setFocus()

    # --- building -------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.errors: dict[str, QLabel] = {}

        def add(
            label: str, widget: QWidget, key: str, accessible: str, buddy: QWidget | None = None
        ) -> None:
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(widget)
            error = _error_label(accessible)
            column.addWidget(error)
            self.errors[key] = error
            caption = QLabel(label)
            caption.setBuddy(buddy or widget)
            form.addRow(caption, box)
            if not widget.accessibleName():
                widget.setAccessibleName(accessible)

        # Customer, with completion fed by search as you type.
        self.customer_edit = QLineEdit()
        self.customer_edit.setPlaceholderText("Start typing a customer's name")
        self._completion = QStandardItemModel(self)
        self.completer = QCompleter(self._completion, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.activated[QModelIndex].connect(self._completion_chosen)
        self.customer_edit.setCompleter(self.completer)
        self.customer_edit.textEdited.connect(self._customer_typed)
        self.customer_edit.editingFinished.connect(self._customer_left)
        add("Cu&stomer", self.customer_edit, "customer", "Customer")

        self.contacts = QListWidget()
        self.contacts.setFixedHeight(78)  # fitted to the customer's contacts when they load
        self.contacts.setToolTip("Space ticks the people who took part")
        self.contacts.itemChanged.connect(self._contacts_changed)
        visible_check_boxes(self.contacts)
        add("Con&tacts", self.contacts, "contact", "Contacts who took part")

        kinds = QWidget()
        kinds.setAccessibleName("Kind of interaction")
        row = QHBoxLayout(kinds)
        row.setContentsMargins(0, 0, 0, 0)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        for kind, letter in KINDS:
            button = QRadioButton(kind.value.capitalize())
            button.setAccessibleName(kind.value.capitalize())
            button.setToolTip(f"Alt+{letter}")
            self.kind_group.addButton(button)
            self.kind_buttons[kind.value] = button
            row.addWidget(button)
            QShortcut(QKeySequence(f"Alt+{letter}"), self, activated=button.click)
        keys = QLabel("Alt+" + "/".join(letter for _, letter in KINDS))
        keys.setStyleSheet(HINT_STYLE)
        row.addStretch(1)
        row.addWidget(keys)
        self.kind_buttons["call"].setChecked(True)
        self.kind_group.buttonToggled.connect(self._kind_toggled)
        add("Kind", kinds, "kind", "Kind")

        self.direction = QComboBox()
        self.direction.addItem("—", "")
        for d in Direction:
            self.direction.addItem(d.value, d.value)
        self.direction.currentIndexChanged.connect(self._touched)
        add("&Direction", self.direction, "direction", "Direction")

        when_box = QWidget()
        when_row = QHBoxLayout(when_box)
        when_row.setContentsMargins(0, 0, 0, 0)
        self.when = QLineEdit("now")
        self.when.setAccessibleName("When")
        self.when.setPlaceholderText("now, today 9:30, yesterday 16:00")
        self.when.setMaximumWidth(220)
        self.when_parsed = QLabel()
        self.when_parsed.setStyleSheet(HINT_STYLE)
        self.when_parsed.setAccessibleName("When, understood as")
        when_row.addWidget(self.when)
        when_row.addWidget(self.when_parsed, 1)
        self.when.textChanged.connect(self._when_changed)
        add("W&hen", when_box, "when", "When", buddy=self.when)

        self.outcome = QComboBox()
        self.outcome.setEditable(True)
        self.outcome.addItem("")
        for o in Outcome:
            self.outcome.addItem(o.value)
        self.outcome.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.outcome.setCurrentIndex(0)
        self.outcome.currentTextChanged.connect(self._touched)
        add("&Outcome", self.outcome, "outcome", "Outcome")

        self.duration = QSpinBox()
        self.duration.setRange(0, 24 * 60)
        self.duration.setSuffix(" min")
        self.duration.setSpecialValueText("—")
        self.duration.setSingleStep(5)
        self.duration.setMaximumWidth(120)
        self.duration.valueChanged.connect(self._touched)
        add("Du&ration", self.duration, "duration", "Duration in minutes")

        self.satisfaction = SatisfactionPicker()
        self.satisfaction.changed.connect(self._touched)
        add("Sat&isfaction", self.satisfaction, "satisfaction", "Satisfaction")

        self.feedback = QPlainTextEdit()
        self.feedback.setTabChangesFocus(True)
        self.feedback.setPlaceholderText("What the customer said, in their own words")
        self.feedback.setFixedHeight(64)
        self.feedback.textChanged.connect(self._touched)
        add("Their &words", self.feedback, "feedback", "The customer's own words")

        self.notes = QPlainTextEdit()
        self.notes.setTabChangesFocus(True)
        self.notes.setPlaceholderText("What happened")
        self.notes.setFixedHeight(80)
        self.notes.textChanged.connect(self._touched)
        add("&Your notes", self.notes, "notes", "Notes")
        outer.addLayout(form)

        heading = QLabel("<b>Follow-ups</b> — promises made (Ctrl+Shift+F adds one)")
        outer.addWidget(heading)
        self.rows_box = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_box)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setAccessibleName("Follow-ups promised")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.rows_box)
        scroll.setMinimumHeight(90)
        outer.addWidget(scroll, 1)
        self.add_row_button = QPushButton("&Add follow-up  (Ctrl+Shift+F)")
        self.add_row_button.setAccessibleName("Add follow-up")
        self.add_row_button.clicked.connect(self.add_followup)
        add_line = QHBoxLayout()
        add_line.addWidget(self.add_row_button)
        add_line.addStretch(1)
        outer.addLayout(add_line)

        self.general_error = _error_label("Form")
        outer.addWidget(self.general_error)
        self.draft_state = QLabel()
        self.draft_state.setStyleSheet(HINT_STYLE)
        self.draft_state.setAccessibleName("Draft state")
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(
            "Save  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setAccessibleName("Save interaction")
        self.cancel_button = buttons.addButton(
            "Cancel  (Esc)", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.save_button.setAutoDefault(False)
        self.cancel_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda _checked=False: self.submit())
        self.cancel_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.draft_state, 1)
        bottom.addWidget(buttons)
        outer.addLayout(bottom)

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.submit)
        QShortcut(QKeySequence("Ctrl+Shift+F"), self, activated=self.add_followup)
        self._when_changed()

    # --- customer and contacts ---------------------------------------------------
    def set_customer(self, customer_id: str) -> None:
        """Prefill with a known customer (the one in view)."""

        def found(view: Any) -> None:
            self._loading_customer(view.id, view.name)

        self.backend.query(lambda ws: customers.get_customer(ws, customer_id)).success(
            found
        ).failure(lambda exc: self._show_field("customer", str(exc))).run()

    def _loading_customer(self, customer_id: str, name: str) -> None:
        was_loading = self._loading
        self._loading = True
        self._customer_id = customer_id
        self._customer_name = name
        self.customer_edit.setText(name)
        self._loading = was_loading
        self._show_field("customer", None)
        self._load_contacts()
        self._touched()

    def _customer_typed(self, text: str) -> None:
        if self._customer_id and text != self._customer_name:
            self._customer_id = None
            self.contacts.clear()
        self._search_timer.start()
        self._touched()

    def _search_customers(self) -> None:
        text = self.customer_edit.text().strip()
        if not text or self._customer_id:
            return
        self._search_seq += 1
        seq = self._search_seq

        def hits(found: list[search.SearchHit]) -> None:
            if seq != self._search_seq:
                return  # an older query answered late
            self._completion.clear()
            for hit in found:
                item = QStandardItem(hit.plain_title)
                item.setData(hit.record_id, Qt.ItemDataRole.UserRole)
                self._completion.appendRow(item)
            if found and self.customer_edit.hasFocus():
                self.completer.complete()

        self.backend.query(
            lambda ws: search.search(ws, text, limit=12, entities=("customer",))
        ).success(hits).failure(lambda exc: log.warning("customer search: %s", exc)).run()

    def _completion_chosen(self, index: QModelIndex) -> None:
        customer_id = index.data(Qt.ItemDataRole.UserRole)
        if customer_id:
            self._loading_customer(str(customer_id), str(index.data()))

    def _customer_left(self) -> None:
        """Typed a whole name and moved on: take it if exactly one customer has it."""
        text = self.customer_edit.text().strip()
        if self._customer_id or not text:
            return

        def resolved(view: Any) -> None:
            if self.customer_edit.text().strip() == text and not self._customer_id:
                self._loading_customer(view.id, view.name)

        def unresolved(exc: Exception) -> None:
            if isinstance(exc, NotFoundError | AmbiguousError):
                self._show_field("customer", exc.message)
            else:
                log.warning("customer lookup: %s", exc)

        self.backend.query(lambda ws: customers.get_customer(ws, text)).success(resolved).failure(
            unresolved
        ).run()

    def _load_contacts(self) -> None:
        customer_id = self._customer_id
        if not customer_id:
            return

        def fill(found: list[Any]) -> None:
            if customer_id != self._customer_id:
                return
            was_loading = self._loading
            self._loading = True
            self.contacts.clear()
            for contact in found:
                label = contact.name + (f" — {contact.title}" if contact.title else "")
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, contact.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = contact.id in self._contacts_wanted
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                self.contacts.addItem(item)
            if not found:
                placeholder = QListWidgetItem("No contacts for this customer")
                placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
                self.contacts.addItem(placeholder)
            else:
                self.contacts.setCurrentRow(0)
            self._fit_contacts()
            self._loading = was_loading

        self.backend.query(lambda ws: customers.list_contacts(ws, customer_id)).success(
            fill
        ).failure(lambda exc: log.warning("contacts: %s", exc)).run()

    def _fit_contacts(self) -> None:
        """Every contact in view up to six rows (a scroll bar past that), none half shown."""
        rows = min(max(self.contacts.count(), 1), CONTACT_ROWS)
        row = self.contacts.sizeHintForRow(0) if self.contacts.count() else 20
        frame = 2 * self.contacts.frameWidth()
        self.contacts.setFixedHeight(rows * max(row, 1) + frame)

    def _contacts_changed(self, _item: QListWidgetItem) -> None:
        if self._loading:
            return
        self._contacts_wanted = set(self.checked_contacts())
        self._touched()

    def checked_contacts(self) -> list[str]:
        out = []
        for n in range(self.contacts.count()):
            item = self.contacts.item(n)
            if item.checkState() == Qt.CheckState.Checked and item.data(Qt.ItemDataRole.UserRole):
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    # --- the rest of the form ---------------------------------------------------
    def _kind_toggled(self, _button: QRadioButton, checked: bool) -> None:
        if checked:
            self._touched()

    def kind(self) -> str:
        for value, button in self.kind_buttons.items():
            if button.isChecked():
                return value
        return InteractionKind.CALL.value

    def _when_changed(self) -> None:
        text = self.when.text().strip()
        try:
            # As the service reads it: "fri" is the last Friday for something that happened.
            moment = dates.parse_when(text or "now", now=self.ws.now(), tz=self.ws.tz, past=True)
        except ValueError:
            self.when_parsed.setText("not a date yet")
        else:
            self.when_parsed.setText("→ " + _local_text(moment, self.ws))
        self._touched()

    def add_followup(self, value: dict[str, str] | None = None) -> FollowUpRow:
        row = FollowUpRow(self.ws, len(self.rows) + 1)
        if isinstance(value, dict):
            row.title.setText(str(value.get("title", "")))
            row.due.setText(str(value.get("due", "")))
        self.rows_layout.insertWidget(len(self.rows), row)
        row.show()  # at once, not when the layout gets round to it: typing may follow at once
        previous: QWidget = self.rows[-1].remove if self.rows else self.notes
        self.rows.append(row)
        QWidget.setTabOrder(previous, row.title)
        QWidget.setTabOrder(row.title, row.due)
        QWidget.setTabOrder(row.due, row.remove)
        QWidget.setTabOrder(row.remove, self.add_row_button)
        row.changed.connect(self._touched)
        row.remove_requested.connect(self.remove_followup)
        if not self._loading:
            row.title.setFocus()
            self._touched()
        return row

    def remove_followup(self, row: FollowUpRow) -> None:
        index = self.rows.index(row)
        self.rows.remove(row)
        row.hide()  # a row taken out of its layout must not become a window of its own
        row.setParent(None)
        row.deleteLater()
        for n, other in enumerate(self.rows, start=1):
            other.renumber(n)
        if self.rows:
            self.rows[min(index, len(self.rows) - 1)].title.setFocus()
        else:
            self.add_row_button.setFocus()
        self._touched()

    # --- drafts ------------------------------------------------------------------
    def fields(self) -> dict[str, Any]:
        """Everything typed, as plain JSON values (the draft)."""
        return {
            "customer": self.customer_edit.text(),
            "customer_id": self._customer_id,
            "contacts": self.checked_contacts() or sorted(self._contacts_wanted),
            "kind": self.kind(),
            "direction": self.direction.currentData() or "",
            "when": self.when.text(),
            "outcome": self.outcome.currentText(),
            "duration": self.duration.value() or None,
            "satisfaction": self.satisfaction.value(),
            "feedback": self.feedback.toPlainText(),
            "notes": self.notes.toPlainText(),
            "followups": [r.value() for r in self.rows if not r.is_blank()],
        }

    def has_typed(self) -> bool:
        f = self.fields()
        return bool(
            (f["customer"].strip() and f["customer_id"] is None)
            or f["contacts"]
            or f["kind"] != InteractionKind.CALL.value
            or f["direction"]
            or f["when"].strip() not in ("", "now")
            or f["outcome"].strip()
            or f["duration"]
            or f["satisfaction"]
            or f["feedback"].strip()
            or f["notes"].strip()
            or f["followups"]
        )

    def restore(self, fields: dict[str, Any]) -> None:
        self._loading = True
        try:
            self._contacts_wanted = set(fields.get("contacts") or [])
            customer_id = fields.get("customer_id")
            if customer_id:
                self._loading_customer(str(customer_id), str(fields.get("customer") or ""))
            else:
                self.customer_edit.setText(str(fields.get("customer") or ""))
            button = self.kind_buttons.get(str(fields.get("kind")))
            if button is not None:
                button.setChecked(True)
            index = self.direction.findData(fields.get("direction") or "")
            self.direction.setCurrentIndex(max(index, 0))
            self.when.setText(str(fields.get("when") or "now"))
            self.outcome.setCurrentText(str(fields.get("outcome") or ""))
            self.duration.setValue(int(fields.get("duration") or 0))
            satisfaction = fields.get("satisfaction")
            self.satisfaction.set_value(int(satisfaction) if satisfaction else None)
            self.feedback.setPlainText(str(fields.get("feedback") or ""))
            self.notes.setPlainText(str(fields.get("notes") or ""))
            for row in list(self.rows):
                self.remove_followup(row)
            for item in fields.get("followups") or []:
                self.add_followup(item)
        finally:
            self._loading = False
        self.draft_state.setText("Restored from a draft")

    def _touched(self, *_: object) -> None:
        if self._loading or self._saving:
            return
        self._draft_pending = True
        self._draft_timer.start()

    def save_draft_now(self) -> None:
        """Write (or clear) the draft on the draft thread; the UI never waits for the disk."""
        self._draft_timer.stop()
        if not self._draft_pending or self._saving:
            return
        self._draft_pending = False
        store = self.store
        if self.has_typed():
            snapshot = self.fields()
            now = self.ws.now()
            self.backend.write_file(lambda: _save_quietly(store, snapshot, now), "the draft")
            self.draft_state.setText("Draft kept")
        else:
            self._discard_draft()
            self.draft_state.setText("")

    def _discard_draft(self) -> None:
        store = self.store
        self.backend.write_file(lambda: store.discard(LOG_INTERACTION), "the draft's removal")

    # --- saving -----------------------------------------------------------------
    def _show_field(self, key: str, problem: str | None) -> None:
        label = self.errors.get(key, self.general_error)
        label.setText(problem or "")
        label.setVisible(bool(problem))

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.general_error.hide()
        for row in self.rows:
            row.set_error(None)

    def submit(self, *, allow_past: bool = False) -> None:
        """Ctrl+Enter: store the interaction and its follow-ups in one transaction. A due
        time in the past, or an interaction more than a year back, is asked about first."""
        if self._saving:
            return
        self.clear_errors()
        f = self.fields()
        customer = f["customer_id"] or f["customer"].strip()
        if not customer:
            self._show_field("customer", "Choose the customer this was with")
            self.customer_edit.setFocus()
            return
        kept_rows = [r for r in self.rows if not r.is_blank()]
        promises = [FollowUpInput(title=r.title.text(), due=r.due.text()) for r in kept_rows]
        self._saving = True
        self.save_button.setEnabled(False)

        def write(ws: Workspace) -> Any:
            return interactions.log_interaction(
                ws,
                customer=customer,
                kind=f["kind"],
                occurred_at=f["when"].strip() or None,
                contacts=f["contacts"] if f["customer_id"] else (),
                outcome=f["outcome"].strip() or None,
                satisfaction=f["satisfaction"],
                feedback=f["feedback"].strip() or None,
                notes=f["notes"].strip() or None,
                direction=f["direction"] or None,
                duration_minutes=f["duration"],
                followups=promises,
                allow_past=allow_past,
            )

        self.backend.write(write, initiator=self).success(self._saved).failure(
            lambda exc: self._failed(exc, kept_rows)
        ).run()

    def _saved(self, logged: Any) -> None:
        self._draft_timer.stop()
        self._draft_pending = False
        self._discard_draft()
        self.saved.emit(logged)
        self._closing = True
        self.accept()

    def _failed(self, exc: Exception, rows: list[FollowUpRow]) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        past = only_past_times(exc)
        if past and errors_module.ask_past(self, past):
            self.submit(allow_past=True)
            return
        if isinstance(exc, NotFoundError | AmbiguousError):
            self._show_field("customer", exc.message)
            self.customer_edit.setFocus()
            return
        if not isinstance(exc, ValidationErrors | ValidationError):
            show_error(self, exc)
            return
        errors = exc.errors if isinstance(exc, ValidationErrors) else [exc]
        for error in errors:
            self._route(error, rows)

    def _route(self, error: ValidationError, rows: list[FollowUpRow]) -> None:
        field = error.field
        if field.startswith("follow-up "):
            parts = field.split(" ", 2)
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) <= len(rows):
                row = rows[int(parts[1]) - 1]
                what = parts[2] if len(parts) > 2 else "follow-up"
                label = "" if what == "follow-up" else f"{what}: "
                row.set_error(f"{label}{error.problem}")
                return
        keys = {
            "duration": "duration",
            "when": "when",
            "occurred_at": "when",
            "contact": "contact",
            "kind": "kind",
            "direction": "direction",
            "outcome": "outcome",
            "satisfaction": "satisfaction",
            "feedback": "feedback",
            "notes": "notes",
            "customer": "customer",
        }
        key = keys.get(field)
        if key is None:
            self._show_field("general", f"{field}: {error.problem}")
        else:
            label = self.errors[key]
            text = (
                f"{error.problem}" if not label.isVisible() else f"{label.text()}; {error.problem}"
            )
            label.setText(text)
            label.show()

    # --- closing -----------------------------------------------------------------
    def ask_discard(self) -> str:
        """'discard', 'keep' (close, keep the draft) or 'stay'. Tests replace this."""
        box = QMessageBox(self)
        box.setWindowTitle("Log interaction")
        box.setText("Close without saving this interaction?")
        box.setInformativeText("Keep it as a draft to finish later, or discard what you typed.")
        discard = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep draft", QMessageBox.ButtonRole.AcceptRole)
        stay = box.addButton("Keep &editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.exec()
        clicked = box.clickedButton()
        return "discard" if clicked is discard else "keep" if clicked is keep else "stay"

    def reject(self) -> None:
        if self._closing or not self.has_typed():
            self._draft_timer.stop()
            if not self._closing:
                self._discard_draft()
            self._closing = True
            super().reject()
            return
        choice = self.ask_discard()
        if choice == "stay":
            return
        self._closing = True
        if choice == "discard":
            self._draft_timer.stop()
            self._draft_pending = False
            self._discard_draft()
        else:
            self._draft_pending = True
            self.save_draft_now()
        super().reject()


def _save_quietly(store: DraftStore, fields: dict[str, Any], now: datetime) -> None:
    try:
        store.save(LOG_INTERACTION, fields, now=now)
    except OSError as exc:  # a full disk must not interrupt typing; the form still has it
        log.error("draft could not be saved: %s", exc)


def flush_drafts(backend: Backend) -> None:
    """Wait until queued draft writes reach the disk (tests; at quit the Backend's
    shutdown runs them)."""
    backend.drain()


def pending_draft(backend: Backend) -> Draft | None:
    """The log form's draft left from last time, if any (a small local file read)."""
    store = DraftStore(backend.ws.paths.data_dir)
    store.clean_leftovers()
    return store.load(LOG_INTERACTION)


def offer_draft(backend: Backend, parent: QWidget | None = None) -> LogInteractionDialog | None:
    """At start: offer to restore an unfinished interaction; returns the dialog if opened."""
    draft = pending_draft(backend)
    if draft is None:
        return None
    saved = draft.saved_at.astimezone(backend.ws.tz).strftime("%a %d %b, %H:%M")
    who = draft.fields.get("customer") or "an interaction"
    answer = QMessageBox.question(
        parent,
        "Unfinished interaction",
        f"You were logging {who} (last typed {saved}). Continue where you left off?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
        QMessageBox.StandardButton.Yes,
    )
    if answer == QMessageBox.StandardButton.Discard:
        DraftStore(backend.ws.paths.data_dir).discard(LOG_INTERACTION)
        return None
    dialog = LogInteractionDialog(backend, parent=parent, draft=draft)
    dialog.show()
    return dialog


__all__ = [
    "FollowUpRow",
    "LogInteractionDialog",
    "SatisfactionPicker",
    "flush_drafts",
    "offer_draft",
    "pending_draft",
]
