"""The window's side of sync against a real Hub on 127.0.0.1 (SQLite)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from harness import PASSWORD, HubServer, Laptop

from touchpoint.services import customers
from touchpoint.services.sync_conflicts import list_conflicts
from touchpoint.ui.backend import Backend
from touchpoint.ui.conflicts_view import ConflictsDialog
from touchpoint.ui.sign_in_dialog import SignInDialog
from touchpoint.ui.status_bar import StatusBar
from touchpoint.ui.sync_controller import SyncController, ago_text, next_backoff


def settle(qtbot: Any, controller: SyncController, backend: Backend) -> None:
    qtbot.waitUntil(lambda: controller.idle and backend.pending == 0, timeout=15_000)


def hub_customer(hub: HubServer, customer_id: str) -> dict[str, Any]:
    return hub.state()[("customer", customer_id)]


def test_sign_in_sync_conflict_restore_and_offline(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path, clock: Any
) -> None:
    controller = SyncController(backend, debounce_ms=100, engine_options={"attempts": 1})
    status = StatusBar(backend)
    qtbot.addWidget(status)
    controller.status_changed.connect(lambda st: status.set_sync_note(st.text))
    results: list[Any] = []
    controller.finished.connect(results.append)

    # Signing in: a wrong password is said beside the password field.
    dialog = SignInDialog(controller)
    qtbot.addWidget(dialog)
    dialog.server.setText(hub.url)
    dialog.email.setText("maria@example.com")
    dialog.password.setText("wrong")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.errors["password"].isVisibleTo(dialog), timeout=10_000)
    assert dialog.errors["password"].text() == "The email or password is not right."
    assert dialog.password.text() == ""  # never kept
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(controller.finished, timeout=15_000):
        dialog.submit()  # signs in, then a first sync
    assert dialog.result() == SignInDialog.DialogCode.Accepted
    assert results[-1].status == "done"

    # A local change is synced shortly after, by the controller alone.
    made: list[Any] = []
    backend.write(lambda ws: customers.create_customer(ws, {"name": "Müller Bau GmbH"})).success(
        made.append
    ).run()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=15_000)
    settle(qtbot, controller, backend)
    cid = made[0].id
    assert results[-1].in_sync and results[-1].pushed >= 1
    assert hub_customer(hub, cid)["name"] == "Müller Bau GmbH"
    assert status.sync_label.text() == "Synced just now"
    assert ago_text(clock(), clock.advance(minutes=2)) == "Synced 2 min ago"

    # Two laptops edit the same field: the later edit (Ben's) wins, Maria's is listed.
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    try:
        assert ben.sync().in_sync
        clock.advance(minutes=1)
        backend.write(lambda ws: customers.edit_customer(ws, cid, {"industry": "roofing"})).run()
        settle(qtbot, controller, backend)
        clock.advance(minutes=1)
        customers.edit_customer(ben.ws, cid, {"industry": "plumbing"})
        assert ben.sync().in_sync
        controller.sync_now()
        settle(qtbot, controller, backend)
        assert results[-1].status == "conflicts"

        view = ConflictsDialog(backend)
        qtbot.addWidget(view)
        qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=10_000)
        assert [view.table.item(0, c).text() for c in range(4)] == [
            "Müller Bau GmbH",
            "Industry",
            "plumbing",
            "roofing",
        ]
        view.restore_selected()
        qtbot.waitUntil(lambda: view.table.rowCount() == 0, timeout=10_000)
        settle(qtbot, controller, backend)  # the restore is a local edit: it syncs too
        assert results[-1].in_sync
        assert hub_customer(hub, cid)["industry"] == "roofing"
        assert list_conflicts(backend.ws) == []
        assert ben.sync().in_sync
    finally:
        ben.close()

    # A stopped Hub: offline in words, with a reachability check planned.
    hub.stop()
    with qtbot.waitSignal(controller.finished, timeout=15_000):
        controller.sync_now()
    assert results[-1].status == "offline"
    assert status.sync_label.text() == "Offline, will retry"
    # The check waits a random time in the upper half of the first 30 s backoff.
    assert controller.retry_in_s is not None
    assert 15_000 <= controller._retry.interval() <= 30_000
    controller.stop()


def test_backoff_doubles_to_fifteen_minutes() -> None:
    waits = [next_backoff(None)]
    for _ in range(8):
        waits.append(next_backoff(waits[-1]))
    assert waits[:4] == [30, 60, 120, 240]
    assert waits[-1] == 900


def test_sign_in_fields_are_checked_before_any_network(qtbot: Any, backend: Backend) -> None:
    controller = SyncController(backend)
    dialog = SignInDialog(controller)
    qtbot.addWidget(dialog)
    dialog.server.setText("hub.example.com")
    dialog.submit()
    assert dialog.errors["server"].isVisibleTo(dialog)
    assert dialog.errors["email"].text() == "Enter your email address."
    assert dialog.ok.isEnabled()


def test_conflicts_on_a_laptop_that_never_synced_say_so(qtbot: Any, backend: Backend) -> None:
    view = ConflictsDialog(backend)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.empty.text().startswith("Not synced yet"), timeout=10_000)
    assert view.empty.isVisibleTo(view) and view.table.rowCount() == 0
    assert "every edit reached the Hub" not in view.empty.text()


def test_sign_in_refuses_plain_http_to_another_computer(
    qtbot: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller = SyncController(backend)
    sent: list[str] = []
    monkeypatch.setattr(controller, "sign_in", lambda server, *_a, **_kw: sent.append(server))
    dialog = SignInDialog(controller)
    qtbot.addWidget(dialog)
    dialog.email.setText("maria@example.com")
    dialog.password.setText("secret-password")
    dialog.server.setText("http://hub.example.com")
    dialog.submit()
    assert sent == [] and dialog.errors["server"].isVisibleTo(dialog)
    assert dialog.errors["server"].text() == (
        "This address is not encrypted (http://): your password and customer data would "
        "travel readable to hub.example.com. Use https://, or ask IT."
    )
    dialog.server.setText("http://localhost:8600")  # this computer: nothing travels
    dialog.submit()
    assert sent == ["http://localhost:8600"]


def _signed_in_window(qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path) -> Any:
    from PySide6.QtCore import QSettings

    from touchpoint.ui.main_window import MainWindow

    window = MainWindow(
        backend,
        QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
        reminders=False,
    )
    qtbot.addWidget(window)
    window.show()
    window._sync_start.stop()  # this test signs in and syncs itself
    assert window.sync is not None
    window.sync._engine_options = {"attempts": 1}
    signed: list[Any] = []
    with qtbot.waitSignal(window.sync.finished, timeout=15_000):
        window.sync.sign_in(hub.url, "maria@example.com", PASSWORD, signed.append)
    assert signed == [None]
    window.status.refresh()
    qtbot.waitUntil(lambda: window.status.state is not None and window.status.state.signed_in)
    return window


def _answer(qtbot: Any, window: Any, button_text: str) -> str:
    box = window.sign_out_box
    assert box is not None and box.isVisible()
    text = str(box.text())
    button = next(b for b in box.buttons() if b.text().replace("&", "") == button_text)
    button.click()
    return text


def test_sign_out_keeps_changes_not_yet_sent_for_the_next_sign_in(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path
) -> None:
    from touchpoint.sync import credentials

    window = _signed_in_window(qtbot, backend, hub, tmp_path)
    assert "Sign out of Hub…" in [
        a.text().replace("&", "") for a in window.status.sync_menu.actions() if a.isVisible()
    ]
    made: list[Any] = []
    backend.write(lambda ws: customers.create_customer(ws, {"name": "Bolt AG"})).success(
        made.append
    ).run()
    qtbot.waitUntil(lambda: bool(made))

    # Cancel changes nothing.
    window.actions_by_id["sign_out"].trigger()
    _answer(qtbot, window, "Cancel")
    assert credentials.load_token(hub.url, "maria@example.com")

    window.status.refresh()
    qtbot.waitUntil(lambda: window.status.state.unsynced >= 1)
    window.actions_by_id["sign_out"].trigger()
    text = _answer(qtbot, window, "Sign out")
    assert text.startswith("Sign out of maria@example.com at 127.0.0.1?")
    waiting = window.status.state.unsynced
    assert f"{waiting} change" in text and "on this laptop" in text and "next sign-in" in text
    qtbot.waitUntil(lambda: not window.status.state.signed_in, timeout=10_000)
    assert credentials.load_token(hub.url, "maria@example.com") is None
    assert window.status.sync_label.text() == "Signed out · maria@example.com at 127.0.0.1"
    assert window.status.unsynced_label.text().endswith("kept on this laptop")
    assert window.actions_by_id["sign_in"].isVisible()
    assert not window.actions_by_id["sign_out"].isVisible()
    assert ("customer", made[0].id) not in hub.state()  # not sent
    # A later edit does not try to sync while signed out.
    backend.write(lambda ws: customers.edit_customer(ws, made[0].id, {"industry": "tools"})).run()
    qtbot.wait(300)
    assert window.sync.idle

    # The next sign-in sends what waited.
    with qtbot.waitSignal(window.sync.finished, timeout=15_000):
        window.sync.sign_in(hub.url, "maria@example.com", PASSWORD, lambda _e: None)
    settle(qtbot, window.sync, backend)
    assert window.sync.last_result.in_sync
    assert hub_customer(hub, made[0].id)["industry"] == "tools"
    window.sync.stop()


def test_a_change_the_hub_refused_is_counted_listed_opened_and_dismissed(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path
) -> None:
    from touchpoint.storage.models import Customer

    window = _signed_in_window(qtbot, backend, hub, tmp_path)
    made: list[Any] = []
    backend.write(lambda ws: customers.create_customer(ws, {"name": "Müller Bau GmbH"})).success(
        made.append
    ).run()
    qtbot.waitUntil(lambda: bool(made))
    cid = made[0].id
    window.sync_now()
    settle(qtbot, window.sync, backend)

    def bad_name(ws: Any) -> None:  # what an older client might send: a name far too long
        with ws.unit_of_work() as uow:
            record = uow.session.get(Customer, cid)
            record.name = "x" * 300
            uow.commit()

    box: list[Any] = []
    backend.query(bad_name).success(box.append).run()
    qtbot.waitUntil(lambda: bool(box))
    window.sync_now()
    settle(qtbot, window.sync, backend)
    assert window.sync.last_result.rejected == 1
    assert not window.sync.last_result.in_sync  # refused: not on the Hub as typed
    status = window.status
    status.refresh()
    qtbot.waitUntil(lambda: status.state.rejected == 1)
    assert status.rejected_button.isVisible()
    assert status.rejected_button.text() == "1 change refused by the Hub"

    status.rejected_button.click()
    dialog = window.conflicts_dialog
    assert dialog is not None and dialog.tabs.currentWidget() is dialog.rejected
    view = dialog.rejected
    qtbot.waitUntil(lambda: view.table.rowCount() == 1)
    cells = [view.table.item(0, c).text() for c in range(5)]
    assert cells[:3] == ["Müller Bau GmbH", "name", "x" * 79 + "…"]  # the Hub's name is back
    assert "name" in cells[3]  # the Hub's reason names the field
    assert cells[4].startswith("today ")
    assert dialog.tabs.tabText(1) == "Refused by the Hub (1)"

    with qtbot.waitSignal(window.customer_opened):
        view.edit_button.click()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: window.customers.profile.name_label.text() == "Müller Bau GmbH")

    window.open_rejected()
    view = window.conflicts_dialog.rejected
    qtbot.waitUntil(lambda: view.table.rowCount() == 1)
    view.dismiss_button.click()
    qtbot.waitUntil(lambda: view.table.rowCount() == 0 and view.empty.isVisibleTo(view))
    qtbot.waitUntil(lambda: status.state.rejected == 0)
    assert not status.rejected_button.isVisible()
    window.sync_now()  # dismissed: the laptop is in sync again
    settle(qtbot, window.sync, backend)
    assert window.sync.last_result.in_sync
    window.conflicts_dialog.close()
    window.sync.stop()


def test_a_change_from_the_hub_set_aside_is_counted_and_listed_with_its_reason(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path
) -> None:
    import uuid

    from test_sync_set_aside import append, visit_fields

    window = _signed_in_window(qtbot, backend, hub, tmp_path)
    append(hub, "interaction", str(uuid.uuid4()), visit_fields(str(uuid.uuid4())))
    window.sync_now()
    settle(qtbot, window.sync, backend)
    assert window.sync.last_result.set_aside == 1
    status = window.status
    status.refresh()
    qtbot.waitUntil(lambda: status.state.set_aside == 1)
    assert status.rejected_button.isVisible()
    assert status.rejected_button.text() == "1 from the Hub set aside"
    status.rejected_button.click()
    dialog = window.conflicts_dialog
    assert dialog is not None and dialog.tabs.currentWidget() is dialog.set_aside
    view = dialog.set_aside
    qtbot.waitUntil(lambda: view.table.rowCount() == 1)
    assert view.table.item(0, 0).text().startswith("interaction ")
    assert "is not on this laptop" in view.table.item(0, 1).text()
    assert dialog.tabs.tabText(2) == "Set aside (1)"
    dialog.close()
    window.sync.stop()


def test_a_big_first_sync_is_indexed_for_search_after_it_with_its_progress_shown(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path, clock: Any, *, monkeypatch: Any
) -> None:
    from touchpoint.services import search
    from touchpoint.sync import first_sync

    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    try:
        for i in range(12):
            customers.create_customer(ben.ws, {"name": f"Hafenkran {i} GmbH"})
        assert ben.sync().in_sync
    finally:
        ben.close()
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 3)  # twelve new records are a big pull
    controller = SyncController(backend, debounce_ms=100, engine_options={"attempts": 1})
    texts: list[str] = []
    controller.status_changed.connect(lambda st: texts.append(st.text))
    signed: list[Any] = []
    with qtbot.waitSignal(controller.finished, timeout=15_000) as finished:
        controller.sign_in(hub.url, "maria@example.com", PASSWORD, signed.append)
    assert signed == [None] and finished.args[0].status == "done"
    assert any(t.startswith("Indexing for search…") for t in texts), texts
    assert search.index_backlog(backend.ws) == 0
    hits = search.search(backend.ws, "Hafenkran")
    assert sorted(h.title for h in hits if h.entity == "customer") == sorted(
        f"{search.MARK_START}Hafenkran{search.MARK_END} {i} GmbH" for i in range(12)
    )
    controller.stop()


def test_records_left_unindexed_are_indexed_at_start_when_signed_out(
    qtbot: Any, backend: Backend
) -> None:
    from touchpoint.services import search
    from touchpoint.storage import search_index

    with backend.ws.db.engine.begin() as conn, search_index.bulk_insert(conn, defer=True):
        pass  # as a big pull leaves it: new documents wait for the catch-up
    customers.create_customer(backend.ws, {"name": "Nachzügler Spedition"})
    assert search.index_backlog(backend.ws) == 1
    controller = SyncController(backend)
    controller.start()  # never signed in on this laptop
    qtbot.waitUntil(lambda: search.index_backlog(backend.ws) == 0, timeout=10_000)
    assert [h.entity for h in search.search(backend.ws, "nachzugler")] == ["customer"]
    assert controller.status.state == "not_signed_in"
    controller.stop()
