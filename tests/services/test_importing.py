"""Importing customers and contacts from CSV files and vCards, on real SQLite files."""

from __future__ import annotations

import csv
import gc
import io
import json
import sqlite3
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fresh_db
from touchpoint.errors import (
    Cancelled,
    NotFoundError,
    TouchpointError,
    ValidationError,
    ValidationErrors,
)
from touchpoint.services import customers, importing
from touchpoint.services.exporting import export_contacts
from touchpoint.services.importing import (
    ImportReport,
    guess_field,
    import_customers_csv,
    import_vcard,
    preview_csv,
)
from touchpoint.services.search import search, strip_marks
from touchpoint.services.validation import clean_contact, clean_customer
from touchpoint.storage import bulk_write, search_index
from touchpoint.storage.workspace import Workspace

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
TABLES = (
    "customers", "contacts", "interactions", "followups", "deals", "custom_field_defs",
    "merges", "change_log", "search_docs", "identity_keys",
)  # fmt: skip


def counts(ws: Workspace) -> dict[str, int]:
    conn = sqlite3.connect(ws.paths.database)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def query(ws: Workspace, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(ws.paths.database)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


# --- reading other tools' files ---------------------------------------------------------

EXPECTED_MAPPINGS = {
    "salesforce_contacts.csv": {
        "Account Name": "customer", "First Name": "first_name", "Last Name": "last_name",
        "Title": "title", "Mailing Zip/Postal Code": "postcode", "Mobile": "mobile",
        "Email": "email", "Description": "notes", "Salutation": None,
    },
    "hubspot_contacts.csv": {
        "Company Name": "customer", "Phone Number": "phone", "Job Title": "title",
        "State/Region": "region", "Country/Region": "country", "Website URL": "website",
        "Contact owner": "owner", "Record ID": None, "Lifecycle Stage": None,
    },
    "outlook_contacts.csv": {
        "Company": "customer", "Title": None, "Job Title": "title", "Business Phone": "phone",
        "Mobile Phone": "mobile", "E-mail Address": "email", "E-mail 2 Address": "email",
        "Web Page": "website", "Categories": "tags", "Business Postal Code": "postcode",
    },
    "google_contacts.csv": {
        "Name": "contact", "Organization 1 - Name": "customer", "E-mail 1 - Value": "email",
        "E-mail 1 - Type": None, "Phone 1 - Value": "phone", "Organization 1 - Title": "title",
        "Address 1 - City": "city", "Labels": "tags",
    },
    "pipedrive_people.csv": {
        "Person - Name": "contact", "Organization - Name": "customer",
        "Person - Email": "email", "Person - Phone": "phone", "Person - Job title": "title",
    },
    "zoho_contacts.csv": {
        "Account Name": "customer", "Secondary Email": "email", "Mailing Zip": "postcode",
        "Contact Owner": "owner",
    },
    "excel_de_cp1252.csv": {
        "Firma": "customer", "Vorname": "first_name", "Nachname": "last_name",
        "E-Mail": "email", "Telefon": "phone", "Stadt": "city", "Branche": "industry",
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED_MAPPINGS))
def test_columns_of_real_world_exports_are_recognised(name: str) -> None:
    preview = preview_csv(FIXTURES / name)
    for header, field in EXPECTED_MAPPINGS[name].items():
        assert preview.mapping[header] == field, header
    assert preview.total_rows >= 1
    assert preview.rows[0][0]


def test_header_synonyms_ignore_case_spaces_and_punctuation() -> None:
    assert guess_field("  E-MAIL  address ") == "email"
    assert guess_field("Postal-Code") == "postcode"
    assert guess_field("account_name") == "customer"
    assert guess_field("Yearly potential") == "yearly_potential"
    assert guess_field("Favourite colour") is None


def test_salesforce_rows_of_one_account_become_one_customer(ws: Workspace) -> None:
    report = import_customers_csv(ws, FIXTURES / "salesforce_contacts.csv")
    assert report.errors == []
    assert (report.rows, report.created_customers, report.created_contacts) == (2, 1, 2)
    customer = customers.get_customer(ws, "Cobol Systems Inc.")
    assert customer.addresses[0]["city"] == "Arlington"
    assert customer.addresses[0]["postcode"] == "22202"
    people = {p.name: p for p in customers.list_contacts(ws, customer.id)}
    assert set(people) == {"Grace Hopper", "Alan Turing"}
    grace = people["Grace Hopper"]
    assert grace.title == "CTO"
    assert grace.emails == [{"label": "work", "value": "grace@cobol.example"}]
    assert {p["label"] for p in grace.phones} == {"work", "mobile"}
    # Salesforce's Salutation is no field here: kept in the notes, not dropped.
    assert grace.notes == "Met at the expo\n\nSalutation: Ms."


def test_outlook_and_google_exports_import_whole(ws: Workspace) -> None:
    outlook = import_customers_csv(ws, FIXTURES / "outlook_contacts.csv")
    google = import_customers_csv(ws, FIXTURES / "google_contacts.csv")
    assert outlook.errors == [] and google.errors == []
    fission = customers.get_customer(ws, "Fission AB")
    assert fission.tags == ["Key", "Nordics"]
    assert fission.website == "https://fission.example"
    lise = customers.list_contacts(ws, fission.id)[0]
    assert lise.name == "Lise Meitner"
    assert lise.title == "Physicist"  # "Job Title", not Outlook's "Title" (Dr.)
    assert [e["value"] for e in lise.emails] == [
        "lise@fission.example",
        "l.meitner@fission.example",
    ]
    radium = customers.get_customer(ws, "Radium Institut")
    assert radium.tags == ["myContacts", "VIP"]
    assert customers.list_contacts(ws, radium.id)[0].title == "Director"


def test_excel_cp1252_semicolon_file(ws: Workspace) -> None:
    preview = preview_csv(FIXTURES / "excel_de_cp1252.csv")
    assert (preview.encoding, preview.delimiter) == ("cp1252", ";")
    assert preview.rows[0][:3] == ["Bäckerei Müller GmbH", "Jörg", "Bär"]
    report = import_customers_csv(ws, FIXTURES / "excel_de_cp1252.csv")
    assert report.errors == []
    cafe = customers.get_customer(ws, "Café René")
    assert cafe.industry == "Gastronomie"
    assert cafe.addresses[0]["city"] == "München"
    assert customers.list_contacts(ws, cafe.id)[0].phones[0]["value"] == "+49897654321"


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected"),
    [
        ("cp1252", ",", "cp1252"),
        ("utf-16", "\t", "utf-16"),  # Python writes the BOM
        ("utf-8-sig", ";", "utf-8-sig"),
        ("utf-8", "|", "utf-8"),
        ("utf-16-le", ",", "utf-16-le"),  # no BOM at all
    ],
)
def test_encoding_and_delimiter_detection(
    ws: Workspace, tmp_path: Path, encoding: str, delimiter: str, expected: str
) -> None:
    rows = [
        ["Company", "Contact Name", "Email", "City"],
        ["Hôtel Élysée SARL", "Chloé Dupré", "chloe@elysee.example", "Genève"],
        ["Bäckerei Rößler", "Jürgen Rößler", "jr@roessler.example", "Köln"],
    ]
    path = write_csv(tmp_path / "in.csv", rows, encoding=encoding, delimiter=delimiter)
    preview = preview_csv(path)
    assert (preview.encoding, preview.delimiter) == (expected, delimiter)
    assert preview.headers == rows[0]
    report = import_customers_csv(ws, path)
    assert report.errors == []
    assert customers.get_customer(ws, "Hôtel Élysée SARL").addresses[0]["city"] == "Genève"
    assert customers.list_contacts(ws, "Bäckerei Rößler")[0].name == "Jürgen Rößler"


def test_utf8_bom_file_from_excel(ws: Workspace) -> None:
    report = import_customers_csv(ws, FIXTURES / "excel_utf8_bom.csv")
    assert report.errors == []
    customer = customers.get_customer(ws, "Smørrebrød A/S")  # the BOM is not in the name
    assert customers.list_contacts(ws, customer.id)[0].name == "Søren Ærø"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"\r\n  \r\n", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "Excel workbook"),
        (bytes(range(256)) * 8, "encoding"),
        (b"Company,Email\r\n", "no rows"),
        (b"Colour,Size\r\nred,XL\r\n", "no column for a company or a person"),
        (b"\xff\xfeC\x00o\x00\x00\xd8", "UTF-16"),  # a lone surrogate after the BOM
    ],
)
def test_files_that_are_not_usable_csv(
    ws: Workspace, tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    before = counts(ws)
    with pytest.raises(ValidationError) as caught:
        import_customers_csv(ws, path)
    assert caught.value.field == "file"
    assert problem in caught.value.problem
    assert counts(ws) == before


def test_missing_file_is_a_file_error(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        import_customers_csv(ws, tmp_path / "nowhere.csv")
    assert caught.value.field == "file"


# --- mapping files --------------------------------------------------------------------------


@pytest.mark.parametrize("mapping", ["mapping.toml", "mapping.json"])
def test_mapping_file_overrides_the_guesses(ws: Workspace, mapping: str) -> None:
    preview = preview_csv(FIXTURES / "inhouse.csv", mapping=FIXTURES / mapping)
    assert preview.mapping == {
        "Kunde Nr": None,
        "Kundenname": "customer",
        "Ansprechperson": "contact",
        "Mail": "email",
        "Umsatzklasse": "custom.revenue_class",
    }
    report = import_customers_csv(ws, FIXTURES / "inhouse.csv", mapping=FIXTURES / mapping)
    assert report.errors == []
    assert (report.created_customers, report.created_contacts) == (1, 2)
    hafen = customers.get_customer(ws, "Hafen Logistik KG")
    assert hafen.custom == {"revenue_class": "A"}
    assert query(ws, "SELECT key, type FROM custom_field_defs") == [("revenue_class", "text")]


def test_mapping_can_ignore_a_recognised_column(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [["Company", "Email", "Phone"], ["Acme", "info@acme.example", "not a phone"]],
    )
    report = import_customers_csv(ws, path, mapping={"Phone": ""})
    assert report.errors == []
    assert customers.get_customer(ws, "Acme").phones == []


@pytest.mark.parametrize(
    "mapping",
    [{"Company": "favourite_colour"}, {"Company": "custom."}, {"Company": 3}],
)
def test_bad_mappings_are_refused(tmp_path: Path, mapping: dict[str, Any]) -> None:
    path = write_csv(tmp_path / "in.csv", [["Company"], ["Acme"]])
    with pytest.raises(ValidationError) as caught:
        preview_csv(path, mapping=mapping)
    assert caught.value.field == "mapping"
    assert "Company" in caught.value.problem


def test_unreadable_mapping_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["Company"], ["Acme"]])
    bad = tmp_path / "mapping.toml"
    bad.write_text("this is = = not toml {")
    with pytest.raises(ValidationError) as caught:
        preview_csv(path, mapping=bad)
    assert caught.value.field == "mapping"


# --- rows with problems, individuals, groups ---------------------------------------------


def test_one_bad_value_keeps_the_row_and_the_value_flagged(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "First Name", "Last Name", "Email", "Phone", "Website"],
            ["Acme GmbH", "Anna", "Schmidt", "anna@acme.example", "+49 30 1234567", "acme.de"],
            ["Beta AG", "Ben", "Meier", "ben(at)beta", "", ""],
            ["Gamma KG", "Gina", "Wolf", "", "12", "not a site"],
            ["", "", "", "lost@nowhere.example", "", ""],
            ["", "", "", "", "", ""],
            ["Delta SE", "", "", "", "", ""],
        ],
    )
    report = import_customers_csv(ws, path)
    # Only the row that names nobody is skipped...
    assert [(e.row, e.field) for e in report.errors] == [(5, "name")]
    assert report.rows == 5 and report.skipped == 1  # the blank line is not a row
    assert (report.created_customers, report.created_contacts) == (4, 3)
    # ... and each value kept otherwise is named by row, person and where it went.
    found = {(n.row, n.name, n.field, n.kept) for n in report.notices}
    assert found == {
        (3, "Ben Meier", "email", "unverified"),
        (4, "Gina Wolf", "phone", "unverified"),
        (4, "Gina Wolf", "website", "notes"),
    }
    assert "ben(at)beta" in next(n.problem for n in report.notices if n.row == 3)
    ben = customers.list_contacts(ws, "Beta AG")[0]
    assert ben.emails == [{"label": "work", "value": "ben(at)beta", "unverified": True}]
    gina = customers.list_contacts(ws, "Gamma KG")[0]
    assert gina.phones == [{"label": "work", "value": "12", "unverified": True}]
    gamma = customers.get_customer(ws, "Gamma KG")
    assert gamma.website is None and gamma.notes == "Website: not a site"
    assert report.written and not report.dry_run
    assert report.changes.touches("customer") and report.changes.touches("contact")


@pytest.mark.parametrize("site", [".", "a..b.example", "http://[", "https://" + "w" * 64 + ".de"])
def test_a_web_address_the_url_tools_refuse_keeps_the_row(
    ws: Workspace, tmp_path: Path, site: str
) -> None:
    """An address that urlsplit or IDNA refuses with an error of their own (an empty or
    over-long label, a broken IPv6 bracket) is a doubtful value like any other: it is
    kept in the notes, and the rows before and after it are imported too."""
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "Website"],
            ["Acme GmbH", "acme.de"],
            ["Punkt KG", site],
            ["Zeta AG", "zeta.example"],
        ],
    )
    report = import_customers_csv(ws, path)
    assert report.errors == [] and report.created_customers == 3
    assert [(n.row, n.field, n.kept) for n in report.notices] == [(3, "website", "notes")]
    punkt = customers.get_customer(ws, "Punkt KG")
    assert punkt.website is None and punkt.notes == f"Website: {site}"
    assert customers.get_customer(ws, "Zeta AG").website == "https://zeta.example"


def test_notes_over_a_megabyte_are_cut_and_the_record_kept(ws: Workspace, tmp_path: Path) -> None:
    """A record holds at most 1 MB of notes: a file's longer notes (an exported history)
    are cut to it with a notice, and the company and the person stay."""
    long_notes = "Gesprächsnotiz " * 100_000  # 1.6 MB of UTF-8
    path = write_csv(
        tmp_path / "in.csv",
        [["Company", "Notes"], ["Acme GmbH", "short"], ["Archiv KG", long_notes], ["Zeta AG", ""]],
    )
    report = import_customers_csv(ws, path)
    assert report.errors == [] and report.created_customers == 3
    assert [(n.row, n.field, n.kept) for n in report.notices] == [(3, "notes", "cut")]
    kept = customers.get_customer(ws, "Archiv KG").notes
    assert 900_000 < len(kept.encode("utf-8")) <= 1_000_000
    assert long_notes.startswith(kept)
    card = tmp_path / "long.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nora Lang\r\nORG:Archiv KG\r\n"
        f"NOTE:{'Rückruf erbeten ' * 80_000}\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    cards = import_vcard(ws, card)
    assert cards.errors == [] and cards.created_contacts == 1
    assert [(n.field, n.kept) for n in cards.notices] == [("notes", "cut")]


def test_ids_of_another_program_that_differ_by_case_are_two_records(
    ws: Workspace, tmp_path: Path
) -> None:
    """Salesforce's 15-character ids differ by case alone; rows of one id are one
    customer, as written. Our own ids are UUIDs: read in any case."""
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Customer ID", "Company", "Full Name"],
            ["001A000001abcDE", "Nordwerk AG", "Nina Nord"],
            ["001A000001abcDe", "Südwerk AG", "Sven Süd"],
            ["001A000001abcDE", "Nordwerk AG", "Nils Nord"],
            [acme.id.upper(), "Acme GmbH", "Anna Acme"],
        ],
    )
    report = import_customers_csv(ws, path)
    assert report.errors == []
    assert (report.created_customers, report.created_contacts) == (2, 4)
    assert {c.name for c in customers.list_contacts(ws, "Nordwerk AG")} == {
        "Nina Nord",
        "Nils Nord",
    }
    assert [c.name for c in customers.list_contacts(ws, "Südwerk AG")] == ["Sven Süd"]
    assert [c.name for c in customers.list_contacts(ws, acme.id)] == ["Anna Acme"]


def test_values_kept_from_a_file_leave_no_cycle_for_the_collector(
    ws: Workspace, tmp_path: Path
) -> None:
    """Each doubtful value's problem is kept without the traceback it was raised with:
    those frames, linked up to the import's loop, held the list of doubts the problem
    was put in, so the whole import's data waited for the cyclic collector."""
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "First Name", "Last Name", "Email", "Phone", "Website", "Country"],
            ["Beta AG", "Ben", "Meier", "ben(at)beta", "12", "not a site", "Atlantis"],
            ["Beta AG", "Bea", "Meier", "bea@beta.example", "+44 7700 900123", "", ""],
        ],
    )
    gc.collect()
    gc.disable()
    try:
        report = import_customers_csv(ws, path)
        kept = [n.field for n in report.notices]
        del report
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        cycles = [o for o in gc.garbage if isinstance(o, BaseException | types.FrameType)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert sorted(kept) == ["country", "email", "phone", "phone", "website"]
    assert cycles == []


def test_a_value_kept_unverified_survives_an_edit_but_typing_stays_strict(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "in.csv", [["Company", "Name", "Phone"], ["Acme", "Ann Lee", "999-4445"]]
    )
    import_customers_csv(ws, path)
    ann = customers.list_contacts(ws, "Acme")[0]
    assert ann.phones == [{"label": "work", "value": "999-4445", "unverified": True}]
    # Another edit keeps the value and its mark...
    customers.edit_contact(ws, ann.id, {"title": "Buyer", "phones": ann.phones})
    assert customers.list_contacts(ws, "Acme")[0].phones == ann.phones
    # ... but the same value typed in again is refused, and a valid one clears the mark.
    with pytest.raises(ValidationErrors):
        customers.edit_contact(ws, ann.id, {"phones": ["999-4445"]})
    customers.edit_contact(ws, ann.id, {"phones": [{**ann.phones[0], "value": "+49 30 1234567"}]})
    assert customers.list_contacts(ws, "Acme")[0].phones == [
        {"label": "work", "value": "+49301234567"}
    ]


def test_person_without_company_becomes_an_individual(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "Full Name", "Email", "Mobile"],
            ["", "Zoë Winter", "zoe@winter.example", "+49 151 23456789"],
        ],
    )
    report = import_customers_csv(ws, path)
    assert report.errors == []
    zoe = customers.get_customer(ws, "Zoë Winter")
    assert zoe.kind == "individual"
    assert zoe.emails == [{"label": "work", "value": "zoe@winter.example"}]
    person = customers.list_contacts(ws, zoe.id)[0]
    assert person.name == "Zoë Winter"
    assert person.phones == [{"label": "mobile", "value": "+4915123456789"}]


def test_defaults_match_creating_a_customer_by_hand(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["Company"], ["Acme"]])
    import_customers_csv(ws, path)
    by_hand = customers.create_customer(ws, {"name": "Acme by hand"}).value
    imported = customers.get_customer(ws, "Acme")
    for field in ("kind", "status", "owner", "currency", "tags", "custom"):
        assert getattr(imported, field) == getattr(by_hand, field), field


def test_crash_test_file_shape(ws: Workspace, tmp_path: Path) -> None:
    rows = [["Company", "Contact Name", "Email"]]
    rows += [[f"Batch0 Company {n}", f"Person {n}", f"p{n}@b0-c{n}.example.com"] for n in range(50)]
    report = import_customers_csv(ws, write_csv(tmp_path / "in.csv", rows))
    assert report.errors == []
    assert (report.created_customers, report.created_contacts) == (50, 50)


def test_every_record_has_its_change_log_row_search_document_and_keys(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "Contact Name", "Email", "Phone", "Website"],
            ["Kranbau Nord", "Olaf Peters", "olaf@kranbau.example", "+49 40 123456", "kranbau.de"],
            ["Kranbau Nord", "Frauke Lund", "frauke@kranbau.example", "", ""],
        ],
    )  # fmt: skip
    report = import_customers_csv(ws, path)
    ids = {*report.changes.records["customer"], *report.changes.records["contact"]}
    assert len(ids) == 3
    logged = query(ws, "SELECT record_id, op, entity, fields FROM change_log")
    assert {r[0] for r in logged} == ids
    assert {r[1] for r in logged} == {"insert"}
    assert len({r[0] for r in logged if r[2] == "customer"}) == 1
    assert {r for (r,) in query(ws, "SELECT record_id FROM search_docs")} == ids
    keys = set(query(ws, "SELECT entity, kind, value FROM identity_keys"))
    assert ("contact", "email", "olaf@kranbau.example") in keys
    assert ("contact", "phone", "+4940123456") in keys
    assert ("customer", "host", "kranbau.de") in keys
    hits = search(ws, "Frauke", limit=5)
    assert [(h.entity, strip_marks(h.title)) for h in hits] == [("contact", "Frauke Lund")]


def _writes_are_found(ws: Workspace, word: str) -> None:
    """What an import must leave as it found it, whether it ended or failed: a record
    made, and one renamed, afterwards are each in the change log and found by search
    (by the new name only)."""
    made = customers.create_customer(ws, {"name": f"{word} Neubau"}).value
    customers.edit_customer(ws, made.id, {"name": f"{word} Umbau"})
    assert [strip_marks(h.title) for h in search(ws, f"{word}", limit=5)] == [f"{word} Umbau"]
    assert search(ws, "Neubau", limit=5) == []
    logged = query(ws, "SELECT op FROM change_log WHERE record_id = ? ORDER BY seq", made.id)
    assert [op for (op,) in logged] == ["insert", "update"]
    with ws.read() as session:
        assert search_index.integrity_ok(session.connection())


def test_an_import_indexes_in_bulk_and_leaves_the_index_kept_current(
    ws: Workspace, tmp_path: Path
) -> None:
    report = import_customers_csv(ws, big_file(tmp_path, 30))
    assert (report.created_customers, report.created_contacts) == (30, 30)
    # Every imported document is in its index...
    assert [strip_marks(h.title) for h in search(ws, "Firm 17", limit=1)] == ["Firm 17"]
    assert [strip_marks(h.title) for h in search(ws, "Person 29", limit=1)] == ["Person 29"]
    _writes_are_found(ws, "Werkhalle")
    # ... and edits of imported records after the import are indexed again, one by one.
    firm = next(h for h in search(ws, "Firm 3", limit=5) if strip_marks(h.title) == "Firm 3")
    customers.edit_customer(ws, firm.customer_id, {"name": "Renamed Werft"})
    assert [strip_marks(h.title) for h in search(ws, "Werft", limit=2)] == ["Renamed Werft"]


# --- dry runs and duplicates -------------------------------------------------------------


def test_dry_run_writes_nothing_and_matches_what_is_here(ws: Workspace, tmp_path: Path) -> None:
    existing = customers.create_customer(
        ws, {"name": "Acme GmbH", "emails": ["info@acme.example"]}
    ).value
    customers.add_contact(
        ws, existing.id, {"name": "Anna Schmidt", "emails": ["anna@acme.example"]}
    )
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Company", "Contact Name", "Email"],
            ["ACME Gmbh.", "Anna S.", "Anna@Acme.example"],  # same folded name, same email
            ["Zeta Ltd", "Zed", "zed@zeta.example"],
            ["Zeta Limited", "Zed Two", "zed@zeta.example"],  # duplicates row 3 in the file
            ["Broken", "Bob", "bob@"],
        ],
    )
    before = counts(ws)
    report = import_customers_csv(ws, path, dry_run=True)
    assert counts(ws) == before
    assert report.dry_run and not report.written
    assert report.changes.records == {}
    # Row 2 is Acme and Anna, found by name and email: nothing to make, nothing changed.
    assert (report.created_customers, report.created_contacts) == (3, 3)
    assert (report.updated, report.unchanged, report.skipped) == (0, 1, 0)
    assert [(n.row, n.field, n.kept) for n in report.notices] == [(5, "email", "unverified")]
    found = {(d.row, d.existing_id, d.existing_name, d.reasons) for d in report.duplicates}
    assert found == {
        (4, None, "Zeta Ltd", ("same name as row 3",)),
        (4, None, "Zed", ("same email as row 3",)),
    }


def test_dry_run_only_reads(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["Company"], ["Acme"]])
    writer = sqlite3.connect(ws.paths.database, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")  # someone else is writing right now
        report = import_customers_csv(ws, path, dry_run=True)
        assert report.created_customers == 1
    finally:
        writer.rollback()
        writer.close()


def test_a_csv_without_ids_imported_twice_makes_no_duplicates(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = [
        ["Company", "Name", "Email", "Phone", "Industry"],
        ["Acme", "Ann Lee", "ann@acme.example", "", "Steel"],
        ["Acme", "Bo Ek", "", "+49 30 1234567", ""],
        ["", "Zoë Winter", "zoe@winter.example", "", ""],
    ]
    first = import_customers_csv(ws, write_csv(tmp_path / "a.csv", rows))
    assert (first.created_customers, first.created_contacts) == (2, 3)
    before = counts(ws)
    again = import_customers_csv(ws, write_csv(tmp_path / "a.csv", rows), dry_run=True)
    assert (again.created_customers, again.created_contacts, again.updated) == (0, 0, 0)
    assert again.unchanged == 3 and again.duplicates == []
    # The same people, found by email, phone, or name within the company, are updated.
    rows[1][4] = "Chemicals"
    rows[2][1] = "Bo Ekström"  # found by phone: the name here stays
    rows[3] = ["", "Zoe Winter", "zoe@winter.example", "+49 151 23456789", ""]
    rows.append(["ACME", "Ann Lee", "", "", ""])  # by name within the company
    report = import_customers_csv(ws, write_csv(tmp_path / "b.csv", rows))
    assert (report.created_customers, report.created_contacts, report.errors) == (0, 0, [])
    assert counts(ws)["customers"] == before["customers"]
    assert counts(ws)["contacts"] == before["contacts"]
    assert customers.get_customer(ws, "Acme").industry == "Chemicals"
    zoe = customers.get_customer(ws, "Zoë Winter")
    assert [p.phones for p in customers.list_contacts(ws, zoe.id)] == [
        [{"label": "work", "value": "+4915123456789"}]
    ]
    assert {p.name for p in customers.list_contacts(ws, "Acme")} == {"Ann Lee", "Bo Ek"}


def test_indexing_beside_many_small_batches_misses_no_document(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 7 rows: the indexing thread fills while later batches are written, so
    # its fills see batches whole, in part, or not yet.
    monkeypatch.setattr(importing.writing, "BATCH_ROWS", 7)
    report = import_customers_csv(ws, big_file(tmp_path, 250))
    assert (report.created_customers, report.created_contacts) == (250, 250)
    names = query(ws, "SELECT count(*) FROM search_docs WHERE entity IN ('customer', 'contact')")[
        0
    ][0]
    assert query(ws, "SELECT count(*) FROM search_fts_names_docsize")[0][0] == names
    for n in (0, 6, 7, 133, 249):  # their emails are unique words
        titles = {strip_marks(h.title) for h in search(ws, f"p{n}@firm{n}.example", limit=50)}
        assert f"Person {n}" in titles
    with ws.read() as session:
        assert search_index.integrity_ok(session.connection())


# --- all or nothing ----------------------------------------------------------------------


def big_file(tmp_path: Path, rows: int) -> Path:
    data = [["Company", "Contact Name", "Email"]]
    data += [[f"Firm {n}", f"Person {n}", f"p{n}@firm{n}.example"] for n in range(rows)]
    return write_csv(tmp_path / "big.csv", data)


def test_cancel_during_the_writes_leaves_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing.writing, "BATCH_ROWS", 10)
    written: list[int] = []
    real = bulk_write.BulkWrite.records

    def write_batch(self, customers, contacts):  # type: ignore[no-untyped-def]
        real(self, customers, contacts)
        written.append(len(customers))

    monkeypatch.setattr(bulk_write.BulkWrite, "records", write_batch)
    steps: list[tuple[int, int]] = []
    before = counts(ws)
    with pytest.raises(Cancelled):
        import_customers_csv(
            ws,
            big_file(tmp_path, 60),
            progress=lambda done, total: steps.append((done, total)),
            cancel=lambda: len(written) >= 3,  # after some batches were written
        )
    assert len(written) == 3
    assert counts(ws) == before
    assert all(total == 120 for _done, total in steps)


def test_cancel_while_checking_rows(ws: Workspace, tmp_path: Path) -> None:
    before = counts(ws)
    with pytest.raises(Cancelled):
        import_customers_csv(ws, big_file(tmp_path, 1200), cancel=lambda: True)
    assert counts(ws) == before


def test_a_crash_between_batches_leaves_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers.create_customer(ws, {"name": "Already here"})
    before = counts(ws)
    monkeypatch.setattr(importing.writing, "BATCH_ROWS", 7)
    real = bulk_write.BulkWrite.records
    calls = []

    def failing(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        real(*args)

    monkeypatch.setattr(bulk_write.BulkWrite, "records", failing)
    with pytest.raises(OSError):
        import_customers_csv(ws, big_file(tmp_path, 40))
    assert counts(ws) == before
    # The rollback left the index kept current as before the bulk load set that aside.
    _writes_are_found(ws, "Nachher")
    customers.create_customer(ws, {"name": "After the crash"})
    assert [strip_marks(h.title) for h in search(ws, "crash", limit=2)] == ["After the crash"]


def test_progress_runs_to_the_end(ws: Workspace, tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    import_customers_csv(ws, big_file(tmp_path, 1100), progress=lambda d, t: steps.append((d, t)))
    assert steps[-1] == (2200, 2200)
    assert [d for d, _t in steps] == sorted(d for d, _t in steps)


# --- vCards ------------------------------------------------------------------------------


def test_vcard_21_30_40(ws: Workspace) -> None:
    for name in ("contacts_v21.vcf", "contacts_v30.vcf", "contacts_v40.vcf"):
        report = import_vcard(ws, FIXTURES / name)
        assert report.errors == [], name
    joerg = customers.list_contacts(ws, "Bäckerei Müller GmbH")[0]
    assert joerg.name == "Jörg Bär"
    assert joerg.title == "Einkaufsleiter"
    # ORG's second part is the department: no field here, so it is in the notes.
    assert joerg.notes == "Mag Kaffee\r\nund Kuchen\n\nDepartment: Einkauf"
    assert {p["label"]: p["value"] for p in joerg.phones} == {
        "work": "+49301234567",
        "mobile": "+4915123456789",
    }
    mueller = customers.get_customer(ws, "Bäckerei Müller GmbH")
    assert mueller.addresses[0]["street"] == "Hauptstr. 1"
    john = customers.list_contacts(ws, "Acme Inc.")[0]
    assert john.decision_role == "champion"
    assert john.notes == "Likes golf, and tea"
    assert customers.get_customer(ws, "Acme Inc.").website == "https://acme.example"
    jane = customers.get_customer(ws, "Jane Roe")
    assert jane.kind == "individual"
    forrest = customers.list_contacts(ws, "Bubba Gump Shrimp Co.")[0]
    assert forrest.phones == [{"label": "work", "value": "+14045551212"}]
    assert customers.get_customer(ws, "Bubba Gump Shrimp Co.").addresses[0]["city"] == "Baytown"


def test_vcard_org_joins_an_existing_customer(ws: Workspace) -> None:
    acme = customers.create_customer(ws, {"name": "ACME inc."}).value
    report = import_vcard(ws, FIXTURES / "contacts_v30.vcf")
    assert (report.created_customers, report.created_contacts) == (1, 2)  # Jane's own only
    assert [p.name for p in customers.list_contacts(ws, acme.id)] == ["John Doe"]
    assert customers.get_customer(ws, acme.id).website is None  # an existing one is not edited


def test_vcard_customer_option_forces_the_customer(ws: Workspace) -> None:
    target = customers.create_customer(ws, {"name": "Zentrale"}).value
    report = import_vcard(ws, FIXTURES / "contacts_v30.vcf", customer="Zentrale")
    assert (report.created_customers, report.created_contacts) == (0, 2)
    assert {p.name for p in customers.list_contacts(ws, target.id)} == {"John Doe", "Jane Roe"}
    again = import_vcard(ws, FIXTURES / "contacts_v30.vcf", customer="Zentrale")
    assert (again.created_contacts, again.unchanged) == (0, 2)
    with pytest.raises(NotFoundError):
        import_vcard(ws, FIXTURES / "contacts_v30.vcf", customer="Nobody at all")


def test_vcard_problems_and_dry_run(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good Person\r\nN:Person;Good;;;\r\n"
        "EMAIL:good@person.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad Mail\r\nN:Mail;Bad;;;\r\n"
        "EMAIL:bad@@mail\r\nEND:VCARD\r\n"
    )
    before = counts(ws)
    dry = import_vcard(ws, path, dry_run=True)
    assert counts(ws) == before
    assert dry.errors == []
    assert [(n.row, n.name, n.field, n.kept) for n in dry.notices] == [
        (2, "Bad Mail", "email", "unverified")
    ]
    assert dry.created_contacts == 2
    real = import_vcard(ws, path)
    assert (real.created_customers, real.created_contacts) == (2, 2)
    bad = customers.list_contacts(ws, "Bad Mail")[0]
    assert bad.emails == [{"label": "work", "value": "bad@@mail", "unverified": True}]


@pytest.mark.parametrize(
    "content", ["", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\n", "just some text\n"]
)
def test_unreadable_vcards(ws: Workspace, tmp_path: Path, content: str) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(content)
    with pytest.raises(ValidationError) as caught:
        import_vcard(ws, path)
    assert caught.value.field == "file"


def test_vcard_round_trip(ws: Workspace, tmp_path: Path, data_dir: Path, clock: Any) -> None:
    acme = customers.create_customer(ws, {"name": "Acme, Inc.; Berlin"}).value
    customers.add_contact(
        ws,
        acme.id,
        {
            "name": "Jörg von Bär",
            "emails": ["joerg@acme.example", "j.baer@acme.example"],
            "phones": [{"label": "mobile", "value": "+49 151 23456789"}, "+49 30 1234567"],
            "title": "Head of Purchasing; EMEA",
            "notes": "Two lines,\nwith commas; and semicolons",
        },
    )
    customers.add_contact(ws, acme.id, {"name": "Cher"})
    solo = customers.create_customer(ws, {"name": "Zoë Winter", "kind": "individual"}).value
    customers.add_contact(ws, solo.id, {"name": "Zoë Winter", "emails": ["zoe@winter.example"]})
    out = tmp_path / "contacts.vcf"
    assert export_contacts(ws, out, format="vcf").count == 3

    fresh_dir = tmp_path / "fresh"
    Workspace.open(fresh_dir, auto_backup=False).close()
    fresh = Workspace.open(fresh_dir, auto_backup=False, clock=clock)
    try:
        report = import_vcard(fresh, out)
        assert report.errors == []

        def people(w: Workspace) -> set[tuple[Any, ...]]:
            rows = query(
                w,
                "SELECT c.name, c.kind, p.name, p.title, p.emails, p.phones, p.notes "
                "FROM contacts p JOIN customers c ON c.id = p.customer_id",
            )
            return set(rows)

        assert people(fresh) == people(ws)
    finally:
        fresh.close()


# --- fuzzing -----------------------------------------------------------------------------

KNOWN = {
    "customer": ["Company", "Account Name", "Firma", "Organization"],
    "contact": ["Contact Name", "Full Name", "Name"],
    "email": ["Email", "E-mail Address", "Mail"],
    "phone": ["Phone", "Telefon", "Business Phone"],
    "city": ["City", "Town"],
    "industry": ["Industry", "Branche"],
}
NAMES = st.sampled_from(["Acme GmbH", "ACME GmbH", "Beta AG", "Zoë Winter", "Jörg Bär", "Li"])
CELLS = st.one_of(
    NAMES,
    NAMES,
    st.sampled_from(["anna@acme.example", "zoe@winter.example", "+49 30 123456", "Berlin"]),
    st.just(""),
    st.sampled_from(
        [
            "Acme GmbH", "acme gmbh", "Zoë Winter", "anna@acme.example", "bad@", "no mail",
            "+49 30 1234567", "030 1234567", "12", "  ", "=1+2", "'=SUM(A1)", "-5", "@me",
            'say "hi"', "line\nbreak", "nul\x00byte", "\x00",
        ]
    ),
    st.text(max_size=20),
    st.text(min_size=150, max_size=400),
)  # fmt: skip
JUNK = st.text(
    alphabet=st.characters(blacklist_characters=',;\t|"\r\n\x00', blacklist_categories=("Cs",)),
    max_size=12,
)


def _cell(raw: str) -> str:
    """A cell as the importer reads it (NULs gone, the apostrophe an export puts before a
    formula's first character removed; a lone apostrophe is a value like any other)."""
    cell = raw.replace("\x00", "")
    if cell[:1] == "'" and cell[1:2] and cell[1:2] in "=+-@\t\r":
        cell = cell[1:]
    return cell


def expected_records(
    ws: Workspace, fields: list[str | None], rows: list[list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the issue says an import of these rows creates, by the shared validators."""
    region, made = ws.settings.default_region, ([], [])
    seen: dict[object, str] = {}  # customer key: its name as first spelt
    for raw in rows:
        cells = [_cell(c) for c in raw]
        if not any(c.strip() for c in cells):
            continue
        value = {f: c for f, c in zip(fields, cells, strict=True) if f and c.strip()}
        company, person = value.get("customer"), value.get("contact")
        if not company and not person:
            continue
        reach: dict[str, Any] = {}
        if "email" in value:
            reach["emails"] = [value["email"]]
        if "phone" in value:
            reach["phones"] = [{"label": "work", "value": value["phone"]}]
        patch: dict[str, Any] = {"name": company or person, "owner": ws.author}
        patch["currency"] = ws.settings.currency
        if not company:
            patch["kind"] = "individual"
        if "industry" in value:
            patch["industry"] = value["industry"]
        if "city" in value:
            patch["addresses"] = [{"label": "office", "city": value["city"]}]
        if not person or not company:
            patch.update(reach)
        # A file's values: a wrong email or phone is kept, flagged; only a name refuses.
        try:
            customer = clean_customer(patch, region=region, custom_defs={}, doubts=[])
            contact = (
                clean_contact({"name": person, **reach}, region=region, doubts=[])
                if person
                else None
            )
        except TouchpointError:
            continue
        key = customer["name"].casefold() if company else object()
        if key not in seen:
            seen[key] = customer["name"]  # rows naming it again join it, as first spelt
            made[0].append(customer)
        if contact is not None:
            made[1].append({**contact, "customer": seen[key]})
    return made


CUSTOMER_DEFAULTS: dict[str, Any] = {
    "name": None, "kind": "organisation", "industry": None, "addresses": [], "emails": [],
    "phones": [], "owner": None, "currency": None, "status": "prospect",
}  # fmt: skip


def _canonical(records: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in records)


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(FUZZ, max_examples=12)
@given(data=st.data())
def test_fuzzed_csv_files(tmp_path: Path, clock: Any, data: st.DataObject) -> None:
    _fuzz_in_empty_database(tmp_path, clock, data)


@pytest.mark.slow
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_fuzzed_csv_files_many(tmp_path: Path, clock: Any, data: st.DataObject) -> None:
    _fuzz_in_empty_database(tmp_path, clock, data)


def _fuzz_in_empty_database(tmp_path: Path, clock: Any, data: st.DataObject) -> None:
    # Each example imports into an empty database: rows are matched with what is there.
    folder = tmp_path / uuid.uuid4().hex
    fresh_db.laptop_database(folder)
    ws = Workspace.open(folder, auto_backup=False, clock=clock)
    try:
        _fuzz_one(ws, tmp_path, data)
    finally:
        ws.close()


def _fuzz_one(ws: Workspace, tmp_path: Path, data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, unique=True))
    if not {"customer", "contact"} & set(chosen) and data.draw(st.booleans()):
        chosen.append(data.draw(st.sampled_from(["customer", "contact"])))
    headers: list[str] = [data.draw(st.sampled_from(KNOWN[f])) for f in chosen]
    fields: list[str | None] = list(chosen)
    for junk in data.draw(st.lists(JUNK, max_size=3)):
        if junk.strip() and guess_field(junk) is None and junk.strip() not in headers:
            headers.append(junk.strip())
            fields.append(None)
    order = data.draw(st.permutations(range(len(headers))))
    headers = [headers[i] for i in order]
    fields = [fields[i] for i in order]
    rows = data.draw(
        st.lists(st.lists(CELLS, min_size=len(headers), max_size=len(headers)), max_size=8)
    )
    delimiter = data.draw(st.sampled_from([",", ";", "\t", "|"])) if len(headers) > 1 else ","
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows([headers, *rows])
    if encoding == "cp1252" and not text.getvalue().isascii():
        encoding = "utf-8"  # detecting 1252 is tested above; here every byte must round-trip
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.getvalue().encode(encoding))
    fail_at = data.draw(st.none() | st.integers(min_value=1, max_value=2))

    before = counts(ws)
    try:
        if fail_at is None:
            report = import_customers_csv(ws, path)
        else:
            report = _import_failing_at(ws, path, fail_at)
    except TouchpointError as exc:
        event(f"refused: {type(exc).__name__}")
        assert counts(ws) == before
        return
    except _Injected:
        event("failed mid-import")
        assert counts(ws) == before  # exactly as before: every table and the change log
        return
    event("imported" if report.created_customers else "imported nothing")
    assert isinstance(report, ImportReport)
    after = counts(ws)
    assert after["customers"] - before["customers"] == report.created_customers
    assert after["contacts"] - before["contacts"] == report.created_contacts
    made = report.changes.records
    assert len(made.get("customer", ())) == report.created_customers
    assert len(made.get("contact", ())) == report.created_contacts

    want_customers, want_contacts = expected_records(ws, fields, rows)
    stored = []
    for customer_id in made.get("customer", ()):
        view = customers.get_customer(ws, customer_id)
        stored.append({k: getattr(view, k) for k in CUSTOMER_DEFAULTS})
    assert _canonical(stored) == _canonical(
        [{k: c.get(k, default) for k, default in CUSTOMER_DEFAULTS.items()} for c in want_customers]
    )
    people = []
    for contact_id in made.get("contact", ()):
        (row,) = query(
            ws,
            "SELECT p.name, p.emails, p.phones, c.name FROM contacts p "
            "JOIN customers c ON c.id = p.customer_id WHERE p.id = ?",
            contact_id,
        )
        emails, phones = json.loads(row[1]), json.loads(row[2])
        people.append({"name": row[0], "emails": emails, "phones": phones, "customer": row[3]})
    assert _canonical(people) == _canonical(
        [
            {
                "name": c["name"],
                "emails": c.get("emails", []),
                "phones": c.get("phones", []),
                "customer": c["customer"],
            }
            for c in want_contacts
        ]
    )
    ids = {*made.get("customer", ()), *made.get("contact", ())}
    logged = {r for (r,) in query(ws, "SELECT record_id FROM change_log WHERE op = 'insert'")}
    indexed = {r for (r,) in query(ws, "SELECT record_id FROM search_docs")}
    assert ids <= logged
    assert ids <= indexed


def test_a_write_failing_on_the_background_thread_fails_the_import_and_leaves_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(ws)
    monkeypatch.setattr(importing.writing, "BATCH_ROWS", 5)
    real = search_index.new_documents
    calls = []

    def clashing(records: Any) -> list[tuple[Any, ...]]:
        rows = real(records)
        calls.append(1)
        # The fourth batch of documents repeats one: its INSERT violates the unique
        # (entity, record_id), on the thread that writes them.
        return rows + rows[:1] if len(calls) == 4 else rows

    monkeypatch.setattr(search_index, "new_documents", clashing)
    with pytest.raises(sqlite3.IntegrityError):
        import_customers_csv(ws, big_file(tmp_path, 40))
    assert counts(ws) == before
    _writes_are_found(ws, "Danach")


class _Injected(Exception):
    pass


def _import_failing_at(ws: Workspace, path: Path, fail_at: int) -> ImportReport:
    """An import whose ``fail_at``-th batch (of one row each) raises."""
    real, size = bulk_write.BulkWrite.records, importing.writing.BATCH_ROWS
    calls = []

    def failing(*args: Any) -> None:
        calls.append(1)
        if len(calls) == fail_at:
            raise _Injected()
        real(*args)

    bulk_write.BulkWrite.records, importing.writing.BATCH_ROWS = failing, 1  # type: ignore[method-assign]
    try:
        return import_customers_csv(ws, path)
    finally:
        bulk_write.BulkWrite.records, importing.writing.BATCH_ROWS = real, size  # type: ignore[method-assign]


# --- matching by id, folding by name, custom columns -----------------------------------


def test_rows_without_ids_join_by_name_and_the_report_says_so(ws: Workspace, tmp_path: Path):
    path = write_csv(
        tmp_path / "people.csv",
        [["Account Name", "Full Name"], ["Acme GmbH", "Ann"], ["acme gmbh", "Bob"],
         ["Bolt AG", "Cy"], ["ACME GmbH", "Dee"]],
    )  # fmt: skip
    dry = import_customers_csv(ws, path, dry_run=True)
    assert (dry.created_customers, dry.created_contacts, dry.joined) == (2, 4, 2)
    report = import_customers_csv(ws, path)
    assert (report.created_customers, report.joined) == (2, 2)


def test_companies_are_matched_by_their_names_as_they_are_now(
    ws: Workspace, tmp_path: Path, clock: Any
) -> None:
    """A company is the first live customer of its folded name to be created; a renamed
    customer is found by its new name, a deleted one not at all. A new customer of a
    name here is a likely duplicate of the first such customer by name."""
    first = customers.create_customer(ws, {"name": "eva novak"}).value
    clock.advance(minutes=1)
    second = customers.create_customer(ws, {"name": "Eva Novák"}).value
    renamed = customers.create_customer(ws, {"name": "Hafen AG"}).value
    customers.edit_customer(ws, renamed.id, {"name": "Werft Süd"})
    gone = customers.create_customer(ws, {"name": "Alt Werk"}).value
    customers.delete_customer(ws, gone.id)
    path = write_csv(
        tmp_path / "people.csv",
        [["Company", "Contact Name"], ["EVA NOVAK Ltd", "Anna"], ["Werft Sud", "Ben"],
         ["Hafen", "Cy"], ["Alt Werk", "Dee"]],
    )  # fmt: skip
    report = import_customers_csv(ws, path)
    assert (report.created_customers, report.created_contacts) == (2, 4)
    owners = dict(query(ws, "SELECT name, customer_id FROM contacts"))
    assert owners["Anna"] == first.id and owners["Ben"] == renamed.id
    assert {owners["Cy"], owners["Dee"]}.isdisjoint({renamed.id, gone.id})
    # A person without a company becomes a customer named as they are: "eva novak" and
    # "Eva Novák" fold alike, and the first of them by name is the one said.
    path = write_csv(tmp_path / "solo.csv", [["Contact Name"], ["Eva Novak"]])
    found = import_customers_csv(ws, path, dry_run=True).duplicates
    assert [(d.existing_id, d.reasons) for d in found] == [(second.id, ("same name",))]


def test_rows_with_ids_are_matched_by_id_not_by_name(ws: Workspace, tmp_path: Path):
    here = customers.create_customer(ws, {"name": "Acme GmbH", "industry": "Steel"}).value
    unknown = "0b0e5f8e-4a57-4c1e-9a43-5d3c1e0c7a11"
    path = write_csv(
        tmp_path / "c.csv",
        [["Company", "Industry", "Customer ID"],
         ["Acme GmbH", "Chemicals", here.id],
         ["Acme GmbH", "Food", unknown.upper()],
         ["Acme GmbH", "", "SF-0001"]],
    )  # fmt: skip
    report = import_customers_csv(ws, path)
    assert (report.created_customers, report.updated, report.joined, report.errors) == (
        2, 1, 0, []
    )  # fmt: skip
    assert customers.get_customer(ws, here.id).industry == "Chemicals"
    assert customers.get_customer(ws, unknown).industry == "Food"  # the file's id is kept
    rows = query(ws, "SELECT id FROM customers WHERE industry IS NULL")
    assert len(rows) == 1 and rows[0][0] != "SF-0001"  # not a UUID: a new id
    # The edit is in the change log, as an edit in the window is.
    assert (
        query(ws, "SELECT op FROM change_log WHERE record_id = ? ORDER BY rowid", here.id)[-1][0]
        == "update"
    )


def test_an_id_deleted_here_is_refused(ws: Workspace, tmp_path: Path):
    gone = customers.create_customer(ws, {"name": "Gone"}).value
    customers.delete_customer(ws, gone.id)
    path = write_csv(tmp_path / "c.csv", [["Company", "Customer ID"], ["Gone", gone.id]])
    report = import_customers_csv(ws, path)
    assert [(e.row, e.field) for e in report.errors] == [(2, "Customer ID")]
    assert "restore it first" in report.errors[0].problem
    assert report.created_customers == 0


def test_columns_named_like_a_custom_field_fill_it_typed(ws: Workspace, tmp_path: Path):
    customers.define_custom_field(ws, "tier", "Tier", "choice", ["Gold", "Silver"])
    customers.define_custom_field(ws, "fleet_size", "Fleet size", "number")
    path = write_csv(
        tmp_path / "c.csv",
        [["Company", "Segment", "Tier", "fleet_size"],
         ["Acme", "SMB", "gold", "12"],
         ["Bolt", "", "Bronze", "many"]],
    )  # fmt: skip
    report = import_customers_csv(ws, path)
    assert report.errors == []
    assert [(n.row, n.field, n.kept) for n in report.notices] == [
        (3, "Tier", "notes"),
        (3, "fleet_size", "notes"),
    ]
    assert "'many' is not a number" in report.notices[1].problem
    acme, bolt = query(ws, "SELECT segment, custom, notes FROM customers ORDER BY name")
    assert acme[0] == "SMB" and json.loads(acme[1]) == {"tier": "Gold", "fleet_size": 12}
    # Bolt is kept; its values that are not the fields' types wait in its notes.
    assert json.loads(bolt[1]) == {} and bolt[2] == "Tier: Bronze\nFleet_size: many"


def test_contact_ids_are_kept_and_matched(ws: Workspace, tmp_path: Path):
    person = "5d6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
    rows = [["Company", "Name", "Title", "Contact ID"], ["Acme", "Ann Lee", "Buyer", person]]
    report = import_customers_csv(ws, write_csv(tmp_path / "a.csv", rows))
    assert (report.created_contacts, query(ws, "SELECT id, title FROM contacts")) == (
        1, [(person, "Buyer")]
    )  # fmt: skip
    rows[1][2] = "Head of purchasing"
    again = import_customers_csv(ws, write_csv(tmp_path / "b.csv", rows))
    assert (again.created_contacts, again.updated) == (0, 1)
    assert query(ws, "SELECT id, title FROM contacts") == [(person, "Head of purchasing")]


def test_countries_and_local_phones_per_row(ws: Workspace, tmp_path: Path):
    """Other programs write country names; a local number is read in the row's country."""
    path = write_csv(
        tmp_path / "c.csv",
        [["Company", "Phone", "Country", "Name", "Mobile"],
         ["Wien GmbH", "01 5877777", "Austria", "Eva", "0664 1234567"],
         ["Boston Inc", "(617) 555-0123", "USA", "", ""],
         ["Lyon SA", "04 78 00 00 00", "France", "", ""],
         ["Nowhere", "", "Narnia", "", ""]],
    )  # fmt: skip
    report = import_customers_csv(ws, path)
    assert report.errors == []
    assert [(n.row, n.name, n.field, n.problem, n.kept) for n in report.notices] == [
        (5, "Nowhere", "country", "'Narnia' is not a country code: two letters "
         "(ISO 3166-1), like DE, US or FR", "notes"),
    ]  # fmt: skip
    assert customers.get_customer(ws, "Nowhere").notes == "Country: Narnia"
    found = dict(query(ws, "SELECT name, phones FROM customers"))
    assert json.loads(found["Boston Inc"])[0]["value"] == "+16175550123"
    assert json.loads(found["Lyon SA"])[0]["value"] == "+33478000000"
    (eva,) = query(ws, "SELECT phones FROM contacts")  # the person's: their company's country
    assert [p["value"] for p in json.loads(eva[0])] == ["+4315877777", "+436641234567"]
    countries = {row[0] for row in query(ws, "SELECT addresses FROM customers")}
    assert {json.loads(a)[0]["country"] for a in countries if a != "[]"} == {"AT", "US", "FR"}


def test_a_cards_local_phone_is_read_in_its_addresss_country(ws: Workspace, tmp_path: Path):
    card = tmp_path / "card.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Eva Berger\r\nORG:Wien GmbH\r\n"
        "TEL;TYPE=WORK:01 5877777\r\nADR;TYPE=WORK:;;Ring 1;Wien;;1010;Österreich\r\n"
        "END:VCARD\r\n",
        encoding="utf-8",
    )
    report = import_vcard(ws, card)
    assert report.errors == []
    (phones,) = query(ws, "SELECT phones FROM contacts")
    assert json.loads(phones[0])[0]["value"] == "+4315877777"
    (addresses,) = query(ws, "SELECT addresses FROM customers")
    assert json.loads(addresses[0])[0]["country"] == "AT"


def test_a_card_with_an_unknown_country_and_an_escaped_colon_imports(
    ws: Workspace, tmp_path: Path
) -> None:
    card = tmp_path / "card.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ola Nordmann\r\nORG:Fjord AS\r\n"
        "URL:http\\://www.example1.com\r\nTEL;TYPE=WORK:+1-555-555-5555\r\n"
        "ADR;TYPE=WORK:;;Street 1;Bergen;;5003;COUNTRY BUSINESS\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    report = import_vcard(ws, card)
    assert report.errors == []
    assert {(n.row, n.name, n.field, n.kept) for n in report.notices} == {
        (1, "Ola Nordmann", "country", "notes"),
        (1, "Ola Nordmann", "phone", "unverified"),
    }
    fjord = customers.get_customer(ws, "Fjord AS")
    assert fjord.website == "http://www.example1.com"
    assert fjord.addresses[0]["city"] == "Bergen" and fjord.addresses[0]["country"] is None
    assert fjord.notes == "Country: COUNTRY BUSINESS"
    ola = customers.list_contacts(ws, fjord.id)[0]
    assert ola.phones == [{"label": "work", "value": "+1-555-555-5555", "unverified": True}]


def _statements(ws: Workspace, run: Any) -> int:
    """How many SQL statements ``run`` sends (on SQLAlchemy's connections)."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(ws.db.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(ws.db.engine, "before_cursor_execute", count)
    return len(seen)


def test_matching_rows_without_ids_takes_no_query_per_row(ws: Workspace, tmp_path: Path) -> None:
    def rows(n: int) -> list[list[str]]:
        return [["Company", "Name", "Email", "Phone"]] + [
            [f"Firm {i}", f"Person {i}", f"p{i}@f{i}.example", f"+49 30 {1000000 + i}"]
            for i in range(n)
        ]

    import_customers_csv(ws, write_csv(tmp_path / "all.csv", rows(400)))
    small = _statements(
        ws, lambda: import_customers_csv(ws, write_csv(tmp_path / "s.csv", rows(40)), dry_run=True)
    )
    large = _statements(
        ws,
        lambda: import_customers_csv(ws, write_csv(tmp_path / "l.csv", rows(400)), dry_run=True),
    )
    # Ten times the rows, all of them found here: the lookups are batched.
    assert large <= small + 10


def test_a_cards_labels_follow_its_types_and_the_preferred_comes_first(
    ws: Workspace, tmp_path: Path
) -> None:
    card = tmp_path / "card.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann Lee\r\nORG:Acme\r\n"
        "EMAIL;TYPE=home:ann@lee.example\r\nEMAIL;TYPE=work;PREF=1:ann@acme.example\r\n"
        "TEL;TYPE=fax:+49 30 1234568\r\nTEL;TYPE=cell:+49 151 23456789\r\n"
        "TEL;TYPE=home;PREF=2:+49 30 7654321\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    import_vcard(ws, card)
    ann = customers.list_contacts(ws, "Acme")[0]
    assert ann.emails == [
        {"label": "work", "value": "ann@acme.example"},
        {"label": "home", "value": "ann@lee.example"},
    ]
    assert [(p["label"], p["value"]) for p in ann.phones] == [
        ("home", "+49307654321"),
        ("fax", "+49301234568"),
        ("mobile", "+4915123456789"),
    ]


def test_a_columns_notes_are_added_to_a_matched_records_notes_not_put_instead(
    ws: Workspace, tmp_path: Path
) -> None:
    rows = [["Company", "Name", "Email", "Salutation"], ["Acme", "Ann Lee", "ann@a.example", "Ms."]]
    import_customers_csv(ws, write_csv(tmp_path / "a.csv", rows))
    ann = customers.list_contacts(ws, "Acme")[0]
    assert ann.notes == "Salutation: Ms."
    customers.edit_contact(ws, ann.id, {"notes": "Prefers calls.\n\nSalutation: Ms."})
    again = import_customers_csv(ws, write_csv(tmp_path / "b.csv", rows))
    assert (again.updated, again.unchanged) == (0, 1)
    rows[1][3] = "Dr."
    import_customers_csv(ws, write_csv(tmp_path / "c.csv", rows))
    notes = customers.list_contacts(ws, "Acme")[0].notes
    assert notes == "Prefers calls.\n\nSalutation: Ms.\n\nSalutation: Dr."


def test_a_card_that_cannot_be_read_is_named_and_the_others_come_in(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good Person\r\nEMAIL:good@person.example\r\n"
        "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Bob\r\nthis line is no property\r\n"
        "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Third Person\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    report = import_vcard(ws, path)
    assert [(e.row, e.name, e.field) for e in report.errors] == [(2, "Broken Bob", "card")]
    assert "cannot be read" in report.errors[0].problem
    assert (report.rows, report.created_contacts, report.skipped) == (3, 2, 1)


def test_a_wrong_currency_or_status_waits_in_the_notes_and_the_default_stands(
    ws: Workspace, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [["Company", "Currency", "Status", "Yearly Potential"], ["Acme", "Taler", "Kunde", "viel"]],
    )
    report = import_customers_csv(ws, path)
    assert report.errors == [] and report.created_customers == 1
    assert {n.field for n in report.notices} == {"currency", "status", "yearly potential"}
    acme = customers.get_customer(ws, "Acme")
    assert (acme.currency, acme.status) == (ws.settings.currency, "prospect")
    assert acme.notes == "Status: Kunde\nYearly potential: viel\nCurrency: Taler"


def test_a_cards_categories_become_its_customers_tags_even_when_it_exists(
    ws: Workspace, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme", "tags": ["key"]}).value
    card = tmp_path / "card.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nORG:ACME\r\nCATEGORIES:Trade fair,key\r\n"
        "END:VCARD\r\n",
        encoding="utf-8",
    )
    report = import_vcard(ws, card)
    assert (report.created_customers, report.created_contacts, report.updated) == (0, 1, 1)
    assert customers.get_customer(ws, acme.id).tags == ["key", "Trade fair"]
    assert import_vcard(ws, card).unchanged == 1


def test_cards_of_one_company_each_say_its_doubts_and_differing_fields_are_their_own(
    ws: Workspace, tmp_path: Path
) -> None:
    """A company's fields, cleaned once for the cards that carry the same ones: each
    such card still says their doubts, and a card whose company fields differ (another
    address) or cannot be a company is judged on its own."""

    def card(person: str, org: str, country: str) -> str:
        return (
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{person}\r\nORG:{org}\r\n"
            f"ADR;TYPE=WORK:;;Street 1;Bergen;;5003;{country}\r\nEND:VCARD\r\n"
        )

    long_name = "Fjord " * 40  # longer than a name may be
    path = tmp_path / "cards.vcf"
    path.write_text(
        card("Ola Nordmann", "Fjord AS", "COUNTRY BUSINESS")
        + card("Kari Nordmann", "Fjord AS", "COUNTRY BUSINESS")
        + card("Per Hansen", "Fjord AS", "Norway")
        + card("Liv Berg", long_name, "Norway")
        + card("Nils Berg", long_name, "Norway"),
        encoding="utf-8",
    )
    report = import_vcard(ws, path)
    assert [(n.row, n.field, n.kept) for n in report.notices] == [
        (1, "country", "notes"),
        (2, "country", "notes"),
    ]
    assert [(e.row, e.field, e.name) for e in report.errors] == [
        (4, "company", "Liv Berg"),
        (5, "company", "Nils Berg"),
    ]
    fjord = customers.get_customer(ws, "Fjord AS")
    assert fjord.notes == "Country: COUNTRY BUSINESS"
    assert sorted(c.name for c in customers.list_contacts(ws, fjord.id)) == [
        "Kari Nordmann",
        "Ola Nordmann",
        "Per Hansen",
    ]
