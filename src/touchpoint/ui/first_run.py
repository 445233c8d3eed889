"""The first start: connect to the company's Hub, or work offline (demo, import, empty).

A wizard with four pages: the choice, the Hub sign-in, the first sync with its
progress, and the offline start. When ``touchpoint provision`` recorded a Hub, the
wizard opens on the sign-in page with the address filled in (read-only when the
machine policy locks it). Signing in and syncing run on the window's
:class:`~touchpoint.ui.sync_controller.SyncController`, never on the UI thread.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from touchpoint.domain import values
from touchpoint.errors import ValidationError
from touchpoint.services.provisioning import FirstRunState, first_run_state, set_rep_identity
from touchpoint.storage.workspace import Changes, Saved
from touchpoint.ui.backend import Backend
from touchpoint.ui.sign_in_dialog import _problem as sign_in_problem  # the same words
from touchpoint.ui.sign_in_dialog import server_problem
from touchpoint.ui.theme import ACCENT, app_icon

log = logging.getLogger(__name__)

DEMO_CUSTOMERS = 200
WELCOME, CONNECT, SYNCING, OFFLINE = range(4)


def demo_available() -> bool:
    return importlib.util.find_spec("touchpoint.services.demo") is not None


def _muted(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("Muted")
    label.setWordWrap(True)
    return label


def _choice(text: str, detail: str, group: QButtonGroup, layout: QVBoxLayout) -> QRadioButton:
    """A radio button with a line of explanation under it."""
    parent = layout.parentWidget()
    button = QRadioButton(text, parent)
    button.setAccessibleDescription(detail)
    group.addButton(button)
    layout.addWidget(button)
    hint = _muted(detail, parent)
    hint.setContentsMargins(26, 0, 0, 10)
    layout.addWidget(hint)
    return button


class WelcomePage(QWizardPage):
    def __init__(self, state: FirstRunState, can_connect: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle("Welcome to Touchpoint")
        self.setSubTitle(
            "Your customer book is empty."
            if state.empty
            else "This laptop is set up for your company's Hub but not signed in yet."
        )
        layout = QVBoxLayout(self)
        group = QButtonGroup(self)
        self.connect_choice = _choice(
            "Connect to your company's Hub",
            "Sign in with your work email. Your team's customers arrive on this laptop "
            "and your changes reach your colleagues, also after working offline.",
            group,
            layout,
        )
        self.offline_choice = _choice(
            "Work offline on this laptop",
            "Everything stays on this laptop. Try it with demo data, import your "
            "customers, or start empty. You can sign in to a Hub later.",
            group,
            layout,
        )
        layout.addStretch(1)
        self.connect_choice.setEnabled(can_connect)
        (self.connect_choice if can_connect else self.offline_choice).setChecked(True)

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return CONNECT if self.connect_choice.isChecked() else OFFLINE


class ConnectPage(QWizardPage):
    """Server, email and password; "Next" signs in on the sync controller's thread."""

    def __init__(self, state: FirstRunState, controller: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self._controller = controller
        self._ca_bundle = state.ca_bundle
        self._signed_in = False
        self._busy = False
        self.go_offline = False
        self.setTitle("Connect to your company's Hub")
        self.setSubTitle(
            "Use the address and the work email your IT department gave you. "
            "The password is not stored: this laptop keeps a sign-in of its own."
        )
        self.server = QLineEdit(state.server, self)
        self.server.setPlaceholderText("https://hub.example.com")
        self.server.setAccessibleName("Server address")
        self.email = QLineEdit(state.email, self)
        self.email.setPlaceholderText("you@company.com")
        self.email.setAccessibleName("Email")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.locked_note = _muted("Set by your IT department.", self)
        if state.server_locked:
            self.server.setReadOnly(True)
            self.server.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # Read-only must look it: no field to type in, just the address.
            self.server.setFrame(False)
            self.server.setStyleSheet("QLineEdit { background: transparent; }")
            self.server.setToolTip("Your IT department's policy sets the Hub address.")
        else:
            self.locked_note.hide()
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, label, edit in (
            ("server", "Server address", self.server),
            ("email", "Email", self.email),
            ("password", "Password", self.password),
        ):
            form.addRow(label, edit)
            if name == "server":
                form.addRow("", self.locked_note)
            error = QLabel("", self)
            error.setObjectName("FieldError")
            error.setWordWrap(True)
            error.hide()
            form.addRow("", error)
            self.errors[name] = error
        self.status = _muted("", self)
        self.offline_link = QPushButton("Work offline for now", self)
        self.offline_link.setFlat(True)
        self.offline_link.setStyleSheet(
            f"QPushButton {{ color: {ACCENT}; text-decoration: underline; border: none; "
            "padding: 2px 0; text-align: left; }"
        )
        self.offline_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.offline_link.setAccessibleName("Work offline for now")
        self.offline_link.clicked.connect(self._work_offline)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.offline_link, 0, Qt.AlignmentFlag.AlignLeft)
        for edit in (self.server, self.email, self.password):
            edit.returnPressed.connect(self._next)

        # Once signed in there is no going back to this page: the sync has started.
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Sign in")

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.go_offline = False
        first_empty = next(
            (e for e in (self.server, self.email, self.password) if not e.text()), self.password
        )
        # After the wizard has placed its own focus.
        QTimer.singleShot(0, first_empty.setFocus)

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return OFFLINE if self.go_offline else SYNCING

    def _next(self) -> None:
        wizard = self.wizard()
        if wizard is not None and not self._busy:
            wizard.next()

    def _work_offline(self) -> None:
        self.go_offline = True
        wizard = self.wizard()
        if wizard is not None:
            wizard.next()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        if self.go_offline or self._signed_in:
            return True
        if self._busy:
            return False
        for label in self.errors.values():
            label.hide()
        server = self.server.text().strip()
        email = self.email.text().strip()
        password = self.password.text()
        missing = {
            # Before any password leaves this computer.
            "server": server_problem(server, self._controller.policy),
            "email": "" if "@" in email else "Enter your email address.",
            "password": "" if password else "Enter your password.",
        }
        if any(missing.values()):
            for name, words in missing.items():
                if words:
                    self._show_error(name, words)
            return False
        self._set_busy(True)
        self._controller.sign_in(server, email, password, self._done, ca_bundle=self._ca_bundle)
        return False  # the wizard moves on when the Hub has answered

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.status.setText("Signing in…" if busy else "")
        for edit in (self.email, self.password):
            edit.setEnabled(not busy)
        self.offline_link.setEnabled(not busy)
        wizard = self.wizard()
        if wizard is not None:
            for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.BackButton):
                wizard.button(which).setEnabled(not busy)

    def _done(self, error: Exception | None) -> None:
        self.password.clear()  # never kept, not even in the wizard
        self._set_busy(False)
        if error is None:
            self._signed_in = True
            log.info("first run: signed in to the Hub")
            wizard = self.wizard()
            if wizard is not None:
                wizard.next()
            return
        self._show_error(*sign_in_problem(error))

    def _show_error(self, field: str, words: str) -> None:
        self.errors[field].setText(words)
        self.errors[field].show()


class SyncingPage(QWizardPage):
    """The first sync, with the controller's progress; Finish once it has ended."""

    def __init__(self, controller: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self._controller = controller
        self._result: Any = None
        self.setTitle("Getting your customers")
        self.setSubTitle("Touchpoint copies your team's customers to this laptop.")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # busy until the first figures arrive
        self.progress.setAccessibleName("Sync progress")
        self.message = QLabel("Connecting…", self)
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        self.setFinalPage(True)
        controller.status_changed.connect(self._on_status)
        controller.finished.connect(self._on_finished)

    @property
    def result(self) -> Any:
        return self._result

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self._result is not None

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return -1

    def _on_status(self, status: Any) -> None:
        if self._result is not None or status.state != "syncing":
            return
        if status.percent is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(status.percent)
            self.message.setText("Copying your team's customers…")

    def _on_finished(self, result: Any) -> None:
        if self._result is not None or result.status == "not_signed_in":
            return  # a cycle from before the sign-in
        self._result = result
        self.progress.setRange(0, 100)
        if result.status in ("done", "conflicts"):
            self.progress.setValue(100)
            self.message.setText(
                f"Done: your team's customers are on this laptop ({result.pulled} "
                "updates received). Touchpoint keeps it in sync from now on."
            )
        else:
            self.progress.setValue(0)
            words = result.message or result.status.replace("_", " ")
            self.message.setText(
                f"The first sync did not finish ({words}). Touchpoint keeps trying in the "
                "background; you can start working now."
            )
        self.completeChanged.emit()


class OfflinePage(QWizardPage):
    def __init__(self, state: FirstRunState, can_import: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle("Work offline")
        self.setSubTitle("Everything stays on this laptop. How do you want to start?")
        layout = QVBoxLayout(self)
        group = QButtonGroup(self)
        self.demo: QRadioButton | None = None
        self.import_: QRadioButton | None = None
        if state.empty and state.demo_allowed and demo_available():
            self.demo = _choice(
                "Load demo data",
                f"About {DEMO_CUSTOMERS} made-up customers with their history, to try "
                "Touchpoint before your own data goes in.",
                group,
                layout,
            )
        if can_import:
            self.import_ = _choice(
                "Import customers…",
                "From a CSV file (Excel, another CRM) or vCards (your address book).",
                group,
                layout,
            )
        if state.empty:
            self.empty = _choice(
                "Start empty", "Add your customers yourself as you meet them.", group, layout
            )
        else:
            self.empty = _choice(
                "Continue without signing in",
                "Your customers stay on this laptop; sign in to the Hub later from the "
                "File menu or the status bar.",
                group,
                layout,
            )
        # Who signs the changes and is named in reports until a Hub account takes over
        # (never the computer's login name).
        you = QFormLayout()
        self.display_name = QLineEdit(state.display_name, self)
        self.display_name.setPlaceholderText("Maria Lopez")
        self.display_name.setAccessibleName("Your name")
        self.email = QLineEdit(state.user if "@" in state.user else state.email, self)
        self.email.setPlaceholderText("you@company.com")
        self.email.setAccessibleName("Your email")
        you.addRow("Your &name", self.display_name)
        you.addRow("Your &email", self.email)
        self.email_error = QLabel(self)
        self.email_error.setStyleSheet("color: #b3261e")
        self.email_error.hide()
        you.addRow("", self.email_error)
        layout.addSpacing(8)
        layout.addLayout(you)
        layout.addStretch(1)
        (self.demo or self.import_ or self.empty).setChecked(True)
        self.setFinalPage(True)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        """A typed email must be one (it identifies the rep); both may stay empty."""
        try:
            values.email("email", self.email.text())
        except ValidationError as exc:
            self.email_error.setText(f"Email {exc.problem}.")
            self.email_error.show()
            self.email.setFocus()
            return False
        self.email_error.hide()
        return True

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return -1

    def choice(self) -> str:
        if self.demo is not None and self.demo.isChecked():
            return "demo"
        if self.import_ is not None and self.import_.isChecked():
            return "import"
        return "empty"


class FirstRunWizard(QWizard):
    def __init__(
        self,
        state: FirstRunState,
        backend: Backend,
        parent: QWidget | None = None,
        *,
        controller: Any = None,
        open_import: Callable[[], None] | None = None,
        done: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self._backend = backend
        self._open_import = open_import
        self._done = done or (lambda: None)
        self.setWindowTitle("Welcome to Touchpoint")
        self.setAccessibleName("First start")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, app_icon().pixmap(48, 48))
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start")
        self.setMinimumSize(560, 440)
        can_connect = controller is not None
        self.welcome = WelcomePage(state, can_connect, self)
        self.offline = OfflinePage(state, open_import is not None, self)
        self.setPage(WELCOME, self.welcome)
        self.setPage(OFFLINE, self.offline)
        self.connect_page: ConnectPage | None = None
        self.syncing: SyncingPage | None = None
        if can_connect:
            self.connect_page = ConnectPage(state, controller, self)
            self.syncing = SyncingPage(controller, self)
            self.setPage(CONNECT, self.connect_page)
            self.setPage(SYNCING, self.syncing)
        self.setStartId(CONNECT if can_connect and state.server else WELCOME)
        self.accepted.connect(self._finish)

    def _finish(self) -> None:
        if self.currentId() == OFFLINE:
            choice = self.offline.choice()
            log.info("first run: work offline (%s)", choice)
            start = _starter(
                choice, self.parentWidget() or self, self._backend, self._done, self._open_import
            )
            email = self.offline.email.text().strip()
            name = self.offline.display_name.text().strip()
            if (email, name) == (self.state.user, self.state.display_name):
                start()
                return

            # The rep's identity first (the demo's customers are theirs); the wizard is
            # gone by the time it is saved, so nothing below refers to it.
            def save(ws):  # type: ignore[no-untyped-def]
                settings = set_rep_identity(ws, email=email, name=name)
                return Saved(settings, Changes({"settings": frozenset({"settings"})}))

            self._backend.write(save).success(lambda _settings: start()).run()
        elif self.currentId() == SYNCING:
            self._done()


def _starter(
    choice: str,
    parent: QWidget,
    backend: Backend,
    done: Callable[[], None],
    open_import: Callable[[], None] | None,
) -> Callable[[], None]:
    """What working offline starts with: the demo, the import dialog, or nothing."""

    def start() -> None:
        if choice == "demo":
            load_demo(parent, backend, done)
        elif choice == "import" and open_import is not None:
            open_import()

    return start


def offer_first_run(
    parent: QWidget,
    backend: Backend,
    *,
    open_import: Callable[[], None] | None,
    done: Callable[[], None],
    controller: Any = None,
) -> None:
    """Open the first-run wizard (without blocking) when this laptop needs setting up:
    an empty book, or a Hub recorded by provisioning but not signed in to yet.

    ``controller`` defaults to the window's sync controller (``parent.sync``)."""
    sync = controller if controller is not None else getattr(parent, "sync", None)

    def show(state: FirstRunState) -> None:
        if not state.show:
            return
        wizard = FirstRunWizard(
            state, backend, parent, controller=sync, open_import=open_import, done=done
        )
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.open()

    backend.query(first_run_state).success(show).run()


def load_demo(parent: QWidget, backend: Backend, done: Callable[[], None]) -> None:
    from touchpoint.services import demo

    def make(ws, progress):  # type: ignore[no-untyped-def]
        return _generate(demo, ws, progress)

    backend.query(make).with_progress(
        "Making the demo database…", parent, cancellable=False
    ).success(lambda _v: done()).run()


def _generate(demo, ws, progress):  # type: ignore[no-untyped-def]
    import inspect

    params = inspect.signature(demo.generate_demo).parameters
    kwargs = {}
    if "customers" in params:
        kwargs["customers"] = DEMO_CUSTOMERS
    if "progress" in params:
        kwargs["progress"] = progress.report
    result = demo.generate_demo(ws, **kwargs)
    return getattr(result, "value", result)
