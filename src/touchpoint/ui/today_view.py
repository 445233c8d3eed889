"""Today: overdue and due-today follow-ups, today's interactions, customers going quiet.

Every row is one click (or Enter) from its customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from touchpoint.ui.backend import Backend, Op
from touchpoint.ui.widgets.format import satisfaction_text, when_text

if TYPE_CHECKING:
    from touchpoint.services import insights
    from touchpoint.storage.workspace import Changes, Workspace

log = logging.getLogger(__name__)

CUSTOMER_ROLE = Qt.ItemDataRole.UserRole + 1
WATCHED = ("followup", "interaction", "customer")
LOADING = "Loading…"


def read_suggestions(ws: Workspace) -> list[Any]:
    """Meetings from an imported calendar waiting for the rep's word."""
    from touchpoint.services import meetings

    return meetings.list_suggestions(ws)


def read_today(ws: Workspace, *, all_quiet: bool = False) -> insights.TodayView:
    """Today's figures, on the database thread (the services load there, not at start);
    ``all_quiet`` lists every customer going quiet, not the first 20."""
    from touchpoint.services import insights

    return insights.today(ws, quiet_limit=None) if all_quiet else insights.today(ws)


class TodayPrefetch:
    """Today's query started before the window is built, so the two overlap at start.

    With ``before_open`` (a read of the database file that needs no Workspace, None
    when it cannot answer), Today is read while the database layer still loads; the
    usual read after the opening is the fallback."""

    def __init__(
        self, backend: Backend, before_open: Callable[[], insights.TodayView | None] | None = None
    ) -> None:
        self.data: Any = None
        self._waiting: list[Any] = []
        self.done = False
        self._backend = backend
        self._early: Op[Any] | None = None
        if before_open is not None:
            self._early = backend.before_open(before_open).success(self._early_arrived)
            self._early.failure(self._early_failed).run()
        else:
            self._read()

    def _read(self) -> None:
        self._backend.query(read_today).success(self._arrived).failure(self._failed).run()

    def _early_arrived(self, data: Any) -> None:
        if data is None:  # only the Workspace can read it (encrypted, a migration due...)
            self._read()
        else:
            self._arrived(data)

    def _early_failed(self, exc: Exception) -> None:
        log.warning("today could not be read before the database opened: %s", exc)
        self._read()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the read made before the opening, and show its
        figures at once; True when they are there."""
        if self._early is not None:
            self._backend.deliver_now(self._early, timeout_s)
        return self.data is not None

    def _arrived(self, data: Any) -> None:
        self.data, self.done = data, True
        for cb in self._waiting:
            cb(data)
        self._waiting.clear()

    def _failed(self, exc: Exception) -> None:
        self.done = True
        log.warning("today's first load failed: %s", exc)
        self._waiting.clear()

    def then(self, cb: Any) -> None:
        if self.data is not None:
            cb(self.data)
        elif not self.done:
            self._waiting.append(cb)


class Card(QFrame):
    """A titled list; activating a row opens its customer. A list cut short says how
    many there are and offers them all (``show_all``)."""

    show_all = Signal()

    def __init__(self, title: str, empty: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self._title = title
        self._empty = empty
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        self.title = QLabel(title)
        self.title.setObjectName("CardTitle")
        self.more = QPushButton("Show all")
        self.more.clicked.connect(self.show_all)
        self.more.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.more)
        self.list = QListWidget(self)
        self.list.setAccessibleName(title)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        # Until the first read arrives: the window paints before the database is open,
        # and "nothing overdue" would be a claim it cannot make yet.
        self.empty = QLabel(LOADING)
        self.empty.setObjectName("Muted")
        self.empty.setWordWrap(True)
        self.list.hide()
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addStretch(0)

    def fill(self, rows: list[tuple[str, str, str | None]], *, total: int | None = None) -> None:
        """rows: (text, tooltip, customer id); ``total`` when only the first are listed."""
        self.list.clear()
        for text, tip, customer_id in rows:
            item = QListWidgetItem(text)
            item.setToolTip(tip)
            item.setData(CUSTOMER_ROLE, customer_id)
            self.list.addItem(item)
        count = len(rows) if total is None else total
        shown = f"{count}" if count == len(rows) else f"{len(rows)} of {count}"
        self.title.setText(f"{self._title}  ({shown})" if rows else self._title)
        self.empty.setText(self._empty)
        self.list.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        cut = count > len(rows)
        self.more.setText(f"Show all {count:,}")
        self.more.setAccessibleName(f"Show all {count:,}: {self._title}")
        self.more.setVisible(cut)
        # An empty card takes only the room its sentence needs; a full one all it gets.
        self.setSizePolicy(
            QSizePolicy.Policy.Preferred,
            QSizePolicy.Policy.Expanding if rows else QSizePolicy.Policy.Maximum,
        )


class TodayView(QWidget):
    open_customer = Signal(str)
    loaded = Signal()
    followups_requested = Signal()  # every overdue promise, on the Follow-ups page

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.data: insights.TodayView | None = None
        self._stale = True
        self._all_quiet = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel("Today")
        self.heading.setObjectName("PageTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("Muted")
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        # One meeting from an imported calendar at a time: logged only on the rep's word.
        self.suggestions: list[Any] = []
        self.meeting = QFrame(self)
        self.meeting.setObjectName("Card")
        row = QHBoxLayout(self.meeting)
        row.setContentsMargins(12, 6, 12, 6)
        self.meeting_text = QLabel("")
        self.meeting_text.setWordWrap(True)
        self.log_meeting = QPushButton("Log it")
        self.dismiss_meeting = QPushButton("Dismiss")
        row.addWidget(self.meeting_text, 1)
        row.addWidget(self.log_meeting)
        row.addWidget(self.dismiss_meeting)
        self.log_meeting.clicked.connect(self._accept_meeting)
        self.dismiss_meeting.clicked.connect(self._dismiss_meeting)
        self.meeting.hide()
        layout.addWidget(self.meeting)
        grid = QGridLayout()
        grid.setSpacing(12)
        self.overdue = Card("Overdue", "Nothing overdue. Every promise is on time.", self)
        self.due = Card("Due today", "Nothing else is due today.", self)
        self.interactions = Card("Today's interactions", "No interactions logged today yet.", self)
        self.quiet = Card("Going quiet", "No active customer is going quiet.", self)
        # Overdue first and large: the whole left column. The others share the right one,
        # an empty one no taller than its sentence.
        self.overdue.title.setObjectName("BigWarning")
        grid.addWidget(self.overdue, 0, 0, 3, 1)
        grid.addWidget(self.due, 0, 1)
        grid.addWidget(self.interactions, 1, 1)
        grid.addWidget(self.quiet, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid, 1)
        self.overdue.show_all.connect(self.followups_requested)
        self.quiet.show_all.connect(self.show_all_quiet)
        for card in self.cards:
            card.list.itemActivated.connect(self._activated)
            card.list.itemClicked.connect(self._activated)
        backend.changes_applied.connect(self._changes_applied)

    @property
    def cards(self) -> tuple[Card, ...]:
        return (self.overdue, self.due, self.interactions, self.quiet)

    def activate(self) -> None:
        if self._stale:
            self.refresh()

    def refresh(self, prefetch: TodayPrefetch | None = None) -> None:
        self._stale = False
        self._backend.query(read_suggestions).success(self._show_suggestions).run()
        if prefetch is not None and not (prefetch.done and prefetch.data is None):
            prefetch.then(self._show)
            return
        all_quiet = self._all_quiet
        self._backend.query(lambda ws: read_today(ws, all_quiet=all_quiet)).success(
            self._show
        ).run()

    def show_all_quiet(self) -> None:
        """Every customer going quiet, not the first 20."""
        self._all_quiet = True
        self.refresh()

    def _show_suggestions(self, items: list[Any]) -> None:
        self.suggestions = items
        if not items:
            self.meeting.hide()
            return
        first = items[0]
        title = f" “{first.subject}”" if first.subject else ""
        rest = len(items) - 1
        more = f"  ({rest} more meeting{'s' if rest > 1 else ''} to log)" if rest else ""
        self.meeting_text.setText(f"{first.words}{title}{more}")
        self.meeting.show()

    def _accept_meeting(self) -> None:
        if self.suggestions:
            chosen = self.suggestions[0].id
            from touchpoint.services import meetings

            self._backend.write(lambda ws: meetings.accept_suggestion(ws, chosen)).run()

    def _dismiss_meeting(self) -> None:
        if self.suggestions:
            chosen = self.suggestions[0].id
            from touchpoint.services import meetings

            self._backend.write(lambda ws: meetings.dismiss_suggestion(ws, chosen)).success(
                lambda _s: self.refresh()
            ).run()

    def _changes_applied(self, changes: Changes, _initiator: object) -> None:
        if any(changes.touches(e) for e in WATCHED):
            if self.isVisible():
                self.refresh()
            else:
                self._stale = True

    def _activated(self, item: QListWidgetItem) -> None:
        customer_id = item.data(CUSTOMER_ROLE)
        if customer_id:
            self.open_customer.emit(customer_id)

    def _show(self, data: Any) -> None:
        self.data = data
        if data.as_of is not None and data.tz is not None:
            # As of the read: it may come before the Workspace is open.
            tz, now = data.tz, data.as_of
        else:
            ws = self._backend.ws
            tz, now = ws.tz, ws.now()
        today = now.astimezone(tz)
        self.heading.setText(f"Today · {today.strftime('%A')} {today.day} {today.strftime('%B')}")
        self.overdue.fill(
            [
                (
                    f"{f.title}\n{f.customer_name or ''} · was due {when_text(f.due_at, tz, now)}",
                    f.notes or f.title,
                    f.customer_id,
                )
                for f in data.overdue
            ],
            total=data.overdue_total,
        )
        self.due.fill(
            [
                (
                    f"{f.title}\n{f.customer_name or ''} · {when_text(f.due_at, tz, now)}",
                    f.notes or f.title,
                    f.customer_id,
                )
                for f in data.due_today
            ]
        )
        self.interactions.fill(
            [
                (
                    f"{i.kind.capitalize()} · {i.customer_name or ''} · "
                    f"{i.occurred_at.astimezone(tz).strftime('%H:%M')}"
                    + (f"\n{i.subject}" if i.subject else "")
                    + (f"  ·  {i.outcome}" if i.outcome else ""),
                    i.notes or i.subject or i.kind,
                    i.customer_id,
                )
                for i in data.interactions_today
            ]
        )
        self.quiet.fill(
            [
                (
                    f"{q.name}\n{q.reason}"
                    + (
                        f" · satisfaction {satisfaction_text(q.satisfaction)}"
                        if q.satisfaction
                        else ""
                    ),
                    q.reason,
                    q.customer_id,
                )
                for q in data.quiet
            ],
            total=data.quiet_total,
        )
        self.summary.setText(
            f"{data.overdue_total} overdue · {len(data.due_today)} due today · "
            f"{len(data.interactions_today)} logged today · {data.quiet_total} going quiet"
        )
        self.loaded.emit()
