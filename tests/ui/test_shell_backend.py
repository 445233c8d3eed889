"""The background-operations backend: results, errors, progress and cancel, change signals."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication, QMessageBox

from touchpoint.errors import ValidationErrors
from touchpoint.services import customers
from touchpoint.storage.workspace import Changes, Workspace
from touchpoint.ui.backend import Backend, Cancelled, Progress


def test_query_runs_off_the_ui_thread_and_delivers_on_it(
    qtbot: Any, backend: Backend, idle: Any
) -> None:
    seen: dict[str, Any] = {}

    def read(ws: Workspace) -> str:
        seen["worker"] = threading.current_thread()
        return ws.author

    def got(value: str) -> None:
        seen["value"] = value
        seen["callback"] = threading.current_thread()

    backend.query(read).success(got).run()
    idle()
    assert seen["value"] == "maria@example.com"
    assert seen["worker"] is not threading.main_thread()
    assert seen["callback"] is threading.main_thread()


def test_write_gives_the_value_and_announces_the_changes(
    qtbot: Any, backend: Backend, idle: Any
) -> None:
    announced: list[tuple[Changes, object]] = []
    backend.changes_applied.connect(lambda c, i: announced.append((c, i)))
    created: list[Any] = []
    marker = object()
    backend.write(
        lambda ws: customers.create_customer(ws, {"name": "Acme GmbH"}), initiator=marker
    ).success(created.append).run()
    idle()
    assert created[0].name == "Acme GmbH"
    changes, initiator = announced[0]
    assert created[0].id in changes.records["customer"]
    assert initiator is marker


def test_failure_goes_to_the_handler_and_nothing_is_announced(
    qtbot: Any, backend: Backend, idle: Any
) -> None:
    announced: list[object] = []
    backend.changes_applied.connect(lambda c, i: announced.append(c))
    errors: list[Exception] = []
    backend.write(lambda ws: customers.create_customer(ws, {"name": ""})).failure(
        errors.append
    ).run()
    idle()
    assert isinstance(errors[0], ValidationErrors)
    assert [e.field for e in errors[0].errors] == ["name"]
    assert announced == []


def test_without_a_failure_handler_a_human_message_is_shown(
    qtbot: Any, backend: Backend, idle: Any
) -> None:
    failed: list[object] = []
    backend.failed.connect(failed.append)

    def boom(ws: Workspace) -> None:
        raise RuntimeError("disk on fire at 0xdeadbeef")

    backend.query(boom).run()
    idle()
    assert isinstance(failed[0], RuntimeError)
    boxes = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]
    assert boxes, "a message box is shown"
    text = boxes[-1].text()
    assert "deadbeef" not in text and "Traceback" not in text
    assert "log file" in text
    for box in boxes:
        box.close()


def test_progress_reaches_the_work_and_cancel_stops_it(
    qtbot: Any, backend: Backend, idle: Any
) -> None:
    started = threading.Event()
    seen: list[Progress] = []
    results: list[int] = []

    def long_work(ws: Workspace, progress: Progress) -> int:
        seen.append(progress)
        started.set()
        for i in range(10_000):
            if progress.cancelled():
                raise Cancelled()
            progress.report(i, 10_000)
            threading.Event().wait(0.001)
        return 1

    op = backend.query(long_work).with_progress("Working", cancellable=True).success(results.append)
    op.run()
    assert started.wait(5)
    qtbot.waitUntil(lambda: seen[0].snapshot()[0] > 0)
    seen[0].cancel()  # what the dialog's Cancel button does
    idle()
    assert results == []  # cancelled work delivers nothing and shows no error
    assert not [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def test_progress_dialog_appears_for_slow_work(qtbot: Any, backend: Backend, idle: Any) -> None:
    release = threading.Event()
    from PySide6.QtWidgets import QProgressDialog

    def slow(ws: Workspace, progress: Progress) -> int:
        progress.report(1, 4)
        release.wait(10)
        return 4

    results: list[int] = []
    backend.query(slow).with_progress("Importing customers").success(results.append).run()
    qtbot.waitUntil(
        lambda: any(
            isinstance(w, QProgressDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
        ),
        timeout=5_000,
    )
    dialog = next(
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QProgressDialog) and w.isVisible()
    )
    assert dialog.labelText() == "Importing customers"
    release.set()
    idle()
    assert results == [4]
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())


def test_ops_run_one_at_a_time_in_order(qtbot: Any, backend: Backend, idle: Any) -> None:
    order: list[int] = []
    for n in range(20):
        backend.write(
            lambda ws, n=n: customers.create_customer(ws, {"name": f"Customer {n:02}"})
        ).success(lambda v, n=n: order.append(n)).run()
    idle()
    assert order == list(range(20))


def test_a_dropped_op_never_calls_back(qtbot: Any, backend: Backend, idle: Any) -> None:
    gate = threading.Event()
    backend.query(lambda ws: gate.wait(5)).run()
    results: list[object] = []
    op = backend.query(lambda ws: "stale").success(results.append)
    op.run()
    op.cancel()
    gate.set()
    idle()
    assert results == []


def test_a_backend_can_open_its_workspace_on_its_own_thread(qtbot: Any, data_dir: Any) -> None:
    """The window is built while the database opens: ops asked for meanwhile run after."""
    opened_on: list[threading.Thread] = []

    def opener() -> Workspace:
        opened_on.append(threading.current_thread())
        return Workspace.open(data_dir, auto_backup=False)

    b = Backend(opener, start=False)
    try:
        assert not b.is_open
        got: list[str] = []
        b.query(lambda ws: ws.author).success(got.append).run()  # before the database is open
        with qtbot.waitSignal(b.opened, timeout=10_000) as signal:
            b.start()
        assert signal.args == [None]
        qtbot.waitUntil(lambda: got == ["maria@example.com"])
        assert opened_on[0] is not threading.main_thread()
        assert b.is_open and b.ws.author == "maria@example.com"
    finally:
        b.shutdown()


def test_ops_wait_for_a_workspace_the_window_opens_after_a_failed_open(
    qtbot: Any, ws: Workspace
) -> None:
    from touchpoint.errors import StorageError

    def opener() -> Workspace:
        raise StorageError("the database key is missing")

    b = Backend(opener)
    try:
        got: list[str] = []
        with qtbot.waitSignal(b.opened, timeout=10_000) as signal:
            b.query(lambda w: w.author).success(got.append).run()
        assert isinstance(signal.args[0], StorageError)
        qtbot.wait(100)
        assert got == []  # held, not failed: the window is explaining the problem
        b.adopt(ws)  # what the window opened once the problem was solved
        qtbot.waitUntil(lambda: got == ["maria@example.com"])
    finally:
        b._ws = None  # the fixture closes its own workspace
        b.shutdown()


def test_reads_before_the_opening_run_first_and_the_opening_waits_for_start(
    qtbot: Any, data_dir: Any
) -> None:
    """Today is read from the file while the window is built; the database layer loads
    only once start() is called (after the window is shown)."""
    order: list[str] = []

    def opener() -> Workspace:
        order.append("open")
        return Workspace.open(data_dir, auto_backup=False)

    b = Backend(opener, start=False)
    try:
        got: list[str] = []
        early = b.before_open(lambda: order.append("early") or "figures").success(got.append)
        early.run()
        b.query(lambda ws: ws.author).success(got.append).run()
        b.start_before_open()
        assert b.deliver_now(early, 10.0)  # its callback ran here, not later
        assert got == ["figures"] and order == ["early"]
        qtbot.wait(100)
        assert order == ["early"] and not b.is_open  # no opening before start()
        with qtbot.waitSignal(b.opened, timeout=10_000):
            b.start()
        qtbot.waitUntil(lambda: got == ["figures", "maria@example.com"])
        assert b.pending == 0  # the early op was counted once
        with pytest.raises(RuntimeError):
            b.before_open(lambda: None)  # too late: the thread runs them only at first
    finally:
        b.shutdown()


def test_an_early_read_that_fails_is_delivered_as_a_failure(qtbot: Any, data_dir: Any) -> None:
    b = Backend(lambda: Workspace.open(data_dir, auto_backup=False), start=False)
    try:
        errors: list[Exception] = []

        def broken() -> None:
            raise OSError("disk gone")

        early = b.before_open(broken).failure(errors.append)
        early.run()
        b.start_before_open()
        assert b.deliver_now(early, 10.0)
        assert [str(e) for e in errors] == ["disk gone"]
        b.start()
        qtbot.waitUntil(lambda: b.pending == 0)
        assert len(errors) == 1
    finally:
        b.shutdown()


def test_file_writes_take_their_turn_and_a_failure_is_logged_not_shown(
    qtbot: Any, ws: Workspace, tmp_path: Any, caplog: Any, monkeypatch: Any
) -> None:
    """Drafts are written on the database thread, in order with the other work; the
    shutdown at quit writes what is still queued; a full disk is logged, never a box."""
    shown: list[Any] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a))
    b = Backend(ws)
    order: list[str] = []
    threads: list[threading.Thread] = []
    gate = threading.Event()
    b.query(lambda _ws: gate.wait(10) and order.append("read")).run()
    draft = tmp_path / "draft.json"

    def write_draft() -> None:
        threads.append(threading.current_thread())
        order.append("draft")
        draft.write_text("{}", encoding="utf-8")

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    b.write_file(write_draft, "the draft")
    b.write_file(full_disk, "the draft")
    failed: list[Any] = []
    b.failed.connect(failed.append)
    assert not draft.exists()  # behind the read that is still running
    gate.set()
    b.shutdown()  # as at quit: what is queued runs first
    assert draft.exists()
    assert order == ["read", "draft"]
    assert threads[0].name == "touchpoint-db"
    qtbot.waitUntil(lambda: "No space left on device" in caplog.text)
    assert "the draft could not be written" in caplog.text
    assert not failed and not shown


def test_drain_waits_for_what_was_queued(qtbot: Any, backend: Backend, tmp_path: Any) -> None:
    done = tmp_path / "done"
    gate = threading.Event()
    backend.write_file(lambda: gate.wait(10) and done.write_text("x"), "a file")
    threading.Timer(0.2, gate.set).start()
    assert backend.drain(10)
    assert done.exists()
