"""``touchpoint import``: per-row problems, duplicates, dry runs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

GOOD = (
    "Company,Name,Email,Phone,Tags\n"
    "Acme GmbH,Jana Novak,jana@acme.de,030 1234567,key\n"
    "Acme GmbH,Piet Jansen,piet@acme.de,,\n"
    "Bolt AG,Ute Bolt,ute@bolt.de,,north\n"
)


def _csv(tmp_path: Path, text: str, name: str = "customers.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_creates_customers_and_contacts(tp, tmp_path: Path) -> None:
    out = tp("import", "customers", str(_csv(tmp_path, GOOD))).stdout
    assert "imported 3 rows: created 2 customers and 3 contacts" in out
    names = [c["name"] for c in tp.json("customer", "list")["customers"]]
    assert names == ["Acme GmbH", "Bolt AG"]
    assert [p["name"] for p in tp.json("contact", "list", "acme")] == ["Jana Novak", "Piet Jansen"]


def test_dry_run_writes_nothing(tp, tmp_path: Path) -> None:
    before = tp.changes()
    out = tp("import", "customers", str(_csv(tmp_path, GOOD)), "--dry-run").stdout
    assert "dry run of 3 rows: would create 2 customers and 3 contacts" in out
    assert "nothing was written" in out
    assert tp.changes() == before
    report = tp.json("import", "customers", str(_csv(tmp_path, GOOD)), "--dry-run")
    assert report["dry_run"] is True and report["written"] is False
    assert report["created_customers"] == 2 and report["errors"] == []


def test_a_bad_value_keeps_the_row_and_names_it(tp, tmp_path: Path) -> None:
    text = GOOD + "Crane Ltd,Carl Crane,not-an-email,,\n,,nobody@nowhere.de,,\n"
    result = tp("import", "customers", str(_csv(tmp_path, text)), code=1)
    # Carl is imported, his email kept as written; the row naming nobody is skipped.
    assert "row 5 (Carl Crane): email: 'not-an-email' is not a valid email address" in result.stderr
    assert "(kept as written, marked unverified)" in result.stderr
    assert "row 6: name: needs a company or a person's name" in result.stderr
    assert "imported 5 rows: created 3 customers and 4 contacts; 1 row skipped" in result.stdout
    assert "1 value kept as written and marked unverified" in result.stdout
    shown = tp("customer", "show", "crane").stdout
    assert "not-an-email (unverified)" in shown


def test_json_report(tp, tmp_path: Path) -> None:
    text = "Company,Name,Email,Favourite Colour,Created\nCrane Ltd,Carl Crane,not-an-email,red,x\n"
    result = tp("import", "customers", str(_csv(tmp_path, text)), "--json")
    report = json.loads(result.stdout)
    assert report["errors"] == []
    notices = sorted(report["notices"], key=lambda n: n["field"])
    assert [(n["row"], n["name"], n["field"], n["kept"]) for n in notices] == [
        (2, "Carl Crane", "Created", "notes"),  # not a time: kept in the notes as written
        (2, "Carl Crane", "email", "unverified"),
    ]
    assert notices[0]["problem"] == "'x' is not a date and time"
    # Every column is named with where it went: no column vanishes.
    assert [(c["column"], c["field"]) for c in report["columns"]] == [
        ("Company", "customer"),
        ("Name", "contact"),
        ("Email", "email"),
        ("Favourite Colour", "notes"),
        ("Created", "created"),  # when the record came to be, in the other program
    ]
    assert report["written"] is True
    assert set(report) == {
        "rows", "created_customers", "created_contacts", "updated", "errors", "duplicates",
        "dry_run", "written", "joined", "unchanged", "skipped", "notices", "columns", "layout",
        "mapping", "mapping_from", "unmatched", "row_changes",
    }  # fmt: skip
    assert report["row_changes"] == [
        {
            "row": 2,
            "name": "Carl Crane",
            "action": "create",
            "fields": report["row_changes"][0]["fields"],
        }
    ]
    assert {"name", "emails", "notes"} <= set(report["row_changes"][0]["fields"])
    person = tp.json("contact", "list", "crane")[0]
    assert person["notes"] == "Favourite Colour: red\nCreated: x"


def test_unmapped_columns_are_named_in_the_text_report(tp, tmp_path: Path) -> None:
    text = "Company,Shoe Size,Ignore Me\nAcme GmbH,44,x\n"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Ignore Me": ""}))
    out = tp("import", "customers", str(_csv(tmp_path, text)), "--mapping", str(mapping)).stdout
    assert "column 'Shoe Size': no field matches: kept as 'Shoe Size: …'" in out
    assert "column 'Ignore Me': ignored: the mapping says so" in out
    assert tp.json("customer", "show", "acme")["customer"]["notes"] == "Shoe Size: 44"


def test_importing_the_same_file_twice_updates_instead_of_duplicating(tp, tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD)
    tp("import", "customers", str(path))
    before = tp.changes()
    dry = tp("import", "customers", str(path), "--dry-run").stdout
    assert "would create 0 customers and 0 contacts, 3 rows unchanged" in dry
    again = tp.json("import", "customers", str(path))
    assert (again["created_customers"], again["created_contacts"], again["unchanged"]) == (0, 0, 3)
    assert tp.changes() == before
    assert tp.json("customer", "list")["total"] == 2


def test_duplicates_of_existing_customers_are_named(tp, tmp_path: Path) -> None:
    existing = tp.add_customer("Acme GmbH", "--email", "info@acme.de")
    # Another name, the same email: not the same company for sure, so it is said.
    text = "Company,Email\nAcme Holding,info@acme.de\n"
    result = tp("import", "customers", str(_csv(tmp_path, text)), "--dry-run")
    assert f"row 2: Acme Holding may duplicate Acme GmbH ({existing})" in result.stderr


def test_mapping_file(tp, tmp_path: Path) -> None:
    text = "Firma X,Kontakt Y,Mail Z\nAcme GmbH,Jana Novak,jana@acme.de\n"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Firma X": "customer", "Kontakt Y": "contact", "Mail Z": ""}))
    tp("import", "customers", str(_csv(tmp_path, text)), "--mapping", str(mapping))
    assert [p["name"] for p in tp.json("contact", "list", "acme")] == ["Jana Novak"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Firma X": "shoe size"}))
    before = tp.changes()
    result = tp("import", "customers", str(_csv(tmp_path, text)), "--mapping", str(bad), code=1)
    assert result.stderr.startswith("error: mapping: column 'Firma X': 'shoe size' is not")
    assert tp.changes() == before


def test_files_that_are_not_csv_write_nothing(tp, tmp_path: Path) -> None:
    before = tp.changes()
    utf32 = _csv(tmp_path, GOOD, name="utf32.csv", encoding="utf-32")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 64)
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    no_names = _csv(tmp_path, "Colour,Size\nred,XL\n", name="nonames.csv")
    for path in (garbage, workbook, empty, no_names, tmp_path / "missing.csv"):
        result = tp("import", "customers", str(path), code=1)
        assert result.stderr.startswith("error: file: "), result.stderr
        assert result.stderr.count("\n") == 1
    assert tp.changes() == before
    # UTF-32 with its byte order mark is still text: it imports
    tp("import", "customers", str(utf32), "--dry-run")
    assert tp.changes() == before


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jana Novak\r\nN:Novak;Jana;;;\r\nORG:Acme GmbH\r\n"
    "EMAIL;TYPE=WORK:jana@acme.de\r\nTEL;TYPE=CELL:+49 170 1234567\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Piet Jansen\r\nN:Jansen;Piet;;;\r\nORG:Acme GmbH\r\n"
    "EMAIL:piet@@acme\r\nEND:VCARD\r\n"
)


def test_import_vcard(tp, tmp_path: Path) -> None:
    cards = tmp_path / "people.vcf"
    cards.write_text(VCARDS, encoding="utf-8")
    before = tp.changes()
    dry = tp("import", "vcard", str(cards), "--dry-run")
    assert dry.stderr.startswith(
        "warning: card 2 (Piet Jansen): email: 'piet@@acme' is not a valid email address"
    )
    assert "dry run of 2 cards: would create 1 customer and 2 contacts" in dry.stdout
    assert tp.changes() == before
    result = tp("import", "vcard", str(cards))  # the second card's email is kept, flagged
    assert "created 1 customer and 2 contacts" in result.stdout
    names = [p["name"] for p in tp.json("contact", "list", "acme")]
    assert names == ["Jana Novak", "Piet Jansen"]
    again = tp("import", "vcard", str(cards))
    assert "nothing imported from 2 cards: 2 cards unchanged" in again.stdout


def test_import_vcard_into_one_customer(tp, tmp_path: Path) -> None:
    tp.add_customer("Bolt AG")
    cards = tmp_path / "one.vcf"
    cards.write_text(VCARDS.split("BEGIN:VCARD")[1].join(["BEGIN:VCARD", ""]), encoding="utf-8")
    tp("import", "vcard", str(cards), "--customer", "bolt")
    assert [p["name"] for p in tp.json("contact", "list", "bolt")] == ["Jana Novak"]
    junk = tmp_path / "junk.vcf"
    junk.write_bytes(b"\x00\xff" * 100)
    before = tp.changes()
    assert tp("import", "vcard", str(junk), code=1).stderr.startswith("error: ")
    assert tp.changes() == before


def test_a_column_without_header_and_a_weaker_rival_are_kept_too(tp, tmp_path: Path) -> None:
    text = "Company,Title,Job Title,\nAcme GmbH,Dr.,Buyer,left over\n"
    report = tp.json("import", "customers", str(_csv(tmp_path, text)))
    uses = {(c["column"], c["field"], c["note"]) for c in report["columns"]}
    assert ("Title", "notes", "another column fills title: kept as 'Title: …'") in uses
    assert ("", "notes", "no field matches: kept as 'Column 4: …'") in uses
    notes = tp.json("customer", "show", "acme")["customer"]["notes"]
    # No person on the row: the job title is the company's to keep, in its notes.
    assert notes == "Job title: Buyer\nTitle: Dr.\nColumn 4: left over"


def test_an_excel_workbook_imports_like_csv(tp, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank row before the header row is skipped, as in CSV
    for line in GOOD.splitlines():
        sheet.append(line.split(","))
    sheet.append(["Crane Ltd", "Carl Crane", "carl@crane.de", 4930123456, None])
    book.create_sheet("Second").append(["Company"])  # only the first sheet is read
    path = tmp_path / "customers.xlsx"
    book.save(path)
    out = tp("import", "customers", str(path)).stdout
    assert "imported 4 rows: created 3 customers and 4 contacts" in out
    names = [c["name"] for c in tp.json("customer", "list")["customers"]]
    assert names == ["Acme GmbH", "Bolt AG", "Crane Ltd"]
    # a number cell is read as the digits a person typed, not "4930123456.0"
    assert "+49 30 123456" in tp("customer", "show", "crane").stdout
    again = tp("import", "customers", str(path)).stdout
    assert "unchanged" in again


def test_a_damaged_workbook_is_named(tp, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    result = tp("import", "customers", str(path), code=1)
    assert "broken.xlsx is not a readable Excel workbook" in result.output
