"""Sign in to a Hub: server address, email, password.

The password is never stored: sign-in trades it for a device token kept in the OS
keyring. Network work runs on the sync controller's worker, so the window never waits.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from touchpoint.errors import ValidationError
from touchpoint.policy import LoadedPolicy
from touchpoint.sync.errors import AuthError, KeyringUnavailable, OfflineError, UpdateError
from touchpoint.sync.hub_address import PlainHttpRefused, check_hub_address
from touchpoint.ui.sync_controller import SyncController


def _problem(exc: Exception) -> tuple[str, str]:
    """(field, words) for an error from sign-in."""
    if isinstance(exc, AuthError):
        return "password", "The email or password is not right."
    if isinstance(exc, OfflineError):
        return "server", "Cannot reach this server. Check the address and the connection."
    if isinstance(exc, KeyringUnavailable):  # nothing was sent to the server
        return "password", (
            "This computer has no keyring to keep your sign-in in. Sign in from your "
            "desktop session, or ask IT."
        )
    if isinstance(exc, UpdateError):
        return "server", "Touchpoint needs an update to sync with this server."
    if isinstance(exc, ValidationError):  # the IT policy allows another Hub only
        return "server", f"Not this server: {exc.problem}."
    message = getattr(exc, "message", "") or str(exc)
    return "server", f"The server did not accept the sign-in: {message}"


def server_problem(server: str, policy: LoadedPolicy) -> str:
    """Words for the server field when the address is not one to send a password to."""
    if not server.startswith(("http://", "https://")):
        return "Enter the server address, like https://hub.example.com."
    try:
        check_hub_address(server, loaded=policy)
    except PlainHttpRefused as exc:
        return (
            f"This address is not encrypted (http://): your password and customer data "
            f"would travel readable to {exc.host}. Use https://, or ask IT."
        )
    return ""


class SignInDialog(QDialog):
    def __init__(
        self, controller: SyncController, parent: QWidget | None = None, *, server: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Hub")
        self._controller = controller
        self._policy = policy = controller.policy  # the run's, from its start-up context
        hub = policy.hub_policy()
        self.server = QLineEdit(server or (hub.server if hub and hub.server else ""), self)
        self.server.setPlaceholderText("https://hub.example.com")
        self.server.setAccessibleName("Server address")
        if hub is not None and hub.locked and hub.server:
            self.server.setText(hub.server)
            self.server.setReadOnly(True)
            self.server.setToolTip(f"Set by your IT department (policy file {policy.path})")
        self.email = QLineEdit(self)
        self.email.setAccessibleName("Email")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, label, edit in (
            ("server", "Server address", self.server),
            ("email", "Email", self.email),
            ("password", "Password", self.password),
        ):
            form.addRow(label, edit)
            error = QLabel("", self)
            error.setObjectName("FieldError")
            error.setWordWrap(True)
            error.hide()
            form.addRow("", error)
            self.errors[name] = error
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Sign in")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)  # room for a two-line message under a field

    def submit(self) -> None:
        for label in self.errors.values():
            label.hide()
        server = self.server.text().strip()
        email = self.email.text().strip()
        password = self.password.text()
        missing = {
            # Before any password leaves this computer.
            "server": server_problem(server, self._policy),
            "email": "Enter your email address." if "@" not in email else "",
            "password": "Enter your password." if not password else "",
        }
        if any(missing.values()):
            for name, words in missing.items():
                if words:
                    self._show_error(name, words)
            return
        self.ok.setEnabled(False)
        self.ok.setText("Signing in…")
        self._controller.sign_in(server, email, password, self._done)

    def _done(self, error: Exception | None) -> None:
        self.password.clear()  # never kept, not even in the dialog
        self.ok.setEnabled(True)
        self.ok.setText("Sign in")
        if error is None:
            self.accept()
            return
        self._show_error(*_problem(error))

    def _show_error(self, field: str, words: str) -> None:
        self.errors[field].setText(words)
        self.errors[field].show()
        self.adjustSize()  # grow to show the whole message
