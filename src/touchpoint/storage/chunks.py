"""Long lists of ids cut into pieces an ``IN (...)`` query takes.

SQLite limits the variables of one statement (999 before 3.32); 500 a piece stays well
below it on every build and keeps each statement cheap to plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

IN_LIST = 500  # ids per IN (...) query

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in order, ``size`` at a time (the last piece may be shorter)."""
    if size < 1:
        raise ValueError("a chunk holds at least one item")
    for start in range(0, len(items), size):
        yield items[start : start + size]
