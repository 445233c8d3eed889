"""Pull: pages after the cursor, the next fetched ahead on a thread, each applied with it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from touchpoint import background
from touchpoint.collector import collector_paused
from touchpoint.storage import deferred_indexes
from touchpoint.storage.bulk_write import bulk_write
from touchpoint.storage.database import PRAGMAS_OPTION
from touchpoint.sync.account import CURSOR_KEY, read_meta, write_meta
from touchpoint.sync.applying import (
    _UNAPPLIABLE,
    ApplyStage,
    Stream,
    _held_back,
    from_others,
    known_records,
)
from touchpoint.sync.cycle import Cancelled, SyncProgress
from touchpoint.sync.transport import PullPage

log = logging.getLogger(__name__)

BIG_PAGE = 1000  # records new here in one page: insert them as a bulk load
# Changes of big pages applied in one local transaction. With a first sync's lookup
# indexes left out (storage.deferred_indexes), a commit writes mostly new pages, and each
# commit also writes again every index and full-text page the transaction touched, with
# the bulk load stopped meanwhile: at L, 600,000 (three transactions) took 89.5-94.3 s
# where 200,000 took 101.6-104.3 s (1,000,000: 96.3 s). A kill loses at most about half
# a minute of loading; the pull resumes from the last commit.
BULK_TRANSACTION = 600_000
BULK_CACHE_KIB = -262144  # SQLite's page cache while loading one: 256 MB
_LAZY_COMMIT = {PRAGMAS_OPTION: {"synchronous": 1}}  # NORMAL (see _bulk_pragmas)
KNOWN_AT_MOST = 100_000  # records of its own a laptop may hold for its first sync to stream


class PullStage(ApplyStage):
    """The engine's pull: the Hub's changes after this laptop's cursor."""

    def _pull_all(self, counts: dict[str, int]) -> None:
        """Pull pages until the Hub has no more. The next page is fetched on a second
        thread while this one is applied (SQLite and the Hub work meanwhile), but the
        cursor only moves with applied pages, in their transaction, so a kill anywhere
        resumes exactly.

        Big pages (a first sync) are applied several to a transaction: each commit
        rewrites every index page the transaction touched, and new records' random ids
        touch nearly all of them, so fewer commits write far less.

        Applying is total: when a transaction fails on a change this laptop cannot apply
        (a record it names is not here, a value it cannot store), the pull goes back to
        where that transaction started and applies the same stretch page by page, each
        change checked first; what cannot be applied is set aside with its reason
        (:class:`SetAside`), and the rest, and every later page, applies as usual."""
        _Pull(self, counts).run()
        self._retry_set_aside(counts)


class _Pull:
    """One pull's state: the cursor, the page fetched ahead and its thread, the paused
    collector, and the stretch to apply again carefully."""

    def __init__(self, stage: PullStage, counts: dict[str, int]) -> None:
        self.stage = stage
        self.counts = counts
        with stage.ws.read() as session:
            self.cursor = int(read_meta(session, CURSOR_KEY) or 0)
        self.start = self.cursor
        stage.pulled_from_start = self.start == 0
        # Most syncs need one page: the thread is started only for a second one.
        self.pool: ThreadPoolExecutor | None = None
        # A big pull (a first sync) runs with the cyclic collector paused (see collector).
        self.paused = contextlib.ExitStack()
        self.big_pull = False
        self.ahead: Future[PullPage] | None = None
        # A page fetched inside a transaction of big pages but left for the next one.
        self.held_page: PullPage | None = None
        self.me = stage.ws.device_id
        # Pages up to this server sequence are applied carefully (see PullStage._pull_all).
        self.careful_until = -1
        self.held_back = _held_back(stage.ws)
        # A first sync streams its pages (applying.Stream) when this laptop holds few
        # records of its own: which those are is read once, here.
        self.known: set[tuple[str, str]] | None = None
        if self.start == 0:
            with stage.ws.read() as session:
                self.known = known_records(session.connection(), KNOWN_AT_MOST)

    def fetch(self, after: int) -> PullPage:
        stage = self.stage
        return stage._retry(lambda: stage.client.pull(after, stage.page_size))

    def next_page(self) -> PullPage:
        if self.held_page is not None:
            page, self.held_page = self.held_page, None
            return page
        page = self.fetch(self.cursor) if self.ahead is None else self.ahead.result()
        self.ahead = None
        if page.more:
            if self.pool is None:
                # A page ahead is enough: the bulk load gets the core first.
                self.pool = ThreadPoolExecutor(
                    max_workers=1,
                    thread_name_prefix="sync-pull",
                    initializer=background.lower_this_thread,
                    initargs=(background.PREFETCH,),
                )
            self.ahead = self.pool.submit(self.fetch, page.next_after)
        self.stage.crash_point("pulled")
        return page

    def took(self, page: PullPage) -> None:
        self.cursor = page.next_after
        span = max(page.high_water - self.start, 1)
        self.stage.progress(SyncProgress("pull", min(self.cursor - self.start, span), span))

    def run(self) -> None:
        stage = self.stage
        try:
            while True:
                if stage.cancel.is_set():
                    raise Cancelled
                page = self.next_page()
                if not page.changes and page.next_after == self.cursor:
                    break  # nothing new: no transaction at all
                careful = page.careful or self.cursor < self.careful_until
                if len(page.changes) >= BIG_PAGE and not self.big_pull and not careful:
                    self.big_pull = True
                    self.paused.enter_context(collector_paused())
                committed = self.cursor
                try:
                    page, received, conflicts = self.apply(page, careful=careful)
                except _UNAPPLIABLE as exc:
                    if careful:
                        raise
                    # Go back to where the transaction started; the stretch it covered
                    # is applied again page by page, each change checked first.
                    log.warning("sync: pulled changes could not be applied (%r); checking", exc)
                    # At least the page it began with, even when it failed before its
                    # first page was applied: the same stretch never fails the same way
                    # twice.
                    self.careful_until = max(self.cursor, page.next_after)
                    self.cursor = committed
                    self.held_page = None
                    if self.ahead is not None:
                        self.ahead.cancel()
                        self.ahead = None
                    continue
                stage.crash_point("applied")
                self.counts["pulled"] += received
                self.counts["conflicts"] += conflicts
                if not page.more:
                    break
        finally:
            # After an error or a cancel a fetch may still be under way: its page is
            # simply never applied (it only reads from the Hub).
            if self.pool is not None:
                self.pool.shutdown(wait=False, cancel_futures=True)
            self.paused.close()

    def apply(self, page: PullPage, *, careful: bool) -> tuple[PullPage, int, int]:
        """One local transaction: this page checked change by change, or big pages up to
        :data:`BULK_TRANSACTION` changes; the cursor with them. The last page applied,
        the changes received from others, and the new conflicts."""
        stage = self.stage
        # Big pages commit without waiting for the disk (see _bulk_pragmas).
        lazy = None if careful or len(page.changes) < BIG_PAGE else _LAZY_COMMIT
        with stage.ws.unit_of_work(origin="remote") as uow:
            s = uow.session
            conn = s.connection(execution_options=lazy)
            conn.exec_driver_sql(f"PRAGMA defer_foreign_keys = {'OFF' if careful else 'ON'}")
            if careful:
                received, conflicts = stage._apply_carefully(s, page, self.held_back)
                self.took(page)
            else:
                received = conflicts = 0
                first_sync = self.cursor == 0 and page.more
                with (
                    _bulk_pragmas(conn, page, first_sync=first_sync),
                    self._stream(s, page) as stream,
                ):
                    applied = 0
                    while True:
                        conflicts += stage._apply_changes(s, page, self.held_back, stream)
                        applied += len(page.changes)
                        received += from_others(page.changes, self.me)
                        self.took(page)
                        if (
                            not page.more
                            or len(page.changes) < BIG_PAGE
                            or applied >= BULK_TRANSACTION
                            or stage.cancel.is_set()
                        ):
                            break
                        following = self.next_page()
                        if following.careful:
                            # A change in it this laptop cannot read: the page waits for
                            # a transaction of its own, applied change by change.
                            self.held_page = following
                            break
                        page = following
            write_meta(s, CURSOR_KEY, str(self.cursor))
            stage.crash_point("applying")
            uow.commit()
        return page, received, conflicts

    @contextmanager
    def _stream(self, s: Session, page: PullPage) -> Iterator[Stream | None]:
        """Big pages of a first sync go through one bulk load kept open until the
        transaction's last page is written (see applying.Stream)."""
        if self.known is None or len(page.changes) < BIG_PAGE:
            yield None
            return
        # The bulk-load thread also indexes each batch for full-text search: that SQLite
        # work overlaps this thread's reading of the next pages, where a catch-up after
        # the sync would come on top of it.
        with bulk_write(s, background=True, defer_index=False, pause_collector=False) as bulk:
            yield Stream(bulk, self.known)


@contextmanager
def _bulk_pragmas(conn: Connection, page: PullPage, *, first_sync: bool) -> Iterator[None]:
    """A first sync leaves its lookup indexes out (built at the end); big pages load with
    a big page cache, so the transaction's index pages stay in memory until its commit.

    Their transaction also commits without waiting for the disk (``_LAZY_COMMIT``, set
    as it begins): a power cut may then take back the last such transaction, but never
    a record typed here, since it holds only what the Hub sent and the pull's cursor,
    so that stretch is pulled again; the database stays whole either way (WAL), and
    the next commit of any other write syncs the log, these pages with it. At L a first
    sync's three commits took 0.6-1.5 s instead of 1.3-1.9 s."""
    big = len(page.changes) >= BIG_PAGE
    if first_sync and big:
        deferred_indexes.defer(conn)
    cache = None
    if big:
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
    try:
        yield
    finally:  # the pooled connection goes back with its usual cache
        if cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")
