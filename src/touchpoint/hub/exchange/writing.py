"""The Hub's one write interface: what a push writes, and what a database's writer does with it.

A push gathers everything it writes in a :class:`Batch` and hands it to the writer of
its engine's database (:func:`touchpoint.hub.exchange.log.writer_for`): SQLAlchemy Core
on SQLite, a psycopg pipeline on PostgreSQL. Both store the same rows and the same JSON
text; ``tests/hub/test_write_paths.py`` runs one set of pushes through each and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection


@dataclass
class Row:
    """A record as the Hub stores it: its values and each field's version."""

    entity: str
    record_id: str
    team: str
    data: dict[str, Any]
    versions: dict[str, list[Any]]
    exists: bool


@dataclass
class Batch:
    """What one push writes, in its transaction.

    ``changes`` (rows of the change log) and ``received`` (the answers kept for change
    ids) are numbered ``server_seq`` 1, 2, ... within the batch (None: no number); the
    writer places them after the counter, which it bumps by ``len(changes)``."""

    device: dict[str, Any]
    inserts: list[Row]
    updates: list[Row]
    changes: list[dict[str, Any]]
    received: list[dict[str, Any]]


class Writer(Protocol):
    """Writes a push's batch in the connection's transaction."""

    # Whether a push locks the records it reads (``FOR UPDATE``) until it commits; where
    # the database serialises whole write transactions (SQLite) there is no need.
    locks_rows: bool

    def write(self, conn: Connection, batch: Batch) -> int:
        """Write the records, the device's row, the numbered change log and the answers,
        and return the counter's value before this batch (its numbers are that plus
        1, 2, ...). The batch is left as it was given. May commit the transaction (the
        PostgreSQL writer does, in the same round trip as its writes)."""
        ...
