"""Background operations: every service call runs off the UI thread.

One database worker thread runs all reads and writes in order (one writer, so no
"database is locked"); results come back to the UI thread through a queued signal.
A view builds an :class:`Op` with :meth:`Backend.query` or :meth:`Backend.write`,
chains ``success``/``failure``/``with_progress`` and calls ``run()``.

The Backend can also be given a function that opens the Workspace: the database
thread then opens it before the first op, so the window can be built and painted
while the database layer loads (at start-up, the bulk of the time). Ops made with
:meth:`Backend.before_open` run on that thread before the opening (reads that need
no Workspace: Today from the file while SQLAlchemy loads).

It is the window's only background channel to the database: a draft file
(:meth:`Backend.write_file`) takes its turn on the same thread, so it never races a write
or outlives the window (:meth:`Backend.shutdown` runs what is queued first). A thread
that must talk to the Hub between its reads and writes (sync) runs as a guest
(:meth:`Backend.guest`): each connection it takes from the pool waits for a turn in the
same queue, and the database thread waits while the guest holds it; so the database is
used by one thread at a time, in the order asked.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from touchpoint import errors

if TYPE_CHECKING:  # the database layer loads on the database thread, not here
    from touchpoint.storage.workspace import Saved, Workspace

log = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_DELAY_MS = 300


class Cancelled(errors.Cancelled):
    """Raised by long work that saw ``progress.cancelled()``; never shown as an error."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class Progress:
    """Handed to long work as its second argument; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        self._cancel = threading.Event()

    def report(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = done, total

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self._done, self._total


class _Bridge(QObject):
    # Emitted on the worker thread; the bridge lives on the UI thread, so Qt queues it.
    finished = Signal(object, object, object)  # (op, result, exception)
    opened = Signal(object)  # the exception that stopped the opening, or None


class Op(Generic[T]):
    """One background call, configured in a chain and then ``run()``."""

    def __init__(
        self,
        backend: Backend,
        fn: Callable[..., Any],
        *,
        is_write: bool,
        initiator: object | None = None,
        before_open: bool = False,
    ) -> None:
        self._backend = backend
        self._fn = fn
        self._is_write = is_write
        self._before_open = before_open
        self._outcome: tuple[Any, BaseException | None] | None = None
        self._ready = threading.Event()  # set on the worker once the outcome is known
        self._delivered = False
        self._initiator = initiator
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[Exception], None] | None = None
        self._progress: Progress | None = None
        self._progress_label = ""
        self._progress_parent: QWidget | None = None
        self._cancellable = True
        self._dialog: QProgressDialog | None = None
        self._timer: QTimer | None = None
        self._dropped = threading.Event()
        self.done = False

    # --- configuration ------------------------------------------------------
    def success(self, cb: Callable[[T], None]) -> Op[T]:
        self._success = cb
        return self

    def failure(self, cb: Callable[[Exception], None]) -> Op[T]:
        self._failure = cb
        return self

    def with_progress(
        self, label: str, parent: QWidget | None = None, *, cancellable: bool = True
    ) -> Op[T]:
        self._progress = Progress()
        self._progress_label = label
        self._progress_parent = parent
        self._cancellable = cancellable
        return self

    @property
    def progress(self) -> Progress | None:
        return self._progress

    def run(self) -> None:
        if self._progress is not None:
            self._timer = QTimer()
            self._timer.setInterval(100)
            self._elapsed = 0
            self._timer.timeout.connect(self._tick)
            self._timer.start()
        self._backend._submit(self)

    def cancel(self) -> None:
        """Drop the op: if it has not started it never runs; its callbacks never fire."""
        self._dropped.set()
        if self._progress is not None:
            self._progress.cancel()

    # --- worker side --------------------------------------------------------
    def _execute(self, ws: Workspace | None) -> Any:
        if self._before_open:
            return self._fn()
        if self._progress is not None:
            return self._fn(ws, self._progress)
        return self._fn(ws)

    # --- UI side -------------------------------------------------------------
    def _tick(self) -> None:
        assert self._progress is not None
        self._elapsed += 100
        if self._dialog is None and self._elapsed >= PROGRESS_DELAY_MS:
            dialog = QProgressDialog(
                self._progress_label,
                "Cancel" if self._cancellable else "",
                0,
                0,
                self._progress_parent,
            )
            if not self._cancellable:
                dialog.setCancelButton(None)
            dialog.setWindowTitle("Touchpoint")
            dialog.setAccessibleName(self._progress_label)
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(0)
            dialog.setAutoReset(False)
            dialog.setAutoClose(False)
            dialog.canceled.connect(self._progress.cancel)
            dialog.show()
            self._dialog = dialog
        if self._dialog is not None:
            done, total = self._progress.snapshot()
            if total > 0:
                self._dialog.setMaximum(total)
                self._dialog.setValue(min(done, total))

    def _finish(self, result: Any, exc: BaseException | None) -> None:
        self.done = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._dialog is not None:
            self._dialog.canceled.disconnect()
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
        if self._dropped.is_set():
            return
        if exc is not None:
            if isinstance(exc, errors.Cancelled):
                log.info("cancelled: %s", self._progress_label or self._fn)
                return
            if self._failure is not None:
                self._failure(exc)  # type: ignore[arg-type]
            else:
                self._backend._default_failure(exc, self._progress_parent)
            return
        value = result
        if self._is_write:
            from touchpoint.storage.workspace import Saved

            if not isinstance(result, Saved):
                raise TypeError(f"a write must return Saved, got {type(result).__name__}")
            value = result.value
        if self._success is not None:
            self._success(value)
        if self._is_write:
            self._backend.changes_applied.emit(result.changes, self._initiator)


class _Turn:
    """A guest thread's turn in the queue: granted by the database thread, which then
    waits until the guest gives it back."""

    def __init__(self) -> None:
        self.granted = threading.Event()
        self.ended = threading.Event()
        self.refused = False  # the Backend shut down before the turn came


class _Guest:
    """A guest thread's hold on the database: its turn, and how many connections it
    has taken in it (a read inside a unit of work takes a second)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.turn: _Turn | None = None


class _Turns:
    """The Backend's :class:`touchpoint.storage.database.Turns`: guests wait for a turn,
    every other thread (the database thread, the threads its work starts) goes on."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.local = threading.local()

    def enter(self) -> object | None:
        guest: _Guest | None = getattr(self.local, "guest", None)
        if guest is None:
            return None
        with guest.lock:
            if guest.depth:
                guest.depth += 1
                return guest
        turn = self._backend._take_turn()  # blocks until the database thread hands it over
        with guest.lock:
            guest.turn, guest.depth = turn, 1
        return guest

    def leave(self, held: object) -> None:
        assert isinstance(held, _Guest)
        with held.lock:
            held.depth -= 1
            if held.depth or held.turn is None:
                return
            turn, held.turn = held.turn, None
        turn.ended.set()


class Backend(QObject):
    """Owns the Workspace. Every service call runs off the UI thread: reads and writes on ONE
    database worker thread (one writer, no 'database is locked'); results come back on the UI
    thread via signals."""

    changes_applied = Signal(object, object)  # (Changes, initiator or None)
    failed = Signal(object)  # an exception that reached the default handler (for the status bar)
    busy_changed = Signal(bool)
    opened = Signal(object)  # a Backend given an opener: None once open, or what stopped it

    def __init__(
        self,
        ws: Workspace | Callable[[], Workspace],
        parent: QObject | None = None,
        *,
        start: bool = True,
    ) -> None:
        super().__init__(parent)
        self._opener: Callable[[], Workspace] | None = None
        self._ws: Workspace | None = None
        self._open_error: BaseException | None = None
        self._ready = threading.Event()
        self._adopted = threading.Event()  # a Workspace opened elsewhere after a failed open
        self._turns = _Turns(self)
        self._turn_lock = threading.Lock()  # no turn is queued once shutdown began
        if callable(ws):
            self._opener = ws
        else:
            ws.take_turns(self._turns)
            self._ws = ws
            self._ready.set()
        self._queue: queue.Queue[Op[Any] | _Turn | None] = queue.Queue()
        self._bridge = _Bridge()
        self._bridge.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._bridge.opened.connect(self.opened, Qt.ConnectionType.QueuedConnection)
        self._pending = 0
        self._closed = False
        self._error_parent: QWidget | None = None
        self._thread = threading.Thread(target=self._loop, name="touchpoint-db", daemon=True)
        self._started = False
        self._may_open = threading.Event()
        self._early: list[Op[Any]] = []
        if start:
            self.start()

    def start(self) -> None:
        """Start the database thread (made with ``start=False``: after the first paint)."""
        self._may_open.set()
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def is_open(self) -> bool:
        return self._ws is not None

    @property
    def ws(self) -> Workspace:
        """The open Workspace; waits for the database thread to open it if needed."""
        if self._ws is None:
            self.start()
            self._ready.wait()
            if self._ws is None:
                raise self._open_error or RuntimeError("the database is not open")
        return self._ws

    def set_error_parent(self, widget: QWidget | None) -> None:
        """The window default error messages are shown over."""
        self._error_parent = widget

    def query(self, fn: Callable[[Workspace], T]) -> Op[T]:
        return Op(self, fn, is_write=False)

    def before_open(self, fn: Callable[[], T]) -> Op[T]:
        """A read run on the database thread before it opens the Workspace (``fn`` gets
        no Workspace); only on a Backend given an opener, run() before it starts."""
        if self._opener is None or self._started or self._may_open.is_set():
            raise RuntimeError("before_open needs a Backend that has not opened yet")
        return Op(self, fn, is_write=False, before_open=True)

    def start_before_open(self) -> None:
        """Start the database thread for the ``before_open`` ops only: it opens the
        Workspace once :meth:`start` is called (loading SQLAlchemy while the window is
        built would slow the build down)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def deliver_now(self, op: Op[Any], timeout_s: float) -> bool:
        """On the UI thread: wait up to ``timeout_s`` for ``op`` and run its callbacks
        now rather than at the next turn of the event loop (the window is shown with
        Today filled, not "Loading…" for a moment). False when it did not finish."""
        if op._delivered:
            return True
        if not op._ready.wait(timeout_s):
            return False
        assert op._outcome is not None
        self._on_finished(op, *op._outcome)
        return True

    def write(
        self, fn: Callable[[Workspace], Saved[T]], *, initiator: object | None = None
    ) -> Op[T]:
        return Op(self, fn, is_write=True, initiator=initiator)

    def keep(self, fn: Callable[[Workspace], T]) -> Op[T]:
        """A write that changes no record a view shows (the Hub account signed in to, a
        draft file): in turn on the database thread like any write, but no
        ``changes_applied`` (nothing to refresh, no sync to ask for)."""
        return Op(self, fn, is_write=False)

    def write_file(self, fn: Callable[[], object], what: str) -> None:
        """A small file the window keeps beside the database (a draft), written on the
        database thread in the order asked. A failure is logged, never shown: the form
        that asked still holds what it would have kept."""

        def failed(exc: Exception) -> None:
            log.error("%s could not be written: %s", what, exc)

        self.keep(lambda _ws: fn()).failure(failed).run()

    @contextmanager
    def guest(self) -> Iterator[None]:
        """Run the block on this (non-UI) thread as a guest of the database thread: each
        connection it takes waits for a turn in the queue, behind what was asked before
        it, and the database thread waits until it is given back. For work that talks
        to the Hub between its reads and writes (a sync cycle): the network waits on the
        guest's thread, the database is still used by one thread at a time. Raises
        :class:`Cancelled` at a connection asked for after :meth:`shutdown`."""
        local = self._turns.local
        outer = getattr(local, "guest", None)
        local.guest = outer or _Guest()
        try:
            yield
        finally:
            local.guest = outer

    def _take_turn(self) -> _Turn:
        turn = _Turn()
        with self._turn_lock:
            if self._closed:
                raise Cancelled("the window is closing")
            self._queue.put(turn)
        turn.granted.wait()
        if turn.refused:
            raise Cancelled("the window is closing")
        return turn

    def drain(self, timeout_s: float = 30.0) -> bool:
        """On the UI thread: wait until what was queued before now has run (drafts at
        quit, tests). False when the thread did not get there in ``timeout_s``."""
        if self._closed or not self._started:
            return not self._started
        marker: Op[None] = self.query(lambda _ws: None)
        marker.run()
        return marker._ready.wait(timeout_s)

    @property
    def pending(self) -> int:
        """Ops submitted and not yet delivered (tests wait on this reaching 0)."""
        return self._pending

    def adopt(self, ws: Workspace) -> None:
        """The Workspace the UI opened after this thread could not (a key recovered...):
        the ops waiting since then run on it."""
        ws.take_turns(self._turns)
        self._ws = ws
        self._open_error = None
        self._adopted.set()

    def shutdown(self) -> None:
        if self._closed:
            return
        with self._turn_lock:
            self._closed = True
            self._queue.put(None)
        self._adopted.set()
        self._may_open.set()
        if self._started:
            self._thread.join()
        else:
            self._refuse_turns()
        if self._ws is not None:
            self._ws.take_turns(None)
            self._ws.close()

    # --- internals ------------------------------------------------------------
    def _submit(self, op: Op[Any]) -> None:
        if self._closed:
            log.warning("op submitted after shutdown was ignored")
            return
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        if op._before_open:
            self._early.append(op)
        else:
            self._queue.put(op)

    def _open(self) -> bool:
        assert self._opener is not None
        try:
            ws = self._opener()
            ws.take_turns(self._turns)
            self._ws = ws
        except BaseException as exc:  # told to the UI thread, which says it and stops
            self._open_error = exc
        self._ready.set()
        self._bridge.opened.emit(self._open_error)
        return self._ws is not None

    def _loop(self) -> None:
        try:
            self._serve()
        finally:
            self._refuse_turns()

    def _serve(self) -> None:
        if self._opener is not None:
            for early in self._early:  # all made before the thread started
                self._run(early)
            self._may_open.wait()
            if self._closed:
                return
            if not self._open():
                self._adopted.wait()  # ops wait for the UI's recovery (or the app ends)
        while True:
            op = self._queue.get()
            if op is None or self._ws is None:  # closing (never opened: nothing runs)
                return
            if isinstance(op, _Turn):
                op.granted.set()  # a guest's turn: this thread waits until it ends
                op.ended.wait()
                continue
            self._run(op)

    def _refuse_turns(self) -> None:
        """Guests still waiting when the thread ends are told the window is closing."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Turn):
                item.refused = True
                item.granted.set()

    def _run(self, op: Op[Any]) -> None:
        result: Any = None
        exc: BaseException | None = None
        if not op._dropped.is_set():
            try:
                result = op._execute(self._ws)
            except BaseException as error:  # delivered to the UI thread, never lost
                exc = error
        op._outcome = (result, exc)
        op._ready.set()
        self._bridge.finished.emit(op, result, exc)

    def _on_finished(self, op: Op[Any], result: Any, exc: BaseException | None) -> None:
        if op._delivered:  # already by deliver_now
            return
        op._delivered = True
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
        try:
            op._finish(result, exc)
        except Exception:  # a bug in a callback must not kill the event loop
            log.exception("error in a callback of a background operation")

    def _default_failure(self, exc: BaseException, parent: QWidget | None) -> None:
        from touchpoint.ui.errors import show_error

        self.failed.emit(exc)
        show_error(parent or self._error_parent, exc)
