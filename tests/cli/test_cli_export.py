"""``touchpoint export``: vCard, CSV and iCalendar files (follow-ups: see cli.reports)."""

from __future__ import annotations

import csv
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


def test_exported_customers_import_back(tp, book, tmp_path: Path, data_dir: Path) -> None:
    customers = tmp_path / "customers.csv"
    tp("export", "customers", "--out", str(customers))
    result = tp("import", "customers", str(customers), "--dry-run")
    assert "dry run of 2 rows" in result.stdout
    assert "may duplicate Acme GmbH" in result.stderr


def test_followups_as_icalendar(tp, book, tmp_path: Path) -> None:
    out = tmp_path / "promises.ics"
    report = tp.json("export", "followups", "--format", "ics", "--out", str(out))
    assert report["count"] == 2
    text = out.read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VEVENT") == 2
    assert "Send the quote" in text
    first = tp.json("followups")[0]
    tp("done", first["id"])
    assert tp.json("export", "followups", "--out", str(out))["count"] == 1
    assert tp.json("export", "followups", "--out", str(out), "--scope", "all")["count"] == 2
    assert tp.json("export", "followups", "--out", str(out), "--mine")["count"] == 1


def test_export_usage_and_unwritable_target(tp, book, tmp_path: Path) -> None:
    tp("export", "contacts", code=2)  # --out is required
    tp("export", "customers", "--format", "xlsx", "--out", str(tmp_path / "x"), code=2)
    result = tp("export", "contacts", "--out", str(tmp_path / "missing" / "x.vcf"), code=1)
    assert result.stderr.startswith("error: out: cannot write to ")
    assert result.stderr.count("\n") == 1
