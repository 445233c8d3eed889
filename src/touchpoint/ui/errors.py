"""Errors as people read them: one message per ``TouchpointError.kind``.

Details (the exception and its traceback) go to the log file, never to a dialog.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from touchpoint.errors import TouchpointError, ValidationError, ValidationErrors

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
