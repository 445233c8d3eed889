"""Import customers and contacts from CSV (with column mapping) or vCard.

Pick a file; for a CSV see its detected encoding and delimiter and map each column to
a field; check it (a dry run lists every row's problems and likely duplicates); then
import with a progress bar that can be cancelled (nothing is written when cancelled).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from touchpoint.errors import Cancelled
from touchpoint.services import importing
from touchpoint.services.importing import CsvPreview, ImportReport
from touchpoint.storage.workspace import Saved, Workspace
from touchpoint.ui.backend import Backend, Progress
from touchpoint.ui.errors import human_message
from touchpoint.ui.theme import MUTED, OK, WARN

log = logging.getLogger(__name__)

VCARD_SUFFIXES = (".vcf", ".vcard")
IGNORE = "(ignore)"
TO_NOTES = "(notes, as 'Column: value')"
TO_NOTES_DATA = "+notes"


def field_label(field: str) -> str:
    return field.replace("_", " ")


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


class ImportDialog(QDialog):
    imported = Signal(object)  # the ImportReport once written

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("Import customers and contacts")
        self.setAccessibleName("Import")
        self.resize(880, 620)
        self.path: Path | None = None
        self.preview: CsvPreview | None = None
        self._details = ""  # what the file is, shown again once a check or import ends
        self.report: ImportReport | None = None
        self.combos: dict[str, QComboBox] = {}

        layout = QVBoxLayout(self)
        file_row = QHBoxLayout()
        caption = QLabel("&File")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText(
            "A .csv export of a spreadsheet or CRM, an Excel .xlsx, or a .vcf"
        )
        self.file_edit.setAccessibleName("File to import")
        self.file_edit.returnPressed.connect(lambda: self.set_file(Path(self.file_edit.text())))
        caption.setBuddy(self.file_edit)
        choose = QPushButton("&Choose…")
        choose.clicked.connect(self.choose_file)
        file_row.addWidget(caption)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(choose)
        layout.addLayout(file_row)
        self.info = QLabel("Choose a file to see what would be imported.")
        self.info.setAccessibleName("File details")
        self.info.setWordWrap(True)
        self.info.setStyleSheet(f"color: {MUTED};")
        layout.addWidget(self.info)

        splitter = QSplitter(Qt.Orientation.Vertical)
        mapping_box = QWidget()
        mapping_layout = QVBoxLayout(mapping_box)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.addWidget(QLabel("<b>Columns</b> — which field each column fills"))
        self.mapping = QTableWidget(0, 3)
        self.mapping.setTabKeyNavigation(False)  # Tab leaves the table
        self.mapping.setAccessibleName("Column mapping")
        self.mapping.setHorizontalHeaderLabels(("Column", "First values", "Field"))
        self.mapping.verticalHeader().hide()
        self.mapping.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.mapping.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.mapping.setColumnWidth(0, 200)
        self.mapping.setColumnWidth(2, 200)
        mapping_layout.addWidget(self.mapping)
        splitter.addWidget(mapping_box)

        result_box = QWidget()
        result_layout = QVBoxLayout(result_box)
        result_layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setAccessibleName("Check result")
        self.summary.setWordWrap(True)
        result_layout.addWidget(self.summary)
        self.problems = QTableWidget(0, 3)
        self.problems.setTabKeyNavigation(False)  # Tab leaves the table
        self.problems.setAccessibleName("Row problems, values kept otherwise, likely duplicates")
        self.problems.setHorizontalHeaderLabels(("Row", "Field", "Problem"))
        self.problems.verticalHeader().hide()
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems.setColumnWidth(0, 60)
        self.problems.setColumnWidth(1, 160)
        result_layout.addWidget(self.problems)
        splitter.addWidget(result_box)
        splitter.setSizes([330, 200])
        layout.addWidget(splitter, 1)

        buttons = QDialogButtonBox()
        self.check_button = buttons.addButton(
            "Chec&k (dry run)", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.import_button = buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.check_button.clicked.connect(lambda: self.run(dry_run=True))
        self.import_button.clicked.connect(lambda: self.run(dry_run=False))
        close.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self._set_ready(False)
        self.file_edit.setFocus()

    # --- the file -------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import from",
            str(Path.home()),
            "CSV, Excel and vCard files (*.csv *.txt *.tsv *.xlsx *.vcf *.vcard);;All files (*)",
        )
        if path:
            self.set_file(Path(path))

    @property
    def is_vcard(self) -> bool:
        return self.path is not None and self.path.suffix.lower() in VCARD_SUFFIXES

    def set_file(self, path: Path) -> None:
        self.path = path
        self.preview = None
        self.report = None
        self.file_edit.setText(str(path))
        self.mapping.setRowCount(0)
        self._show_report(None)
        self._set_ready(False)
        if not path.is_file():
            self._say(f"{path} is not a file.", error=True)
            return
        if self.is_vcard:
            self.mapping.parentWidget().hide()
            self._details = f"vCard file · {path.stat().st_size:,} bytes. Check it, then import."
            self._say(self._details)
            self._set_ready(True)
            return
        self.mapping.parentWidget().show()
        self._say("Reading…")
        self.backend.query(lambda _ws: importing.preview_csv(path, rows=5)).success(
            self._previewed
        ).failure(lambda exc: self._say(human_message(exc), error=True)).run()

    def _previewed(self, preview: CsvPreview) -> None:
        self.preview = preview
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(
            preview.delimiter, repr(preview.delimiter)
        )
        source = (
            "Excel workbook, first sheet"
            if preview.encoding == "xlsx"
            else f"Encoding {preview.encoding} · delimiter: {delimiter}"
        )
        self._details = f"{source} · {preview.total_rows:,} rows below the header"
        self._say(self._details)
        self.mapping.setRowCount(len(preview.headers))
        self.combos.clear()
        for n, header in enumerate(preview.headers):
            self.mapping.setItem(n, 0, QTableWidgetItem(header))
            samples = [row[n] for row in preview.rows if n < len(row) and row[n].strip()]
            self.mapping.setItem(n, 1, QTableWidgetItem(" · ".join(samples[:3])))
            combo = QComboBox()
            combo.setAccessibleName(f"Field for column {header}")
            target = preview.mapping.get(header)
            if not target:  # a column that is no field: to the notes, as the import does
                combo.addItem(TO_NOTES, TO_NOTES_DATA)
            combo.addItem(IGNORE, "")
            for field in importing.FIELDS:
                combo.addItem(field_label(field), field)
            if target and target.startswith("custom."):
                combo.addItem(f"custom: {target.removeprefix('custom.')}", target)
            # A column that is no field goes to the notes unless the user ignores it.
            combo.setCurrentIndex(max(0, combo.findData(target or TO_NOTES_DATA)))
            combo.currentIndexChanged.connect(self._mapping_changed)
            self.mapping.setCellWidget(n, 2, combo)
            self.combos[header] = combo
        self._set_ready(True)

    def mapping_choice(self) -> dict[str, str]:
        """header -> field ('' ignores the column), as chosen in the table; a column
        left to the notes is not in it (the import keeps it as "Column: value")."""
        return {
            header: str(combo.currentData() or "")
            for header, combo in self.combos.items()
            if combo.currentData() != TO_NOTES_DATA
        }

    def _mapping_changed(self) -> None:
        self.report = None
        self._show_report(None)

    # --- checking and importing ---------------------------------------------------------
    def run(self, *, dry_run: bool) -> None:
        path = self.path
        if path is None:
            return
        vcard = self.is_vcard
        mapping = None if vcard else self.mapping_choice()

        def work(ws: Workspace, progress: Progress) -> ImportReport:
            if vcard:
                return importing.import_vcard(
                    ws, path, dry_run=dry_run, progress=progress.report, cancel=progress.cancelled
                )
            return importing.import_customers_csv(
                ws,
                path,
                dry_run=dry_run,
                mapping=mapping,
                progress=progress.report,
                cancel=progress.cancelled,
            )

        self._set_ready(False)
        label = "Checking…" if dry_run else "Importing…"
        self._say(label)
        if dry_run:
            op: Any = self.backend.query(work)
        else:

            def write(ws: Workspace, progress: Progress) -> Saved[ImportReport]:
                report = work(ws, progress)
                return Saved(report, report.changes)

            op = self.backend.write(write, initiator=self)
        op.with_progress(label, self).success(self._done).failure(self._failed).run()
        self._op = op

    def _done(self, report: ImportReport) -> None:
        self.report = report
        self._set_ready(True)
        self._say(self._details)
        self._show_report(report)
        if report.written:
            self.imported.emit(report)

    def _failed(self, exc: Exception) -> None:
        self._set_ready(True)
        if isinstance(exc, Cancelled):
            self._say("Cancelled. Nothing was written.")
            return
        self._say(human_message(exc), error=True)

    def _show_report(self, report: ImportReport | None) -> None:
        self.problems.setRowCount(0)
        if report is None:
            self.summary.setText("")
            return
        what = f"{report.created_customers:,} customers and {report.created_contacts:,} contacts"
        errors = len(report.errors)
        if report.written:
            text = f"Imported {what} from {report.rows:,} rows."
            color = OK
        else:
            text = f"{report.rows:,} rows: {what} would be created."
            color = OK if not errors else WARN
        if report.updated:
            verb = "updated" if report.written else "would be updated"
            text += f" {report.updated:,} existing {_plural(report.updated, 'record')} {verb}."
        if report.unchanged:
            row = _plural(report.unchanged, "row")
            text += f" {report.unchanged:,} {row} match what is here and change nothing."
        if report.joined:
            row = _plural(report.joined, "row")
            text += f" {report.joined:,} {row} joined an earlier row of the same company."
        flagged = sum(1 for n in report.notices if n.kept == "unverified")
        if flagged:
            values = "1 value was" if flagged == 1 else f"{flagged:,} values were"
            text += f" {values} kept as written and marked unverified: fix them in the profile."
        if errors:
            rows = "1 row has" if errors == 1 else f"{errors:,} rows have"
            text += f" {rows} problems and {'were' if report.written else 'would be'} skipped."
        if report.duplicates:
            count = len(report.duplicates)
            text += f" {count:,} look{'s' if count == 1 else ''} like records that exist already."
        self.summary.setText(text)
        self.summary.setStyleSheet(f"color: {color};")

        def who(row: int, name: str | None) -> str:
            return f"{row} ({name})" if name else str(row)

        lines = [(who(e.row, e.name), e.field, e.problem) for e in report.errors]
        lines += [
            (who(n.row, n.name), n.field, f"{n.problem} ({KEPT.get(n.kept, n.kept)})")
            for n in report.notices
        ]
        lines += [
            (
                str(d.row),
                "likely duplicate",
                f"{d.name} looks like {d.existing_name} ({', '.join(d.reasons)})"
                + ("" if d.existing_id else " earlier in this file"),
            )
            for d in report.duplicates
        ]
        self.problems.setRowCount(len(lines))
        for n, cells in enumerate(lines):
            for column, value in enumerate(cells):
                self.problems.setItem(n, column, QTableWidgetItem(value))

    # --- small helpers ----------------------------------------------------------------
    def _say(self, text: str, *, error: bool = False) -> None:
        self.info.setText(text)
        self.info.setStyleSheet(f"color: {WARN};" if error else f"color: {MUTED};")

    def _set_ready(self, ready: bool) -> None:
        self.check_button.setEnabled(ready)
        self.import_button.setEnabled(ready)


# Where an import kept a value it could not take as it was.
KEPT = {
    "unverified": "kept as written, marked unverified",
    "notes": "kept in the notes",
    "not kept": "not kept",
}

__all__ = ["ImportDialog"]
