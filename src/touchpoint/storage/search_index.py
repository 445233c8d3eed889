"""The full-text index: two FTS5 tables over ``search_docs``, kept current on every flush.

``search_docs`` holds the text of each record. Migration 0004 indexes it twice, as
external-content FTS5 tables over views of it, kept in step by triggers:
``search_fts_names`` for customers and contacts (small; prefix indexes of 1 to 4
letters) and ``search_fts`` for interactions and follow-ups (the bulk; prefix
indexes of 2 to 4 letters). Split so that a search ranks names apart from the much
larger activity, whose matches it can take newest first without scoring them all.
``unicode61 remove_diacritics 2`` makes matching case- and accent-insensitive. The
activity index keeps which column a word is in, not where (``detail=column``, migration
0013): a query of it may ask for words and their prefixes, in a column or anywhere, but
not for a phrase of several words; :func:`tokens` splits what was typed into single
words, for both indexes alike.

After a big pull an index may lag its documents: ``search_backlog`` (migration 0006)
says which documents it has not taken in yet, and :func:`catch_up` feeds them to it.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, text

from touchpoint.domain.values import display_phone
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import (
    Contact,
    Customer,
    FollowUp,
    Interaction,
    Record,
    SearchDoc,
)

INDEXED: tuple[type[Record], ...] = (Customer, Contact, Interaction, FollowUp)

TOKENIZER = "unicode61 remove_diacritics 2"  # both indexes' (migrations 0004, 0013)

# Runs of letters and digits the tokenizer is known to read as one word (checked
# against it, character by character, in the tests): Latin with its accents.
_ONE_TOKEN = re.compile(r"[0-9A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F]+")


def tokens(text: str) -> list[str]:
    """The words the indexes' tokenizer reads in ``text``, in order, each of which a
    query may quote on its own (an index with ``detail=column`` refuses a quoted string
    of several). Latin text is split here; other text by SQLite's own tokenizer, which
    may see words where Python sees one (an underscore, a letter newer than its tables)."""
    if _ONE_TOKEN.fullmatch(text):
        return [text]
    return _tokenized(text)


def _tokenized(text: str) -> list[str]:
    """``text``'s words as SQLite's tokenizer reads them (folded: no case, no accents)."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZER}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
        return [term for (term,) in conn.execute("SELECT term FROM v ORDER BY offset")]


NAMES_FTS = "search_fts_names"  # customers and contacts
ACTIVITY_FTS = "search_fts"  # interactions and follow-ups
FTS_TABLES = (NAMES_FTS, ACTIVITY_FTS)


# Lists, not generators, into each join: the same text, built faster (an import or a
# first sync makes a document of every record it writes).
def _join(*parts: Any) -> str:
    return " ".join([str(p) for p in parts if p])


def _phones(items: list[dict[str, Any]] | None) -> str:
    out: list[str] = []
    for item in items or []:
        number = item.get("value") or ""
        if number:
            out.append(number)
            out.append(display_phone(number))
    return " ".join(out)


def _values(items: list[dict[str, Any]] | None) -> str:
    return " ".join([str(i.get("value") or "") for i in items or []])


def _customer(record: Any) -> tuple[str | None, str, str] | None:
    if record.merged_into_id:
        return None
    addresses = " ".join(
        [
            _join(a.get("street"), a.get("city"), a.get("region"), a.get("country"))
            for a in record.addresses or []
        ]
    )
    custom = " ".join([str(v) for v in (record.custom or {}).values() if v is not None])
    body = _join(
        record.industry,
        record.segment,
        record.territory,
        record.website,
        _values(record.emails),
        _phones(record.phones),
        " ".join(record.tags or []),
        addresses,
        custom,
        record.notes,
    )
    return record.id, record.name, body


def _contact(record: Any) -> tuple[str | None, str, str] | None:
    if record.merged_into_id:
        return None
    body = _join(
        record.title,
        record.decision_role,
        _values(record.emails),
        _phones(record.phones),
        record.notes,
    )
    return record.customer_id, record.name, body


def _interaction(record: Any) -> tuple[str | None, str, str] | None:
    title = record.subject or _join(record.kind.capitalize(), record.outcome)
    return record.customer_id, title, _join(record.notes, record.feedback)


def _followup(record: Any) -> tuple[str | None, str, str] | None:
    if record.status == "cancelled":
        return None
    return record.customer_id, record.title, record.notes or ""


# By entity rather than by class: a first sync builds documents from plain rows with
# the same attribute names (no ORM instance per record).
_DOCUMENT = {
    Customer.entity: _customer,
    Contact.entity: _contact,
    Interaction.entity: _interaction,
    FollowUp.entity: _followup,
}


def document(record: Record) -> tuple[str | None, str, str] | None:
    """(customer_id, title, body) for a record, or None when it is not searchable.

    ``record`` may also be any object with a record's attributes and its ``entity``."""
    make = _DOCUMENT.get(record.entity)
    if make is None or record.deleted_at is not None:
        return None
    return make(record)


INSERT_DOC = (
    "INSERT INTO search_docs (entity, record_id, customer_id, title, body) VALUES (?, ?, ?, ?, ?)"
)


def new_documents(records: Iterable[Record]) -> list[tuple[Any, ...]]:
    """INSERT_DOC's rows for records that have no document yet (just inserted)."""
    params: list[tuple[Any, ...]] = []
    for record in records:
        doc = document(record)
        if doc is not None:
            params.append((record.entity, record.id, *doc))
    return params


def refresh(conn: Connection, records: Iterable[Record]) -> None:
    """Bring the index in line with these records, in the caller's transaction.

    Batched: one lookup of the existing documents per chunk of ids, then one
    executemany each for inserts, updates and deletes (a bulk import flushes
    thousands of records at once). Records inserted just now have no document to look
    up: see :func:`new_documents`."""
    by_entity: dict[str, list[Record]] = {}
    for record in records:
        if record.entity in _DOCUMENT:
            by_entity.setdefault(record.entity, []).append(record)
    for entity, group in by_entity.items():
        existing: dict[str, int] = {}
        ids = [r.id for r in group]
        for chunk in chunked(ids):
            rows = conn.execute(
                select(SearchDoc.record_id, SearchDoc.doc_id).where(
                    SearchDoc.entity == entity, SearchDoc.record_id.in_(chunk)
                )
            )
            existing.update({record_id: doc_id for record_id, doc_id in rows})
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[int] = []
        for record in group:
            doc = document(record)
            doc_id = existing.get(record.id)
            if doc is None:
                if doc_id is not None:
                    deletes.append(doc_id)
                continue
            customer_id, title, body = doc
            values = {"customer_id": customer_id, "title": title, "body": body}
            if doc_id is None:
                inserts.append({"entity": entity, "record_id": record.id, **values})
            else:
                updates.append({"b_doc_id": doc_id, **values})
        for chunk in chunked(deletes):
            conn.execute(delete(SearchDoc).where(SearchDoc.doc_id.in_(chunk)))
        if inserts:
            conn.execute(insert(SearchDoc), inserts)
        if updates:
            conn.execute(
                SearchDoc.__table__.update().where(SearchDoc.doc_id == bindparam("b_doc_id")),
                updates,
            )


# The entities each index holds, as its content view selects them (migration 0004).
_ENTITIES = {NAMES_FTS: ("customer", "contact"), ACTIVITY_FTS: ("interaction", "followup")}


_NEWEST_DOC = "SELECT coalesce(max(doc_id), 0) FROM search_docs"


# "+entity": the documents are found by their id range, never through the (entity,
# record_id) index: without statistics SQLite took that index and walked every document
# of the two entities (1.35 million activity documents at L, a quarter of a second)
# for each fill of a bulk load, even one with no document of them.
_NEW_OF_ENTITIES = "doc_id > ? AND doc_id <= ? AND +entity IN (?, ?)"


def _fill_sql(table: str) -> str:
    """Feed ``table`` its documents with ids in (?, ?] of its two entities (?, ?)."""
    return (
        f"INSERT INTO {table}(rowid, title, body) SELECT doc_id, title, body "
        f"FROM search_docs WHERE {_NEW_OF_ENTITIES}"
    )


class BulkLoad:
    """What a :func:`bulk_insert` block gives its caller: ``insert`` writes rows,
    ``index`` says the documents written so far may be indexed.

    In the background, both run in order on a thread of their own that shares the
    caller's SQLite connection and transaction, while the caller's thread builds the
    next rows: SQLite serialises the two threads' statements on the connection's mutex,
    and it runs a statement (B-tree inserts, FTS5 tokenising) with Python's lock
    released, so that work overlaps the caller's Python instead of following it. A fill
    takes the documents up to the newest one present when it starts; a document is one
    row, written by one statement step, so a fill never sees half of one, and the next
    fill starts where this one ended. After a failed statement nothing queued runs; the
    error is raised in the caller's thread at its next call or when the block ends."""

    def __init__(self, conn: Connection, first_new: int, tables: list[str], background: bool):
        self._conn = conn
        self._db = conn.connection.driver_connection
        self._done = first_new
        self._tables = tables
        self._error: BaseException | None = None
        self._jobs: queue.Queue[tuple[str, Any] | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            # Some batches ahead at most (an import queues nine jobs a batch): beyond
            # that the caller waits rather than piling up rows.
            self._jobs = queue.Queue(maxsize=64)
            self._thread = threading.Thread(target=self._run, name="bulk-load", daemon=True)
            self._thread.start()

    def insert(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """INSERT these rows (an executemany): now, or queued in the background."""
        self._submit((sql, rows), sql, rows)

    def index(self, *, now: bool = False) -> None:
        """The documents written so far may be indexed (in the background only; else
        they are indexed when the block ends): once :data:`FILL_EVERY` of them wait, or
        all of them ``now`` (before the caller edits one)."""
        if self._jobs is not None:
            self._raise_failure()
            self._jobs.put(("index", now))

    def execute(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run any statement for these rows (an executemany), now or queued in order."""
        self._submit(("execute", (sql, rows)), sql, rows)

    def _submit(self, job: tuple[str, Any], sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``sql`` for ``rows`` now, or queue ``job`` (how the thread runs it)."""
        if not rows:
            return
        if self._jobs is None:
            self._conn.exec_driver_sql(sql, rows)
            return
        self._raise_failure()
        self._jobs.put(job)

    def wait(self) -> None:
        """Return once everything queued is written (raising what failed): until its
        next ``insert``, the caller may then use the connection itself."""
        if self._jobs is not None:
            written = threading.Event()
            self._jobs.put(("wait", written))
            written.wait()
        self._raise_failure()

    @property
    def busy(self) -> bool:
        """Whether rows or indexing given are still waiting or being written: a caller
        may hand the thread its next rows at once when it is not, and gather more when
        it is (each batch costs the thread some hand-overs of Python's lock)."""
        return self._jobs is not None and self._jobs.unfinished_tasks > 0

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _fill(self, *, now: bool = True) -> None:
        if not self._tables:  # every index takes its documents through a catch-up
            return
        cursor = self._db.cursor()
        try:
            newest = cursor.execute(_NEWEST_DOC).fetchone()[0]
            if newest <= self._done or (not now and newest - self._done < FILL_EVERY):
                return
            for table in self._tables:
                cursor.execute(_fill_sql(table), (self._done, newest, *_ENTITIES[table]))
            self._done = newest
        finally:
            cursor.close()

    def _run(self) -> None:
        assert self._jobs is not None
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                sql, rows = job
                if sql == "wait":
                    rows.set()
                    continue
                if self._error is not None:
                    continue  # drain: nothing more runs after a failure
                if sql == "index":
                    self._fill(now=rows)
                elif sql == "execute":
                    self._db.executemany(*rows)
                else:
                    cursor = self._db.cursor()
                    try:
                        _insert_many(cursor, sql, rows)
                    finally:
                        cursor.close()
            except BaseException as exc:  # raised in the caller's thread
                self._error = exc
            finally:
                self._jobs.task_done()

    def finish(self, *, fill: bool) -> None:
        """Wait for the queued work to end; then, when ``fill``, index what is left, on
        the caller's thread. Raises what failed on the thread."""
        if self._thread is not None:
            assert self._jobs is not None
            if not fill:
                self._error = self._error or _Abandoned()  # the rest is skipped
            self._jobs.put(None)
            self._thread.join()
            if not fill:
                return
            self._raise_failure()
        if fill:
            self._fill()


# Process-wide on purpose: a pure memo of SQL text, the same for a statement and a row
# count whoever asks (it holds no data and never goes stale), so it is not passed down.
_MULTI_ROW: dict[tuple[str, int], str] = {}
_MAX_ROWS = 2000  # rows per statement at most: a longer one only costs more to prepare


def _insert_many(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run ``INSERT ... VALUES (?, ...)`` for many rows as few statements, each with one
    ``VALUES (...), (...), ...`` list of rows: SQLite runs each whole with Python's lock
    released, where an executemany takes that lock back between rows, and a busy Python
    thread beside it holds it for milliseconds at a time. Values are bound as an
    executemany binds them, adapters included. (A JSON array of the rows read through
    json_each also runs whole, but SQLite then spent twice the time decoding it.)"""
    head, _values, marks = sql.rpartition(" VALUES ")
    width = marks.count("?")
    limit = _variable_limit(cursor.connection)
    per = max(1, min(_MAX_ROWS, limit // width))
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        key = (sql, len(part))
        many = _MULTI_ROW.get(key)
        if many is None:
            many = f"{head} VALUES {', '.join([marks] * len(part))}"
            if len(part) == per:  # a last part's odd size is not worth keeping
                _MULTI_ROW[key] = many
        if set(map(len, part)) != {width}:  # else values would shift into other rows
            raise ValueError(f"every row of {head!r} needs {width} values")
        cursor.execute(many, list(chain.from_iterable(part)))


def _variable_limit(connection: Any) -> int:
    """How many values one statement may bind on this connection."""
    getlimit = getattr(connection, "getlimit", None)
    if getlimit is None:
        # SQLCipher's driver cannot ask: SQLite's own limit since 3.32 (SQLCipher 4.4).
        return 32766
    return getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class _Abandoned(Exception):
    """The block failed: queued work is dropped, not run."""


@contextmanager
def bulk_insert(
    conn: Connection, *, background: bool = False, defer: bool = False
) -> Iterator[BulkLoad]:
    """Index the documents inserted inside this block all at once when it ends, or,
    with ``defer``, leave them to :func:`catch_up` (a big pull: the records are there
    at once, and searchable a little later).

    Feeding FTS5 one trigger call per row costs about as much as tokenising the text;
    one INSERT…SELECT of the new documents afterwards costs half. The insert triggers
    are dropped for the block and recreated from their own stored SQL, all in the
    caller's transaction, so a rollback or a crash leaves them as they were. Inside
    the block documents may only be inserted: updating or deleting one inserted here
    would tell FTS5 to remove a row it has never seen.

    The block gets a :class:`BulkLoad`. With ``background``, the rows given to its
    ``insert`` and the indexing asked by its ``index`` run on a thread of their own while
    the caller builds the next batch; the caller must then write only through it inside
    the block (no statement of its own on the connection until the block ends)."""
    first_new = conn.exec_driver_sql(_NEWEST_DOC).scalar()
    if defer:
        # Every document from here on waits for the catch-up; the index triggers see
        # the backlog and leave them alone.
        for table in FTS_TABLES:
            conn.exec_driver_sql(
                "INSERT INTO search_backlog (fts, done) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (table, first_new),
            )
    # An index with a backlog takes new documents through its catch-up only. Its insert
    # trigger stays: its guard already leaves them alone, and dropping a trigger changes
    # the schema, after which SQLite prepares every cached statement again.
    waiting = _waiting(conn)
    triggers = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
        ).bindparams(bindparam("names", expanding=True)),
        {"names": [f"{t}_ai" for t in FTS_TABLES if t not in waiting]},
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    tables = [t for t in _ENTITIES if any(name == f"{t}_ai" for name, _sql in triggers)]
    usual = {table: _settings(conn, table) for table in tables}
    for table in tables:
        _set(conn, table, BULK_SETTINGS)
    load = BulkLoad(conn, first_new, tables, background)
    try:
        yield load
    except BaseException:
        # Nothing may run on the connection once the caller rolls back.
        load.finish(fill=False)
        raise
    load.finish(fill=True)
    for table, settings in usual.items():
        _end_bulk_merging(conn, table, settings)
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


# While a bulk load fills an index, FTS5 merges its segments 16 at a time instead of 4:
# fewer rewrites of the same postings (a fifth less indexing time for 400,000 notes),
# for a few more segments per level, which later writes merge down again as usual.
# And it gathers up to 32 MB of new postings in memory before it writes them out as a
# segment, not 1 MB: fewer, bigger segments, so less merging (400,000 names filled in
# one statement: 9.6 s with 1 MB, 5.2-6.8 s with 8-32 MB).
BULK_SETTINGS = {"automerge": 16, "hashsize": 32 * 1024 * 1024}
USUAL_SETTINGS = {"automerge": 4, "hashsize": 1024 * 1024}  # FTS5's own

# A bulk load fills the indexes once this many new documents wait, not after each
# batch: FTS5 writes out what it holds in memory at the end of every statement, and
# 2,000 notes a statement took half again as long as 20,000 (1.5 s against 2.2 s for
# 200,000 notes).
FILL_EVERY = 100_000


def _settings(conn: Connection, table: str) -> dict[str, int]:
    """The index's own values of the settings a bulk load changes."""
    keys = tuple(USUAL_SETTINGS)
    stored = dict(
        conn.exec_driver_sql(
            f"SELECT k, v FROM {table}_config WHERE k IN ({', '.join('?' for _ in keys)})", keys
        ).all()
    )
    return {k: int(stored.get(k, usual)) for k, usual in USUAL_SETTINGS.items()}


def _set(conn: Connection, table: str, settings: dict[str, int]) -> None:
    for key, value in settings.items():
        conn.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES (?, {int(value)})", (key,))


def _end_bulk_merging(
    conn: Connection, table: str, settings: dict[str, int] = USUAL_SETTINGS
) -> None:
    """Write out what FTS5 still holds in memory while the bulk settings apply (a
    'merge' flushes it first), then give the index its usual settings back."""
    conn.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('merge', 1)")
    _set(conn, table, settings)


def rebuild(conn: Connection) -> None:
    """Recreate both FTS indexes from search_docs (on repair): nothing waits after it.

    Not FTS5's own 'rebuild': it reads the content view in the order SQLite's plan
    gives, by the (entity, record_id) index, and FTS5 writes a segment for nearly every
    document whose id is lower than the one before (a minute at L, not ten seconds)."""
    for table in FTS_TABLES:
        conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('delete-all')")
        _set(conn, table, BULK_SETTINGS)
        newest = conn.exec_driver_sql(_NEWEST_DOC).scalar()
        conn.exec_driver_sql(_fill_sql(table), (0, newest, *_ENTITIES[table]))
        _end_bulk_merging(conn, table)
    conn.exec_driver_sql("DELETE FROM search_backlog")


def integrity_ok(conn: Connection) -> bool:
    """The indexes are sound and match their documents. An index with a backlog is
    checked on its own (it cannot match documents it has not taken in yet)."""
    waiting = _waiting(conn)
    try:
        for table in FTS_TABLES:
            against_content = 0 if table in waiting else 1
            conn.execute(
                text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', :c)"),
                {"c": against_content},
            )
    except Exception:
        return False
    return True


# --- the backlog: documents an index takes in after a big pull ------------------------
def _waiting(conn: Connection) -> dict[str, int]:
    """{index: the newest document it holds} for each index with a backlog."""
    return dict(conn.exec_driver_sql("SELECT fts, done FROM search_backlog").all())


def lagging(conn: Connection, table: str | None = None) -> bool:
    """Some documents wait to be indexed, by ``table`` or by either index (one cheap
    lookup: for every search)."""
    if table is None:
        return bool(conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM search_backlog)").scalar())
    found = conn.exec_driver_sql("SELECT 1 FROM search_backlog WHERE fts = ?", (table,))
    return found.first() is not None


def backlog(conn: Connection) -> int:
    """How many documents wait to be indexed."""
    total = 0
    for table, done in _waiting(conn).items():
        a, b = _ENTITIES[table]
        total += conn.exec_driver_sql(
            # By the id range, as a fill reads them (see _NEW_OF_ENTITIES).
            "SELECT count(*) FROM search_docs WHERE doc_id > ? AND +entity IN (?, ?)",
            (done, a, b),
        ).scalar()
    return total


def catch_up(
    conn: Connection, documents: int, tables: Iterable[str] = FTS_TABLES
) -> tuple[int, int] | None:
    """Index the next ``documents`` document ids of the backlog of ``tables`` (both
    indexes by default) in the caller's transaction: (the id reached, the newest id),
    or None when nothing waits.

    Documents written meanwhile have higher ids and are reached in turn; an index's
    backlog ends when it reaches the newest document."""
    chosen = set(tables)
    waiting = {table: done for table, done in _waiting(conn).items() if table in chosen}
    if not waiting:
        return None
    newest = conn.exec_driver_sql(_NEWEST_DOC).scalar()
    reach = min(min(waiting.values()) + documents, newest)
    for table, done in waiting.items():
        if done < reach:
            # With the bulk settings while it catches up (see BULK_SETTINGS).
            if _settings(conn, table) != BULK_SETTINGS:
                _set(conn, table, BULK_SETTINGS)
            conn.exec_driver_sql(_fill_sql(table), (done, reach, *_ENTITIES[table]))
        if reach >= newest:
            conn.exec_driver_sql("DELETE FROM search_backlog WHERE fts = ?", (table,))
            _end_bulk_merging(conn, table)
        elif done < reach:
            conn.exec_driver_sql("UPDATE search_backlog SET done = ? WHERE fts = ?", (reach, table))
    return reach, newest
