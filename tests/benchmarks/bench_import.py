"""Benchmark of imports into a copy of a dataset: CSV rows, vCards and .eml messages per
second, each first into new records and then again (everything matches: unchanged).

    python tests/benchmarks/make_dataset.py --size S --out bench-data/S
    python tests/benchmarks/bench_import.py --data bench-data/S --rows 20000 --cards 5000

The CSV is written as a CRM export is (company, person, two emails, phones with a
mobile, address, a created time, a column of no field); the vCards as phones write
them (3.0, labelled emails and phones, an address, a note, a UID); the messages are
exchanged with contacts of the dataset. Targets (at L): 5,000 rows/s, 3,000
cards/s, 200 messages/s. Never run at L on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_capture import make_messages
from bench_core import copy_dataset

from touchpoint.services.capture import import_emails
from touchpoint.services.importing import import_customers_csv, import_vcard
from touchpoint.storage.workspace import Workspace

TARGETS = {"csv": 5_000, "vcard": 3_000, "eml": 200}
FIRST = ["Anna", "Ben", "Chloé", "Dario", "Eva", "Femi", "Greta", "Hiro"]
CITIES = [("Leeds", "GB"), ("Bristol", "GB"), ("Zürich", "CH"), ("Köln", "DE")]


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Company", "First Name", "Last Name", "Email", "E-mail 2 Address", "Phone",
             "Mobile", "Street", "City", "Country", "Industry", "Created Date", "Shoe Size"]
        )  # fmt: skip
        for n in range(rows):
            city, country = rng.choice(CITIES)
            writer.writerow(
                [
                    f"Benchmark Import {n // 2} {rng.choice(['Ltd', 'GmbH', 'AG'])}",
                    rng.choice(FIRST),
                    f"Tester{n}",
                    f"person{n}@import{n // 2}.example.com",
                    f"p{n}@mail.example",
                    f"+44 20 7946 {n % 10000:04d}",
                    f"+44 7700 900{n % 1000:03d}",
                    f"{n % 200} High Street",
                    city,
                    country,
                    "Logistics",
                    f"2021-{1 + n % 12:02d}-{1 + n % 28:02d}T09:30:00Z",
                    str(36 + n % 12),
                ]
            )


def make_cards(path: Path, cards: int) -> None:
    rng = random.Random(11)
    lines: list[str] = []
    for n in range(cards):
        given, family = rng.choice(FIRST), f"Cardholder{n}"
        lines += [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:{family};{given};;;",
            f"FN:{given} {family}",
            f"ORG:Card Company {n // 3};Sales",
            "TITLE:Buyer",
            f"EMAIL;TYPE=INTERNET;TYPE=WORK:card{n}@company{n // 3}.example",
            f"EMAIL;TYPE=INTERNET;TYPE=HOME:card{n}@home.example",
            f"TEL;TYPE=CELL:+49 170 {n % 10_000_000:07d}",
            f"TEL;TYPE=WORK:+49 30 {n % 10_000_000:07d}",
            f"ADR;TYPE=WORK:;;Hauptstr. {n % 300};Berlin;;10115;Germany",
            f"BDAY:19{60 + n % 40}-0{1 + n % 9}-1{n % 9}",
            "NOTE:Met at the fair",
            f"UID:urn:uuid:{uuid.UUID(int=random.Random(n).getrandbits(128), version=4)}",
            "END:VCARD",
        ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def contact_emails(db: Path, count: int) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT json_extract(emails, '$[0].value') FROM contacts "
            "WHERE deleted_at IS NULL AND json_array_length(emails) > 0 LIMIT ?",
            (count,),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows if r[0]]


def timed(label: str, count: int, unit: str, run: object) -> float:
    """The rate by the clock; the process's CPU time (every thread) is printed beside it,
    the figure to compare before and after on a machine others share."""
    start, cpu = time.perf_counter(), time.process_time()
    run()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    rate = count / seconds
    print(
        f"{label}: {count:,} {unit} in {seconds:.2f} s = {rate:,.0f} {unit}/s"
        f" (CPU {cpu:.2f} s = {count / cpu:,.0f} {unit}/s)"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="a folder made by make_dataset.py")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--cards", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=1_000)
    parser.add_argument("--only", choices=sorted(TARGETS), help="run one of the three")
    args = parser.parse_args()
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy = root / "data"
        print("copying the dataset...")
        copy_dataset(args.data, copy)
        ws = Workspace.open(copy, auto_backup=False)
        try:
            if args.only in (None, "csv"):
                path = root / "export.csv"
                make_csv(path, args.rows)
                reports = []
                rate = timed(
                    "CSV import",
                    args.rows,
                    "rows",
                    lambda: reports.append(import_customers_csv(ws, path)),
                )
                assert not reports[0].errors, reports[0].errors[:3]
                met &= rate >= TARGETS["csv"]
                timed("CSV again (all match)", args.rows, "rows",
                      lambda: import_customers_csv(ws, path))  # fmt: skip
            if args.only in (None, "vcard"):
                path = root / "cards.vcf"
                make_cards(path, args.cards)
                reports = []
                rate = timed(
                    "vCard import",
                    args.cards,
                    "cards",
                    lambda: reports.append(import_vcard(ws, path)),
                )
                assert not reports[0].errors, reports[0].errors[:3]
                met &= rate >= TARGETS["vcard"]
                timed("vCard again (all match)", args.cards, "cards",
                      lambda: import_vcard(ws, path))  # fmt: skip
            if args.only in (None, "eml"):
                mail = root / "mail"
                mail.mkdir()
                people = contact_emails(copy / "touchpoint.sqlite3", 200)
                paths = make_messages(mail, args.messages, people)
                rate = timed(".eml import", len(paths), "messages",
                             lambda: import_emails(ws, paths))  # fmt: skip
                met &= rate >= TARGETS["eml"]
        finally:
            ws.close()
    print(f"targets (at L) {TARGETS}: {'met' if met else 'NOT met'} at this size")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
