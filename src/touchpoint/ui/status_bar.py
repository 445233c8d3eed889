"""The status bar: online/offline and sync state, and the changes not yet synced."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from touchpoint.services import maintenance
from touchpoint.ui.backend import Backend

REFRESH_DELAY_MS = 1500  # after a burst of writes, count once


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
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        backend.changes_applied.connect(lambda *_: self._timer.start())
        backend.failed.connect(self._show_failure)

    def refresh(self) -> None:
        self._backend.query(maintenance.status).success(self._show).failure(
            lambda exc: self.unsynced_label.setText("")
        ).run()

    def _show(self, report: Any) -> None:
        self.unsynced = report.unsynced_changes
        n = report.unsynced_changes
        self.unsynced_label.setText(
            "All changes synced"
            if n == 0
            else f"{n:,} change{'s' if n != 1 else ''} not yet synced"
        )

    def _show_failure(self, exc: Exception) -> None:
        from touchpoint.ui.errors import human_message

        self.showMessage(human_message(exc).splitlines()[0], 8000)
