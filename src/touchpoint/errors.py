"""Typed errors shared by every layer.

Each error has a ``kind`` so that the command line and the window can map it
to one human message (and an exit code) without parsing text.
"""

from __future__ import annotations


class TouchpointError(Exception):
    """Base of every error Touchpoint raises on purpose."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(TouchpointError):
    """Input that cannot be stored: names the field and the problem."""

    kind = "validation"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    @property
    def errors(self) -> list[ValidationError]:
        """The same shape as :class:`ValidationErrors`, so callers handle both alike."""
        return [self]


class PastTimeError(ValidationError):
    """A time in the past where the future is meant (a due time, a snooze), or an
    interaction more than a year back: more often a typo than meant, so it is stored only
    when the person confirms (the window asks; the command line takes --allow-past)."""


class ValidationErrors(TouchpointError):
    """Several fields were wrong at once (a form, an import row)."""

    kind = "validation"

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class NotFoundError(TouchpointError):
    kind = "not_found"


class AmbiguousError(TouchpointError):
    """A name matched several records; the message lists them."""

    kind = "ambiguous"


class ConflictError(TouchpointError):
    kind = "conflict"


class StorageError(TouchpointError):
    """The database cannot be opened, migrated or trusted."""

    kind = "storage"


class NewerSchemaError(StorageError):
    """The database was written by a newer Touchpoint; it is left untouched."""

    kind = "newer_schema"


class ForbiddenError(TouchpointError):
    """The user may not do this (say, edit a colleague's interaction)."""

    kind = "forbidden"


class Cancelled(TouchpointError):
    """The user stopped a long operation; nothing it would have written was kept."""

    kind = "cancelled"
