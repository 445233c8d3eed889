"""One sync cycle between this laptop and its Hub: hello, push the outbox, pull.

No Qt: a UI controller runs :meth:`SyncEngine.run` on a worker thread, passes a
progress callback and a cancel event, and turns the :class:`SyncResult` into
words. Crash safety comes from where the commits are:

* a pushed batch is marked acknowledged in one local transaction, after the Hub
  answered; if the answer is lost, the identical batch (same change ids) is sent
  again and the Hub answers "duplicate";
* each pulled page is applied together with its cursor in one local transaction,
  so a kill between pages resumes exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, Connection, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from touchpoint import __version__
from touchpoint.collector import collector_paused
from touchpoint.storage import (
    deferred_indexes,
    encryption,
    hub_clock,
    identity,
    search_index,
)
from touchpoint.storage.models import (
    MODEL_BY_ENTITY,
    SYNCED_MODELS,
    Change,
    CustomFieldDef,
    Meta,
    Record,
    SetAside,
    SyncConflict,
)
from touchpoint.storage.tracking import CONVERT
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.attention import (
    device_report,
    refused_count,
    set_aside_count,
    waiting_count,
)
from touchpoint.sync.errors import (
    AuthError,
    KeyringUnavailable,
    OfflineError,
    SyncError,
    UpdateError,
)
from touchpoint.sync.protocol import (
    CONFLICT_ENTITY,
    MAX_BATCH,
    MAX_PAGE,
    PUSH_BYTES_TARGET,
    ChangeIn,
    DeviceReport,
    HelloRequest,
    HelloResponse,
    LoginRequest,
    PushRequest,
    PushResponse,
    is_uuid,
    text_problem,
)
from touchpoint.sync.scope import leave_teams
from touchpoint.sync.transport import HubClient, PullPage

log = logging.getLogger(__name__)
T = TypeVar("T")

CURSOR_KEY = "sync_cursor"
SERVER_KEY = "sync_server"
EMAIL_KEY = "sync_email"
CA_KEY = "sync_ca_bundle"
LAST_SYNC_KEY = "sync_last_at"
SCOPE_KEY = "sync_scope"  # "role:team,team" this laptop last pulled with
BIG_PAGE = 1000  # records new here in one page: insert them as a bulk load
# Changes of big pages applied in one local transaction. With a first sync's lookup
# indexes left out (storage.deferred_indexes), a commit writes mostly new pages, and
# fewer commits saved 4-10 s of 90-98 s at L (50,000 before); a kill loses at most
# about ten seconds of loading.
BULK_TRANSACTION = 200_000
BULK_CACHE_KIB = -262144  # SQLite's page cache while loading one: 256 MB
FRESH_CHUNK = 2000  # new records per batch handed to the bulk-load thread


# --- what a cycle tells its caller ------------------------------------------------------
@dataclass(frozen=True)
class SyncProgress:
    phase: str  # "push" | "pull" | "index" (indexing for search after a big pull)
    done: int
    total: int  # 0 when unknown


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one cycle, for the window's status and the command's exit code.

    status: ``done`` (in sync), ``conflicts`` (in sync; new conflicts to show),
    ``needs_sign_in``, ``needs_update``, ``offline``, ``server_error``, ``busy``
    (another sync of this laptop is running) or ``cancelled``.
    """

    status: str
    message: str = ""
    pushed: int = 0
    rejected: int = 0
    pulled: int = 0
    new_conflicts: int = 0
    waiting: int = 0  # changes still in the outbox (unsent, or sent and waiting)
    refused: int = 0  # changes the Hub refused that the author has not dismissed
    set_aside: int = 0  # pulled records this laptop could not apply
    notices: tuple[str, ...] = ()  # sentences for the user (e.g. a team left)
    repaired: int = 0  # records the anti-entropy check set right

    @property
    def in_sync(self) -> bool:
        """Nothing of this laptop's is waiting or refused: what was typed here is on the
        Hub. (A refused change counts until its author fixes or dismisses it.)"""
        return self.status in ("done", "conflicts") and self.waiting == 0 and self.refused == 0


class Cancelled(Exception):
    pass


# --- one sync at a time per laptop ---------------------------------------------------------
@contextmanager
def device_lock(path: Path) -> Iterator[bool]:
    """An OS file lock: released by the OS if the process dies, so a kill never wedges it."""
    handle = open(path, "a+b")  # noqa: SIM115
    try:
        try:
            if os.name == "nt":  # pragma: no cover
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        handle.close()


# --- local metadata ---------------------------------------------------------------------
def read_meta(session: Session, key: str) -> str | None:
    return session.execute(select(Meta.value).where(Meta.key == key)).scalar()


def write_meta(session: Session, key: str, value: str | None) -> None:
    row = session.get(Meta, key)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


@dataclass(frozen=True)
class Account:
    server: str
    email: str
    ca_bundle: str | None


def signed_in_account(ws: Workspace) -> Account | None:
    with ws.read() as session:
        server = read_meta(session, SERVER_KEY)
        email = read_meta(session, EMAIL_KEY)
        ca = read_meta(session, CA_KEY)
    if not server or not email:
        return None
    return Account(server, email, ca or None)


def hub_reachable(ws: Workspace, *, timeout: float = 5.0) -> bool:
    """Whether the Hub this laptop signed in to answers its health check: the cheap
    question asked before a sync is tried again after being offline."""
    account = signed_in_account(ws)
    if account is None:
        return False
    try:
        with HubClient(account.server, ca_bundle=account.ca_bundle, timeout=timeout) as client:
            client.health()
    except SyncError:
        return False
    return True


def last_sync_at(ws: Workspace) -> datetime | None:
    with ws.read() as session:
        value = read_meta(session, LAST_SYNC_KEY)
    return from_utc_text(value) if value else None


def sign_in(
    ws: Workspace,
    server: str,
    email: str,
    password: str,
    *,
    ca_bundle: str | None = None,
    transport: Any = None,
) -> Account:
    """Trade email and password for a device token, kept in the keyring."""
    from touchpoint.policy import check_hub_server

    check_hub_server(server)  # a locked policy allows its own Hub only
    credentials.require_keyring()  # before the Hub issues a token with nowhere to keep it
    server = server.rstrip("/")
    with HubClient(server, ca_bundle=ca_bundle, transport=transport) as client:
        answer = client.login(
            LoginRequest(
                email=email, password=password, device_id=ws.device_id, device_name=_host()
            )
        )
    try:
        credentials.save_token(server, answer.email, answer.token)
    except KeyringUnavailable:
        # The keyring failed after all: hand the token back rather than leave it live.
        with (
            contextlib.suppress(SyncError),
            HubClient(
                server, token=answer.token, ca_bundle=ca_bundle, transport=transport
            ) as client,
        ):
            client.logout()
        raise
    if ws.settings.user != answer.email:
        # Changes are signed by the Hub account: make this laptop's author the same.
        ws.update_settings(replace(ws.settings, user=answer.email))
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        if read_meta(s, SERVER_KEY) != server or read_meta(s, EMAIL_KEY) != answer.email:
            write_meta(s, CURSOR_KEY, "0")  # another Hub or user: pull everything again
        write_meta(s, SERVER_KEY, server)
        write_meta(s, EMAIL_KEY, answer.email)
        write_meta(s, CA_KEY, ca_bundle)
        uow.commit()
    return Account(server, answer.email, ca_bundle)


def sign_out(ws: Workspace, *, transport: Any = None) -> Account | None:
    """Forget the token (revoked on the Hub when reachable). Waiting changes stay queued."""
    account = signed_in_account(ws)
    if account is None:
        return None
    token = credentials.load_token(account.server, account.email)
    if token:
        try:
            with HubClient(
                account.server, token=token, ca_bundle=account.ca_bundle, transport=transport
            ) as client:
                client.logout()
        except SyncError as exc:
            log.info("could not revoke the token on the Hub: %s", exc.kind)
    credentials.delete_token(account.server, account.email)
    return account


def _widens(held: str, scope: str) -> bool:
    """Whether ``scope`` may see something ``held`` could not: another role, or a team
    more (leaving a team only hides records, which need no pull)."""
    held_role, _, held_teams = held.partition(":")
    role, _, teams = scope.partition(":")
    return role != held_role or not set(teams.split(",")) <= set(held_teams.split(","))


def _host() -> str:
    import socket

    return socket.gethostname()[:200]


# --- the engine ---------------------------------------------------------------------------
class SyncEngine:
    def __init__(
        self,
        ws: Workspace,
        client: HubClient,
        *,
        batch_size: int = 300,
        page_size: int = MAX_PAGE,
        attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
        crash_point: Callable[[str], None] | None = None,
        check: bool | None = None,
    ) -> None:
        self.ws = ws
        self.client = client
        self.batch_size = min(batch_size, MAX_BATCH)
        self.page_size = page_size
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.progress = progress or (lambda _p: None)
        self.cancel = cancel or threading.Event()
        self.sleep = sleep
        self.crash_point = crash_point or (lambda _name: None)
        self.hello: HelloResponse | None = None
        self.notices: list[str] = []  # what this cycle did that its user must be told
        # Compare with the Hub after the sync (anti-entropy): True always, False never,
        # None when a day has passed since the last check (sync.check).
        self.check = check
        self.pulled_from_start = False
        self._hello_sent: float | None = None

    @classmethod
    def for_workspace(cls, ws: Workspace, *, transport: Any = None, **options: Any) -> SyncEngine:
        """The engine for the Hub this laptop signed in to; AuthError when it has not."""
        account = signed_in_account(ws)
        token = credentials.load_token(account.server, account.email) if account else None
        if account is None or not token:
            raise AuthError("not signed in to a Hub: sign in first")
        client = HubClient(
            account.server, token=token, ca_bundle=account.ca_bundle, transport=transport
        )
        return cls(ws, client, **options)

    # --- one cycle --------------------------------------------------------------------
    def run(self) -> SyncResult:
        with device_lock(self.ws.paths.data_dir / "sync.lock") as mine:
            if not mine:
                return SyncResult(
                    "busy",
                    "a sync of this laptop is already running",
                    waiting=waiting_count(self.ws),
                    refused=refused_count(self.ws),
                )
            counts = {"pushed": 0, "rejected": 0, "pulled": 0, "conflicts": 0}
            try:
                self.hello = self._retry(self._hello)
                self._note_hub_clock(self.hello)
                self._follow_scope(self.hello)
                self._push_all(counts)
                self._pull_all(counts)
                deferred_indexes.build_pending(self.ws.db)  # a first sync's, at its end
                self._push_all(counts)  # edits made while pulling
                self._check(counts)
            except Cancelled:
                return self._result("cancelled", "sync cancelled", counts)
            except AuthError as exc:
                return self._result("needs_sign_in", exc.message, counts)
            except UpdateError as exc:
                return self._result("needs_update", exc.message, counts)
            except OfflineError as exc:
                return self._result("offline", exc.message, counts)
            except SyncError as exc:
                return self._result("server_error", exc.message, counts)
            with self.ws.unit_of_work(origin="remote") as uow:
                write_meta(uow.session, LAST_SYNC_KEY, to_utc_text(self.ws.now()))
                uow.commit()
            status = "conflicts" if counts["conflicts"] else "done"
            return self._result(status, "", counts)

    def _result(self, status: str, message: str, counts: dict[str, int]) -> SyncResult:
        return SyncResult(
            status,
            message,
            pushed=counts["pushed"],
            rejected=counts["rejected"],
            pulled=counts["pulled"],
            new_conflicts=counts["conflicts"],
            waiting=waiting_count(self.ws),
            refused=refused_count(self.ws),
            set_aside=set_aside_count(self.ws),
            notices=tuple(self.notices),
            repaired=counts.get("repaired", 0),
        )

    def _retry(self, call: Callable[[], T]) -> T:
        """Transient failures (offline, 5xx, timeouts) retried with exponential backoff
        and full jitter, so a fleet of laptops does not hammer a recovering Hub in step."""
        for attempt in range(self.attempts):
            if self.cancel.is_set():
                raise Cancelled
            try:
                return call()
            except SyncError as exc:
                if not exc.transient or attempt == self.attempts - 1:
                    raise
                delay = min(self.backoff_cap, self.backoff_base * 2**attempt)
                log.info("sync: %s; retrying in up to %.1fs", exc.kind, delay)
                self.sleep(random.uniform(delay / 2, delay))
        raise AssertionError("unreachable")

    def _check(self, counts: dict[str, int]) -> None:
        """Anti-entropy, when asked or due, and only with nothing waiting or set aside
        (the two sides cannot agree while changes are in flight)."""
        from touchpoint.sync import check

        if self.check is None and self.pulled_from_start:
            # A copy just pulled whole is the Hub's: the next check is due in a day
            # (a first sync at a manager's scope would otherwise read it all again).
            check.note_checked(self.ws)
            return
        wanted = self.check if self.check is not None else check.due(self.ws)
        if not wanted or waiting_count(self.ws) or set_aside_count(self.ws):
            return
        found = self._retry(lambda: check.check_and_repair(self.ws, self.client))
        counts["repaired"] = found.repaired + found.removed
        if found.differed:
            self.notices.append(
                f"This laptop's copy differed from the Hub's ({', '.join(found.differed)}): "
                f"{found.repaired} record(s) repaired, {found.removed} removed."
            )

    def _note_hub_clock(self, hello: HelloResponse) -> None:
        """The Hub's time now, against a clock no one sets: edits made until the next
        hello are placed in the Hub's time from it (storage.hub_clock)."""
        server = from_utc_text(hello.server_time)
        reference = hub_clock.reference(server, hello.clock_offset_ms, sent=self._hello_sent)
        with self.ws.unit_of_work(origin="remote") as uow:
            write_meta(uow.session, hub_clock.CLOCK_KEY, reference)
            uow.commit()

    def _follow_scope(self, hello: HelloResponse) -> None:
        """What this laptop may see grew (a team joined, a new role): the Hub's older
        changes of the new scope were never pulled, so pull everything again, once,
        from the start. The outbox is left as it is, and records already here take the
        replayed changes in order, ending where they are."""
        scope = f"{hello.role}:{','.join(sorted(hello.teams))}"
        with self.ws.read() as session:
            held = read_meta(session, SCOPE_KEY)
        if held == scope:
            return
        # What it may no longer see leaves this laptop (the rep's unsent work is kept).
        visible = None if hello.role == "admin" else set(hello.teams)
        left = leave_teams(self.ws, visible)
        if left is not None:
            log.info("sync: %s", left.words())
            self.notices.append(left.words())
        with self.ws.unit_of_work(origin="remote") as uow:
            if held is not None and _widens(held, scope):
                log.info("sync: the Hub scope changed (%s -> %s); pulling again", held, scope)
                write_meta(uow.session, CURSOR_KEY, "0")
            write_meta(uow.session, SCOPE_KEY, scope)
            uow.commit()

    def _hello(self) -> HelloResponse:
        # The boot clock is read on both sides of the call: the Hub's time in the answer
        # is taken near its middle, which the reference (storage.hub_clock) then uses.
        self._hello_sent = hub_clock.boot_reading()[1]
        return self.client.hello(
            HelloRequest(
                protocol=1,
                device_id=self.ws.device_id,
                client_time=to_utc_text(self.ws.now()),
                app_version=__version__,
                report=DeviceReport(**device_report(self.ws)),
            )
        )

    # --- push ---------------------------------------------------------------------------
    def _push_all(self, counts: dict[str, int]) -> None:
        total = waiting_count(self.ws)
        done = 0
        # Changes the Hub asked to wait stay in the outbox: each is sent once per pass.
        after = 0
        while True:
            if self.cancel.is_set():
                raise Cancelled
            batch = self._outbox_batch(after)
            if not batch:
                return
            after = batch[-1].seq
            answer = self._retry(lambda b=batch: self._push(b))
            self.crash_point("pushed")  # the Hub committed; this laptop does not know yet
            pushed, rejected = self._acknowledge(answer)
            self.crash_point("acknowledged")
            counts["pushed"] += pushed
            counts["rejected"] += rejected
            done += len(batch)
            self.progress(SyncProgress("push", done, max(total, done)))

    def _outbox_batch(self, after: int = 0) -> list[ChangeIn]:
        """The next changes to send, in order: at most ``batch_size``, and cut before
        :data:`PUSH_BYTES_TARGET` (a batch of long notes stays far below the Hub's
        limit on a request's size)."""
        with self.ws.read() as session:
            rows = session.scalars(
                select(Change)
                .where(Change.pushed_at.is_(None), Change.seq > after)
                .order_by(Change.seq)
                .limit(self.batch_size)
            ).all()
            batch: list[ChangeIn] = []
            size = 0
            for c in rows:
                change = ChangeIn(
                    change_id=c.change_id,
                    seq=c.seq,
                    tx_id=c.tx_id,
                    entity=c.entity,
                    record_id=c.record_id,
                    op=c.op,
                    fields=c.fields,
                    at=to_utc_text(c.at),
                    author=c.author,
                    schema_version=c.schema_version,
                    hub_at=to_utc_text(c.hub_at) if c.hub_at is not None else None,
                    base_seq=c.base_seq,
                )
                size += len(orjson.dumps(c.fields, default=str)) + 400
                if batch and size > PUSH_BYTES_TARGET:
                    break
                batch.append(change)
            return batch

    def _push(self, batch: list[ChangeIn]) -> PushResponse:
        # The clock is read per attempt: the Hub measures this laptop's offset from it.
        return self.client.push(
            PushRequest(
                device_id=self.ws.device_id,
                client_time=to_utc_text(self.ws.now()),
                changes=batch,
            )
        )

    def _acknowledge(self, answer: PushResponse) -> tuple[int, int]:
        """Mark a batch done in one transaction. A change the Hub refused for good is done
        too (it is not retried forever): it keeps its reason in ``push_error`` for its
        author to see, and the record falls back to the Hub's values. A change the Hub
        asked to wait (a record it names has not reached the Hub) stays in the outbox
        with the reason, and is sent again at the next sync."""
        pushed = rejected = 0
        done: list[str] = []
        with self.ws.unit_of_work(origin="remote") as uow:
            s = uow.session
            now = self.ws.now()
            for result in answer.results:
                if result.status == "rejected" and result.retry:
                    rejected += 1
                    s.execute(
                        update(Change)
                        .where(Change.change_id == result.change_id, Change.pushed_at.is_(None))
                        .values(push_error=result.error or "waiting for the Hub")
                        .execution_options(synchronize_session=False)
                    )
                elif result.status == "rejected":
                    rejected += 1
                    change = s.scalars(
                        select(Change).where(Change.change_id == result.change_id)
                    ).first()
                    if change is not None and change.pushed_at is None:
                        change.pushed_at = now
                        change.push_error = result.error or "rejected by the Hub"
                        if result.current is not None:
                            self._fall_back(s, change, result.current)
                        elif change.entity == "merge" and change.op == "insert":
                            # The merge was refused: its moves fell back one by one, and
                            # its record (kept to undo it) has nothing left to undo.
                            merge = s.get(MODEL_BY_ENTITY["merge"], change.record_id)
                            if merge is not None:
                                s.delete(merge)
                else:
                    pushed += 1
                    done.append(result.change_id)
            for i in range(0, len(done), 500):
                s.execute(
                    update(Change)
                    .where(Change.change_id.in_(done[i : i + 500]), Change.pushed_at.is_(None))
                    .values(pushed_at=now, push_error=None)
                    .execution_options(synchronize_session=False)
                )
            self.crash_point("acknowledging")
            uow.commit()
        return pushed, rejected

    def _fall_back(self, s: Session, change: Change, current: dict[str, Any]) -> None:
        model = MODEL_BY_ENTITY.get(change.entity)
        record = s.get(model, change.record_id) if model else None
        if record is None:
            return
        convert = CONVERT[change.entity]
        for name in change.fields:
            if name in convert:
                setattr(record, name, convert[name](current.get(name)))

    # --- pull ---------------------------------------------------------------------------
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

    def _apply_carefully(
        self, s: Session, page: PullPage, held_back: set[tuple[str, str]]
    ) -> tuple[int, int]:
        """Apply one page with every change checked first (foreign keys checked at once);
        a change that cannot be applied is set aside with its reason, the rest applies.
        A change that still fails (a case no check foresaw) is tried alone, in a savepoint,
        and set aside if it fails again. The changes received from others, and the new
        conflicts of this user."""
        fit: list[dict[str, Any]] = []
        present = _Present(s.connection())
        for row in page.changes:
            key = (row.get("entity"), row.get("record_id"))
            if key in held_back:
                _set_aside(s, row, "waits for an earlier change of this record", retry=True)
                continue
            reason, retry = _unfit(row, present)
            if reason is not None:
                _set_aside(s, row, reason, retry=retry)
                if retry:
                    held_back.add(key)  # type: ignore[arg-type]
                continue
            present.add(row)
            fit.append(row)
        me = self.ws.device_id
        received = sum(1 for c in page.changes if c.get("device_id") != me)
        try:
            with s.begin_nested():
                return received, self._apply_changes(s, replace(page, changes=fit))
        except _UNAPPLIABLE:
            pass
        conflicts = 0
        for row in fit:
            try:
                with s.begin_nested():
                    conflicts += self._apply_changes(s, replace(page, changes=[row]))
            except _UNAPPLIABLE as exc:
                _set_aside(s, row, f"this laptop could not store it ({_short(exc)})", retry=False)
        return received, conflicts

    def _retry_set_aside(self, counts: dict[str, int]) -> None:
        """Changes set aside for a record that was not here yet: tried again, in the
        Hub's order, after each pull (what still cannot apply stays, counted)."""
        with self.ws.read() as session:
            if not session.scalar(select(SetAside.id).where(SetAside.retry.is_(True)).limit(1)):
                return
        with self.ws.unit_of_work(origin="remote") as uow:
            s = uow.session
            s.connection().exec_driver_sql("PRAGMA defer_foreign_keys = OFF")
            waiting = list(
                s.scalars(
                    select(SetAside)
                    .where(SetAside.retry.is_(True))
                    .order_by(SetAside.server_seq)
                    .limit(MAX_PAGE)
                )
            )
            rows, tries = [], {}
            for item in waiting:
                row = _decode_row(item.change)
                tries[row.get("server_seq")] = (item.tries, item.set_aside_at)
                rows.append(row)
                s.delete(item)
            s.flush()
            others = _held_back_in(s)
            page = PullPage(rows, 0, 0, more=False, careful=True)
            _received, conflicts = self._apply_carefully(s, page, others)
            # What was set aside again keeps its first time and counts one more try.
            for item in s.new:
                first = tries.get(getattr(item, "server_seq", None))
                if isinstance(item, SetAside) and first is not None:
                    item.tries, item.set_aside_at = first[0] + 1, first[1]
            uow.commit()
        counts["conflicts"] += conflicts

    def _apply_changes(
        self, s: Session, page: PullPage, held_back: set[tuple[str, str]] | None = None
    ) -> int:
        """Apply one page in the caller's transaction; the new conflicts for this user.

        Records this laptop already holds are updated through the ORM (so fields with
        a pending local edit keep it, and the indexes follow). Records new here, most
        of a first sync, are inserted with one executemany per table and indexed in
        bulk."""
        me = self.ws.author
        new_conflicts = 0
        conn = s.connection()
        held = _held_ids(conn, page.changes)
        pending = _pending_fields(s) if held else {}
        loaded = _load_records(s, held)
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        teams: dict[str, str] = {}  # customer id: its Hub team
        for row in page.changes:
            entity = row["entity"]
            fields = row["fields"]
            if entity == CONFLICT_ENTITY:
                if _store_conflict(s, row) and me in (
                    fields.get("loser_author"),
                    fields.get("winner_author"),
                ):
                    new_conflicts += 1
                continue
            convert = CONVERT.get(entity)
            if convert is None:
                log.warning("sync: unknown entity %r from the Hub skipped", entity)
                continue
            key = (entity, row["record_id"])
            if held_back and key in held_back:
                # An earlier change of this record is set aside: this one waits behind it,
                # so the record's changes still apply in the Hub's order.
                _set_aside(s, row, "waits for an earlier change of this record", retry=True)
                continue
            if entity == "customer":
                team = row.get("team")
                if type(team) is str and team:
                    teams[key[1]] = team
            record = loaded.get(key)
            if record is None:
                # New here: as it travels is also as SQLite stores it.
                values = fresh.get(key)
                if values is None:
                    values = fresh[key] = {"id": key[1]}
                if convert.keys() >= fields.keys():
                    values.update(fields)
                else:  # a field this version does not know
                    values.update((k, v) for k, v in fields.items() if k in convert)
                continue
            keep_local = pending.get(key, ())
            for name, value in fields.items():
                if name in convert and name not in keep_local:
                    new = convert[name](value)
                    if getattr(record, name) != new:
                        setattr(record, name, new)
        # Updates first, so the bulk indexing below sees only inserts.
        s.flush()
        _insert_fresh(conn, fresh, self.crash_point)
        if teams:
            conn.exec_driver_sql(
                "INSERT INTO customer_teams (customer_id, team) VALUES (?, ?) "
                "ON CONFLICT (customer_id) DO UPDATE SET team = excluded.team "
                "WHERE team != excluded.team",
                list(teams.items()),
            )
        return new_conflicts


# What a change this laptop cannot apply fails with, in the database or before it.
_UNAPPLIABLE = (
    SQLAlchemyError,
    *encryption.database_errors(),
    ValueError,
    TypeError,
    UnicodeError,
    OverflowError,
)
# References that are foreign keys here: the record they name must be on this laptop.
_REFERENCES = {
    "contact": {"customer_id": "customer"},
    "interaction": {"customer_id": "customer"},
    "followup": {
        "customer_id": "customer",
        "contact_id": "contact",
        "interaction_id": "interaction",
    },
    "deal": {"customer_id": "customer"},
}


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


class _Present:
    """Which records this laptop holds, asked of the database once per id and kept up to
    date with the page's own new records as they are found fit."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[tuple[str, str], bool] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        found = self.known.get(key)
        if found is None:
            table = MODEL_BY_ENTITY[key[0]].__tablename__
            found = self.known[key] = (
                self.conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE id = ?", (key[1],)).first()
                is not None
            )
        return found

    def add(self, row: dict[str, Any]) -> None:
        if row.get("entity") in MODEL_BY_ENTITY:
            self.known[(row["entity"], row["record_id"])] = True


def _unfit(row: Any, present: _Present) -> tuple[str | None, bool]:
    """Why this pulled change cannot be applied here (and whether it may later), or None."""
    if not isinstance(row, dict) or not isinstance(row.get("fields"), dict):
        return "it is not a change this Touchpoint can read", False
    entity, record_id, fields = row.get("entity"), row.get("record_id"), row["fields"]
    if not is_uuid(record_id):
        return "its record id is not an id", False
    if entity == CONFLICT_ENTITY:
        problem = _values_problem(fields)
        return (f"a conflict's value {problem}", False) if problem else (None, False)
    convert = CONVERT.get(entity) if isinstance(entity, str) else None
    if convert is None:
        return f"this version of Touchpoint does not know {str(entity)[:30]!r} records", False
    for name, value in fields.items():
        if name not in convert:
            continue
        problem = _values_problem(value)
        if problem:
            return f"{entity}.{name} {problem}", False
        try:
            convert[name](value)
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            shown = str(value)[:60]
            return f"{entity}.{name}: {shown!r} is not a value this laptop can store", False
    held = (entity, record_id) in present
    if not held:
        model = MODEL_BY_ENTITY[entity]
        for column in model.__table__.columns:
            if (
                not column.nullable
                and column.default is None
                and not column.primary_key
                and fields.get(column.key) is None
            ):
                return f"the creation of this {entity} has not reached this laptop", True
    for name, target in _REFERENCES.get(entity, {}).items():
        ref = fields.get(name)
        if isinstance(ref, str) and ref and (target, ref) not in present:
            return f"the {target} it belongs to ({ref[-8:]}) is not on this laptop", True
    return None, False


def _values_problem(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{problem}" if problem else None
    if depth > 8:
        return "is nested too deeply"
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        problem = _values_problem(item, depth + 1)
        if problem:
            return problem
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and text_problem(key):
                return "has a key that is not valid text"
    return None


def _set_aside(s: Session, row: Any, reason: str, *, retry: bool) -> None:
    entity = row.get("entity") if isinstance(row, dict) else None
    record_id = row.get("record_id") if isinstance(row, dict) else None
    seq = row.get("server_seq") if isinstance(row, dict) else None
    log.warning("sync: change %s set aside: %s", seq, reason)
    s.add(
        SetAside(
            server_seq=seq if isinstance(seq, int) else 0,
            entity=str(entity)[:30],
            record_id=str(record_id)[:36],
            change=json.dumps(row, ensure_ascii=True, default=str),
            reason=reason,
            retry=retry,
            set_aside_at=datetime.now(UTC),
            tries=1,
        )
    )


def _decode_row(text: str) -> dict[str, Any]:
    # Kept with ASCII escapes: a lone surrogate reads back as it came.
    return json.loads(text)


def _held_back(ws: Workspace) -> set[tuple[str, str]]:
    """Records with a change set aside that may still apply: their later changes wait."""
    with ws.read() as s:
        return _held_back_in(s)


def _held_back_in(s: Session) -> set[tuple[str, str]]:
    return {
        (e, r)
        for e, r in s.execute(
            select(SetAside.entity, SetAside.record_id).where(SetAside.retry.is_(True))
        )
    }


def _short(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return (lines[0] if lines else type(exc).__name__)[:120]


def _insert_fresh(
    conn: Connection,
    fresh: dict[tuple[str, str], dict[str, Any]],
    crash_point: Callable[[str], None],
) -> None:
    """Insert records new to this laptop with one executemany per table and chunk, and
    index them (search and duplicate keys) exactly as a normal write would, the
    full-text index fed in one statement per chunk rather than one trigger call per row.

    A big page is written on the bulk-load thread: this thread builds the next chunk's
    rows while SQLite inserts this one; its full-text indexing is left to the catch-up.
    Protocol values are already the stored form (UTC text, decimal text, ISO dates), so
    they go to SQLite as they are; only JSON columns are encoded."""
    if not fresh:
        return
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for (entity, _id), values in fresh.items():
        by_entity.setdefault(entity, []).append(values)
    groups: list[tuple[type[Record], list[dict[str, Any]]]] = []
    for model in SYNCED_MODELS:  # parents first
        group = by_entity.get(model.entity)
        if group and model is CustomFieldDef:
            # Read before the block: inside it only the bulk load may use the connection.
            group = _without_taken_keys(conn, group)
        if group:
            groups.append((model, group))
    big = len(fresh) > FRESH_CHUNK
    # A big pull (a first sync) leaves full-text indexing to the catch-up after the
    # sync (services.search.catch_up_index): the records are there, and can be worked
    # with, about twice as soon; they are searchable a little later.
    with search_index.bulk_insert(conn, background=big, defer=big) as load:
        for model, group in groups:
            plan = _insert_plan(model)
            row_class = plan.row_class
            for start in range(0, len(group), FRESH_CHUNK):
                params = []
                batch = []
                for values in group[start : start + FRESH_CHUNK]:
                    row = plan.defaults.copy()
                    row.update(values)
                    # Plain copies for the indexers, which read only attributes and
                    # ``entity``: no ORM instance state per record (times stay text:
                    # the indexers only test them for None).
                    record = row_class()
                    record.__dict__.update(row)
                    batch.append(record)
                    for key in plan.json_keys:
                        value = row[key]
                        if value is not None:
                            row[key] = orjson.dumps(value).decode()
                    params.append(plan.pick(row))
                load.insert(plan.sql, params)
                load.insert(search_index.INSERT_DOC, search_index.new_documents(batch))
                load.insert(identity.INSERT_KEY, identity.new_keys(batch))
                load.index()
                crash_point("inserting")  # the bulk-load thread may be writing


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    pick: Callable[[dict[str, Any]], tuple[Any, ...]]  # a full row -> its INSERT's values
    defaults: dict[str, Any]  # every column, with its default
    json_keys: tuple[str, ...]  # columns stored as JSON text
    row_class: type  # plain objects with the model's ``entity``, for the indexers


_PLANS: dict[type, _InsertPlan] = {}


def _insert_plan(model: type[Record]) -> _InsertPlan:
    found = _PLANS.get(model)
    if found is None:
        columns = list(model.__table__.columns)
        found = _PLANS[model] = _InsertPlan(
            sql=(
                f"INSERT INTO {model.__tablename__} ({', '.join(c.name for c in columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            ),
            pick=itemgetter(*(c.key for c in columns)),
            defaults={c.key: None if c.primary_key else _default(c) for c in columns},
            json_keys=tuple(c.key for c in columns if isinstance(c.type, JSON)),
            row_class=type(f"{model.__name__}Row", (), {"entity": model.entity}),
        )
    return found


def _without_taken_keys(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two laptops defined the same custom field offline: keys are unique here, so the
    local definition stays and the other is skipped rather than stopping every pull."""
    taken = {k for (k,) in conn.exec_driver_sql("SELECT key FROM custom_field_defs")}
    kept = []
    for row in rows:
        if row["key"] in taken:
            log.warning(
                "sync: custom field %r already defined here; kept the local one", row["key"]
            )
            continue
        taken.add(row["key"])
        kept.append(row)
    return kept


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    arg = default.arg
    return arg(None) if callable(arg) else arg


def _pending_fields(s: Session) -> dict[tuple[str, str], set[str]]:
    """Fields with a local edit the Hub has not acknowledged: they keep the local value."""
    out: dict[tuple[str, str], set[str]] = {}
    for entity, record_id, fields in s.execute(
        select(Change.entity, Change.record_id, Change.fields).where(Change.pushed_at.is_(None))
    ):
        out.setdefault((entity, record_id), set()).update(fields)
    return out


def _held_ids(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per entity, the ids of this page's records that this laptop already holds: one
    index lookup per chunk of ids, with no ORM objects for the (many) that are new."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        entity = row["entity"]
        if entity in MODEL_BY_ENTITY:
            wanted.setdefault(entity, set()).add(row["record_id"])
    out: dict[str, list[str]] = {}
    for entity, ids in wanted.items():
        table = MODEL_BY_ENTITY[entity].__tablename__
        id_list = list(ids)
        for i in range(0, len(id_list), 500):
            chunk = id_list[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            found = conn.exec_driver_sql(
                f"SELECT id FROM {table} WHERE id IN ({marks})", tuple(chunk)
            ).all()
            if found:
                out.setdefault(entity, []).extend(r[0] for r in found)
    return out


def _load_records(s: Session, held: dict[str, list[str]]) -> dict[tuple[str, str], Record]:
    out: dict[tuple[str, str], Record] = {}
    for entity, ids in held.items():
        model = MODEL_BY_ENTITY[entity]
        for i in range(0, len(ids), 500):
            for record in s.scalars(select(model).where(model.id.in_(ids[i : i + 500]))):
                out[(entity, record.id)] = record
    return out


def _store_conflict(s: Session, row: dict[str, Any]) -> bool:
    if s.get(SyncConflict, row["record_id"]) is not None:
        return False
    f = row["fields"]
    s.add(
        SyncConflict(
            id=row["record_id"],
            entity=f.get("entity", ""),
            record_id=f.get("record_id", ""),
            field=f.get("field", ""),
            winner_value=f.get("winner_value"),
            loser_value=f.get("loser_value"),
            winner_author=f.get("winner_author") or "",
            loser_author=f.get("loser_author") or "",
            winner_at=f.get("winner_at") or "",
            loser_at=f.get("loser_at") or "",
            created_at=f.get("created_at") or "",
            detail=f.get("detail") if isinstance(f.get("detail"), str) else None,
        )
    )
    return True
