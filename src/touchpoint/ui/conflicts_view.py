"""Conflicts: values that lost a concurrent edit, with Restore and Dismiss."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.services.sync_conflicts import (
    ConflictView,
    dismiss_conflict,
    list_conflicts,
    restore_conflict,
)
from touchpoint.ui.backend import Backend

COLUMNS = ("Record", "Field", "Kept value", "Lost value", "Who and when")


def _value(value: Any) -> str:
    return "(empty)" if value in (None, "") else str(value)


def _who(c: ConflictView) -> str:
    return f"kept: {c.winner_author}, {c.winner_at}\nlost: {c.loser_author}, {c.loser_at}"


class ConflictsDialog(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Conflicts")
        self.resize(820, 380)
        self._backend = backend
        self.conflicts: list[ConflictView] = []
        self.empty = QLabel("No conflicts: every edit reached the Hub as typed.", self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Conflicts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.restore_button = QPushButton("Restore lost value", self)
        self.restore_button.clicked.connect(self.restore_selected)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.restore_button)
        row.addWidget(self.dismiss_button)
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        self._backend.query(list_conflicts).success(self._show).run()

    def _show(self, conflicts: list[ConflictView]) -> None:
        self.conflicts = conflicts
        self.table.setRowCount(len(conflicts))
        for r, c in enumerate(conflicts):
            cells = (
                c.record_name or f"{c.entity} {c.record_id[:8]}",
                c.field,
                _value(c.winner_value),
                _value(c.loser_value),
                _who(c),
            )
            for col, text in enumerate(cells):
                self.table.setItem(r, col, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        self.empty.setVisible(not conflicts)
        if conflicts:
            self.table.selectRow(0)
        self._update_buttons()

    def _selected(self) -> ConflictView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.conflicts[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        chosen = self._selected() is not None
        self.restore_button.setEnabled(chosen)
        self.dismiss_button.setEnabled(chosen)

    def restore_selected(self) -> None:
        """Put the lost value back; it syncs like any edit."""
        chosen = self._selected()
        if chosen is None:
            return
        self._backend.write(lambda ws: restore_conflict(ws, chosen.id), initiator=self).success(
            lambda _v: self.refresh()
        ).run()

    def dismiss_selected(self) -> None:
        """Keep the value the Hub kept and take the conflict off the list."""
        chosen = self._selected()
        if chosen is None:
            return
        self._backend.query(lambda ws: dismiss_conflict(ws, chosen.id)).success(
            lambda _v: self.refresh()
        ).run()
