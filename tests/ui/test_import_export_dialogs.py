"""Import (preview, mapping, dry run with row errors, import) and export with progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from touchpoint.services import customers, interactions
from touchpoint.services.interactions import FollowUpInput
from touchpoint.storage.models import Contact, Customer
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.export_dialog import ExportDialog
from touchpoint.ui.import_dialog import ImportDialog

CSV = (
    "Firma;Ansprechpartner;E-Mail;Telefon;Lieblingsfarbe\n"
    "Acme GmbH;Jana Weber;jana@acme.de;+49 30 1234567;blau\n"
    "Bakery Schmidt;Otto Schmidt;otto@@bakery;030 555 01;rot\n"
    "Café Süd;Lena Süß;lena@cafe-sued.de;;grün\n"
)


def _count(ws: Workspace, model: Any) -> int:
    with ws.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _dialog(qtbot: Any, backend: Backend, path: Path, idle: Any) -> ImportDialog:
    dialog = ImportDialog(backend)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_file(path)
    idle()
    return dialog


def test_csv_preview_mapping_dry_run_row_error_then_import(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes(CSV.encode("cp1252"))
    dialog = _dialog(qtbot, backend, path, idle)

    assert "delimiter: semicolon" in dialog.info.text()
    assert "3 rows" in dialog.info.text()
    assert dialog.mapping.rowCount() == 5
    assert dialog.combos["Firma"].currentData() == "customer"
    assert dialog.combos["E-Mail"].currentData() == "email"
    # Unknown: kept in the notes as "Lieblingsfarbe: blau", unless ignored by hand.
    assert dialog.combos["Lieblingsfarbe"].currentText() == "(notes, as 'Column: value')"
    assert "Lieblingsfarbe" not in dialog.mapping_choice()
    assert dialog.combos["Firma"].findData("+notes") == -1  # a field's column: no such choice
    assert "Jana Weber" in dialog.mapping.item(1, 1).text()

    dialog.check_button.click()
    idle()
    report = dialog.report
    assert report is not None and report.dry_run and not report.written
    rows = {
        dialog.problems.item(n, 0).text(): dialog.problems.item(n, 2).text()
        for n in range(dialog.problems.rowCount())
    }
    # Otto is kept, his email as written and marked: the row names him.
    assert "otto@@bakery" in rows["3 (Otto Schmidt)"]
    assert "kept as written, marked unverified" in rows["3 (Otto Schmidt)"]
    assert "1 value was kept as written and marked unverified" in dialog.summary.text()
    assert "delimiter: semicolon" in dialog.info.text()
    assert _count(ws, Customer) == 0

    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.written
    assert "Imported 3 customers and 3 contacts" in dialog.summary.text()
    assert _count(ws, Customer) == 3
    assert _count(ws, Contact) == 3
    assert customers.list_contacts(ws, "Acme GmbH")[0].notes == "Lieblingsfarbe: blau"


def test_a_column_mapped_by_hand_is_used(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Who,Colour\nAcme GmbH,blue\n", encoding="utf-8")
    dialog = _dialog(qtbot, backend, path, idle)
    combo = dialog.combos["Who"]
    combo.setCurrentIndex(combo.findData("customer"))
    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.created_customers == 1
    assert customers.get_customer(ws, "Acme GmbH").name == "Acme GmbH"


def test_vcard_import(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    path = tmp_path / "people.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jana Weber\r\nN:Weber;Jana;;;\r\nORG:Acme GmbH\r\n"
        "EMAIL;TYPE=WORK:jana@acme.de\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    dialog = _dialog(qtbot, backend, path, idle)
    assert dialog.is_vcard and "vCard" in dialog.info.text()
    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.written
    assert _count(ws, Contact) == 1


def test_a_missing_file_is_said_plainly(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, backend, tmp_path / "nope.csv", idle)
    assert "is not a file" in dialog.info.text()
    assert not dialog.import_button.isEnabled()


def test_export_each_format(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, acme.id, {"name": "Jana Weber", "emails": ["jana@acme.de"]})
    interactions.log_interaction(
        ws, customer=acme.id, kind="call", followups=[FollowUpInput("Send the quote", "fri")]
    )
    dialog = ExportDialog(backend)
    qtbot.addWidget(dialog)
    dialog.show()
    expected = {
        "contacts_vcf": "FN:Jana Weber",
        "contacts_csv": "jana@acme.de",
        "customers_csv": "Acme GmbH",
        "followups_ics": "SUMMARY:",
    }
    for key, needle in expected.items():
        dialog.choices[key].setChecked(True)
        out = tmp_path / Path(dialog.file_edit.text()).name
        dialog.file_edit.setText(str(out))
        dialog.export()
        idle()
        assert dialog.report is not None and dialog.report.path == out
        assert needle in out.read_text(encoding="utf-8-sig")
        assert dialog.message.text().startswith("Exported 1 to")


def test_export_to_a_missing_folder_is_refused(qtbot: Any, backend: Backend) -> None:
    dialog = ExportDialog(backend)
    qtbot.addWidget(dialog)
    dialog.file_edit.setText("/no/such/folder/out.vcf")
    dialog.export()
    assert "does not exist" in dialog.message.text()


def test_the_summary_counts_updates_and_joined_rows(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    path = tmp_path / "again.csv"
    path.write_text(
        f"Customer ID,Name,Industry\n{acme.id},Acme GmbH,Machinery\n",
        encoding="utf-8",
    )
    dialog = _dialog(qtbot, backend, path, idle)
    dialog.import_button.click()
    idle()
    assert "1 existing record updated" in dialog.summary.text()
    assert customers.get_customer(ws, acme.id).industry == "Machinery"

    joined = tmp_path / "people.csv"
    joined.write_text("Company,Contact Name\nBolt AG,Ann Lee\nBolt AG,Ben Lee\n", encoding="utf-8")
    dialog.set_file(joined)
    idle()
    dialog.check_button.click()
    idle()
    assert "1 row joined an earlier row of the same company" in dialog.summary.text()


def test_an_excel_workbook_previews_and_imports(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    for line in CSV.splitlines():
        book.active.append(line.split(";"))
    path = tmp_path / "kunden.xlsx"
    book.save(path)
    dialog = _dialog(qtbot, backend, path, idle)
    assert "Excel workbook, first sheet · 3 rows below the header" in dialog.info.text()
    assert dialog.combos["E-Mail"].currentData() == "email"
    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.written
    assert _count(ws, Customer) == 3
