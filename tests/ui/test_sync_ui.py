"""The window's side of sync against a real Hub on 127.0.0.1 (SQLite)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from harness import PASSWORD, HubServer, Laptop, start_hub

from touchpoint.services import customers
from touchpoint.services.sync_conflicts import list_conflicts
from touchpoint.ui.backend import Backend
from touchpoint.ui.conflicts_view import ConflictsDialog
from touchpoint.ui.sign_in_dialog import SignInDialog
from touchpoint.ui.status_bar import StatusBar
from touchpoint.ui.sync_controller import SyncController, ago_text, next_backoff


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub("sqlite", tmp_path)
    server.add_user("maria@example.com")
    server.add_user("ben@example.com")
    yield server
    stop()


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
            "industry",
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
    assert controller.retry_in_s is not None and 14 <= controller.retry_in_s <= 30
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
