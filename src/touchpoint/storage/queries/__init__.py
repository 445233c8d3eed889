"""The read side's SQL, one module per thing read, each query in one place.

Services call these functions and get named rows (NamedTuples) back; no service writes
SQL text. A module that the start reads before SQLAlchemy loads
(:mod:`touchpoint.storage.today_rows`) uses only :mod:`watch_list`, which imports no
SQLAlchemy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def driver_connection(session: Session) -> Any:
    """The DB-API connection (sqlite3 or SQLCipher) under ``session``'s transaction.

    For the big reads whose row objects would cost more than SQLite itself: the driver's
    plain tuples are several times cheaper than SQLAlchemy's rows."""
    return session.connection().connection.driver_connection


def rows_as_one(conn: Any, columns: str, sql: str, params: object) -> list[list[Any]]:
    """The rows of ``sql`` (which selects ``columns``), read as one JSON array.

    A read on a thread beside other Python work (the window being built, the report's
    period figures): row by row, the thread takes Python's lock back for every row and
    waits for a busy other thread each time (thousands of rows: seconds). As one value,
    SQLite builds it all without the lock, and one ``json.loads`` makes every row.
    TEXT, INTEGER, REAL and NULL come back as str, int, float and None; a column given
    as ``json(...)`` comes back parsed (a list, not its text)."""
    outer = f"SELECT json_group_array(json_array({columns})) FROM ({sql})"
    value = conn.execute(outer, params).fetchone()[0]
    return json.loads(value) if value else []
