"""Column types that keep SQLite honest about time and money."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a time zone")
    return value.astimezone(UTC).strftime(_FORMAT)


def from_utc_text(value: str) -> datetime:
    # Every stored time has the one fixed-width shape: parse it with the C ISO parser
    # (strptime costs ~15 µs a value, a good part of reading a list); anything else
    # still goes through the strict format.
    if len(value) == 27 and value[10] == "T" and value[19] == "." and value[26] == "Z":
        return datetime.fromisoformat(value[:26]).replace(tzinfo=UTC)
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as fixed-width UTC text, so text order is time order."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else to_utc_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_utc_text(value)


class ISODate(TypeDecorator[date]):
    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        return None if value is None else value.isoformat()

    def process_result_value(self, value: str | None, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(value)


class DecimalText(TypeDecorator[Decimal]):
    """Money as exact decimal text; SQLite has no decimal type."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


_std_json = json.JSONEncoder().encode


def json_text(value: Any) -> str:
    """JSON text for every JSON column of the local database (the engine's serializer).

    orjson: an import serialises a dozen values per row, ten times faster than the
    standard encoder; what orjson refuses (an integer wider than 64 bits, a key that is
    not text) goes through the standard encoder. One serializer for the ORM and the bulk
    paths, so equal values are stored as equal text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _std_json(value)
