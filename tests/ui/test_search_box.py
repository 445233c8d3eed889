"""Global search: as you type, grouped and highlighted, Enter opens the hit's customer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from touchpoint.services import customers
from touchpoint.services.interactions import log_interaction
from touchpoint.services.search import MARK_END, MARK_START, SearchHit
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow
from touchpoint.ui.search_box import HIT_ROLE, highlighted
from touchpoint.ui.widgets.html_delegate import HTML_ROLE


def _window(qtbot: Any, backend: Backend, tmp_path: Any) -> MainWindow:
    from PySide6.QtCore import QSettings

    window = MainWindow(backend, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_word_from_a_note_finds_and_opens_its_customer(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Any
) -> None:
    customers.create_customer(ws, {"name": "Aachen Tools"})
    acme = customers.create_customer(ws, {"name": "Acme GmbH"}).value
    customers.create_customer(ws, {"name": "Bolt AG"})
    log_interaction(
        ws, customer=acme.id, kind="visit", notes="They want the forklift quote by Friday"
    )
    window = _window(qtbot, backend, tmp_path)
    idle()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    with qtbot.waitSignal(window.search.results_ready, timeout=5000):
        qtbot.keyClicks(window.search, "forkl")
    qtbot.waitUntil(lambda: window.search.text() == "forkl" and backend.pending == 0)
    model = window.search.popup.model
    texts = [str(model.index(r, 0).data(HTML_ROLE)) for r in range(model.rowCount())]
    assert any("NOTES AND FEEDBACK" in t for t in texts)
    assert any("<b>forklift</b>" in t for t in texts)  # the matched word is highlighted
    assert window.search.popup.isVisible()
    with qtbot.waitSignal(window.customer_opened) as opened:
        qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert opened.args == [acme.id]
    qtbot.waitUntil(lambda: window.customers.profile.name_label.text() == "Acme GmbH")
    assert window.current_page == "customers"
    assert not window.search.popup.isVisible()
    assert window.search.text() == ""  # ready for the next search
    qtbot.waitUntil(lambda: window.customers.list.table.currentIndex().row() == 1)


def test_arrows_choose_among_hits_across_groups(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Any
) -> None:
    acme = customers.create_customer(ws, {"name": "Nordwind Acme"}).value
    bolt = customers.create_customer(ws, {"name": "Bolt AG"}).value
    log_interaction(ws, customer=bolt.id, kind="call", notes="Nordwind is their competitor")
    window = _window(qtbot, backend, tmp_path)
    idle()
    window.search.setFocus()
    with qtbot.waitSignal(window.search.results_ready, timeout=5000):
        qtbot.keyClicks(window.search, "nordwind")
    idle()
    hits = [window.search.popup.model.index(r, 0).data(HIT_ROLE) for r in range(6)]
    hits = [h for h in hits if h is not None]
    assert [h.entity for h in hits] == ["customer", "interaction"]  # Customers group first
    qtbot.keyClick(window.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.customer_opened) as opened:
        qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert opened.args == [bolt.id]
    assert acme.id != bolt.id


def test_an_older_search_never_overwrites_newer_results(
    qtbot: Any, backend: Backend, tmp_path: Any
) -> None:
    window = _window(qtbot, backend, tmp_path)
    box = window.search

    def hit(name: str) -> SearchHit:
        return SearchHit("customer", name, name, name, f"{MARK_START}{name}{MARK_END}", "", 1.0)

    box._generation = 2
    box._show(2, "new", [hit("Newer")])
    box._show(1, "old", [hit("Older")])  # the slower, older search lands last
    assert [h.record_id for h in box.hits] == ["Newer"]


def test_nothing_found_says_so_and_marks_are_escaped(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Any
) -> None:
    assert highlighted(f"<script> {MARK_START}acme{MARK_END}") == "&lt;script&gt; <b>acme</b>"
    window = _window(qtbot, backend, tmp_path)
    window.search.setFocus()
    with qtbot.waitSignal(window.search.results_ready, timeout=5000) as ready:
        qtbot.keyClicks(window.search, "zzzz")
    idle()
    assert ready.args == [0] or window.search.hits == []
    text = str(window.search.popup.model.index(0, 0).data(HTML_ROLE))
    assert "Nothing matches" in text
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert not window.search.popup.isVisible()


def test_results_say_when_records_from_a_big_pull_are_still_being_indexed(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Any
) -> None:
    from touchpoint.storage import search_index

    customers.create_customer(ws, {"name": "Hafen Logistik"})
    with ws.db.engine.begin() as conn, search_index.bulk_insert(conn, defer=True):
        pass  # as a big pull leaves it: new documents wait for the catch-up
    customers.create_customer(ws, {"name": "Hafenkran Service"})
    window = _window(qtbot, backend, tmp_path)
    window._sync_start.stop()  # no start-up catch-up in this test
    idle()

    def shown(text: str) -> list[str]:
        with qtbot.waitSignal(window.search.results_ready, timeout=5000):
            window.search.setText(text)
            window.search._start_search()
        model = window.search.popup.model
        return [str(model.index(r, 0).data(HTML_ROLE)) for r in range(model.rowCount())]

    rows = shown("hafen")
    assert any("<b>Hafen</b> Logistik" in r for r in rows)
    assert not any("Hafenkran" in r for r in rows)  # not indexed yet
    assert "still being indexed for search" in rows[0]

    from touchpoint.services.search import catch_up_index

    assert catch_up_index(ws)
    rows = shown("hafenk")
    assert any("<b>Hafenkran</b> Service" in r for r in rows)
    assert not any("still being indexed" in r for r in rows)
