"""An import looks up a file's rows a part at a time and writes the rows it has planned
while it plans the next: every row matches exactly what a lookup of the whole file finds."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from touchpoint.services import customers
from touchpoint.services.importing import (
    ImportReport,
    import_customers_csv,
    import_vcard,
    planning,
    vcard_import,
    writing,
)
from touchpoint.storage import bulk_write
from touchpoint.storage.workspace import Workspace

PART_SIZES = (1, 2, 3, 1000)  # 1000: the whole file in one part


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _records_here(ws: Workspace) -> dict[str, str]:
    """Records the files below match: a company with three people (by email, phone and
    name), and two people on their own who hold the same email (the first made holds
    the lower id), the second also another."""
    acme = customers.create_customer(
        ws, {"name": "Acme", "industry": "Steel", "website": "acme.example"}
    ).value
    customers.add_contact(ws, acme.id, {"name": "Ann Lee", "emails": ["ann@acme.example"]})
    customers.add_contact(ws, acme.id, {"name": "Bo Ek", "phones": ["+49 30 1234567"]})
    customers.add_contact(ws, acme.id, {"name": "Cleo Park"})
    one = customers.create_customer(
        ws, {"name": "Twin One", "kind": "individual", "emails": ["shared@twins.example"]}
    ).value
    two = customers.create_customer(
        ws,
        {
            "name": "Twin Two",
            "kind": "individual",
            "emails": ["early@twins.example", "shared@twins.example"],
        },
    ).value
    assert one.id < two.id
    return {"acme": acme.id, "one": one.id, "two": two.id}


def _copies(ws: Workspace, data_dir: Path, tmp_path: Path) -> list[Path]:
    ws.close()
    out = []
    for size in PART_SIZES:
        copy = tmp_path / f"copy-{size}"
        shutil.copytree(data_dir, copy)
        out.append(copy)
    return out


def _outcome(report: ImportReport, data: Path) -> dict[str, Any]:
    """The report and what the import left, without the ids of records it made."""
    conn = sqlite3.connect(data / "touchpoint.sqlite3")
    try:
        made = conn.execute(
            "SELECT c.name, p.name, p.emails, p.phones FROM contacts p "
            "JOIN customers c ON c.id = p.customer_id ORDER BY 1, 2, 3, 4"
        ).fetchall()
        firms = conn.execute(
            "SELECT name, kind, industry, emails, phones FROM customers ORDER BY 1, 2, 3, 4"
        ).fetchall()
    finally:
        conn.close()
    return {
        "counts": (
            report.created_customers,
            report.created_contacts,
            report.updated,
            report.unchanged,
            report.joined,
            report.skipped,
        ),
        "errors": report.errors,
        "notices": report.notices,
        "rows": report.row_changes,
        "duplicates": report.duplicates,
        "contacts": made,
        "customers": firms,
    }


CSV_ROWS = [
    ["Company", "Name", "Email", "Phone", "Industry", "Website"],
    ["Acme", "Ann Lee", "ann@acme.example", "", "Chemicals", ""],  # by email
    ["NewCo", "Dan Roe", "dan@newco.example", "", "", ""],  # new
    ["", "Xia Person", "early@twins.example", "", "", ""],  # Twin Two, its own email
    ["ACME", "Bo Ekström", "", "+49 30 1234567", "", ""],  # by phone, its name stays
    ["NewCo", "Eve Roe", "eve@newco.example", "", "", ""],  # joins the row above's company
    ["Acme", "Cleo Park", "", "+49 40 7654321", "", ""],  # by name within the company
    ["", "Yan Person", "shared@twins.example", "", "", ""],  # both twins hold it: the first
    ["Other Ltd", "Dan Two", "dan@newco.example", "", "", ""],  # as row 3: a duplicate
    ["newco", "Fay Roe", "", "", "", ""],  # joins NewCo
    ["", "Zed Solo", "zed@solo.example", "", "", ""],  # new
    ["", "Zed Again", "zed@solo.example", "", "", ""],  # new again, reported as row 11's
    ["Acme Holdings", "", "", "", "", "www.acme.example"],  # new, as Acme's web site
    ["Acme Trading", "", "", "", "", "acme.example"],  # the same again
]


def test_a_csv_looked_up_a_part_at_a_time_matches_as_looked_up_whole(
    ws: Workspace, data_dir: Path, tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _records_here(ws)
    path = write_csv(tmp_path / "rows.csv", CSV_ROWS)
    outcomes = []
    for size, copy in zip(PART_SIZES, _copies(ws, data_dir, tmp_path), strict=True):
        monkeypatch.setattr(planning, "LOOKUP_ROWS", size)
        monkeypatch.setattr(writing, "DUPLICATE_ROWS", size)
        monkeypatch.setattr(writing, "BATCH_ROWS", 2)  # written while the rest is planned
        with Workspace.open(copy, auto_backup=False, clock=clock) as here:
            report = import_customers_csv(here, path)
        outcomes.append(_outcome(report, copy))
    whole = outcomes[-1]
    for outcome in outcomes[:-1]:
        assert outcome == whole
    # And what the whole lookup finds is right.
    assert whole["counts"] == (6, 8, 2, 1, 2, 0)  # made, made, updated, unchanged, joined
    assert [(c.row, c.action) for c in whole["rows"]] == [
        (2, "update"),  # Ann, by email
        (3, "create"),
        (4, "create"),  # Xia, the person of Twin Two (by its own email)
        (5, "unchanged"),  # Bo, by phone
        (6, "create"),
        (7, "update"),  # Cleo, by name within Acme: the phone is added
        (8, "create"),  # Yan, the person of the first twin
        (9, "create"),
        (10, "create"),
        (11, "create"),
        (12, "create"),
        (13, "create"),
        (14, "create"),
    ]
    people = {c[1]: c[0] for c in whole["contacts"]}
    assert (people["Xia Person"], people["Yan Person"]) == ("Twin Two", "Twin One")
    assert people["Fay Roe"] == people["Eve Roe"] == "NewCo"
    assert {d.row for d in whole["duplicates"]} == {9, 12, 13, 14}
    for row in (13, 14):
        assert ids["acme"] in [d.existing_id for d in whole["duplicates"] if d.row == row]
    assert ids["one"] < ids["two"]


def _card(name: str, email: str = "", phone: str = "", org: str = "") -> str:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"FN:{name}",
        f"N:{name.rsplit(maxsplit=1)[-1]};{name.split(maxsplit=1)[0]}",
    ]
    lines += [f"ORG:{org}"] if org else []
    lines += [f"EMAIL:{email}"] if email else []
    lines += [f"TEL;TYPE=WORK:{phone}"] if phone else []
    return "\r\n".join([*lines, "END:VCARD"])


CARDS = [
    _card("Ann Lee", "ann@acme.example", org="Acme"),
    _card("Dan Roe", "dan@newco.example", org="NewCo"),
    _card("Xia Person", "early@twins.example"),
    _card("Bo Ek", phone="+49 30 1234567", org="ACME"),
    _card("Eve Roe", "eve@newco.example", org="NewCo"),
    _card("Cleo Park", phone="+49 40 7654321", org="Acme"),
    _card("Yan Person", "shared@twins.example"),
    _card("Dan Two", "dan@newco.example", org="Other Ltd"),
    _card("Zed Solo", "zed@solo.example"),
]


@pytest.mark.parametrize("forced", [None, "Acme"])
def test_vcards_looked_up_a_part_at_a_time_match_as_looked_up_whole(
    ws: Workspace,
    data_dir: Path,
    tmp_path: Path,
    *,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    forced: str | None,
) -> None:
    _records_here(ws)
    path = tmp_path / "cards.vcf"
    path.write_text("\r\n".join(CARDS) + "\r\n", encoding="utf-8")
    outcomes = []
    for size, copy in zip(PART_SIZES, _copies(ws, data_dir, tmp_path), strict=True):
        monkeypatch.setattr(vcard_import, "LOOKUP_ROWS", size)
        monkeypatch.setattr(writing, "DUPLICATE_ROWS", size)
        monkeypatch.setattr(writing, "BATCH_ROWS", 2)
        with Workspace.open(copy, auto_backup=False, clock=clock) as here:
            report = import_vcard(here, path, customer=forced)
        outcomes.append(_outcome(report, copy))
    whole = outcomes[-1]
    for outcome in outcomes[:-1]:
        assert outcome == whole
    assert [(c.row, c.action) for c in whole["rows"]] == [
        (1, "unchanged"),  # Ann, by email
        (2, "create"),
        (3, "create"),
        (4, "unchanged"),  # Bo, by phone
        (5, "create"),
        (6, "update"),  # Cleo, by name within Acme: the phone is added
        (7, "create"),
        (8, "create"),
        (9, "create"),
    ]
    people = {c[1]: c[0] for c in whole["contacts"]}
    assert {people[n] for n in ("Ann Lee", "Bo Ek", "Cleo Park")} == {"Acme"}
    if forced:  # every card's person is one of Acme's
        assert whole["counts"][0] == 0
        assert set(people.values()) == {"Acme"}
    else:
        assert (people["Xia Person"], people["Yan Person"]) == ("Twin Two", "Twin One")
        assert people["Eve Roe"] == "NewCo"


def test_planned_rows_are_written_while_later_ones_are_planned_even_when_some_match(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first rows match records here: the plan reads them on a session of its own,
    # so the rows after them need not wait for the whole file to be planned.
    _records_here(ws)
    events: list[str] = []
    real_flush, real_lookup = writing._Writer._flush, planning._known_records

    def flush(self: Any) -> None:
        if self._batch:
            events.append("write")
        real_flush(self)

    def lookup(*args: Any, **kwargs: Any) -> Any:
        events.append("lookup")
        return real_lookup(*args, **kwargs)

    monkeypatch.setattr(writing._Writer, "_flush", flush)
    monkeypatch.setattr(planning, "_known_records", lookup)
    monkeypatch.setattr(planning, "LOOKUP_ROWS", 3)
    monkeypatch.setattr(writing, "BATCH_ROWS", 1)
    report = import_customers_csv(ws, write_csv(tmp_path / "rows.csv", CSV_ROWS))
    assert (report.created_contacts, report.updated) == (8, 2)
    assert events.count("lookup") == 3  # 13 rows: 3, then 6, then the last 4
    assert events.index("write") < len(events) - 1 - events[::-1].index("lookup")
    # The updates were made on the import's own records: they are saved.
    assert customers.get_customer(ws, "Acme").industry == "Chemicals"
    assert {p.name for p in customers.list_contacts(ws, "Acme")} == {
        "Ann Lee",
        "Bo Ek",
        "Cleo Park",
    }


def test_the_first_rows_go_to_the_idle_bulk_load_thread_at_once(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = bulk_write.BulkWrite.records

    def records(self: Any, customers: Any, contacts: Any) -> None:
        sizes.append(len(contacts))
        real(self, customers, contacts)

    monkeypatch.setattr(bulk_write.BulkWrite, "records", records)
    monkeypatch.setattr(writing, "EARLY_ROWS", 3)
    monkeypatch.setattr(writing, "BATCH_ROWS", 1000)
    rows = [["Company", "Name"], *([f"Firm {n}", f"Person {n}"] for n in range(20))]
    report = import_customers_csv(ws, write_csv(tmp_path / "rows.csv", rows))
    assert report.created_contacts == 20
    assert sizes[0] == 3  # not 20: the thread had nothing to do
    assert sum(sizes) == 20


def test_parts_start_small_and_grow_to_the_most_looked_up_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(planning, "LOOKUP_MAX", 8)
    assert planning._parts(30, 2) == {0: 2, 2: 4, 6: 8, 14: 8, 22: 8}
    assert planning._parts(5, 250) == {0: 5}
    assert planning._parts(0, 250) == {}
