"""The Hub's two write paths (SQLAlchemy Core on SQLite, a psycopg pipeline on PostgreSQL)
behind one interface: the same pushes, run on each database, store the same rows and the
same JSON text, byte for byte, and every test here runs on both.

The pushes go straight into ``exchange.push`` (no HTTP), with fixed change ids, times and
Hub-made ids, so two runs of one story are comparable row by row.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import PASSWORD, PG_URL, REQUIRE_PG, _pg_admin, backends
from sqlalchemy import Engine, Text, cast, select

from touchpoint.hub import accounts, exchange
from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import changes, counter, devices, make_engine, received, records, upgrade
from touchpoint.hub.exchange import log as push_log
from touchpoint.hub.exchange.postgres_writer import PostgresWriter
from touchpoint.hub.exchange.sqlite_writer import SQLiteWriter
from touchpoint.storage.types import from_utc_text
from touchpoint.sync.protocol import CONFLICT_ENTITY, ChangeIn, PushResult


def rid(name: str) -> str:
    """A fixed record id for a name in the story."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"touchpoint-test:{name}"))


C1, C2, K1, K2, I1, F1 = (rid(n) for n in ("C1", "C2", "K1", "K2", "I1", "F1"))
SOUTH = rid("south customer")
# Values whose JSON text a careless writer would change: escapes, non-ASCII, floats,
# nesting, empty containers, a line separator and an emoji.
NOTES = 'Line 1\nLine 2 "quoted" \\ back\tslash \u2028 sep 😀 ü'
CUSTOM = {"score": 0.1, "big": 2**53 - 1, "nested": {"a": [1, 2.5, None, True]}, "e": {}}


class Book:
    """A Hub database and the people pushing to it, with ids and times fixed."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engine = engine
        made = itertools.count(1)
        # Conflict records get ids made on the Hub: the same ids on both databases.
        hub_id = lambda: str(uuid.UUID(int=next(made)))  # noqa: E731
        monkeypatch.setattr(push_log, "new_id", hub_id)
        monkeypatch.setattr("touchpoint.hub.exchange.conflicts.new_id", hub_id)
        self.people: dict[str, Principal] = {}
        self.seqs: dict[str, int] = {}
        self.ids = itertools.count(1)
        for email, teams in (("ann@example.com", ["north"]), ("bob@example.com", ["north"])):
            self._add(email, teams)
        self._add("sue@example.com", ["south"])

    def _add(self, email: str, teams: list[str]) -> None:
        user_id = accounts.add_user(self.engine, email, PASSWORD, "rep", teams)
        device = str(uuid.uuid5(uuid.NAMESPACE_URL, email))
        self.people[email[:3]] = Principal(user_id, email, "rep", tuple(teams), device, 0)

    def change(
        self,
        who: str,
        entity: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        at: str,
        op: str = "update",
        base_seq: int | None = None,
    ) -> ChangeIn:
        """``fields``: a new value, or an (old, new) tuple."""
        self.seqs[who] = self.seqs.get(who, 0) + 1
        return ChangeIn(
            change_id=str(uuid.UUID(int=10**20 + next(self.ids))),
            seq=self.seqs[who],
            tx_id=str(uuid.UUID(int=10**21 + self.seqs[who])),
            entity=entity,
            record_id=record_id,
            op=op,
            fields={k: list(v) if isinstance(v, tuple) else [None, v] for k, v in fields.items()},
            at=at,
            author=self.people[who].email,
            schema_version="0010",
            base_seq=base_seq,
        )

    def push(self, who: str, batch: list[ChangeIn], at: str) -> list[PushResult]:
        person = self.people[who]
        with self.engine.connect() as conn:
            return exchange.push(
                conn,
                lambda _conn: person,
                device_id=person.device_id,
                client_time=at,
                batch=batch,
                server_now=from_utc_text(at),
            )

    def record(self, entity: str, record_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(records.c.data).where(
                    records.c.entity == entity, records.c.record_id == record_id
                )
            ).scalar_one()
        return dict(found)

    def conflicts(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(records.c.data)
                .where(records.c.entity == CONFLICT_ENTITY)
                .order_by(records.c.record_id)
            ).scalars()
            return [dict(r) for r in rows]

    def log(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(changes).order_by(changes.c.server_seq)))

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row the pushes wrote, JSON columns as the text stored."""

        def text(table: Any, *order: Any) -> list[tuple[Any, ...]]:
            cols = [
                cast(c, Text).label(c.key) if c.key in ("data", "versions", "fields") else c
                for c in table.c
            ]
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(select(*cols).order_by(*order))]

        return {
            "records": text(records, records.c.entity, records.c.record_id),
            "changes": text(changes, changes.c.server_seq),
            "received": text(received, received.c.change_id),
            "devices": text(devices, devices.c.device_id),
            "counter": text(counter, counter.c.id),
        }


def _t(minute: int) -> str:
    return f"2026-11-18T09:{minute:02d}:00.000000Z"


def story(book: Book) -> dict[str, list[PushResult]]:
    """Pushes covering each path through the Hub's write: new records, a concurrent edit,
    a repeat, refused and waiting changes, merges of customers and contacts, and a
    delete racing others' work. Returns each step's answers."""
    out: dict[str, list[PushResult]] = {}
    new = {"op": "insert"}
    customer = {"kind": "organisation", "status": "active", "currency": "EUR"}
    created = [
        book.change(
            "ann",
            "customer",
            C1,
            {
                "name": "Müller & Söhne GmbH",
                **customer,
                "addresses": [{"street": "Königsallee 1", "city": "Düsseldorf"}],
                "tags": ["vip", "☕"],
                "custom": CUSTOM,
                "notes": NOTES,
                "yearly_potential": "12345.50",
            },
            at=_t(1),
            **new,
        ),
        book.change("ann", "customer", C2, {"name": "Acme", **customer}, at=_t(1), **new),
        book.change("ann", "contact", K1, {"customer_id": C1, "name": "Zoë"}, at=_t(1), **new),
        book.change("ann", "contact", K2, {"customer_id": C1, "name": "Zoe"}, at=_t(1), **new),
        book.change(
            "ann",
            "interaction",
            I1,
            {
                "customer_id": C1,
                "kind": "visit",
                "occurred_at": _t(0),
                "rep": "ann@example.com",
                "contact_ids": [K2],
                "notes": NOTES,
            },
            at=_t(1),
            **new,
        ),
        book.change(
            "ann",
            "followup",
            F1,
            {
                "customer_id": C1,
                "contact_id": K2,
                "title": "Send the offer",
                "due_at": _t(30),
                "assigned_to": "bob@example.com",
            },
            at=_t(1),
            **new,
        ),
    ]
    out["created"] = book.push("ann", created, _t(2))
    book.push(
        "sue",
        [book.change("sue", "customer", SOUTH, {"name": "Süd", **customer}, at=_t(1), **new)],
        _t(2),
    )
    # Ann renames at :03; Bob, who had not pulled it, renamed at :02 and pushes later.
    out["ann renames"] = book.push(
        "ann",
        [
            book.change(
                "ann", "customer", C1, {"name": ("Müller & Söhne GmbH", "Müller AG")}, at=_t(3)
            )
        ],
        _t(4),
    )
    out["bob renames"] = book.push(
        "bob",
        [
            book.change(
                "bob", "customer", C1, {"name": ("Müller & Söhne GmbH", "Mueller")}, at=_t(2)
            ),
            # The same value as the Hub holds: no conflict.
            book.change("bob", "customer", C1, {"status": ("prospect", "active")}, at=_t(2)),
        ],
        _t(5),
    )
    out["repeat"] = book.push("ann", created[:2], _t(6))
    out["refused"] = book.push(
        "bob",
        [
            book.change("bob", "customer", rid("long"), {"name": "x" * 201}, at=_t(6), **new),
            book.change("bob", "interaction", I1, {"notes": "mine now"}, at=_t(6)),
            book.change(
                "bob",
                "contact",
                rid("K?"),
                {"customer_id": rid("nowhere"), "name": "Ghost"},
                at=_t(6),
                **new,
            ),
            book.change(
                "bob",
                "contact",
                rid("K south"),
                {"customer_id": SOUTH, "name": "Spy"},
                at=_t(6),
                **new,
            ),
            book.change("bob", "customer", "not-a-uuid", {"name": "Bad"}, at=_t(6), **new),
            book.change(
                "bob", "customer", C2, {"notes": None, "custom": {"ok": [1.5, "ü"]}}, at=_t(6)
            ),
        ],
        _t(7),
    )
    # Ann merges Acme into Müller, and contact Zoe into Zoë.
    out["merges"] = book.push(
        "ann",
        [
            book.change("ann", "customer", C2, {"merged_into_id": C1}, at=_t(8)),
            book.change(
                "ann",
                "merge",
                rid("M1"),
                {"kind": "customer", "winner_id": C1, "loser_id": C2, "snapshot": {"n": "Acme"}},
                at=_t(8),
                **new,
            ),
            book.change("ann", "contact", K2, {"merged_into_id": K1}, at=_t(8)),
        ],
        _t(9),
    )
    # Bob, who had not pulled the merge, logs a call under Acme naming Zoe.
    out["bob under the merged"] = book.push(
        "bob",
        [
            book.change(
                "bob",
                "interaction",
                rid("I2"),
                {
                    "customer_id": C2,
                    "kind": "call",
                    "occurred_at": _t(9),
                    "rep": "bob@example.com",
                    "contact_ids": [K2],
                },
                at=_t(9),
                **new,
            )
        ],
        _t(10),
    )
    seen = max(r.server_seq or 0 for r in out["merges"])
    # Ann deletes Müller without having seen Bob's call; Bob then edits it and adds a
    # contact to it, not having seen the delete.
    out["delete"] = book.push(
        "ann",
        [book.change("ann", "customer", C1, {"deleted_at": _t(11)}, at=_t(11), base_seq=seen)],
        _t(12),
    )
    out["bob after the delete"] = book.push(
        "bob",
        [
            book.change(
                "bob", "customer", C1, {"website": "https://example.com"}, at=_t(13), base_seq=seen
            ),
            book.change(
                "bob",
                "contact",
                rid("K3"),
                {"customer_id": C1, "name": "Neu"},
                at=_t(13),
                base_seq=seen,
                **new,
            ),
        ],
        _t(14),
    )
    out["empty"] = book.push("bob", [], _t(15))
    return out


def _engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / f'hub-{uuid.uuid4().hex[:6]}.sqlite3'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.fail("PostgreSQL is required here: set TOUCHPOINT_TEST_PG_URL (.ci/run does)")
    name = f"tp_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name}")
    engine = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=backends())
def told(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Book, dict[str, list[PushResult]]]]:
    """The story told to a Hub on SQLite, then on PostgreSQL."""
    for engine in _engine(request.param, tmp_path):
        book = Book(engine, monkeypatch)
        yield book, story(book)


def test_each_database_gets_its_own_writer(told: tuple[Book, Any]) -> None:
    book, _ = told
    with book.engine.connect() as conn:
        writer = push_log.writer_for(conn)
    expected = SQLiteWriter if book.engine.dialect.name == "sqlite" else PostgresWriter
    assert type(writer) is expected
    assert writer.locks_rows is (expected is PostgresWriter)


def test_new_records_are_numbered_in_order_and_stored_as_sent(told: tuple[Book, Any]) -> None:
    book, out = told
    assert [r.status for r in out["created"]] == ["applied"] * 6
    assert [r.server_seq for r in out["created"]] == [1, 2, 3, 4, 5, 6]
    customer = book.record("customer", C1)
    assert customer["custom"] == CUSTOM and customer["notes"] == NOTES
    assert customer["tags"] == ["vip", "☕"] and customer["created_by"] == "ann@example.com"
    log = book.log()
    # The log is numbered without gaps, and the counter stands at its last number.
    assert [r.server_seq for r in log] == list(range(1, len(log) + 1))
    assert book.dump()["counter"] == [(1, len(log))]
    first = log[0]
    assert (first.change_id, first.device_id, first.op) == (
        out["created"][0].change_id,
        book.people["ann"].device_id,
        "insert",
    )
    assert first.fields["name"] == "Müller & Söhne GmbH"


def test_a_concurrent_edit_loses_to_the_later_one_and_becomes_a_conflict(
    told: tuple[Book, Any],
) -> None:
    book, out = told
    assert [r.status for r in out["bob renames"]] == ["applied", "applied"]
    renames = [c for c in book.conflicts() if c["field"] == "name"]
    assert len(renames) == 1  # the status, set to the value it had, raised none
    assert renames[0]["winner_value"] == "Müller AG"
    assert renames[0]["loser_value"] == "Mueller"
    assert renames[0]["loser_author"] == "bob@example.com"
    assert renames[0]["loser_device"] == book.people["bob"].device_id


def test_a_repeated_change_answers_duplicate_and_writes_nothing(told: tuple[Book, Any]) -> None:
    book, out = told
    assert [(r.status, r.server_seq) for r in out["repeat"]] == [
        ("duplicate", r.server_seq) for r in out["created"][:2]
    ]
    ids = [r.change_id for r in book.log()]
    assert len(ids) == len(set(ids))


def test_refused_changes_keep_their_reason_and_waiting_ones_nothing(
    told: tuple[Book, Any],
) -> None:
    book, out = told
    long, not_creator, unknown, other_team, malformed, fine = out["refused"]
    assert long.status == "rejected" and "longer than 200" in (long.error or "")
    assert not long.retry and long.server_seq is None
    assert not_creator.status == "rejected" and "only ann@example.com" in (not_creator.error or "")
    assert not_creator.current is not None and not_creator.current["notes"] == NOTES
    for waiting in (unknown, other_team):
        assert waiting.status == "rejected" and waiting.retry
        assert "not on the Hub yet, or not one you may see" in (waiting.error or "")
    assert malformed.status == "rejected" and "record_id" in (malformed.error or "")
    assert fine.status == "applied"
    kept = {row[0]: row for row in book.dump()["received"]}
    # Refused for good: its answer is kept for a resend. Waiting or malformed: nothing.
    assert kept[long.change_id][2:] == ("rejected", None, long.error)
    assert kept[not_creator.change_id][2] == "rejected"
    assert {unknown.change_id, other_team.change_id, malformed.change_id}.isdisjoint(kept)
    assert kept[fine.change_id][2:4] == ("applied", fine.server_seq)
    assert book.record("interaction", I1)["notes"] == NOTES


def test_merges_move_the_work_filed_under_the_merged_away(told: tuple[Book, Any]) -> None:
    book, out = told
    assert [r.status for r in out["merges"]] == ["applied"] * 3
    assert book.record("interaction", I1)["contact_ids"] == [K1]
    assert book.record("followup", F1)["contact_id"] == K1
    assert book.record("contact", K2)["customer_id"] == C1
    assert book.record("interaction", rid("I2"))["customer_id"] == C1
    assert book.record("interaction", rid("I2"))["contact_ids"] == [K1]
    moved = [r for r in book.log() if r.device_id == "hub" and r.entity != CONFLICT_ENTITY]
    assert {(r.entity, r.record_id, *sorted(r.fields)[:1]) for r in moved} >= {
        ("interaction", I1, "contact_ids"),
        ("followup", F1, "contact_id"),
    }


def test_a_delete_racing_others_work_keeps_it_and_tells_them(told: tuple[Book, Any]) -> None:
    book, out = told
    assert [r.status for r in out["delete"]] == ["applied"]
    assert [r.status for r in out["bob after the delete"]] == ["applied", "applied"]
    assert book.record("customer", C1)["deleted_at"] == _t(11)
    raced = [
        (c["loser_author"], c["detail"])
        for c in book.conflicts()
        if c["field"] == "deleted_at" and c["record_id"] == C1
    ]
    # Once per person and delete in a push: in the delete's, of Bob's call (his open
    # follow-up is not told again); in his later push, of his edit (not the contact too).
    assert raced == [("bob@example.com", "logged a call"), ("bob@example.com", "edited it")]
    assert book.record("contact", rid("K3"))["customer_id"] == C1


def test_an_empty_push_writes_only_the_device_row(told: tuple[Book, Any]) -> None:
    book, out = told
    assert out["empty"] == []
    assert book.log()[-1].received_at == _t(14)
    bob = next(r for r in book.dump()["devices"] if r[0] == book.people["bob"].device_id)
    assert (bob[1], bob[3], bob[4]) == (book.people["bob"].user_id, 0, _t(15))


@pytest.mark.skipif(not PG_URL and not REQUIRE_PG, reason="TOUCHPOINT_TEST_PG_URL not set")
def test_both_write_paths_store_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dumps, answers = [], []
    for backend in ("sqlite", "postgresql"):
        with monkeypatch.context() as patched:
            for engine in _engine(backend, tmp_path):
                book = Book(engine, patched)
                answers.append(story(book))
                dumps.append(book.dump())
    sqlite, postgresql = dumps
    assert answers[0] == answers[1]
    for table in sqlite:
        assert sqlite[table] == postgresql[table], table
    # What was compared is the stored text, escapes and all (json.dumps's own).
    texts = [row[3] for row in sqlite["records"] if row[1] == C1 and row[0] == "customer"]
    assert json.dumps(NOTES) in texts[0]
    assert len(sqlite["changes"]) > 20 and sqlite["counter"] == [(1, len(sqlite["changes"]))]
