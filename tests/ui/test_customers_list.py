"""The customer list: lazy blocks from SQL, filters and sorting, opening a customer."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from touchpoint.services import customers
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.customer_list_model import BLOCK, ID_ROLE
from touchpoint.ui.customers_view import CustomersView

BIG = 25_000


def insert_customers(data_dir: Path, n: int) -> None:
    """A big customer table in one raw transaction (the services are tested elsewhere)."""
    now = "2026-11-01T08:00:00.000000Z"
    statuses = ("active", "prospect", "former")
    rows = [
        (
            str(uuid.UUID(int=i + 1)),
            f"Customer {i:06d}",
            "organisation",
            statuses[i % 3],
            f"Territory {i % 7}",
            "maria@example.com",
            now,
        )
        for i in range(n)
    ]
    conn = sqlite3.connect(data_dir / "touchpoint.sqlite3")
    with conn:
        conn.executemany(
            "INSERT INTO customers (id, name, kind, status, territory, owner, addresses,"
            " phones, emails, tags, custom, currency, created_at, created_by, updated_at,"
            " updated_by) VALUES (?, ?, ?, ?, ?, ?, '[]', '[]', '[]', '[]', '{}', 'EUR', ?,"
            " 'test', ?7, 'test')",
            rows,
        )
    conn.close()


@pytest.fixture
def big(data_dir: Path) -> Path:
    insert_customers(data_dir, BIG)
    return data_dir


def _view(qtbot: Any, backend: Backend) -> CustomersView:
    view = CustomersView(backend)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 and backend.pending == 0, timeout=10_000)
    return view


def test_scrolling_a_big_list_fetches_only_the_blocks_in_view(
    qtbot: Any, big: Path, backend: Backend, idle: Any
) -> None:
    view = _view(qtbot, backend)
    model = view.model
    assert model.rowCount() == BIG  # the count comes from SQL
    qtbot.waitUntil(lambda: model.fetched_rows > 0)
    idle()
    assert model.fetched_blocks == [0]
    first = model.index(0, 0).data()
    assert first == "Customer 000000"

    # Jump to the middle, then to the end, as a scrollbar drag does.
    for target in (BIG // 2, BIG - 1):
        view.table.scrollTo(model.index(target, 0))
        view.table.viewport().repaint()
        qtbot.waitUntil(lambda t=target: model.index(t, 0).data() == f"Customer {t:06d}")
        idle()
    # Only the blocks that were painted were read: a handful of blocks, never the table.
    assert set(model.fetched_blocks) <= {
        0,
        *range((BIG // 2) // BLOCK - 1, (BIG // 2) // BLOCK + 2),
        *range((BIG - 1) // BLOCK - 1, (BIG - 1) // BLOCK + 1),
    }
    assert model.fetched_rows <= 6 * BLOCK
    assert model.cached_rows < BIG


def test_filters_and_sort_run_in_sql(qtbot: Any, big: Path, backend: Backend, idle: Any) -> None:
    view = _view(qtbot, backend)
    model = view.model
    qtbot.waitUntil(lambda: view.status.count() > 1)  # the choices arrived
    view.status.setCurrentIndex(view.status.findData("former"))
    qtbot.waitUntil(lambda: model.rowCount() == BIG // 3)
    view.territory.setCurrentIndex(view.territory.findData("Territory 2"))
    qtbot.waitUntil(lambda: model.query.territory == "Territory 2" and backend.pending == 0)
    expected = sum(1 for i in range(BIG) if i % 3 == 2 and i % 7 == 2)
    assert model.rowCount() == expected
    assert view.count_label.text() == f"{expected:,} customers"
    view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: model.query.descending and backend.pending == 0)
    qtbot.waitUntil(lambda: model.index(0, 0).data() not in (None, "Loading…"))
    top = max(i for i in range(BIG) if i % 3 == 2 and i % 7 == 2)
    assert model.index(0, 0).data() == f"Customer {top:06d}"


def test_typing_in_the_filter_narrows_the_list(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    for name in ("Acme GmbH", "Bolt AG", "Acme Logistics"):
        customers.create_customer(ws, {"name": name})
    view = _view(qtbot, backend)
    assert view.model.rowCount() == 3
    qtbot.keyClicks(view.filter_text, "acme")
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    qtbot.waitUntil(lambda: view.model.index(1, 0).data() == "Acme Logistics")


def test_enter_on_a_row_opens_its_customer(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    view = _view(qtbot, backend)
    qtbot.waitUntil(lambda: view.model.index(0, 0).data(ID_ROLE) == acme.id)
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))
    with qtbot.waitSignal(view.open_customer) as opened:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert opened.args == [acme.id]


def test_a_write_elsewhere_refreshes_the_list(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    customers.create_customer(ws, {"name": "Acme GmbH"})
    view = _view(qtbot, backend)
    assert view.model.rowCount() == 1
    backend.write(lambda w: customers.create_customer(w, {"name": "Bolt AG"})).run()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)


def test_a_block_scrolled_past_before_its_turn_is_not_read(
    qtbot: Any, big: Path, backend: Backend, idle: Any
) -> None:
    """A drag past the middle to the end: the middle's block, asked for on the way, is
    not read once out of view; the end's is, and the middle's is when back in view."""
    import threading

    view = _view(qtbot, backend)
    model = view.model
    qtbot.waitUntil(lambda: model.index(0, 0).data() == "Customer 000000")
    idle()
    gate = threading.Event()
    backend.query(lambda _ws: gate.wait(10)).run()  # the database thread is busy a while
    middle, end = BIG // 2, BIG - 1
    for target in (middle, end):
        view.table.scrollTo(model.index(target, 0))
        view.table.viewport().repaint()
        QApplication.processEvents()  # the blocks in view are asked for
    assert middle // BLOCK in model._in_flight  # asked for while it was in view
    gate.set()
    qtbot.waitUntil(lambda: model.index(end, 0).data() == f"Customer {end:06d}")
    idle()
    assert end // BLOCK in model.fetched_blocks
    assert middle // BLOCK not in model.fetched_blocks
    view.table.scrollTo(model.index(middle, 0))
    view.table.viewport().repaint()
    qtbot.waitUntil(lambda: model.index(middle, 0).data() == f"Customer {middle:06d}")


def test_scrolling_the_list_holds_a_full_garbage_collection_back(
    qtbot: Any, big: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from touchpoint.ui import gc_guard

    view = _view(qtbot, backend)
    monkeypatch.setattr(gc_guard.activity, "last", float("-inf"))
    assert gc_guard.idle_for() > gc_guard.IDLE_BEFORE_FULL_S
    bar = view.table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    assert gc_guard.idle_for() < gc_guard.IDLE_BEFORE_FULL_S
    # The rows scrolled to land later (a slow read): still part of the scroll.
    monkeypatch.setattr(gc_guard.activity, "last", float("-inf"))
    middle = bar.maximum() // 2
    qtbot.waitUntil(lambda: view.model.row_at(middle) is not None, timeout=10_000)
    assert gc_guard.idle_for() < gc_guard.IDLE_BEFORE_FULL_S
