"""vCards as phones, mail programs and address books really write them (see
tests/fixtures/import/real/README.md for where each file comes from): every card
comes in, each property lands on the right record or in the notes, and importing a
file again changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from touchpoint.services import customers
from touchpoint.services.exporting import export_contacts
from touchpoint.services.importing import ImportReport, import_vcard
from touchpoint.services.search import search, strip_marks
from touchpoint.storage.workspace import Workspace

REAL = Path(__file__).parent.parent / "fixtures" / "import" / "real"
FILES = {  # file -> cards it holds
    "John_Doe_ANDROID.vcf": 6,
    "John_Doe_IPHONE.vcf": 1,
    "John_Doe_MS_OUTLOOK.vcf": 1,
    "outlook-2007.vcf": 1,
    "John_Doe_GMAIL.vcf": 1,
    "gmail-list.vcf": 3,
    "rfc6350-example.vcf": 1,
    "rfc6350-kind-org.vcf": 1,
}


def counts(ws: Workspace) -> tuple[int, int]:
    conn = sqlite3.connect(ws.paths.database)
    try:
        return (
            conn.execute("SELECT count(*) FROM customers").fetchone()[0],
            conn.execute("SELECT count(*) FROM contacts").fetchone()[0],
        )
    finally:
        conn.close()


def person(ws: Workspace, company: str) -> Any:
    (found,) = customers.list_contacts(ws, company)
    return found


def kept(report: ImportReport, how: str) -> set[str]:
    return {n.field for n in report.notices if n.kept == how}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_card_of_a_real_file_comes_in_and_again_changes_nothing(
    ws: Workspace, name: str
) -> None:
    report = import_vcard(ws, REAL / name)
    assert report.errors == [], report.errors
    assert report.rows == FILES[name]
    people = 0 if name == "rfc6350-kind-org.vcf" else FILES[name]
    assert report.created_contacts == people
    # Every message names its card by number and by the name on it.
    assert all(n.name for n in report.notices)
    before = counts(ws)
    again = import_vcard(ws, REAL / name)
    assert (again.created_customers, again.created_contacts, again.updated) == (0, 0, 0)
    assert again.unchanged == FILES[name]
    assert counts(ws) == before


def test_android_quoted_printable_soft_line_breaks_and_placeholder_phones(ws: Workspace) -> None:
    report = import_vcard(ws, REAL / "John_Doe_ANDROID.vcf")
    # Cards with only an email are named by it, not dropped.
    john = customers.get_customer(ws, "john.doe@company.com")
    assert john.kind == "individual" and john.tags == ["My Contacts"]
    # A name in quoted-printable UTF-8, over soft line breaks ("=" ending a line).
    eleven = "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ"
    them = customers.list_contacts(ws, eleven)[0]
    # Placeholder numbers are kept as written and marked (those that are numbers in
    # the default region, DE here, are read so), in the card's order.
    assert [p["label"] for p in them.phones] == ["mobile", "home", "mobile", "home"]
    assert them.phones[0] == {"label": "mobile", "value": "123456", "unverified": True}
    assert all(p.get("unverified") or p["value"].startswith("+49") for p in them.phones)
    flagged = [(n.row, n.name) for n in report.notices if n.kept == "unverified"]
    assert (4, eleven) in flagged
    # The card with a photo: its base64 is cut short in the file, so the photo is said
    # not kept (and why), the rest lands.
    conn = sqlite3.connect(ws.paths.database)
    try:  # two companies start with these letters: the one named exactly so
        (company_id,) = conn.execute("SELECT id FROM customers WHERE name = ?", ("Ñ" * 12,))
    finally:
        conn.close()
    bob = person(ws, company_id[0])
    assert bob.emails[0]["value"] == "bob@company.com"
    # The same number as mobile, work and fax: kept once, as the first says.
    assert bob.phones == [{"label": "mobile", "value": "123456", "unverified": True}]
    assert customers.get_customer(ws, company_id[0]).website == "https://www.company.com"
    assert "Web: http://www.company.com" in bob.notes
    assert {(n.row, n.field) for n in report.notices if n.kept == "not kept"} == {(5, "PHOTO")}
    assert bob.photo is None


def test_iphone_card_with_photo_and_cr_cr_lf_lines(ws: Workspace) -> None:
    report = import_vcard(ws, REAL / "John_Doe_IPHONE.vcf")
    john = person(ws, "IBM")
    assert john.name == "Mr. John Richter James Doe Sr."
    assert john.title == "Money Counter"
    assert john.emails == [{"label": "work", "value": "john.doe@ibm.com"}]
    assert [p["label"] for p in john.phones] == [
        "mobile", "home", "work", "fax", "fax", "pager", "assistant phone",
    ]  # fmt: skip
    for line in (
        "Nickname: Johny",
        "Department: Accounting",
        "Birthday: 2012-06-06",
        "Home address: Silicon Alley 5",
    ):
        assert line in john.notes
    ibm = customers.get_customer(ws, "IBM")
    assert ibm.website == "http://www.ibm.com"  # written http\://
    assert [(a["label"], a["city"], a["country"]) for a in ibm.addresses] == [
        ("office", "New York", "US")
    ]
    # The photo is John's picture (tests/services/test_contact_photos.py has its bytes).
    assert "PHOTO" not in kept(report, "not kept")
    assert john.photo is not None and john.photo.mime == "image/jpeg"
    assert {"NICKNAME", "BDAY"} <= set(next(iter(kept(report, "notes"))).split(", "))


def test_outlook_folded_quoted_printable_label_and_notes(ws: Workspace) -> None:
    import_vcard(ws, REAL / "John_Doe_MS_OUTLOOK.vcf")
    import_vcard(ws, REAL / "outlook-2007.vcf")
    john = person(ws, "IBM")
    for line in ("Anniversary: 2011-01-13", "Manager: Big Blue", "Role: Counting Money"):
        assert line in john.notes
    ibm = customers.get_customer(ws, "IBM")
    assert ibm.addresses[0]["street"] == "Cresent moon drive"
    mike = person(ws, "TheCompany")
    assert mike.notes.startswith("This is the NOTE field\t\r\nI assume it encodes this text")
    # URL;WORK is the company's web site, URL;HOME the person's own page.
    assert customers.get_customer(ws, "TheCompany").website == "http://mikeangstadt.name"
    assert "Home page: http://mikeangstadt.name" in mike.notes
    assert [p["label"] for p in mike.phones] == ["work", "home", "mobile", "fax"]


def test_gmail_home_email_comma_in_the_name_and_home_address(ws: Workspace) -> None:
    import_vcard(ws, REAL / "John_Doe_GMAIL.vcf")
    john = person(ws, "IBM")
    assert john.name == "Mr. John Richter, James Doe Sr."  # not cut at the comma
    assert john.emails == [{"label": "home", "value": "john.doe@ibm.com"}]
    assert "Home address: Crescent moon drive" in john.notes
    assert "Spouse: Jenny" in john.notes and "Anniversary: 1975-03-01" in john.notes
    ibm = customers.get_customer(ws, "IBM")
    assert ibm.addresses == []  # the person's home is not the company's address
    assert ibm.website == "http://www.ibm.com"


def test_vcard_40_of_rfc_6350(ws: Workspace) -> None:
    import_vcard(ws, REAL / "rfc6350-example.vcf")
    simon = person(ws, "Viagenie")
    assert simon.phones == [
        {"label": "work", "value": "+14186569254"},
        {"label": "mobile", "value": "+14182626501"},
    ]
    assert "Extension of +1-418-656-9254: 102" in simon.notes
    assert "Home page: http://nomis80.org" in simon.notes
    viagenie = customers.get_customer(ws, "Viagenie")
    assert viagenie.website is None
    assert viagenie.addresses[0]["country"] == "CA"


def test_kind_org_is_a_customer_without_an_invented_person(ws: Workspace) -> None:
    report = import_vcard(ws, REAL / "rfc6350-kind-org.vcf")
    assert (report.created_customers, report.created_contacts) == (1, 0)
    abc = customers.get_customer(ws, "ABC, Inc.")
    assert abc.kind == "organisation"
    assert customers.list_contacts(ws, abc.id) == []
    assert "Department: North American Division; Marketing" in abc.notes
    assert "Name on the card: ABC Marketing" in abc.notes


def test_names_in_two_scripts_are_both_kept_and_found(ws: Workspace, tmp_path: Path) -> None:
    # The ALTID example of RFC 6350 (section 5.4), as a person's name.
    path = tmp_path / "altid.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN;ALTID=1;LANGUAGE=ja:山田太郎\r\n"
        "FN;ALTID=1;LANGUAGE=en:Yamada Taro\r\nORG:ABC\r\n"
        "TITLE;ALTID=1;LANGUAGE=fr:Patron\r\nTITLE;ALTID=1;LANGUAGE=en:Boss\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    import_vcard(ws, path)
    yamada = person(ws, "ABC")
    assert yamada.name == "山田太郎" and yamada.title == "Patron"
    assert "Also written: Yamada Taro" in yamada.notes and "Title: Boss" in yamada.notes
    hits = search(ws, "Yamada", limit=5)
    assert [strip_marks(h.title) for h in hits if h.entity == "contact"] == ["山田太郎"]


def test_our_own_export_imports_back_with_labels_order_and_no_duplicates(
    ws: Workspace, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    jana = customers.add_contact(
        ws,
        acme.id,
        {
            "name": "Jana Novak",
            "title": "Buyer",
            "emails": [
                {"label": "home", "value": "jana@novak.example"},
                {"label": "work", "value": "jana@acme.example"},
            ],
            "phones": [
                {"label": "fax", "value": "+49 30 1234568"},
                {"label": "mobile", "value": "+49 151 23456789"},
                {"label": "pager", "value": "+49 30 1234569"},
                {"label": "work", "value": "+49 30 1234567"},
            ],
        },
    ).value
    out = tmp_path / "contacts.vcf"
    export_contacts(ws, out, format="vcf")
    before = counts(ws)
    again = import_vcard(ws, out)
    assert (again.created_customers, again.created_contacts, again.unchanged) == (0, 0, 1)
    assert counts(ws) == before
    back = customers.list_contacts(ws, acme.id)[0]
    assert back.emails == jana.emails and back.phones == jana.phones
    # The UID names the contact: an edited card updates it, even with another email.
    text = out.read_text(encoding="utf-8").replace("TITLE:Buyer", "TITLE:Head of buying")
    text = text.replace("jana@acme.example", "j.novak@acme.example")
    out.write_text(text, encoding="utf-8")
    edited = import_vcard(ws, out)
    assert (edited.created_contacts, edited.updated) == (0, 1)
    back = customers.list_contacts(ws, acme.id)[0]
    assert back.title == "Head of buying"
    assert [e["value"] for e in back.emails] == [
        "jana@novak.example",
        "jana@acme.example",
        "j.novak@acme.example",
    ]
