"""Kill -9 in the middle of writes, many times: the database stays intact and every
transaction is either wholly there or wholly absent."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import fresh_db
from touchpoint.storage.backup import integrity
from touchpoint.storage.workspace import Workspace

IMPORT_ROWS = 3000

WRITER = textwrap.dedent(
    """
    import sys
    from touchpoint.storage.workspace import Workspace
    from touchpoint.services.importing import import_customers_csv, import_vcard
    from touchpoint.services.interactions import FollowUpInput, log_interaction

    data, csv_file = sys.argv[1], sys.argv[2]
    ws = Workspace.open(data, auto_backup=False)
    print("ready", flush=True)
    importer = import_vcard if csv_file.endswith(".vcf") else import_customers_csv
    report = importer(ws, csv_file)
    assert not report.errors, report.errors[:3]
    print("logging", flush=True)
    n = 0
    while True:
        n += 1
        log_interaction(
            ws, customer="Crash Anchor", kind="call", notes=f"call {n}",
            followups=[FollowUpInput(title=f"promise {n}a", due="+1d"),
                       FollowUpInput(title=f"promise {n}b", due="+2d")],
        )
    """
)


def _write_csv(path: Path, batch: int, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company", "Contact Name", "Email"])
        for n in range(rows):
            writer.writerow(
                [f"Batch{batch} Company {n}", f"Person {n}", f"p{n}@b{batch}-c{n}.example.com"]
            )


def _write_vcf(path: Path, batch: int, rows: int) -> None:
    """The same people as :func:`_write_csv`'s, as cards: each its company and person."""
    cards = [
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {n}\r\nORG:Batch{batch} Company {n}\r\n"
        f"EMAIL;TYPE=WORK:p{n}@b{batch}-c{n}.example.com\r\nEND:VCARD\r\n"
        for n in range(rows)
    ]
    path.write_text("".join(cards), encoding="utf-8")


def _check(db: Path, rows: int) -> tuple[int, int]:
    assert integrity(db) == []
    conn = sqlite3.connect(db)
    try:
        per_batch = conn.execute(
            "SELECT substr(name, 1, instr(name, ' ') - 1), count(*) FROM customers "
            "WHERE name LIKE 'Batch%' GROUP BY 1"
        ).fetchall()
        imported = 0
        for _batch, count in per_batch:
            # an import is one transaction: each run adds exactly ``rows`` customers
            assert count % rows == 0, per_batch
            imported += count
        contacts = conn.execute(
            "SELECT count(*) FROM contacts p JOIN customers c ON c.id = p.customer_id "
            "WHERE c.name LIKE 'Batch%'"
        ).fetchone()[0]
        assert contacts == imported
        calls = conn.execute("SELECT id FROM interactions").fetchall()
        for (interaction_id,) in calls:
            promises = conn.execute(
                "SELECT count(*) FROM followups WHERE interaction_id = ?", (interaction_id,)
            ).fetchone()[0]
            assert promises == 2  # an interaction and its follow-ups: all or nothing
        # every stored record has its change log rows, and nothing else does
        logged = conn.execute("SELECT count(DISTINCT record_id) FROM change_log").fetchone()[0]
        stored = sum(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("customers", "contacts", "interactions", "followups")
        )
        assert logged == stored
        fts = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
        assert fts == stored
        conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
        return imported, len(calls)
    finally:
        conn.close()


def test_sigkill_during_imports_and_logging(tmp_path: Path) -> None:
    # Smaller imports; each kill aimed at the import or at the logging after it.
    kill_writers(tmp_path, rounds=3, seed=11, rows=300, aimed=True)


def test_sigkill_during_vcard_imports_and_logging(tmp_path: Path) -> None:
    # A vCard import writes its cards while it still checks the next ones, as a CSV's does.
    kill_writers(tmp_path, rounds=3, seed=5, rows=300, cards=True, aimed=True)


@pytest.mark.slow
def test_sigkill_during_imports_and_logging_many_times(tmp_path: Path) -> None:
    kill_writers(tmp_path, rounds=12, seed=11, rows=IMPORT_ROWS)


def kill_writers(
    tmp_path: Path, rounds: int, seed: int, rows: int, *, cards: bool = False, aimed: bool = False
) -> None:
    """``rounds`` writers (a CSV import of ``rows``, or a vCard file of as many cards, then
    interactions with follow-ups) killed after a random while; the database is checked
    after each kill. ``aimed``: even rounds are killed a moment into the import, odd ones
    a moment into the logging that follows it (the writer says when it starts), instead
    of after up to 3.5 s, by when a small import has long finished."""
    from touchpoint.services import customers

    data = tmp_path / "data"
    fresh_db.laptop_database(data)  # migrated once per process, copied
    ws = Workspace.open(data, auto_backup=False)
    customers.create_customer(ws, {"name": "Crash Anchor"})
    ws.close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(seed)
    kills = 0
    progressed = 0
    for round_no in range(rounds):
        csv_file = tmp_path / f"batch{round_no}.{'vcf' if cards else 'csv'}"
        (_write_vcf if cards else _write_csv)(csv_file, round_no, rows)
        proc = subprocess.Popen(
            [sys.executable, str(script), str(data), str(csv_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read() if proc.stderr else ""
        if not aimed:
            # Wide enough that some imports finish even on a slow machine, short enough
            # that most kills land mid-transaction.
            time.sleep(rng.uniform(0.05, 3.5))
        elif round_no % 2 == 0:
            time.sleep(rng.uniform(0.0, 0.08))  # a 300-row import takes some 0.1 s
        else:
            assert proc.stdout.readline().strip() == b"logging"
            time.sleep(rng.uniform(0.02, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        imported, calls = _check(data / "touchpoint.sqlite3", rows)
        progressed = imported + calls
    assert kills == rounds
    assert progressed > 0  # the writers did get work done between kills
