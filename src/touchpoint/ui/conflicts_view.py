"""Conflicts: values that lost a concurrent edit, with Restore and Dismiss; and, on a
second tab, the changes the Hub refused (see rejected_view.py)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.values import short_id
from touchpoint.services.sync_conflicts import (
    EMPTY,
    ConflictList,
    ConflictView,
    conflict_list,
    dismiss_conflict,
    restore_conflict,
)
from touchpoint.ui.backend import Backend
from touchpoint.ui.rejected_view import RejectedChangesView
from touchpoint.ui.set_aside_view import SetAsideView

TAB_REJECTED = "Refused by the Hub"
COLUMNS = ("Record", "Field", "Kept value", "Lost value", "Who and when")


NOT_SYNCED = "Not synced yet: conflicts appear here after syncing with the Hub."
NONE_OPEN = "No conflicts: every edit reached the Hub as typed."


def _value(text: str | None, value: Any) -> str:
    """The value in words (the services' conflict_words), else as stored."""
    return text if text is not None else EMPTY if value in (None, "") else str(value)


def _who(c: ConflictView) -> str:
    kept_at = c.words.kept_when if c.words else c.winner_at
    lost_at = c.words.lost_when if c.words else c.loser_at
    return f"kept: {c.winner_author}, {kept_at}\nlost: {c.loser_author}, {lost_at}"


class ConflictsDialog(QDialog):
    """Two tabs: Conflicts, and the changes the Hub refused."""

    open_customer = Signal(str)  # "Edit the record" on a refused change
    rejected_dismissed = Signal()

    def __init__(
        self, backend: Backend, parent: QWidget | None = None, *, tab: str = "conflicts"
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Conflicts and refused changes")
        self.resize(900, 420)
        self._backend = backend
        self.conflicts: list[ConflictView] = []
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Conflicts, refused and set-aside changes")
        page = QWidget(self.tabs)
        self.empty = QLabel(NONE_OPEN, page)
        self.table = QTableWidget(0, len(COLUMNS), page)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Conflicts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.restore_button = QPushButton("Restore lost value", page)
        self.restore_button.clicked.connect(self.restore_selected)
        self.dismiss_button = QPushButton("Dismiss", page)
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        row = QHBoxLayout()
        row.addWidget(self.restore_button)
        row.addWidget(self.dismiss_button)
        row.addStretch(1)
        column = QVBoxLayout(page)
        column.addWidget(self.empty)
        column.addWidget(self.table, 1)
        column.addLayout(row)
        self.tabs.addTab(page, "Conflicts")
        self.rejected = RejectedChangesView(backend, self.tabs)
        self.tabs.addTab(self.rejected, "Refused by the Hub")
        self.rejected.counted.connect(
            lambda n: self.tabs.setTabText(1, f"Refused by the Hub ({n})" if n else TAB_REJECTED)
        )
        self.set_aside = SetAsideView(backend, self.tabs)
        self.tabs.addTab(self.set_aside, "Set aside")
        self.set_aside.counted.connect(
            lambda n: self.tabs.setTabText(2, f"Set aside ({n})" if n else "Set aside")
        )
        self.rejected.open_customer.connect(self._edit_record)
        self.rejected.dismissed.connect(self.rejected_dismissed)
        if tab == "rejected":
            self.tabs.setCurrentWidget(self.rejected)
        elif tab == "set_aside":
            self.tabs.setCurrentWidget(self.set_aside)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(close)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def _edit_record(self, customer_id: str) -> None:
        self.accept()  # the profile is in the window behind: make way for it
        self.open_customer.emit(customer_id)

    def refresh(self) -> None:
        self._backend.query(conflict_list).success(self._show).run()

    def _show(self, listed: ConflictList) -> None:
        self.conflicts = conflicts = listed.conflicts
        self.empty.setText(NONE_OPEN if listed.synced else NOT_SYNCED)
        self.table.setRowCount(len(conflicts))
        for r, c in enumerate(conflicts):
            cells = (
                c.record_name or f"{c.entity} {short_id(c.record_id)}",
                c.words.field if c.words else c.field,
                _value(c.words and c.words.kept, c.winner_value),
                _value(c.words and c.words.lost, c.loser_value),
                _who(c),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c.words and c.words.sentence:
                    item.setToolTip(f"{c.words.sentence}. Restore brings it back.")
                self.table.setItem(r, col, item)
        self.table.resizeRowsToContents()
        self.tabs.setTabText(0, f"Conflicts ({len(conflicts)})" if conflicts else "Conflicts")
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
