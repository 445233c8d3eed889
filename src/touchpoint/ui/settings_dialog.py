"""Settings: reminders, going quiet, time zone, region, who I am, theme; data folder, backup,
restore, encryption. Saved through the database thread; each problem is shown beside its
field. A setting the machine policy sets is shown disabled, with a lock and who set it."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from PySide6.QtCore import QProcess, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from touchpoint.domain import values
from touchpoint.errors import ValidationError, ValidationErrors
from touchpoint.services import maintenance
from touchpoint.settings import Settings
from touchpoint.storage.workspace import Changes, Saved, Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import human_message
from touchpoint.ui.theme import MUTED, THEMES, WARN, apply_theme, icon

log = logging.getLogger(__name__)


def clean_settings(current: Settings, typed: dict[str, Any]) -> Settings:
    """The settings as typed, checked; raises ValidationErrors naming each bad field."""
    errors: list[ValidationError] = []
    out: dict[str, Any] = {}
    user = str(typed.get("user") or "").strip()
    if user:
        try:
            out["user"] = values.email("email", user)
        except ValidationError as exc:
            errors.append(exc)
    else:
        out["user"] = ""
    name = str(typed.get("display_name") or "").strip()
    if len(name) > 120:
        errors.append(ValidationError("display name", "is longer than 120 characters"))
    out["display_name"] = name
    zone = str(typed.get("timezone") or "").strip()
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                ValidationError("time zone", f"'{zone}' is not a time zone like Europe/Berlin")
            )
    out["timezone"] = zone
    region = str(typed.get("default_region") or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(
            ValidationError("default region", f"'{region}' is not a country code like DE or US")
        )
    out["default_region"] = region
    for key, field, low, high in (
        ("reminder_minutes_before", "reminder", 0, 7 * 24 * 60),
        ("quiet_after_days", "quiet after", 1, 3650),
    ):
        number = int(typed.get(key, getattr(current, key)))
        if not low <= number <= high:
            errors.append(ValidationError(field, f"must be between {low} and {high}"))
        out[key] = number
    theme = str(typed.get("theme") or "system")
    out["theme"] = theme if theme in THEMES else "system"
    out["encrypt_database"] = bool(typed.get("encrypt_database", current.encrypt_database))
    if errors:
        raise ValidationErrors(errors)
    return replace(current, **out)


def _error_label(name: str) -> QLabel:
    label = QLabel()
    label.setStyleSheet(f"color: {WARN};")
    label.setWordWrap(True)
    label.setAccessibleName(f"{name} problem")
    label.hide()
    return label


POLICY_LABELS = {
    "sync_interval_minutes": "Sync interval",
    "log_level": "Log level",
    "currency": "Default currency",
    "hub.server": "Hub address",
    "hub.locked": "Other Hubs",
    "hub.ca_bundle": "Hub certificates",
    "hub.proxy": "Proxy",
    "hub.allow_http": "Plain http",
    "export.formats": "Export formats",
    "reports.work_days": "Working days",
    "database.require_encryption": "Database encryption",
}


def policy_label(key: str) -> str:
    return POLICY_LABELS.get(key, key.replace(".", " ").replace("_", " ").capitalize())


def policy_value(key: str, value: Any) -> str:
    """A policy's value as a person reads it ("every 30 minutes", "csv, pdf")."""
    if key == "sync_interval_minutes":
        return f"every {value} minute{'s' if value != 1 else ''}"
    if key == "reports.work_days":
        from touchpoint.domain.metrics import work_days_text

        return work_days_text(frozenset(value))
    if key == "hub.locked":
        return "refused (only this company's Hub)" if value else "allowed"
    if key == "database.require_encryption":
        return "required" if value else "not required"
    if isinstance(value, bool):
        return "allowed" if value else "refused"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "none"
    return "" if value is None else str(value)


class SettingsDialog(QDialog):
    saved = Signal(object)  # the new Settings

    FIELD_KEYS = {
        "email": "user",
        "display name": "display_name",
        "time zone": "timezone",
        "default region": "default_region",
        "reminder": "reminder_minutes_before",
        "quiet after": "quiet_after_days",
    }

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self._initial = self.ws.settings
        self._locked = frozenset(self.ws.policy.forced_settings())
        self.lock_marks: dict[str, QLabel] = {}
        self._widgets: dict[str, QWidget] = {}
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(560)
        outer = QVBoxLayout(self)
        self.errors: dict[str, QLabel] = {}
        s = self._initial
        self.policy_note = QLabel()
        self.policy_note.setWordWrap(True)
        self.policy_note.setStyleSheet(f"color: {MUTED};")
        self.policy_note.setAccessibleName("Policy note")
        self.policy_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if self._locked:
            who = self.ws.policy.who
            self.policy_note.setText(
                "Settings with a lock are set by your IT department "
                f"(policy file {self.ws.policy.path})"
                + (f"; to change them, ask {who}." if who != "your IT department" else ".")
            )
        else:
            self.policy_note.hide()
        outer.addWidget(self.policy_note)

        you = QGroupBox("You")
        you_form = self._form(you)
        self.user = QLineEdit(s.user)
        self.user.setPlaceholderText("maria@example.com")
        self._row(you_form, "&Email", self.user, "user", "Your email")
        self.display_name = QLineEdit(s.display_name)
        self._row(you_form, "Display &name", self.display_name, "display_name", "Display name")
        outer.addWidget(you)

        work = QGroupBox("Reminders and customers")
        work_form = self._form(work)
        self.reminder = QSpinBox()
        self.reminder.setRange(0, 7 * 24 * 60)
        self.reminder.setSuffix(" min before due")
        self.reminder.setValue(s.reminder_minutes_before)
        self._row(
            work_form, "&Remind me", self.reminder, "reminder_minutes_before", "Reminder minutes"
        )
        self.quiet = QSpinBox()
        self.quiet.setRange(1, 3650)
        self.quiet.setSuffix(" days without a touch")
        self.quiet.setValue(s.quiet_after_days)
        self._row(work_form, "&Going quiet after", self.quiet, "quiet_after_days", "Quiet after")
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.addItem("")
        self.timezone.addItems(sorted(available_timezones()))
        self.timezone.setCurrentText(s.timezone)
        self.timezone.lineEdit().setPlaceholderText(f"the system's ({self.ws.tz})")
        self._row(work_form, "&Time zone", self.timezone, "timezone", "Time zone")
        self.region = QLineEdit(s.default_region)
        self.region.setMaxLength(2)
        self.region.setMaximumWidth(60)
        self.region.setToolTip("For phone numbers typed without a country code")
        self._row(work_form, "Phone &region", self.region, "default_region", "Default region")
        outer.addWidget(work)

        look = QGroupBox("Look")
        look_form = self._form(look)
        self.theme = QComboBox()
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.theme.currentIndexChanged.connect(self._theme_changed)
        self._row(look_form, "T&heme", self.theme, "theme", "Theme")
        outer.addWidget(look)

        data = QGroupBox("Your data")
        data_form = self._form(data)
        folder_row = QHBoxLayout()
        self.folder = QLineEdit(str(self.ws.paths.data_dir))
        self.folder.setReadOnly(True)
        self.folder.setAccessibleName("Data folder")
        open_folder = QPushButton("&Open folder")
        open_folder.clicked.connect(self.open_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(open_folder)
        box = QWidget()
        box.setLayout(folder_row)
        folder_row.setContentsMargins(0, 0, 0, 0)
        data_form.addRow("Data folder", box)
        buttons_row = QHBoxLayout()
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.clicked.connect(self.backup_now)
        self.restore_button = QPushButton("Restore from a bac&kup…")
        self.restore_button.clicked.connect(self.choose_backup)
        buttons_row.addWidget(self.backup_button)
        buttons_row.addWidget(self.restore_button)
        buttons_row.addStretch(1)
        data_form.addRow("", buttons_row)
        self.encrypt = QCheckBox("&Encrypt my database on this computer")
        self.encrypt.setChecked(s.encrypt_database)
        self.encrypt.setToolTip(
            "SQLCipher encryption at rest; the key stays in this computer's keyring. "
            "Takes effect when Touchpoint restarts, after a backup."
        )
        if not maintenance.can_encrypt() and not s.encrypt_database:
            self.encrypt.setEnabled(False)
            self.encrypt.setToolTip("This computer cannot encrypt: SQLCipher is not installed.")
        self._row(data_form, "Encryption", self.encrypt, "encrypt_database", "Encrypt my database")
        self.data_message = QLabel()
        self.data_message.setWordWrap(True)
        self.data_message.setAccessibleName("Backup message")
        self.data_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        data_form.addRow("", self.data_message)
        outer.addWidget(data)
        self.locked_rows: dict[str, QLabel] = {}
        locked = self._locked_elsewhere()
        if locked:
            # Every other setting the policy sets, visible and locked (the sync interval,
            # the Hub, the export formats...): nothing the policy decides is hidden.
            by_policy = QGroupBox("Set by your IT department")
            by_policy.setAccessibleName("Settings set by your IT department")
            policy_form = self._form(by_policy)
            words = f"Set by your IT department (policy file {self.ws.policy.path})"
            for key, value in locked:
                line = QHBoxLayout()
                mark = QLabel()
                mark.setPixmap(icon("lock").pixmap(16, 16))
                mark.setToolTip(words)
                shown = QLabel(value)
                shown.setWordWrap(True)
                shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                shown.setAccessibleName(f"{policy_label(key)}, locked")
                shown.setToolTip(words)
                line.addWidget(shown, 1)
                line.addWidget(mark)
                policy_form.addRow(f"{policy_label(key)}:", line)
                self.locked_rows[key] = shown
            outer.addWidget(by_policy)

        self.general_error = _error_label("Settings")
        outer.addWidget(self.general_error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        for key in self._locked:
            self._lock(key)
        self.user.setFocus()

    def _locked_elsewhere(self) -> list[tuple[str, str]]:
        """(key, value as shown) of each setting the policy sets that has no field above."""
        from touchpoint.policy import effective_settings

        if self.ws.policy.status != "loaded":
            return []
        items = effective_settings(self.ws.paths.settings_file, self.ws.policy).items
        out = [
            (key, policy_value(key, item.value))
            for key, item in items.items()
            if item.locked and key not in self._widgets and not key.startswith("support.")
        ]
        checked = self.ws.policy.checked
        if checked is not None and checked.reports.work_days is not None:
            out.append(
                ("reports.work_days", policy_value("reports.work_days", checked.reports.work_days))
            )
        return out

    def _lock(self, key: str) -> None:
        """Disable a setting the policy sets, with a lock and who set it beside it."""
        widget = self._widgets.get(key)
        if widget is None:
            return
        words = f"Set by your IT department (policy file {self.ws.policy.path})"
        contact = self.ws.policy.who
        if contact != "your IT department":
            words += f"; ask {contact}"
        widget.setEnabled(False)
        widget.setToolTip(words)
        mark = self.lock_marks[key]
        mark.setPixmap(icon("lock").pixmap(16, 16))
        mark.setToolTip(words)
        mark.setAccessibleName(f"{widget.accessibleName()} locked")
        mark.show()

    def _form(self, group: QGroupBox) -> QFormLayout:
        form = QFormLayout(group)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        return form

    def _row(self, form: QFormLayout, label: str, widget: QWidget, key: str, name: str) -> None:
        widget.setAccessibleName(name)
        self._widgets[key] = widget
        column = QVBoxLayout()
        column.setSpacing(2)
        line = QHBoxLayout()
        line.setSpacing(6)
        line.addWidget(widget, 1)
        mark = QLabel()
        mark.setStyleSheet(f"color: {MUTED};")
        mark.hide()
        self.lock_marks[key] = mark
        line.addWidget(mark)
        column.addLayout(line)
        error = _error_label(name)
        column.addWidget(error)
        self.errors[key] = error
        caption = QLabel(label)
        caption.setBuddy(widget)
        form.addRow(caption, column)

    def typed(self) -> dict[str, Any]:
        return {
            "user": self.user.text(),
            "display_name": self.display_name.text(),
            "timezone": self.timezone.currentText(),
            "default_region": self.region.text(),
            "reminder_minutes_before": self.reminder.value(),
            "quiet_after_days": self.quiet.value(),
            "theme": self.theme.currentData(),
            "encrypt_database": self.encrypt.isChecked(),
        }

    # --- theme --------------------------------------------------------------------
    def _theme_changed(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, str(self.theme.currentData()))

    def reject(self) -> None:
        if self.theme.currentData() != self._initial.theme:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, self._initial.theme)
        super().reject()

    # --- saving -------------------------------------------------------------------
    def save(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.general_error.hide()
        typed = self.typed()

        def write(ws: Workspace) -> Saved[Settings]:
            new = clean_settings(ws.settings, typed)
            ws.update_settings(new)
            return Saved(new, Changes({"settings": frozenset({"settings"})}))

        self.backend.write(write, initiator=self).success(self._saved).failure(self._failed).run()

    def _saved(self, settings: Settings) -> None:
        encryption_changed = settings.encrypt_database != self._initial.encrypt_database
        self._initial = settings
        self.saved.emit(settings)
        if encryption_changed and self.confirm_encryption_restart(settings.encrypt_database):
            self.restart()
            return
        self.accept()

    def confirm_encryption_restart(self, encrypt: bool) -> bool:
        """Tests replace this."""
        words = "encrypted" if encrypt else "stored unencrypted"
        answer = QMessageBox.question(
            self,
            "Encryption",
            f"The database will be {words} when Touchpoint starts next (a backup is made "
            "first). Restart Touchpoint now?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, ValidationErrors):
            for error in exc.errors:
                key = self.FIELD_KEYS.get(error.field)
                label = self.errors.get(key or "", self.general_error)
                label.setText(error.problem if key else f"{error.field}: {error.problem}")
                label.show()
            return
        self.general_error.setText(human_message(exc))
        self.general_error.show()

    # --- data folder, backup, restore -----------------------------------------------
    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.ws.paths.data_dir)))

    def backup_now(self) -> None:
        self.backup_button.setEnabled(False)
        self.data_message.setText("Backing up…")

        def done(path: Path) -> None:
            self.backup_button.setEnabled(True)
            self.data_message.setStyleSheet("")
            self.data_message.setText(f"Backed up to {path}")

        def failed(exc: Exception) -> None:
            self.backup_button.setEnabled(True)
            self.data_message.setStyleSheet(f"color: {WARN};")
            self.data_message.setText(human_message(exc))

        self.backend.query(maintenance.backup).success(done).failure(failed).run()

    def choose_backup(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Restore from a backup",
            str(self.ws.paths.backup_dir),
            "Touchpoint databases (*.sqlite3);;All files (*)",
        )
        if path:
            self.restore_backup(Path(path))

    def confirm_restore(self, file: Path) -> bool:
        """Tests replace this."""
        answer = QMessageBox.warning(
            self,
            "Restore from a backup",
            f"Replace everything in Touchpoint with the backup\n{file.name}?\n\n"
            "What you have now is kept as a backup first, and changes not yet synced "
            "since that backup will be lost. Touchpoint restarts afterwards.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def restore_backup(self, file: Path) -> None:
        """Replace the database with ``file``, then restart.

        The restore needs the database closed: it runs on the database thread (so no
        other operation is using it), closes its connections, swaps the file, and the
        app restarts so every view and the schema check start from the restored file."""
        if not self.confirm_restore(file):
            return
        self.restore_button.setEnabled(False)
        self.data_message.setText("Restoring…")

        def restore(ws: Workspace) -> Path:
            ws.close()  # connections reopen on the next use; the app restarts before that
            return maintenance.restore(ws.paths.data_dir, file)

        def done(safety: Path) -> None:
            self.data_message.setStyleSheet("")
            self.data_message.setText(
                f"Restored. The previous database was kept as {safety.name}. Restarting…"
            )
            self.restart()

        def failed(exc: Exception) -> None:
            self.restore_button.setEnabled(True)
            self.data_message.setStyleSheet(f"color: {WARN};")
            self.data_message.setText(human_message(exc))

        self.backend.query(restore).success(done).failure(failed).run()

    def restart(self) -> None:
        """Start a fresh Touchpoint, then quit this one. Tests replace this."""
        if getattr(sys, "frozen", False):
            QProcess.startDetached(sys.executable, sys.argv[1:])
        else:
            QProcess.startDetached(sys.executable, sys.argv)
        window = self.parent()
        quit_app = getattr(window, "quit_app", None)
        self.accept()
        if callable(quit_app):
            quit_app()
        else:
            QApplication.quit()


__all__ = ["SettingsDialog", "clean_settings"]
