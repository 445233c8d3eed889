"""Lookup indexes a first sync builds once its records are in, not row by row.

A new laptop's first sync inserts every record of the team. Each insert also put its
row into every index of its table, at a random place in a big B-tree; building an
index from the finished table sorts it once instead. At L (1.75 million records) the
sync took 91 s plus 4 s of index builds, against 112 s with the indexes in place.

Left out are only indexes no write of the sync reads: never a primary key or a unique
constraint. An index serving a foreign key may be: SQLite looks a parent's children up
through it only when the parent is deleted or its key changes, which a pull never does
(a deleted record is marked, and ids never change); the one hard delete of customers,
a team leaving the laptop (``sync.scope``), builds what is left out first. Dropping
them and noting it in ``local_meta`` is one
transaction; building them and removing the note is another. A sync killed in
between resumes with them still left out and builds them when its pull ends; opening
the Workspace builds them too, so the laptop never works for long without them.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import Connection, Index, text
from sqlalchemy.exc import OperationalError

from touchpoint.storage.database import PRAGMAS_OPTION, Database
from touchpoint.storage.models import Base

log = logging.getLogger(__name__)

NOTE_KEY = "deferred_indexes"

DEFERRABLE = (
    "ix_interactions_occurred_at",
    "ix_interactions_rep_occurred",
    "ix_interactions_customer_scores",
    # A million random places at L: about 3 s of the load, 1 s to build at the end.
    "ix_interactions_customer_occurred",
    "ix_followups_status_due",
    "ix_followups_assigned_due",
    "ix_followups_remind_at",
    "ix_followups_open_assigned_due",
    # Under a customer's contacts, deals and promises, and a call's promises: 850,000
    # random places at L, about 2 s of the load; 0.3 s to build at the end.
    "ix_followups_customer_id",
    "ix_followups_interaction_created",
    "ix_contacts_customer_id",
    "ix_deals_customer_id",
    "ix_customers_name",
    "ix_customers_live_name",
    "ix_customers_owner",
    "ix_customers_status",
    "ix_customers_territory",
    "ix_customers_updated_at",
    "ix_identity_keys_lookup",
)


def _indexes() -> dict[str, Index]:
    found = {
        index.name: index
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.name in DEFERRABLE
    }
    assert len(found) == len(DEFERRABLE), "every deferrable index is one of the models'"
    return found  # type: ignore[return-value]


def deferred(conn: Connection) -> list[str]:
    """The indexes left out for now (none usually)."""
    note = conn.execute(
        text("SELECT value FROM local_meta WHERE key = :key"), {"key": NOTE_KEY}
    ).scalar()
    return [name for name in (note or "").split(",") if name]


def defer(conn: Connection) -> list[str]:
    """Drop the deferrable indexes and note it, in the caller's transaction."""
    present = {
        name
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
    }
    dropped = [name for name in DEFERRABLE if name in present]
    for name in dropped:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    names = sorted(set(dropped) | set(deferred(conn)))
    conn.execute(
        text(
            "INSERT INTO local_meta (key, value) VALUES (:key, :value)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"key": NOTE_KEY, "value": ",".join(names)},
    )
    return dropped


def build(conn: Connection) -> list[str]:
    """Build the indexes left out and remove the note, in the caller's transaction."""
    names = deferred(conn)
    if not names:
        return []
    indexes = _indexes()
    for name in names:
        index = indexes.get(name)
        if index is not None:
            index.create(conn, checkfirst=True)
    conn.execute(text("DELETE FROM local_meta WHERE key = :key"), {"key": NOTE_KEY})
    log.info("built %d indexes left out during a first sync", len(names))
    return names


def build_pending(db: Database) -> None:
    """Build the indexes left out, if any, in a transaction of their own: at the end of
    a pull and at the opening after a stopped one. When another process holds the write
    lock (a sync under way), that is logged and the build waits for the next chance."""
    with db.read() as session:
        if not deferred(session.connection()):
            return
    # An encrypted database keeps sorting in memory: SQLCipher does not encrypt the
    # sorter's temporary files, which would hold the identity index's keys (e-mail
    # addresses, phone numbers).
    sorting = {PRAGMAS_OPTION: SORT_IN_RUNS} if db.key is None else None
    session = db.write_session()
    try:
        build(session.connection(execution_options=sorting))
        session.commit()
    except OperationalError as exc:
        session.rollback()
        log.warning("indexes left out by a first sync not built yet: %s", exc)
    finally:
        session.close()


# How an index build sorts a plain database's rows: in runs of SQLite's default 2 MB,
# written to temporary files (temp_store FILE) and merged, with up to this many helper
# threads. In one run held in memory (the connection's usual temp_store and 32 MB cache)
# it is a single thread's sort over a working set far bigger than the CPU's caches: at
# L the 15 builds took 5.9 s that way, 4.2 s in runs on one thread and 3.0-3.2 s on two
# or three. Set as the transaction begins (temp_store may not change inside one) and
# set back when the connection returns to the pool.
SORT_THREADS = min(os.cpu_count() or 1, 4)
SORT_CACHE_KIB = 2000
SORT_IN_RUNS = {"temp_store": 1, "cache_size": -SORT_CACHE_KIB, "threads": SORT_THREADS}
