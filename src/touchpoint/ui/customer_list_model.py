"""A lazy, SQL-backed table model of customers: never every row in memory.

The row count comes from SQL. Rows are fetched in blocks of :data:`BLOCK` on the
database thread when the view first paints them; only blocks the view asked for
are fetched, and at most :data:`MAX_BLOCKS` are kept (least recently used go).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from touchpoint.domain.rounding import half_up
from touchpoint.services import customer_list
from touchpoint.services.customer_list import CustomerQuery, CustomerRow
from touchpoint.storage.workspace import Changes
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import day_text, days_text

log = logging.getLogger(__name__)

BLOCK = 100
MAX_BLOCKS = 30
ID_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

# (heading, sort key or "" when SQL cannot sort by it, shown by default). The defaults
# fit the list's default width without a horizontal scroll; the rest are one click away.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("Name", "name", True),
    ("Status", "status", False),
    ("Owner", "owner", False),
    ("Last touch", "last_touch", True),
    ("Next follow-up", "", True),
    ("Overdue", "", True),
    ("Satisfaction", "", False),
    ("Tags", "", False),
    ("City", "", False),
    ("Territory", "territory", False),
    ("Follow-ups", "", False),
)
OVERDUE_COLUMN = 5
RIGHT_ALIGNED = (5, 6)
WATCHED = ("customer", "interaction", "followup")

Index = QModelIndex | QPersistentModelIndex


class CustomerListModel(QAbstractTableModel):
    count_changed = Signal(int)
    block_loaded = Signal(int)

    def __init__(self, backend: Backend, parent: Any = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.query = CustomerQuery()
        self._count = 0
        self._blocks: OrderedDict[int, list[CustomerRow]] = OrderedDict()
        self._wanted: set[int] = set()
        self._in_flight: set[int] = set()
        self._generation = 0
        self.loading = False
        # What was fetched, for tests and the benchmark: blocks and rows read from SQL.
        self.fetched_blocks: list[int] = []
        self.fetched_rows = 0
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._request_wanted)
        backend.changes_applied.connect(self._changes_applied)

    # --- loading ---------------------------------------------------------------
    def set_query(self, query: CustomerQuery) -> None:
        self.query = query
        self.reload()

    def reload(self, *, keep_rows: bool = False) -> None:
        """Count again; drop cached rows (keep_rows: keep showing them until new ones land)."""
        self._generation += 1
        generation = self._generation
        query = self.query
        self.loading = True
        self._backend.query(lambda ws: customer_list.count_customers(ws, query)).success(
            lambda n: self._counted(generation, n, keep_rows)
        ).run()

    def _counted(self, generation: int, count: int, keep_rows: bool) -> None:
        if generation != self._generation:
            return
        self.loading = False
        if keep_rows and count == self._count:
            # Same size: keep rows on screen, re-read the blocks in view.
            stale = list(self._blocks)
            self._in_flight.clear()
            self._wanted.update(stale)
            self._flush.start()
        else:
            self.beginResetModel()
            self._count = count
            self._blocks.clear()
            self._wanted.clear()
            self._in_flight.clear()
            self.endResetModel()
        self.count_changed.emit(count)

    def _want(self, block: int) -> None:
        if block in self._in_flight or block in self._wanted:
            return
        self._wanted.add(block)
        self._flush.start()

    def _request_wanted(self) -> None:
        generation = self._generation
        query = self.query
        for block in sorted(self._wanted):
            if block in self._in_flight:
                continue
            self._in_flight.add(block)
            offset = block * BLOCK
            self._backend.query(
                lambda ws, o=offset: customer_list.customer_rows(ws, query, o, BLOCK)
            ).success(lambda rows, b=block: self._loaded(generation, b, rows)).run()
        self._wanted.clear()

    def _loaded(self, generation: int, block: int, rows: list[CustomerRow]) -> None:
        self._in_flight.discard(block)
        if generation != self._generation:
            return
        self.fetched_blocks.append(block)
        self.fetched_rows += len(rows)
        self._blocks[block] = rows
        self._blocks.move_to_end(block)
        while len(self._blocks) > MAX_BLOCKS:
            self._blocks.popitem(last=False)
        first = block * BLOCK
        last = min(first + BLOCK, self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.block_loaded.emit(block)

    def _changes_applied(self, changes: Changes, _initiator: object) -> None:
        if any(changes.touches(e) for e in WATCHED):
            self.reload(keep_rows=True)

    # --- rows ------------------------------------------------------------------
    def row_at(self, row: int) -> CustomerRow | None:
        block = row // BLOCK
        rows = self._blocks.get(block)
        if rows is None:
            if 0 <= row < self._count:
                self._want(block)
            return None
        self._blocks.move_to_end(block)
        offset = row - block * BLOCK
        return rows[offset] if offset < len(rows) else None

    def row_of_id(self, customer_id: str) -> int | None:
        """The row of a customer among the cached blocks, if loaded."""
        for block, rows in self._blocks.items():
            for n, r in enumerate(rows):
                if r.id == customer_id:
                    return block * BLOCK + n
        return None

    @property
    def cached_rows(self) -> int:
        return sum(len(rows) for rows in self._blocks.values())

    # --- Qt model API ------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        column = index.column()
        if row is None:
            if role == Qt.ItemDataRole.DisplayRole and column == 0:
                return "Loading…"
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#8a94a3")
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column)
        if role == ID_ROLE:
            return row.id
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            contact = " · ".join(x for x in (row.email, row.phone) if x)
            return f"{row.name}\n{contact}" if contact else row.name
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and column in (OVERDUE_COLUMN, 10)
            and row.overdue_followups
        ):
            return QColor("#c0392b")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: CustomerRow, column: int) -> str:
        if column == 0:
            return row.name
        if column == 1:
            return row.status
        if column == 2:
            return row.owner or ""
        if column == 3:
            return days_text(row.days_since_last_touch)
        if column == 4:
            if row.next_followup is None:
                return ""
            ws = self._backend.ws
            return day_text(row.next_followup, ws.tz, ws.now())
        if column == OVERDUE_COLUMN:
            return str(row.overdue_followups) if row.overdue_followups else ""
        if column == 6:
            return "" if row.satisfaction is None else f"{half_up(row.satisfaction, 1)}"
        if column == 7:
            return ", ".join(row.tags)
        if column == 8:
            return row.city or ""
        if column == 9:
            return row.territory or ""
        if not row.open_followups:
            return ""
        late = f", {row.overdue_followups} overdue" if row.overdue_followups else ""
        return f"{row.open_followups} open{late}"

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else ""
        if not key:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self.query.sort and descending == self.query.descending:
            return
        self.set_query(replace(self.query, sort=key, descending=descending))
