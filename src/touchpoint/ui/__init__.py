"""The desktop window (PySide6). It calls services through ui.backend only."""

import builtins

import PySide6.QtCore  # noqa: F401  (sets up the import hook undone below)


def _plain_import() -> None:
    """Take PySide6's ``__feature__`` wrapper off ``__import__`` (the import it wraps stays).

    PySide6 wraps ``__import__`` so that ``from __feature__ import snake_case`` works, and
    the wrapper reads the source file of every module imported after it to see whether
    the module mentions PySide6 (PYSIDE-2029): at start that is a tenth of the modules'
    import time, and every import statement run in a function goes through two Python
    calls. Touchpoint selects no feature, so nothing is lost by undoing it."""
    original = getattr(builtins, "__orig_import__", None)
    if (
        original is not None
        and getattr(builtins.__import__, "__name__", "") == "__feature_import__"
    ):
        builtins.__import__ = original


_plain_import()
