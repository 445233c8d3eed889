"""Import (preview, mapping, dry run with row errors, import) and export with progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from touchpoint.services import customers, importing, interactions
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
    # Unknown: kept in the notes as "Lieblingsfarbe: blau", unless chosen otherwise.
    assert dialog.combos["Lieblingsfarbe"].currentText() == "notes, as 'Column: value'"
    assert dialog.mapping_choice()["Lieblingsfarbe"] == "+notes"
    # Every column offers every field, a custom field of its own, the notes and skip.
    firma = dialog.combos["Firma"]
    offered = {firma.itemData(i) for i in range(firma.count())}
    assert {"customer", "contact", "email", "custom.firma", "+notes", ""} <= offered
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
    dialog.check_button.click()
    idle()
    name, what = _rows(dialog)["1"]
    assert name == "Jana Weber" and what.startswith("new: ") and "emails" in what
    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.written
    assert _count(ws, Contact) == 1
    dialog.check_button.click()  # the same card again: it matches, and changes nothing
    idle()
    assert _rows(dialog)["1"] == ("Jana Weber", "matches a record here, changes nothing")


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


SHOP = "Laden,Inhaber,Mail,Farbe,Bemerkung\n{rows}"


def _checked(qtbot: Any, dialog: ImportDialog) -> Any:
    """The dry run of the mapping as now chosen, once it is shown."""
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20_000)
    return dialog.report


def _rows(dialog: ImportDialog) -> dict[str, tuple[str, str]]:
    table = dialog.changes
    return {
        table.item(n, 0).text(): (table.item(n, 1).text(), table.item(n, 2).text())
        for n in range(table.rowCount())
    }


def _choose(dialog: ImportDialog, header: str, target: str) -> None:
    combo = dialog.combos[header]
    index = combo.findData(target)
    assert index >= 0, (header, target)
    combo.setCurrentIndex(index)


def test_editing_the_mapping_checks_again_and_the_import_keeps_it_for_next_time(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    first = tmp_path / "laeden.csv"
    first.write_text(
        SHOP.format(rows="Bäckerei Korn,Ida Korn,ida@korn.de,blau,mag Kuchen\n"),
        encoding="utf-8",
    )
    dialog = _dialog(qtbot, backend, first, idle)
    # As read by the headers: "Laden" and "Inhaber" are no field here.
    assert dialog.mapping_choice() == {
        "Laden": "+notes",
        "Inhaber": "+notes",
        "Mail": "email",
        "Farbe": "+notes",
        "Bemerkung": "notes",
    }
    # No column names a company or a person yet: the check says so, and nothing more.
    qtbot.waitUntil(lambda: "no column for a company" in dialog.summary.text(), timeout=20_000)
    assert dialog.report is None and dialog.changes.rowCount() == 0

    _choose(dialog, "Laden", "customer")
    _choose(dialog, "Inhaber", "contact")
    _choose(dialog, "Farbe", "custom.farbe")
    report = _checked(qtbot, dialog)
    assert report.dry_run and not report.written
    assert (report.created_customers, report.created_contacts, report.skipped) == (1, 1, 0)
    name, what = _rows(dialog)["2"]
    assert name == "Ida Korn" and what.startswith("new: ")
    assert "custom" in what and "emails" in what
    assert _count(ws, Customer) == 0  # checking writes nothing

    dialog.import_button.click()
    idle()
    assert dialog.report is not None and dialog.report.written
    shop = customers.get_customer(ws, "Bäckerei Korn")
    assert shop.custom == {"farbe": "blau"}
    assert customers.list_contacts(ws, shop.id)[0].notes == "mag Kuchen"

    # The next file with the same header row comes mapped as chosen, in the window...
    second = tmp_path / "mehr-laeden.csv"
    second.write_text(
        SHOP.format(rows="Café Süd,Lena Süß,lena@sued.de,grün,\nBäckerei Korn,Ida Korn,,rot,\n"),
        encoding="utf-8",
    )
    again = _dialog(qtbot, backend, second, idle)
    assert "mapped as at the last import of this header row" in again.info.text()
    assert again.combos["Laden"].currentData() == "customer"
    assert again.combos["Inhaber"].currentData() == "contact"
    assert again.combos["Farbe"].currentData() == "custom.farbe"
    assert again.combos["Bemerkung"].currentData() == "notes"
    report = _checked(qtbot, again)
    assert (report.created_customers, report.updated) == (1, 1)
    rows = _rows(again)
    assert rows["2"][1].startswith("new")
    assert rows["3"] == ("Ida Korn", "changes: custom")
    # ... and for the command line, which imports with the kept mapping by itself.
    done = importing.import_customers_csv(ws, second)
    assert done.mapping_from == "kept" and done.created_customers == 1
    assert customers.get_customer(ws, "Café Süd").custom == {"farbe": "grün"}


def test_two_columns_for_one_single_valued_field_are_named_and_stop_the_import(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes(CSV.encode("cp1252"))
    dialog = _dialog(qtbot, backend, path, idle)
    _checked(qtbot, dialog)
    _choose(dialog, "Lieblingsfarbe", "customer")
    problem = dialog.mapping_problem
    assert problem.isVisible()
    assert "'Firma' and 'Lieblingsfarbe'" in problem.text()
    assert "company" in problem.text()
    assert not dialog.import_button.isEnabled() and not dialog.check_button.isEnabled()
    assert dialog.report is None

    # Two columns of emails are fine: a person has several.
    _choose(dialog, "Lieblingsfarbe", "email")
    assert not problem.isVisible()
    assert dialog.import_button.isEnabled()
    report = _checked(qtbot, dialog)
    assert report.dry_run and report.created_customers == 3


def test_the_mapping_table_is_used_by_keyboard(
    qtbot: Any, backend: Backend, ws: Workspace, idle: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt

    path = tmp_path / "kunden.csv"
    path.write_bytes(CSV.encode("cp1252"))
    dialog = _dialog(qtbot, backend, path, idle)
    _checked(qtbot, dialog)
    combo = dialog.combos["Lieblingsfarbe"]
    assert combo.accessibleName() == "Field for column Lieblingsfarbe"
    # Tab reaches each column's field in turn, then leaves the table.
    dialog.mapping.setFocus()
    reached = []
    for _ in range(12):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        reached.append(dialog.focusWidget())
    assert combo in reached
    assert any(w is dialog.check_button or w is dialog.results.tabBar() for w in reached) or (
        dialog.changes in reached
    )
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Up)  # the choice just above the notes: a custom field
    assert combo.currentData() == "custom.lieblingsfarbe"
    report = _checked(qtbot, dialog)
    assert any(c.field == "custom.lieblingsfarbe" for c in report.columns)
