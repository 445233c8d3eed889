"""Settings (validated beside each field, applied at once), backup and restore; About."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint import __version__
from touchpoint.services import customers
from touchpoint.settings import load_settings
from touchpoint.storage.models import Customer
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.about_dialog import AboutDialog
from touchpoint.ui.backend import Backend
from touchpoint.ui.settings_dialog import SettingsDialog


def _dialog(qtbot: Any, backend: Backend) -> SettingsDialog:
    dialog = SettingsDialog(backend)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_an_invalid_email_is_shown_beside_it_and_nothing_is_saved(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    dialog = _dialog(qtbot, backend)
    dialog.user.clear()
    qtbot.keyClicks(dialog.user, "maria@@example")
    dialog.region.setText("XX")
    dialog.save()
    idle()
    assert "is not a valid email address" in dialog.errors["user"].text()
    assert dialog.errors["user"].isVisibleTo(dialog)
    assert "not a country code" in dialog.errors["default_region"].text()
    assert dialog.isVisible()
    stored = load_settings(ws.paths.settings_file)
    assert stored.user == "maria@example.com"
    assert stored.default_region == "DE"


def test_good_settings_are_saved_and_used(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    dialog = _dialog(qtbot, backend)
    announced: list[Any] = []
    backend.changes_applied.connect(lambda changes, _by: announced.append(changes))
    dialog.display_name.setText("Maria Keller")
    dialog.reminder.setValue(30)
    dialog.quiet.setValue(45)
    dialog.timezone.setCurrentText("Europe/Vienna")
    dialog.region.setText("at")
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.save()
    idle()
    assert not dialog.isVisible()
    stored = load_settings(ws.paths.settings_file)
    assert stored.display_name == "Maria Keller"
    assert stored.reminder_minutes_before == 30
    assert stored.quiet_after_days == 45
    assert stored.timezone == "Europe/Vienna"
    assert stored.default_region == "AT"
    assert stored.theme == "dark"
    assert ws.settings == stored
    assert announced and announced[0].touches("settings")


def test_backup_now_and_restore(
    qtbot: Any, backend: Backend, idle: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = backend.ws
    data_dir = ws.paths.data_dir
    customers.create_customer(ws, {"name": "Kept GmbH"})
    dialog = _dialog(qtbot, backend)
    dialog.backup_now()
    idle()
    assert dialog.data_message.text().startswith("Backed up to ")
    backup = Path(dialog.data_message.text().removeprefix("Backed up to "))
    assert backup.is_file()
    customers.create_customer(ws, {"name": "Added Later Ltd"})

    restarted: list[bool] = []
    monkeypatch.setattr(dialog, "confirm_restore", lambda _file: True)
    monkeypatch.setattr(dialog, "restart", lambda: restarted.append(True))
    dialog.restore_backup(backup)
    idle()
    assert restarted == [True]
    assert "Restored" in dialog.data_message.text()
    with Workspace.open(data_dir, auto_backup=False, clock=clock) as again, again.read() as db:
        assert db.scalars(select(Customer.name)).all() == ["Kept GmbH"]


def test_about_shows_version_schema_device_and_paths(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any
) -> None:
    dialog = AboutDialog(backend)
    qtbot.addWidget(dialog)
    dialog.show()
    idle()
    assert dialog.values["Version"].text() == __version__
    assert dialog.values["Schema version"].text() == ws.schema_version
    assert dialog.values["Device id"].text() == ws.device_id
    assert dialog.values["Data folder"].text() == str(ws.paths.data_dir)
    assert f"Device id: {ws.device_id}" in dialog.details()
