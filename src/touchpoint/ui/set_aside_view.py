"""Changes pulled from the Hub that this laptop could not apply, and why.

Nothing here is the rep's to fix: each sync tries them again (one waiting for a record
that has not arrived applies when it does), and IT sees the count in the Hub's view of
the fleet. Listed so that nobody wonders where a colleague's record went.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.values import short_id
from touchpoint.sync.attention import SetAsideChange, set_aside_changes
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import when_text

COLUMNS = ("Record", "Why it is set aside", "Since", "Tried")


class SetAsideView(QWidget):
    counted = Signal(int)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.changes: list[SetAsideChange] = []
        self.empty = QLabel("Nothing set aside: every change from the Hub applied here.", self)
        self.note = QLabel(
            "Changes from the Hub this laptop could not apply. Each sync tries them again; "
            "IT sees them too.",
            self,
        )
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Changes from the Hub set aside")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)  # one line a change; the whole reason in its tooltip
        header = self.table.horizontalHeader()
        fit, stretch = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch
        for col, mode in enumerate((fit, stretch, fit, fit)):
            header.setSectionResizeMode(col, mode)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self.refresh()

    def refresh(self) -> None:
        self._backend.query(set_aside_changes).success(self._show).run()

    def _show(self, changes: list[SetAsideChange]) -> None:
        ws = self._backend.ws
        self.changes = changes
        self.table.setRowCount(len(changes))
        for r, c in enumerate(changes):
            tries = f"{c.tries} time{'s' if c.tries != 1 else ''}"
            cells = (
                f"{c.entity} {short_id(c.record_id)}",
                c.reason + ("" if c.will_retry else " (kept; not tried again)"),
                when_text(c.set_aside_at, ws.tz, ws.now()),
                tries,
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, col, item)
        self.empty.setVisible(not changes)
        self.table.setVisible(bool(changes))
        self.counted.emit(len(changes))
