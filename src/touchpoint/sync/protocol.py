"""The sync protocol, shared by the desktop and the Hub.

Version 1, all JSON over HTTPS, every request carries ``X-Touchpoint-Protocol``:

``POST /v1/login``   email, password, device id -> a device token (Bearer).
``POST /v1/enroll``  a one-time enrollment token (from ``touchpoint-hub enroll``), device
                     id -> a device token, as login gives. Unknown, used, expired or a
                     disabled user's: 401, never saying which.
``POST /v1/logout``  revokes the token used.
``POST /v1/hello``   protocol, device id, client clock -> server clock, who I am, the
                     high-water mark. A client the Hub cannot serve gets 426 with
                     ``{"error": "update", ...}``.
``POST /v1/push``    up to :data:`MAX_BATCH` changes from the change log. Each carries its
                     unique ``change_id``: one already seen gets its stored answer back,
                     so a batch sent twice changes nothing. Each answer is ``applied``
                     (with the server sequence), ``duplicate`` or ``rejected`` (with the
                     reason and the record's current values, so the laptop can fall back).
``GET  /v1/digest``  per entity, the count and a hash of the records this user may see:
                     a laptop compares it with its own after a sync (anti-entropy).
``GET  /v1/records`` ``entity=E&after=<record id>&limit=N``: current values, to repair.
``GET  /v1/pull``    ``after=<server seq>&limit=N``: the changes visible to this user, in
                     server order. Each row carries the record's resulting value of every
                     field the change touched, so applying rows in order yields the Hub's
                     state. ``conflict`` rows carry the losing values of concurrent edits.

Merging (on the Hub): a field edit based on the value the Hub holds is applied. A field
edit based on another value is concurrent: the later edit wins, by when it was made on
the Hub's clock (``hub_at``, measured on the laptop at edit time; for older laptops the
edit time corrected by the clock offset measured at push time; device id, then change
id break ties), whatever the upload order. The losing value becomes a ``conflict``
record.

Deletes never hide work: a customer deleted by someone who had not seen another
person's later work on it (their ``base_seq`` is below that work), or work done on a
customer its author did not know was deleted, becomes a ``conflict`` for that person
("deleted by Tom while you logged a visit"), whichever upload came first; so does a
delete of a customer with someone else's open follow-ups. Restoring it undeletes.

Refusals: a change the Hub cannot take is answered ``rejected`` with the reason. With
``retry`` it may apply later (a record it names is not on the Hub yet, or is not one
the sender may see: the same words for both); the Hub keeps no answer for it and the
laptop sends it again. Without, it is refused for good and the answer is kept.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS = frozenset({1})
PROTOCOL_HEADER = "X-Touchpoint-Protocol"
MAX_BATCH = 500
MAX_PAGE = 10000
# A pull asking ``lines=1`` is answered in this form (see hub.exchange.pull_lines); a Hub
# that does not know it answers JSON, which the laptop reads as before.
PULL_LINES = "application/x-ndjson"

# --- limits, checked at the Hub's door (touchpoint.hub.door) -----------------------------
# A push body larger than this is answered 413 before it is read whole; the laptop cuts
# its batches well below it (PUSH_BYTES_TARGET), so only a single enormous change meets it.
MAX_PUSH_BYTES = 32 * 1024 * 1024
PUSH_BYTES_TARGET = 4 * 1024 * 1024
# Every string: valid UTF-8 (no lone surrogate), no NUL. Notes and feedback: 1 MB, as when
# typing (domain.values.MAX_NOTES_BYTES); other texts: their column's length.
MAX_TEXT_BYTES = 1_000_000
MAX_JSON_BYTES = 1_000_000  # a list or map field (phones, tags, custom fields...)
MAX_SNAPSHOT_BYTES = 8_000_000  # a merge's snapshot, kept to undo it
MAX_FIELDS = 64  # fields in one change
MAX_AUTHOR_LENGTH = 200
# Ids (record, change, transaction and every reference) are UUIDs. Sequence numbers and
# cursors are positive and below 2**53 (exact in every JSON reader); times lie in these
# years (compared on their "YYYY-MM-DD" start).
MAX_SEQ = 2**53 - 1
TIME_RANGE = ("1800-01-01", "2999-12-31")
OPS = ("insert", "update", "delete", "restore")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and len(value) == 36 and _UUID.fullmatch(value) is not None


def record_hash(record_id: str, values: dict[str, Any]) -> int:
    """A record's content as 64 bits, the same on the Hub and on a laptop: its id and
    its values (as they travel) in canonical JSON. Summed per entity (mod 2**64), it
    makes the anti-entropy digest, which any difference in any record changes."""
    import hashlib

    import orjson

    text = orjson.dumps({"id": record_id, **values}, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def text_problem(value: str) -> str | None:
    """Why a text cannot travel or be stored (a NUL, a lone surrogate), else None."""
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


CONFLICT_ENTITY = "conflict"
# Bookkeeping columns travel with every row but are not merged field by field.
BOOKKEEPING = ("created_at", "created_by", "updated_at", "updated_by")


class LoginRequest(BaseModel):
    email: str
    password: str
    device_id: str
    device_name: str = ""


class EnrollRequest(BaseModel):
    enrollment_token: str
    device_id: str
    device_name: str = ""
    email: str | None = None  # when given, the token must be this user's


class LoginResponse(BaseModel):
    token: str
    email: str
    role: str
    teams: list[str]


class DeviceReport(BaseModel):
    """What a laptop tells the Hub of itself at each hello, for IT's view of the fleet.
    Every field is optional: an older laptop sends none, a newer Hub ignores none."""

    waiting: int | None = Field(None, ge=0, le=MAX_SEQ)  # changes not yet accepted
    refused: int | None = Field(None, ge=0, le=MAX_SEQ)  # refused changes not dismissed
    set_aside: int | None = Field(None, ge=0, le=MAX_SEQ)  # pulled records not applied
    conflicts: int | None = Field(None, ge=0, le=MAX_SEQ)  # open conflicts
    last_sync_at: str | None = Field(None, max_length=40)  # last successful sync
    os: str | None = Field(None, max_length=200)
    device_name: str | None = Field(None, max_length=200)
    encrypted: bool | None = None
    db_bytes: int | None = Field(None, ge=0, le=MAX_SEQ)
    policy: str | None = Field(None, max_length=500)  # the policy file in force, if any


class HelloRequest(BaseModel):
    protocol: int
    device_id: str = Field(max_length=36)
    client_time: str = Field(max_length=40)  # UTC text, as the change log stores times
    app_version: str = Field("", max_length=40)
    report: DeviceReport | None = None


class HelloResponse(BaseModel):
    protocol: int
    server_time: str
    clock_offset_ms: int
    email: str
    role: str
    teams: list[str]
    high_water: int
    last_device_seq: int


class ChangeIn(BaseModel):
    change_id: str
    seq: int
    tx_id: str
    entity: str
    record_id: str
    op: str
    fields: dict[str, list[Any]]  # {field: [old, new]}
    at: str
    author: str
    schema_version: str
    # Noted when the edit was made (touchpoint.storage.hub_clock); older laptops send
    # neither. hub_at: the edit's time on the Hub's clock (used, when given, instead of
    # ``at`` corrected by the offset measured at push time). base_seq: the last Hub
    # sequence the laptop had pulled, i.e. what its author had seen.
    hub_at: str | None = None
    base_seq: int | None = None


class PushRequest(BaseModel):
    device_id: str = Field(max_length=36)
    client_time: str = Field(max_length=40)
    changes: list[ChangeIn] = Field(max_length=MAX_BATCH)


class PushResult(BaseModel):
    change_id: str
    status: Literal["applied", "duplicate", "rejected"]
    server_seq: int | None = None
    error: str | None = None
    # A rejected change that may apply later (a record it names has not reached the Hub,
    # or is not one this user may see yet): the Hub keeps no answer for it, and the
    # laptop keeps it in its outbox and sends it again at later syncs.
    retry: bool = False
    # For a rejected change: the record's values on the Hub (None: the Hub has no such record).
    current: dict[str, Any] | None = None


class PushResponse(BaseModel):
    results: list[PushResult]
    server_time: str


class ServerChange(BaseModel):
    server_seq: int
    change_id: str
    device_id: str
    entity: str
    record_id: str
    op: str
    fields: dict[str, Any]  # resulting values of the touched fields (+ bookkeeping)
    author: str
    team: str | None = None  # the record's team (older Hubs do not send it)


class PullResponse(BaseModel):
    changes: list[ServerChange]
    next_after: int
    high_water: int
    more: bool


class EntityDigest(BaseModel):
    count: int
    hash: str  # the sum of record_hash over the entity's records, mod 2**64, in hex


class DigestResponse(BaseModel):
    """``GET /v1/digest``: per entity, the records this user may see (conflicts aside)."""

    entities: dict[str, EntityDigest]
    high_water: int


class RecordsPage(BaseModel):
    """``GET /v1/records?entity=E&after=ID&limit=N``: the current values of records
    this user may see, by id; for a laptop repairing what a digest found different."""

    records: list[dict[str, Any]]  # {"record_id": ..., "data": {...}, "team": ...}
    next_after: str | None


class ErrorBody(BaseModel):
    error: str  # "update" | "auth" | "forbidden" | "invalid" | "server"
    message: str
