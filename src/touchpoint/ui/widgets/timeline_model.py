"""A customer's interactions, newest first, fetched in pages as the view scrolls."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from touchpoint.services import interactions
from touchpoint.services.records import InteractionView
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import when_text

PAGE = 200
# Each row is two lines: when, then kind and satisfaction; what happened, then the
# outcome and the customer's words. What happened gets all the room the time leaves
# (a profile beside the customer list at 1024 pixels has less than 300 for it).
COLUMNS = ("When", "What happened")
WORDS_SHOWN = 400  # characters of notes or words a row holds (two lines show less)
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class TimelineModel(QAbstractTableModel):
    loaded = Signal()

    def __init__(self, backend: Backend, parent: Any = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.items: list[InteractionView] = []
        self.customer_id: str | None = None
        self.kind: str | None = None
        self.text: str | None = None
        self.total = 0
        self._generation = 0
        self._fetching = False
        self._complete = True

    def set_items(self, customer_id: str, first_page: list[InteractionView], total: int) -> None:
        """Show a first page read together with the rest of the profile."""
        self._generation += 1
        self.beginResetModel()
        self.customer_id = customer_id
        self.kind = None
        self.text = None
        self.items = list(first_page)
        self.total = total
        self._complete = len(first_page) < PAGE
        self._fetching = False
        self.endResetModel()
        self.loaded.emit()

    def set_filter(self, kind: str | None, text: str | None) -> None:
        if self.customer_id is None:
            return
        self.kind, self.text = kind, text
        self._generation += 1
        self.beginResetModel()
        self.items = []
        self._complete = False
        self._fetching = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def clear(self) -> None:
        self._generation += 1
        self.beginResetModel()
        self.items, self.customer_id, self._complete = [], None, True
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802, B008
        return not parent.isValid() and not self._complete and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: N802, B008
        if self.customer_id is None or self._complete or self._fetching:
            return
        self._fetching = True
        generation = self._generation
        cid, kind, text, offset = self.customer_id, self.kind, self.text, len(self.items)
        self._backend.query(
            lambda ws: interactions.timeline(
                ws, cid, kind=kind, text=text, limit=PAGE, offset=offset
            )
        ).success(lambda rows: self._append(generation, rows)).run()

    def _append(self, generation: int, rows: list[InteractionView]) -> None:
        if generation != self._generation:
            return
        self._fetching = False
        self._complete = len(rows) < PAGE
        if rows:
            first = len(self.items)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self.items.extend(rows)
            self.endInsertRows()
        self.loaded.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        item = self.items[index.row()]
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 and item.satisfaction:
            return f"Satisfaction {item.satisfaction} of 5"
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [item.subject or "", item.notes or ""]
            if item.feedback:
                parts.append(f"In their words: “{item.feedback}”")
            parts.append("Enter opens it")
            return "\n\n".join(p for p in parts if p)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.data(index).replace("\n", ", ")
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            ws = self._backend.ws
            stars = f"  {'★' * item.satisfaction}" if item.satisfaction else ""
            return f"{when_text(item.occurred_at, ws.tz, ws.now())}\n{item.kind}{stars}"
        if column == 1:
            return what_happened(item)
        return None


def _one_line(text: str | None) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= WORDS_SHOWN else line[: WORDS_SHOWN - 1] + "…"


def what_happened(item: InteractionView) -> str:
    """Two lines: the subject and the start of the notes, then the customer's words
    and the outcome (with neither, the notes may take both lines)."""
    said = " — ".join(p for p in (_one_line(item.subject), _one_line(item.notes)) if p)
    words = _one_line(item.feedback)
    # Their words first: in a narrow timeline the end of the line is what is cut.
    second = " · ".join(p for p in (f"“{words}”" if words else "", item.outcome) if p)
    return "\n".join(p for p in (said, second) if p)
