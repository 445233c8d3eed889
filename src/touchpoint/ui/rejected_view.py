"""Changes the Hub refused: what was typed, why it was refused, and a way to fix it.

A refused change is not sent again: its record went back to the Hub's values. The rep
opens the record ("Edit the record") and types the fix, which syncs as a new edit, or
dismisses the entry once seen.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.values import short_id
from touchpoint.services.sync_conflicts import RejectedChange, dismiss_rejected, rejected_changes
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import when_text

COLUMNS = ("Record", "Field", "Value refused", "The Hub's reason", "When")
VALUE_CHARS = 80


def value_text(value: Any) -> str:
    text = "(empty)" if value in (None, "", [], {}) else str(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


class RejectedChangesView(QWidget):
    """The list, one row per field of each refused change, with Edit and Dismiss."""

    open_customer = Signal(str)
    counted = Signal(int)  # how many refused changes are listed (for a tab title)
    dismissed = Signal()  # one was taken off the list (the status bar counts again)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.changes: list[RejectedChange] = []
        self._rows: list[RejectedChange] = []  # the change of each table row
        self.empty = QLabel("No refused changes: the Hub accepted everything sent.", self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Changes refused by the Hub")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        fit, stretch = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch
        for col, mode in enumerate((fit, fit, stretch, stretch, fit)):
            header.setSectionResizeMode(col, mode)  # all columns in view, long values elided
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemActivated.connect(lambda _item: self.edit_selected())
        self.edit_button = QPushButton("&Edit the record", self)
        self.edit_button.setToolTip("Open the customer to type the value again, fixed")
        self.edit_button.clicked.connect(self.edit_selected)
        self.dismiss_button = QPushButton("&Dismiss", self)
        self.dismiss_button.setToolTip("Take this change off the list (it stays in the history)")
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        hint = QLabel(
            "The record kept the Hub's values. Fix it with a new edit: it is sent like any "
            "other change.",
            self,
        )
        hint.setWordWrap(True)
        hint.setObjectName("Muted")
        row = QHBoxLayout()
        row.addWidget(self.edit_button)
        row.addWidget(self.dismiss_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        self._backend.query(rejected_changes).success(self._show).run()

    def _show(self, changes: list[RejectedChange]) -> None:
        ws = self._backend.ws
        self.changes = changes
        self._rows = []
        self.table.setRowCount(0)
        for change in changes:
            name = change.record_name or f"{change.entity} {short_id(change.record_id)}"
            refused = when_text(change.refused_at, ws.tz, ws.now()) if change.refused_at else ""
            for field in change.fields:
                r = self.table.rowCount()
                self.table.insertRow(r)
                cells = (
                    name,
                    field,
                    value_text((change.values or {}).get(field)),
                    change.reason,
                    when_text(change.at, ws.tz, ws.now()),
                )
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setToolTip(f"Edited {cells[4]}, refused {refused}" if col == 4 else text)
                    self.table.setItem(r, col, item)
                self._rows.append(change)
        self.table.resizeRowsToContents()
        self.empty.setVisible(not changes)
        self.table.setVisible(bool(changes))
        if changes:
            self.table.selectRow(0)
        self._update_buttons()
        self.counted.emit(len(changes))

    def selected(self) -> RejectedChange | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        chosen = self.selected()
        self.edit_button.setEnabled(chosen is not None and chosen.customer_id is not None)
        self.dismiss_button.setEnabled(chosen is not None)

    def edit_selected(self) -> None:
        chosen = self.selected()
        if chosen is not None and chosen.customer_id:
            self.open_customer.emit(chosen.customer_id)

    def dismiss_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        change_id = chosen.change_id
        # A local note only (nothing to sync): run as a query on the database thread.
        self._backend.query(lambda ws: dismiss_rejected(ws, change_id)).success(
            lambda _v: self._dismissed()
        ).run()

    def _dismissed(self) -> None:
        self.refresh()
        self.dismissed.emit()
