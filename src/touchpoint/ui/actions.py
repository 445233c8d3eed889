"""Every command of the window, declared as data: id, text, shortcut, menu, handler.

The main window builds its menus and shortcuts from :data:`ACTIONS`; a handler is
the name of a method on the window. An action whose feature has not been built
(``requires`` names a module that is missing) is left out rather than shown dead.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    handler: str  # a method name of the main window
    shortcut: str | None = None
    menu: str = "File"
    icon: str | None = None
    requires: str | None = None  # a module the action needs

    def available(self) -> bool:
        if self.requires is None:
            return True
        try:
            return importlib.util.find_spec(self.requires) is not None
        except (ImportError, ValueError):
            return False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("search", "&Search…", "focus_search", "Ctrl+K", "Go", icon="search"),
    ActionSpec(
        "log",
        "&Log interaction…",
        "log_interaction",
        "Ctrl+L",
        "Customer",
        icon="log",
        requires="touchpoint.ui.log_dialog",
    ),
    ActionSpec("new_customer", "&New customer…", "new_customer", "Ctrl+N", "Customer"),
    ActionSpec("go.today", "&Today", "show_today", "Ctrl+1", "Go", icon="today"),
    ActionSpec("go.customers", "&Customers", "show_customers", "Ctrl+2", "Go", icon="customers"),
    ActionSpec(
        "go.followups",
        "&Follow-ups",
        "show_followups",
        "Ctrl+3",
        "Go",
        icon="followups",
        requires="touchpoint.ui.followups_view",
    ),
    ActionSpec(
        "go.activity",
        "&Activity",
        "show_activity",
        "Ctrl+4",
        "Go",
        icon="activity",
        requires="touchpoint.ui.activity_view",
    ),
    ActionSpec(
        "go.reports",
        "&Reports",
        "show_reports",
        "Ctrl+5",
        "Go",
        icon="reports",
        requires="touchpoint.ui.reports_view",
    ),
    ActionSpec("refresh", "&Refresh", "refresh", "F5", "Go"),
    ActionSpec("next_pane", "Next &pane", "next_pane", "F6", "Go"),
    ActionSpec("previous_pane", "Pre&vious pane", "previous_pane", "Shift+F6", "Go"),
    ActionSpec(
        "import", "&Import…", "open_import", "Ctrl+I", requires="touchpoint.ui.import_dialog"
    ),
    ActionSpec(
        "export", "&Export…", "open_export", "Ctrl+E", requires="touchpoint.ui.export_dialog"
    ),
    ActionSpec(
        "settings",
        "Se&ttings…",
        "open_settings",
        "Ctrl+,",
        requires="touchpoint.ui.settings_dialog",
    ),
    ActionSpec(
        "sign_in", "Sign &in to Hub…", "open_sign_in", requires="touchpoint.ui.sync_controller"
    ),
    ActionSpec(
        "sign_out", "Sign o&ut of Hub…", "sign_out", requires="touchpoint.ui.sync_controller"
    ),
    ActionSpec("sync_now", "S&ync now", "sync_now", "F9", requires="touchpoint.ui.sync_controller"),
    ActionSpec(
        "conflicts", "C&onflicts…", "open_conflicts", requires="touchpoint.ui.conflicts_view"
    ),
    ActionSpec(
        "rejected",
        "Changes &refused by the Hub…",
        "open_rejected",
        requires="touchpoint.ui.rejected_view",
    ),
    ActionSpec("quit", "&Quit", "quit_app", "Ctrl+Q"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "show_shortcuts", "Ctrl+/", "Help"),
    ActionSpec(
        "about",
        "&About Touchpoint",
        "open_about",
        None,
        "Help",
        requires="touchpoint.ui.about_dialog",
    ),
)

MENUS = ("File", "Customer", "Go", "Help")


def build_actions(
    window: QMainWindow, specs: tuple[ActionSpec, ...] = ACTIONS
) -> dict[str, QAction]:
    """Make a QAction per available spec, wired to its handler and placed in its menu."""
    from touchpoint.ui.theme import icon

    menus: dict[str, QMenu] = {name: window.menuBar().addMenu(f"&{name}") for name in MENUS}
    out: dict[str, QAction] = {}
    for spec in specs:
        if not spec.available():
            log.debug("action %s left out: %s is not installed", spec.id, spec.requires)
            continue
        handler = getattr(window, spec.handler, None)
        if handler is None:
            log.warning("action %s has no handler %s", spec.id, spec.handler)
            continue
        action = QAction(spec.text, window)
        action.setObjectName(f"action.{spec.id}")
        if spec.icon:
            action.setIcon(icon(spec.icon))
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
            # Show the shortcut in tooltips too, so it is discoverable.
            action.setToolTip(f"{spec.text.replace('&', '').rstrip('…')} ({spec.shortcut})")
        action.triggered.connect(lambda _checked=False, h=handler: h())
        menus[spec.menu].addAction(action)
        window.addAction(action)  # shortcuts work wherever the focus is in the window
        out[spec.id] = action
    for menu in menus.values():
        if menu.isEmpty():
            menu.menuAction().setVisible(False)
    return out
