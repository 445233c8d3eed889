"""The window under a machine policy: locked settings shown locked with who set them,
the encryption choice, and the support contact in About."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from touchpoint.policy import current_policy
from touchpoint.settings import load_settings
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.about_dialog import AboutDialog
from touchpoint.ui.backend import Backend
from touchpoint.ui.settings_dialog import SettingsDialog

POLICY = """
[database]
require_encryption = {encrypt}

[support]
name = "IT Service Desk"
email = "help@example.com"
phone = "+49 30 1234 567"

[settings]
reminder_minutes_before = 45
theme = "light"
"""


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(encrypt="false"), encoding="utf-8")
    monkeypatch.setenv("TOUCHPOINT_POLICY_FILE", str(path))
    return path


@pytest.fixture
def managed(policy_file: Path, data_dir: Path, qtbot: Any) -> Iterator[Backend]:
    ws = Workspace.open(data_dir, auto_backup=False)
    backend = Backend(ws)
    yield backend
    backend.shutdown()
    ws.close()


def _dialog(qtbot: Any, backend: Backend) -> SettingsDialog:
    dialog = SettingsDialog(backend)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_locked_settings_are_disabled_with_a_lock_and_who_set_them(
    qtbot: Any, managed: Backend, policy_file: Path
) -> None:
    dialog = _dialog(qtbot, managed)
    assert dialog.reminder.value() == 45
    assert not dialog.reminder.isEnabled()
    assert not dialog.theme.isEnabled()
    assert dialog.theme.currentData() == "light"
    tip = dialog.reminder.toolTip()
    assert tip.startswith(f"Set by your IT department (policy file {policy_file})")
    assert "IT Service Desk (help@example.com)" in tip
    mark = dialog.lock_marks["reminder_minutes_before"]
    assert mark.isVisibleTo(dialog) and not mark.pixmap().isNull()
    assert mark.toolTip() == tip
    # Settings the policy leaves alone stay the user's.
    assert dialog.quiet.isEnabled() and dialog.user.isEnabled()
    assert not dialog.lock_marks["quiet_after_days"].isVisibleTo(dialog)
    assert dialog.encrypt.isEnabled()


def test_saving_keeps_the_policys_values_out_of_the_users_file(
    qtbot: Any, managed: Backend, data_dir: Path
) -> None:
    dialog = _dialog(qtbot, managed)
    dialog.quiet.setValue(44)
    dialog.save()
    qtbot.waitUntil(lambda: managed.pending == 0, timeout=10_000)
    stored = load_settings(data_dir / "config" / "settings.toml")
    assert stored.quiet_after_days == 44
    assert stored.reminder_minutes_before == 15  # the user's own, not the policy's 45
    assert stored.theme == "system"
    assert managed.ws.settings.reminder_minutes_before == 45


def test_the_encryption_choice_is_saved_and_offers_a_restart(
    qtbot: Any, managed: Backend, data_dir: Path
) -> None:
    dialog = _dialog(qtbot, managed)
    asked: list[bool] = []
    dialog.confirm_encryption_restart = lambda encrypt: asked.append(encrypt) or False  # type: ignore[method-assign]
    dialog.encrypt.setChecked(True)
    dialog.save()
    qtbot.waitUntil(lambda: managed.pending == 0, timeout=10_000)
    assert asked == [True]
    assert load_settings(data_dir / "config" / "settings.toml").encrypt_database is True


def test_encryption_required_by_policy_is_checked_and_locked(
    qtbot: Any, policy_file: Path, data_dir: Path
) -> None:
    policy_file.write_text(POLICY.format(encrypt="true"), encoding="utf-8")
    ws = Workspace.open(data_dir, auto_backup=False)
    backend = Backend(ws)
    try:
        assert ws.db.key is not None  # encrypted on opening
        dialog = _dialog(qtbot, backend)
        assert dialog.encrypt.isChecked()
        assert not dialog.encrypt.isEnabled()
        assert dialog.lock_marks["encrypt_database"].isVisibleTo(dialog)
    finally:
        backend.shutdown()
        ws.close()


def test_about_shows_the_support_contact(qtbot: Any, managed: Backend) -> None:
    about = AboutDialog(managed)
    qtbot.addWidget(about)
    about.show()
    qtbot.waitUntil(lambda: managed.pending == 0, timeout=10_000)
    support = about.values["Support"].text()
    assert "IT Service Desk" in support
    assert "help@example.com" in support and "+49 30 1234 567" in support
    assert "IT Service Desk" in about.details()


def test_the_dialog_says_who_set_the_locked_settings(
    qtbot: Any, managed: Backend, policy_file: Path
) -> None:
    dialog = _dialog(qtbot, managed)
    note = dialog.policy_note.text()
    assert dialog.policy_note.isVisibleTo(dialog)
    assert f"set by your IT department (policy file {policy_file})" in note
    assert "ask IT Service Desk (help@example.com)" in note


def test_export_choices_are_only_the_formats_the_policy_allows(
    qtbot: Any, policy_file: Path, data_dir: Path
) -> None:
    from touchpoint.ui.export_dialog import ExportDialog
    from touchpoint.ui.reports_view import ReportsView

    policy_file.write_text('[export]\nformats = ["csv", "pdf"]\n', encoding="utf-8")
    ws = Workspace.open(data_dir, auto_backup=False)
    backend = Backend(ws)
    try:
        dialog = ExportDialog(backend)
        qtbot.addWidget(dialog)
        assert set(dialog.choices) == {"contacts_csv", "customers_csv"}
        assert dialog.choices["contacts_csv"].isChecked()
        view = ReportsView(backend)
        qtbot.addWidget(view)
        assert set(view.buttons) == {"pdf", "activity-csv"}
        policy_file.write_text("[export]\nformats = []\n", encoding="utf-8")
        ws.policy = current_policy()
        empty = ExportDialog(backend)
        qtbot.addWidget(empty)
        assert empty.choices == {} and not empty.export_button.isEnabled()
    finally:
        qtbot.waitUntil(lambda: backend.pending == 0, timeout=10_000)
        backend.shutdown()
        ws.close()


def test_sign_in_offers_only_the_policys_hub_when_it_is_locked(
    qtbot: Any, policy_file: Path
) -> None:
    from touchpoint.errors import ValidationError
    from touchpoint.ui.sign_in_dialog import SignInDialog, _problem

    policy_file.write_text(
        '[hub]\nserver = "https://hub.example.com"\nlocked = true\n', encoding="utf-8"
    )
    # The dialog shows the policy the window's start-up context resolved.
    controller = SimpleNamespace(policy=current_policy())
    dialog = SignInDialog(controller, server="https://other.example.com")  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    assert dialog.server.text() == "https://hub.example.com"
    assert dialog.server.isReadOnly()
    assert str(policy_file) in dialog.server.toolTip()
    field, words = _problem(ValidationError("server", "the policy allows only the Hub X"))
    assert field == "server" and "allows only the Hub X" in words
    policy_file.write_text('[hub]\nserver = "https://hub.example.com"\n', encoding="utf-8")
    free = SignInDialog(SimpleNamespace(policy=current_policy()))  # type: ignore[arg-type]
    qtbot.addWidget(free)
    assert free.server.text() == "https://hub.example.com" and not free.server.isReadOnly()


def test_the_window_syncs_at_the_policys_interval(
    qtbot: Any, policy_file: Path, data_dir: Path
) -> None:
    from touchpoint.ui.sync_controller import SyncController

    policy_file.write_text("[settings]\nsync_interval_minutes = 12\n", encoding="utf-8")
    ws = Workspace.open(data_dir, auto_backup=False)
    backend = Backend(ws)
    try:
        assert ws.settings.sync_interval_minutes == 12
        controller = SyncController(backend)
        controller._start_periodic()
        assert controller._periodic.interval() == 12 * 60_000
        controller.stop()
    finally:
        backend.shutdown()
        ws.close()


def test_every_setting_the_policy_sets_is_shown_locked(
    qtbot: Any, policy_file: Path, data_dir: Path
) -> None:
    """Settings without a field of their own (the sync interval, the Hub, the export
    formats, the working days) are listed, locked, with their values in words."""
    policy_file.write_text(
        POLICY.format(encrypt="false")
        + "sync_interval_minutes = 30\n"
        + '\n[hub]\nserver = "https://hub.example.com"\n'
        + '\n[export]\nformats = ["csv", "pdf"]\n'
        + '\n[reports]\nwork_days = ["sun", "mon", "tue", "wed", "thu"]\n',
        encoding="utf-8",
    )
    ws = Workspace.open(data_dir, auto_backup=False)
    managed = Backend(ws)
    dialog = _dialog(qtbot, managed)
    rows = {key: label.text() for key, label in dialog.locked_rows.items()}
    assert rows["sync_interval_minutes"] == "every 30 minutes"
    assert rows["hub.server"] == "https://hub.example.com"
    assert rows["export.formats"] == "csv, pdf"
    assert rows["reports.work_days"].startswith("mon")
    # A setting with a field of its own is locked there, not listed twice.
    assert "reminder_minutes_before" not in rows
    assert all(label.isVisibleTo(dialog) for label in dialog.locked_rows.values())
    assert dialog.locked_rows["sync_interval_minutes"].accessibleName() == ("Sync interval, locked")
    dialog.close()
    managed.shutdown()
    ws.close()
