"""Exports: CSV (formula-safe), vCard 3.0 and iCalendar; streamed, atomic, cancellable."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vobject

from touchpoint.errors import Cancelled, ValidationError
from touchpoint.services import customers, exporting, followups
from touchpoint.services.exporting import (
    atomic_output,
    export_contacts,
    export_customers_csv,
    export_followups_ics,
    neutralise_cell,
    parse_custom_header,
)
from touchpoint.services.importing import import_customers_csv
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace


def read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def acme(ws: Workspace) -> str:
    customer = customers.create_customer(
        ws,
        {
            "name": '=HYPERLINK("http://evil")',
            "emails": ["info@acme.example"],
            "phones": ["+49 30 1234567"],
            "tags": ["key", "north"],
            "addresses": [{"street": "Hauptstr. 1", "city": "Berlin", "country": "DE"}],
            "notes": "@SUM(1,2)\nsecond line",
            "industry": "-Logistics",
        },
    ).value
    customers.add_contact(
        ws,
        customer.id,
        {
            "name": "Jörg Bär",
            "emails": ["joerg@acme.example"],
            "phones": [{"label": "mobile", "value": "+49 151 23456789"}],
            "title": "-Buyer",
        },
    )
    return customer.id


# --- formula injection --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+49 30 1234567", "'+49 30 1234567"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Acme = good", "Acme = good"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise_cell(value: object, expected: str) -> None:
    assert neutralise_cell(value) == expected


def test_customers_csv_is_formula_safe_and_reimports(
    ws: Workspace, acme: str, tmp_path: Path
) -> None:
    out = tmp_path / "customers.csv"
    report = export_customers_csv(ws, out)
    assert (report.count, report.format, report.path) == (1, "csv", out)
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")
    (row,) = read_csv(out)
    assert row["Company"] == '\'=HYPERLINK("http://evil")'
    assert row["Notes"] == "'@SUM(1,2)\nsecond line"
    assert row["Industry"] == "'-Logistics"
    assert row["Phone"] == "'+49301234567"
    assert row["Tags"] == "key, north"
    assert (row["City"], row["Customer ID"]) == ("Berlin", acme)
    assert row["Created"] == "2026-11-18T10:30:00+01:00"  # the user's zone, Europe/Berlin
    for cells in read_csv(out):
        for cell in cells.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    # Touchpoint's own import reads its export back, apostrophes and all.
    # Into the same database it matches the customer by its id: nothing new, nothing
    # changed, no duplicate.
    report_in = import_customers_csv(ws, out, dry_run=True)
    assert report_in.errors == []
    assert (report_in.created_customers, report_in.updated, report_in.duplicates) == (0, 0, [])


def test_bom_for_excel(ws: Workspace, acme: str, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    export_customers_csv(ws, out, bom=True)
    assert out.read_bytes().startswith(b"\xef\xbb\xbfCompany,")
    assert read_csv(out, "utf-8-sig")[0]["Company"].endswith('"http://evil")')


def test_custom_fields_become_columns(ws: Workspace, tmp_path: Path) -> None:
    customers.define_custom_field(ws, "fleet_size", "Fleet size", "number")
    customers.define_custom_field(ws, "tier", "Tier", "choice", ["Gold", "Silver"])
    customers.create_customer(ws, {"name": "Acme", "custom": {"fleet_size": "12"}})
    customers.create_customer(ws, {"name": "Beta", "custom": {"tier": "gold"}})
    out = tmp_path / "customers.csv"
    export_customers_csv(ws, out)
    rows = read_csv(out)
    # The header says what the field is, so that an empty database can define it.
    fleet, tier = "Fleet size (custom field fleet_size: number)", "Tier (custom field tier: "
    tier += "choice Gold|Silver)"
    assert [(r["Company"], r[fleet], r[tier]) for r in rows] == [
        ("Acme", "12", ""),
        ("Beta", "", "Gold"),
    ]
    assert parse_custom_header(tier) == ("tier", "Tier", "choice", ["Gold", "Silver"])
    assert parse_custom_header("Tier") is None


def test_contacts_csv(ws: Workspace, acme: str, tmp_path: Path) -> None:
    out = tmp_path / "contacts.csv"
    report = export_contacts(ws, out, format="csv")
    assert (report.count, report.format) == (1, "csv")
    (row,) = read_csv(out)
    assert (row["Name"], row["Title"], row["Email"]) == (
        "Jörg Bär",
        "'-Buyer",
        "joerg@acme.example",
    )
    assert (row["Phone"], row["Mobile"]) == ("", "'+4915123456789")


def test_contacts_csv_reimports_the_same_people(ws: Workspace, acme: str, tmp_path: Path) -> None:
    person = customers.list_contacts(ws, acme)[0]
    customers.edit_contact(ws, person.id, {"do_not_contact": True, "decision_role": "champion"})
    out = tmp_path / "contacts.csv"
    export_contacts(ws, out, format="csv")
    fresh_root = tmp_path / "fresh"
    Workspace.open(fresh_root, auto_backup=False).close()
    fresh = Workspace.open(fresh_root, auto_backup=False)
    try:
        assert import_customers_csv(fresh, out).errors == []
        (again,) = customers.list_contacts(fresh, '=HYPERLINK("http://evil")')
    finally:
        fresh.close()
    before = customers.list_contacts(ws, acme)[0]
    for field in ("name", "title", "decision_role", "emails", "phones", "do_not_contact"):
        assert getattr(again, field) == getattr(before, field), field


def test_deleted_records_are_not_exported(ws: Workspace, acme: str, tmp_path: Path) -> None:
    other = customers.create_customer(ws, {"name": "Gone"}).value
    customers.add_contact(ws, other.id, {"name": "Gone Person"})
    customers.delete_customer(ws, other.id)
    assert export_customers_csv(ws, tmp_path / "a.csv").count == 1
    assert export_contacts(ws, tmp_path / "b.csv", format="csv").count == 1


def test_contacts_of_one_customer_and_bad_format(ws: Workspace, acme: str, tmp_path: Path) -> None:
    other = customers.create_customer(ws, {"name": "Other"}).value
    customers.add_contact(ws, other.id, {"name": "Olga"})
    assert export_contacts(ws, tmp_path / "a.vcf", format="vcf").count == 2
    assert export_contacts(ws, tmp_path / "b.vcf", format="vcf", customer="Other").count == 1
    with pytest.raises(ValidationError) as caught:
        export_contacts(ws, tmp_path / "c.xls", format="xls")
    assert caught.value.field == "format"
    assert not (tmp_path / "c.xls").exists()


def test_vcards_are_3_0_and_parse_back(ws: Workspace, acme: str, tmp_path: Path) -> None:
    out = tmp_path / "contacts.vcf"
    export_contacts(ws, out, format="vcf")
    (card,) = list(vobject.readComponents(out.read_text(encoding="utf-8")))
    assert card.version.value == "3.0"
    assert card.fn.value == "Jörg Bär"
    assert (card.n.value.given, card.n.value.family) == ("Jörg", "Bär")
    assert card.org.value == ['=HYPERLINK("http://evil")']
    assert card.email.value == "joerg@acme.example"
    assert card.tel.value == "+4915123456789"
    assert card.tel.params["TYPE"] == ["CELL"]
    assert card.uid.value.endswith("@touchpoint")


# --- iCalendar ------------------------------------------------------------------------------


@pytest.fixture
def promises(ws: Workspace, acme: str) -> list[str]:
    logged = log_interaction(
        ws,
        customer=acme,
        kind="visit",
        followups=[
            FollowUpInput(
                title="Send the quote; with prices, and the long terms " + "x" * 60,
                due="2026-11-20 10:00",
                remind="2026-11-20 09:15",
                notes="Ask about\nthe fleet",
            ),
            FollowUpInput(title="Call back", due="2026-11-24 16:00", assigned_to="tom@example.com"),
            FollowUpInput(title="Done already", due="2026-11-19 12:00"),
        ],
    ).value
    ids = [f.id for f in logged.followups]
    followups.complete_followup(ws, ids[2])
    return ids


def test_followups_as_icalendar_todos(ws: Workspace, promises: list[str], tmp_path: Path) -> None:
    out = tmp_path / "todos.ics"
    report = export_followups_ics(ws, out, scope="all")
    assert report.count == 3
    calendar = vobject.readOne(out.read_text(encoding="utf-8"))
    assert calendar.contents.get("vevent") is None
    todos = {t.uid.value: t for t in calendar.vtodo_list}
    quote = todos[f"{promises[0]}@touchpoint"]
    assert quote.due.value == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert quote.status.value == "NEEDS-ACTION"
    assert quote.priority.value == "5"
    assert quote.contact.value == '=HYPERLINK("http://evil")'  # the customer, as text
    assert quote.valarm.trigger.value == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    done = todos[f"{promises[2]}@touchpoint"]
    assert done.status.value == "COMPLETED" and done.completed.value.tzinfo is not None
    assert "dtstart" not in quote.contents  # a to-do is due, it does not take up time


def test_icalendar_dates_and_customer(
    ws: Workspace, promises: list[str], acme: str, tmp_path: Path
) -> None:
    from touchpoint.domain import dates

    start, end = dates.local_range_bounds(
        datetime(2026, 11, 20).date(), datetime(2026, 11, 23).date(), ws.tz
    )
    report = export_followups_ics(
        ws, tmp_path / "w.ics", scope="all", due_from=start, due_before=end, customer_id=acme
    )
    calendar = vobject.readOne((tmp_path / "w.ics").read_text(encoding="utf-8"))
    assert report.count == 1
    assert [t.uid.value for t in calendar.vtodo_list] == [f"{promises[0]}@touchpoint"]
    other = customers.create_customer(ws, {"name": "Other"}).value
    assert export_followups_ics(ws, tmp_path / "o.ics", customer_id=other.id).count == 0
    with pytest.raises(ValidationError) as caught:
        export_followups_ics(ws, tmp_path / "x.ics", kind="memo")
    assert caught.value.field == "ics as"


def test_followups_as_icalendar_events(ws: Workspace, promises: list[str], tmp_path: Path) -> None:
    out = tmp_path / "promises.ics"
    report = export_followups_ics(ws, out, kind="event")
    assert (report.count, report.format) == (2, "ics")
    raw = out.read_bytes()
    lines = raw.split(b"\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends in CRLF
    assert all(len(line) <= 75 for line in lines)  # folded
    calendar = vobject.readOne(raw.decode("utf-8"))
    events = {e.uid.value: e for e in calendar.vevent_list}
    assert set(events) == {f"{promises[0]}@touchpoint", f"{promises[1]}@touchpoint"}
    quote = events[f"{promises[0]}@touchpoint"]
    # 10:00 in Berlin is 09:00 UTC
    assert quote.dtstart.value == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert quote.dtstart.value.utcoffset() == timedelta(0)
    assert quote.summary.value.startswith("Send the quote; with prices, and the long terms x")
    assert quote.summary.value.endswith('(=HYPERLINK("http://evil"))')
    assert "Customer: =HYPERLINK" in quote.description.value
    assert "Ask about\nthe fleet" in quote.description.value
    assert quote.status.value == "CONFIRMED"
    assert quote.valarm.trigger.value == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert quote.valarm.action.value == "DISPLAY"
    call = events[f"{promises[1]}@touchpoint"]  # the default reminder: 15 minutes before
    assert call.valarm.trigger.value == datetime(2026, 11, 24, 14, 45, tzinfo=UTC)


def test_icalendar_uids_are_stable(ws: Workspace, promises: list[str], tmp_path: Path) -> None:
    export_followups_ics(ws, tmp_path / "a.ics")
    followups.reschedule_followup(ws, promises[0], "2026-11-21 11:00")
    export_followups_ics(ws, tmp_path / "b.ics")
    first = vobject.readOne((tmp_path / "a.ics").read_text())
    second = vobject.readOne((tmp_path / "b.ics").read_text())
    assert {e.uid.value for e in first.vtodo_list} == {e.uid.value for e in second.vtodo_list}


def test_icalendar_scope_and_assignee(ws: Workspace, promises: list[str], tmp_path: Path) -> None:
    everything = export_followups_ics(ws, tmp_path / "all.ics", scope="all")
    assert everything.count == 3
    tom = export_followups_ics(ws, tmp_path / "tom.ics", assigned_to="tom@example.com")
    assert tom.count == 1
    followups.cancel_followup(ws, promises[1])
    export_followups_ics(ws, tmp_path / "c.ics", scope="all")
    calendar = vobject.readOne((tmp_path / "c.ics").read_text())
    statuses = {e.uid.value.split("@")[0]: e.status.value for e in calendar.vtodo_list}
    assert statuses[promises[1]] == "CANCELLED"
    with pytest.raises(ValidationError) as caught:
        export_followups_ics(ws, tmp_path / "d.ics", scope="someday")
    assert caught.value.field == "scope"


# --- streaming, progress, cancel, atomic files ----------------------------------------------


def many_customers(ws: Workspace, count: int) -> None:
    rows = "Company,Email\r\n" + "".join(f"Firm {n},f{n}@firm{n}.example\r\n" for n in range(count))
    path = ws.paths.data_dir / "many.csv"
    path.write_text(rows)
    import_customers_csv(ws, path)


def test_progress_is_reported(ws: Workspace, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(exporting, "STREAM_ROWS", 10)
    many_customers(ws, 35)
    steps: list[tuple[int, int]] = []
    export_customers_csv(ws, tmp_path / "c.csv", progress=lambda d, t: steps.append((d, t)))
    assert steps[0] == (0, 35)
    assert steps[-1] == (35, 35)
    assert [d for d, _t in steps] == sorted(d for d, _t in steps)


@pytest.mark.parametrize("kind", ["customers", "contacts-csv", "contacts-vcf", "ics"])
def test_cancel_leaves_no_file(ws: Workspace, tmp_path: Path, monkeypatch: Any, kind: str) -> None:
    monkeypatch.setattr(exporting, "STREAM_ROWS", 5)
    many_customers(ws, 30)
    for n in range(12):
        customers.add_contact(ws, f"Firm {n}", {"name": f"Person {n}"})
        log_interaction(
            ws, customer=f"Firm {n}", kind="call", followups=[FollowUpInput("Call", due="+1d")]
        )
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "export.out"
    out.write_text("the previous export")
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2  # after some rows were written

    run = {
        "customers": lambda: export_customers_csv(ws, out, cancel=cancel),
        "contacts-csv": lambda: export_contacts(ws, out, format="csv", cancel=cancel),
        "contacts-vcf": lambda: export_contacts(ws, out, format="vcf", cancel=cancel),
        "ics": lambda: export_followups_ics(ws, out, cancel=cancel),
    }[kind]
    with pytest.raises(Cancelled):
        run()
    assert out.read_text() == "the previous export"  # untouched
    assert [p.name for p in folder.iterdir()] == ["export.out"]  # no temp file left


def test_unwritable_target_leaves_nothing(ws: Workspace, acme: str, tmp_path: Path) -> None:
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    missing = tmp_path / "no such folder" / "c.csv"
    with pytest.raises(ValidationError) as caught:
        export_customers_csv(ws, missing)
    assert caught.value.field == "out"
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    with pytest.raises(ValidationError):
        export_contacts(ws, blocker / "c.vcf", format="vcf")
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(ValidationError):
        export_followups_ics(ws, folder)  # the target is a folder: the rename fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "a folder"]
    assert list(folder.iterdir()) == []


def test_atomic_output_removes_the_temp_file_on_error(tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    with pytest.raises(RuntimeError), atomic_output(out) as temp:
        temp.write_bytes(b"half")
        assert temp.parent == tmp_path and temp != out
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(out) as temp:
        temp.write_bytes(b"whole")
    assert out.read_bytes() == b"whole"
    assert list(tmp_path.iterdir()) == [out]
