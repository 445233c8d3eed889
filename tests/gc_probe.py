"""What Python's cyclic garbage collector does by itself, for tests of its pauses: a
garbage cycle is made and allocation goes on well past the collector's first threshold;
did the cycle go without anyone calling ``gc.collect()``?"""

from __future__ import annotations

import gc
import weakref


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: reference counting alone never frees it


def frees_cycles_by_itself() -> bool:
    """True when a garbage cycle made now is freed by the allocations that follow, as
    the collector does when it runs on its own; False while it is paused (or off)."""
    node = _Node()
    gone = weakref.ref(node)
    del node
    # Three times the first generation's threshold of new container objects, kept alive,
    # is past the point where the collector, when on, runs.
    kept = [[] for _ in range(3 * max(gc.get_threshold()[0], 700))]
    del kept
    return gone() is None  # a cycle left is freed by the next collection, as any other
