"""About Touchpoint: who to call for help, version, schema, device id and where every file
lives, and the machine policy in force."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.policy import LoadedPolicy
from touchpoint.services import maintenance
from touchpoint.services.maintenance import StatusReport
from touchpoint.ui.backend import Backend
from touchpoint.ui.errors import human_message
from touchpoint.ui.theme import MUTED, WARN, app_icon

ENTITY_NAMES = {"followup": "follow-ups", "custom_field": "custom fields"}


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def status_lines(report: StatusReport) -> list[tuple[str, str]]:
    counts = ", ".join(
        f"{n:,} {ENTITY_NAMES.get(entity, entity.replace('_', ' ') + 's')}"
        for entity, n in report.counts.items()
        if n
    )
    return [
        ("Version", report.version),
        ("Schema version", report.schema_version),
        ("Device id", report.device_id),
        ("User", report.user),
        ("Time zone", report.timezone),
        ("Data folder", report.data_dir),
        ("Database", f"{report.database} ({_size(report.database_bytes)})"),
        ("Settings folder", report.config_dir),
        ("Log folder", report.log_dir),
        ("Backups", report.backup_dir),
        ("Last backup", report.last_backup or "none yet"),
        ("Records", counts or "none yet"),
        ("Changes not yet synced", f"{report.unsynced_changes:,}"),
    ]


def policy_lines(policy: LoadedPolicy) -> list[tuple[str, str]]:
    """The support contact the IT department set, and the policy file's state."""
    lines: list[tuple[str, str]] = []
    if policy.checked is not None:
        contact = policy.checked.support.lines()
        if contact:
            lines.append(("Support", " · ".join(contact)))
        lines.append(("Policy", f"{policy.path} (set by your IT department)"))
    elif policy.status == "invalid":
        lines.append(("Policy", f"{policy.path} is invalid and ignored: {policy.problem}"))
    return lines


class AboutDialog(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("About Touchpoint")
        self.setAccessibleName("About Touchpoint")
        self.setMinimumWidth(760)
        layout = QVBoxLayout(self)
        head = QLabel()
        head.setPixmap(app_icon().pixmap(48, 48))
        title = QLabel(
            "<b style='font-size:15pt'>Touchpoint</b><br>"
            "Know your customers, listen to them, do what you said."
        )
        top = QFormLayout()
        top.addRow(head, title)
        layout.addLayout(top)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        layout.addLayout(self.form)
        self.message = QLabel("Reading…")
        self.message.setStyleSheet(f"color: {MUTED};")
        layout.addWidget(self.message)
        self.values: dict[str, QLabel] = {}
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._lines: list[tuple[str, str]] = []
        backend.query(maintenance.status).success(self._fill).failure(self._failed).run()

    def _fill(self, report: StatusReport) -> None:
        self._lines = policy_lines(self.backend.ws.policy) + status_lines(report)
        for name, value in self._lines:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(name)
            label.setWordWrap(True)
            self.form.addRow(f"{name}:", label)
            self.values[name] = label
        self.message.hide()
        self.copy_button.setEnabled(True)
        # Rows that wrap (a long data folder) get the height they need: a form layout
        # gives a wrapped label one line until the window is laid out again at its width.
        QTimer.singleShot(0, self._fit_height)

    def _fit_height(self) -> None:
        layout = self.layout()
        need = layout.totalHeightForWidth(self.width())
        if need > self.height():
            self.resize(self.width(), need)

    def _failed(self, exc: Exception) -> None:
        self.message.setStyleSheet(f"color: {WARN};")
        self.message.setText(human_message(exc))

    def details(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self._lines)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
