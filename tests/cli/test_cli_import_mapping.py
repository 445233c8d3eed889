"""Columns of no field (--unmatched custom|notes|skip) and mappings kept for the next
file with the same columns."""

from __future__ import annotations

import json
from pathlib import Path

FILE = (
    "Company,Name,Fleet Size,Contract End,Key Account,Region Code,Favourite Colour\n"
    "Acme GmbH,Ann Lee,12,2027-03-31,yes,0421,red\n"
    "Beta AG,Bob Ray,7.5,2026-01-15,No,0333,\n"
)


def _file(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _uses(report: dict) -> dict[str, tuple[str | None, str]]:
    return {c["column"]: (c["field"], c["note"]) for c in report["columns"]}


def test_unmatched_columns_become_custom_fields_typed_by_their_values(tp, tmp_path: Path):
    report = tp.json("import", "customers", str(_file(tmp_path, FILE)), "--unmatched", "custom")
    assert report["errors"] == [] and report["notices"] == []
    assert report["unmatched"] == "custom"
    assert _uses(report) == {
        "Company": ("customer", ""),
        "Name": ("contact", ""),
        "Fleet Size": ("custom.fleet_size", "new custom field (number)"),
        "Contract End": ("custom.contract_end", "new custom field (date)"),
        "Key Account": ("custom.key_account", "new custom field (yes/no)"),
        "Region Code": ("custom.region_code", "new custom field (text)"),  # leading zero
        "Favourite Colour": ("custom.favourite_colour", "new custom field (text)"),
    }
    fields = {f["key"]: (f["label"], f["type"]) for f in tp.json("field", "list")}
    assert fields["fleet_size"] == ("Fleet Size", "number")
    assert fields["key_account"] == ("Key Account", "choice")
    acme = tp.json("customer", "show", "Acme GmbH")["customer"]
    assert acme["custom"] == {
        "fleet_size": 12,
        "contract_end": "2027-03-31",
        "key_account": "yes",
        "region_code": "0421",
        "favourite_colour": "red",
    }
    beta = tp.json("customer", "show", "Beta AG")["customer"]
    assert (beta["custom"]["fleet_size"], beta["custom"]["key_account"]) == (7.5, "no")
    assert tp.json("contact", "list", "Acme GmbH")[0]["notes"] is None  # not in notes too


def test_unmatched_columns_go_to_the_notes_or_nowhere(tp, tmp_path: Path) -> None:
    path = _file(tmp_path, FILE)
    notes = tp.json("import", "customers", str(path), "--dry-run")
    assert _uses(notes)["Favourite Colour"] == (
        "notes",
        "no field matches: kept as 'Favourite Colour: …'",
    )
    skipped = tp.json("import", "customers", str(path), "--unmatched", "skip")
    assert _uses(skipped)["Fleet Size"] == (None, "ignored: --unmatched skip")
    assert tp.json("contact", "list", "Acme GmbH")[0]["notes"] is None
    assert tp.json("customer", "show", "Acme GmbH")["customer"]["custom"] == {}
    text = tp("import", "customers", str(path), "--unmatched", "skip", "--dry-run").stdout
    assert "column 'Region Code': ignored: --unmatched skip" in text


def test_a_mapping_is_kept_for_the_next_file_with_the_same_columns(tp, tmp_path: Path):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Laden": "customer", "Inhaber": "contact", "Intern": ""}))
    first = _file(tmp_path, "Laden,Inhaber,Intern,Umsatz\nAcme,Ann Lee,x,100\n", "a.csv")
    # A dry run keeps nothing.
    tp("import", "customers", str(first), "--mapping", str(mapping), "--dry-run")
    refused = tp("import", "customers", str(first), "--dry-run", code=1)
    assert "has no column for a company or a person's name" in refused.stderr
    done = tp.json("import", "customers", str(first), "--mapping", str(mapping),
                   "--unmatched", "custom")  # fmt: skip
    assert done["mapping_from"] == "file"
    # Next month's file: the same columns (spaced and cased otherwise), other rows.
    second = _file(tmp_path, "laden, INHABER ,intern,Umsatz\nBeta,Bob Ray,y,250\n", "b.csv")
    dry = tp.json("import", "customers", str(second), "--dry-run")
    assert dry["mapping_from"] == "kept"
    assert dry["mapping"] == {"Laden": "customer", "Inhaber": "contact", "Intern": ""}
    assert dry["unmatched"] == "custom"
    assert _uses(dry)["intern"] == (None, "ignored: the mapping says so")
    assert _uses(dry)["Umsatz"] == ("custom.umsatz", "")  # the field the first file made
    assert (
        "the last import of a file with these columns"
        in tp("import", "customers", str(second)).stdout
    )
    beta = tp.json("customer", "show", "Beta")["customer"]
    assert beta["custom"] == {"umsatz": 250}
    # Other columns: not that mapping.
    other = _file(tmp_path, "Laden,Inhaber\nGamma,Cy Fox\n", "c.csv")
    assert tp("import", "customers", str(other), "--dry-run", code=1)


def test_unmatched_choice_is_checked(tp, tmp_path: Path) -> None:
    result = tp("import", "customers", str(_file(tmp_path, FILE)), "--unmatched", "x", code=2)
    assert "'x' is not one of 'custom', 'notes', 'skip'" in result.stderr


def test_a_mapping_can_label_phones_and_emails(tp, tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"Tel privat" = "phone:home"\n"Mail privat" = "email:Home"\n')
    path = _file(
        tmp_path,
        "Firma,Name,Telefon,Tel privat,Mail privat\n"
        "Acme GmbH,Ann Lee,+49 30 1234567,+49 30 7654321,ann@home.example\n",
    )
    report = tp.json("import", "customers", str(path), "--mapping", str(mapping))
    assert _uses(report)["Tel privat"] == ("phone", "labelled home")
    person = tp.json("contact", "list", "Acme GmbH")[0]
    assert [(p["label"], p["value"]) for p in person["phones"]] == [
        ("work", "+49301234567"),
        ("home", "+49307654321"),
    ]
    assert person["emails"] == [{"label": "home", "value": "ann@home.example"}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Tel privat": "website:home"}))
    refused = tp("import", "customers", str(path), "--mapping", str(bad), code=1)
    assert "column 'Tel privat': 'website:home' is not a field" in refused.stderr


def test_the_report_names_the_program_recognised(tp) -> None:
    google = Path(__file__).parent.parent / "fixtures" / "import" / "vendors" / "google_new.csv"
    out = tp("import", "customers", str(google), "--dry-run").stdout
    assert "columns read as Google Contacts (2022 format) writes them" in out
    assert "column 'Phone 1 - Label': ignored: the labels of 'Phone 1 - Value'" in out
    assert tp.json("import", "customers", str(google), "--dry-run")["layout"] == (
        "Google Contacts (2022 format)"
    )


def test_a_mapping_keeps_a_column_in_the_notes_or_refuses_two_columns_for_one_field(
    tp, tmp_path: Path
) -> None:
    path = _file(tmp_path, FILE)
    notes = tmp_path / "notes.json"
    # "Region Code" would become a custom field; the mapping keeps it in the notes.
    notes.write_text(json.dumps({"Region Code": "+notes", "Fleet Size": "custom.fleet"}))
    report = tp.json(
        "import", "customers", str(path), "--mapping", str(notes), "--unmatched", "custom"
    )
    uses = _uses(report)
    assert uses["Region Code"] == ("notes", "the mapping says: kept as 'Region Code: …'")
    assert uses["Favourite Colour"][0] == "custom.favourite_colour"
    person = tp.json("contact", "list", "Acme GmbH")[0]
    assert person["notes"] == "Region Code: 0421"
    acme = tp.json("customer", "show", "Acme GmbH")["customer"]
    assert acme["custom"]["fleet"] == "12"

    both = tmp_path / "both.json"
    # A column the mapping chooses wins over one read by its header; two it chooses
    # for one single-valued field are refused, naming both.
    both.write_text(json.dumps({"company": "customer", "Name": "customer"}))
    refused = tp("import", "customers", str(path), "--mapping", str(both), code=1)
    assert "columns 'Company' and 'Name' both go to customer" in refused.stderr
