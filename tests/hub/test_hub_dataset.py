"""The benchmarks' Hub dataset (tests/benchmarks/make_hub_dataset.py) is what real pushes
make: a small demo book pushed by one laptop per rep over HTTP, and the same book built
in bulk, hold the same users, records, change log, answers and devices."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import PASSWORD, HubServer, Laptop
from sqlalchemy import select

from touchpoint.hub.db import changes, devices, make_engine, memberships, received, records
from touchpoint.hub.db import teams as team_rows
from touchpoint.hub.db import users as user_rows
from touchpoint.services import demo
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import make_hub_dataset

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW  # the Hub's and every laptop's: no clock offset, as in the bulk build


def make_book(folder: Path, reps: list[str]) -> Path:
    save_settings(folder / "config" / "settings.toml", Settings(user=reps[0], timezone="UTC"))
    ws = Workspace.open(folder, auto_backup=False, clock=clock)
    try:
        demo.generate_demo(
            ws, reps=reps, customers=14, contacts=24, interactions=90, followups=25, deals=12
        )
    finally:
        ws.close()
    return folder / "touchpoint.sqlite3"


def laptop_of(book: Path, folder: Path, rep: str) -> None:
    """The book on this rep's laptop, with the rep's own work still to be sent."""
    folder.mkdir()
    shutil.copyfile(book, folder / "touchpoint.sqlite3")
    db = sqlite3.connect(folder / "touchpoint.sqlite3")
    with db:
        db.execute("UPDATE local_meta SET value = ? WHERE key = 'device_id'", (str(uuid.uuid4()),))
        db.execute("UPDATE change_log SET pushed_at = NULL WHERE author = ?", (rep,))
    db.close()


def hub_state(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            email = dict(conn.execute(select(user_rows.c.id, user_rows.c.email)).all())
            team = dict(conn.execute(select(team_rows.c.id, team_rows.c.name)).all())
            member = {}
            for user_id, team_id in conn.execute(select(memberships)):
                member.setdefault(email[user_id], set()).add(team[team_id])
            people = {
                u.email: (u.role, member.get(u.email, set()))
                for u in conn.execute(select(user_rows))
            }
            stored = {
                (r.entity, r.record_id): (r.team, r.data, r.versions)
                for r in conn.execute(select(records))
            }
            log = {}
            seqs = []
            for c in conn.execute(select(changes)):
                seqs.append(c.server_seq)
                log[c.change_id] = (
                    c.device_id, email.get(c.user_id), c.entity, c.record_id, c.team, c.op,
                    c.fields, c.at, c.corrected_at, c.author, c.received_at,
                )  # fmt: skip
            answers = {
                a.change_id: (a.device_id, a.status, a.server_seq is not None, a.error)
                for a in conn.execute(select(received))
            }
            laptops = {
                d.device_id: (email[d.user_id], d.last_seq, d.clock_offset_ms)
                for d in conn.execute(select(devices))
            }
    finally:
        engine.dispose()
    return {
        "people": people,
        "records": stored,
        "log": log,
        "numbered": sorted(seqs) == list(range(1, len(seqs) + 1)),
        "answers": answers,
        "laptops": laptops,
    }


def test_the_bulk_built_hub_equals_one_that_laptops_pushed_to(tmp_path: Path) -> None:
    reps = demo.sales_team(6)  # five teams, the first of two reps
    book = make_book(tmp_path / "book", reps)

    hub = HubServer(f"sqlite:///{tmp_path / 'pushed.sqlite3'}", clock=clock).start()
    laptops = []
    try:
        make_hub_dataset.add_people(hub.db_url, reps, PASSWORD)
        for n, rep in enumerate(reps):
            laptop_of(book, tmp_path / f"laptop{n}", rep)
            laptops.append(Laptop(tmp_path / f"laptop{n}", rep, clock, hub))
        for _round in range(3):  # a child sent before a teammate's customer waits a round
            for laptop in laptops:
                laptop.sync()
        assert all(not laptop.outbox() for laptop in laptops)
        devices_of = {laptop.email: laptop.ws.device_id for laptop in laptops}
    finally:
        for laptop in laptops:
            laptop.close()
        hub.stop()
    pushed = hub_state(hub.db_url)

    bulk_url = f"sqlite:///{tmp_path / 'bulk.sqlite3'}"
    built = make_hub_dataset.build(
        bulk_url, book, now=NOW, password=PASSWORD, devices=devices_of, chunk=100
    )
    bulk = hub_state(bulk_url)

    assert not built.refused
    assert built.counts["customer"] == 14 and built.counts["interaction"] == 90
    assert len(pushed["records"]) == sum(built.counts.values())
    assert {t for _role, ts in bulk["people"].values() for t in ts} == set(
        make_hub_dataset.TEAM_NAMES
    )
    for part in ("people", "records", "log", "answers", "laptops"):
        assert bulk[part] == pushed[part], part
    assert pushed["numbered"] and bulk["numbered"]
