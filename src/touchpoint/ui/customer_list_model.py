"""A lazy, SQL-backed table model of customers: never every row in memory.

The row count comes from SQL. Rows are fetched in blocks of :data:`BLOCK` on the
database thread when the view first paints them; only blocks the view asked for
are fetched, and at most :data:`MAX_BLOCKS` are kept (least recently used go).

A paint asks for seven roles of every cell in view: each block's texts are worked
out once, on the database thread, and ``data`` only picks them up (a role the list
never uses is answered before the row is even looked up).

The view says which rows it shows (:meth:`CustomerListModel.show_rows`): a block
asked for on the way (a scroll bar dragged past it) and out of view by the time the
database thread gets to it is not read. Reading it would only hold Python's lock
the window needs to paint, and delay the blocks that are in view.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
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

DISPLAY = int(Qt.ItemDataRole.DisplayRole)
ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
TEXT_ROLES = frozenset({DISPLAY, ACCESSIBLE})
ANSWERED = frozenset({DISPLAY, ACCESSIBLE, TOOLTIP, FOREGROUND, ALIGNMENT, ID_ROLE, ROW_ROLE})
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
LOADING_COLOR = QColor("#8a94a3")
OVERDUE_COLOR = QColor("#c0392b")


@dataclass(frozen=True, slots=True)
class Shown:
    """A row as the list shows it: its texts by column, its name's tooltip."""

    row: CustomerRow
    texts: tuple[str, ...]
    tooltip: str


def column_texts(row: CustomerRow, tz: tzinfo, now: datetime) -> tuple[str, ...]:
    """The text of each of :data:`COLUMNS` for one row."""
    late = f", {row.overdue_followups} overdue" if row.overdue_followups else ""
    return (
        row.name,
        row.status,
        row.owner or "",
        days_text(row.days_since_last_touch),
        "" if row.next_followup is None else day_text(row.next_followup, tz, now),
        str(row.overdue_followups) if row.overdue_followups else "",
        "" if row.satisfaction is None else f"{half_up(row.satisfaction, 1)}",
        ", ".join(row.tags),
        row.city or "",
        row.territory or "",
        f"{row.open_followups} open{late}" if row.open_followups else "",
    )


def shown_rows(rows: list[CustomerRow], tz: tzinfo, now: datetime) -> list[Shown]:
    out = []
    for row in rows:
        contact = " · ".join(x for x in (row.email, row.phone) if x)
        tooltip = f"{row.name}\n{contact}" if contact else row.name
        out.append(Shown(row, column_texts(row, tz, now), tooltip))
    return out


class CustomerListModel(QAbstractTableModel):
    count_changed = Signal(int)
    block_loaded = Signal(int)

    def __init__(self, backend: Backend, parent: Any = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.query = CustomerQuery()
        self._count = 0
        self._blocks: OrderedDict[int, list[Shown]] = OrderedDict()
        self._last: tuple[int, list[Shown]] = (-1, [])  # the block read last, at hand
        self._wanted: set[int] = set()
        self._in_flight: set[int] = set()
        self._generation = 0
        self.loading = False
        # The blocks in view, one either side; read on the database thread. None: all.
        self.in_view: tuple[int, int] | None = None
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
            self._last = (-1, [])
            self._wanted.clear()
            self._in_flight.clear()
            self.endResetModel()
        self.count_changed.emit(count)

    def _want(self, block: int) -> None:
        span = self.in_view
        if span is not None and not span[0] <= block <= span[1]:
            # Asked for by a paint, so in view whatever the view said last: read it.
            self.in_view = (min(span[0], block), max(span[1], block))
        if block in self._in_flight or block in self._wanted:
            return
        self._wanted.add(block)
        self._flush.start()

    def show_rows(self, first: int, last: int) -> None:
        """The rows the view shows now (first and last, -1 for none)."""
        if first < 0:
            self.in_view = None
            return
        last = max(first, last)
        self.in_view = (first // BLOCK - 1, last // BLOCK + 1)

    def _worth_reading(self, block: int) -> bool:
        span = self.in_view
        return span is None or span[0] <= block <= span[1]

    def _request_wanted(self) -> None:
        generation = self._generation
        query = self.query

        def read(ws: Any, block: int) -> list[Shown] | None:
            if not self._worth_reading(block):
                return None  # scrolled past before its turn came
            rows = customer_list.customer_rows(ws, query, block * BLOCK, BLOCK)
            return shown_rows(rows, ws.tz, ws.now())

        for block in sorted(self._wanted):
            if block in self._in_flight:
                continue
            self._in_flight.add(block)
            self._backend.query(lambda ws, b=block: read(ws, b)).success(
                lambda rows, b=block: self._loaded(generation, b, rows)
            ).run()
        self._wanted.clear()

    def _loaded(self, generation: int, block: int, rows: list[Shown] | None) -> None:
        self._in_flight.discard(block)
        if generation != self._generation:
            return
        if rows is None:  # not read: out of view then
            if self._worth_reading(block):
                self._want(block)  # back in view since
            else:
                self._blocks.pop(block, None)  # held rows of a refresh, now stale
                self._last = (-1, [])
            return
        self.fetched_blocks.append(block)
        self.fetched_rows += len(rows)
        self._blocks[block] = rows
        self._blocks.move_to_end(block)
        while len(self._blocks) > MAX_BLOCKS:
            self._blocks.popitem(last=False)
        self._last = (-1, [])
        first = block * BLOCK
        last = min(first + BLOCK, self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.block_loaded.emit(block)

    def _changes_applied(self, changes: Changes, _initiator: object) -> None:
        if any(changes.touches(e) for e in WATCHED):
            self.reload(keep_rows=True)

    # --- rows ------------------------------------------------------------------
    def _shown(self, row: int) -> Shown | None:
        block = row // BLOCK
        last, rows = self._last
        if block != last:
            found = self._blocks.get(block)
            if found is None:
                if 0 <= row < self._count:
                    self._want(block)
                return None
            self._blocks.move_to_end(block)
            rows = found
            self._last = (block, rows)
        offset = row - block * BLOCK
        return rows[offset] if offset < len(rows) else None

    def row_at(self, row: int) -> CustomerRow | None:
        shown = self._shown(row)
        return None if shown is None else shown.row

    def row_of_id(self, customer_id: str) -> int | None:
        """The row of a customer among the cached blocks, if loaded."""
        for block, rows in self._blocks.items():
            for n, r in enumerate(rows):
                if r.row.id == customer_id:
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

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if role not in ANSWERED or not index.isValid():
            return None  # font, decoration, check state, background: the view's own
        shown = self._shown(index.row())
        column = index.column()
        if shown is None:
            if role == DISPLAY and column == 0:
                return "Loading…"
            return LOADING_COLOR if role == FOREGROUND else None
        if role in TEXT_ROLES:
            return shown.texts[column]
        if role == ID_ROLE:
            return shown.row.id
        if role == ROW_ROLE:
            return shown.row
        if role == TOOLTIP:
            return shown.tooltip if column == 0 else None
        if role == FOREGROUND:
            late = column in (OVERDUE_COLUMN, 10) and shown.row.overdue_followups
            return OVERDUE_COLOR if late else None
        return RIGHT if column in RIGHT_ALIGNED else None  # ALIGNMENT

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else ""
        if not key:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self.query.sort and descending == self.query.descending:
            return
        self.set_query(replace(self.query, sort=key, descending=descending))
