"""Activity: the rep's own log of interactions, by date range, kind, outcome and words; paged."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import dates
from touchpoint.domain.enums import InteractionKind, Outcome
from touchpoint.services import insights
from touchpoint.services.records import InteractionView
from touchpoint.storage.workspace import Changes, Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import human_message
from touchpoint.ui.theme import MUTED, WARN
from touchpoint.ui.widgets.format import when_text

PAGE = 100
COLUMNS = ("When", "Kind", "Customer", "Outcome", "Satisfaction", "Notes and their words")
CUSTOMER_ROLE = Qt.ItemDataRole.UserRole


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class _Table(QTableWidget):
    activated_row = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self.activated_row.emit(self.currentRow())
            return
        super().keyPressEvent(event)


class ActivityView(QWidget):
    open_customer = Signal(str)
    interaction_deleted = Signal(object)  # InteractionView, for the window's undo bar

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.setAccessibleName("Activity")
        self.page = 0
        self.has_next = False
        self.rows: list[InteractionView] = []
        self._loaded = False
        self._seq = 0
        self.interaction_dialog: Any = None  # the interaction open from the list

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 8)
        title = QLabel("Activity")
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        layout.addWidget(title)

        filters = QHBoxLayout()
        filters.setSpacing(8)
        today = self.ws.now().astimezone(self.ws.tz).date()
        self.start = QDateEdit(_qdate(today - timedelta(days=29)))
        self.end = QDateEdit(_qdate(today))
        for edit, name in ((self.start, "From"), (self.end, "To")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("ddd d MMM yyyy")
            edit.setAccessibleName(f"{name} date")
            caption = QLabel(f"&{name}")
            caption.setBuddy(edit)
            caption.setMinimumWidth(caption.sizeHint().width() + 4)
            filters.addWidget(caption)
            filters.addWidget(edit)
            edit.dateChanged.connect(self._filters_changed)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Kind")
        self.kind.addItem("Any kind", "")
        for kind in InteractionKind:
            self.kind.addItem(kind.value.capitalize(), kind.value)
        self.kind.currentIndexChanged.connect(self._filters_changed)
        filters.addWidget(self.kind)
        self.outcome = QComboBox()
        self.outcome.setAccessibleName("Outcome")
        self.outcome.addItem("Any outcome", "")
        for outcome in Outcome:
            self.outcome.addItem(outcome.value.capitalize(), outcome.value)
        self.outcome.currentIndexChanged.connect(self._filters_changed)
        filters.addWidget(self.outcome)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Words in notes or feedback")
        self.text.setAccessibleName("Words in notes or feedback")
        self.text.setClearButtonEnabled(True)
        self.text.textChanged.connect(lambda _t: self._typing.start())
        filters.addWidget(self.text, 1)
        self.mine_only = QCheckBox("&Mine only")
        self.mine_only.setChecked(True)
        self.mine_only.toggled.connect(self._filters_changed)
        filters.addWidget(self.mine_only)
        layout.addLayout(filters)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(250)
        self._typing.timeout.connect(self._filters_changed)

        self.table = _Table(0, len(COLUMNS))
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setAccessibleName("Interactions")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 150), (1, 80), (2, 200), (3, 130), (4, 90)):
            self.table.setColumnWidth(column, width)
        self.table.cellDoubleClicked.connect(lambda row, _c: self._open(row))
        self.table.activated_row.connect(self._open)
        layout.addWidget(self.table, 1)

        pager = QHBoxLayout()
        self.status = QLabel()
        self.status.setAccessibleName("Activity status")
        self.status.setStyleSheet(f"color: {MUTED};")
        pager.addWidget(self.status, 1)
        self.previous = QPushButton("◀ &Previous")
        self.next = QPushButton("&Next ▶")
        self.previous.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next.clicked.connect(lambda: self.show_page(self.page + 1))
        pager.addWidget(self.previous)
        pager.addWidget(self.next)
        layout.addLayout(pager)
        backend.changes_applied.connect(self._changes_applied)
        self._update_pager()

    def activate(self) -> None:
        if not self._loaded:
            self.refresh()
        self.table.setFocus()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._loaded:
            self.refresh()

    def _filters_changed(self, *_: object) -> None:
        self.show_page(0)

    def refresh(self) -> None:
        self.show_page(self.page)

    def filters(self) -> dict[str, Any]:
        first, last = _day(self.start.date()), _day(self.end.date())
        if last < first:
            first, last = last, first
        start, end = dates.local_range_bounds(first, last, self.ws.tz)
        return {
            "start": start,
            "end": end,
            "rep": self.ws.author if self.mine_only.isChecked() else None,
            "kinds": (self.kind.currentData(),) if self.kind.currentData() else (),
            "outcomes": (self.outcome.currentData(),) if self.outcome.currentData() else (),
            "text": self.text.text().strip() or None,
        }

    def show_page(self, page: int) -> None:
        self._loaded = True
        page = max(0, page)
        flt = self.filters()
        self._seq += 1
        seq = self._seq

        def load(ws: Workspace) -> tuple[datetime, list[InteractionView]]:
            # One row more than a page tells whether there is a next page.
            found = insights.activity(ws, **flt, limit=PAGE + 1, offset=page * PAGE)
            return ws.now(), found

        def loaded(result: tuple[datetime, list[InteractionView]]) -> None:
            if seq != self._seq:
                return  # the filters changed while this page was loading
            now, found = result
            self.page = page
            self.has_next = len(found) > PAGE
            self._fill(found[:PAGE], now)

        def failed(exc: Exception) -> None:
            self.status.setStyleSheet(f"color: {WARN};")
            self.status.setText(human_message(exc))

        self.status.setText("Loading…")
        self.backend.query(load).success(loaded).failure(failed).run()

    def _fill(self, rows: list[InteractionView], now: datetime) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for n, i in enumerate(rows):
            words = " · ".join(
                part
                for part in (i.subject, i.notes, f"“{i.feedback}”" if i.feedback else None)
                if part
            )
            cells = (
                when_text(i.occurred_at, self.ws.tz, now),
                i.kind,
                i.customer_name or "",
                i.outcome or "",
                "★" * i.satisfaction if i.satisfaction else "",
                words.replace("\n", " "),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(CUSTOMER_ROLE, i.customer_id)
                if column == 5:
                    item.setToolTip(words)
                if column == 4 and i.satisfaction:
                    item.setToolTip(f"{i.satisfaction} of 5")
                self.table.setItem(n, column, item)
        if rows:
            self.table.setCurrentCell(0, 0)
        self.status.setStyleSheet(f"color: {MUTED};")
        if not rows:
            self.status.setText("No interactions match these filters.")
        else:
            first = self.page * PAGE + 1
            self.status.setText(f"Interactions {first}–{first + len(rows) - 1}")
        self._update_pager()

    def _update_pager(self) -> None:
        self.previous.setEnabled(self.page > 0)
        self.next.setEnabled(self.has_next)

    def _open(self, row: int) -> None:
        """Enter or a double click: the whole interaction (its customer one click on)."""
        if 0 <= row < len(self.rows):
            self.open_interaction(self.rows[row].id)

    def _forget_dialog(self, dialog: Any) -> None:
        if self.interaction_dialog is dialog:  # not a newer one opened since
            self.interaction_dialog = None

    def open_interaction(self, interaction_id: str) -> Any:
        """One dialog serves every interaction opened from the list, refilled each time."""
        from touchpoint.ui.interaction_dialog import InteractionDialog, reusable

        dialog = self.interaction_dialog
        if not reusable(dialog):
            if dialog is not None:
                dialog.deleteLater()
            dialog = InteractionDialog(self.backend, None, self)
            dialog.open_customer.connect(self.open_customer)
            dialog.deleted.connect(self.interaction_deleted)
            dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_dialog(d))
            self.interaction_dialog = dialog
        dialog.show_interaction(interaction_id)  # on screen once filled
        return dialog

    def _changes_applied(self, changes: Changes, _initiator: object) -> None:
        if changes.touches("interaction") and self._loaded:
            self.refresh()


__all__ = ["ActivityView"]
