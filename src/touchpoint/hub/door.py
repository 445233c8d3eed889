"""The Hub's door: every pushed change is checked whole before it may enter the log.

What one laptop writes, every laptop of its team reads: a value one of them can
write but another cannot read (a lone UTF-16 surrogate, a NUL, a 50 MB note, an id
of a megabyte, a time in the year 9999) would become every teammate's problem at
their next pull. The limits are the protocol's (:mod:`touchpoint.sync.protocol`);
this module only checks the shape of one change. Whether the records it names exist
and may be seen by the writer is checked where the Hub's state is (``exchange``).
"""

from __future__ import annotations

from typing import Any

import orjson

from touchpoint.sync.protocol import (
    MAX_AUTHOR_LENGTH,
    MAX_FIELDS,
    MAX_JSON_BYTES,
    MAX_SEQ,
    MAX_SNAPSHOT_BYTES,
    MAX_TEXT_BYTES,
    OPS,
    TIME_RANGE,
    ChangeIn,
    is_uuid,
    text_problem,
)

# Fields whose value is the id of another record (checked as ids here, as references in
# ``exchange``); ``contact_ids`` holds a list of them.
ID_FIELDS = frozenset(
    {"customer_id", "contact_id", "interaction_id", "merged_into_id", "winner_id", "loser_id"}
)


class Refused(ValueError):
    """The change is malformed: the message names the field and the problem."""


def check_text(where: str, value: str, *, limit: int = MAX_TEXT_BYTES) -> None:
    """Valid UTF-8 (no lone surrogate), no NUL, at most ``limit`` bytes."""
    problem = text_problem(value)
    if problem:
        raise Refused(f"{where}: {problem}")
    if len(value.encode("utf-8")) > limit:
        raise Refused(f"{where}: is larger than {limit:,} bytes")


def check_time(where: str, value: object) -> None:
    """A UTC time as the change log writes it, within the years Touchpoint handles."""
    low, high = TIME_RANGE
    if not isinstance(value, str) or len(value) > 40:
        raise Refused(f"{where}: is not a UTC time")
    if not low <= value[:10] <= high:
        raise Refused(f"{where}: {value[:40]!r} is outside {low} .. {high}")


def _check_json(where: str, value: Any, depth: int = 0) -> None:
    if depth > 8:
        raise Refused(f"{where}: is nested too deeply")
    if isinstance(value, str):
        check_text(where, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(f"{where} key", key, limit=200)
            _check_json(where, item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(where, item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SEQ:
        raise Refused(f"{where}: the number {value} is out of range")


def check_change(change: ChangeIn) -> None:
    """Refused unless every part of the change has the shape and size a laptop can read."""
    if not is_uuid(change.change_id):
        raise Refused("change_id: is not a UUID")
    if not is_uuid(change.record_id):
        raise Refused("record_id: is not a UUID")
    if not is_uuid(change.tx_id):
        raise Refused("tx_id: is not a UUID")
    if not 0 < change.seq <= MAX_SEQ:
        raise Refused(f"seq: {change.seq} is out of range")
    if change.op not in OPS:
        raise Refused(f"op: {change.op[:20]!r} is not one of {', '.join(OPS)}")
    check_time("at", change.at)
    if change.hub_at is not None:
        check_time("hub_at", change.hub_at)
    if change.base_seq is not None and not 0 <= change.base_seq <= MAX_SEQ:
        raise Refused(f"base_seq: {change.base_seq} is out of range")
    check_text("author", change.author, limit=MAX_AUTHOR_LENGTH)
    check_text("schema_version", change.schema_version, limit=32)
    if len(change.fields) > MAX_FIELDS:
        raise Refused(f"fields: more than {MAX_FIELDS}")
    for name, pair in change.fields.items():
        check_text("a field's name", name, limit=60)
        where = f"{change.entity[:30]}.{name}"
        if not isinstance(pair, list) or len(pair) != 2:
            raise Refused(f"{where}: expected [old, new]")
        for value in pair:
            _check_json(where, value)
        new = pair[1]
        if name in ID_FIELDS and new is not None and not is_uuid(new):
            raise Refused(f"{where}: is not a record id")
        if (
            name == "contact_ids"
            and new is not None
            and (not isinstance(new, list) or not all(is_uuid(c) for c in new))
        ):
            raise Refused(f"{where}: is not a list of record ids")
        if isinstance(new, (dict, list)):
            limit = MAX_SNAPSHOT_BYTES if name == "snapshot" else MAX_JSON_BYTES
            if len(orjson.dumps(new)) > limit:
                raise Refused(f"{where}: is larger than {limit:,} bytes")
