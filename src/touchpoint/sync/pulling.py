"""Pull: pages after the cursor, the next fetched ahead on a thread, each applied with it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import Connection

from touchpoint.collector import collector_paused
from touchpoint.storage import deferred_indexes
from touchpoint.sync.account import CURSOR_KEY, read_meta, write_meta
from touchpoint.sync.applying import _UNAPPLIABLE, ApplyStage, _held_back
from touchpoint.sync.cycle import Cancelled, SyncProgress
from touchpoint.sync.transport import PullPage

log = logging.getLogger(__name__)

BIG_PAGE = 1000  # records new here in one page: insert them as a bulk load
# Changes of big pages applied in one local transaction. With a first sync's lookup
# indexes left out (storage.deferred_indexes), a commit writes mostly new pages, and
# fewer commits saved 4-10 s of 90-98 s at L (50,000 before); a kill loses at most
# about ten seconds of loading.
BULK_TRANSACTION = 200_000
BULK_CACHE_KIB = -262144  # SQLite's page cache while loading one: 256 MB


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
        with self.ws.read() as session:
            cursor = int(read_meta(session, CURSOR_KEY) or 0)
        start = cursor
        self.pulled_from_start = start == 0

        def fetch(after: int) -> PullPage:
            return self._retry(lambda: self.client.pull(after, self.page_size))

        # Most syncs need one page: the thread is started only for a second one.
        pool: ThreadPoolExecutor | None = None
        # A big pull (a first sync) runs with the cyclic collector paused (see collector).
        paused = contextlib.ExitStack()
        big_pull = False
        ahead: Future[PullPage] | None = None
        me = self.ws.device_id
        # Pages up to this server sequence are applied carefully (see above).
        careful_until = -1
        held_back = _held_back(self.ws)

        def next_page() -> PullPage:
            nonlocal ahead, pool
            page = fetch(cursor) if ahead is None else ahead.result()
            ahead = None
            if page.more:
                if pool is None:
                    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull")
                ahead = pool.submit(fetch, page.next_after)
            self.crash_point("pulled")
            return page

        def took(page: PullPage) -> None:
            nonlocal cursor
            cursor = page.next_after
            span = max(page.high_water - start, 1)
            self.progress(SyncProgress("pull", min(cursor - start, span), span))

        try:
            while True:
                if self.cancel.is_set():
                    raise Cancelled
                page = next_page()
                if not page.changes and page.next_after == cursor:
                    break  # nothing new: no transaction at all
                careful = page.careful or cursor < careful_until
                if len(page.changes) >= BIG_PAGE and not big_pull and not careful:
                    big_pull = True
                    paused.enter_context(collector_paused())
                committed = cursor
                try:
                    with self.ws.unit_of_work(origin="remote") as uow:
                        s = uow.session
                        conn = s.connection()
                        conn.exec_driver_sql(
                            f"PRAGMA defer_foreign_keys = {'OFF' if careful else 'ON'}"
                        )
                        if careful:
                            received, conflicts = self._apply_carefully(s, page, held_back)
                            took(page)
                        else:
                            received = conflicts = 0
                            first_sync = cursor == 0 and page.more
                            with _bulk_pragmas(conn, page, first_sync=first_sync):
                                applied = 0
                                while True:
                                    conflicts += self._apply_changes(s, page, held_back)
                                    applied += len(page.changes)
                                    # This laptop's own changes come back in the pages too.
                                    received += sum(
                                        1 for c in page.changes if c.get("device_id") != me
                                    )
                                    took(page)
                                    if (
                                        not page.more
                                        or len(page.changes) < BIG_PAGE
                                        or applied >= BULK_TRANSACTION
                                        or self.cancel.is_set()
                                    ):
                                        break
                                    page = next_page()
                        write_meta(s, CURSOR_KEY, str(cursor))
                        self.crash_point("applying")
                        uow.commit()
                except _UNAPPLIABLE as exc:
                    if careful:
                        raise
                    # Go back to where the transaction started; the stretch it covered
                    # is applied again page by page, each change checked first.
                    log.warning("sync: pulled changes could not be applied (%r); checking", exc)
                    careful_until = cursor
                    cursor = committed
                    if ahead is not None:
                        ahead.cancel()
                        ahead = None
                    continue
                self.crash_point("applied")
                counts["pulled"] += received
                counts["conflicts"] += conflicts
                if not page.more:
                    break
        finally:
            # After an error or a cancel a fetch may still be under way: its page is
            # simply never applied (it only reads from the Hub).
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            paused.close()
        self._retry_set_aside(counts)


@contextmanager
def _bulk_pragmas(conn: Connection, page: PullPage, *, first_sync: bool) -> Iterator[None]:
    """A first sync leaves its lookup indexes out (built at the end) and loads with a big
    page cache, so the transaction's index pages stay in memory until its commit."""
    if first_sync and len(page.changes) >= BIG_PAGE:
        deferred_indexes.defer(conn)
    cache = None
    if len(page.changes) >= BIG_PAGE:
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = {BULK_CACHE_KIB}")
    try:
        yield
    finally:  # the pooled connection goes back with its usual cache
        if cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")
