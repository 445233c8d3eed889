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

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from touchpoint import __version__
from touchpoint.storage import deferred_indexes, hub_clock
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.account import (
    CA_KEY,
    CURSOR_KEY,
    EMAIL_KEY,
    LAST_SYNC_KEY,
    SCOPE_KEY,
    SERVER_KEY,
    Account,
    hub_login,
    hub_reachable,
    last_sync_at,
    read_meta,
    remember_account,
    sign_in,
    sign_out,
    signed_in_account,
    write_meta,
)
from touchpoint.sync.attention import (
    device_report,
    refused_count,
    set_aside_count,
    waiting_count,
)
from touchpoint.sync.cycle import Cancelled, SyncProgress, SyncResult
from touchpoint.sync.errors import (
    AuthError,
    OfflineError,
    SyncError,
    UpdateError,
)
from touchpoint.sync.protocol import (
    MAX_BATCH,
    MAX_PAGE,
    DeviceReport,
    HelloRequest,
    HelloResponse,
)
from touchpoint.sync.pulling import PullStage
from touchpoint.sync.pushing import PushStage
from touchpoint.sync.scope import leave_teams
from touchpoint.sync.transport import HubClient

# What the window, the command line, services and the Hub's replica import from here.
__all__ = [
    "CA_KEY",
    "CURSOR_KEY",
    "EMAIL_KEY",
    "LAST_SYNC_KEY",
    "SCOPE_KEY",
    "SERVER_KEY",
    "Account",
    "Cancelled",
    "SyncEngine",
    "SyncProgress",
    "SyncResult",
    "device_lock",
    "hub_login",
    "hub_reachable",
    "last_sync_at",
    "read_meta",
    "remember_account",
    "sign_in",
    "sign_out",
    "signed_in_account",
    "waiting_count",
    "write_meta",
]

log = logging.getLogger(__name__)


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


def _widens(held: str, scope: str) -> bool:
    """Whether ``scope`` may see something ``held`` could not: another role, or a team
    more (leaving a team only hides records, which need no pull)."""
    held_role, _, held_teams = held.partition(":")
    role, _, teams = scope.partition(":")
    return role != held_role or not set(teams.split(",")) <= set(held_teams.split(","))


# --- the engine ---------------------------------------------------------------------------
class SyncEngine(PushStage, PullStage):
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
            account.server,
            token=token,
            ca_bundle=account.ca_bundle,
            transport=transport,
            policy=ws.policy,
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
