"""Export contacts (vCard or CSV), customers (CSV) or follow-ups (iCalendar) with progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.errors import Cancelled
from touchpoint.policy import allowed_export_formats
from touchpoint.services import exporting
from touchpoint.services.exporting import ExportReport
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend, Progress
from touchpoint.ui.errors import human_message
from touchpoint.ui.theme import MUTED, OK, WARN

Exporter = Callable[[Workspace, Path, Progress, bool], ExportReport]  # bool: CSV byte-order mark


def _contacts(kind: str) -> Exporter:
    return lambda ws, out, p, bom: exporting.export_contacts(
        ws, out, format=kind, bom=bom, progress=p.report, cancel=p.cancelled
    )


# key -> (label, file name, file filter, exporter)
FORMATS: dict[str, tuple[str, str, str, Exporter]] = {
    "contacts_vcf": (
        "&Contacts as vCard (phones, mail apps)",
        "touchpoint-contacts.vcf",
        "vCard (*.vcf)",
        _contacts("vcf"),
    ),
    "contacts_csv": (
        "Contacts as CS&V (spreadsheets)",
        "touchpoint-contacts.csv",
        "CSV (*.csv)",
        _contacts("csv"),
    ),
    "customers_csv": (
        "C&ustomers as CSV",
        "touchpoint-customers.csv",
        "CSV (*.csv)",
        lambda ws, out, p, bom: exporting.export_customers_csv(
            ws, out, bom=bom, progress=p.report, cancel=p.cancelled
        ),
    ),
    "followups_ics": (
        "&Follow-ups as iCalendar to-dos (calendar apps)",
        "touchpoint-followups.ics",
        "iCalendar (*.ics)",
        lambda ws, out, p, _bom: exporting.export_followups_ics(
            ws, out, progress=p.report, cancel=p.cancelled
        ),
    ),
}


class ExportDialog(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.ws = backend.ws
        self.setWindowTitle("Export")
        self.setAccessibleName("Export")
        self.setMinimumWidth(600)
        self.report: ExportReport | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>What to export</b>"))
        self.group = QButtonGroup(self)
        self.choices: dict[str, QRadioButton] = {}
        # Only the formats the machine policy allows are offered.
        allowed = set(
            allowed_export_formats([k.rsplit("_", 1)[1] for k in FORMATS], self.ws.policy)
        )
        for key, (label, *_rest) in FORMATS.items():
            if key.rsplit("_", 1)[1] not in allowed:
                continue
            button = QRadioButton(label)
            button.setAccessibleName(label.replace("&", ""))
            self.group.addButton(button)
            self.choices[key] = button
            button.toggled.connect(lambda on, key=key: on and self._chosen(key))
            layout.addWidget(button)
        form = QFormLayout()
        file_row = QHBoxLayout()
        self.file_edit = QLineEdit()
        self.file_edit.setAccessibleName("Export to file")
        choose = QPushButton("C&hoose…")
        choose.clicked.connect(self.choose_file)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(choose)
        caption = QLabel("&To file")
        caption.setBuddy(self.file_edit)
        form.addRow(caption, file_row)
        self.bom = QCheckBox("Add a byte-order mark to CSV (for Excel)")
        form.addRow("", self.bom)
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Export result")
        layout.addWidget(self.message)
        layout.addStretch(1)
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton("&Export", QDialogButtonBox.ButtonRole.AcceptRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.export)
        close.clicked.connect(self.reject)
        layout.addWidget(buttons)
        if self.choices:
            next(iter(self.choices.values())).setChecked(True)
        else:
            layout.insertWidget(
                1, QLabel("Your IT department's policy allows none of these exports.")
            )
            self.export_button.setEnabled(False)

    def key(self) -> str:
        return next(k for k, b in self.choices.items() if b.isChecked())

    def _chosen(self, key: str) -> None:
        _label, name, _filter, _fn = FORMATS[key]
        current = Path(self.file_edit.text()) if self.file_edit.text() else None
        folder = current.parent if current else Path.home()
        self.file_edit.setText(str(folder / name))
        self.bom.setEnabled(key.endswith("_csv"))

    def choose_file(self) -> None:
        _label, _name, file_filter, _fn = FORMATS[self.key()]
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.file_edit.text(), f"{file_filter};;All files (*)"
        )
        if path:
            self.file_edit.setText(path)

    def export(self) -> None:
        text = self.file_edit.text().strip()
        if not text:
            self._say("Choose a file to export to.", error=True)
            return
        out = Path(text).expanduser()
        if not out.parent.is_dir():
            self._say(f"The folder {out.parent} does not exist.", error=True)
            return
        key = self.key()
        fn = FORMATS[key][3]
        bom = self.bom.isChecked() and key.endswith("_csv")

        def work(ws: Workspace, progress: Progress) -> ExportReport:
            return fn(ws, out, progress, bom)

        self.export_button.setEnabled(False)
        self._say("Exporting…")
        self.backend.query(work).with_progress("Exporting…", self).success(self._done).failure(
            self._failed
        ).run()

    def _done(self, report: ExportReport) -> None:
        self.report = report
        self.export_button.setEnabled(True)
        self.message.setStyleSheet(f"color: {OK};")
        self.message.setText(f"Exported {report.count:,} to {report.path}")

    def _failed(self, exc: Exception) -> None:
        self.export_button.setEnabled(True)
        if isinstance(exc, Cancelled):
            self._say("Cancelled. No file was written.")
            return
        self._say(human_message(exc), error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {WARN};" if error else f"color: {MUTED};")


__all__ = ["ExportDialog"]
