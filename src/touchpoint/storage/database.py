"""Opening the local SQLite database the way a CRM that must never lose data should.

WAL so readers never block the writer, ``synchronous=FULL`` so a committed change
survives a power cut, foreign keys on, and a busy timeout so a second process
waits instead of failing. Write transactions start with ``BEGIN IMMEDIATE``: they
take the write lock up front, so two writers queue instead of deadlocking.

Connections are pooled: opening one and setting its PRAGMAs on every unit of work
cost more than a small search. A connection serves one unit of work at a time, is
checked back in (its transaction rolled back) when that ends, and the pool keeps a
few open for reuse; threads never use the same connection at the same time.

A process whose database belongs to one thread (the window's, ``ui.backend``) gives the
Database its :class:`Turns`: a connection taken from the pool on another thread then
waits for that thread's turn, and holds it until the connection goes back.

An encrypted database (:mod:`touchpoint.storage.encryption`) is opened through
SQLCipher's driver with its key applied before anything else; every PRAGMA above
applies to it the same way.

Committed pages are copied from the WAL into the database file by a thread of its own
(:class:`Checkpointer`), not by the committing thread: SQLite's automatic checkpoint ran
inside the commit of a big write, 0.3-0.4 s of a 5,000-card import and seconds of each
transaction of a first sync, with the caller waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from touchpoint import background
from touchpoint.storage.types import json_text

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
POOL_SIZE = 4  # idle connections kept open: the UI thread, a worker or two, a writer


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA cache_size = -32000")  # 32 MB page cache per connection
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.execute("PRAGMA wal_autocheckpoint = 0")  # the Checkpointer's thread does it
    cursor.close()


# An execution option: PRAGMAs set on a connection before its transaction begins (some,
# like synchronous, may not change inside one), and set back to what they were when the
# connection goes back to the pool, after its commit.
PRAGMAS_OPTION = "touchpoint_pragmas"
_SET_BACK = "touchpoint_set_back"


def _on_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    pragmas = options.get(PRAGMAS_OPTION)
    if pragmas:
        driver = conn.connection.driver_connection
        kept = conn.connection.info.setdefault(_SET_BACK, {})
        for name, value in pragmas.items():
            kept.setdefault(name, int(driver.execute(f"PRAGMA {name}").fetchone()[0]))
            driver.execute(f"PRAGMA {name} = {int(value)}")
    if options.get("touchpoint_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _set_back(dbapi_connection: Any, record: Any) -> None:
    kept = record.info.pop(_SET_BACK, None)
    if kept and dbapi_connection is not None:  # after the pool's rollback: no transaction
        for name, value in kept.items():
            dbapi_connection.execute(f"PRAGMA {name} = {value}")


def make_engine(path: Path, key: str | None = None) -> Engine:
    # A connection is checked out by one unit of work at a time (any thread: pysqlite's
    # same-thread check is off for pooled file databases); beyond POOL_SIZE busy
    # connections, extra ones are opened and closed on return.
    options: dict[str, Any] = {}
    if key is not None:
        from touchpoint.storage import encryption

        # SQLCipher's driver, with PRAGMA key run before the "connect" event's PRAGMAs.
        options["module"] = encryption.driver()
        options["creator"] = lambda: encryption.connect(path, key, check_same_thread=False)
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=POOL_SIZE,
        max_overflow=16,
        pool_timeout=BUSY_TIMEOUT_MS / 1000,
        connect_args={"check_same_thread": False},
        json_serializer=json_text,
        **options,
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "checkin", _set_back)
    return engine


class Checkpointer:
    """Copies what was committed from the WAL into the database file, on a thread of its
    own with a connection of its own, after each commit of a write.

    A passive checkpoint never blocks a writer or a reader and never waits for one:
    frames a reader still needs wait for the next commit's checkpoint. The WAL is
    durable either way (``synchronous=FULL``); the last connection closed checkpoints
    what is left."""

    def __init__(self, connect: Any) -> None:
        self._connect = connect
        self._due = False
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self, _conn: Any) -> None:
        """A write transaction is committing: checkpoint once its connection is back."""
        self._due = True

    def returned(self, _dbapi: Any, _record: Any) -> None:
        if not self._due:
            return
        self._due = False
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="touchpoint-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        background.lower_this_thread(background.CHECKPOINT)  # it holds nobody up
        conn = None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break
            try:
                conn = conn or self._connect()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except Exception as exc:  # either driver's error: tried again at the next commit
                log.warning("checkpoint failed: %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Stop the thread (the caller then closes the last connections)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()


class Turns(Protocol):
    """Who may use the database when, for a process where one thread owns it."""

    def enter(self) -> object | None:
        """Called on the thread taking a connection: blocks until it may use the database;
        what to hand :meth:`leave` when the connection goes back, or None (no turn taken:
        the owner itself, or a thread that never waits)."""

    def leave(self, held: object) -> None:
        """The connection taken with ``held`` went back: the turn ends (nested ones count)."""


class Database:
    """One SQLite file: engines and session factories for reading and for writing.

    ``key`` (64 hex digits) opens it encrypted with SQLCipher; None opens it plain."""

    def __init__(self, path: Path, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.engine = make_engine(path, key)
        self._checkpointer = Checkpointer(self._connect_for_checkpoints)
        event.listen(self.engine, "commit", self._checkpointer.committed)
        event.listen(self.engine, "checkin", self._checkpointer.returned)
        self._turns: Turns | None = None
        self._listening = False
        self._write_engine = self.engine.execution_options(touchpoint_write=True)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def turns(self) -> Turns | None:
        """Who may use the database when (see the module's docstring); None: anyone."""
        return self._turns

    @turns.setter
    def turns(self, turns: Turns | None) -> None:
        # The pool's events are listened to from the first Turns on, and then for good
        # (a connection out when they are taken away still gives its turn back): a
        # process that never sets one (the command line, the Hub) pays nothing.
        if turns is not None and not self._listening:
            event.listen(self.engine, "checkout", self._taken)
            event.listen(self.engine, "checkin", self._returned)
            self._listening = True
        self._turns = turns

    def _taken(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        turns = self._turns
        if turns is not None:
            held = turns.enter()
            if held is not None:
                record.info["turn"] = (turns, held)

    def _returned(self, _dbapi: Any, record: Any) -> None:
        taken = record.info.pop("turn", None)
        if taken is not None:
            turns, held = taken
            turns.leave(held)

    def write_session(self) -> Session:
        return self._writer()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session; its snapshot is consistent for its whole life."""
        session = self._reader()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    def _connect_for_checkpoints(self) -> Any:
        from touchpoint.storage import encryption

        return encryption.connect(self.path, self.key, check_same_thread=False)

    def dispose(self) -> None:
        self._checkpointer.close()
        self.engine.dispose()
