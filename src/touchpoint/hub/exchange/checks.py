"""What a pushed change may hold: each field's type, size and range, by the model's column."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, String

from touchpoint.storage.models import MODEL_BY_ENTITY, Record
from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime, from_utc_text
from touchpoint.sync.protocol import TIME_RANGE, ChangeIn

# Records filed under a customer.
CHILD_ENTITIES = ("contact", "interaction", "followup", "deal")


class Rejected(Exception):
    """This change cannot be applied; the reason is sent back to the laptop."""


class Waiting(Rejected):
    """This change may apply later: a record it names is not on the Hub, or not one the
    writer may see. Both get the same words, so an answer never tells whether a record
    of another team exists. No answer is kept: the laptop sends it again later."""


def unseen(kind: str, record_id: str) -> Waiting:
    return Waiting(f"{kind} {record_id}: not on the Hub yet, or not one you may see")


_COLUMNS: dict[str, dict[str, Any]] = {
    entity: {c.key: c for c in model.__table__.columns} for entity, model in MODEL_BY_ENTITY.items()
}


def _check_value(entity: str, name: str, value: Any) -> None:
    column = _COLUMNS[entity][name]
    if value is None:
        if not column.nullable and name != "deleted_at":
            raise Rejected(f"{entity}.{name}: may not be empty")
        return
    kind = column.type
    try:
        if isinstance(kind, UTCDateTime):
            from_utc_text(value)
            _in_range(entity, name, value)
        elif isinstance(kind, ISODate):
            datetime.strptime(value, "%Y-%m-%d")
            _in_range(entity, name, value)
        elif isinstance(kind, DecimalText):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise TypeError
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) >= 10**15:
                raise Rejected(f"{entity}.{name}: {value!r} is out of range")
        elif kind.python_type is bool:
            if not isinstance(value, bool):
                raise TypeError
        elif kind.python_type is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError
        elif isinstance(kind, String):
            if not isinstance(value, str):
                raise TypeError
            if kind.length and len(value) > kind.length:
                raise Rejected(f"{entity}.{name}: longer than {kind.length} characters")
        elif isinstance(kind, JSON):
            shape = _json_shape(column)
            if shape is not None and not isinstance(value, shape):
                raise TypeError
    except (TypeError, ValueError, InvalidOperation, NotImplementedError) as exc:
        raise Rejected(f"{entity}.{name}: {value!r} is not a valid value") from exc


def _in_range(entity: str, name: str, value: str) -> None:
    if not TIME_RANGE[0] <= value[:10] <= TIME_RANGE[1]:
        raise Rejected(f"{entity}.{name}: {value!r} is outside {TIME_RANGE[0]} .. {TIME_RANGE[1]}")


def _json_shape(column: Any) -> type | None:
    """list or dict, from the column's default (``default=list``), for JSON columns."""
    if column.default is None:
        return None
    arg = column.default.arg
    made = getattr(arg, "__wrapped__", arg)  # SQLAlchemy wraps callable defaults
    return made if made in (list, dict) else None


def validate(change: ChangeIn, is_new: bool) -> None:
    if change.entity not in MODEL_BY_ENTITY:
        raise Rejected(f"entity: '{change.entity}' is not something Touchpoint syncs")
    known = _COLUMNS[change.entity]
    for name, pair in change.fields.items():
        if name not in known or name in Record.bookkeeping:
            raise Rejected(f"{change.entity}.{name}: no such field")
        if len(pair) != 2:
            raise Rejected(f"{change.entity}.{name}: expected [old, new]")
        _check_value(change.entity, name, pair[1])
    if is_new:
        for name, column in known.items():
            required = not column.nullable and column.default is None
            if (
                required
                and name not in Record.bookkeeping
                and change.fields.get(name, [0, None])[1] is None
            ):
                raise Rejected(f"{change.entity}.{name}: a new {change.entity} needs it")
