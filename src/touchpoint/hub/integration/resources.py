"""The integration API's resources: records as JSON, read from the Hub's ``records``
table, and writes turned into the same changes a laptop pushes.

A resource is a record's current values (every column a laptop has), its ``id`` and
its ``team``. Lists are ordered by id and paged by an opaque cursor (the last id seen,
base64), so paging a whole list meets every record present throughout exactly once.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Connection, Text, cast, select

from touchpoint.domain import enums
from touchpoint.errors import ValidationError, ValidationErrors
from touchpoint.hub.accounts import SERVICE_ROLE
from touchpoint.hub.db import records, users
from touchpoint.services import validation
from touchpoint.storage.models import MODEL_BY_ENTITY
from touchpoint.storage.revisions import REVISIONS
from touchpoint.storage.tracking import jsonable
from touchpoint.storage.types import (
    DecimalText,
    ISODate,
    UTCDateTime,
    from_utc_text,
    to_utc_text,
)
from touchpoint.sync.protocol import ChangeIn, is_uuid

# URL name -> entity of the change log.
RESOURCES = {
    "customers": "customer",
    "contacts": "contact",
    "interactions": "interaction",
    "followups": "followup",
    "deals": "deal",
}
SINGULAR = {
    "customer": "customer",
    "contact": "contact",
    "interaction": "interaction",
    "followup": "follow-up",
    "deal": "deal",
}
COLUMNS: dict[str, dict[str, Any]] = {
    entity: {c.key: c for c in MODEL_BY_ENTITY[entity].__table__.columns if c.key != "id"}
    for entity in RESOURCES.values()
}
# Set by the Hub (bookkeeping), by a delete (DELETE) or by a merge on a laptop.
READ_ONLY = frozenset(
    {"created_at", "created_by", "updated_at", "updated_by", "deleted_at", "merged_into_id"}
)
# The fixed choices of a field (touchpoint.domain.enums); outcome is free text.
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {
        "kind": tuple(enums.CustomerKind),
        "status": tuple(enums.CustomerStatus),
    },
    "contact": {
        "decision_role": tuple(enums.DecisionRole),
        "preferred_channel": tuple(enums.Channel),
    },
    "interaction": {
        "kind": tuple(enums.InteractionKind),
        "direction": tuple(enums.Direction),
        "depth": tuple(enums.Depth),
    },
    "followup": {
        "status": tuple(enums.FollowUpStatus),
        "priority": tuple(enums.Priority),
    },
    "deal": {"stage": tuple(enums.DealStage)},
}
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class FieldError(ValueError):
    """Bad input: ``field`` names what was wrong (None: the request as a whole)."""

    def __init__(self, field: str | None, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


class NotFound(Exception):
    """No such record, or not one this key may see: the same answer for both."""


# --- reading --------------------------------------------------------------------------
def as_resource(entity: str, record_id: str, team: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": record_id, "team": team, **{c: data.get(c) for c in COLUMNS[entity]}}


def encode_cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(record_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise FieldError("cursor", "is not a cursor this API gave out") from None
    if not is_uuid(after):
        raise FieldError("cursor", "is not a cursor this API gave out")
    return after


@dataclass
class Filters:
    updated_since: str | None = None
    customer_id: str | None = None
    team: str | None = None
    status: str | None = None
    due_before: str | None = None
    due_after: str | None = None
    overdue: bool = False
    include_deleted: bool = False


def parse_time(field: str, value: str) -> str:
    """An ISO 8601 time with a zone ("2026-12-06T09:30:00Z", "...+01:00") as the log
    stores it."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise FieldError(field, f"'{value[:40]}' is not a time like 2026-12-06T09:30:00Z") from None
    if parsed.tzinfo is None:
        raise FieldError(field, f"'{value[:40]}' has no time zone: end it with Z or +01:00")
    if not 1800 <= parsed.astimezone(UTC).year <= 2999:
        raise FieldError(field, f"'{value[:40]}' is outside the years 1800 to 2999")
    return to_utc_text(parsed)


def list_records(
    conn: Connection,
    entity: str,
    teams: tuple[str, ...],
    filters: Filters,
    *,
    after: str,
    limit: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an entity's records in these teams, by id; the next cursor or None."""
    data = records.c.data
    query = (
        # The stored JSON text, decoded by orjson: several times faster than the JSON
        # type's own decoding, which was most of a page's time.
        select(records.c.record_id, records.c.team, cast(records.c.data, Text))
        .where(
            records.c.entity == entity,
            records.c.team.in_(list(teams) or [""]),
            records.c.record_id > after,
        )
        .order_by(records.c.record_id)
        .limit(limit)
    )
    if filters.team is not None:
        query = query.where(records.c.team == filters.team)
    if filters.updated_since is not None:
        query = query.where(data["updated_at"].as_string() >= filters.updated_since)
    if filters.customer_id is not None:
        query = query.where(data["customer_id"].as_string() == filters.customer_id)
    if filters.status is not None:
        query = query.where(data["status"].as_string() == filters.status)
    if filters.due_before is not None:
        query = query.where(data["due_at"].as_string() < filters.due_before)
    if filters.due_after is not None:
        query = query.where(data["due_at"].as_string() >= filters.due_after)
    if filters.overdue:
        query = query.where(
            data["status"].as_string() == "open", data["due_at"].as_string() < to_utc_text(now)
        )
    if not filters.include_deleted:
        query = query.where(data["deleted_at"].as_string().is_(None))
    rows = conn.execute(query).all()
    found = [as_resource(entity, r, t, orjson.loads(d)) for r, t, d in rows]
    following = encode_cursor(rows[-1][0]) if len(rows) == limit else None
    return found, following


def get_record(
    conn: Connection, entity: str, record_id: str, teams: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """(team, data) of a record these teams may see, else :class:`NotFound`."""
    if not is_uuid(record_id):
        raise NotFound
    row = conn.execute(
        select(records.c.team, records.c.data).where(
            records.c.entity == entity, records.c.record_id == record_id
        )
    ).first()
    if row is None or row.team not in teams:
        raise NotFound
    return row.team, dict(row.data)


def custom_fields(conn: Connection, teams: tuple[str, ...]) -> dict[str, tuple[str, list[str]]]:
    """The custom fields defined in these teams: key -> (type, choices)."""
    rows = conn.execute(
        select(records.c.data).where(
            records.c.entity == "custom_field", records.c.team.in_(list(teams) or [""])
        )
    ).scalars()
    return {
        str(d["key"]): (str(d.get("type") or "text"), list(d.get("choices") or []))
        for d in rows
        if d.get("key") and not d.get("deleted_at")
    }


# Fields that name the person a record counts for in reports (the rep who had the
# interaction, the one who promised): a Hub user, never an API key's service user.
PEOPLE = {"interaction": "rep", "followup": "assigned_to"}


def check_people(conn: Connection, entity: str, fields: dict[str, Any]) -> None:
    name = PEOPLE.get(entity)
    if name is None or fields.get(name) is None:
        return
    email = str(fields[name]).strip().lower()
    found = conn.execute(
        select(users.c.id).where(users.c.email == email, users.c.role != SERVICE_ROLE)
    ).first()
    if found is None:
        raise FieldError(name, f"'{email[:200]}' is not a user of this Hub (give a rep's email)")
    fields[name] = email


def id_taken(conn: Connection, record_id: str) -> bool:
    """Whether any record of any team has this id (ids are UUIDs: this tells nothing)."""
    found = conn.execute(select(records.c.entity).where(records.c.record_id == record_id))
    return found.first() is not None


# --- writing --------------------------------------------------------------------------
def _value(entity: str, name: str, value: Any) -> Any:
    """A field's value in the shape the services take (times as aware datetimes);
    types and sizes are checked again at the Hub's door, as for a laptop's change."""
    if value is None:
        return None
    kind = COLUMNS[entity][name].type
    if isinstance(kind, UTCDateTime):
        if not isinstance(value, str):
            raise FieldError(name, "must be a time like 2026-12-06T09:30:00Z")
        return from_utc_text(parse_time(name, value))
    if isinstance(kind, ISODate):
        if not isinstance(value, str):
            raise FieldError(name, "must be a date like 2026-12-31")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise FieldError(name, f"'{value[:40]}' is not a date like 2026-12-31") from None
    if isinstance(kind, DecimalText):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise FieldError(name, 'must be a number (or a number as text, like "1200.50")')
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise FieldError(name, f"'{str(value)[:40]}' is not a number") from None
        if not number.is_finite():
            raise FieldError(name, "must be a finite number")
        return number
    return value


# The services' own checks of what a person types (touchpoint.services.validation), per
# entity: the API's input meets the same rules as the window's and the command line's.
_CLEAN: dict[str, tuple[Any, frozenset[str]]] = {
    "customer": (validation.clean_customer, frozenset(validation.CUSTOMER_FIELDS)),
    "contact": (validation.clean_contact, frozenset(validation.CONTACT_FIELDS)),
    "interaction": (validation.clean_interaction, frozenset()),
    "followup": (validation.clean_followup, frozenset()),
    "deal": (validation.clean_deal, frozenset()),
}
# Phone numbers without a country code are refused: a server has no region of its own.
_NO_REGION = "ZZ"


def _domain(
    entity: str, name: str, value: Any, given: dict[str, Any], custom_defs: dict[str, Any]
) -> Any:
    clean, known = _CLEAN[entity]
    if known and name not in known:
        return value
    patch = {name: value}
    kwargs: dict[str, Any] = {}
    if entity in ("customer", "contact"):
        kwargs["region"] = _NO_REGION
        if entity == "customer":
            kwargs["custom_defs"] = custom_defs
            if name == "phones" and isinstance(given.get("addresses"), list):
                kwargs["region"] = validation.phone_region(given["addresses"], _NO_REGION)
    try:
        out = clean(patch, **kwargs)
    except (ValidationError, ValidationErrors) as exc:
        first = exc.errors[0]
        raise FieldError(name, first.problem) from None
    except (TypeError, AttributeError, ValueError):
        raise FieldError(name, "is not a value of the right kind") from None
    return out.get(name, value)


def _plain(value: Any) -> Any:
    """As the change log holds it: enums as their text, times as UTC text."""
    if isinstance(value, StrEnum):
        return str(value)
    return jsonable(value)


def check_fields(
    entity: str,
    body: Any,
    *,
    creating: bool,
    custom_defs: dict[str, tuple[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """The fields of a create or edit, checked and put as the change log holds them
    (``id`` and ``team`` of a create are taken out by the caller)."""
    if not isinstance(body, dict):
        raise FieldError(None, "the body must be a JSON object of fields")
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "id":
            raise FieldError("id", "a record's id cannot change")
        if name in READ_ONLY:
            how = "DELETE the record" if name == "deleted_at" else "the Hub sets it"
            raise FieldError(name, f"is read-only ({how})")
        if name not in COLUMNS[entity]:
            raise FieldError(name, f"no such field on a {SINGULAR[entity]}")
        typed = _value(entity, name, value)
        out[name] = _plain(_domain(entity, name, typed, body, custom_defs or {}))
    if creating:
        for name, column in COLUMNS[entity].items():
            required = not column.nullable and column.default is None and name not in READ_ONLY
            if required and out.get(name) is None:
                raise FieldError(name, f"a new {SINGULAR[entity]} needs it")
    elif not out:
        raise FieldError(None, "no fields to change")
    return out


def defaults(entity: str) -> dict[str, Any]:
    """The value of each column a new record starts with, as a laptop writes it."""
    out: dict[str, Any] = {}
    for name, column in COLUMNS[entity].items():
        if name in READ_ONLY:
            continue
        if column.default is None:
            out[name] = None
            continue
        arg = column.default.arg
        if callable(arg):
            made = getattr(arg, "__wrapped__", arg)
            out[name] = made() if made in (list, dict) else None
        else:
            out[name] = arg.value if hasattr(arg, "value") else arg
    return out


def make_change(
    *,
    change_id: str,
    entity: str,
    record_id: str,
    op: str,
    fields: dict[str, list[Any]],
    author: str,
    now: str,
    base_seq: int,
) -> ChangeIn:
    """One change, as a laptop's sync would push it, made now on the Hub's clock."""
    return ChangeIn(
        change_id=change_id,
        seq=1,
        tx_id=str(uuid.uuid4()),
        entity=entity,
        record_id=record_id,
        op=op,
        fields=fields,
        at=now,
        author=author,
        schema_version=REVISIONS[-1],
        hub_at=now,
        base_seq=base_seq,
    )
