"""Reminders for follow-ups: desktop notifications from a tray icon, even with the window closed.

Every 30 seconds the database thread is asked for open follow-ups whose reminder time
fell since the last check. The time of the last check is kept in the data folder, so
reminders that fell while Touchpoint was not running are listed at the next start.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from touchpoint.services import followups
from touchpoint.services.records import FollowUpView
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.widgets.format import when_text

log = logging.getLogger(__name__)

POLL_MS = 30_000
STATE_FILE = "reminders.json"
MISSED_SHOWN = 50


def state_path(ws: Workspace) -> Path:
    return ws.paths.data_dir / STATE_FILE


def load_last_check(path: Path) -> datetime | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        moment = datetime.fromisoformat(data["last_check"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("reminder state %s unreadable (%s); starting from now", path, exc)
        return None
    return moment if moment.tzinfo is not None else None


def save_last_check(path: Path, moment: datetime) -> None:
    """Atomic, like every small state file: a crash leaves the previous time."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"last_check": moment.isoformat()}), encoding="utf-8")
    os.replace(partial, path)


def reminder_text(view: FollowUpView, ws: Workspace, now: datetime) -> tuple[str, str]:
    title = view.title if not view.customer_name else f"{view.customer_name}: {view.title}"
    body = f"Due {when_text(view.due_at, ws.tz, now)}"
    if view.notes:
        body += f"\n{view.notes[:120]}"
    return title, body


class MissedRemindersDialog(QDialog):
    """Reminders that fell while Touchpoint was closed."""

    open_followups = Signal()

    def __init__(
        self, ws: Workspace, views: list[FollowUpView], now: datetime, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Missed reminders")
        self.setAccessibleName("Missed reminders")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        count = len(views)
        heading = QLabel(
            f"<b>{count} reminder{'s' if count != 1 else ''}</b> fell due while Touchpoint "
            "was not running:"
        )
        layout.addWidget(heading)
        self.list = QListWidget()
        self.list.setAccessibleName("Missed reminders list")
        for view in views[:MISSED_SHOWN]:
            title, body = reminder_text(view, ws, now)
            item = QListWidgetItem(f"{title}\n    {body.splitlines()[0]}")
            item.setData(Qt.ItemDataRole.UserRole, view.id)
            self.list.addItem(item)
        if count > MISSED_SHOWN:
            self.list.addItem(f"… and {count - MISSED_SHOWN} more in Follow-ups")
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        show = buttons.addButton("Open &follow-ups", QDialogButtonBox.ButtonRole.AcceptRole)
        show.clicked.connect(self.open_followups)
        show.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ReminderService(QObject):
    """Owns the tray icon and the polling timer. ``start()`` once the window is up."""

    reminded = Signal(object)  # FollowUpView, one per reminder shown
    missed = Signal(list)  # list[FollowUpView] found at start

    def __init__(
        self, backend: Backend, parent: QWidget | None = None, *, autostart: bool = True
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.window = parent
        self.state_file = state_path(self.ws)
        self._last: datetime | None = None
        self._started = False
        self._checking = False
        self.missed_dialog: MissedRemindersDialog | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.check)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = self._make_tray()
        if autostart:
            QTimer.singleShot(0, self.start)

    @property
    def keeps_running(self) -> bool:
        """True when closing the window may leave the app running in the tray."""
        return self.tray is not None and self.tray.isVisible()

    def _make_tray(self) -> QSystemTrayIcon:
        from touchpoint.ui.theme import app_icon

        tray = QSystemTrayIcon(app_icon(), self)
        tray.setToolTip("Touchpoint")
        menu = QMenu()
        menu.addAction("&Open Touchpoint", self.open_window)
        menu.addAction("&Log interaction…", self._log_interaction)
        menu.addSeparator()
        menu.addAction("&Quit", self._quit)
        self._menu = menu  # the tray does not own its menu
        tray.setContextMenu(menu)
        tray.activated.connect(self._tray_activated)
        tray.messageClicked.connect(self._show_followups)
        tray.show()
        return tray

    # --- polling ------------------------------------------------------------------
    def start(self) -> None:
        """Show what was missed since the last run, then poll every 30 seconds."""
        if self._started:
            return
        self._started = True
        path = self.state_file

        def first(ws: Workspace) -> tuple[datetime, list[FollowUpView], bool]:
            now = ws.now()
            last = load_last_check(path)
            found = followups.due_reminders(ws, since=last, until=now) if last is not None else []
            save_last_check(path, now)
            return now, found, last is not None

        def started(result: tuple[datetime, list[FollowUpView], bool]) -> None:
            now, found, _had_state = result
            self._last = now
            if found:
                self.missed.emit(found)
                self.show_missed(found, now)
            self.timer.start()

        self.backend.query(first).success(started).failure(self._failed).run()

    def check(self) -> None:
        """One poll: notify each reminder that fell since the previous poll."""
        if self._checking or self._last is None:
            return
        self._checking = True
        since = self._last
        path = self.state_file

        def due(ws: Workspace) -> tuple[datetime, list[FollowUpView]]:
            now = ws.now()
            found = followups.due_reminders(ws, since=since, until=now)
            save_last_check(path, now)
            return now, found

        def arrived(result: tuple[datetime, list[FollowUpView]]) -> None:
            self._checking = False
            now, found = result
            self._last = now
            for view in found:
                self.notify(view, now)

        self.backend.query(due).success(arrived).failure(self._failed).run()

    def _failed(self, exc: Exception) -> None:
        self._checking = False
        log.warning("reminders could not be checked: %s", exc)
        if not self.timer.isActive() and self._started:
            self.timer.start()  # try again at the next tick

    def stop(self) -> None:
        self.timer.stop()
        if self.tray is not None:
            self.tray.hide()

    # --- showing ------------------------------------------------------------------
    def notify(self, view: FollowUpView, now: datetime) -> None:
        title, body = reminder_text(view, self.ws, now)
        if self.keeps_running and self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 15_000)
        else:
            self._in_window(f"Reminder: {title} — {body.splitlines()[0]}")
        self.reminded.emit(view)

    def _in_window(self, text: str) -> None:
        """No system tray (some desktops, offscreen): say it in the window's status bar."""
        status = getattr(self.window, "statusBar", None)
        if callable(status):
            status().showMessage(text, 60_000)
        else:
            log.info("%s", text)
        self.last_notice = text

    def show_missed(self, views: list[FollowUpView], now: datetime) -> None:
        dialog = MissedRemindersDialog(self.ws, views, now, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_followups.connect(self._show_followups)
        dialog.open_followups.connect(dialog.accept)
        dialog.open()  # not modal-blocking: the rep can look and carry on
        self.missed_dialog = dialog

    # --- tray menu ------------------------------------------------------------------
    def open_window(self) -> None:
        window = self.window
        if window is None:
            return
        window.showNormal()
        window.raise_()
        window.activateWindow()

    def _show_followups(self) -> None:
        self.open_window()
        show = getattr(self.window, "show_followups", None)
        if callable(show):
            show()

    def _log_interaction(self) -> None:
        self.open_window()
        log_it = getattr(self.window, "log_interaction", None)
        if callable(log_it):
            log_it()

    def _quit(self) -> None:
        quit_app = getattr(self.window, "quit_app", None)
        if callable(quit_app):
            quit_app()
        else:
            QApplication.quit()

    def _tray_activated(self, reason: Any) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window()


__all__ = ["MissedRemindersDialog", "ReminderService", "load_last_check", "save_last_check"]
