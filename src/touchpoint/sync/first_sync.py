"""A first sync's bulk path: records new to this laptop inserted and indexed in chunks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from touchpoint.storage.bulk_write import BulkWrite, bulk_write
from touchpoint.storage.models import SYNCED_MODELS, CustomFieldDef, Record

log = logging.getLogger(__name__)

_by_id = itemgetter("id")
FRESH_CHUNK = 2000  # new records per batch handed to the bulk-load thread


def insert_fresh(
    session: Session,
    fresh: dict[tuple[str, str], dict[str, Any]],
    crash_point: Callable[[str], None],
    bulk: BulkWrite | None = None,
) -> None:
    """Insert records new to this laptop through the storage's bulk write, a chunk per
    batch: one statement per table and chunk, indexed (search and duplicate keys)
    exactly as a normal write would.

    A big page is written on the bulk-load thread: this thread builds the next chunk's
    rows while SQLite inserts this one; its full-text indexing is left to the catch-up
    (a streamed first sync indexes as it loads).
    Protocol values are already the stored form (UTC text, decimal text, ISO dates), so
    they go to SQLite as they are (see ``BulkWrite.stored``).

    ``bulk``: a block the pull keeps open across pages (:mod:`touchpoint.sync.pulling`);
    the batches join its queue and this returns without waiting for them."""
    if not fresh:
        return
    conn = session.connection()
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for (entity, _id), values in fresh.items():
        by_entity.setdefault(entity, []).append(values)
    groups: list[tuple[type[Record], list[dict[str, Any]]]] = []
    for model in SYNCED_MODELS:  # parents first
        group = by_entity.get(model.entity)
        if group and model is CustomFieldDef:
            # Read before the block: inside it only the bulk load may use the connection.
            if bulk is not None:
                bulk.wait()
            group = _without_taken_keys(conn, group)
        if group:
            # In id order: each row and its search document and identity keys go into
            # B-trees keyed by random ids, and neighbours in a batch then share the
            # pages on their way down (at L, a tenth less of the load's B-tree work).
            group.sort(key=_by_id)
            groups.append((model, group))
    if bulk is not None:
        _write(bulk, groups, crash_point)
        return
    big = len(fresh) > FRESH_CHUNK
    # A big pull (a first sync) leaves full-text indexing to the catch-up after the
    # sync (services.search.catch_up_index): the records are there, and can be worked
    # with, about twice as soon; they are searchable a little later.
    with bulk_write(session, background=big, defer_index=big, pause_collector=big) as block:
        _write(block, groups, crash_point)


def _write(
    bulk: BulkWrite,
    groups: list[tuple[type[Record], list[dict[str, Any]]]],
    crash_point: Callable[[str], None],
) -> None:
    for model, group in groups:
        for start in range(0, len(group), FRESH_CHUNK):
            bulk.stored(model, group[start : start + FRESH_CHUNK])
            crash_point("inserting")  # the bulk-load thread may be writing


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
