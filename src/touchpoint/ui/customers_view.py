"""Customers: a lazy, sortable, filterable list that stays smooth with 100,000 rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.services import customer_list
from touchpoint.services.customer_list import CustomerQuery, FilterChoices
from touchpoint.storage.workspace import Changes
from touchpoint.ui import gc_guard
from touchpoint.ui.backend import Backend
from touchpoint.ui.customer_list_model import COLUMNS, ID_ROLE, CustomerListModel

ANY = "Any"
COLUMNS_KEY = "customers/columns"  # the header's state: shown columns, order, widths


class CustomersView(QWidget):
    open_customer = Signal(str)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.model = CustomerListModel(backend, self)
        self._started = False
        self._choices_due = False
        self._select_when_loaded: str | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        title_row = QHBoxLayout()
        title = QLabel("Customers")
        title.setObjectName("PageTitle")
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        self.count_label.setAccessibleName("Number of customers")
        title_row.addWidget(title)
        title_row.addStretch(1)
        title_row.addWidget(self.count_label)
        layout.addLayout(title_row)

        self.filter_text = QLineEdit(self)
        self.filter_text.setPlaceholderText("Filter by name  (Ctrl+F)")
        self.filter_text.setAccessibleName("Filter by name")
        self.filter_text.setClearButtonEnabled(True)
        layout.addWidget(self.filter_text)

        filters = QGridLayout()
        filters.setSpacing(6)
        self.status = self._combo("Status")
        self.tag = self._combo("Tag")
        self.owner = self._combo("Owner")
        self.territory = self._combo("Territory")
        filters.addWidget(self.status, 0, 0)
        filters.addWidget(self.tag, 0, 1)
        filters.addWidget(self.owner, 0, 2)
        filters.addWidget(self.territory, 1, 0)
        self.attention = QCheckBox("Needs &attention", self)
        self.attention.setAccessibleName("Needs attention only")
        self.attention.setToolTip(
            "Active customers with no touch for longer than the quiet setting, "
            "or with a follow-up overdue"
        )
        filters.addWidget(self.attention, 1, 1)
        # Which columns the list shows, from the keyboard too (the header's menu is the same).
        self.columns_button = QToolButton(self)
        self.columns_button.setText("Columns")
        self.columns_button.setAccessibleName("Choose the list's columns")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self)
        self.column_actions: list[QAction] = []
        for column, (heading, _key, _shown) in enumerate(COLUMNS):
            action = self.columns_menu.addAction(heading)
            action.setCheckable(True)
            action.setEnabled(column != 0)  # the name is always there
            action.toggled.connect(lambda on, c=column: self._show_column(c, on))
            self.column_actions.append(action)
        self.columns_button.setMenu(self.columns_menu)
        filters.addWidget(self.columns_button, 1, 2, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(filters)

        self.table = QTableView(self)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setAccessibleName("Customer list")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        # Fixed row heights: the view never asks every row for its size.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(
            lambda pos: self.columns_menu.popup(header.mapToGlobal(pos))
        )
        # The name takes what the other columns leave: no horizontal scroll at the default
        # width, whatever columns are picked.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        self._default_widths()
        layout.addWidget(self.table, 1)
        self._settings: QSettings | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(300)
        self._save_timer.timeout.connect(self.save_columns)
        header.sectionResized.connect(lambda *_: self._save_timer.start())
        header.sectionMoved.connect(lambda *_: self._save_timer.start())

        self._open_timer = QTimer(self)
        self._open_timer.setSingleShot(True)
        self._open_timer.setInterval(120)  # arrowing through the list opens where it stops
        self._open_timer.timeout.connect(self._open_current)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._open_timer.start())
        self.table.activated.connect(self._open_index)
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(150)
        self._text_timer.timeout.connect(self._apply_filters)
        self.filter_text.textChanged.connect(lambda _t: self._text_timer.start())
        self.attention.toggled.connect(lambda _c: self._apply_filters())
        for combo in (self.status, self.tag, self.owner, self.territory):
            combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(lambda: (self.filter_text.setFocus(), self.filter_text.selectAll()))
        self.filter_text.returnPressed.connect(self.focus_list)  # Enter: on to the results
        # The model skips blocks scrolled past before they were read: it is told what
        # is in view whenever that changes.
        bar = self.table.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(lambda _lo, _hi: self._tell_rows_in_view())
        self.model.count_changed.connect(self._show_count)
        self.model.block_loaded.connect(lambda _b: self._select_pending())
        self.model.block_loaded.connect(lambda _b: self._rows_in())
        # Rows still landing after a scroll: the person is waiting for them, not idle.
        self.model.block_loaded.connect(lambda _b: gc_guard.interacting())
        backend.changes_applied.connect(self._changes_applied)

    # --- columns -----------------------------------------------------------------
    def _default_widths(self) -> None:
        metrics = self.table.fontMetrics()
        for column, (heading, _key, shown) in enumerate(COLUMNS):
            samples = {3: "365 days ago", 4: "Wed 30 Sep", 7: "key account, trade fair"}
            sample = samples.get(column, heading)
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(heading))
            self.table.setColumnWidth(column, width + 18)
            self.table.setColumnHidden(column, not shown)
        self._sync_column_actions()

    def _sync_column_actions(self) -> None:
        for column, action in enumerate(self.column_actions):
            action.blockSignals(True)
            action.setChecked(not self.table.isColumnHidden(column))
            action.blockSignals(False)

    def _show_column(self, column: int, shown: bool) -> None:
        self.table.setColumnHidden(column, not shown)
        if shown and self.table.columnWidth(column) < 40:
            self.table.resizeColumnToContents(column)
        self.save_columns()

    def restore_columns(self, settings: QSettings) -> None:
        """The columns, their order and widths as the user left them (else the defaults)."""
        self._settings = settings
        state = settings.value(COLUMNS_KEY)
        header = self.table.horizontalHeader()
        if isinstance(state, QByteArray) and header.restoreState(state):
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            self._sync_column_actions()

    def save_columns(self) -> None:
        if self._settings is not None:
            self._settings.setValue(COLUMNS_KEY, self.table.horizontalHeader().saveState())

    def _combo(self, label: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setAccessibleName(f"{label} filter")
        combo.setToolTip(f"Only customers with this {label.lower()}")
        combo.addItem(f"{label}: {ANY}", None)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
        return combo

    # --- loading -----------------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._started:
            self.refresh()

    def refresh(self) -> None:
        self._started = True
        self.model.reload()
        # The filters' choices read every customer (a second or two at 100,000): asked
        # for once the first rows are in, not before them on the database thread.
        self._choices_due = True

    def _rows_in(self) -> None:
        if self._choices_due:
            self._choices_due = False
            self._load_choices()

    def _load_choices(self) -> None:
        self._backend.query(customer_list.filter_choices).success(self._fill_choices).run()

    def _fill_choices(self, choices: FilterChoices) -> None:
        for combo, values in (
            (self.status, choices.statuses),
            (self.tag, choices.tags),
            (self.owner, choices.owners),
            (self.territory, choices.territories),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for value in values:
                combo.addItem(value, value)
            at = combo.findData(current) if current is not None else 0
            combo.setCurrentIndex(max(at, 0))
            combo.blockSignals(False)

    def current_query(self) -> CustomerQuery:
        return replace(
            self.model.query,
            text=self.filter_text.text().strip() or None,
            status=self.status.currentData(),
            tag=self.tag.currentData(),
            owner=self.owner.currentData(),
            territory=self.territory.currentData(),
            needs_attention=self.attention.isChecked(),
        )

    def _apply_filters(self) -> None:
        query = self.current_query()
        if query != self.model.query:
            self.model.set_query(query)

    def _scrolled(self, _value: int) -> None:
        gc_guard.interacting()  # no full garbage collection mid-scroll
        self._tell_rows_in_view()

    def _tell_rows_in_view(self) -> None:
        first = self.table.rowAt(0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        self.model.show_rows(first, self.model.rowCount() - 1 if last < 0 else last)

    def _show_count(self, n: int) -> None:
        self.count_label.setText(f"{n:,} customer{'s' if n != 1 else ''}")
        if n == 0:
            self._rows_in()  # no rows to wait for

    def _changes_applied(self, changes: Changes, _initiator: object) -> None:
        if changes.touches("customer") and self._started:
            self._load_choices()

    # --- opening -----------------------------------------------------------------
    def focus_list(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.table.currentIndex().isValid() and self.model.rowCount() > 0:
            self.table.setCurrentIndex(self.model.index(0, 0))

    def _open_current(self) -> None:
        self._open_index(self.table.currentIndex())

    def _open_index(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        customer_id = self.model.index(index.row(), 0).data(ID_ROLE)
        if customer_id:
            self.open_customer.emit(customer_id)

    def select_customer(self, customer_id: str) -> None:
        """Select a customer in the list when its row is loaded (after creating it)."""
        self._select_when_loaded = customer_id
        self._select_pending()

    def _select_pending(self) -> None:
        if self._select_when_loaded is None:
            return
        row = self.model.row_of_id(self._select_when_loaded)
        if row is not None:
            self._select_when_loaded = None
            self.table.selectionModel().blockSignals(True)
            self.table.setCurrentIndex(self.model.index(row, 0))
            self.table.selectionModel().blockSignals(False)
            self.table.scrollTo(self.model.index(row, 0))
