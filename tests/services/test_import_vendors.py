"""The column sets of Outlook, Google Contacts (both formats), Salesforce, HubSpot,
Pipedrive and Zoho exports are recognised: labels, numbered columns, tags, created
times (the header rows and where they come from: tests/fixtures/import/vendors/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from touchpoint.services.import_layouts import detect, label_text
from touchpoint.services.importing import csv_mapping, import_customers_csv, preview_csv
from touchpoint.storage.models import Contact, Customer
from touchpoint.storage.workspace import Workspace

VENDORS = Path(__file__).parent.parent / "fixtures" / "import" / "vendors"


def _records(ws: Workspace) -> tuple[dict[str, Customer], dict[str, Contact]]:
    with ws.read() as session:
        firms = {c.name: c for c in session.scalars(select(Customer))}
        people = {p.name: p for p in session.scalars(select(Contact))}
    return firms, people


def _reach(items: list[dict]) -> list[tuple[str, str]]:
    return [(i["label"], i["value"]) for i in items]


@pytest.mark.parametrize(
    ("name", "program"),
    [
        ("google_old.csv", "Google Contacts (Google CSV)"),
        ("google_new.csv", "Google Contacts (2022 format)"),
        ("outlook.csv", "Microsoft Outlook"),
        ("salesforce.csv", "Salesforce"),
        ("hubspot.csv", "HubSpot"),
        ("pipedrive.csv", "Pipedrive"),
        ("zoho.csv", "Zoho CRM"),
    ],
)
def test_each_program_is_recognised_and_imports_whole(
    ws: Workspace, name: str, program: str
) -> None:
    headers = preview_csv(VENDORS / name).headers
    assert detect(headers) is not None and detect(headers).name == program
    report = import_customers_csv(ws, VENDORS / name)
    assert report.layout == program
    assert report.errors == [] and report.skipped == 0
    # Every column is named, with where it went.
    assert [c.column for c in report.columns] == headers


def test_google_old_format(ws: Workspace) -> None:
    report = import_customers_csv(ws, VENDORS / "google_old.csv")
    firms, people = _records(ws)
    marie = people["Marie Curie"]
    assert _reach(marie.emails) == [
        ("work", "marie@radium.example"),  # "* Work": Google's star marks the primary one
        ("home", "marie.curie@mail.example"),
    ]
    # "Phone 2 - Value" holds two numbers, separated by " ::: ".
    assert _reach(marie.phones) == [
        ("mobile", "+33612345678"),
        ("work", "+33142345678"),
        ("work", "+33142345679"),
    ]
    assert marie.title == "Director"
    assert "Organization 1 - Department: Physics" in marie.notes
    assert "Birthday: 1867-11-07" in marie.notes
    radium = firms["Radium Institut"]
    assert radium.tags == ["Customers", "starred"]  # "* myContacts" is Google's own
    assert (radium.addresses[0]["city"], radium.addresses[0]["country"]) == ("Paris", "FR")
    assert radium.website == "https://radium.example"
    assert _reach(people["Pierre Curie"].emails) == [("other", "pierre@radium.example")]
    uses = {c.column: (c.field, c.note) for c in report.columns}
    assert uses["Phone 1 - Value"] == ("phone", "labels from 'Phone 1 - Type'")
    assert uses["Phone 1 - Type"] == (None, "ignored: the labels of 'Phone 1 - Value'")
    assert uses["Address 1 - Formatted"][0] is None


def test_google_new_format(ws: Workspace) -> None:
    import_customers_csv(ws, VENDORS / "google_new.csv")
    firms, people = _records(ws)
    lise = people["Lise Meitner"]
    assert _reach(lise.emails) == [("work", "lise@fission.example"), ("home", "lise@home.example")]
    assert _reach(lise.phones) == [("work", "+46812345678"), ("mobile", "+46701234567")]
    assert firms["Fission AB"].tags == ["Customers"]
    assert firms["Fission AB"].addresses[0]["country"] == "SE"


def test_outlook_labels_phones_by_their_columns_in_their_order(ws: Workspace) -> None:
    report = import_customers_csv(ws, VENDORS / "outlook.csv")
    _firms, people = _records(ws)
    niels = people["Niels Bohr"]
    assert [label for label, _value in _reach(niels.phones)] == ["fax", "work", "home", "mobile"]
    assert _reach(niels.emails) == [
        ("work", "niels@quantum.example"),
        ("work", "bohr@mail.example"),
    ]
    assert "Title: Dr." in niels.notes and "Birthday: 10/7/1885" in niels.notes
    assert "Anniversary" not in niels.notes  # Outlook's "0/0/00" means none
    uses = {c.column: (c.field, c.note) for c in report.columns}
    assert uses["Mobile Phone"] == ("mobile", "")
    assert uses["E-mail Type"] == (None, "ignored: how Outlook sends to the address (SMTP)")


def test_crm_exports_keep_created_times_labels_and_tags(ws: Workspace) -> None:
    for name in ("salesforce.csv", "hubspot.csv", "zoho.csv", "pipedrive.csv"):
        import_customers_csv(ws, VENDORS / name)
    firms, people = _records(ws)
    grace = people["Grace Hopper"]
    assert [label for label, _v in _reach(grace.phones)] == ["work", "mobile", "fax"]
    # Salesforce writes the user's local time: 2:30 PM in Berlin, summer time.
    assert grace.created_at == datetime(2020, 5, 6, 12, 30, tzinfo=UTC)
    assert "Contact ID: 0035g00000ABCDe" in grace.notes  # Salesforce's id, not ours
    ada = people["Ada Lovelace"]
    assert ada.created_at == datetime(2021, 3, 4, 8, 15, tzinfo=UTC)
    assert firms["Analytical Engines Ltd"].created_at == ada.created_at
    emmy = people["Emmy Noether"]
    assert _reach(emmy.emails) == [("work", "emmy@algebra.example"), ("other", "emmy@home.example")]
    assert firms["Algebra GmbH"].tags == ["Key", "Research"]
    assert emmy.do_not_contact is False
    werner = people["Werner Heisenberg"]
    assert _reach(werner.emails) == [
        ("work", "werner@uncertain.example"),
        ("home", "werner@home.example"),
    ]
    assert [label for label, _v in _reach(werner.phones)] == ["work", "mobile"]
    assert werner.created_at == datetime(2022, 1, 10, 7, 0, tzinfo=UTC)
    assert firms["Uncertainty GmbH"].tags == ["Hot lead"]


def test_a_file_of_no_known_program_is_read_by_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("Company,Name,Email\nAcme,Ann Lee,ann@acme.example\n", encoding="utf-8")
    assert detect(preview_csv(path).headers) is None


@pytest.mark.parametrize(
    ("raw", "label"),
    [("* Mobile", "mobile"), ("Work Fax", "fax"), ("Cell", "mobile"), ("", None), ("Car", "car")],
)
def test_labels_of_other_programs(raw: str, label: str | None) -> None:
    assert label_text(raw) == label


@pytest.mark.parametrize("path", sorted(VENDORS.glob("*.csv")), ids=lambda p: p.name)
def test_the_mapping_the_window_shows_imports_as_the_headers_alone_do(
    ws: Workspace, path: Path
) -> None:
    """The import window pre-fills every column's field (csv_mapping) and imports with
    all of them chosen: unchanged, that is the same import as the headers alone."""
    shown = csv_mapping(ws, path)
    assert set(shown.choices) == set(shown.headers)
    by_headers = import_customers_csv(ws, path, dry_run=True)
    chosen = import_customers_csv(ws, path, dry_run=True, mapping=shown.choices)
    assert chosen.row_changes == by_headers.row_changes and chosen.row_changes
    assert chosen.notices == by_headers.notices
    assert chosen.errors == by_headers.errors
    assert [c.field for c in chosen.columns] == [c.field for c in by_headers.columns]
