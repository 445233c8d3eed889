"""When to sync, off the UI thread, and what to tell the rep about it.

The engine (no Qt) runs on a worker thread of its own, which talks to the Hub and
waits on the network there; it is a guest of the Backend's database thread
(:meth:`Backend.guest`): each of its reads and writes takes its turn in the Backend's
queue while the database thread waits, so the window has one background channel to
the database and never uses it from two threads at once. Results come back to the UI
thread by a queued signal. The account kept at sign-in and indexing left over from a
big pull while signed out are plain Backend ops. Syncs happen at start,
shortly after a local change, every few minutes and on "Sync now"; while offline a
cheap health check retries with exponential backoff and jitter, so a fleet of laptops
does not hammer a Hub that comes back.

The engine (with its HTTP client) is imported on the worker thread at the first
cycle, never while the window is being built.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from touchpoint.ui.backend import Backend, Cancelled
from touchpoint.ui.status_bar import ago_text

if TYPE_CHECKING:
    from touchpoint.policy import LoadedPolicy
    from touchpoint.storage.workspace import Changes, Workspace
    from touchpoint.sync.engine import SyncProgress, SyncResult

__all__ = ["SyncController", "SyncStatus", "ago_text", "next_backoff"]

log = logging.getLogger(__name__)

DEBOUNCE_MS = 5_000  # after a local change: one sync for a burst of edits
DEFAULT_INTERVAL_MIN = 5
RETRY_FIRST_S = 30.0
RETRY_CAP_S = 15 * 60.0

WORDS = {
    "offline": "Offline, will retry",
    "needs_sign_in": "Sign-in expired: sign in again",
    "needs_update": "Touchpoint needs an update to sync",
    "server_error": "The Hub had a problem; will retry",
    "busy": "Another sync is running",
    "cancelled": "Sync cancelled",
}


def next_backoff(previous: float | None) -> float:
    """30 s doubling to 15 min; the caller waits a random time in its upper half."""
    return RETRY_FIRST_S if previous is None else min(RETRY_CAP_S, previous * 2)


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar says about sync (``text``) and what state it is in."""

    state: str  # "idle" | "syncing" | a SyncResult status | "not_signed_in"
    text: str
    percent: int | None = None
    at: datetime | None = None  # the last good sync
    notice: str | None = None  # something the cycle did that the user must be told


class _Bridge(QObject):
    # Emitted on a worker thread; the bridge lives on the UI thread, so Qt queues it.
    progress = Signal(object)
    finished = Signal(object, object)  # (callback, value)


def _run_cycle(
    ws: Workspace,
    progress: Callable[[SyncProgress], None],
    cancel: Any,
    options: dict[str, Any],
) -> tuple[SyncResult, datetime | None]:
    """One cycle and the time of the last good sync (read here, not on the UI thread)."""
    from touchpoint.sync import credentials
    from touchpoint.sync import engine as sync_engine
    from touchpoint.sync.engine import SyncEngine, SyncResult
    from touchpoint.sync.errors import SyncError

    account = sync_engine.signed_in_account(ws)
    if account is None or not credentials.load_token(account.server, account.email):
        # Never signed in on this machine (or its keyring was wiped): nothing to say yet.
        return SyncResult("not_signed_in", waiting=sync_engine.waiting_count(ws)), None
    try:
        engine = SyncEngine.for_workspace(ws, progress=progress, cancel=cancel, **options)
    except SyncError as exc:
        result = SyncResult("needs_sign_in", exc.message, waiting=sync_engine.waiting_count(ws))
    else:
        try:
            result = engine.run()
        finally:
            engine.client.close()
    _catch_up_index(ws, progress, cancel)
    return result, sync_engine.last_sync_at(ws)


def _catch_up_index(ws: Workspace, progress: Callable[[SyncProgress], None], cancel: Any) -> None:
    """Index for search what a big pull brought, in short transactions (the rep can
    save meanwhile); what a closed window leaves, the next cycle finishes."""
    from touchpoint.services.search import catch_up_index
    from touchpoint.sync.engine import SyncProgress

    catch_up_index(
        ws, progress=lambda done, total: progress(SyncProgress("index", done, total)), cancel=cancel
    )


def _reachable(ws: Workspace) -> bool:
    from touchpoint.sync import engine as sync_engine

    return sync_engine.hub_reachable(ws)


def _signed_in(ws: Workspace) -> bool:
    # Not the engine's own check: importing the engine (a fifth of a second of Python's
    # lock) is for laptops that will sync.
    from touchpoint.services.sync_status import has_account

    return has_account(ws)


class SyncController(QObject):
    """Schedules sync cycles and reports them; never blocks the window."""

    status_changed = Signal(object)  # SyncStatus
    finished = Signal(object)  # SyncResult of each cycle
    pulled = Signal()  # changes from the Hub arrived: views should refresh
    sign_in_requested = Signal()  # the rep clicked "Sign-in expired"

    def __init__(
        self,
        backend: Backend,
        parent: QObject | None = None,
        *,
        interval_min: float | None = None,
        debounce_ms: int = DEBOUNCE_MS,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self._engine_options = dict(engine_options or {})  # e.g. attempts, for tests
        # A child: when the window (and this controller) goes, a late answer is dropped.
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress)
        self._bridge.finished.connect(lambda cb, value: cb(value))
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._again = False
        self._backoff: float | None = None
        self.status = SyncStatus("idle", "")
        self.last_result: SyncResult | None = None
        self.last_sync_at: datetime | None = None
        self._signed_out = False

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.sync_now)
        self._interval_min = interval_min
        self._periodic = QTimer(self)
        self._periodic.timeout.connect(self.sync_now)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._check_reachable)
        backend.changes_applied.connect(self._local_change)

    @property
    def _ws(self) -> Workspace:
        return self._backend.ws  # opened by the Backend (its thread) before the first cycle

    @property
    def policy(self) -> LoadedPolicy:
        """The machine policy in force: the one the window's start-up context resolved."""
        return self._ws.policy

    def _start_periodic(self) -> None:
        minutes = self._interval_min if self._interval_min is not None else self._interval_setting()
        self._periodic.setInterval(int(minutes * 60_000))
        self._periodic.start()

    def _interval_setting(self) -> float:
        value = getattr(self._ws.settings, "sync_interval_minutes", None)
        return (
            float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_INTERVAL_MIN
        )

    # --- public --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def idle(self) -> bool:
        """No cycle running, none due after a local change, none queued."""
        return self._thread is None and not self._debounce.isActive() and not self._again

    @property
    def retry_in_s(self) -> float | None:
        """Seconds until the next reachability check while offline (None: not waiting)."""
        return self._retry.remainingTime() / 1000 if self._retry.isActive() else None

    def start(self) -> None:
        """Sync now if signed in, and every few minutes from now on."""
        if self._signed_out:  # the rep signed out before the first cycle: nothing to do
            return
        self._start_periodic()
        self._in_background(_signed_in, self._started)

    def sync_now(self) -> None:
        self._debounce.stop()
        self._retry.stop()
        if self._thread is not None:
            self._again = True  # one more cycle when this one ends
            return
        self._cancel = threading.Event()
        # The words change only once there is progress to show: a quick cycle is silent.
        self._set_status(SyncStatus("syncing", self.status.text))
        cancel = self._cancel
        self._in_background(
            lambda ws: _run_cycle(ws, self._report_progress, cancel, self._engine_options),
            self._on_result,
        )

    def sign_in(
        self,
        server: str,
        email: str,
        password: str,
        done: Callable[[Exception | None], None],
        *,
        ca_bundle: str | None = None,
    ) -> None:
        """Sign in: the talk with the Hub on a worker thread, then the account kept on the
        Backend's database thread (the window's one writer); ``done(None)`` then a first
        sync, or ``done(error)``."""

        def talk(ws: Workspace) -> Any:
            from touchpoint.sync import engine as sync_engine

            try:
                return sync_engine.hub_login(ws, server, email, password, ca_bundle=ca_bundle)
            except Exception as exc:  # handed to the dialog, shown beside its fields
                return exc

        def keep(account: Any) -> None:
            if isinstance(account, Exception):
                after(account)
                return
            from touchpoint.sync import engine as sync_engine

            self._backend.keep(lambda ws: sync_engine.remember_account(ws, account)).success(
                lambda _none: after(None)
            ).failure(after).run()

        def after(error: Exception | None) -> None:
            done(error)
            if error is None:
                self._signed_out = False
                self._backoff = None
                self._start_periodic()
                self.sync_now()

        self._in_background(talk, keep, exclusive=False)

    def sign_out(self, done: Callable[[Exception | None], None]) -> None:
        """Sign out as `touchpoint logout --force` does: the token is revoked (when the
        Hub answers) and forgotten; changes not yet sent stay in the outbox and go at
        the next sign-in. Runs on a worker thread (it may wait on the network)."""
        self._signed_out = True
        for timer in (self._debounce, self._periodic, self._retry):
            timer.stop()
        self._again = False
        self._cancel.set()  # a cycle under way stops at its next step

        def work(ws: Workspace) -> Exception | None:
            from touchpoint.sync import engine as sync_engine

            try:
                sync_engine.sign_out(ws)
            except Exception as exc:  # shown to the rep; the token may still be here
                log.exception("sign-out failed")
                return exc
            return None

        def after(error: Exception | None) -> None:
            if error is None:
                self._set_status(SyncStatus("not_signed_in", ""))
            done(error)

        self._in_background(work, after, exclusive=False)

    def stop(self) -> None:
        """Cancel a running cycle and wait for its thread (the window is closing)."""
        for timer in (self._debounce, self._periodic, self._retry):
            timer.stop()
        self._cancel.set()
        thread = self._thread
        if thread is not None:
            thread.join(30)

    def watch_click(self, widget: QObject) -> None:
        """A click on ``widget`` (the status bar's sync label) asks to sign in when needed."""
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.MouseButtonRelease and self.status.state == "needs_sign_in":
            self.sign_in_requested.emit()
            return True
        return super().eventFilter(watched, event)

    # --- internals -----------------------------------------------------------------
    def _in_background(
        self, work: Callable[[Workspace], Any], then: Callable[[Any], None], exclusive: bool = True
    ) -> None:
        def body() -> None:
            try:
                # A guest of the Backend's thread: the network waits here, and each
                # use of the database takes its turn in the Backend's queue.
                with self._backend.guest():
                    value = work(self._ws)
            except Cancelled:  # the window closed while this waited for its turn
                from touchpoint.sync.engine import SyncResult

                value = SyncResult("cancelled", "sync cancelled")
            except Exception as exc:  # a bug must reach the log, not kill the thread silently
                from touchpoint.sync.engine import SyncResult

                log.exception("sync work failed")
                value = SyncResult("server_error", str(exc))
            try:
                self._bridge.finished.emit(self._finish_thread if exclusive else then, value)
            except RuntimeError:  # the controller was deleted while this ran
                log.debug("a sync answer arrived after the window closed")

        thread = threading.Thread(target=body, name="touchpoint-sync", daemon=True)
        if exclusive:
            self._then = then
            self._thread = thread
        thread.start()

    def _report_progress(self, progress: SyncProgress) -> None:
        with contextlib.suppress(RuntimeError):  # the controller was deleted meanwhile
            self._bridge.progress.emit(progress)

    def _finish_thread(self, value: Any) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self._then(value)

    def _started(self, signed_in: bool) -> None:
        if signed_in:
            self.sync_now()
        else:
            self._set_status(SyncStatus("not_signed_in", ""))
            # Signed out after a big pull: what it left unindexed is indexed all the same,
            # a step at a time on the Backend's thread (the window's writer).
            self._index_in_turn(self._cancel)

    def _index_in_turn(self, cancel: threading.Event) -> None:
        def step(ws: Workspace) -> bool:
            from touchpoint.services.search import catch_up_index_step

            return catch_up_index_step(ws)

        def then(more: bool) -> None:
            if more and not cancel.is_set():
                self._index_in_turn(cancel)

        self._backend.keep(step).success(then).failure(
            lambda exc: log.error("indexing for search stopped: %s", exc)
        ).run()

    def _local_change(self, _changes: Changes, _initiator: object) -> None:
        if self.status.state not in ("not_signed_in", "needs_sign_in", "needs_update"):
            self._debounce.start()

    def _on_progress(self, p: SyncProgress) -> None:
        if self._thread is None or p.total <= 0:
            return
        percent = min(100, int(p.done * 100 / p.total))
        words = "Indexing for search…" if p.phase == "index" else "Syncing…"
        self._set_status(SyncStatus("syncing", f"{words} {percent}%", percent))

    def _on_result(self, outcome: tuple[SyncResult, datetime | None] | SyncResult) -> None:
        result, when = outcome if isinstance(outcome, tuple) else (outcome, None)
        self.last_result = result
        self.last_sync_at = when
        if self._signed_out:  # a cycle that ended after the rep signed out says nothing
            self._set_status(SyncStatus("not_signed_in", ""))
            self.finished.emit(result)
            return
        if result.status in ("done", "conflicts"):
            self._backoff = None
            text = ago_text(when, self._ws.now(), self._ws.tz)
            # e.g. a team left: said in the status bar until the next sync
            notice = " ".join(result.notices) or None
            self._set_status(SyncStatus(result.status, text, at=when, notice=notice))
        elif result.status == "not_signed_in":
            self._set_status(SyncStatus("not_signed_in", ""))
        else:
            text = WORDS.get(result.status, result.message or result.status)
            self._set_status(SyncStatus(result.status, text))
            if result.status in ("offline", "server_error"):
                self._backoff = next_backoff(self._backoff)
                self._retry.start(int(random.uniform(self._backoff / 2, self._backoff) * 1000))
        if result.pulled or result.rejected:
            self.pulled.emit()
        self.finished.emit(result)
        if self._again and result.status not in ("needs_sign_in", "needs_update"):
            self._again = False
            self.sync_now()

    def _check_reachable(self) -> None:
        if self._thread is not None:
            return
        self._in_background(_reachable, self._on_reachable)

    def _on_reachable(self, ok: bool) -> None:
        if ok:
            self.sync_now()
            return
        self._backoff = next_backoff(self._backoff)
        self._retry.start(int(random.uniform(self._backoff / 2, self._backoff) * 1000))

    def _set_status(self, status: SyncStatus) -> None:
        self.status = status
        self.status_changed.emit(status)
