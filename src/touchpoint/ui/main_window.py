"""The main window: navigation rail, global search, stacked pages, status bar.

It is the composition root of the window: it makes the views, passes each the
Backend, and connects their ``open_customer`` signals to :meth:`open_customer`.
Pages other than Today and the dialogs are imported where they are first built, so
the first paint does not wait for their modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QScrollBar,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from touchpoint.ui import gc_guard
from touchpoint.ui.actions import build_actions
from touchpoint.ui.backend import Backend
from touchpoint.ui.dropped_files import dropped_files
from touchpoint.ui.search_box import SearchBox
from touchpoint.ui.startup import SYNC_START_DELAY_MS, SYNC_START_PAUSE_S
from touchpoint.ui.status_bar import StatusBar
from touchpoint.ui.sync_controller import SyncController
from touchpoint.ui.theme import app_icon, icon
from touchpoint.ui.today_view import TodayPrefetch, TodayView
from touchpoint.ui.undo_bar import UndoBar

if TYPE_CHECKING:
    from touchpoint.storage.workspace import Changes
    from touchpoint.ui.email_drop import EmailDrop

log = logging.getLogger(__name__)
EMAILS_RESULT_SECONDS = 12  # a drop's result stays a little longer than a delete's undo
LIST_MIN_WIDTH = 460  # the customer list's default columns fit without a scroll
CLOSE_WITHOUT_TRAY_OK = "window/close_without_tray_ok"
CLOSE_QUESTION = "Close Touchpoint? Follow-up reminders stop until you start it again."
PAGE_MIN_WIDTH, PAGE_MIN_HEIGHT = 900, 420


def sign_out_question(state: Any) -> str:
    """The confirmation's words: what signing out does to changes not yet sent."""
    n = state.unsynced
    waiting = (
        "Every change has reached the Hub."
        if n == 0
        else f"{n:,} change{'s' if n != 1 else ''} not yet sent to the Hub "
        f"{'stay' if n != 1 else 'stays'} on this laptop and "
        f"{'go' if n != 1 else 'goes'} to the Hub at your next sign-in."
    )
    return f"Sign out of {state.account}?\n\n{waiting}"


class NavRail(QFrame):
    """The column of page buttons on the left."""

    page_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavRail")
        self.setAccessibleName("Navigation")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 10, 6, 10)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}

    def add_page(self, key: str, text: str, icon_name: str, shortcut: str) -> None:
        button = QToolButton(self)
        button.setText(text)
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(24, 24))
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setToolTip(f"{text} ({shortcut})")
        button.setAccessibleName(text)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.clicked.connect(lambda: self.page_chosen.emit(key))
        self._group.addButton(button)
        self._layout.insertWidget(self._layout.count() - 1, button)
        self.buttons[key] = button

    def select(self, key: str) -> None:
        if key in self.buttons:
            self.buttons[key].setChecked(True)


class _Placeholder(QWidget):
    """Holds a page's place in the stack until it is first shown."""


def _holds(pane: QWidget, focused: QWidget | None) -> bool:
    return focused is not None and (pane is focused or pane.isAncestorOf(focused))


def focus_into(pane: QWidget) -> bool:
    """Focus a pane: itself when it takes focus, else its first control that does (its
    current button for the rail). False when nothing in it can."""
    if not pane.isVisible() or not pane.isEnabled():
        return False
    candidates = [pane, *pane.findChildren(QWidget)]
    checked = [w for w in candidates if isinstance(w, QToolButton) and w.isChecked()]
    for widget in [*checked, *candidates]:
        if (
            widget.isVisible()
            and widget.isEnabled()
            and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and not isinstance(widget, (QScrollBar, QScrollArea))
        ):
            widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
    return False


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(where, command, keys) for every action of the window with a shortcut: the menus'
    first, then the pages' own (Done in Follow-ups...)."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None or not menu_action.isVisible():
            continue
        for action in menu.actions():
            seen.add(id(action))
            if not action.shortcut().isEmpty():
                rows.append(
                    (
                        menu_action.text().replace("&", ""),
                        action.text().replace("&", "").rstrip("…"),
                        action.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
                    )
                )
    pages = getattr(window, "pages", {})
    for key, page in pages.items():
        for action in page.findChildren(QAction):
            if id(action) in seen or action.shortcut().isEmpty():
                continue
            seen.add(id(action))
            text = action.text().replace("&", "").split("  (")[0].rstrip("…")
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            rows.append((key.capitalize().replace("Followups", "Follow-ups"), text, keys))
    return rows


def _followups_page(backend: Backend, parent: QWidget) -> QWidget:
    from touchpoint.ui.followups_view import FollowUpsView

    return FollowUpsView(backend, parent)


def _activity_page(backend: Backend, parent: QWidget) -> QWidget:
    from touchpoint.ui.activity_view import ActivityView

    return ActivityView(backend, parent)


def _reports_page(backend: Backend, parent: QWidget) -> QWidget:
    from touchpoint.ui.reports_view import ReportsView  # charts and reports: only when shown

    return ReportsView(backend, parent)


PageFactory = Callable[[Backend, QWidget], QWidget]
# Pages built on first show: key, rail text, shortcut, how to build it (None: Customers,
# which the window builds itself).
LAZY_PAGES: tuple[tuple[str, str, str, PageFactory | None], ...] = (
    ("customers", "Customers", "Ctrl+2", None),
    ("followups", "Follow-ups", "Ctrl+3", _followups_page),
    ("activity", "Activity", "Ctrl+4", _activity_page),
    ("reports", "Reports", "Ctrl+5", _reports_page),
)


class CustomersPage(QSplitter):
    """The customer list beside the profile of the customer in view."""

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        from touchpoint.ui.customers_view import CustomersView
        from touchpoint.ui.profile_view import ProfileView

        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("CustomersSplitter")
        self.list = CustomersView(backend, self)
        self.profile = ProfileView(backend, self)
        self.addWidget(self.list)
        self.addWidget(self.profile)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 3)
        self.setChildrenCollapsible(False)
        self.default_sizes = False  # True until sizes saved or set are applied

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        width = event.size().width()
        if self.default_sizes and width > 0:
            # The list's default columns without a scroll (at least 460 px), the profile
            # the rest: side by side from about 1280 px, stacked below (it reflows).
            self.default_sizes = False
            listed = min(max(LIST_MIN_WIDTH, int(width * 0.4)), max(width - 420, 200))
            self.setSizes([listed, width - listed])

    def panes(self) -> list[QWidget]:
        """F6 stops: the list, then the profile's facts and its timeline tabs."""
        return [self.list.table, *self.profile.panes()]


class MainWindow(QMainWindow):
    customer_opened = Signal(str)

    def __init__(
        self,
        backend: Backend,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        today_prefetch: TodayPrefetch | None = None,
        reminders: bool = True,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        backend.set_error_parent(self)
        self.settings = settings or QSettings()
        self.setWindowTitle("Touchpoint")
        self.setWindowIcon(app_icon())
        self.pages: dict[str, QWidget] = {}  # what the stack holds: a page, or its placeholder
        self._factories: dict[str, PageFactory | None] = {}  # pages not built yet
        self._customers: CustomersPage | None = None

        central = QWidget(self)
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.rail = NavRail(central)
        outer.addWidget(self.rail)
        right = QWidget(central)
        column = QVBoxLayout(right)
        column.setContentsMargins(12, 10, 12, 6)
        column.setSpacing(8)
        top = QHBoxLayout()
        self.search = SearchBox(backend, self)
        top.addWidget(self.search, 1)
        self.log_button = QToolButton(right)
        self.log_button.setText("Log interaction (Ctrl+L)")
        self.log_button.setIcon(icon("log"))
        self.log_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.log_button.setAccessibleName("Log interaction")
        self.log_button.clicked.connect(self.log_interaction)
        top.addWidget(self.log_button)
        column.addLayout(top)
        self.stack = QStackedWidget(right)
        # Room for the largest page (Customers, Reports) from the start: pages are built
        # on first show, and the window must not change its minimum size when they are.
        self.stack.setMinimumSize(PAGE_MIN_WIDTH, PAGE_MIN_HEIGHT)
        column.addWidget(self.stack, 1)
        self.undo_bar: UndoBar | None = UndoBar(right)
        column.addWidget(self.undo_bar)
        outer.addWidget(right, 1)
        self.setCentralWidget(central)

        self.today = TodayView(backend, self)
        self.today.followups_requested.connect(self.show_followups)
        # Ask for Today first: the database works on it while the rest of the window is built.
        if str(self.settings.value("window/page", "today")) == "today":
            self.today.refresh(today_prefetch)
        self._add_page("today", "Today", "today", "Ctrl+1", self.today)
        # The other pages are built the first time they are shown: they are not needed
        # for the first paint, and some bring heavy modules (charts, reports) with them.
        for key, text, shortcut, factory in LAZY_PAGES:
            self._add_page(key, text, key, shortcut, _Placeholder(self.stack))
            self._factories[key] = factory
        self._last_customer: str | None = None
        self.rail.page_chosen.connect(self.show_page)
        self.search.open_hit.connect(self._open_hit)

        self.status = StatusBar(backend, self)
        self.setStatusBar(self.status)
        self.sync: SyncController | None = SyncController(backend, self)
        if self.sync is not None:
            self.sync.status_changed.connect(self.status.set_sync_status)
            self.sync.pulled.connect(self.refresh)
            self.sync.sign_in_requested.connect(self.open_sign_in)
            self.sync.watch_click(self.status.sync_label)
        self.sign_out_box: QMessageBox | None = None
        # Without a system tray, closing the window quits and reminders stop: the app
        # (which knows) sets this, and closing says so first.
        self.ask_before_close = False
        self.close_box: QMessageBox | None = None
        self._close_confirmed = False
        self._sync_start = QTimer(self)
        self._sync_start.setSingleShot(True)
        self._sync_start.setInterval(SYNC_START_DELAY_MS)
        self._sync_start.timeout.connect(self._start_sync)
        self.conflicts_dialog: QWidget | None = None
        self.actions_by_id: dict[str, QAction] = build_actions(self)
        if "log" not in self.actions_by_id:
            self.log_button.hide()
        self.status.set_sync_actions(
            self.actions_by_id[key]
            for key in ("sync_now", "sign_in", "sign_out", "conflicts", "rejected")
            if key in self.actions_by_id
        )
        if "sign_out" in self.actions_by_id:  # shown once the state read says signed in
            self.actions_by_id["sign_out"].setVisible(False)
        self.status.rejected_clicked.connect(self.open_rejected)
        self.status.state_read.connect(self._sync_state_read)
        self.reminders: Any = None
        if reminders:  # they read the database's folder: once it is open
            if backend.is_open:
                self._start_reminders()
            else:
                backend.opened.connect(self._start_reminders)

        backend.changes_applied.connect(self._changes_applied)
        # Saved emails dropped on the window (a customer's profile files them under it).
        self._email_drop: EmailDrop | None = None
        self.setAcceptDrops(True)
        # A line edit takes Ctrl+E, Ctrl+K, Ctrl+N... for itself (Emacs keys on Linux):
        # the window's shortcuts come first wherever the focus is in it.
        self._window_keys = {
            action.shortcut().toString()
            for action in self.actions_by_id.values()
            if not action.shortcut().isEmpty()
        }
        app = QApplication.instance()
        if isinstance(app, QApplication):  # watch the focused widget only: cheap
            app.focusChanged.connect(self._focus_changed)
        self._restored = False
        self.restore_state()

    def _start_reminders(self, error: object = None) -> None:
        if self.reminders is not None or not self.backend.is_open:
            return
        from touchpoint.ui.reminders import ReminderService  # once the database is open

        self.reminders = ReminderService(self.backend, self)

    # --- pages ------------------------------------------------------------------
    def _add_page(self, key: str, text: str, icon_name: str, shortcut: str, page: QWidget) -> None:
        self.pages[key] = page
        self.stack.addWidget(page)
        self.rail.add_page(key, text, icon_name, shortcut)
        self._connect_page(key, page)

    def _connect_page(self, key: str, page: QWidget) -> None:
        signal = getattr(page, "open_customer", None)
        if signal is not None and key not in ("customers",):
            signal.connect(self.open_customer)
        deleted = getattr(page, "interaction_deleted", None)  # the undo bar offers it back
        if deleted is not None:
            deleted.connect(self._offer_undo_interaction)

    def page(self, key: str) -> QWidget | None:
        """The page of ``key``, built now if this is the first time it is needed."""
        if key not in self._factories:
            return self.pages.get(key)
        factory = self._factories.pop(key)
        built = self._build_customers() if factory is None else factory(self.backend, self)
        placeholder = self.pages[key]
        index = self.stack.indexOf(placeholder)
        self.stack.insertWidget(index, built)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.pages[key] = built
        self._connect_page(key, built)
        return built

    def _build_customers(self) -> CustomersPage:
        page = CustomersPage(self.backend, self)
        self._customers = page
        page.list.open_customer.connect(self.open_customer)
        page.profile.open_customer.connect(self.open_customer)
        page.profile.deleted.connect(self._offer_undo_delete)
        page.profile.interaction_deleted.connect(self._offer_undo_interaction)
        page.profile.emails_dropped.connect(self._drop_emails_on_customer)
        page.profile.created.connect(page.list.select_customer)
        page.profile.log_requested.connect(self.log_interaction)
        page.list.restore_columns(self.settings)
        body = self.settings.value("window/profile_splitter")
        if isinstance(body, QByteArray):
            page.profile.body.restoreState(body)
        else:
            page.profile.body.setSizes([360, 560])
        splitter = self.settings.value("window/customers_splitter")
        if isinstance(splitter, QByteArray):
            page.restoreState(splitter)
        else:
            page.default_sizes = True  # set at its first real width
        last, self._last_customer = self._last_customer, None
        if last:
            page.profile.show_customer(last)
        return page

    @property
    def customers(self) -> CustomersPage:
        """The customer list and profile (built on first use)."""
        if self._customers is None:
            self.page("customers")
        assert self._customers is not None
        return self._customers

    @property
    def current_page(self) -> str:
        widget = self.stack.currentWidget()
        return next((k for k, w in self.pages.items() if w is widget), "today")

    def show_page(self, key: str) -> None:
        page = self.page(key)
        if page is None:
            return
        self.stack.setCurrentWidget(page)
        self.rail.select(key)
        activate = getattr(page, "activate", None)
        if activate is not None:
            activate()

    def show_today(self) -> None:
        self.show_page("today")

    def show_customers(self) -> None:
        self.show_page("customers")
        self.customers.list.focus_list()

    def show_followups(self) -> None:
        self.show_page("followups")

    def show_activity(self) -> None:
        self.show_page("activity")

    def show_reports(self) -> None:
        self.show_page("reports")

    def open_customer(self, customer_id: str) -> None:
        """Show one customer's profile (from anywhere: Today, search, lists)."""
        self.show_page("customers")
        self.customers.profile.show_customer(customer_id)
        # The list shows the one in view (opened from search, Today, a dialog...).
        self.customers.list.select_customer(customer_id)
        self.customer_opened.emit(customer_id)

    def _open_hit(self, hit: Any) -> None:
        customer_id = hit.customer_id or (hit.record_id if hit.entity == "customer" else None)
        if customer_id:
            # The search did its job: an empty box for the next one.
            self.search.clear()
            self.open_customer(customer_id)

    @property
    def customer_in_view(self) -> str | None:
        if self.current_page == "customers" and self._customers is not None:
            return self._customers.profile.customer_id
        return None

    # --- commands (see actions.py) ---------------------------------------------
    def focus_search(self) -> None:
        self.search.focus_and_select()

    def panes(self) -> list[QWidget]:
        """The parts F6 moves between, in order: the rail, the search box, then the
        page's own panes (the customer list and the profile's sides)."""
        page = self.stack.currentWidget()
        inner = getattr(page, "panes", None)
        own = inner() if callable(inner) else [page]
        return [self.rail, self.search, *(w for w in own if w is not None and w.isVisible())]

    def next_pane(self, step: int = 1) -> None:
        panes = self.panes()
        focused = QApplication.focusWidget()
        at = next(
            (n for n, pane in enumerate(panes) if _holds(pane, focused)),
            -1 if step > 0 else 0,
        )
        for n in range(1, len(panes) + 1):
            if focus_into(panes[(at + step * n) % len(panes)]):
                return

    def previous_pane(self) -> None:
        self.next_pane(-1)

    def show_shortcuts(self) -> None:
        """Every shortcut of the window, read from its actions (menus and pages)."""
        from touchpoint.ui.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self, shortcut_rows(self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def log_interaction(self) -> None:
        from touchpoint.ui.log_dialog import LogInteractionDialog

        dialog = LogInteractionDialog(self.backend, customer_id=self.customer_in_view, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def new_customer(self) -> None:
        self.show_page("customers")
        self.customers.profile.start_new()

    def refresh(self) -> None:
        for page in self.pages.values():
            refresh = getattr(page, "refresh", None)
            if refresh is not None:
                refresh()
        if self._customers is not None:
            self._customers.list.refresh()
            self._customers.profile.refresh()
        self.status.refresh()

    def quit_app(self) -> None:
        """Quit for real (closing the window may only hide it while reminders run)."""
        self.save_state()
        if self.sync is not None:
            self.sync.stop()
        self._close_confirmed = True  # Quit says what it does
        self.close()
        QApplication.quit()

    def _open_dialog(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # type: ignore[attr-defined]

    # Each dialog's module is imported when it is first opened, not at start.
    def open_import(self) -> None:
        from touchpoint.ui.import_dialog import ImportDialog

        self._open_dialog(ImportDialog(self.backend, self))

    def open_export(self) -> None:
        from touchpoint.ui.export_dialog import ExportDialog

        self._open_dialog(ExportDialog(self.backend, self))

    def open_settings(self) -> None:
        from touchpoint.ui.settings_dialog import SettingsDialog

        self._open_dialog(SettingsDialog(self.backend, self))

    def open_about(self) -> None:
        from touchpoint.ui.about_dialog import AboutDialog

        self._open_dialog(AboutDialog(self.backend, self))

    def open_sign_in(self) -> None:
        from touchpoint.ui.sign_in_dialog import SignInDialog

        if self.sync is None:
            return
        dialog = SignInDialog(self.sync, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()

    def open_conflicts(self, tab: str = "conflicts") -> None:
        from touchpoint.ui.conflicts_view import ConflictsDialog

        dialog = ConflictsDialog(self.backend, self, tab=tab)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open_customer.connect(self.open_customer)
        dialog.rejected_dismissed.connect(self.status.refresh)
        dialog.open()
        self.conflicts_dialog = dialog

    def open_rejected(self) -> None:
        """The changes the Hub refused (the second tab of Conflicts), or, when none is but
        some from the Hub are set aside, those (the third)."""
        state = getattr(self.status, "state", None)
        only_set_aside = state is not None and not state.rejected and state.set_aside
        self.open_conflicts("set_aside" if only_set_aside else "rejected")

    def sign_out(self) -> None:
        """Ask first, saying what happens to the changes not yet sent, then sign out."""
        state = self.status.state
        if self.sync is None or state is None or state.account is None or not state.signed_in:
            self.status.showMessage("Not signed in to a Hub.", 5000)
            return
        box = QMessageBox(
            QMessageBox.Icon.Question, "Sign out", sign_out_question(state), parent=self
        )
        box.setInformativeText("Touchpoint keeps working offline; sign in again to sync.")
        confirm = box.addButton("Sign out", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(_code: int) -> None:
            self.sign_out_box = None
            if box.clickedButton() is confirm and self.sync is not None:
                self.sync.sign_out(self._signed_out)

        box.finished.connect(answered)
        self.sign_out_box = box
        box.open()

    def _signed_out(self, error: Exception | None) -> None:
        if error is not None:
            from touchpoint.ui.errors import show_error

            show_error(self, error)
        else:
            self.status.showMessage("Signed out. Changes not yet sent stay on this laptop.", 8000)
        self.status.refresh()

    def _sync_state_read(self, state: Any) -> None:
        signed_in = state.account is not None and state.signed_in
        for key, visible in (("sign_in", not signed_in), ("sign_out", signed_in)):
            action = self.actions_by_id.get(key)
            if action is not None:
                action.setVisible(visible)

    def _offer_undo_delete(self, customer_id: str, name: str) -> None:
        from touchpoint.services import customers

        def undo() -> None:
            self.backend.write(lambda ws: customers.restore_customer(ws, customer_id)).success(
                lambda _v: self.open_customer(customer_id)
            ).run()

        if self.undo_bar is not None:
            self.undo_bar.show_undo(f"Deleted {name}", undo)
        else:
            self.status.showMessage(f"Deleted {name}", 5000)

    def _offer_undo_interaction(self, view: Any) -> None:
        from touchpoint.ui.interaction_dialog import deleted_message, offer_undo

        if self.undo_bar is not None:
            offer_undo(self.undo_bar, self.backend, view)
        else:
            self.status.showMessage(deleted_message(view), 5000)

    # --- emails dropped ---------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        files = dropped_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.email_drop.drop(files)  # by their addresses, asking when unsure

    @property
    def email_drop(self) -> EmailDrop:
        """Built at the first drop: it brings the email services with it."""
        if self._email_drop is None:
            from touchpoint.ui.email_drop import EmailDrop

            self._email_drop = EmailDrop(self.backend, self)
            self._email_drop.done.connect(self._emails_filed)
        return self._email_drop

    def _drop_emails_on_customer(self, files: list[Any], customer_id: str) -> None:
        self.email_drop.drop(files, customer_id)

    def _emails_filed(self, text: str, undo: Any) -> None:
        if self.undo_bar is not None:
            self.undo_bar.show_undo(text, undo, EMAILS_RESULT_SECONDS)
        else:
            self.status.showMessage(text, EMAILS_RESULT_SECONDS * 1000)

    def _changes_applied(self, changes: Changes, initiator: object) -> None:
        log.debug("changes applied: %s", {k: len(v) for k, v in changes.records.items()})

    # --- state ------------------------------------------------------------------
    def restore_state(self) -> None:
        last = self.settings.value("window/customer")
        # The profile comes back when the Customers page is first shown.
        self._last_customer = last if isinstance(last, str) and last else None
        page = str(self.settings.value("window/page", "today"))
        # The page first: its size limits are part of the window's, which come next.
        self.show_page(page if page in self.pages else "today")
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/page", self.current_page)
        customers = self._customers
        if customers is not None:  # else what was saved last time still holds
            self.settings.setValue("window/customers_splitter", customers.saveState())
            self.settings.setValue("window/profile_splitter", customers.profile.body.saveState())
            self.settings.setValue("window/customer", customers.profile.customer_id or "")
        self.settings.sync()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._restored:
            self._restored = True
            self.status.refresh()
            if self.sync is not None:
                # Not before the first paint: the first cycle loads the HTTP client.
                self._sync_start.start()

    def _start_sync(self) -> None:
        """Sync's first cycle, once the person is not scrolling: it loads the HTTP client
        and the sync engine on a worker thread, which holds Python's lock against the
        list's paints (startup.SYNC_START_PAUSE_S)."""
        if self.sync is None:
            return
        wait_s = SYNC_START_PAUSE_S - gc_guard.idle_for()
        if wait_s > 0:
            self._sync_start.start(max(1, round(wait_s * 1000)))
            return
        self.sync.start()

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and new.window() is self:
            new.installEventFilter(self)  # installing twice keeps one

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(watched, QWidget)
            and watched.window() is self
            and isinstance(event, QKeyEvent)
        ):
            keys = QKeySequence(event.keyCombination()).toString()
            if keys in self._window_keys:
                return True  # not the widget's: the window's shortcut fires
        return super().eventFilter(watched, event)

    def _ask_to_close(self) -> bool:
        """True when closing must wait for the rep's answer (asked without blocking)."""
        if not self.ask_before_close or self._close_confirmed:
            return False
        if self.settings.value(CLOSE_WITHOUT_TRAY_OK, False, type=bool):
            return False
        if self.close_box is not None:
            self.close_box.raise_()
            return True
        box = QMessageBox(QMessageBox.Icon.Question, "Close Touchpoint", CLOSE_QUESTION)
        box.setParent(self, Qt.WindowType.Dialog)
        box.setInformativeText(
            "This desktop has no system tray to keep them running. Reminders missed while "
            "Touchpoint is closed are listed when you start it again."
        )
        box.setAccessibleName("Close Touchpoint")
        close = box.addButton("Close, reminders stop", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep Touchpoint open", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        never = QCheckBox("Do not ask again")
        box.setCheckBox(never)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(_code: int) -> None:
            self.close_box = None
            if box.clickedButton() is close:
                if never.isChecked():
                    self.settings.setValue(CLOSE_WITHOUT_TRAY_OK, True)
                self._close_confirmed = True
                self.close()
                app = QApplication.instance()
                if app is not None and QApplication.quitOnLastWindowClosed():
                    app.quit()

        box.finished.connect(answered)
        self.close_box = box
        box.open()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # Only the rep's own close (the title bar, Alt+F4) asks: Quit, the app quitting
        # and code closing the window do not.
        if event.spontaneous() and self._ask_to_close():
            event.ignore()
            return
        self._sync_start.stop()
        self.save_state()
        super().closeEvent(event)
