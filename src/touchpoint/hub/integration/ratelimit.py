"""Per-key rate limits: a token bucket per API key, in this Hub process.

A key may make ``per_minute`` requests a minute on average, in bursts of up to that
many. With several workers (``serve --workers N``) each keeps its own buckets, so a key
may reach N times its limit: the limit protects the Hub from a runaway integration,
it is not a quota to bill by.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: int, per_minute: int) -> int:
        """0 when the request may go ahead, else the seconds to wait before the next one."""
        rate = per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key_id, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0
            self._buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))
