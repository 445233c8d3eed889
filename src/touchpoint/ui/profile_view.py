"""The customer profile, the 360-degree view: everything about one customer on one screen.

Key facts edited in place (each with its validation message beside it), contacts,
days since last touch, satisfaction trend, lifetime value and open deals,
completeness with what is missing, the timeline (filter by kind, search within),
open and past follow-ups with kept/late marks, custom fields, and the record's
history. A new customer uses the same form and warns about likely duplicates while
its name, email or phone is typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain.enums import InteractionKind, PromiseState
from touchpoint.errors import TouchpointError
from touchpoint.services import customers, duplicates, history, insights, interactions
from touchpoint.services.duplicates import DuplicateCandidate
from touchpoint.services.insights import CustomerSummary
from touchpoint.services.records import FollowUpView, HistoryEntry, InteractionView
from touchpoint.storage.workspace import Changes, Saved, Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.contact_editor import ContactEditor
from touchpoint.ui.dropped_files import dropped_files
from touchpoint.ui.errors import field_errors, show_error
from touchpoint.ui.theme import OK, WARN
from touchpoint.ui.widgets.facts_form import FIELDS, FactsForm, patch_for, shown_value
from touchpoint.ui.widgets.format import date_text, days_text, money, satisfaction_text, when_text
from touchpoint.ui.widgets.timeline_model import ITEM_ROLE, PAGE, TimelineModel
from touchpoint.ui.widgets.two_lines import TwoLineDelegate

log = logging.getLogger(__name__)

NARROW = 680  # px of profile width below which tiles wrap and panes stack
STACKED_PANE_HEIGHT = 340
WATCHED = ("customer", "contact", "interaction", "followup", "deal", "custom_field_def")
MARKS = {
    PromiseState.KEPT: ("✓ kept", OK),
    PromiseState.LATE: ("late", "#b26a00"),
    PromiseState.OVERDUE: ("overdue", WARN),
    PromiseState.OPEN: ("open", ""),
    PromiseState.CANCELLED: ("cancelled", "#7a8699"),
}


@dataclass(frozen=True)
class ProfileData:
    summary: CustomerSummary
    timeline: list[InteractionView]
    history: list[HistoryEntry]


def load_profile(ws: Workspace, customer_id: str) -> ProfileData:
    """One read for the whole screen (the timeline's first page; more as it scrolls)."""
    summary = insights.customer_summary(ws, customer_id)
    cid = summary.customer.id
    return ProfileData(
        summary=summary,
        timeline=interactions.timeline(ws, cid, limit=PAGE),
        history=history.customer_history(ws, cid, limit=200),
    )


def merge_typed_into(ws: Workspace, customer_id: str, typed: dict[str, Any]) -> Saved[Any]:
    """Add what was typed for a new customer to an existing one: blanks filled,
    emails, phones and tags added; nothing already there is overwritten."""
    existing = customers.get_customer(ws, customer_id)
    patch: dict[str, Any] = {}
    for key, value in typed.items():
        if key in ("emails", "phones"):
            have = {str(i.get("value", "")).casefold() for i in getattr(existing, key)}
            extra = [i for i in value if str(i.get("value", "")).casefold() not in have]
            if extra:
                patch[key] = [*getattr(existing, key), *extra]
        elif key == "tags":
            extra = [t for t in value if t.casefold() not in {x.casefold() for x in existing.tags}]
            if extra:
                patch["tags"] = [*existing.tags, *extra]
        elif key == "addresses":
            if not existing.addresses and value:
                patch["addresses"] = value
        elif key in ("status", "kind", "owner", "currency"):
            continue  # defaults of the new form, not information about the customer
        elif value not in (None, "") and not getattr(existing, key, None):
            patch[key] = value
    return customers.edit_customer(ws, customer_id, patch)


class Tile(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(12, 8, 12, 8)
        self.column.setSpacing(2)
        heading = QLabel(title)
        heading.setObjectName("Muted")
        self.value = QLabel("")
        self.value.setObjectName("BigNumber")
        self.value.setWordWrap(True)  # "57,750 USD" on two lines in a narrow tile, not cut
        self.value.setAccessibleName(title)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName(f"{title} details")
        self.column.addWidget(heading)
        self.column.addWidget(self.value)
        self.column.addWidget(self.detail)


class DuplicatesPanel(QFrame):
    """'This looks like …' with Open and Merge offers, shown while typing a new customer."""

    open_requested = Signal(str)
    merge_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setStyleSheet(f"QFrame#Card {{ border: 1px solid {WARN}; }}")
        self.setAccessibleName("Likely duplicates")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel("")
        self.title.setObjectName("Warning")
        self.title.setWordWrap(True)
        self.column.addWidget(self.title)
        self.rows: list[QWidget] = []
        self.candidates: list[DuplicateCandidate] = []
        self.hide()

    def show_candidates(self, candidates: list[DuplicateCandidate]) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        self.candidates = list(candidates)
        if not candidates:
            self.hide()
            return
        n = len(candidates)
        self.title.setText(
            "This may already be in your customers:" if n == 1 else f"{n} customers look alike:"
        )
        for c in candidates[:4]:
            row = QWidget(self)
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"<b>{c.name}</b> — {', '.join(c.reasons)}")
            label.setWordWrap(True)
            open_button = QPushButton("Open", row)
            open_button.setAccessibleName(f"Open {c.name}")
            open_button.clicked.connect(
                lambda _c=False, cid=c.record_id: self.open_requested.emit(cid)
            )
            merge_button = QPushButton("Merge into it", row)
            merge_button.setAccessibleName(f"Merge into {c.name}")
            merge_button.setToolTip(
                "Add what you typed to this customer instead of creating a new one"
            )
            merge_button.clicked.connect(
                lambda _c=False, cid=c.record_id: self.merge_requested.emit(cid)
            )
            line.addWidget(label, 1)
            line.addWidget(open_button)
            line.addWidget(merge_button)
            self.column.addWidget(row)
            self.rows.append(row)
        self.show()


class _Timeline(QTableView):
    """Enter opens the current interaction (as a double click does)."""

    open_requested = Signal(object)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class ProfileView(QWidget):
    open_customer = Signal(str)
    created = Signal(str)
    deleted = Signal(str, str)  # id, name
    loaded = Signal(str)
    log_requested = Signal()
    interaction_deleted = Signal(object)  # InteractionView, for the window's undo bar
    emails_dropped = Signal(list, str)  # files dropped on the profile, this customer's id

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.customer_id: str | None = None
        self.data: ProfileData | None = None
        self.is_new = False
        self._generation = 0
        self._stale = False
        self._dup_generation = 0
        self._before_new: str | None = None
        self._chart: Any = None
        self.interaction_dialog: Any = None  # the interaction open from the timeline

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 0, 0, 0)
        self.pages = QStackedWidget(self)
        outer.addWidget(self.pages)
        self.empty = QLabel(
            "Pick a customer from the list, search with Ctrl+K, or add one with Ctrl+N."
        )
        self.empty.setObjectName("Muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.pages.addWidget(self.empty)
        # The profile scrolls as a whole when its panes are stacked (a narrow window).
        self.scroll = QScrollArea(self)
        self.scroll.setAccessibleName("Customer profile")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.content = QWidget(self.scroll)
        self.scroll.setWidget(self.content)
        self.pages.addWidget(self.scroll)
        self._narrow: bool | None = None
        self._build_content()
        self._reflow(NARROW)
        backend.changes_applied.connect(self._changes_applied)
        # Emails dropped here are filed under this customer (the window files the rest).
        self.setAcceptDrops(True)

    # --- building ------------------------------------------------------------------
    def _build_content(self) -> None:
        column = QVBoxLayout(self.content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)

        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.name_label = QLabel("")
        self.name_label.setObjectName("PageTitle")
        self.name_label.setWordWrap(True)  # a long name takes two lines, never cut
        self.name_label.setAccessibleName("Customer name")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("Muted")
        self.subtitle.setWordWrap(True)
        self.quiet_label = QLabel("")
        self.quiet_label.setObjectName("Warning")
        self.quiet_label.setAccessibleName("Going quiet")
        titles.addWidget(self.name_label)
        titles.addWidget(self.subtitle)
        titles.addWidget(self.quiet_label)
        header.addLayout(titles, 1)
        self.confirm_button = QPushButton("Still &correct")
        self.confirm_button.setToolTip("Mark the profile as checked: it is no longer stale")
        self.confirm_button.clicked.connect(self.confirm)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setToolTip("Delete this customer (can be undone)")
        self.delete_button.clicked.connect(self.delete)
        self.create_button = QPushButton("&Create customer  (Ctrl+Enter)")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_new)
        for button in (
            self.confirm_button,
            self.delete_button,
            self.create_button,
            self.cancel_button,
        ):
            header.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(header)

        self.tiles = QWidget(self.content)
        self._tiles_grid = QGridLayout(self.tiles)
        self._tiles_grid.setContentsMargins(0, 0, 0, 0)
        self._tiles_grid.setSpacing(8)
        self.touch_tile = Tile("Last touch")
        self.satisfaction_tile = Tile("Satisfaction")
        self.value_tile = Tile("Lifetime value")
        self.completeness_tile = Tile("Profile completeness")
        self.completeness_bar = QProgressBar()
        self.completeness_bar.setRange(0, 100)
        self.completeness_bar.setTextVisible(False)
        self.completeness_bar.setFixedHeight(6)
        self.completeness_tile.column.insertWidget(2, self.completeness_bar)
        self._tile_list = (
            self.touch_tile,
            self.satisfaction_tile,
            self.value_tile,
            self.completeness_tile,
        )
        column.addWidget(self.tiles)

        self.body = QSplitter(Qt.Orientation.Horizontal, self.content)
        self.body.setObjectName("ProfileSplitter")
        self.body.setChildrenCollapsible(False)
        column.addWidget(self.body, 1)

        # Left: facts, custom fields, contacts.
        left = QScrollArea(self.body)
        self.facts_pane = left
        left.setAccessibleName("Key facts and contacts")
        left.setWidgetResizable(True)
        left.setFrameShape(QFrame.Shape.NoFrame)
        left_inner = QWidget(left)
        left_column = QVBoxLayout(left_inner)
        left_column.setContentsMargins(0, 0, 8, 0)
        self.duplicates = DuplicatesPanel(left_inner)
        self.duplicates.open_requested.connect(self._open_duplicate)
        self.duplicates.merge_requested.connect(self._merge_into)
        left_column.addWidget(self.duplicates)
        facts_title = QLabel("Key facts")
        facts_title.setObjectName("CardTitle")
        left_column.addWidget(facts_title)
        self.form = FactsForm(left_inner)
        self.form.commit.connect(self._field_committed)
        self.form.edited.connect(self._field_edited)
        left_column.addWidget(self.form)
        self.contacts_title = QLabel("Contacts")
        self.contacts_title.setObjectName("CardTitle")
        left_column.addWidget(self.contacts_title)
        self.contact_editor = ContactEditor(self._backend, left_inner)
        self.contacts = self.contact_editor.list
        left_column.addWidget(self.contact_editor)
        add_contact = QShortcut(QKeySequence("Ctrl+Shift+N"), self)
        add_contact.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        add_contact.activated.connect(self.contact_editor.start_add)
        left_column.addStretch(1)
        left.setWidget(left_inner)
        self.body.addWidget(left)

        # Right: timeline, follow-ups, history.
        self.tabs = QTabWidget(self.body)
        self.tabs.setAccessibleName("Customer details")
        timeline_page = QWidget()
        timeline_column = QVBoxLayout(timeline_page)
        timeline_column.setContentsMargins(4, 6, 4, 4)
        filters = QHBoxLayout()
        self.kind_filter = QComboBox()
        self.kind_filter.setAccessibleName("Filter the timeline by kind")
        self.kind_filter.addItem("All kinds", None)
        for kind in InteractionKind:
            self.kind_filter.addItem(kind.value.capitalize(), kind.value)
        self.timeline_search = QLineEdit()
        self.timeline_search.setPlaceholderText("Search within the timeline")
        self.timeline_search.setAccessibleName("Search within the timeline")
        self.timeline_search.setClearButtonEnabled(True)
        filters.addWidget(self.kind_filter)
        filters.addWidget(self.timeline_search, 1)
        timeline_column.addLayout(filters)
        self.timeline_model = TimelineModel(self._backend, self)
        self.timeline = _Timeline()
        self.timeline.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere
        self.timeline.setAccessibleName("Timeline")
        self.timeline.setAccessibleDescription("Enter or a double click opens an interaction")
        self.timeline.setModel(self.timeline_model)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setWordWrap(True)
        self.timeline.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.timeline.verticalHeader().hide()
        self.timeline.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # Two lines a row: what happened, then the customer's words.
        lines = 2 * self.timeline.fontMetrics().lineSpacing() + 8
        self.timeline.verticalHeader().setDefaultSectionSize(lines)
        header_view = self.timeline.horizontalHeader()
        header_view.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.timeline.setColumnWidth(
            0, self.timeline.fontMetrics().horizontalAdvance("Wed 30 Sep 10:00") + 14
        )
        self.timeline.setItemDelegateForColumn(1, TwoLineDelegate(self.timeline))
        self.timeline.open_requested.connect(self._timeline_open)
        self.timeline.doubleClicked.connect(self._timeline_open)
        timeline_column.addWidget(self.timeline, 1)
        self.tabs.addTab(timeline_page, "&Timeline")
        self.followups = QTreeWidget()
        self.followups.setAccessibleName("Follow-ups of this customer")
        self.followups.setHeaderLabels(["Due", "Promise", "State", "Assigned to"])
        self.followups.setRootIsDecorated(True)
        self.followups.setColumnWidth(0, 140)
        self.followups.setColumnWidth(1, 260)
        self.tabs.addTab(self.followups, "&Follow-ups")
        self.history = QTreeWidget()
        self.history.setAccessibleName("Change history")
        self.history.setHeaderLabels(["When", "Who", "What changed"])
        self.history.setRootIsDecorated(False)
        self.history.setWordWrap(True)
        self.history.setColumnWidth(0, 130)
        self.history.setColumnWidth(1, 170)
        self.tabs.addTab(self.history, "&History")
        self.body.addWidget(self.tabs)
        self.body.setStretchFactor(0, 2)
        self.body.setStretchFactor(1, 3)

        self._timeline_timer = QTimer(self)
        self._timeline_timer.setSingleShot(True)
        self._timeline_timer.setInterval(200)
        self._timeline_timer.timeout.connect(self._filter_timeline)
        self.timeline_search.textChanged.connect(lambda _t: self._timeline_timer.start())
        self.kind_filter.currentIndexChanged.connect(lambda _i: self._filter_timeline())
        self._dup_timer = QTimer(self)
        self._dup_timer.setSingleShot(True)
        self._dup_timer.setInterval(250)
        self._dup_timer.timeout.connect(self._check_duplicates)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(seq), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._ctrl_enter)

    def panes(self) -> list[QWidget]:
        """The parts F6 stops at: the facts (with contacts) and the tabs."""
        if self.pages.currentWidget() is not self.scroll:
            return [self]
        return [self.facts_pane, self.tabs]

    # --- reflow ---------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._reflow(event.size().width())

    def _reflow(self, width: int) -> None:
        """Wide: four tiles in a row, facts beside the timeline. Narrow (a 1024 px laptop
        with the list beside): tiles two by two, facts above the timeline, and the whole
        profile scrolls, so nothing is cut."""
        narrow = width < NARROW
        if narrow == self._narrow:
            return
        self._narrow = narrow
        grid = self._tiles_grid
        per_row = 2 if narrow else 4
        for i, tile in enumerate(self._tile_list):
            grid.removeWidget(tile)
            row, col = divmod(i, per_row)
            grid.addWidget(tile, row, col)
        for col, stretch in enumerate((2, 3, 2, 3)):
            grid.setColumnStretch(col, (1 if col < per_row else 0) if narrow else stretch)
        self.body.setOrientation(Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal)
        # Stacked, each pane keeps a useful height and the page scrolls instead.
        self.body.setMinimumHeight(2 * STACKED_PANE_HEIGHT if narrow else 0)
        if narrow:
            self.body.setSizes([STACKED_PANE_HEIGHT, STACKED_PANE_HEIGHT])

    # --- showing -------------------------------------------------------------------
    def show_customer(self, customer_id: str) -> None:
        self.is_new = False
        self.customer_id = customer_id
        self.duplicates.show_candidates([])
        self.form.clear_errors()
        self._load(reset=True)

    def refresh(self) -> None:
        if self.customer_id and not self.is_new:
            self._load(reset=False)

    def _load(self, *, reset: bool) -> None:
        self._generation += 1
        generation = self._generation
        cid = self.customer_id
        assert cid is not None
        self._stale = False
        self._backend.query(lambda ws: load_profile(ws, cid)).success(
            lambda data: self._show(generation, data, reset)
        ).failure(lambda exc: self._load_failed(generation, exc)).run()

    def _load_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, TouchpointError) and exc.kind == "not_found":
            self.customer_id = None
            self.pages.setCurrentWidget(self.empty)
            return
        show_error(self, exc)

    def _show(self, generation: int, data: ProfileData, reset: bool) -> None:
        if generation != self._generation or self.is_new:
            return
        self.data = data
        s = data.summary
        c = s.customer
        self.customer_id = c.id
        self._set_mode(new=False)
        ws = self._backend.ws
        tz, now = ws.tz, ws.now()
        self.name_label.setText(c.name)
        self.subtitle.setText(
            " · ".join(
                x
                for x in (
                    c.status.capitalize(),
                    c.industry,
                    c.territory,
                    f"owner {c.owner}" if c.owner else None,
                    f"customer since {date_text(c.created_at, tz)}",
                )
                if x
            )
        )
        self.quiet_label.setText(f"Going quiet: {s.quiet.text}" if s.quiet else "")
        self.quiet_label.setVisible(s.quiet is not None)
        # Tiles.
        self.touch_tile.value.setText(days_text(s.days_since_last_touch))
        rate = s.promises.rate
        promises = (
            f"promises kept {round(100 * rate)}% ({s.promises.kept} of {s.promises.due})"
            if rate is not None
            else "no promises due yet"
        )
        self.touch_tile.detail.setText(
            f"{s.interactions_count:,} interactions · "
            + (f"last {when_text(s.last_touch, tz, now)}" if s.last_touch else "never contacted")
            + f"\n{promises}"
        )
        sat = s.satisfaction
        trend = ""
        if sat.change is not None:
            trend = "falling" if sat.falling else ("rising" if sat.change > 0 else "steady")
        self.satisfaction_tile.value.setText(satisfaction_text(sat.current))
        self.satisfaction_tile.detail.setText(
            f"{trend} · last three of {sat.count} scores" if trend else f"{sat.count} scores"
        )
        self._chart_widget().set_points(s.satisfaction_points)
        lv = s.lifetime
        self.value_tile.value.setText(money(lv.won, lv.currency))
        deals = len(s.open_deals)
        other = ", ".join(money(v, cur) for cur, v in lv.other_currencies.items())
        self.value_tile.detail.setText(
            (
                f"{deals} open deal{'s' if deals != 1 else ''} · "
                f"{money(lv.open_pipeline, lv.currency)} in the pipeline"
                if deals
                else "no open deals"
            )
            + (f"\nalso won {other}" if other else "")
        )
        comp = s.completeness
        self.completeness_tile.value.setText(f"{comp.percent}%")
        self.completeness_bar.setValue(comp.percent)
        missing = f"Missing: {', '.join(comp.missing)}" if comp.missing else "Nothing missing"
        self.completeness_tile.detail.setText(
            missing + ("\nStale: not checked for a year" if comp.stale else "")
        )
        # Facts and custom fields.
        self.form.set_custom_fields(s.custom_fields)
        values = {key: shown_value(c, key) for key, _l, _k in FIELDS}
        for f in s.custom_fields:
            values[f"custom.{f.key}"] = "" if f.value is None else str(f.value)
        self.form.fill(values, keep_focused=not reset)
        for key in ("emails", "phones"):  # values an import kept as written, to be fixed
            doubtful = [str(i.get("value")) for i in getattr(c, key) if i.get("unverified")]
            note = (
                f"Not verified (kept as imported): {', '.join(doubtful)}. Correct it here."
                if doubtful
                else ""
            )
            self.form.editors[key].setToolTip(note)
            self.form.editors[key].setAccessibleDescription(note)
        for f in s.custom_fields:
            self.form.set_row_visible(f"custom.{f.key}", True)
        # Contacts.
        self.contact_editor.set_contacts(c.id, s.contacts)
        self.contacts_title.setText(f"Contacts ({len(s.contacts)})")
        # Timeline, follow-ups, history.
        if reset or (self.kind_filter.currentData() is None and not self.timeline_search.text()):
            self.kind_filter.blockSignals(True)
            self.kind_filter.setCurrentIndex(0)
            self.kind_filter.blockSignals(False)
            self.timeline_search.blockSignals(True)
            self.timeline_search.clear()
            self.timeline_search.blockSignals(False)
            self.timeline_model.set_items(c.id, data.timeline, s.interactions_count)
        else:
            self._filter_timeline()
        self.tabs.setTabText(0, f"&Timeline ({s.interactions_count:,})")
        self._fill_followups(s.open_followups, s.past_followups)
        self._fill_history(data.history)
        self.pages.setCurrentWidget(self.scroll)
        if self.interaction_dialog is None:
            QTimer.singleShot(0, self.prepare_interaction_dialog)  # once the profile is painted
        self.loaded.emit(c.id)

    def _chart_widget(self) -> Any:
        if self._chart is None:
            from touchpoint.ui.widgets.satisfaction_chart import SatisfactionChart

            self._chart = SatisfactionChart(self.satisfaction_tile)
            self._chart.setFixedHeight(110)
            self.satisfaction_tile.column.addWidget(self._chart)
        return self._chart

    def _fill_followups(self, open_: list[FollowUpView], past: list[FollowUpView]) -> None:
        ws = self._backend.ws
        tz, now = ws.tz, ws.now()
        self.followups.clear()
        for title, items in ((f"Open ({len(open_)})", open_), (f"Past ({len(past)})", past)):
            group = QTreeWidgetItem([title])
            group.setFirstColumnSpanned(True)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.followups.addTopLevelItem(group)
            for f in items:
                mark, color = MARKS.get(PromiseState(f.state), (str(f.state), ""))
                when = f.done_at if f.done_at and f.status != "open" else f.due_at
                row = QTreeWidgetItem([when_text(when, tz, now), f.title, mark, f.assigned_to])
                row.setToolTip(1, f.notes or f.title)
                if color:
                    row.setForeground(2, QColor(color))
                group.addChild(row)
            group.setExpanded(True)
        self.tabs.setTabText(1, f"&Follow-ups ({len(open_)})")

    def _fill_history(self, entries: list[HistoryEntry]) -> None:
        tz = self._backend.ws.tz
        now = self._backend.ws.now()
        self.history.clear()
        for e in entries:
            changed = [
                f"{name}: {_short(old)} → {_short(new)}"
                for name, (old, new) in sorted(e.fields.items())
                if name not in ("updated_at", "updated_by")
            ]
            what = {"insert": "created", "delete": "deleted", "restore": "restored"}.get(e.op, "")
            text = (
                "; ".join(changed)
                if e.op == "update"
                else (what + (f" ({len(changed)} fields)" if changed else ""))
            )
            item = QTreeWidgetItem([when_text(e.at, tz, now), e.author, text or e.op])
            item.setToolTip(2, "\n".join(changed))
            self.history.addTopLevelItem(item)

    def _timeline_open(self, index: Any) -> None:
        item = index.data(ITEM_ROLE) if index.isValid() else None
        if item is not None:
            self.open_interaction(item.id)

    def _forget_dialog(self, dialog: Any) -> None:
        if self.interaction_dialog is dialog:  # not a newer one opened since
            self.interaction_dialog = None

    def open_interaction(self, interaction_id: str) -> Any:
        """The whole interaction in its own window (edit, delete); returns the dialog.
        One dialog serves every interaction opened from here, refilled each time."""
        dialog = self._interaction_dialog()
        dialog.show_interaction(interaction_id)  # on screen once filled
        return dialog

    def _interaction_dialog(self) -> Any:
        """The view's one interaction dialog: the kept one when it can serve, else new."""
        from touchpoint.ui.interaction_dialog import InteractionDialog, reusable

        dialog = self.interaction_dialog
        if not reusable(dialog):
            if dialog is not None:
                dialog.deleteLater()
            dialog = InteractionDialog(self._backend, None, self, show_customer_button=False)
            dialog.deleted.connect(self.interaction_deleted)
            dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_dialog(d))
            self.interaction_dialog = dialog
        return dialog

    def prepare_interaction_dialog(self) -> None:
        """Build the interaction dialog ahead, laid out, while the window is idle after a
        profile is shown: the first Enter on the timeline then only fills it (building
        it was most of a first open)."""
        if self.interaction_dialog is None and self.isVisible():
            self._interaction_dialog().prepare()

    def _filter_timeline(self) -> None:
        text = self.timeline_search.text().strip() or None
        self.timeline_model.set_filter(self.kind_filter.currentData(), text)

    def _set_mode(self, *, new: bool) -> None:
        self.is_new = new
        for widget in (
            self.confirm_button,
            self.delete_button,
            self.tiles,
            self.tabs,
        ):
            widget.setVisible(not new)
        self.contact_editor.setVisible(not new)
        self.contacts_title.setVisible(not new)
        self.create_button.setVisible(new)
        self.cancel_button.setVisible(new)
        self.quiet_label.setVisible(False if new else self.quiet_label.isVisible())

    def _changes_applied(self, changes: Changes, initiator: object) -> None:
        if self.is_new or not self.customer_id:
            return
        if any(changes.touches(e) for e in WATCHED):
            if self.isVisible():
                self.refresh()
            else:
                self._stale = True

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()

    # --- emails dropped on the profile ----------------------------------------------
    def _takes_drop(self, event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> bool:
        """Files, on a customer shown (not a new one): else the window takes them."""
        return bool(self.customer_id and not self.is_new and dropped_files(event.mimeData()))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self._takes_drop(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        if self._takes_drop(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        if not self._takes_drop(event):
            event.ignore()
            return
        event.acceptProposedAction()
        assert self.customer_id is not None
        self.emails_dropped.emit(dropped_files(event.mimeData()), self.customer_id)

    # --- editing -------------------------------------------------------------------
    def _field_committed(self, key: str, text: str) -> None:
        if self.is_new:
            return  # a new customer is saved as a whole with Create
        cid = self.customer_id
        customer = self.data.summary.customer if self.data else None
        if cid is None:
            return
        if key.startswith("custom."):
            patch: dict[str, Any] = {"custom": {key.split(".", 1)[1]: text.strip() or None}}
        else:
            patch = patch_for(customer, key, text)
        self._backend.write(
            lambda ws: customers.edit_customer(ws, cid, patch), initiator=self
        ).success(lambda view: self.form.mark_saved(key, text)).failure(
            lambda exc: self._edit_failed(key, exc)
        ).run()

    def _edit_failed(self, key: str, exc: Exception) -> None:
        problems = field_errors(exc)
        if not problems:
            show_error(self, exc)
            return
        # A field-level problem may name a sub-field (address.city): show it where it belongs.
        shown = self.form.show_errors(problems)
        if not shown:
            self.form.show_errors({key: next(iter(problems.values()))})

    def _field_edited(self, key: str) -> None:
        self.form.clear_error(key)
        if self.is_new and key in ("name", "emails", "phones", "website"):
            self._dup_timer.start()

    def confirm(self) -> None:
        cid = self.customer_id
        if cid:
            self._backend.write(lambda ws: customers.confirm_customer(ws, cid)).run()

    def delete(self) -> None:
        cid = self.customer_id
        if not cid or self.data is None:
            return
        name = self.data.summary.customer.name

        def deleted(_view: Any) -> None:
            self.customer_id = None
            self.data = None
            self.pages.setCurrentWidget(self.empty)
            self.deleted.emit(cid, name)

        self._backend.write(lambda ws: customers.delete_customer(ws, cid)).success(deleted).run()

    # --- a new customer --------------------------------------------------------------
    def start_new(self) -> None:
        self._generation += 1
        if self.customer_id:
            self._before_new = self.customer_id  # Cancel goes back to it
        self.customer_id = None
        self.data = None
        self._set_mode(new=True)
        self.name_label.setText("New customer")
        self.subtitle.setText("Type what you know; only the name is needed.")
        ws = self._backend.ws
        values = {key: "" for key, _l, _k in FIELDS}
        values.update(
            status="prospect", kind="organisation", owner=ws.author, currency=ws.settings.currency
        )
        for key in list(self.form.editors):
            if key.startswith("custom."):
                self.form.set_row_visible(key, False)
        self.form.clear_errors()
        self.form.fill(values, keep_focused=False)
        self.duplicates.show_candidates([])
        self.pages.setCurrentWidget(self.scroll)
        self.form.editors["name"].setFocus(Qt.FocusReason.OtherFocusReason)

    def typed_customer(self) -> dict[str, Any]:
        """The new customer's fields as a service patch (blank fields left out)."""
        patch: dict[str, Any] = {}
        for key, _label, _kind in FIELDS:
            text = self.form.text(key)
            if not text.strip():
                continue
            part = patch_for(None, key, text)
            if "addresses" in part and "addresses" in patch:
                patch["addresses"][0].update({k: v for k, v in part["addresses"][0].items() if v})
            else:
                patch.update(part)
        return patch

    def _check_duplicates(self) -> None:
        if not self.is_new:
            return
        name = self.form.text("name").strip() or None
        emails = [e.strip() for e in self.form.text("emails").split(",") if e.strip()]
        phones = [p.strip() for p in self.form.text("phones").split(",") if p.strip()]
        website = self.form.text("website").strip() or None
        self._dup_generation += 1
        generation = self._dup_generation

        def find(ws: Workspace) -> list[DuplicateCandidate]:
            try:
                return duplicates.likely_duplicates(
                    ws, name=name, emails=emails, phones=phones, website=website, limit=4
                )
            except TouchpointError:
                return []  # half-typed email or phone: no warning yet

        def show(found: list[DuplicateCandidate]) -> None:
            if generation == self._dup_generation and self.is_new:
                self.duplicates.show_candidates(found)

        self._backend.query(find).success(show).run()

    def _open_duplicate(self, customer_id: str) -> None:
        self.duplicates.show_candidates([])
        self.open_customer.emit(customer_id)

    def _merge_into(self, customer_id: str) -> None:
        typed = self.typed_customer()
        typed.pop("name", None)
        self._backend.write(
            lambda ws: merge_typed_into(ws, customer_id, typed), initiator=self
        ).success(lambda _v: self._open_duplicate(customer_id)).failure(self._create_failed).run()

    def _ctrl_enter(self) -> None:
        if self.is_new:
            self.create()

    def create(self) -> None:
        if not self.is_new:
            return
        patch = self.typed_customer()
        patch.setdefault("name", "")
        self.form.clear_errors()

        def created(view: Any) -> None:
            self.is_new = False
            self.created.emit(view.id)
            self.show_customer(view.id)

        self._backend.write(
            lambda ws: customers.create_customer(ws, patch), initiator=self
        ).success(created).failure(self._create_failed).run()

    def _create_failed(self, exc: Exception) -> None:
        problems = field_errors(exc)
        if problems:
            self.form.show_errors(problems)
        else:
            show_error(self, exc)

    def _cancel_new(self) -> None:
        self._set_mode(new=False)
        self.form.clear_errors()
        self.duplicates.show_candidates([])
        back, self._before_new = self._before_new, None
        if back:
            self.show_customer(back)
        else:
            self.pages.setCurrentWidget(self.empty)
            self.is_new = False


def _short(value: Any) -> str:
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, list):
        parts = [str(v.get("value", v)) if isinstance(v, dict) else str(v) for v in value]
        text = ", ".join(parts)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"
