"""Column types that keep SQLite honest about time and money."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from touchpoint.storage.utc_text import from_utc_text, to_utc_text

__all__ = [
    "DecimalText",
    "ISODate",
    "UTCDateTime",
    "from_utc_text",
    "json_text",
    "to_utc_text",
]


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
