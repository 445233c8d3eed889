"""The main window: rail and pages, Today, shortcuts, status bar, restored state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt

from touchpoint.services import customers
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.actions import ACTIONS, ActionSpec, build_actions
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow
from touchpoint.ui.today_view import CUSTOMER_ROLE


def _settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


def _window(qtbot: Any, backend: Backend, tmp_path: Path) -> MainWindow:
    window = MainWindow(backend, _settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts go to the active window
    return window


def test_today_lists_promises_and_opens_the_customer(  # noqa: PLR0917 - fixtures
    qtbot: Any, ws: Workspace, clock: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH", "status": "active"}).value
    clock.advance(days=-2)
    log_interaction(
        ws, customer=acme.id, kind="visit", followups=[FollowUpInput("Send the quote", "+1d")]
    )
    clock.advance(days=2)
    log_interaction(
        ws, customer=acme.id, kind="call", followups=[FollowUpInput("Call back", "17:00")]
    )
    window = _window(qtbot, backend, tmp_path)
    today = window.today
    qtbot.waitUntil(lambda: today.data is not None)
    assert window.current_page == "today"
    assert today.overdue.list.count() == 1
    assert "Send the quote" in today.overdue.list.item(0).text()
    assert today.due.list.count() == 1
    assert today.interactions.list.count() == 1
    item = today.overdue.list.item(0)
    assert item.data(CUSTOMER_ROLE) == acme.id
    with qtbot.waitSignal(window.customer_opened):
        today.overdue.list.itemClicked.emit(item)
    qtbot.waitUntil(lambda: window.customers.profile.name_label.text() == "Acme GmbH")
    assert window.current_page == "customers"


def test_today_refreshes_after_a_write(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    window = _window(qtbot, backend, tmp_path)
    qtbot.waitUntil(lambda: window.today.data is not None)
    assert window.today.interactions.list.count() == 0
    assert window.today.interactions.empty.text().startswith("No interactions")
    backend.write(lambda w: log_interaction(w, customer=acme.id, kind="call")).run()
    qtbot.waitUntil(lambda: window.today.interactions.list.count() == 1)


def test_keyboard_shortcuts_switch_pages_and_focus_search(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page == "customers"
    assert window.rail.buttons["customers"].isChecked()
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page == "today"
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    # Every action with a shortcut shows it in its tooltip.
    for action in window.actions_by_id.values():
        if not action.shortcut().isEmpty():
            assert action.shortcut().toString() in action.toolTip()
    assert window.rail.buttons["today"].accessibleName() == "Today"


def test_actions_needing_a_missing_module_are_left_out(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMainWindow

    class Window(QMainWindow):
        def hello(self) -> None:
            self.said = True

    window = Window()
    qtbot.addWidget(window)
    specs = (
        ActionSpec("hello", "Hello", "hello", "Ctrl+H"),
        ActionSpec("ghost", "Ghost", "hello", requires="touchpoint.ui.no_such_module"),
    )
    actions = build_actions(window, specs)
    assert list(actions) == ["hello"]
    actions["hello"].trigger()
    assert window.said
    assert len({a.shortcut for a in ACTIONS if a.shortcut}) == len(
        [a for a in ACTIONS if a.shortcut]
    )  # no shortcut used twice


def test_status_bar_shows_offline_and_unsynced_changes(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    customers.create_customer(ws, {"name": "Acme GmbH"})
    window = _window(qtbot, backend, tmp_path)
    qtbot.waitUntil(lambda: window.status.unsynced is not None)
    assert window.status.sync_label.text() == "Offline · sync not configured"
    first = window.status.unsynced
    assert first >= 1
    assert (
        window.status.unsynced_label.text()
        == f"{first:,} change{'s' * (first != 1)} kept on this laptop"
    )
    backend.write(lambda w: customers.create_customer(w, {"name": "Bolt AG"})).run()
    qtbot.waitUntil(lambda: (window.status.unsynced or 0) > first, timeout=5000)


def test_size_splitters_and_last_view_are_restored(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    window = _window(qtbot, backend, tmp_path)
    window.open_customer(acme.id)
    qtbot.waitUntil(lambda: window.customers.profile.name_label.text() == "Acme GmbH")
    # A size the laid-out window can really take (its minimum depends on the pages present).
    window.resize(window.minimumSizeHint().width() + 37, window.minimumSizeHint().height() + 23)
    window.customers.setSizes([300, 800])
    left = window.customers.sizes()[0]
    size = window.size()
    window.close()
    idle()

    again = _window(qtbot, backend, tmp_path)
    assert again.current_page == "customers"
    qtbot.waitUntil(lambda: again.customers.profile.name_label.text() == "Acme GmbH")
    assert again.size().height() == size.height()
    if size.width() <= again.screen().availableGeometry().width():
        assert again.size().width() == size.width()  # Qt fits a restored window to the screen
    assert again.customers.sizes()[0] == left


def test_deleting_a_customer_offers_undo(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    window = _window(qtbot, backend, tmp_path)
    window.open_customer(acme.id)
    qtbot.waitUntil(lambda: window.customers.profile.name_label.text() == "Acme GmbH")
    window.customers.profile.delete_button.click()
    qtbot.waitUntil(lambda: window.customers.profile.customer_id is None)
    assert window.undo_bar is not None
    assert window.undo_bar.isVisibleTo(window)
    window.undo_bar.button.click()
    qtbot.waitUntil(
        lambda: (
            window.customers.profile.name_label.text() == "Acme GmbH"
            and window.customers.profile.customer_id == acme.id
        )
    )
    idle()
    assert not customers.get_customer(ws, acme.id).deleted


def test_qt_calls_do_not_drop_references_to_none(qtbot: Any) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call,
    which kills the app after a while; pyproject keeps that version out."""
    import sys

    from PySide6.QtWidgets import QApplication, QLabel

    label = QLabel("hello")
    qtbot.addWidget(label)
    label.show()
    before = sys.getrefcount(None)
    for _ in range(500):
        label.update()
        QApplication.processEvents()
    assert sys.getrefcount(None) >= before - 50  # other code may let go of a few


def test_today_can_be_read_before_the_window_is_built(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    from touchpoint.ui.today_view import TodayPrefetch

    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    log_interaction(ws, customer=acme.id, kind="call")
    early = TodayPrefetch(backend)
    window = MainWindow(backend, _settings(tmp_path), today_prefetch=early)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.today.data is not None)
    assert window.today.data is early.data  # the early read was used, not a second one
    assert window.today.interactions.list.count() == 1


def _signed_in_without_a_server(ws: Workspace, *, last_sync: Any = None) -> None:
    """What sign_in stores (account in the database, token in the keyring), offline."""
    from touchpoint.storage.types import to_utc_text
    from touchpoint.sync import credentials, engine

    with ws.unit_of_work() as uow:
        engine.write_meta(uow.session, engine.SERVER_KEY, "https://hub.example.com")
        engine.write_meta(uow.session, engine.EMAIL_KEY, "maria@example.com")
        if last_sync is not None:
            engine.write_meta(uow.session, engine.LAST_SYNC_KEY, to_utc_text(last_sync))
        uow.commit()
    credentials.save_token("https://hub.example.com", "maria@example.com", "token")


def test_status_bar_names_the_sync_account_once_signed_in(
    qtbot: Any, ws: Workspace, backend: Backend, tmp_path: Path
) -> None:
    _signed_in_without_a_server(ws)
    window = _window(qtbot, backend, tmp_path)
    qtbot.waitUntil(lambda: window.status.unsynced is not None)
    assert window.status.sync_label.text() == (
        "Sync with maria@example.com at hub.example.com · not synced yet"
    )
    # Signed in: the menu offers Sign out, not Sign in.
    assert window.actions_by_id["sign_out"].isVisible()
    assert not window.actions_by_id["sign_in"].isVisible()


def test_the_status_bar_engine_keys_match_the_sync_engine() -> None:
    from touchpoint.services import sync_status
    from touchpoint.sync import engine

    assert (sync_status.SERVER_KEY, sync_status.EMAIL_KEY, sync_status.LAST_SYNC_KEY) == (
        engine.SERVER_KEY,
        engine.EMAIL_KEY,
        engine.LAST_SYNC_KEY,
    )


def test_synced_minutes_ago_ticks_without_reading_the_database(
    qtbot: Any, ws: Workspace, backend: Backend, clock: Any, tmp_path: Path
) -> None:
    _signed_in_without_a_server(ws, last_sync=clock())
    clock.advance(seconds=20)
    window = _window(qtbot, backend, tmp_path)
    status = window.status
    qtbot.waitUntil(lambda: status.state is not None and backend.pending == 0)
    assert status.sync_label.text() == "Synced just now"
    # The next redraw is planned for when the words change (40 s on, not a minute).
    assert status.tick_timer.isActive()
    assert 39_000 <= status.tick_timer.remainingTime() <= 41_000

    reads: list[object] = []
    original = backend.query
    backend.query = lambda fn: reads.append(fn) or original(fn)  # type: ignore[method-assign]
    for minutes, words in ((1, "Synced 1 min ago"), (2, "Synced 3 min ago")):
        clock.advance(minutes=minutes)
        status.tick_timer.timeout.emit()
        assert status.sync_label.text() == words
    clock.advance(hours=2)
    status.tick_timer.timeout.emit()
    assert status.sync_label.text() == "Synced today 10:30"  # when it synced, Berlin time
    clock.advance(days=1)
    status.tick_timer.timeout.emit()
    assert status.sync_label.text() == "Synced yesterday 10:30"
    assert status.tick_timer.remainingTime() <= 60_000
    assert reads == []  # ticking never asked the database
    backend.query = original  # type: ignore[method-assign]


def test_start_up_work_waits_until_today_shows_its_figures(
    qtbot: Any, backend: Backend, tmp_path: Path
) -> None:
    from touchpoint.ui.startup import after_first_paint

    window = MainWindow(backend, _settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    calls: list[bool] = []
    after_first_paint(window, lambda: calls.append(window.today.data is not None))
    assert calls == []  # Today's read is still on its way
    qtbot.waitUntil(lambda: calls == [True])
    qtbot.wait(50)
    assert calls == [True]  # once


def test_the_first_sync_waits_while_the_list_is_scrolled(
    qtbot: Any, backend: Backend, tmp_path: Path, monkeypatch: Any
) -> None:
    """The first cycle loads the HTTP client and the engine on a worker thread, which
    holds Python's lock against the list's paints: not while the person scrolls."""
    from touchpoint.ui import gc_guard
    from touchpoint.ui.sync_controller import SyncController

    started: list[bool] = []
    monkeypatch.setattr(SyncController, "start", lambda _self: started.append(True))
    monkeypatch.setattr(gc_guard.activity, "last", float("-inf"))
    window = MainWindow(backend, _settings(tmp_path))
    qtbot.addWidget(window)
    window._sync_start.setInterval(10)  # due at once, not after the usual delay
    gc_guard.interacting()  # the list is being scrolled when the start is due
    window.show()
    for _ in range(4):  # and goes on being scrolled
        qtbot.wait(100)
        gc_guard.interacting()
    assert started == []
    qtbot.waitUntil(lambda: started == [True], timeout=5000)  # the person paused
    qtbot.wait(50)
    assert started == [True]  # once


def _run_python(code: str, data_dir: Path) -> str:
    """Run ``code`` in a fresh process (what a start imports is only seen there)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_first_paint_loads_no_module_it_does_not_show(data_dir: Path) -> None:
    """Sync (HTTP client), charts, reports and the pages not in view load later."""
    code = """
import sys
from PySide6.QtCore import QSettings
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.app import make_application
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow
app = make_application(["touchpoint"])
backend = Backend(Workspace.open(sys.argv[1], auto_backup=False))
window = MainWindow(backend, QSettings(sys.argv[1] + "/w.ini", QSettings.Format.IniFormat))
window.show()
window.repaint()
print(",".join(sorted(sys.modules)))
backend.shutdown()
"""
    loaded = set(_run_python(code, data_dir).strip().splitlines()[-1].split(","))
    for module in (
        "httpx",
        "touchpoint.sync.engine",
        "PySide6.QtCharts",
        "touchpoint.ui.reports_view",
        "touchpoint.ui.profile_view",
        "touchpoint.ui.followups_view",
        "touchpoint.ui.conflicts_view",
    ):
        assert module not in loaded, module
    assert "touchpoint.ui.today_view" in loaded


def test_a_laptop_never_signed_in_never_loads_the_sync_engine(data_dir: Path) -> None:
    """Its start-up sync check reads the account from the database alone."""
    code = """
import sys, time
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.app import make_application
from touchpoint.ui.backend import Backend
from touchpoint.ui.sync_controller import SyncController
app = make_application(["touchpoint"])
backend = Backend(Workspace.open(sys.argv[1], auto_backup=False))
controller = SyncController(backend)
controller.start()
end = time.monotonic() + 60
while controller.status.state != "not_signed_in" and time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
print(controller.status.state, ",".join(sorted(sys.modules)))
backend.shutdown()
"""
    state, modules = _run_python(code, data_dir).strip().splitlines()[-1].split(" ")
    assert state == "not_signed_in"
    loaded = set(modules.split(","))
    assert "touchpoint.sync.engine" not in loaded
    assert "httpx" not in loaded


def test_the_window_paints_before_the_database_layer_loads(data_dir: Path) -> None:
    """run() builds and shows the window, then the database thread starts loading
    SQLAlchemy and the models and opens the database."""
    code = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from touchpoint.ui import app, backend

start = backend.Backend.start
deadline = time.monotonic() + 60

def quit_once_loaded():  # a busy machine may take seconds to load the database layer
    if "sqlalchemy" in sys.modules or time.monotonic() > deadline:
        QTimer.singleShot(200, QApplication.quit)
    else:
        QTimer.singleShot(100, quit_once_loaded)

def start_and_look(self):
    shown = [w for w in QApplication.topLevelWidgets() if hasattr(w, "today") and w.isVisible()]
    print("AT_START", bool(shown), "sqlalchemy" in sys.modules, flush=True)
    start(self)

backend.Backend.start = start_and_look
app.make_application(["touchpoint"])
QTimer.singleShot(0, quit_once_loaded)
print("CODE", app.run(sys.argv[1], auto_backup=False))
print("AT_END", "sqlalchemy" in sys.modules)
"""
    out = _run_python(code, data_dir)
    assert "AT_START True False" in out
    assert "AT_END True" in out and "CODE 0" in out


def test_before_the_first_read_today_says_it_is_loading_not_that_nothing_is_due(
    qtbot: Any, ws: Workspace, backend: Backend, tmp_path: Path
) -> None:
    from touchpoint.ui.today_view import LOADING

    window = MainWindow(backend, _settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    card = window.today.overdue
    assert card.empty.text() == LOADING and window.status.sync_label.text() == ""
    qtbot.waitUntil(lambda: window.today.data is not None)
    assert card.empty.text() == "Nothing overdue. Every promise is on time."
    qtbot.waitUntil(lambda: window.status.state is not None)
    assert window.status.sync_label.text() == "Offline · sync not configured"


def test_today_counts_all_quiet_customers_when_it_lists_the_first(
    qtbot: Any, backend: Backend, ws: Workspace
) -> None:
    from touchpoint.services import insights
    from touchpoint.ui.today_view import TodayView

    for n in range(5):
        customers.create_customer(ws, {"name": f"Silent {n}", "status": "active"})
    view = TodayView(backend)
    qtbot.addWidget(view)
    data = insights.today(ws, quiet_limit=2)
    view._show(data)
    assert view.quiet.list.count() == 2
    assert view.quiet.title.text() == "Going quiet  (2 of 5)"
    assert "5 going quiet" in view.summary.text()


def test_today_counts_all_overdue_promises_when_it_lists_the_first(
    qtbot: Any, backend: Backend, ws: Workspace, monkeypatch: Any
) -> None:
    from touchpoint.services import insights
    from touchpoint.services.interactions import FollowUpInput, log_interaction
    from touchpoint.ui.today_view import TodayView

    monkeypatch.setattr(insights, "DUE_LIMIT", 2)
    acme = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    promises = [FollowUpInput(title=f"Late {n}", due=f"-{n}d") for n in range(1, 5)]
    log_interaction(ws, customer=acme.id, kind="call", followups=promises)
    view = TodayView(backend)
    qtbot.addWidget(view)
    view._show(insights.today(ws))
    assert view.overdue.list.count() == 2
    assert view.overdue.title.text() == "Overdue  (2 of 4)"
    assert view.summary.text().startswith("4 overdue · 0 due today")


def test_today_offers_a_meeting_from_the_calendar_to_log(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from touchpoint.services.meetings import import_meetings
    from touchpoint.storage.models import Interaction

    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.add_contact(ws, acme.id, {"name": "Jana Novak", "emails": ["jana@acme.de"]})
    ics = tmp_path / "cal.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        + "".join(
            f"BEGIN:VEVENT\r\nUID:m{n}\r\nSUMMARY:Talk {n}\r\nDTSTART:2026111{n}T140000Z\r\n"
            "DTEND:2026111{n}T150000Z\r\nATTENDEE:mailto:jana@acme.de\r\nEND:VEVENT\r\n".format(n=n)
            for n in (6, 7)
        )
        + "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    assert import_meetings(ws, ics).suggested == 2
    window = _window(qtbot, backend, tmp_path)
    today = window.today
    qtbot.waitUntil(today.meeting.isVisible)
    assert "You met Acme GmbH on Monday: log it? “Talk 6”" in today.meeting_text.text()
    assert "(1 more meeting to log)" in today.meeting_text.text()
    today.log_meeting.click()
    qtbot.waitUntil(lambda: "Talk 7" in today.meeting_text.text())
    assert "yesterday" in today.meeting_text.text()
    today.dismiss_meeting.click()
    qtbot.waitUntil(lambda: not today.meeting.isVisible())
    with ws.read() as session:
        logged = list(session.scalars(select(Interaction)))
    assert [(i.kind, i.subject) for i in logged] == [("meeting", "Talk 6")]
