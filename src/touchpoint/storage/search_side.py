"""A first sync's full-text index built beside its load, then swapped in whole.

Tokenising a big team's notes is a fifth of a first sync's SQLite work, and on the
write connection it waits for, and holds up, the records' inserts. A
:class:`SideIndex` builds the same two FTS5 indexes on a connection of its own, into
an in-memory database, on a thread of its own, while the load writes the records;
when the pull ends, one transaction replaces the laptop's index with it.

What it indexes is exactly what ``search_docs`` holds:

- the documents present when it starts, read from the database;
- the documents a bulk load writes on a connection it relays (:meth:`relayed`), handed
  over by the bulk-load thread with the ids SQLite gave them (no statement more);
- every other insert, update or delete of a document on that connection, relayed by
  temporary triggers to a function of this connection, in statement order.

Meanwhile the laptop's own indexes stay behind the search backlog (their triggers
leave the new documents alone). The swap happens only when nothing else can have
written a document: no transaction of the pull was rolled back (:meth:`abandon`), no
local write was logged since the start (every write of a record on this laptop is),
and both indexes hold as many documents as ``search_docs``. Otherwise, or when the
process stops first, the backlog is still there and the usual catch-up indexes the
documents. The indexes built here are bytes for bytes what FTS5 writes (same table
definitions, same settings), so they are copied as they are: the other connections'
FTS5 tables read the new structure once they see the commit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from touchpoint.storage import encryption
from touchpoint.storage.database import BUSY_TIMEOUT_MS, Database
from touchpoint.storage.search_index import (
    _ENTITIES,
    BULK_AUTOMERGE,
    FTS_TABLES,
    SIDE_INDEX,
    _insert_many,
)

log = logging.getLogger(__name__)

SIDE = "search_side"  # the in-memory database's name on the side connection
_RELAY_FUNCTION = "touchpoint_search_side"
_SHADOWS = ("data", "idx", "docsize")  # FTS5's tables of an external-content index
_COMMIT_EVERY = 250_000  # documents per transaction of the side database

_RELAY_TRIGGERS = (
    f"""CREATE TEMP TRIGGER search_side_ai AFTER INSERT ON main.search_docs
        WHEN NOT (SELECT quiet FROM search_side_relay) BEGIN
        SELECT {_RELAY_FUNCTION}('+', new.doc_id, new.entity, new.title, new.body);
    END""",
    f"""CREATE TEMP TRIGGER search_side_ad AFTER DELETE ON main.search_docs BEGIN
        SELECT {_RELAY_FUNCTION}('-', old.doc_id, old.entity, old.title, old.body);
    END""",
    f"""CREATE TEMP TRIGGER search_side_au AFTER UPDATE ON main.search_docs BEGIN
        SELECT {_RELAY_FUNCTION}('-', old.doc_id, old.entity, old.title, old.body);
        SELECT {_RELAY_FUNCTION}('+', new.doc_id, new.entity, new.title, new.body);
    END""",
)

# Which index takes a document of each entity.
_TABLE_OF = {entity: table for table, entities in _ENTITIES.items() for entity in entities}


class SideIndex:
    """Both full-text indexes built on a connection and a thread of their own; see the
    module's docstring. Start one with :meth:`start`; end it with :meth:`swap` or
    :meth:`close`."""

    def __init__(self, dbapi: Any) -> None:
        self._dbapi = dbapi
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=256)
        self._error: BaseException | None = None
        self._abandoned = False
        self._documents = dict.fromkeys(FTS_TABLES, 0)
        self._since_commit = 0
        self._last_change = 0
        self._thread = threading.Thread(target=self._run, name="search-side", daemon=True)

    @classmethod
    def start(cls, db: Database) -> SideIndex | None:
        """Open the side connection, index the documents present, start the thread.
        None when it cannot be (the laptop then indexes as usual)."""
        try:
            dbapi = encryption.connect(db.path, db.key, check_same_thread=False)
        except Exception as exc:  # either driver's error: the usual path still works
            log.warning("search index not built beside the load: %s", exc)
            return None
        side = cls(dbapi)
        try:
            side._prepare()
        except Exception as exc:
            log.warning("search index not built beside the load: %s", exc)
            side._close_connection()
            return None
        side._thread.start()
        return side

    def _prepare(self) -> None:
        db = self._dbapi
        db.isolation_level = None
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Plain even when the laptop's file is encrypted: it never leaves memory.
        db.execute(f"ATTACH DATABASE ':memory:' AS {SIDE} KEY ''")
        db.execute("BEGIN")
        try:
            for table in FTS_TABLES:
                (sql,) = db.execute(
                    "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                    (table,),
                ).fetchone()
                head = f"CREATE VIRTUAL TABLE {table} "
                if not sql.startswith(head):
                    raise ValueError(f"unexpected definition of {table}")
                db.execute(f"CREATE VIRTUAL TABLE {SIDE}.{table} " + sql[len(head) :])
                # The laptop's settings (page size and all), so the pages are the same.
                db.execute(
                    f"INSERT OR REPLACE INTO {SIDE}.{table}_config "
                    f"SELECT * FROM main.{table}_config"
                )
                db.execute(
                    f"INSERT INTO {SIDE}.{table}({table}, rank) "
                    f"VALUES ('automerge', {BULK_AUTOMERGE})"
                )
                a, b = _ENTITIES[table]
                db.execute(
                    f"INSERT INTO {SIDE}.{table}(rowid, title, body) SELECT doc_id, title, body "
                    "FROM main.search_docs WHERE entity IN (?, ?)",
                    (a, b),
                )
            self._documents = _present(db)
            self._last_change = db.execute(
                "SELECT coalesce(max(seq), 0) FROM main.change_log"
            ).fetchone()[0]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        # From here on the side connection only writes its own database: it holds no
        # snapshot of the laptop's, which the checkpoints would have to wait for.
        db.execute("BEGIN")
        db.execute(f"SELECT count(*) FROM {SIDE}.sqlite_master").fetchone()

    # --- what the load hands over ------------------------------------------------------

    @contextmanager
    def relayed(self, conn: Connection) -> Iterator[None]:
        """Relay every change of a document on ``conn`` here while the block lasts (in
        the caller's transaction: the triggers go with it, whatever its end)."""
        dbapi = conn.connection.driver_connection
        info = conn.connection.info
        if not info.get(_RELAY_FUNCTION):
            # Once per connection, for good: it relays to the side index of the moment.
            dbapi.create_function(_RELAY_FUNCTION, 5, _relay_to(info))
            info[_RELAY_FUNCTION] = True
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS search_side_relay (quiet INTEGER)")
        conn.exec_driver_sql("DELETE FROM temp.search_side_relay")
        conn.exec_driver_sql("INSERT INTO temp.search_side_relay (quiet) VALUES (0)")
        for sql in _RELAY_TRIGGERS:
            conn.exec_driver_sql(sql)
        info[SIDE_INDEX] = self
        try:
            yield
        finally:
            info.pop(SIDE_INDEX, None)
        # After an error the caller rolls back, and the triggers go with it.
        for name in ("ai", "ad", "au"):
            conn.exec_driver_sql(f"DROP TRIGGER temp.search_side_{name}")

    @contextmanager
    def unrelayed(self, cursor: Any) -> Iterator[None]:
        """The bulk load's own inserts of documents, handed over by :meth:`documents`
        instead (no call back into Python per row)."""
        cursor.execute("UPDATE temp.search_side_relay SET quiet = 1")
        try:
            yield
        finally:
            cursor.execute("UPDATE temp.search_side_relay SET quiet = 0")

    def documents(self, first_id: int, rows: list[tuple[Any, ...]]) -> None:
        """``rows`` (``search_index.INSERT_DOC``'s) were inserted with the ids from
        ``first_id`` on, in order."""
        self._put(("docs", first_id, rows))

    def _relay(self, op: str, doc_id: int, entity: str, title: str, body: str) -> None:
        self._put((op, doc_id, entity, title, body))

    def _put(self, job: tuple[Any, ...]) -> None:
        if self._error is None and not self._abandoned:
            self._jobs.put(job)

    def abandon(self) -> None:
        """A transaction it was relayed from did not commit: it will not be swapped in."""
        self._abandoned = True

    # --- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        cursor = self._dbapi.cursor()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is not None or self._abandoned:
                continue  # drain
            try:
                if job[0] == "docs":
                    self._index(cursor, job[1], job[2])
                else:
                    self._change(cursor, job)
                if self._since_commit >= _COMMIT_EVERY:
                    cursor.execute("COMMIT")
                    cursor.execute("BEGIN")
                    self._since_commit = 0
            except BaseException as exc:  # reported by swap; the laptop's path goes on
                self._error = exc

    def _index(self, cursor: Any, first_id: int, rows: list[tuple[Any, ...]]) -> None:
        routed: dict[str, list[tuple[Any, ...]]] = {table: [] for table in FTS_TABLES}
        entities = {row[0] for row in rows}
        if len(entities) == 1:  # a batch of one model, as a bulk load writes them
            table = _TABLE_OF.get(entities.pop())
            if table is not None:
                routed[table] = [(i, t, b) for i, (_e, _r, _c, t, b) in enumerate(rows, first_id)]
        else:
            for doc_id, (entity, _r, _c, title, body) in enumerate(rows, first_id):
                table = _TABLE_OF.get(entity)
                if table is not None:
                    routed[table].append((doc_id, title, body))
        for table, params in routed.items():
            if params:
                _insert_many(
                    cursor,
                    f"INSERT INTO {SIDE}.{table}(rowid, title, body) VALUES (?, ?, ?)",
                    params,
                )
                self._documents[table] += len(params)
                self._since_commit += len(params)

    def _change(self, cursor: Any, job: tuple[Any, ...]) -> None:
        op, doc_id, entity, title, body = job
        table = _TABLE_OF.get(entity)
        if table is None:
            return
        if op == "+":
            cursor.execute(
                f"INSERT INTO {SIDE}.{table}(rowid, title, body) VALUES (?, ?, ?)",
                (doc_id, title, body),
            )
            self._documents[table] += 1
        else:
            cursor.execute(
                f"INSERT INTO {SIDE}.{table}({table}, rowid, title, body) "
                "VALUES ('delete', ?, ?, ?)",
                (doc_id, title, body),
            )
            self._documents[table] -= 1
        self._since_commit += 1

    # --- the end -----------------------------------------------------------------------

    def swap(self) -> bool:
        """Wait for the thread, then replace the laptop's indexes with these and end
        their backlog, in one transaction; close. False (nothing changed) when this
        index cannot be trusted to hold exactly the laptop's documents, or when the swap
        fails (the records the pull wrote are committed whatever happens here)."""
        try:
            self._stop()
            if self._abandoned:
                return False
            if self._error is not None:
                log.warning("search index built beside the load failed: %r", self._error)
                return False
            return self._swap()
        except Exception as exc:  # either driver's error (a full disk, a lock held too long)
            log.warning("search index built beside the load not swapped in: %r", exc)
            return False
        finally:
            self._close_connection()

    def close(self) -> None:
        """Stop without swapping (the backlog's catch-up indexes the documents)."""
        self._abandoned = True
        self._stop()
        self._close_connection()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def _swap(self) -> bool:
        db = self._dbapi
        db.execute("COMMIT")  # the side database's last documents
        db.execute("BEGIN IMMEDIATE")
        try:
            if not self._matches(db):
                db.execute("ROLLBACK")
                return False
            for table in FTS_TABLES:
                for shadow in _SHADOWS:
                    name = f"{table}_{shadow}"
                    db.execute(f"DELETE FROM main.{name}")
                    db.execute(f"INSERT INTO main.{name} SELECT * FROM {SIDE}.{name}")
            marks = ", ".join("?" * len(FTS_TABLES))
            db.execute(f"DELETE FROM main.search_backlog WHERE fts IN ({marks})", FTS_TABLES)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        log.info("search index built beside the load swapped in: %s", self._documents)
        return True

    def _matches(self, db: Any) -> bool:
        last_change = db.execute("SELECT coalesce(max(seq), 0) FROM main.change_log").fetchone()[0]
        if last_change != self._last_change:
            log.info("search index built beside the load left: records were written meanwhile")
            return False
        present = _present(db)
        for table in FTS_TABLES:
            if present[table] != self._documents[table]:
                log.warning(
                    "search index built beside the load left: %s holds %d documents of %d",
                    table,
                    self._documents[table],
                    present[table],
                )
                return False
        return True

    def _close_connection(self) -> None:
        try:
            if self._dbapi.in_transaction:
                self._dbapi.execute("ROLLBACK")
            self._dbapi.close()
        except Exception as exc:  # closing only frees memory: nothing to lose
            log.debug("side index connection closed with %r", exc)


def _present(db: Any) -> dict[str, int]:
    """How many documents each index should hold: one pass over (entity, record_id)."""
    present = dict.fromkeys(FTS_TABLES, 0)
    counts = db.execute("SELECT entity, count(*) FROM main.search_docs GROUP BY entity")
    for entity, count in counts:
        table = _TABLE_OF.get(entity)
        if table is not None:
            present[table] += count
    return present


def _relay_to(info: dict[str, Any]) -> Any:
    def relay(op: str, doc_id: int, entity: str, title: str, body: str) -> None:
        side = info.get(SIDE_INDEX)
        if side is not None:
            side._relay(op, doc_id, entity, title, body)

    return relay
