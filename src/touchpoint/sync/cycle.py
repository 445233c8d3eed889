"""What a sync cycle tells its caller, and the retry with backoff its stages share."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from touchpoint.storage.workspace import Workspace
from touchpoint.sync.errors import SyncError
from touchpoint.sync.transport import HubClient

log = logging.getLogger(__name__)
T = TypeVar("T")


# --- what a cycle tells its caller ------------------------------------------------------
@dataclass(frozen=True)
class SyncProgress:
    phase: str  # "push" | "pull" | "index" (indexing for search after a big pull)
    done: int
    total: int  # 0 when unknown


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one cycle, for the window's status and the command's exit code.

    status: ``done`` (in sync), ``conflicts`` (in sync; new conflicts to show),
    ``needs_sign_in``, ``needs_update``, ``offline``, ``server_error``, ``busy``
    (another sync of this laptop is running) or ``cancelled``.
    """

    status: str
    message: str = ""
    pushed: int = 0
    rejected: int = 0
    pulled: int = 0
    new_conflicts: int = 0
    waiting: int = 0  # changes still in the outbox (unsent, or sent and waiting)
    refused: int = 0  # changes the Hub refused that the author has not dismissed
    set_aside: int = 0  # pulled records this laptop could not apply
    notices: tuple[str, ...] = ()  # sentences for the user (e.g. a team left)
    repaired: int = 0  # records the anti-entropy check set right

    @property
    def in_sync(self) -> bool:
        """Nothing of this laptop's is waiting or refused: what was typed here is on the
        Hub. (A refused change counts until its author fixes or dismisses it.)"""
        return self.status in ("done", "conflicts") and self.waiting == 0 and self.refused == 0


class Cancelled(Exception):
    pass


class Stage:
    """What the engine's stages share: the settings :class:`SyncEngine` is made with."""

    ws: Workspace
    client: HubClient
    batch_size: int
    page_size: int
    attempts: int
    backoff_base: float
    backoff_cap: float
    progress: Callable[[SyncProgress], None]
    cancel: threading.Event
    sleep: Callable[[float], None]
    crash_point: Callable[[str], None]
    pulled_from_start: bool

    def _retry(self, call: Callable[[], T]) -> T:
        """Transient failures (offline, 5xx, timeouts) retried with exponential backoff
        and full jitter, so a fleet of laptops does not hammer a recovering Hub in step."""
        for attempt in range(self.attempts):
            if self.cancel.is_set():
                raise Cancelled
            try:
                return call()
            except SyncError as exc:
                if not exc.transient or attempt == self.attempts - 1:
                    raise
                delay = min(self.backoff_cap, self.backoff_base * 2**attempt)
                log.info("sync: %s; retrying in up to %.1fs", exc.kind, delay)
                self.sleep(random.uniform(delay / 2, delay))
        raise AssertionError("unreachable")
