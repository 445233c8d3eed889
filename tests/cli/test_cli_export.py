"""``touchpoint export``: vCard, CSV and iCalendar files (follow-ups: see cli.reports)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest


@pytest.fixture
def book(tp) -> None:
    tp.add_customer("Acme GmbH", "--email", "info@acme.de", "--status", "active")
    tp("contact", "add", "acme", "Jana Novak", "--email", "jana@acme.de", "--phone", "0170 1234567")
    tp.add_customer("Bolt AG")
    tp("contact", "add", "bolt", "Ute Bolt")
    tp(
        "log", "visit", "--customer", "acme",
        "--follow-up", "Send the quote", "--due", "fri 10:00",
        "--follow-up", "Call back", "--due", "tomorrow",
    )  # fmt: skip


def test_contacts_as_vcards(tp, book, tmp_path: Path) -> None:
    out = tmp_path / "people.vcf"
    result = tp("export", "contacts", "--format", "vcf", "--out", str(out))
    assert result.stdout.strip() == f"wrote 2 records to {out} (vcf)"
    text = out.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 2
    assert "Jana Novak" in text and "jana@acme.de" in text
    only = tp.json("export", "contacts", "--out", str(out), "--customer", "bolt")
    assert only == {"count": 1, "format": "vcf", "path": str(out)}


def test_contacts_and_customers_as_csv(tp, book, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    tp("export", "contacts", "--format", "csv", "--out", str(people), "--bom")
    assert people.read_bytes().startswith(b"\xef\xbb\xbf")
    customers = tmp_path / "customers.csv"
    report = tp.json("export", "customers", "--out", str(customers))
    assert report["count"] == 2
    with customers.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert any("Acme GmbH" in row.values() for row in rows)


def _rows(path: Path, *without: str) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: v for k, v in r.items() if k not in without} for r in csv.DictReader(handle)]


@pytest.fixture
def twins(tp) -> dict[str, str]:
    """Two different customers of the same name, custom fields, people on both."""
    tp("field", "define", "fleet_size", "--label", "Fleet size", "--type", "number")
    tp("field", "define", "contract_end", "--label", "Contract end", "--type", "date")
    tp("field", "define", "tier", "--label", "Tier", "--type", "choice", "--choice", "Gold",
       "--choice", "Silver")  # fmt: skip
    ids = {
        "berlin": tp.add_customer("Acme GmbH", "--city", "Berlin", "--country", "DE",
                                  "--field", "fleet_size=12", "--field", "tier=gold",
                                  "--field", "contract_end=2027-03-31", "--segment", "SMB"),
        "munich": tp.add_customer("ACME GmbH", "--city", "München", "--country", "DE",
                                  "--email", "info@acme-muc.de", "--tag", "key"),
    }  # fmt: skip
    tp("contact", "add", ids["berlin"], "Jana Novak", "--email", "jana@acme.de",
       "--phone", "+49 170 1234567")  # fmt: skip
    tp("contact", "add", ids["munich"], "Ute Bolt", "--title", "Buyer")
    return ids


def test_export_imports_back_into_an_empty_database(
    tp, twins: dict[str, str], tmp_path: Path, clock
) -> None:
    customers, people = tmp_path / "customers.csv", tmp_path / "people.csv"
    tp("export", "customers", "--out", str(customers))
    tp("export", "contacts", "--format", "csv", "--out", str(people))
    fresh = type(tp)(tmp_path / "fresh", clock)  # another laptop, an empty database
    result = fresh("import", "customers", str(customers))
    assert "created 2 customers and 0 contacts" in result.stdout
    assert "joined" not in result.stdout  # the two Acmes stay two: their ids differ
    assert "created 0 customers and 2 contacts" in fresh("import", "customers", str(people)).stdout
    again, people_again = tmp_path / "again.csv", tmp_path / "people-again.csv"
    fresh("export", "customers", "--out", str(again))
    fresh("export", "contacts", "--format", "csv", "--out", str(people_again))
    # The same customers (ids, fields, custom fields and their types), the same people,
    # created at the same moments (written in each laptop's own time zone). Updated is
    # when the import wrote them.
    assert _rows(again, "Created", "Updated") == _rows(customers, "Created", "Updated")
    assert _rows(people_again, "Created") == _rows(people, "Created")
    for before_file, after_file in ((customers, again), (people, people_again)):
        moments = [datetime.fromisoformat(r["Created"]) for r in _rows(before_file)]
        assert [datetime.fromisoformat(r["Created"]) for r in _rows(after_file)] == moments
    berlin = fresh.json("customer", "show", twins["berlin"])["customer"]
    assert berlin["custom"] == {"fleet_size": 12, "tier": "Gold", "contract_end": "2027-03-31"}
    # The same file again: every row matches its customer here, nothing changes.
    before = fresh.changes()
    again_out = fresh("import", "customers", str(customers)).stdout
    assert again_out == "nothing imported from 2 rows: 2 rows unchanged (they match what is here)\n"
    assert fresh.changes() == before


def test_export_imports_back_into_the_same_database(tp, twins: dict[str, str], tmp_path: Path):
    customers = tmp_path / "customers.csv"
    tp("export", "customers", "--out", str(customers))
    rows = _rows(customers)
    fleet = "Fleet size (custom field fleet_size: number)"
    for row in rows:
        if row["Customer ID"] == twins["berlin"]:
            row["Industry"], row[fleet], row["City"] = "Chemicals", "40", "Potsdam"
    with customers.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    dry = tp("import", "customers", str(customers), "--dry-run")
    assert "would create 0 customers and 0 contacts, would update 1" in dry.stdout
    before = tp.changes()
    result = tp("import", "customers", str(customers))
    assert "created 0 customers and 0 contacts, updated 1" in result.stdout
    assert tp.changes() == before + 1  # one edit, in the change log
    assert len(tp.json("customer", "list")["customers"]) == 2  # no duplicates
    berlin = tp.json("customer", "show", twins["berlin"])["customer"]
    assert (berlin["industry"], berlin["custom"]["fleet_size"]) == ("Chemicals", 40)
    assert berlin["addresses"][0]["city"] == "Potsdam"
    assert berlin["custom"]["tier"] == "Gold"  # cells that did not change stay
    munich = tp.json("customer", "show", twins["munich"])["customer"]
    assert (munich["industry"], munich["emails"][0]["value"]) == (None, "info@acme-muc.de")


def test_a_bad_custom_value_names_row_and_column(tp, twins: dict[str, str], tmp_path: Path):
    customers = tmp_path / "customers.csv"
    tp("export", "customers", "--out", str(customers))
    text = customers.read_text(encoding="utf-8").replace(",Gold", ",Platinum")
    text = text.replace("2027-03-31", "31.03.2027")
    customers.write_text(text, encoding="utf-8")
    result = tp("import", "customers", str(customers))
    assert "Tier (custom field tier: choice Gold|Silver): 'Platinum' is not one of" in (
        result.stderr
    )
    assert "Contract end (custom field contract_end: date): '31.03.2027' is not a date" in (
        result.stderr
    )
    # The values are not lost: they wait in the customer's notes, the fields unchanged.
    shown = tp.json("customer", "show", twins["berlin"])["customer"]
    assert shown["custom"]["tier"] == "Gold"
    assert "Tier: Platinum" in shown["notes"] and "Contract_end: 31.03.2027" in shown["notes"]


def test_followups_as_icalendar(tp, book, tmp_path: Path) -> None:
    out = tmp_path / "promises.ics"
    report = tp.json("export", "followups", "--format", "ics", "--out", str(out))
    assert report["count"] == 2
    text = out.read_text(encoding="utf-8")
    # To-dos, as the help says: due time, status and the customer.
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VTODO") == 2
    assert "BEGIN:VEVENT" not in text
    assert "Send the quote" in text and "STATUS:NEEDS-ACTION" in text
    assert "CONTACT:Acme GmbH" in text
    tp("export", "followups", "--format", "ics", "--ics-as", "event", "--out", str(out))
    assert out.read_text(encoding="utf-8").count("BEGIN:VEVENT") == 2
    first = tp.json("followups")[0]
    tp("done", first["id"])
    assert tp.json("export", "followups", "--out", str(out))["count"] == 1
    assert tp.json("export", "followups", "--out", str(out), "--scope", "all")["count"] == 2
    assert tp.json("export", "followups", "--out", str(out), "--mine")["count"] == 1


def test_icalendar_takes_dates_and_a_customer(tp, book, tmp_path: Path) -> None:
    out = tmp_path / "promises.ics"
    tp("log", "call", "--customer", "bolt", "--follow-up", "Ring Ute", "--due", "+20d")

    def count(*options: str) -> int:
        return tp.json("export", "followups", "--format", "ics", "--out", str(out), *options)[
            "count"
        ]

    assert count() == 3
    assert count("--customer", "bolt") == 1
    assert count("--from", "today", "--to", "+10d") == 2
    assert count("--from", "+15d", "--to", "+30d", "--customer", "acme") == 0
    tp("export", "followups", "--format", "ics", "--out", str(out), "--from", "+15d")
    assert "Ring Ute" in out.read_text(encoding="utf-8")
    result = tp("export", "followups", "--format", "ics", "--out", str(out), "--customer",
                "nobody at all", code=1)  # fmt: skip
    assert result.stderr.startswith("error: ")


def test_export_usage_and_unwritable_target(tp, book, tmp_path: Path) -> None:
    tp("export", "contacts", code=2)  # --out is required
    refused = tp("export", "customers", "--format", "xlsx", "--out", str(tmp_path / "x"), code=1)
    assert refused.stderr == "error: format: 'xlsx' is not a format of this export; it writes csv\n"
    result = tp("export", "contacts", "--out", str(tmp_path / "missing" / "x.vcf"), code=1)
    assert result.stderr.startswith("error: out: cannot write to ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["export", "activity", "--format", "csv", "--out", "x.xlsx"],
            "error: format: --format csv does not match --out x.xlsx (xlsx by its extension); "
            "give --out a .csv name, or --format xlsx\n",
        ),
        (
            ["export", "contacts", "--format", "vcf", "--out", "people.csv"],
            "error: format: --format vcf does not match --out people.csv (csv by its extension)",
        ),
        (
            ["export", "followups", "--format", "ics", "--out", "promises.json"],
            "error: format: --format ics does not match --out promises.json",
        ),
        (
            ["report", "daily", "--format", "pdf", "--out", "daily.HTML"],
            "error: format: --format pdf does not match --out daily.HTML (html by its extension)",
        ),
        (
            ["export", "customers", "--out", "customers.xlsx"],
            "error: format: 'xlsx' is not a format of this export; it writes csv",
        ),
        (
            ["report", "daily", "--out", "daily.txt"],
            "error: format: give --format (pdf|html|xlsx); --out daily.txt does not say which",
        ),
    ],
)
def test_a_format_that_contradicts_the_file_name_is_refused(
    tp, book, tmp_path: Path, args: list[str], message: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    named = [str(folder / a) if n and args[n - 1] == "--out" else a for n, a in enumerate(args)]
    refused = tp(*named, code=1)
    assert refused.stderr.startswith(message), refused.stderr
    assert list(folder.iterdir()) == []


def test_the_format_comes_from_the_file_name(tp, book, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    assert tp.json("export", "contacts", "--out", str(people))["format"] == "csv"
    assert people.read_text(encoding="utf-8").startswith("Company,Name")
    cards = tmp_path / "people.VCF"
    assert tp.json("export", "contacts", "--out", str(cards))["format"] == "vcf"
    assert cards.read_text(encoding="utf-8").startswith("BEGIN:VCARD")
    # a name that says nothing keeps the export's default, and --format still decides
    assert tp.json("export", "contacts", "--out", str(tmp_path / "people"))["format"] == "vcf"
    plain = tmp_path / "people.txt"
    assert tp.json("export", "contacts", "--format", "csv", "--out", str(plain))["format"] == "csv"
    promises = tmp_path / "promises.ics"
    assert tp.json("export", "followups", "--out", str(promises))["format"] == "ics"
