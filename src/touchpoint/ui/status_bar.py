"""The status bar: online/offline and sync state, and the changes not yet synced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from touchpoint.services import maintenance
from touchpoint.services.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import when_text

REFRESH_DELAY_MS = 1500  # after a burst of writes, count once


@dataclass(frozen=True)
class SyncState:
    account: str | None  # "maria@example.com at hub.example.com", or None: not set up
    last_sync: datetime | None
    unsynced: int


def sync_state(ws: Workspace) -> SyncState:
    """What the status bar shows; cheap enough to read after every write."""
    try:
        from touchpoint.sync import engine
    except ImportError:  # a build without sync: count the outbox the long way
        return SyncState(None, None, maintenance.status(ws).unsynced_changes)
    account = engine.signed_in_account(ws)
    who = (
        f"{account.email} at {urlsplit(account.server).hostname or account.server}"
        if account
        else None
    )
    return SyncState(who, engine.last_sync_at(ws), engine.waiting_count(ws))


class StatusBar(QStatusBar):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backend = backend
        self.sync_label = QLabel("Offline · sync not configured")
        self.sync_label.setAccessibleName("Sync state")
        self.unsynced_label = QLabel("")
        self.unsynced_label.setAccessibleName("Changes not yet synced")
        self.addWidget(self.sync_label)
        self.addPermanentWidget(self.unsynced_label)
        self.unsynced: int | None = None
        self.sync_note: str | None = None  # what the sync controller says, over the default
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        backend.changes_applied.connect(lambda *_: self._timer.start())
        backend.failed.connect(self._show_failure)

    def refresh(self) -> None:
        self._backend.query(sync_state).success(self._show).failure(
            lambda exc: self.unsynced_label.setText("")
        ).run()

    def _show(self, state: SyncState) -> None:
        ws = self._backend.ws
        if state.account is None:
            self.sync_label.setText("Offline · sync not configured")
        else:
            when = (
                f"last synced {when_text(state.last_sync, ws.tz, ws.now())}"
                if state.last_sync
                else "not synced yet"
            )
            self.sync_label.setText(self.sync_note or f"Sync with {state.account} · {when}")
        self.unsynced = state.unsynced
        n = state.unsynced
        changes = f"{n:,} change{'s' if n != 1 else ''}"
        if state.account is None:
            # Nothing was ever synced: say what is kept, not that it is synced.
            text = "No changes waiting" if n == 0 else f"{changes} kept on this laptop"
        else:
            text = "All changes synced" if n == 0 else f"{changes} not yet synced"
        self.unsynced_label.setText(text)

    def set_sync_note(self, text: str | None) -> None:
        """'Syncing… 40%', 'Offline, will retry'...; None goes back to the default text."""
        self.sync_note = text or None
        if self.sync_note:
            self.sync_label.setText(self.sync_note)
        self.refresh()

    def _show_failure(self, exc: Exception) -> None:
        from touchpoint.ui.errors import human_message

        self.showMessage(human_message(exc).splitlines()[0], 8000)
