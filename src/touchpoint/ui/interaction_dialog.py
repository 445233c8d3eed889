"""One interaction, whole: what happened, the customer's words, the promises made in
it and its history; its author edits or deletes it here (a delete can be undone).

Someone else's interaction opens read-only, saying why: it is its author's record of
what happened, and the Hub refuses anyone else's change to it.

A view keeps one dialog and refills it for each interaction it opens (building the
form is most of the cost of opening one): :meth:`InteractionDialog.show_interaction`
first puts every field, message and state back as a fresh dialog has them, and the
dialog appears once it is filled (painted once, not first empty), or saying
"Loading…" when the read takes longer than :data:`LOADING_SHOWN_AFTER_MS`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import dates
from touchpoint.domain.enums import Depth, Direction, InteractionKind, Outcome, PromiseState
from touchpoint.errors import TouchpointError
from touchpoint.services import interactions
from touchpoint.services.records import HistoryEntry, InteractionDetail, InteractionView
from touchpoint.storage.workspace import Workspace
from touchpoint.ui import errors as errors_module
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import human_message, only_past_times
from touchpoint.ui.log_dialog import SatisfactionPicker
from touchpoint.ui.theme import OK, WARN, visible_check_boxes
from touchpoint.ui.widgets.format import when_text

log = logging.getLogger(__name__)

HINT_STYLE = "color: palette(placeholder-text);"
LOADING_SHOWN_AFTER_MS = 150
# Service field names -> the form's keys.
FIELD_KEYS = {
    "kind": "kind",
    "when": "when",
    "occurred_at": "when",
    "direction": "direction",
    "duration": "duration",
    "duration_minutes": "duration",
    "contact": "contacts",
    "subject": "subject",
    "outcome": "outcome",
    "satisfaction": "satisfaction",
    "feedback": "feedback",
    "notes": "notes",
    "depth": "depth",
}
# The command line's words in a service message, and what the window says instead.
CLI_WORDS = {
    "or add a follow-up with --follow-up/--due": "or add a follow-up for what is to come",
}
STATE_WORDS = {
    PromiseState.KEPT: ("✓ kept", OK),
    PromiseState.LATE: ("late", "#b26a00"),
    PromiseState.OVERDUE: ("overdue", WARN),
    PromiseState.OPEN: ("open", ""),
    PromiseState.CANCELLED: ("cancelled", "#7a8699"),
}
HISTORY_HIDDEN = frozenset({"updated_at", "updated_by", "created_at", "created_by", "rep"})
FIELD_WORDS = {
    "occurred_at": "when",
    "duration_minutes": "duration",
    "contact_ids": "contacts",
    "feedback": "their words",
    "deleted_at": "deleted",
    "customer_id": "customer",
}


def own_words(problem: str) -> str:
    for cli, words in CLI_WORDS.items():
        problem = problem.replace(cli, words)
    return problem


def moment_text(when: datetime, ws: Workspace) -> str:
    """As the timeline says it ("Fri 4 Dec 10:00", "today 14:30"), always with the time."""
    text = when_text(when, ws.tz, ws.now())
    if ":" not in text:  # another year: the date alone
        local = when.astimezone(ws.tz)
        text += f" {local.hour:02d}:{local.minute:02d}"
    return text


def _editable_when(when: datetime, ws: Workspace) -> str:
    """What the When field holds: a form the date parser reads back exactly."""
    return when.astimezone(ws.tz).strftime("%Y-%m-%d %H:%M")


def _short(value: Any) -> str:
    if value is None or value in ("", []):
        return "—"
    text = " ".join(str(value).split())
    return text if len(text) <= 50 else text[:49] + "…"


def history_text(entry: HistoryEntry, contact_names: dict[str, str]) -> str:
    """One change in words: "logged", "deleted", "notes: old → new; satisfaction: 3 → 4"."""
    if entry.op == "insert":
        return "logged"
    if entry.op in ("delete", "restore"):
        return "deleted" if entry.op == "delete" else "restored"
    parts = []
    for name, (before, after) in sorted(entry.fields.items()):
        if name in HISTORY_HIDDEN:
            continue
        old, new = before, after
        if name == "contact_ids":
            old = ", ".join(contact_names.get(i, "someone") for i in before or []) or None
            new = ", ".join(contact_names.get(i, "someone") for i in after or []) or None
        parts.append(f"{FIELD_WORDS.get(name, name)}: {_short(old)} → {_short(new)}")
    return "; ".join(parts) or "changed"


def deleted_message(view: InteractionView) -> str:
    """What the undo bar says: "Visit at Acme GmbH deleted"."""
    where = f" at {view.customer_name}" if view.customer_name else ""
    return f"{view.kind.capitalize()}{where} deleted"


def offer_undo(undo_bar: Any, backend: Backend, view: InteractionView) -> None:
    """After a delete: the undo bar names it, and Undo (Ctrl+Z) brings it back."""
    interaction_id = view.id

    def undo() -> None:
        backend.write(lambda ws: interactions.restore_interaction(ws, interaction_id)).run()

    undo_bar.show_undo(deleted_message(view), undo)


def _theme_key() -> int:
    """The look a dialog was built in: a dialog built in another one is built again
    (the contacts' check boxes take their colours from the palette when built)."""
    return QApplication.palette().color(QPalette.ColorRole.Base).rgba()


def reusable(dialog: Any) -> bool:
    """Whether a view's kept dialog can show the next interaction: not deleted, and
    built in the look the window has now (one on screen is kept whatever the look:
    it may hold changes not saved, or a save on its way)."""
    return (
        isinstance(dialog, InteractionDialog)
        and shiboken6.isValid(dialog)
        and (dialog.isVisible() or dialog.theme_key == _theme_key())
    )


def _error_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName("FieldError")
    label.setWordWrap(True)
    label.setAccessibleName(f"{name} problem")
    label.hide()
    return label


class InteractionDialog(QDialog):
    """``loaded`` once its detail is shown; ``saved`` (InteractionView) after an edit;
    ``deleted`` (InteractionView) after a delete, for the window's undo bar."""

    loaded = Signal()
    saved = Signal(object)
    deleted = Signal(object)
    open_customer = Signal(str)

    def __init__(
        self,
        backend: Backend,
        interaction_id: str | None = None,
        parent: QWidget | None = None,
        *,
        show_customer_button: bool = True,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.interaction_id = interaction_id or ""
        self.detail: InteractionDetail | None = None
        self._busy = False
        self._filling = True  # no "changed" while the form is filled from the record
        self._generation = 0  # which load an answer belongs to (a late one is dropped)
        self._show_customer_button = show_customer_button
        self.theme_key = _theme_key()
        self._open_timer = QTimer(self)
        self._open_timer.setSingleShot(True)
        self._open_timer.setInterval(LOADING_SHOWN_AFTER_MS)
        self._open_timer.timeout.connect(self._open_now)
        self.setWindowTitle("Interaction")
        self.setAccessibleName("Interaction")
        self.setMinimumSize(760, 500)
        self.resize(900, 600)
        if interaction_id:
            self._load()  # the database reads while the form is built (its answer is queued)
        self._build()

    def show_interaction(self, interaction_id: str) -> bool:
        """Show another interaction in this dialog, nothing of the one before kept.
        False, and the one shown stays, while its save or delete is on its way, or when
        it has changes not saved that the person chose to keep editing."""
        if self._busy or (self.isVisible() and not self._may_leave()):
            return False
        self.interaction_id = interaction_id
        self._load()  # the database reads while the form is emptied (its answer is queued)
        self._reset()
        if not self.isVisible():
            self._open_timer.start()
        return True

    def prepare(self) -> None:
        """Done ahead, hidden, what a first show does before it paints: style sheets
        applied to every widget, the layout worked out, the window made on the screen's
        side, every widget painted once. The first open then costs as much as any other."""
        self.ensurePolished()
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.winId()
        self.grab()  # painted once off screen: fonts' glyphs and the style's pieces cached

    def _open_now(self) -> None:
        """On screen, window-modal (as ``open()``): once filled, or when the read is slow."""
        self._open_timer.stop()
        if not self.isVisible():
            self.open()

    def _reset(self) -> None:
        """As a fresh dialog is before its interaction is read: empty, read-only, no
        message, nothing to undo (setting a text clears its editor's undo history)."""
        self.detail = None
        self._filling = True
        self.title.setText("Loading…")
        self.setWindowTitle("Interaction")
        self.subtitle.setText("")
        self.customer_button.hide()
        self.read_only_note.hide()
        self.clear_errors()
        for label in (*self.errors.values(), self.general_error):
            label.setText("")
        self.kind.setCurrentIndex(0)
        self.when.setText("")
        self.contacts.clear()
        self.subject.setText("")
        self.notes.setPlainText("")
        self.feedback.setPlainText("")
        self.outcome.setCurrentText("")
        self.satisfaction.set_value(None)
        self.depth.setCurrentIndex(0)
        self.direction.setCurrentIndex(0)
        self.duration.setValue(0)
        self.followups.clear()
        self.followups_title.setText("Follow-ups made in it")
        self.followups.show()
        self.history.clear()
        self.history_title.setText("History")
        self.fields_scroll.verticalScrollBar().setValue(0)
        self._set_enabled(False)
        self.state.setText("")
        self.save_button.setEnabled(False)
        self.save_button.show()
        self.delete_button.setEnabled(False)
        self.delete_button.show()

    # --- building ---------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(6)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title = QLabel("Loading…")
        self.title.setObjectName("PageTitle")
        self.title.setAccessibleName("Interaction")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("Muted")
        self.subtitle.setAccessibleName("When and by whom")
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.customer_button = QPushButton("")
        self.customer_button.setToolTip("Open this customer's profile")
        self.customer_button.clicked.connect(self._open_customer)
        self.customer_button.hide()
        header.addWidget(self.customer_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(header)
        self.read_only_note = QLabel("")
        self.read_only_note.setObjectName("Muted")
        self.read_only_note.setWordWrap(True)
        self.read_only_note.setAccessibleName("Why this cannot be changed")
        self.read_only_note.hide()
        outer.addWidget(self.read_only_note)

        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.setChildrenCollapsible(False)
        outer.addWidget(body, 1)

        # Left: the fields, each with its problem under it.
        scroll = self.fields_scroll = QScrollArea(body)
        scroll.setAccessibleName("Interaction fields")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget(scroll)
        stack = QVBoxLayout(inner)
        stack.setContentsMargins(0, 0, 8, 0)
        form = QFormLayout()
        stack.addLayout(form)
        stack.addStretch(1)  # spare height below the fields, not between them
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(4)
        self.errors: dict[str, QLabel] = {}
        self.editors: dict[str, QWidget] = {}

        def add(label: str, key: str, widget: QWidget, accessible: str) -> None:
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(1)
            column.addWidget(widget)
            error = _error_label(accessible)
            column.addWidget(error)
            self.errors[key] = error
            self.editors[key] = widget
            caption = QLabel(label)
            caption.setBuddy(widget)
            form.addRow(caption, box)
            if not widget.accessibleName():
                widget.setAccessibleName(accessible)

        self.kind = QComboBox()
        for kind in InteractionKind:
            self.kind.addItem(kind.value.capitalize(), kind.value)
        add("&Kind", "kind", self.kind, "Kind")

        when_box = QWidget()
        when_row = QHBoxLayout(when_box)
        when_row.setContentsMargins(0, 0, 0, 0)
        self.when = QLineEdit()
        self.when.setAccessibleName("When")
        self.when.setPlaceholderText("2026-12-04 10:00, yesterday 16:00")
        self.when.setMaximumWidth(170)
        self.when_parsed = QLabel()
        self.when_parsed.setStyleSheet(HINT_STYLE)
        self.when_parsed.setAccessibleName("When, understood as")
        self.when.textChanged.connect(self._when_changed)
        when_row.addWidget(self.when)
        when_row.addWidget(self.when_parsed, 1)
        add("W&hen", "when", when_box, "When")
        self.editors["when"] = self.when

        self.contacts = QListWidget()
        self.contacts.setAccessibleName("Contacts who took part")
        self.contacts.setToolTip("Space ticks the people who took part")
        self.contacts.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        visible_check_boxes(self.contacts)
        add("Con&tacts", "contacts", self.contacts, "Contacts who took part")

        self.subject = QLineEdit()
        self.subject.setPlaceholderText("A line that says what it was about")
        add("S&ubject", "subject", self.subject, "Subject")

        self.notes = QPlainTextEdit()
        self.notes.setTabChangesFocus(True)
        self.notes.setPlaceholderText("What happened")
        lines = self.fontMetrics().lineSpacing()
        self.notes.setFixedHeight(6 * lines + 12)  # longer notes scroll in their box
        add("&Notes", "notes", self.notes, "Notes")

        self.feedback = QPlainTextEdit()
        self.feedback.setTabChangesFocus(True)
        self.feedback.setPlaceholderText("What the customer said, in their own words")
        self.feedback.setFixedHeight(4 * lines + 12)
        add("Their &words", "feedback", self.feedback, "The customer's own words")

        self.outcome = QComboBox()
        self.outcome.setEditable(True)
        self.outcome.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.outcome.addItem("")
        for o in Outcome:
            self.outcome.addItem(o.value)
        add("&Outcome", "outcome", self.outcome, "Outcome")

        self.satisfaction = SatisfactionPicker()
        add("Sat&isfaction", "satisfaction", self.satisfaction, "Satisfaction")

        self.depth = QComboBox()
        self.depth.addItem("—", "")
        for d in Depth:
            self.depth.addItem(d.value, d.value)
        add("De&pth", "depth", self.depth, "Depth")

        self.direction = QComboBox()
        self.direction.addItem("—", "")
        for d in Direction:
            self.direction.addItem(d.value, d.value)
        add("&Direction", "direction", self.direction, "Direction")

        self.duration = QSpinBox()
        self.duration.setRange(0, 24 * 60)
        self.duration.setSuffix(" min")
        self.duration.setSpecialValueText("—")
        self.duration.setSingleStep(5)
        self.duration.setMaximumWidth(120)
        add("Du&ration", "duration", self.duration, "Duration in minutes")
        scroll.setWidget(inner)
        body.addWidget(scroll)

        # Right: the promises made in it, and its history.
        side = QWidget(body)
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(8, 0, 0, 0)
        side_column.setSpacing(4)
        self.followups_title = QLabel("Follow-ups made in it")
        self.followups_title.setObjectName("CardTitle")
        side_column.addWidget(self.followups_title)
        self.followups = QTreeWidget()
        self.followups.setAccessibleName("Follow-ups made in this interaction")
        self.followups.setHeaderLabels(["Due", "Promise", "State"])
        self.followups.setRootIsDecorated(False)
        self.followups.setColumnWidth(0, 110)
        promises = self.followups.header()
        promises.setStretchLastSection(False)
        promises.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        promises.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        side_column.addWidget(self.followups, 2)
        side_column.addSpacing(6)
        self.history_title = QLabel("History")
        self.history_title.setObjectName("CardTitle")
        side_column.addWidget(self.history_title)
        self.history = QTreeWidget()
        self.history.setAccessibleName("History of this interaction")
        self.history.setHeaderLabels(["When", "Who", "What changed"])
        self.history.setRootIsDecorated(False)
        self.history.setWordWrap(True)
        self.history.setColumnWidth(0, 110)
        self.history.setColumnWidth(1, 90)
        side_column.addWidget(self.history, 3)
        body.addWidget(side)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        body.setSizes([520, 340])

        self.general_error = _error_label("Interaction")
        outer.addWidget(self.general_error)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("De&lete")
        self.delete_button.setToolTip("Delete this interaction (Ctrl+Z brings it back)")
        self.delete_button.setAutoDefault(False)
        self.delete_button.clicked.connect(self.delete)
        self.state = QLabel("")
        self.state.setStyleSheet(HINT_STYLE)
        self.state.setAccessibleName("Save state")
        self.save_button = QPushButton("&Save  (Ctrl+Enter)")
        self.save_button.setAccessibleName("Save changes")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda _checked=False: self.save())
        self.close_button = QPushButton("Close  (Esc)")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.state, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        outer.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.save)
        self._set_enabled(False)
        self.delete_button.setEnabled(False)

        for signal in (
            self.kind.currentIndexChanged,
            self.direction.currentIndexChanged,
            self.depth.currentIndexChanged,
            self.duration.valueChanged,
            self.outcome.currentTextChanged,
            self.subject.textChanged,
            self.notes.textChanged,
            self.feedback.textChanged,
            self.satisfaction.changed,
            self.contacts.itemChanged,
        ):
            signal.connect(self._edited)

    # --- loading ------------------------------------------------------------------
    def _load(self) -> None:
        interaction_id = self.interaction_id
        self._generation += 1
        generation = self._generation

        def shown(detail: InteractionDetail) -> None:
            if generation == self._generation:  # not one asked for before another
                self._show(detail)

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                self._load_failed(exc)

        self.backend.query(lambda ws: interactions.interaction_detail(ws, interaction_id)).success(
            shown
        ).failure(failed).run()

    def _load_failed(self, exc: Exception) -> None:
        self.title.setText("This interaction cannot be shown")
        self._show_general(human_message(exc))
        if not isinstance(exc, TouchpointError):
            log.error("interaction detail", exc_info=(type(exc), exc, exc.__traceback__))
        self._open_now()
        self.loaded.emit()

    def _show(self, detail: InteractionDetail) -> None:
        self.detail = detail
        i = detail.interaction
        self._filling = True
        kind = i.kind.capitalize()
        self.title.setText(f"{kind} at {detail.customer_name}" if detail.customer_name else kind)
        self.setWindowTitle(self.title.text())
        by = detail.author_name
        self.subtitle.setText(f"{moment_text(i.occurred_at, self.ws)} · logged by {by}")
        if self._show_customer_button and detail.customer_name:
            self.customer_button.setText(f"Open {detail.customer_name}")
            self.customer_button.setAccessibleName(f"Open {detail.customer_name}")
            self.customer_button.show()
        self.kind.setCurrentIndex(max(0, self.kind.findData(i.kind)))
        self.when.setText(_editable_when(i.occurred_at, self.ws))
        self._fill_contacts(detail)
        self.subject.setText(i.subject or "")
        self.notes.setPlainText(i.notes or "")
        self.feedback.setPlainText(i.feedback or "")
        self.outcome.setCurrentText(i.outcome or "")
        self.satisfaction.set_value(i.satisfaction)
        self.depth.setCurrentIndex(max(0, self.depth.findData(i.depth or "")))
        self.direction.setCurrentIndex(max(0, self.direction.findData(i.direction or "")))
        self.duration.setValue(i.duration_minutes or 0)
        self._fill_followups(detail)
        self._fill_history(detail)
        self._set_enabled(detail.editable)
        self._filling = False
        self.delete_button.setEnabled(detail.editable)
        self.delete_button.setVisible(detail.editable)
        self.save_button.setVisible(detail.editable)
        if detail.editable:
            self.read_only_note.hide()
        else:
            self.read_only_note.setText(
                f"Logged by {by}: only they can change or delete it, as it is their "
                "record of what happened. You can read it and add your own interaction."
            )
            self.read_only_note.show()
        self.state.setText("")
        self.save_button.setEnabled(False)
        self._open_now()
        (self.notes if detail.editable else self.close_button).setFocus()
        self.loaded.emit()

    def _fill_contacts(self, detail: InteractionDetail) -> None:
        self.contacts.clear()
        took_part = {c.id for c in detail.contacts}
        shown = list(detail.customer_contacts)
        # Someone who took part and was deleted since is still named.
        shown += [c for c in detail.contacts if c.id not in {p.id for p in shown}]
        for contact in shown:
            label = contact.name + (f" — {contact.title}" if contact.title else "")
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, contact.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = Qt.CheckState.Checked if contact.id in took_part else Qt.CheckState.Unchecked
            item.setCheckState(checked)
            self.contacts.addItem(item)
        if not shown:
            item = QListWidgetItem("No contacts for this customer")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.contacts.addItem(item)
        rows = min(max(self.contacts.count(), 1), 4)
        row = self.contacts.sizeHintForRow(0) if self.contacts.count() else 20
        self.contacts.setFixedHeight(rows * max(row, 18) + 2 * self.contacts.frameWidth())

    def _fill_followups(self, detail: InteractionDetail) -> None:
        self.followups.clear()
        tz, now = self.ws.tz, self.ws.now()
        for f in detail.followups:
            mark, color = STATE_WORDS.get(PromiseState(f.state), (str(f.state), ""))
            when = f.done_at if f.done_at and f.status != "open" else f.due_at
            row = QTreeWidgetItem([when_text(when, tz, now), f.title, mark])
            row.setToolTip(1, f.notes or f.title)
            if color:
                row.setForeground(2, QColor(color))
            self.followups.addTopLevelItem(row)
        n = len(detail.followups)
        self.followups_title.setText(
            f"Follow-ups made in it ({n})" if n else "Follow-ups made in it: none"
        )
        self.followups.setVisible(n > 0)  # no empty table: the history gets the room

    def _fill_history(self, detail: InteractionDetail) -> None:
        self.history.clear()
        tz, now = self.ws.tz, self.ws.now()
        names = {c.id: c.name for c in [*detail.customer_contacts, *detail.contacts]}
        for entry in detail.history:
            who = detail.names.get(entry.author, entry.author)
            text = history_text(entry, names)
            item = QTreeWidgetItem([when_text(entry.at, tz, now), who, text])
            item.setToolTip(2, text)
            item.setToolTip(1, entry.author)
            self.history.addTopLevelItem(item)
        shown, total = len(detail.history), max(detail.history_total, len(detail.history))
        self.history_title.setText(
            f"History ({shown})" if total == shown else f"History (latest {shown} of {total:,})"
        )

    # --- editing ------------------------------------------------------------------
    def _set_enabled(self, editable: bool) -> None:
        for widget in (self.subject, self.when):
            widget.setReadOnly(not editable)
        for text in (self.notes, self.feedback):
            text.setReadOnly(not editable)
        for widget in (
            self.kind,
            self.direction,
            self.depth,
            self.duration,
            self.outcome,
            self.satisfaction,
        ):
            widget.setEnabled(editable)
        flags = Qt.ItemFlag.ItemIsEnabled | (
            Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            if editable
            else Qt.ItemFlag.NoItemFlags
        )
        for n in range(self.contacts.count()):
            item = self.contacts.item(n)
            if item.data(Qt.ItemDataRole.UserRole):
                item.setFlags(flags)

    def _when_changed(self) -> None:
        text = self.when.text().strip()
        try:
            moment = dates.parse_when(text, now=self.ws.now(), tz=self.ws.tz, past=True)
        except ValueError:
            self.when_parsed.setText("not a date yet" if text else "")
        else:
            self.when_parsed.setText("→ " + moment_text(moment, self.ws))
        self._edited()

    def _edited(self, *_: object) -> None:
        if self._filling or self.detail is None or not self.detail.editable:
            return
        changed = bool(self.patch())
        self.save_button.setEnabled(changed and not self._busy)
        self.state.setText("Changed; Ctrl+Enter saves" if changed else "")

    def checked_contacts(self) -> list[str]:
        out = []
        for n in range(self.contacts.count()):
            item = self.contacts.item(n)
            contact_id = item.data(Qt.ItemDataRole.UserRole)
            if contact_id and item.checkState() == Qt.CheckState.Checked:
                out.append(str(contact_id))
        return out

    def patch(self) -> dict[str, Any]:
        """The fields changed since it was loaded, as the service takes them."""
        if self.detail is None:
            return {}
        i = self.detail.interaction
        out: dict[str, Any] = {}

        def differs(key: str, now: Any, before: Any) -> None:
            if (now or None) != (before or None):
                out[key] = now

        differs("kind", self.kind.currentData(), i.kind)
        if self.when.text().strip() != _editable_when(i.occurred_at, self.ws):
            out["occurred_at"] = self.when.text().strip()
        contacts = self.checked_contacts()
        if sorted(contacts) != sorted(c.id for c in self.detail.contacts):
            out["contacts"] = contacts
        differs("subject", self.subject.text().strip(), i.subject)
        differs("notes", self.notes.toPlainText().strip(), (i.notes or "").strip())
        differs("feedback", self.feedback.toPlainText().strip(), (i.feedback or "").strip())
        differs("outcome", self.outcome.currentText().strip(), i.outcome)
        differs("satisfaction", self.satisfaction.value(), i.satisfaction)
        differs("depth", self.depth.currentData(), i.depth)
        differs("direction", self.direction.currentData(), i.direction)
        differs("duration_minutes", self.duration.value(), i.duration_minutes)
        return {k: (None if v == "" else v) for k, v in out.items()}

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.general_error.hide()

    def _show_general(self, text: str) -> None:
        self.general_error.setText(text)
        self.general_error.show()

    def save(self, *, allow_past: bool = False) -> None:
        """Ctrl+Enter: store the changed fields, checked as logging checks them (a time
        more than a year back is asked about first)."""
        if self.detail is None or not self.detail.editable or self._busy:
            return
        patch = self.patch()
        if not patch:
            self.accept()
            return
        self.clear_errors()
        self._busy = True
        self.save_button.setEnabled(False)
        interaction_id = self.detail.interaction.id
        self.backend.write(
            lambda ws: interactions.edit_interaction(
                ws, interaction_id, patch, allow_past=allow_past
            ),
            initiator=self,
        ).success(self._saved).failure(self._failed).run()

    def _saved(self, view: InteractionView) -> None:
        self._busy = False
        self.saved.emit(view)
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        self._edited()
        past = only_past_times(exc)
        if past and errors_module.ask_past(self, past):
            self.save(allow_past=True)
            return
        errors = getattr(exc, "errors", None)
        if not isinstance(exc, TouchpointError) or exc.kind != "validation" or not errors:
            self._show_general(human_message(exc))
            return
        first: QWidget | None = None
        for error in errors:
            key = FIELD_KEYS.get(error.field)
            problem = own_words(error.problem)
            if key is None:
                self._show_general(f"{error.field}: {problem}")
                continue
            label = self.errors[key]
            label.setText(f"{label.text()}; {problem}" if label.isVisible() else problem)
            label.show()
            first = first or self.editors[key]
        if first is not None:
            first.setFocus()

    def delete(self) -> None:
        if self.detail is None or not self.detail.editable or self._busy:
            return
        self._busy = True
        interaction_id = self.detail.interaction.id

        def done(view: InteractionView) -> None:
            self._busy = False
            self.deleted.emit(view)
            self.accept()

        def failed(exc: Exception) -> None:
            self._busy = False
            self._show_general(human_message(exc))

        self.backend.write(
            lambda ws: interactions.delete_interaction(ws, interaction_id), initiator=self
        ).success(done).failure(failed).run()

    def ask_discard(self) -> bool:
        """Esc with changes not saved: True to close without them. Tests replace this."""
        box = QMessageBox(self)
        box.setWindowTitle(self.windowTitle())
        box.setText("Close without saving your changes?")
        discard = box.addButton("&Discard changes", QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton("Keep &editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.exec()
        return box.clickedButton() is discard

    def _may_leave(self) -> bool:
        """No changes, or the person chose to drop them."""
        if self.detail is None or not self.detail.editable or self._busy:
            return True
        return not self.patch() or self.ask_discard()

    def reject(self) -> None:
        if self._may_leave():
            super().reject()

    def _open_customer(self) -> None:
        if self.detail is not None and self._may_leave():
            self.open_customer.emit(self.detail.interaction.customer_id)
            self.accept()


__all__ = [
    "InteractionDialog",
    "deleted_message",
    "history_text",
    "moment_text",
    "offer_undo",
    "own_words",
    "reusable",
]
