"""The window from the keyboard: F6 between panes, Tab out of tables, shortcuts from
any focus, the list of shortcuts, the list following the customer in view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget

from touchpoint.services import customers
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.main_window import MainWindow


def _window(qtbot: Any, backend: Backend, tmp_path: Path) -> MainWindow:
    window = MainWindow(
        backend, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), reminders=False
    )
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def _dialog(name: str) -> QWidget | None:
    return next(
        (w for w in QApplication.topLevelWidgets() if w.isVisible() and type(w).__name__ == name),
        None,
    )


def _book(ws: Workspace) -> list[str]:
    ids = []
    for name in ("Acme GmbH", "Brunner AG", "Carter Ltd", "Dupont SARL"):
        c = customers.create_customer(ws, {"name": name, "status": "active"}).value
        ids.append(c.id)
    log_interaction(
        ws, customer=ids[2], kind="call", followups=[FollowUpInput("Send the quote", "-1d")]
    )
    return ids


def test_ctrl_e_exports_while_the_search_box_has_the_focus(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    window.focus_search()
    assert QApplication.focusWidget() is window.search
    qtbot.keyClick(window.search, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _dialog("ExportDialog") is not None)
    dialog = _dialog("ExportDialog")
    assert dialog is not None
    dialog.close()
    idle()
    # Typing in the box still types.
    window.focus_search()
    qtbot.keyClicks(window.search, "acme")
    assert window.search.text() == "acme"
    window.close()


def test_f6_cycles_the_panes_and_tab_leaves_the_customer_list(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    ids = _book(ws)
    window = _window(qtbot, backend, tmp_path)
    window.open_customer(ids[0])
    profile = window.customers.profile
    qtbot.waitUntil(lambda: profile.data is not None)
    idle()
    window.focus_search()

    def holder() -> QWidget:
        focused = QApplication.focusWidget()
        assert focused is not None
        return next(p for p in window.panes() if p is focused or p.isAncestorOf(focused))

    order = []
    for _ in range(len(window.panes())):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
        order.append(holder())
    table = window.customers.list.table
    assert order == [table, profile.facts_pane, profile.tabs, window.rail, window.search]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert holder() is window.rail

    # Tab and Shift+Tab leave the table (they do not walk its cells).
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is not table
    window.close()


def test_ctrl_slash_lists_every_shortcut_from_the_actions(
    qtbot: Any, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, backend, tmp_path)
    window.show_followups()  # a page with keys of its own
    idle()
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier
    )
    qtbot.waitUntil(lambda: _dialog("ShortcutsDialog") is not None)
    dialog: Any = _dialog("ShortcutsDialog")
    listed = {
        (dialog.tree.topLevelItem(n).text(1), dialog.tree.topLevelItem(n).text(2))
        for n in range(dialog.tree.topLevelItemCount())
    }
    for action in window.actions_by_id.values():
        if not action.shortcut().isEmpty():
            keys = action.shortcut().toString()
            assert any(k == keys for _t, k in listed), f"{action.text()} ({keys}) not listed"
    assert ("Done", "Ctrl+D") in listed  # the Follow-ups page's own action
    dialog.close()
    window.close()


def test_a_customer_opened_from_today_is_the_one_selected_in_the_list(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any, tmp_path: Path
) -> None:
    ids = _book(ws)
    window = _window(qtbot, backend, tmp_path)
    window.show_customers()
    idle()
    table = window.customers.list.table
    qtbot.waitUntil(lambda: table.model().rowCount() == 4)
    window.customers.list.focus_list()
    assert table.currentIndex().row() == 0  # Acme
    window.show_today()
    qtbot.waitUntil(lambda: window.today.overdue.list.count() == 1)
    window.today.overdue.list.itemActivated.emit(window.today.overdue.list.item(0))
    idle()
    qtbot.waitUntil(lambda: table.currentIndex().row() == 2)  # Carter Ltd
    assert window.customers.profile.customer_id == ids[2]
    window.close()
