"""Follow-ups: overdue, today, this week, later. Complete with one key; snooze, reschedule,
reassign, cancel or delete (with undo) from the keyboard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import dates
from touchpoint.domain.metrics import DEFAULT_WORK_DAYS
from touchpoint.domain.values import fold
from touchpoint.errors import TouchpointError
from touchpoint.services import followups
from touchpoint.services.followups import FollowUpFilter
from touchpoint.services.records import FollowUpView
from touchpoint.storage.workspace import Changes, Workspace
from touchpoint.ui import errors as errors_module
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import human_message, only_past_times
from touchpoint.ui.theme import MUTED, OK, WARN
from touchpoint.ui.undo_bar import UndoBar
from touchpoint.ui.widgets.format import when_text
from touchpoint.ui.widgets.when_dialog import WhenDialog

log = logging.getLogger(__name__)

DONE = "Done just now"
ROW_HEIGHT = 26  # px: at least 24, so a row is easy to hit and read
SNOOZES = (
    ("In 1 &hour", "+1h"),
    ("&Tomorrow morning", "tomorrow 9:00"),
    ("&Next week", "next week 9:00"),
)
STATE_MARKS = {
    "kept": ("✓ kept", OK),
    "late": ("✓ late", WARN),
    "overdue": ("overdue", WARN),
    "open": ("open", None),
    "cancelled": ("cancelled", MUTED),
}
ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Due", "Promise", "Customer", "Assigned to", "State")


def sections(now: datetime, tz: tzinfo, work_days: frozenset[int]) -> list[tuple[str, datetime]]:
    """The headings in order, each with the moment it ends (local calendar days and the
    team's working week, PRODUCT.md); "Later" has no end."""
    today = now.astimezone(tz).date()
    return [
        ("Overdue", now),
        *(
            (name, dates.local_day_bounds(last, tz)[1])
            for name, last in dates.due_buckets(today, work_days)
        ),
        ("Later", datetime.max.replace(tzinfo=UTC)),
    ]


def section_of(view: FollowUpView, headings: list[tuple[str, datetime]]) -> str:
    """Which heading an open follow-up sits under."""
    return next(name for name, end in headings if view.due_at < end)


class FollowUpTree(QTreeWidget):
    """The list; keys act on the current follow-up."""

    key_action = Signal(str)

    KEYS = {
        Qt.Key.Key_Space: "complete",
        Qt.Key.Key_Return: "open",
        Qt.Key.Key_Enter: "open",
        Qt.Key.Key_S: "snooze",
        Qt.Key.Key_R: "reschedule",
        Qt.Key.Key_A: "reassign",
        Qt.Key.Key_Delete: "delete",
    }

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() == Qt.Key.Key_D and mods == Qt.KeyboardModifier.ControlModifier:
            self.key_action.emit("complete")
            return
        action = (
            self.KEYS.get(Qt.Key(event.key())) if mods == Qt.KeyboardModifier.NoModifier else None
        )
        if action is not None and self.currentItem() is not None:
            self.key_action.emit(action)
            return
        super().keyPressEvent(event)


class FollowUpsView(QWidget):
    open_customer = Signal(str)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.setAccessibleName("Follow-ups")
        self._views: dict[str, FollowUpView] = {}
        self._done: list[FollowUpView] = []  # completed here, shown with their kept/late mark
        self._loaded = False
        self._refreshing = False
        self._again = False
        self._headings: list[QTreeWidgetItem] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 8)
        header = QHBoxLayout()
        title = QLabel("Follow-ups")
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        header.addWidget(title)
        self.summary = QLabel()
        self.summary.setAccessibleName("Follow-ups summary")
        self.summary.setStyleSheet(f"color: {MUTED};")
        header.addWidget(self.summary, 1)
        self.mine_only = QCheckBox("&Mine only")
        self.mine_only.setChecked(True)
        self.mine_only.setAccessibleName("Show only follow-ups assigned to me")
        self.mine_only.toggled.connect(self.refresh)
        header.addWidget(self.mine_only)
        layout.addLayout(header)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by promise or customer  (Ctrl+F)")
        self.filter.setAccessibleName("Filter follow-ups by promise or customer")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._apply_filter())
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.filter.setFocus)
        layout.addWidget(self.filter)

        bar = QHBoxLayout()
        self.actions: dict[str, QAction] = {}
        for key, text, shortcut, handler in (
            ("complete", "Done", "Space", self.complete_current),
            ("snooze", "Snooze…", "S", self.snooze_menu),
            ("reschedule", "Reschedule…", "R", self.reschedule_current),
            ("reassign", "Reassign…", "A", self.reassign_current),
            ("cancel", "Cancel promise", "", self.cancel_current),
            ("delete", "Delete", "Del", self.delete_current),
        ):
            action = QAction(f"{text}  ({shortcut})" if shortcut else text, self)
            action.triggered.connect(handler)
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAccessibleName(text.rstrip("…"))
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            bar.addWidget(button)
            self.actions[key] = action
        self.actions["complete"].setShortcut(QKeySequence("Ctrl+D"))
        self.actions["complete"].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.actions["complete"])
        bar.addStretch(1)
        layout.addLayout(bar)

        self.tree = FollowUpTree()
        self.tree.setAccessibleName("Follow-ups by due time")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        header_view = self.tree.header()
        # Promise and customer share the room: neither is cut while the other is empty.
        header_view.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header_view.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header_view.setStretchLastSection(False)
        metrics = self.tree.fontMetrics()
        due_width = metrics.horizontalAdvance("done Wed 30 Sep 10:00") + 24
        for column, width in ((0, due_width), (3, 170), (4, 90)):
            self.tree.setColumnWidth(column, width)
        self.tree.key_action.connect(self._key_action)
        self.tree.itemDoubleClicked.connect(lambda *_: self.open_current())
        self.tree.currentItemChanged.connect(lambda *_: self._update_actions())
        layout.addWidget(self.tree, 1)

        self.message = QLabel()
        self.message.setAccessibleName("Follow-ups message")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        self.undo_bar = UndoBar(self)
        layout.addWidget(self.undo_bar)
        hint = QLabel(
            "Space done · S snooze · R reschedule · A reassign · Del delete · "
            "Enter opens the customer"
        )
        hint.setStyleSheet(f"color: {MUTED};")
        layout.addWidget(hint)
        backend.changes_applied.connect(self._changes_applied)
        self._update_actions()

    # --- loading ------------------------------------------------------------------
    def activate(self) -> None:
        """Shown: load on first show; keep the keyboard in the list."""
        if not self._loaded:
            self.refresh()
        self.tree.setFocus()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._loaded:
            self.refresh()

    def refresh(self) -> None:
        if self._refreshing:
            self._again = True  # one more when this one lands: never two in flight
            return
        self._refreshing = True
        self._loaded = True
        mine = self.ws.author if self.mine_only.isChecked() else None

        def load(ws: Workspace) -> tuple[datetime, list[FollowUpView], frozenset[int]]:
            from touchpoint.services import goals

            try:
                work_days = goals.work_days(ws, goals.load_goals(ws))
            except TouchpointError:  # a broken goals file: the usual week
                work_days = DEFAULT_WORK_DAYS
            found = followups.list_followups(
                ws, FollowUpFilter(scope="open", assigned_to=mine), limit=2000
            )
            return ws.now(), found, work_days

        self.backend.query(load).success(self._fill).failure(self._load_failed).run()

    def _load_failed(self, exc: Exception) -> None:
        self._refreshing = False
        self._say(human_message(exc), error=True)

    def _fill(self, result: tuple[datetime, list[FollowUpView], frozenset[int]]) -> None:
        self._refreshing = False
        now, views, work_days = result
        current = self.current_id()
        self.tree.clear()
        self._views = {v.id: v for v in views}
        headings = sections(now, self.ws.tz, work_days)
        grouped: dict[str, list[FollowUpView]] = {name: [] for name, _end in headings}
        for view in views:
            grouped[section_of(view, headings)].append(view)
        grouped[DONE] = [d for d in self._done if d.id not in self._views]
        for d in grouped[DONE]:
            self._views[d.id] = d
        # Facts the same on every row are said once: whose they are when only mine are
        # listed (the box says so); the state of an open one is its heading.
        self.tree.setColumnHidden(3, self.mine_only.isChecked())
        self.tree.setColumnHidden(4, not grouped[DONE])
        bold = QFont(self.tree.font())
        bold.setBold(True)
        select: QTreeWidgetItem | None = None
        self._headings = []
        for name, items in grouped.items():
            if not items and name in (DONE,):
                continue
            heading = QTreeWidgetItem([f"{name} ({len(items)})"])
            heading.setData(1, ID_ROLE, (name, len(items)))
            self._headings.append(heading)
            heading.setFirstColumnSpanned(True)
            heading.setFont(0, bold)
            heading.setSizeHint(0, QSize(0, ROW_HEIGHT))
            heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if name == "Overdue" and items:
                heading.setForeground(0, QBrush(QColor(WARN)))
            self.tree.addTopLevelItem(heading)
            heading.setFirstColumnSpanned(True)
            if not items:
                empty = QTreeWidgetItem(["", "nothing here"])
                empty.setFlags(Qt.ItemFlag.NoItemFlags)
                empty.setSizeHint(0, QSize(0, ROW_HEIGHT))
                self.tree.addTopLevelItem(empty)
            for view in items:
                item = self._item(view, now)
                self.tree.addTopLevelItem(item)
                if view.id == current or (select is None and current is None):
                    select = item
        if select is not None:
            self.tree.setCurrentItem(select)
        if self.filter.text():
            self._apply_filter()
        overdue = len(grouped["Overdue"])
        self.summary.setText(f"  {len(views)} open" + (f" · {overdue} overdue" if overdue else ""))
        self._update_actions()
        if self._again:
            self._again = False
            self.refresh()

    def _apply_filter(self) -> None:
        """Rows whose promise, customer or notes hold the typed words (case and accents
        folded); each heading counts what it still shows."""
        words = fold(self.filter.text()).split()
        heading: QTreeWidgetItem | None = None
        shown = 0

        def close_heading() -> None:
            if heading is not None:
                name, total = heading.data(1, ID_ROLE)
                count = f"{shown} of {total}" if words and shown != total else f"{total}"
                heading.setText(0, f"{name} ({count})")

        for n in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(n)
            if isinstance(item.data(1, ID_ROLE), tuple):
                close_heading()
                heading, shown = item, 0
                continue
            followup_id = item.data(0, ID_ROLE)
            view = self._views.get(followup_id) if followup_id else None
            if view is None:  # "nothing here"
                item.setHidden(bool(words))
                continue
            text = fold(" ".join((view.title, view.customer_name or "", view.notes or "")))
            match = all(w in text for w in words)
            item.setHidden(not match)
            shown += match
        close_heading()

    def _item(self, view: FollowUpView, now: datetime) -> QTreeWidgetItem:
        mark, color = STATE_MARKS.get(str(view.state), (str(view.state), None))
        if view.status == "open":
            mark = ""  # its heading says it
        when = when_text(view.due_at, self.ws.tz, now)
        if view.status == "done" and view.done_at is not None:
            when = "done " + when_text(view.done_at, self.ws.tz, now)
        item = QTreeWidgetItem([when, view.title, view.customer_name or "", view.assigned_to, mark])
        item.setData(0, ID_ROLE, view.id)
        item.setSizeHint(0, QSize(0, ROW_HEIGHT))
        item.setToolTip(1, view.notes or view.title)
        item.setToolTip(2, view.customer_name or "")
        if color:
            item.setForeground(4, QBrush(QColor(color)))
        if view.remind_at and view.status == "open" and view.remind_at > now:
            item.setToolTip(0, "reminder " + when_text(view.remind_at, self.ws.tz, now))
        return item

    def _changes_applied(self, changes: Changes, initiator: object) -> None:
        if changes.touches("followup") and self._loaded:
            self.refresh()

    # --- the current follow-up --------------------------------------------------------
    def current_id(self) -> str | None:
        item = self.tree.currentItem()
        value = item.data(0, ID_ROLE) if item is not None else None
        return str(value) if value else None

    def current(self) -> FollowUpView | None:
        followup_id = self.current_id()
        return self._views.get(followup_id) if followup_id else None

    def select(self, followup_id: str) -> bool:
        for n in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(n)
            if item.data(0, ID_ROLE) == followup_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def _update_actions(self) -> None:
        view = self.current()
        is_open = view is not None and view.status == "open"
        for key, action in self.actions.items():
            action.setEnabled(view is not None and (is_open or key == "delete"))

    def _key_action(self, name: str) -> None:
        handlers: dict[str, Callable[[], None]] = {
            "complete": self.complete_current,
            "open": self.open_current,
            "snooze": self.snooze_menu,
            "reschedule": self.reschedule_current,
            "reassign": self.reassign_current,
            "delete": self.delete_current,
        }
        handlers[name]()

    def open_current(self) -> None:
        view = self.current()
        if view is not None:
            self.open_customer.emit(view.customer_id)

    # --- actions ----------------------------------------------------------------------
    def _write(
        self,
        fn: Callable[[Workspace], Any],
        done: Callable[[Any], None],
        *,
        again_past: Callable[[Workspace], Any] | None = None,
    ) -> None:
        """Write; ``again_past`` is the same write allowing a time in the past, made when
        the first is refused for one and the person confirms it."""

        def failed(exc: Exception) -> None:
            past = only_past_times(exc)
            if past and again_past is not None and errors_module.ask_past(self, past):
                self._write(again_past, done)
                return
            self._say(human_message(exc), error=True)

        self.message.hide()
        self.backend.write(fn, initiator=self).success(done).failure(failed).run()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {WARN};" if error else "")
        self.message.show()

    def complete_current(self) -> None:
        view = self.current()
        if view is None or view.status != "open":
            return
        self._move_on()

        def done(result: FollowUpView) -> None:
            self._done.insert(0, result)
            mark = STATE_MARKS.get(str(result.state), (str(result.state), None))[0]
            self._say(f"Done: {result.title} ({mark})")

        self._write(lambda ws: followups.complete_followup(ws, view.id), done)

    def _move_on(self) -> None:
        """Put the cursor on the next follow-up: key after key down the list."""
        item = self.tree.currentItem()
        below = self.tree.itemBelow(item) if item is not None else None
        while below is not None and not below.data(0, ID_ROLE):
            below = self.tree.itemBelow(below)
        if below is None and item is not None:
            below = self.tree.itemAbove(item)
            while below is not None and not below.data(0, ID_ROLE):
                below = self.tree.itemAbove(below)
        if below is not None:
            self.tree.setCurrentItem(below)

    def snooze_menu(self) -> None:
        view = self.current()
        if view is None or view.status != "open":
            return
        menu = QMenu(self)
        menu.setAccessibleName("Snooze until")
        for text, until in SNOOZES:
            menu.addAction(text, lambda until=until: self.snooze_current(until))
        menu.addAction("&Custom…", self._snooze_custom)
        item = self.tree.currentItem()
        rect = self.tree.visualItemRect(item)
        menu.popup(self.tree.viewport().mapToGlobal(rect.bottomLeft()))
        self._menu = menu  # kept for tests and so it is not collected while open

    def snooze_current(self, until: str) -> None:
        view = self.current()
        if view is None:
            return

        def done(result: FollowUpView) -> None:
            when = when_text(result.remind_at, self.ws.tz, self.ws.now())
            self._say(f"Snoozed: reminder {when}")

        self._write(
            lambda ws: followups.snooze_followup(ws, view.id, until, allow_past=False),
            done,
            again_past=lambda ws: followups.snooze_followup(ws, view.id, until),
        )

    def _snooze_custom(self) -> None:
        text = self.ask_when("Snooze", "Remind me again (tomorrow 8:00, +2h, fri):", "")
        if text:
            self.snooze_current(text)

    def reschedule_current(self) -> None:
        view = self.current()
        if view is None or view.status != "open":
            return
        text = self.ask_when("Reschedule", f"New due time for “{view.title}”:", "+1d")
        if not text:
            return

        def done(result: FollowUpView) -> None:
            self._say(f"Now due {when_text(result.due_at, self.ws.tz, self.ws.now())}")

        self._write(
            lambda ws: followups.reschedule_followup(ws, view.id, text, allow_past=False),
            done,
            again_past=lambda ws: followups.reschedule_followup(ws, view.id, text),
        )

    def reassign_current(self) -> None:
        view = self.current()
        if view is None or view.status != "open":
            return
        who = self.ask_text("Reassign", "Assign to (email or name):", view.assigned_to)
        if not who:
            return
        self._write(
            lambda ws: followups.reassign_followup(ws, view.id, who),
            lambda result: self._say(f"Assigned to {result.assigned_to}"),
        )

    def cancel_current(self) -> None:
        view = self.current()
        if view is None or view.status != "open":
            return
        self._write(
            lambda ws: followups.cancel_followup(ws, view.id),
            lambda result: self._say(f"Cancelled: {result.title}"),
        )

    def delete_current(self) -> None:
        view = self.current()
        if view is None:
            return
        followup_id = view.id

        def undo() -> None:
            self._write(
                lambda ws: followups.restore_followup(ws, followup_id),
                lambda _result: self._say(f"Restored: {view.title}"),
            )

        self._move_on()

        def done(_result: FollowUpView) -> None:
            self._done = [d for d in self._done if d.id != followup_id]
            self.undo_bar.show_undo(f"Deleted “{view.title}”", undo)

        self._write(lambda ws: followups.delete_followup(ws, followup_id), done)

    def ask_when(self, title: str, label: str, text: str) -> str | None:
        """A typed moment, shown as understood before it is accepted; None when cancelled.
        Tests replace this."""
        dialog = WhenDialog(title, label, text, now=self.ws.now, tz=self.ws.tz, parent=self)
        return dialog.value() if dialog.exec() == WhenDialog.DialogCode.Accepted else None

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        """A typed value, or None when cancelled. Tests replace this."""
        value, ok = QInputDialog.getText(self, title, label, text=text)
        return value.strip() if ok and value.strip() else None

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None or not item.data(0, ID_ROLE):
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self)
        for key in ("complete", "snooze", "reschedule", "reassign", "cancel", "delete"):
            menu.addAction(self.actions[key])
        menu.addSeparator()
        menu.addAction("Open customer", self.open_current)
        menu.popup(self.tree.viewport().mapToGlobal(pos))


__all__ = ["FollowUpsView", "section_of", "sections"]
