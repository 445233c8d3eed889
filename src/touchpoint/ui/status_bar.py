"""The status bar: online/offline and sync state, changes not yet synced, changes refused.

What it says about the last sync ("Synced 3 min ago") is redrawn by a timer from what
it last read, at the moment the words would change: ticking never touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QStatusBar, QToolButton, QWidget

from touchpoint.ui.backend import Backend
from touchpoint.ui.theme import WARN
from touchpoint.ui.widgets.format import when_text

REFRESH_DELAY_MS = 1500  # after a burst of writes, count once
NOT_CONFIGURED = "Offline · sync not configured"

__all__ = ["REFRESH_DELAY_MS", "StatusBar", "ago_text"]


def read_sync_state(ws: Any) -> Any:
    """The SyncState, on the database thread (the services load there, not at start)."""
    from touchpoint.services.sync_status import sync_state

    return sync_state(ws)


def ago_text(when: datetime | None, now: datetime, tz: tzinfo | None = None) -> str:
    """'Synced just now', 'Synced 3 min ago', 'Synced today 08:10', 'Synced yesterday 16:05'."""
    if when is None:
        return "Not synced yet"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "Synced just now"
    if seconds < 3600:
        return f"Synced {seconds // 60} min ago"
    return f"Synced {when_text(when, tz or now.tzinfo or when.tzinfo, now)}"  # type: ignore[arg-type]


def next_change_ms(when: datetime, now: datetime) -> int:
    """Milliseconds until ``ago_text`` may read differently (a minute at most)."""
    elapsed = max(0.0, (now - when).total_seconds())
    if elapsed >= 3600:
        return 60_000  # 'today 08:10' turns into 'yesterday 08:10' at midnight
    return max(1000, int((60 - elapsed % 60) * 1000) + 50)


def _changes(n: int) -> str:
    return f"{n:,} change{'s' if n != 1 else ''}"


class StatusBar(QStatusBar):
    rejected_clicked = Signal()  # the rep wants to see the changes the Hub refused
    state_read = Signal(object)  # a fresh SyncState (signed in or out, counts)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.sync_label = QLabel("")  # says nothing until the database has been read
        self.sync_label.setAccessibleName("Sync state")
        self.rejected_button = QToolButton(self)
        self.rejected_button.setAutoRaise(True)
        self.rejected_button.setAccessibleName("Changes refused by the Hub")
        self.rejected_button.setToolTip("See the changes the Hub refused, and fix them")
        self.rejected_button.setStyleSheet(f"color: {WARN};")
        self.rejected_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.rejected_button.clicked.connect(self.rejected_clicked)
        self.rejected_button.hide()
        self.unsynced_label = QLabel("")
        self.unsynced_label.setAccessibleName("Changes not yet synced")
        self.sync_menu = QMenu(self)
        self.sync_button = QToolButton(self)
        self.sync_button.setText("Sync")
        self.sync_button.setAccessibleName("Sync and account")
        self.sync_button.setToolTip("Sync now, sign in or out, conflicts")
        self.sync_button.setAutoRaise(True)
        self.sync_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sync_button.setMenu(self.sync_menu)
        self.sync_button.hide()  # until the window gives it actions
        self.addWidget(self.sync_label)
        self.addWidget(self.rejected_button)
        self.addPermanentWidget(self.unsynced_label)
        self.addPermanentWidget(self.sync_button)
        self.state: Any = None  # the last SyncState read
        self.unsynced: int | None = None
        self.sync_note: str | None = None  # what the sync controller says, over the default
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        # Redraws 'Synced N min ago' from memory when its words would change.
        self.tick_timer = QTimer(self)
        self.tick_timer.setSingleShot(True)
        self.tick_timer.setTimerType(Qt.TimerType.PreciseTimer)  # on the minute, not 5% late
        self.tick_timer.timeout.connect(self.render)
        backend.changes_applied.connect(lambda *_: self._timer.start())
        backend.failed.connect(self._show_failure)

    def set_sync_actions(self, actions: Iterable[QAction]) -> None:
        """The window's sync commands (Sync now, Sign in/out, Conflicts) under 'Sync'."""
        self.sync_menu.clear()
        for action in actions:
            self.sync_menu.addAction(action)
        self.sync_button.setVisible(not self.sync_menu.isEmpty())

    def refresh(self) -> None:
        self._backend.query(read_sync_state).success(self._show).failure(
            lambda exc: self.unsynced_label.setText("")
        ).run()

    def _show(self, state: Any) -> None:
        self.state = state
        self.unsynced = state.unsynced
        self.render()
        self.state_read.emit(state)

    def render(self) -> None:
        """Put the last read state into words (no database access)."""
        state = self.state
        if state is None:
            return
        ws = self._backend.ws
        n = state.unsynced
        self.tick_timer.stop()
        if state.account is None:
            self.sync_label.setText(NOT_CONFIGURED)
            self.sync_label.setToolTip("")
        elif not state.signed_in:
            self.sync_label.setText(f"Signed out · {state.account}")
            self.sync_label.setToolTip("Sign in to the Hub to send and receive changes")
        else:
            self.sync_label.setToolTip(f"Signed in as {state.account}")
            if self.sync_note:
                self.sync_label.setText(self.sync_note)
            elif state.last_sync is None:
                self.sync_label.setText(f"Sync with {state.account} · not synced yet")
            else:
                now = ws.now()
                self.sync_label.setText(ago_text(state.last_sync, now, ws.tz))
                self.tick_timer.start(next_change_ms(state.last_sync, now))
        if state.account is None or not state.signed_in:
            # Nothing is being sent: say what is kept, not that it is synced.
            text = "No changes waiting" if n == 0 else f"{_changes(n)} kept on this laptop"
        else:
            text = "All changes synced" if n == 0 else f"{_changes(n)} not yet synced"
        self.unsynced_label.setText(text)
        parts = []
        if state.rejected:
            parts.append(f"{_changes(state.rejected)} refused by the Hub")
        set_aside = getattr(state, "set_aside", 0)
        if set_aside:
            parts.append(f"{set_aside} from the Hub set aside")
        self.rejected_button.setText(" · ".join(parts))
        self.rejected_button.setVisible(bool(parts))

    def set_sync_status(self, status: Any) -> None:
        """What the sync controller says (a SyncStatus): progress and trouble in words;
        after a good cycle the bar says when it synced, and keeps that current."""
        quiet = status.state in ("done", "conflicts", "idle", "not_signed_in") or (
            status.state == "syncing" and status.percent is None
        )
        notice = getattr(status, "notice", None)
        self.set_sync_note(notice or (None if quiet else status.text))

    def set_sync_note(self, text: str | None) -> None:
        """'Syncing… 40%', 'Offline, will retry'...; None goes back to the default text."""
        self.sync_note = text or None
        if self.sync_note:
            self.sync_label.setText(self.sync_note)
        self.refresh()

    def _show_failure(self, exc: Exception) -> None:
        from touchpoint.ui.errors import human_message

        self.showMessage(human_message(exc).splitlines()[0], 8000)
