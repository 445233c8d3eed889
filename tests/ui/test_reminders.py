"""Reminders fire for due follow-ups; those missed while closed are listed at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMainWindow

from touchpoint.services import customers, interactions
from touchpoint.services.interactions import FollowUpInput
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.reminders import ReminderService, load_last_check


def _promise(ws: Workspace, title: str, due: str) -> str:
    customer = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    logged = interactions.log_interaction(
        ws, customer=customer.id, kind="call", followups=[FollowUpInput(title, due=due)]
    ).value
    return logged.followups[0].id


def _service(qtbot: Any, backend: Backend) -> tuple[ReminderService, QMainWindow]:
    window = QMainWindow()
    qtbot.addWidget(window)
    service = ReminderService(backend, window, autostart=False)
    return service, window


def test_a_reminder_fires_when_its_time_comes(
    qtbot: Any, backend: Backend, ws: Workspace, clock: Any, idle: Any
) -> None:
    # Clock: Wed 09:30 UTC = 10:30 Berlin. Due 11:30 Berlin; reminder 15 min before = 10:15 UTC.
    followup_id = _promise(ws, "Send the quote", "today 11:30")
    service, window = _service(qtbot, backend)
    fired: list[Any] = []
    service.reminded.connect(fired.append)
    service.start()
    idle()
    assert service.missed_dialog is None
    assert service.timer.isActive()

    clock.advance(minutes=30)  # 10:00 UTC: not yet
    service.check()
    idle()
    assert fired == []

    clock.advance(minutes=20)  # 10:20 UTC: past 10:15
    service.check()
    idle()
    assert [f.id for f in fired] == [followup_id]
    if service.tray is None:  # offscreen has no system tray: the window says it
        assert "Acme GmbH: Send the quote" in window.statusBar().currentMessage()

    clock.advance(minutes=5)  # shown once, not at every poll
    service.check()
    idle()
    assert len(fired) == 1
    assert load_last_check(service.state_file) == clock()


def test_reminders_missed_while_closed_are_shown_at_start(
    qtbot: Any, backend: Backend, clock: Any, idle: Any, data_dir: Path
) -> None:
    ws = backend.ws
    first, _ = _service(qtbot, backend)
    first.start()  # the app ran at 09:30 UTC, then was closed
    idle()
    first.stop()
    followup_id = _promise(ws, "Call about delivery", "today 12:00")  # reminder 10:45 UTC
    _promise(ws, "Quarterly review", "2026-12-20 10:00")  # far away: not missed

    clock.advance(hours=3)
    again = Workspace.open(data_dir, auto_backup=False, clock=clock)
    second_backend = Backend(again)
    try:
        second, _ = _service(qtbot, second_backend)
        seen: list[Any] = []
        second.missed.connect(seen.append)
        second.start()
        qtbot.waitUntil(lambda: second_backend.pending == 0)
        assert [[f.id for f in batch] for batch in seen] == [[followup_id]]
        dialog = second.missed_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.list.count() == 1
        assert "Acme GmbH: Call about delivery" in dialog.list.item(0).text()
        dialog.close()
    finally:
        second_backend.shutdown()


def test_a_first_start_does_not_replay_old_reminders(
    qtbot: Any, backend: Backend, ws: Workspace, clock: Any, idle: Any
) -> None:
    _promise(ws, "Old promise", "today 10:00")  # reminder already past
    service, _ = _service(qtbot, backend)
    service.start()
    idle()
    assert service.missed_dialog is None
