"""Round trip, field by field: a rich workspace exported (CSV and vCard) and imported into
an EMPTY database gives back the same records, fields, labels, order and created times.

Fields not compared, and why:
- ``created_by``, ``updated_at``, ``updated_by``: who and when the import wrote the
  record (an import is a change made here, now; the change log says so).
- ``deleted_at``, ``merged_into_id``: only live records are exported.
- vCard: the customer's own fields besides its name (and the customer's id): a vCard
  holds people; a customer's fields travel in the customers CSV. The contact is
  compared with the NAME of its customer.
"""

from __future__ import annotations

import csv
import filecmp
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from touchpoint.services import customers as cs
from touchpoint.services.exporting import export_contacts, export_customers_csv
from touchpoint.services.importing import import_customers_csv, import_vcard
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import Contact, Customer, CustomFieldDef
from touchpoint.storage.workspace import Workspace

NOT_COMPARED = {"created_by", "updated_at", "updated_by", "deleted_at", "merged_into_id"}


def _csv_rows(path: Path, *without: str) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: v for k, v in r.items() if k not in without} for r in csv.DictReader(handle)]


def _columns(model: type[Any]) -> list[str]:
    return [c.key for c in model.__table__.columns if c.key not in NOT_COMPARED]


def _snapshot(ws: Workspace) -> dict[str, Any]:
    with ws.read() as session:
        names = {c.id: c.name for c in session.scalars(select(Customer))}
        out: dict[str, Any] = {
            "customers": {
                c.id: {k: getattr(c, k) for k in _columns(Customer)}
                for c in session.scalars(select(Customer))
            },
            "contacts": {
                p.id: {
                    **{k: getattr(p, k) for k in _columns(Contact)},
                    "customer": names[p.customer_id],
                }
                for p in session.scalars(select(Contact))
            },
            "fields": sorted(
                (d.key, d.label, d.type, tuple(d.choices or []))
                for d in session.scalars(select(CustomFieldDef))
            ),
        }
    return out


@pytest.fixture
def rich(ws: Workspace, clock: Any) -> Workspace:
    """Customers and people with every field set: several labelled emails, phones and
    addresses, custom fields of each type, a confirmation, distinct created times."""
    cs.define_custom_field(ws, "fleet", "Fleet size", "number")
    cs.define_custom_field(ws, "renewal", "Renewal", "date")
    cs.define_custom_field(ws, "tier", "Tier", "choice", ["Gold", "Silver"])
    cs.define_custom_field(ws, "erp", "ERP number", "text")
    clock.advance(days=3, seconds=17)
    acme = cs.create_customer(
        ws,
        {
            "name": "Acme GmbH",
            "kind": "organisation",
            "status": "active",
            "industry": "Logistics",
            "segment": "SMB",
            "owner": "tom@example.com",
            "territory": "North",
            "website": "https://acme.example",
            "emails": [
                {"label": "billing", "value": "billing@acme.example"},
                {"label": "work", "value": "info@acme.example"},
            ],
            "phones": [
                {"label": "service", "value": "+49 30 1234568"},
                {"label": "office", "value": "+49 30 1234567"},
                {"label": "fax", "value": "+49 30 1234569"},
            ],
            "addresses": [
                {"label": "office", "street": "Hauptstr. 1", "city": "Berlin",
                 "postcode": "10115", "region": "BE", "country": "DE"},
                {"label": "warehouse", "street": "Hafenweg 9", "city": "Hamburg",
                 "postcode": "20457", "country": "DE"},
            ],
            "tags": ["key", "north"],
            "custom": {"fleet": 12, "renewal": "2027-03-31", "tier": "Gold", "erp": "=A1"},
            "notes": "@SUM(1,2)\nsecond line: with a colon",
            "yearly_potential": "12500.50",
            "currency": "EUR",
        },
    ).value.id  # fmt: skip
    clock.advance(hours=2, seconds=5)
    cs.confirm_customer(ws, acme)
    clock.advance(minutes=7, seconds=13)
    cs.add_contact(
        ws,
        acme,
        {
            "name": "Jana Novak",
            "title": "Head of Purchasing",
            "decision_role": "decision maker",
            "emails": [
                {"label": "work", "value": "jana@acme.example"},
                {"label": "home", "value": "jana.novak@mail.example"},
                {"label": "assistant", "value": "office.jana@acme.example"},
            ],
            # A mobile first, then a work phone and one labelled by the rep.
            "phones": [
                {"label": "mobile", "value": "+49 170 1234567"},
                {"label": "work", "value": "+49 30 1234570"},
                {"label": "car", "value": "+49 171 7654321"},
            ],
            "preferred_channel": "phone",
            "do_not_contact": False,
            "notes": "Prefers mornings.\n+ never on Fridays",
        },
    )
    clock.advance(days=1, seconds=41)
    cs.add_contact(
        ws,
        acme,
        {
            "name": "Ole Berg",
            "decision_role": "other",
            "emails": ["ole@acme.example"],
            "preferred_channel": "visit",
            "do_not_contact": True,
        },
    )
    clock.advance(days=2, minutes=3, seconds=2)
    maria = cs.create_customer(
        ws,
        {
            "name": "Maria Rossi",
            "kind": "individual",
            "status": "prospect",
            "owner": "maria@example.com",
            "tags": ["private"],
            "currency": "EUR",
            "addresses": [{"label": "home", "street": "Via Roma 1", "city": "Milano",
                           "postcode": "20121", "country": "IT"}],
        },
    ).value.id  # fmt: skip
    clock.advance(seconds=59)
    cs.add_contact(
        ws,
        maria,
        {
            "name": "Maria Rossi",
            "emails": [{"label": "home", "value": "maria@rossi.example"}],
            "phones": [{"label": "home", "value": "+39 02 1234567"}],
            "preferred_channel": "email",
        },
    )
    clock.advance(days=10)
    return ws


@pytest.fixture
def fresh(tmp_path: Path, clock: Any) -> Iterator[Workspace]:
    """Another laptop: an empty database, the same user settings."""
    folder = tmp_path / "fresh"
    save_settings(
        folder / "config" / "settings.toml",
        Settings(user="maria@example.com", timezone="Europe/Berlin", default_region="DE"),
    )
    workspace = Workspace.open(folder, auto_backup=False, clock=clock)
    yield workspace
    workspace.close()


def test_csv_round_trip_keeps_every_field(rich: Workspace, fresh: Workspace, tmp_path: Path):
    before = _snapshot(rich)
    assert before["customers"] and len(before["contacts"]) == 3
    customers, people = tmp_path / "customers.csv", tmp_path / "people.csv"
    export_customers_csv(rich, customers)
    export_contacts(rich, people, format="csv")

    first = import_customers_csv(fresh, customers)
    second = import_customers_csv(fresh, people)
    assert (first.errors, second.errors, first.notices, second.notices) == ([], [], [], [])
    assert (first.created_customers, second.created_contacts) == (2, 3)
    after = _snapshot(fresh)
    assert after["fields"] == before["fields"]
    for kind in ("customers", "contacts"):
        assert set(after[kind]) == set(before[kind])  # the same ids
        for record_id, fields in before[kind].items():
            for name, value in fields.items():
                assert after[kind][record_id][name] == value, (kind, fields.get("name"), name)
    # The same files again (Updated aside: when the import wrote them).
    again, people_again = tmp_path / "again.csv", tmp_path / "people-again.csv"
    export_customers_csv(fresh, again)
    export_contacts(fresh, people_again, format="csv")
    assert filecmp.cmp(people, people_again, shallow=False)
    assert _csv_rows(again, "Updated") == _csv_rows(customers, "Updated")
    # And into the same database once more: everything matches, nothing changes.
    report = import_customers_csv(fresh, people)
    assert (report.created_contacts, report.updated, report.unchanged) == (0, 0, 3)


def test_vcard_round_trip_keeps_every_field_of_the_people(
    rich: Workspace, fresh: Workspace, tmp_path: Path
) -> None:
    before = _snapshot(rich)
    cards = tmp_path / "people.vcf"
    export_contacts(rich, cards, format="vcf")
    report = import_vcard(fresh, cards)
    assert (report.errors, report.created_contacts) == ([], 3)
    assert [n for n in report.notices if n.kept != "not kept"] == []
    after = _snapshot(fresh)
    assert set(after["contacts"]) == set(before["contacts"])  # ids kept by UID
    for record_id, fields in before["contacts"].items():
        for name, value in fields.items():
            if name == "customer_id":
                continue  # a new customer (compared by name: "customer")
            assert after["contacts"][record_id][name] == value, (fields["name"], name)
    kinds = {c["name"]: c["kind"] for c in after["customers"].values()}
    assert kinds == {"Acme GmbH": "organisation", "Maria Rossi": "individual"}
    again = tmp_path / "again.vcf"
    export_contacts(fresh, again, format="vcf")
    assert filecmp.cmp(cards, again, shallow=False)
    # Imported again: matched by UID, nothing new, nothing changed.
    twice = import_vcard(fresh, cards)
    assert (twice.created_contacts, twice.updated, twice.unchanged) == (0, 0, 3)


def test_created_times_of_other_programs_are_kept(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "Company,Name,Created Date,Preferred Channel\n"
        "Acme,Ann Lee,2019-05-04T08:15:00Z,email\n"
        "Beta,Bob Ray,05/06/2020 14:30,visit\n"
        "Gamma,Cy Fox,yesterday,phone\n",
        encoding="utf-8",
    )
    report = import_customers_csv(ws, path)
    assert report.skipped == 0
    assert [(n.row, n.name, n.field, n.kept) for n in report.notices] == [
        (4, "Cy Fox", "Created Date", "notes")
    ]
    with ws.read() as session:
        people = {p.name: p for p in session.scalars(select(Contact))}
        firms = {c.name: c for c in session.scalars(select(Customer))}
    assert people["Ann Lee"].created_at == datetime(2019, 5, 4, 8, 15, tzinfo=UTC)
    assert firms["Acme"].created_at == datetime(2019, 5, 4, 8, 15, tzinfo=UTC)
    # Without an offset: the user's time (Europe/Berlin, summer time).
    assert people["Bob Ray"].created_at == datetime(2020, 5, 6, 12, 30, tzinfo=UTC)
    assert people["Cy Fox"].notes == "Created Date: yesterday"
    assert people["Cy Fox"].created_at.year == 2026  # now: the import made it
    assert [people[n].preferred_channel for n in ("Ann Lee", "Bob Ray", "Cy Fox")] == [
        "email",
        "visit",
        "phone",
    ]


def test_edited_lists_update_the_same_database(rich: Workspace, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    export_contacts(rich, people, format="csv")
    rows = _csv_rows(people)
    for row in rows:
        if row["Name"] == "Jana Novak":
            # One number changed, one label changed, one removed, the order turned.
            row["Phones"] = "car: +49 171 7654322\nmobile: +49 170 1234567"
            row["Phone"], row["Mobile"] = "+49 171 7654322", "+49 170 1234567"
    with people.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = import_customers_csv(rich, people)
    assert (report.errors, report.created_contacts, report.updated) == ([], 0, 1)
    with rich.read() as session:
        jana = session.scalars(select(Contact).where(Contact.name == "Jana Novak")).one()
        assert [(p["label"], p["value"]) for p in jana.phones] == [
            ("car", "+491717654322"),
            ("mobile", "+491701234567"),
        ]
        assert len(jana.emails) == 3  # the Emails cell was not touched
