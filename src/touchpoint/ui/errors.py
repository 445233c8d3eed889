"""Errors as people read them: one message per ``TouchpointError.kind``.

Details (the exception and its traceback) go to the log file, never to a dialog.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from touchpoint.errors import PastTimeError, TouchpointError, ValidationError, ValidationErrors

log = logging.getLogger(__name__)

MESSAGES: dict[str, str] = {
    "validation": "Some of what was entered cannot be saved.",
    "not_found": "That record no longer exists. It may have been deleted or merged.",
    "ambiguous": "More than one record matches. Please pick one.",
    "conflict": "This record was changed elsewhere. Reload it and try again.",
    "storage": "The database cannot be opened or written. Your data is unchanged; "
    "a backup can be restored from Settings.",
    "newer_schema": "This database was written by a newer Touchpoint. Please update the app.",
    "forbidden": "You are not allowed to do this.",
    "error": "Something went wrong.",
}
# Process-wide on purpose: a box shown without waiting (show(), not exec()) has no other
# Python owner; it is held here until it is closed, then let go.
_open_boxes: set[QMessageBox] = set()
UNEXPECTED = "Something unexpected went wrong. Details were written to the log file."


def human_message(exc: BaseException) -> str:
    """One sentence a rep can act on, plus the specific detail when it is safe to show."""
    if isinstance(exc, ValidationErrors):
        return "\n".join(f"{e.field}: {e.problem}" for e in exc.errors)
    if isinstance(exc, ValidationError):
        return f"{exc.field}: {exc.problem}"
    if isinstance(exc, TouchpointError):
        base = MESSAGES.get(exc.kind, MESSAGES["error"])
        if exc.kind in ("not_found", "ambiguous", "conflict", "forbidden") and exc.message:
            return f"{base}\n\n{exc.message}"
        return base
    if isinstance(exc, OSError):
        return f"A file could not be read or written: {exc.strerror or exc}"
    return UNEXPECTED


def field_errors(exc: BaseException) -> dict[str, str]:
    """Field name -> problem, for messages shown beside their fields."""
    if isinstance(exc, ValidationErrors):
        return {e.field: e.problem for e in exc.errors}
    if isinstance(exc, ValidationError):
        return {exc.field: exc.problem}
    return {}


def show_error(parent: QWidget | None, exc: BaseException) -> QMessageBox:
    """Log the details and show a non-blocking message box."""
    if isinstance(exc, TouchpointError):
        log.warning("%s: %s", exc.kind, exc.message)
    else:
        log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Touchpoint")
    box.setText(human_message(exc))
    box.setAccessibleName("Error message")
    if parent is None:  # nothing owns a parentless box: keep it alive until it is closed
        _open_boxes.add(box)
        box.finished.connect(lambda _r: _open_boxes.discard(box))
    box.open()  # non-blocking: never stalls a worker callback or a test
    return box


def only_past_times(exc: BaseException) -> list[PastTimeError]:
    """The past-time refusals of ``exc`` when they are all that is wrong (else [])."""
    errors = exc.errors if isinstance(exc, ValidationError | ValidationErrors) else []
    if errors and all(isinstance(e, PastTimeError) for e in errors):
        return [e for e in errors if isinstance(e, PastTimeError)]
    return []


def past_question(errors: list[PastTimeError]) -> str:
    """What the window asks before it stores a time in the past (the command line's
    --allow-past): each time in the person's words, then what it would mean."""
    lines = []
    for e in errors:
        what = e.problem.split(";", 1)[0]
        lines.append(f"{e.field.capitalize()}: {what}.")
    overdue = any(not e.field.endswith("when") for e in errors)
    meaning = (
        "A promise due then is overdue at once, and a reminder then never comes."
        if overdue
        else "An interaction that long ago is more often a typo."
    )
    return "\n".join(lines) + f"\n\n{meaning} Save it anyway?"


def ask_past(parent: QWidget | None, errors: list[PastTimeError]) -> bool:
    """Ask whether a time in the past is meant; True to save it anyway. Tests replace
    this."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("A time in the past")
    box.setAccessibleName("A time in the past")
    box.setText(past_question(errors))
    save = box.addButton("Save anyway", QMessageBox.ButtonRole.AcceptRole)
    back = box.addButton("Go back and correct it", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(back)
    box.exec()
    return box.clickedButton() is save
