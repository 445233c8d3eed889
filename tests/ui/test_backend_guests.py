"""The window uses its database from one thread at a time: a sync cycle is a guest of the
Backend's database thread, its reads and writes taking their turn in the Backend's queue."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from harness import PASSWORD, HubServer, Laptop

from touchpoint.services import customers
from touchpoint.storage.models import Customer
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.sync_controller import SyncController


def names(ws: Workspace) -> set[str]:
    with ws.read() as session:
        return set(session.scalars(select(Customer.name)))


class Overlaps:
    """Each time a thread takes a connection while another thread holds one."""

    def __init__(self, ws: Workspace) -> None:
        self.lock = threading.Lock()
        self.holding: dict[int, int] = {}  # thread id: connections held
        self.found: list[str] = []
        self.threads: set[str] = set()
        engine = ws.db.engine
        # Checked in before the turn is handed back (insert=True): else the next holder
        # could take its connection before this saw the last one go.
        event.listen(engine, "checkout", self.taken)
        event.listen(engine, "checkin", self.returned, insert=True)
        self.engine = engine

    def taken(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        me = threading.get_ident()
        with self.lock:
            others = [t for t, n in self.holding.items() if n and t != me]
            if others:
                self.found.append(f"{threading.current_thread().name} beside {others}")
            self.holding[me] = self.holding.get(me, 0) + 1
            self.threads.add(threading.current_thread().name)
            record.info["overlap_thread"] = me

    def returned(self, _dbapi: Any, record: Any) -> None:
        with self.lock:
            me = record.info.pop("overlap_thread", None)
            if me is not None:
                self.holding[me] -= 1

    def remove(self) -> None:
        event.remove(self.engine, "checkout", self.taken)
        event.remove(self.engine, "checkin", self.returned)


def test_a_guest_thread_uses_the_database_in_its_turn_between_the_backend_s_ops(
    qtbot: Any, backend: Backend
) -> None:
    order: list[str] = []
    release = threading.Event()

    def first(ws: Workspace) -> Any:
        release.wait(10)
        order.append("first op")
        return customers.create_customer(ws, {"name": "Erste Spedition"})

    backend.write(first).run()
    qtbot.waitUntil(lambda: backend._queue.qsize() == 0)  # the first op is under way

    def guest() -> None:
        with backend.guest():
            customers.create_customer(backend.ws, {"name": "Gast Logistik"})
            order.append("guest")

    thread = threading.Thread(target=guest, name="a-guest")
    thread.start()
    qtbot.waitUntil(lambda: backend._queue.qsize() == 1)  # the guest waits for its turn
    backend.write(
        lambda ws: (order.append("second op"), customers.create_customer(ws, {"name": "Zweite"}))[1]
    ).run()
    release.set()
    thread.join(10)
    qtbot.waitUntil(lambda: backend.pending == 0)
    assert order == ["first op", "guest", "second op"]
    assert names(backend.ws) >= {
        "Erste Spedition",
        "Gast Logistik",
        "Zweite",
    }


def test_a_sync_cycle_never_uses_the_database_beside_the_window_s_own_work(
    qtbot: Any, backend: Backend, hub: HubServer, tmp_path: Path, clock: Any
) -> None:
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    try:
        for i in range(40):
            customers.create_customer(ben.ws, {"name": f"Hafenkran {i} GmbH"})
        assert ben.sync().in_sync
    finally:
        ben.close()
    watch = Overlaps(backend.ws)
    controller = SyncController(backend, debounce_ms=50, engine_options={"attempts": 1})
    results: list[Any] = []
    controller.finished.connect(results.append)
    signed: list[Any] = []
    made: list[Any] = []
    try:
        controller.sign_in(hub.url, "maria@example.com", PASSWORD, signed.append)
        # The rep works while the first sync runs: saves and reads on the Backend's thread.
        for i in range(20):
            backend.write(
                lambda ws, i=i: customers.create_customer(ws, {"name": f"Eigen {i}"})
            ).success(made.append).run()
            backend.query(names).run()
        qtbot.waitUntil(
            lambda: any(r.in_sync for r in results) and controller.idle and backend.pending == 0,
            timeout=30_000,
        )
    finally:
        controller.stop()
        watch.remove()
    assert signed == [None] and results[-1].in_sync
    assert watch.found == []
    assert {"touchpoint-db", "touchpoint-sync"} <= watch.threads  # both used it, in turn
    # And the work of both is there: the Hub's customers and the rep's own, sent.
    found = names(backend.ws)
    assert {f"Hafenkran {i} GmbH" for i in range(40)} <= found
    assert {f"Eigen {i}" for i in range(20)} <= found
    assert len(made) == 20
