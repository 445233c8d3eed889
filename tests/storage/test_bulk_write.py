"""The bulk write writes what the ORM's flush writes: the same rows, change log, search
documents and identity keys, for an import and for a first sync's records."""

from __future__ import annotations

import gc
import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from touchpoint.domain.enums import CustomerKind
from touchpoint.services import search
from touchpoint.services.importing import import_customers_csv, import_vcard, writing
from touchpoint.storage import bulk_write, tracking
from touchpoint.storage.models import Contact, Customer, Interaction, Record
from touchpoint.storage.types import json_text
from touchpoint.storage.workspace import Workspace

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
TABLES = ("customers", "contacts", "interactions", "change_log", "search_docs", "identity_keys")
# Numbers the database hands out and ids drawn at random: each run draws its own.
VOLATILE = {"seq", "doc_id", "change_id", "tx_id", "id"}


class _OrmWrite:
    """The bulk write's batch API, written record by record through the ORM's flush: the
    path every edit in the window takes, and the reference the bulk write must match."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def records(self, *groups: Sequence[Record]) -> None:
        for records in groups:
            for record in records:
                if isinstance(records, bulk_write.NewRows):  # plain values (an import's)
                    model, values = records.model, record
                else:
                    model = type(record)
                    columns = {c.key for c in model.__table__.columns}
                    values = {k: v for k, v in record.__dict__.items() if k in columns}
                self.session.add(model(**values))
            self.session.flush()  # parents first, as their children's keys need


@contextmanager
def _orm_write(session: Any, **_options: Any) -> Iterator[_OrmWrite]:
    yield _OrmWrite(session)


def _ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ids drawn in order, the same in both runs (change ids stay random)."""
    drawn = iter(range(1, 1_000_000))
    monkeypatch.setattr(
        writing, "new_ids", lambda count: [str(uuid.UUID(int=next(drawn))) for _ in range(count)]
    )


def _twin(data_dir: Path, name: str) -> Path:
    """A copy of the laptop (same device id) that has pulled up to Hub sequence 42."""
    target = data_dir.parent / name
    shutil.copytree(data_dir, target)
    conn = sqlite3.connect(target / "touchpoint.sqlite3")
    with conn:
        conn.execute(
            "INSERT INTO local_meta (key, value) VALUES ('sync_cursor', '42') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
    conn.close()
    return target


def _tables(path: Path) -> dict[str, list[str]]:
    """Every row of the written tables as text, the volatile numbers left out, sorted
    (the two paths may write rows in a different order)."""
    conn = sqlite3.connect(path / "touchpoint.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        out: dict[str, list[str]] = {}
        for table in TABLES:
            rows = []
            for row in conn.execute(f"SELECT * FROM {table}"):
                values = {k: row[k] for k in row.keys() if k not in VOLATILE}  # noqa: SIM118
                if table == "change_log":
                    values["fields"] = json.loads(values["fields"])
                rows.append(json.dumps(values, sort_keys=True, default=str))
            out[table] = sorted(rows)
        # One transaction: every change of the write shares its id.
        out["transactions"] = [
            str(n) for (n,) in conn.execute("SELECT count(DISTINCT tx_id) FROM change_log")
        ]
        return out
    finally:
        conn.close()


def _same(bulk: dict[str, list[str]], orm: dict[str, list[str]]) -> None:
    for table, rows in bulk.items():
        only_bulk = sorted(set(rows) - set(orm[table]))
        only_orm = sorted(set(orm[table]) - set(rows))
        assert (only_bulk, only_orm) == ([], []), table
        assert rows == orm[table], table


def _both(
    data_dir: Path,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    write: Callable[[Workspace], Any],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The tables after ``write`` through the bulk write, and through the ORM's flush."""
    results = []
    for name, seam in (("bulk", bulk_write.bulk_write), ("orm", _orm_write)):
        folder = _twin(data_dir, name)
        with monkeypatch.context() as patch:
            _ids(patch)
            patch.setattr(writing, "bulk_write", seam)
            ws = Workspace.open(folder, auto_backup=False, clock=clock)
            try:
                write(ws)
                # The full-text index holds the new names either way.
                assert {search.strip_marks(h.title) for h in search.search(ws, "Lindqvist")} >= {
                    "Ebba Lindqvist"
                }
            finally:
                ws.close()
        results.append(_tables(folder))
    return results[0], results[1]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(
        "Company,First Name,Last Name,Email,Phone,Mobile,City,Country,Created Date,Shoe Size\n"
        "Nordlicht AB,Ebba,Lindqvist,ebba@nordlicht.example,+46 8 123 456 78,"
        "+46 70 123 45 67,Stockholm,SE,2021-03-04T09:30:00Z,38\n"
        "Nordlicht AB,Nils,Berg,nils@nordlicht.example,+46 8 123 456 78,,Stockholm,SE,,41\n"
        "Café Zürich GmbH,Ümit,Yılmaz,umit@cafe-zh.example,044 668 18 00,,Zürich,CH,,\n"
        "Solo Consulting,,,hello@solo.example,,,Leeds,GB,,\n",
        encoding="utf-8",
    )
    return path


def test_a_csv_import_writes_what_the_orm_writes(
    data_dir: Path, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "BATCH_ROWS", 2)  # several batches
    bulk, orm = _both(
        data_dir, clock, monkeypatch, lambda ws: import_customers_csv(ws, _csv(tmp_path))
    )
    assert len(bulk["customers"]) == 3 and len(bulk["contacts"]) == 3
    assert len(bulk["change_log"]) == 6 and bulk["transactions"] == ["1"]
    assert all('"base_seq": 42' in row for row in bulk["change_log"])
    assert len(bulk["identity_keys"]) > 6 and len(bulk["search_docs"]) == 6
    _same(bulk, orm)


def test_a_vcard_import_writes_what_the_orm_writes(
    data_dir: Path, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = tmp_path / "cards.vcf"
    cards.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lindqvist;Ebba;;;\r\nFN:Ebba Lindqvist\r\n"
        "ORG:Nordlicht AB;Sales\r\nTITLE:Buyer\r\nEMAIL;TYPE=WORK:ebba@nordlicht.example\r\n"
        "TEL;TYPE=CELL:+46 70 123 45 67\r\nADR;TYPE=WORK:;;Storgatan 1;Stockholm;;11122;Sweden\r\n"
        "NOTE:Met at the fair\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Berg;Nils;;;\r\nFN:Nils Berg\r\nORG:Nordlicht AB\r\n"
        "TEL;TYPE=WORK:+46 8 123 456 78\r\nBDAY:1970-01-02\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    bulk, orm = _both(data_dir, clock, monkeypatch, lambda ws: import_vcard(ws, cards))
    assert len(bulk["contacts"]) == 2 and len(bulk["customers"]) == 1
    assert len(bulk["change_log"]) == 3
    _same(bulk, orm)


def test_stored_rows_write_what_the_orm_writes_for_records_pulled(
    data_dir: Path, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first sync's records (values as they travel: times as text) through
    ``BulkWrite.stored``, against the same records flushed in a remote unit of work."""
    customer = {
        "id": str(uuid.UUID(int=1)), "name": "Ebba Lindqvist AB", "status": "active",
        "emails": [{"label": "work", "value": "Info@Nordlicht.example"}],
        "phones": [{"label": "main", "value": "+46812345678"}],
        "website": "https://www.nordlicht.example/", "tags": ["fair"], "custom": {"size": "38"},
        "created_at": "2024-05-01T08:00:00.000000Z", "created_by": "ana@example.com",
        "updated_at": "2024-05-01T08:00:00.000000Z", "updated_by": "ana@example.com",
    }  # fmt: skip
    contact = {
        "id": str(uuid.UUID(int=2)), "customer_id": customer["id"], "name": "Ebba Lindqvist",
        "emails": [{"label": "work", "value": "ebba@nordlicht.example"}], "phones": [],
        "created_at": "2024-05-01T08:00:00.000000Z", "created_by": "ana@example.com",
        "updated_at": "2024-05-01T08:00:00.000000Z", "updated_by": "ana@example.com",
    }  # fmt: skip
    visit = {
        "id": str(uuid.UUID(int=3)), "customer_id": customer["id"], "kind": "visit",
        "rep": "ana@example.com",
        "occurred_at": "2024-05-02T10:00:00.000000Z", "subject": "Fair follow-up",
        "notes": "Wants the Lindqvist catalogue", "satisfaction": 4,
        "created_at": "2024-05-02T10:00:00.000000Z", "created_by": "ana@example.com",
        "updated_at": "2024-05-02T10:00:00.000000Z", "updated_by": "ana@example.com",
    }  # fmt: skip
    groups = ((Customer, [customer]), (Contact, [contact]), (Interaction, [visit]))
    results = []
    for name in ("bulk", "orm"):
        folder = _twin(data_dir, name)
        ws = Workspace.open(folder, auto_backup=False, clock=clock)
        try:
            with ws.unit_of_work(origin="remote") as uow:
                if name == "bulk":
                    with bulk_write.bulk_write(uow.session, background=True) as bulk:
                        for model, rows in groups:
                            bulk.stored(model, rows)
                else:
                    for model, rows in groups:
                        convert = tracking.CONVERT[model.entity]
                        uow.session.add(model(**{k: convert[k](v) for k, v in rows[0].items()}))
                        uow.session.flush()
                uow.commit()
            assert {search.strip_marks(h.title) for h in search.search(ws, "Lindqvist")} >= {
                "Ebba Lindqvist"
            }
        finally:
            ws.close()
        results.append(_tables(folder))
    bulk, orm = results
    assert len(bulk["identity_keys"]) == 5  # two emails, a phone, a web host, a name
    assert len(bulk["search_docs"]) == 3 and bulk["change_log"] == []
    _same(bulk, orm)


def test_the_collector_waits_while_a_bulk_write_runs_and_an_error_rolls_it_all_back(
    ws: Workspace,
) -> None:
    from gc_probe import frees_cycles_by_itself

    customer = tracking.new_record(Customer, id=str(uuid.UUID(int=9)), name="Half Written Ltd")
    was = gc.isenabled()
    gc.enable()  # as in a process that lets the collector run by itself (the command line)
    try:
        with (
            ws.unit_of_work() as uow,
            pytest.raises(OSError),
            bulk_write.bulk_write(uow.session) as bulk,
        ):
            assert not frees_cycles_by_itself()  # garbage cycles wait while it writes
            bulk.records([customer])
            raise OSError("disk full")
        assert frees_cycles_by_itself()  # and are freed again after it, even after an error
    finally:
        if not was:
            gc.disable()
    with ws.read() as session:
        conn = session.connection()
        for table in ("customers", "change_log", "search_docs", "identity_keys"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0, table


def test_a_change_logs_its_fields_as_the_orm_path_writes_them() -> None:
    """The bulk write serialises a new record's fields in one pass; the ORM's flush
    first makes them plain (tracking.jsonable), then writes JSON: the same text."""
    at = datetime(2024, 5, 1, 10, 30, 15, 1234, tzinfo=timezone(timedelta(hours=2)))
    samples: list[dict[str, Any]] = [
        {"name": [None, "Zoë Ltd"], "kind": [None, CustomerKind.INDIVIDUAL]},
        {"created_at": [None, at], "born": [None, date(1970, 1, 2)]},
        {"yearly_potential": [None, Decimal("1200.50")], "score": [None, 4.25]},
        {"do_not_contact": [None, False], "count": [None, 3]},
        {"emails": [None, [{"label": "work", "value": "a@b.example", "unverified": True}]]},
        {"custom": [None, {"since": date(2020, 2, 29), "worth": Decimal("3"), "seen": at}]},
        {"tags": [None, ["fair", ("a", "tuple")]], "empty": [None, []]},
        {"huge": [None, 2**70]},  # wider than orjson writes: the standard encoder's
        {"custom": [None, {1: "a key that is no text"}]},
    ]
    for fields in samples:
        assert bulk_write.change_fields_text(fields) == json_text(tracking.jsonable(fields))
    with pytest.raises(ValueError, match="naive"):  # a time without its zone, as before
        bulk_write.change_fields_text({"at": [None, datetime(2024, 5, 1)]})
