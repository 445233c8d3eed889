"""Writes demo records in bulk exactly as the normal write path would."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, inspect

from touchpoint.domain.values import display_phone, normalised_email_key, website_host
from touchpoint.storage.models import (
    Contact,
    Customer,
    CustomFieldDef,
    Deal,
    FollowUp,
    Interaction,
    Record,
)
from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime, to_utc_text

BATCH = 5_000  # records per executemany round


def _converter(column: Any) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return lambda v: None if v is None else to_utc_text(v)
    if isinstance(kind, ISODate):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, DecimalText):
        return lambda v: None if v is None else str(Decimal(v))
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    if isinstance(kind, JSON):
        return lambda v: None if v is None else json.dumps(v)
    return lambda v: v


class _Table:
    """A model's columns in mapper order, with how to store and log each value."""

    def __init__(self, model: type[Record]) -> None:
        self.model = model
        attrs = list(inspect(model).column_attrs)
        self.names = [a.key for a in attrs]
        self.store = [_converter(a.columns[0]) for a in attrs]
        # The change log holds JSON values (tracking.jsonable): text for times, dates
        # and money, the plain value for JSON and booleans.
        # Per column: 0 not in the change log, 1 logged as stored, 2 logged as the value.
        self.log_as = [
            0
            if a.key in model.bookkeeping
            else 2
            if isinstance(a.columns[0].type, JSON | Boolean)
            else 1
            for a in attrs
        ]
        self.sql = (
            f"INSERT INTO {model.__tablename__} ({', '.join(self.names)}) "
            f"VALUES ({', '.join('?' for _ in self.names)})"
        )


_CHANGE_SQL = (
    "INSERT INTO change_log (change_id, tx_id, device_id, entity, record_id, op, fields, at, "
    "author, schema_version, pushed_at, push_error) VALUES (?, ?, ?, ?, ?, 'insert', ?, ?, ?, ?, "
    "?, NULL)"
)


_DOC_SQL = (
    "INSERT INTO search_docs (entity, record_id, customer_id, title, body) VALUES (?, ?, ?, ?, ?)"
)


_KEY_SQL = "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)"


_ORDER: tuple[type[Record], ...] = (CustomFieldDef, Customer, Contact, Interaction, FollowUp, Deal)


def new_uuid(rng: random.Random) -> str:
    """A version 4 UUID drawn from ``rng``: the same seed gives the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _phones_text(items: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for item in items:
        out.append(item["value"])
        out.append(display_phone(item["value"]))
    return " ".join(out)


def _values_text(items: list[dict[str, Any]]) -> str:
    return " ".join(str(i.get("value") or "") for i in items)


def search_document(entity: str, r: dict[str, Any]) -> tuple[str | None, str, str] | None:
    """The text :func:`storage.search_index.document` makes for a new record with
    these values (same rules, computed from a plain row instead of an ORM object)."""
    if entity == "customer":
        addresses = " ".join(
            _join(a.get("street"), a.get("city"), a.get("region"), a.get("country"))
            for a in r["addresses"]
        )
        custom = " ".join(str(v) for v in r["custom"].values() if v is not None)
        body = _join(
            r["industry"], r["segment"], r["territory"], r["website"], _values_text(r["emails"]),
            _phones_text(r["phones"]), " ".join(r["tags"]), addresses, custom, r["notes"],
        )  # fmt: skip
        return r["id"], r["name"], body
    if entity == "contact":
        body = _join(
            r["title"], r["decision_role"], _values_text(r["emails"]), _phones_text(r["phones"]),
            r["notes"],
        )  # fmt: skip
        return r["customer_id"], r["name"], body
    if entity == "interaction":
        title = r["subject"] or _join(r["kind"].capitalize(), r["outcome"])
        return r["customer_id"], title, _join(r["notes"], r["feedback"])
    if entity == "followup":
        if r["status"] == "cancelled":
            return None
        return r["customer_id"], r["title"], r["notes"] or ""
    return None


def identity_keys(entity: str, r: dict[str, Any]) -> set[tuple[str, str]]:
    """What :func:`storage.identity.keys_of` gives for a new record with these values."""
    if entity not in ("customer", "contact"):
        return set()
    keys = {("email", normalised_email_key(i["value"])) for i in r["emails"] if i.get("value")}
    keys |= {("phone", i["value"]) for i in r["phones"] if i.get("value")}
    if entity == "customer":
        host = website_host(r["website"])
        if host:
            keys.add(("host", host))
    return keys


class Writer:
    """Buffers rows and writes them with executemany, parents before children."""

    def __init__(
        self,
        conn: Connection,
        *,
        ids: random.Random,
        device_id: str,
        schema_version: str,
        pushed_at: datetime,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.conn = conn
        self.ids = ids
        self.tx_id = self.new_id()
        self.device_id = device_id
        self.schema_version = schema_version
        self.pushed_at = to_utc_text(pushed_at)
        self.tables = {m: _Table(m) for m in _ORDER}
        self.rows: dict[type[Record], list[tuple[Any, ...]]] = {m: [] for m in _ORDER}
        self.changes: list[tuple[Any, ...]] = []
        self.docs: list[tuple[Any, ...]] = []
        self.keys: list[tuple[Any, ...]] = []
        self.counts: dict[str, int] = {m.entity: 0 for m in _ORDER}
        self.done = 0
        self.total = total
        self.progress = progress

    def new_id(self) -> str:
        return new_uuid(self.ids)

    def add(self, model: type[Record], row: dict[str, Any]) -> None:
        table = self.tables[model]
        values = [row[name] for name in table.names]
        stored = tuple(conv(v) for conv, v in zip(table.store, values))  # noqa: B905
        self.rows[model].append(stored)
        fields = {
            name: [None, v if how == 2 else kept]
            for name, how, v, kept in zip(table.names, table.log_as, values, stored)  # noqa: B905
            if how and v is not None
        }
        entity = model.entity
        # Demo records are sample data of this laptop only: their change rows are marked
        # as already pushed so a sync never sends them to the team's Hub, while the
        # history of each record still shows how it was made.
        self.changes.append(
            (
                self.new_id(), self.tx_id, self.device_id, entity, row["id"], json.dumps(fields),
                to_utc_text(row["created_at"]), row["created_by"], self.schema_version,
                self.pushed_at,
            )
        )  # fmt: skip
        doc = search_document(entity, row)
        if doc is not None:
            self.docs.append((entity, row["id"], *doc))
        for kind, value in sorted(identity_keys(entity, row)):
            self.keys.append((entity, row["id"], kind, value))
        self.counts[entity] += 1
        if len(self.changes) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in _ORDER:
            rows = self.rows[model]
            if rows:
                self.conn.exec_driver_sql(self.tables[model].sql, rows)
                rows.clear()
        for sql, rows in ((_DOC_SQL, self.docs), (_KEY_SQL, self.keys)):
            if rows:
                self.conn.exec_driver_sql(sql, rows)
                rows.clear()
        if self.changes:
            self.conn.exec_driver_sql(_CHANGE_SQL, self.changes)
            self.done += sum(1 for c in self.changes if c[3] != "custom_field")
            self.changes.clear()
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def stamp(row: dict[str, Any], by: str, at: datetime, updated: datetime | None = None) -> None:
    """Fill a new row's bookkeeping: who made it and when."""
    row["created_at"] = at
    row["created_by"] = by
    row["updated_at"] = updated or at
    row["updated_by"] = by
    row.setdefault("deleted_at", None)
