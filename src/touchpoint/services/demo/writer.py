"""Writes demo records in bulk exactly as the normal write path would."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, inspect

from touchpoint.storage import identity, search_index
from touchpoint.storage.bulk_write import BulkWrite, plain_record
from touchpoint.storage.models import (
    MODEL_BY_ENTITY,
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
    return lambda v: v  # JSON too: the bulk write encodes it as every write does


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


_ORDER: tuple[type[Record], ...] = (CustomFieldDef, Customer, Contact, Interaction, FollowUp, Deal)


def new_uuid(rng: random.Random) -> str:
    """A version 4 UUID drawn from ``rng``: the same seed gives the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def search_document(entity: str, r: dict[str, Any]) -> tuple[str | None, str, str] | None:
    """The text :func:`storage.search_index.document` makes for a new record with
    these values: the same function, given the plain row."""
    return search_index.document(plain_record(MODEL_BY_ENTITY[entity], r))


def identity_keys(entity: str, r: dict[str, Any]) -> set[tuple[str, str]]:
    """What :func:`storage.identity.keys_of` gives for a new record with these values."""
    return identity.keys_of(plain_record(MODEL_BY_ENTITY[entity], r))


class Writer:
    """Buffers rows and writes them through the storage's bulk write (with their search
    documents and identity keys, as every write), parents before children."""

    def __init__(
        self,
        bulk: BulkWrite,
        *,
        ids: random.Random,
        device_id: str,
        schema_version: str,
        pushed_at: datetime,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.bulk = bulk
        self.ids = ids
        self.tx_id = self.new_id()
        self.device_id = device_id
        self.schema_version = schema_version
        self.pushed_at = pushed_at
        self.tables = {m: _Table(m) for m in _ORDER}
        self.rows: dict[type[Record], list[dict[str, Any]]] = {m: [] for m in _ORDER}
        self.changes: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {m.entity: 0 for m in _ORDER}
        self.done = 0
        self.total = total
        self.progress = progress

    def new_id(self) -> str:
        return new_uuid(self.ids)

    def add(self, model: type[Record], row: dict[str, Any]) -> None:
        table = self.tables[model]
        values = [row[name] for name in table.names]
        stored = [conv(v) for conv, v in zip(table.store, values)]  # noqa: B905
        self.rows[model].append(dict(zip(table.names, stored)))  # noqa: B905
        fields = {
            name: [None, v if how == 2 else kept]
            for name, how, v, kept in zip(table.names, table.log_as, values, stored)  # noqa: B905
            if how and v is not None
        }
        # Demo records are sample data of this laptop only: their change rows are marked
        # as already pushed so a sync never sends them to the team's Hub, while the
        # history of each record still shows how it was made.
        self.changes.append(
            {
                "change_id": self.new_id(), "tx_id": self.tx_id, "device_id": self.device_id,
                "entity": model.entity, "record_id": row["id"], "op": "insert",
                "fields": fields, "at": row["created_at"], "author": row["created_by"],
                "schema_version": self.schema_version, "pushed_at": self.pushed_at,
                "push_error": None, "hub_at": None, "base_seq": None,
            }
        )  # fmt: skip
        self.counts[model.entity] += 1
        if len(self.changes) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in _ORDER:
            rows = self.rows[model]
            if rows:
                self.bulk.stored(model, rows)
                self.rows[model] = []
        if self.changes:
            self.bulk.log(self.changes)
            self.done += sum(1 for c in self.changes if c["entity"] != "custom_field")
            self.changes = []
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def stamp(row: dict[str, Any], by: str, at: datetime, updated: datetime | None = None) -> None:
    """Fill a new row's bookkeeping: who made it and when."""
    row["created_at"] = at
    row["created_by"] = by
    row["updated_at"] = updated or at
    row["updated_by"] = by
    row.setdefault("deleted_at", None)
