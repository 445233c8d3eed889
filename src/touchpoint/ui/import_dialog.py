"""Import customers and contacts from CSV or Excel (with column mapping) or vCard.

Pick a file; for a CSV or workbook see its detected encoding and delimiter and the field
each column goes to (the mapping kept from the last import of the same header row, else
the program's layout and the headers), with a sample value; change any of them and the
dry run shows again what the import would create, update, leave unchanged and skip,
row by row, without writing. Importing keeps the mapping for the next file with the
same header row (the command line uses it too). The import runs with a progress bar
that can be cancelled (nothing is written when cancelled).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
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
    QTabWidget,
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
IGNORE = "skip (leave the column out)"
TO_NOTES = "notes, as 'Column: value'"
TO_NOTES_DATA = importing.NOTES_TARGET
PREVIEW_DELAY_MS = 250  # a choice changed: the dry run runs again once the choosing pauses
# What a row does, as the changes table says it.
ACTIONS = {
    "create": "new",
    "update": "changes",
    "unchanged": "matches a record here, changes nothing",
    "joined": "joins the company of an earlier row",
}


def field_label(field: str) -> str:
    return "company" if field == "customer" else field.replace("_", " ")


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
        self.mapping_problem = QLabel()
        self.mapping_problem.setAccessibleName("Mapping problem")
        self.mapping_problem.setWordWrap(True)
        self.mapping_problem.setStyleSheet(f"color: {WARN};")
        self.mapping_problem.hide()
        mapping_layout.addWidget(self.mapping_problem)
        splitter.addWidget(mapping_box)

        result_box = QWidget()
        result_layout = QVBoxLayout(result_box)
        result_layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setAccessibleName("Check result")
        self.summary.setWordWrap(True)
        result_layout.addWidget(self.summary)
        self.results = QTabWidget()
        self.results.setAccessibleName("Check details")
        self.changes = QTableWidget(0, 3)
        self.changes.setTabKeyNavigation(False)  # Tab leaves the table
        self.changes.setAccessibleName("What each row would do")
        self.changes.setHorizontalHeaderLabels(("Row", "Record", "What"))
        self.changes.verticalHeader().hide()
        self.changes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.changes.setColumnWidth(0, 60)
        self.changes.setColumnWidth(1, 200)
        self.results.addTab(self.changes, "&Rows")
        self.problems = QTableWidget(0, 3)
        self.problems.setTabKeyNavigation(False)  # Tab leaves the table
        self.problems.setAccessibleName("Row problems, values kept otherwise, likely duplicates")
        self.problems.setHorizontalHeaderLabels(("Row", "Field", "Problem"))
        self.problems.verticalHeader().hide()
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems.setColumnWidth(0, 60)
        self.problems.setColumnWidth(1, 160)
        self.results.addTab(self.problems, "&Problems")
        result_layout.addWidget(self.results)
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
        # The dry run shown for the mapping as chosen: started once the choosing
        # pauses; a result for an older choice (or after an import) is dropped.
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._preview_run)
        self._generation = 0
        self._busy = False
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
        self._generation += 1
        self._preview_timer.stop()
        self.file_edit.setText(str(path))
        self.mapping.setRowCount(0)
        self.combos.clear()
        self._say_problem("")
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
        generation = self._generation

        def read(preview: CsvPreview) -> None:
            if generation == self._generation:  # else another file was chosen since
                self._previewed(preview)

        def unreadable(exc: Exception) -> None:
            if generation == self._generation:
                self._say(human_message(exc), error=True)

        self.backend.query(lambda ws: importing.csv_mapping(ws, path, rows=5)).success(
            read
        ).failure(unreadable).run()

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
        if preview.layout:
            self._details += f" · an export of {preview.layout}"
        if preview.mapping_from == "kept":
            self._details += " · columns mapped as at the last import of this header row"
        self._say(self._details)
        self.mapping.setRowCount(len(preview.headers))
        self.combos.clear()
        for n, header in enumerate(preview.headers):
            self.mapping.setItem(n, 0, QTableWidgetItem(header))
            samples = [row[n] for row in preview.rows if n < len(row) and row[n].strip()]
            self.mapping.setItem(n, 1, QTableWidgetItem(" · ".join(samples[:3])))
            if header in self.combos:
                continue  # a header twice: one choice for both (the mapping is by header)
            combo = self._field_combo(n, header, preview)
            self.mapping.setCellWidget(n, 2, combo)
            self.combos[header] = combo
        self._set_ready(True)
        self._mapping_changed(at_once=True)

    def _field_combo(self, index: int, header: str, preview: CsvPreview) -> QComboBox:
        """Every field a column can go to, the current choice selected."""
        combo = QComboBox()
        combo.setAccessibleName(f"Field for column {header}")
        chosen = preview.choices.get(header, TO_NOTES_DATA)
        for field in importing.FIELDS:
            combo.addItem(field_label(field), field)
        key = importing.custom_field_key(header, index)
        combo.addItem(f"custom field '{key}'", f"custom.{key}")
        combo.addItem(TO_NOTES, TO_NOTES_DATA)
        combo.addItem(IGNORE, "")
        if combo.findData(chosen) < 0:  # a defined custom field, or labelled values
            how = preview.notes.get(header)
            base = chosen.removeprefix("custom.") if chosen.startswith("custom.") else ""
            text = f"custom field '{base}'" if base else field_label(chosen.partition(":")[0])
            combo.insertItem(0, f"{text} ({how})" if how else text, chosen)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.setToolTip(preview.notes.get(header) or "")
        combo.currentIndexChanged.connect(lambda _i: self._mapping_changed())
        return combo

    def mapping_choice(self) -> dict[str, str]:
        """header -> field as chosen in the table ('' leaves the column out, NOTES_TARGET
        keeps it in the notes as "Column: value"): the mapping the import keeps."""
        return {header: str(combo.currentData() or "") for header, combo in self.combos.items()}

    def _mapping_changed(self, *, at_once: bool = False) -> None:
        """A choice changed: say what is wrong with the mapping, or check it again."""
        self._generation += 1
        self._preview_timer.stop()
        self.report = None  # the last check was of another mapping
        if self.preview is None:
            return
        problems = importing.mapping_problems(self.preview.headers, self.mapping_choice())
        self._say_problem(" ".join(p[:1].upper() + p[1:] + "." for p in problems))
        self._set_ready(not problems)
        if problems:
            self.report = None
            self._show_report(None)
            return
        if at_once:
            self._preview_run()
        else:
            self._preview_timer.start()

    def _preview_run(self) -> None:
        """The dry run of the mapping as chosen, shown without writing anything."""
        path = self.path
        if path is None or self.preview is None or self._busy:
            return
        mapping = self.mapping_choice()
        generation = self._generation
        self.summary.setText("Checking with these columns…")
        self.summary.setStyleSheet(f"color: {MUTED};")

        def work(ws: Workspace) -> ImportReport:
            # A check of a mapping changed since stops (a big file takes seconds).
            return importing.import_customers_csv(
                ws,
                path,
                dry_run=True,
                mapping=mapping,
                cancel=lambda: generation != self._generation,
            )

        def shown(report: ImportReport) -> None:
            if generation == self._generation:
                self.report = report
                self._show_report(report)

        def failed(exc: Exception) -> None:
            if generation == self._generation:
                self.report = None
                self._show_report(None)
                self.summary.setText(human_message(exc))
                self.summary.setStyleSheet(f"color: {WARN};")

        self.backend.query(work).success(shown).failure(failed).run()

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

        self._generation += 1  # a preview still running is not shown over this
        self._preview_timer.stop()
        self._busy = True
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
        self._busy = False
        self.report = report
        self._set_ready(True)
        self._say(self._details)
        self._show_report(report)
        if report.written:
            self.imported.emit(report)

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        self._set_ready(True)
        if isinstance(exc, Cancelled):
            self._say("Cancelled. Nothing was written.")
            return
        self._say(human_message(exc), error=True)

    def _show_report(self, report: ImportReport | None) -> None:
        self.problems.setRowCount(0)
        self.changes.setRowCount(0)
        if report is None:
            self.summary.setText("")
            return
        self._show_changes(report)
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

    def _show_changes(self, report: ImportReport) -> None:
        """Each row: what it creates or changes, or why it is skipped."""
        lines = []
        for change in report.row_changes:
            what = ACTIONS.get(change.action, change.action)
            fields = [field_label(f) for f in change.fields if f != "name"]
            if fields and change.action in ("create", "update"):
                what += ": " + ", ".join(dict.fromkeys(fields))
            lines.append((change.row, change.name or "", what))
        skipped: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for error in report.errors:
            skipped.setdefault(error.row, []).append(f"{error.field} {error.problem}")
            names.setdefault(error.row, error.name or "")
        for row, problems in skipped.items():
            lines.append((row, names[row], "skipped: " + "; ".join(problems)))
        lines.sort(key=lambda line: line[0])
        self.changes.setRowCount(len(lines))
        for n, (row, name, what) in enumerate(lines):
            for column, value in enumerate((str(row), name, what)):
                self.changes.setItem(n, column, QTableWidgetItem(value))

    # --- small helpers ----------------------------------------------------------------
    def _say_problem(self, text: str) -> None:
        self.mapping_problem.setText(text)
        self.mapping_problem.setVisible(bool(text))

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
    "cut": "cut to its first 1 MB",
    "not kept": "not kept",
}

__all__ = ["ImportDialog"]
