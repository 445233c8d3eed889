"""What the window says when it cannot start normally: an encrypted database whose key is
missing (with the way out: start again from the Hub, the file kept), SQLCipher missing
where encryption is required, and a policy file that is invalid and was ignored."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from touchpoint.context import AppContext
from touchpoint.errors import TouchpointError
from touchpoint.policy import LoadedPolicy
from touchpoint.services import maintenance
from touchpoint.storage.workspace import Workspace
from touchpoint.ui.errors import human_message

log = logging.getLogger(__name__)

# Errors whose own words are the message: each names the file and what to do.
SPEAKS_FOR_ITSELF = ("key_missing", "key_wrong", "encryption_unavailable")
# As ui.errors' boxes: a box shown without waiting is held here until it is closed.
_kept: list[QMessageBox] = []


def _themed() -> None:
    from PySide6.QtWidgets import QApplication

    from touchpoint.ui.theme import apply_theme

    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app)


def ask_to_start_again(message: str) -> bool:
    """The key is lost: start again from the Hub? (Tests replace this.)"""
    _themed()
    box = QMessageBox(QMessageBox.Icon.Critical, "Touchpoint", message)
    again = box.addButton("Start again from the Hub", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(box.buttons()[-1])  # type: ignore[arg-type]
    box.exec()
    return box.clickedButton() is again


def tell(message: str, *, critical: bool = False) -> None:
    """A blocking message before any window exists. (Tests replace this.)"""
    _themed()
    if critical:
        QMessageBox.critical(None, "Touchpoint", message)
    else:
        QMessageBox.information(None, "Touchpoint", message)


def open_workspace(data_dir: AppContext | str | None) -> Workspace | None:
    """The workspace of the start-up context (or of a folder), or None once the problem
    was shown (the app then exits)."""
    try:
        return Workspace.open(data_dir, auto_backup=False)
    except TouchpointError as exc:
        log.error("cannot open the database: %s", exc)
        if exc.kind != "key_missing":
            words = exc.message if exc.kind in SPEAKS_FOR_ITSELF else human_message(exc)
            tell(words, critical=True)
            return None
        if not ask_to_start_again(
            exc.message.replace(
                "run `touchpoint encryption recover`: it", "choose Start again from the Hub: it"
            )
        ):
            return None
    kept = maintenance.recover_unreadable(
        data_dir.paths if isinstance(data_dir, AppContext) else data_dir
    )
    try:
        ws = Workspace.open(data_dir, auto_backup=False)
    except TouchpointError as exc:
        tell(exc.message if exc.kind in SPEAKS_FOR_ITSELF else human_message(exc), critical=True)
        return None
    tell(
        f"The unreadable database was moved to {kept} (it is kept). Touchpoint starts "
        "with an empty one: sign in to your Hub and sync to get your data back."
    )
    return ws


def show_policy_problem(parent: QWidget | None, policy: LoadedPolicy) -> QMessageBox | None:
    """A policy file that could not be used: say so (non-blocking); the app runs on."""
    if not policy.problem:
        return None
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Touchpoint")
    box.setText(
        "The policy file Touchpoint was told to use does not exist."
        if policy.status == "absent"  # named by TOUCHPOINT_POLICY_FILE, but not there
        else "Your IT department's policy file could not be used."
    )
    box.setInformativeText(f"{policy.problem}\n\nPlease tell your IT department.")
    box.setAccessibleName("Policy problem")
    _kept.append(box)
    box.finished.connect(lambda _r: _kept.remove(box) if box in _kept else None)
    box.open()
    return box


__all__ = ["open_workspace", "show_policy_problem"]
