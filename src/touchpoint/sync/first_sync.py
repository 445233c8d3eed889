"""A first sync's bulk path: records new to this laptop inserted and indexed in chunks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection

from touchpoint.storage import identity, search_index
from touchpoint.storage.models import SYNCED_MODELS, CustomFieldDef, Record

log = logging.getLogger(__name__)

FRESH_CHUNK = 2000  # new records per batch handed to the bulk-load thread


def insert_fresh(
    conn: Connection,
    fresh: dict[tuple[str, str], dict[str, Any]],
    crash_point: Callable[[str], None],
) -> None:
    """Insert records new to this laptop with one executemany per table and chunk, and
    index them (search and duplicate keys) exactly as a normal write would, the
    full-text index fed in one statement per chunk rather than one trigger call per row.

    A big page is written on the bulk-load thread: this thread builds the next chunk's
    rows while SQLite inserts this one; its full-text indexing is left to the catch-up.
    Protocol values are already the stored form (UTC text, decimal text, ISO dates), so
    they go to SQLite as they are; only JSON columns are encoded."""
    if not fresh:
        return
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for (entity, _id), values in fresh.items():
        by_entity.setdefault(entity, []).append(values)
    groups: list[tuple[type[Record], list[dict[str, Any]]]] = []
    for model in SYNCED_MODELS:  # parents first
        group = by_entity.get(model.entity)
        if group and model is CustomFieldDef:
            # Read before the block: inside it only the bulk load may use the connection.
            group = _without_taken_keys(conn, group)
        if group:
            groups.append((model, group))
    big = len(fresh) > FRESH_CHUNK
    # A big pull (a first sync) leaves full-text indexing to the catch-up after the
    # sync (services.search.catch_up_index): the records are there, and can be worked
    # with, about twice as soon; they are searchable a little later.
    with search_index.bulk_insert(conn, background=big, defer=big) as load:
        for model, group in groups:
            plan = _insert_plan(model)
            row_class = plan.row_class
            for start in range(0, len(group), FRESH_CHUNK):
                params = []
                batch = []
                for values in group[start : start + FRESH_CHUNK]:
                    row = plan.defaults.copy()
                    row.update(values)
                    # Plain copies for the indexers, which read only attributes and
                    # ``entity``: no ORM instance state per record (times stay text:
                    # the indexers only test them for None).
                    record = row_class()
                    record.__dict__.update(row)
                    batch.append(record)
                    for key in plan.json_keys:
                        value = row[key]
                        if value is not None:
                            row[key] = orjson.dumps(value).decode()
                    params.append(plan.pick(row))
                load.insert(plan.sql, params)
                load.insert(search_index.INSERT_DOC, search_index.new_documents(batch))
                load.insert(identity.INSERT_KEY, identity.new_keys(batch))
                load.index()
                crash_point("inserting")  # the bulk-load thread may be writing


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    pick: Callable[[dict[str, Any]], tuple[Any, ...]]  # a full row -> its INSERT's values
    defaults: dict[str, Any]  # every column, with its default
    json_keys: tuple[str, ...]  # columns stored as JSON text
    row_class: type  # plain objects with the model's ``entity``, for the indexers


_PLANS: dict[type, _InsertPlan] = {}


def _insert_plan(model: type[Record]) -> _InsertPlan:
    found = _PLANS.get(model)
    if found is None:
        columns = list(model.__table__.columns)
        found = _PLANS[model] = _InsertPlan(
            sql=(
                f"INSERT INTO {model.__tablename__} ({', '.join(c.name for c in columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            ),
            pick=itemgetter(*(c.key for c in columns)),
            defaults={c.key: None if c.primary_key else _default(c) for c in columns},
            json_keys=tuple(c.key for c in columns if isinstance(c.type, JSON)),
            row_class=type(f"{model.__name__}Row", (), {"entity": model.entity}),
        )
    return found


def _without_taken_keys(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two laptops defined the same custom field offline: keys are unique here, so the
    local definition stays and the other is skipped rather than stopping every pull."""
    taken = {k for (k,) in conn.exec_driver_sql("SELECT key FROM custom_field_defs")}
    kept = []
    for row in rows:
        if row["key"] in taken:
            log.warning(
                "sync: custom field %r already defined here; kept the local one", row["key"]
            )
            continue
        taken.add(row["key"])
        kept.append(row)
    return kept


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    arg = default.arg
    return arg(None) if callable(arg) else arg
