"""A process-wide setting changed for as long as at least one period asks for it.

Python has one cyclic collector and one switch interval for the whole process, and more
than one part asks to change them for a while (a sync's pull, an import, the window's
start): the first period to begin changes the setting, the last to end puts it back,
whatever order they overlap and end in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Counted(Generic[T]):
    """``change()`` at the first :meth:`begin` (it returns what to put back);
    ``restore(that)`` at the last :meth:`end`."""

    def __init__(self, change: Callable[[], T], restore: Callable[[T], None]) -> None:
        self._change = change
        self._restore = restore
        self._lock = threading.Lock()
        self._holders = 0
        self._previous: T | None = None

    def begin(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._previous = self._change()
            self._holders += 1

    def end(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                self._restore(self._previous)  # type: ignore[arg-type]

    @contextmanager
    def held(self) -> Iterator[None]:
        """Run the block as one period."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    @property
    def active(self) -> bool:
        """Whether some period asks for the change now."""
        return self._holders > 0
