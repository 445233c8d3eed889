"""Times as the database stores them: fixed-width UTC text, so text order is time order.

Apart from :mod:`touchpoint.storage.types` so that readers without SQLAlchemy (Today
at start) parse them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a time zone")
    return value.astimezone(UTC).strftime(FORMAT)


def from_utc_text(value: str) -> datetime:
    # Every stored time has the one fixed-width shape: parse it with the C ISO parser
    # (strptime costs ~15 µs a value, a good part of reading a list); anything else
    # still goes through the strict format.
    if len(value) == 27 and value[10] == "T" and value[19] == "." and value[26] == "Z":
        return datetime.fromisoformat(value[:26]).replace(tzinfo=UTC)
    return datetime.strptime(value, FORMAT).replace(tzinfo=UTC)
