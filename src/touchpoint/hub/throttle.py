"""Login throttling: wrong sign-ins per account and per client address back off.

A few wrong passwords are free (people mistype); after that each further failure
doubles the wait before the next try, up to a cap, and a try during the wait is
answered 429 with Retry-After without any password being hashed. The counts live
in the Hub database (``login_failures``), so every worker and every Hub node on one
database agree. A success clears the account's count; an address's count fades
once its wait has passed with no new failure for a while.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, delete, insert, select, update

from touchpoint.hub.db import login_failures, write
from touchpoint.storage.types import from_utc_text, to_utc_text

log = logging.getLogger(__name__)

FREE_PER_ACCOUNT = 5
FREE_PER_ADDRESS = 20  # an office behind one address has many people
CAP = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)  # no failure for this long: the count starts again


def keys(email: str, address: str | None) -> dict[str, int]:
    """The throttle keys of one attempt with the failures each allows for free."""
    out = {f"email:{email.strip().lower()[:200]}": FREE_PER_ACCOUNT}
    if address:
        out[f"addr:{address[:80]}"] = FREE_PER_ADDRESS
    return out


def wait_seconds(engine: Engine, attempt: dict[str, int], now: datetime) -> int:
    """Seconds until these keys may try again (0: now)."""
    stamp = to_utc_text(now)
    with engine.connect() as conn:
        rows = conn.execute(
            select(login_failures.c.blocked_until).where(
                login_failures.c.key.in_(list(attempt)),
                login_failures.c.blocked_until > stamp,
            )
        ).scalars()
        until = max((from_utc_text(r) for r in rows), default=None)
    return 0 if until is None else max(1, math.ceil((until - now).total_seconds()))


def note_failure(engine: Engine, attempt: dict[str, int], now: datetime) -> dict[str, datetime]:
    """Count a wrong sign-in on each key; the keys it now blocks, until when."""
    stamp = to_utc_text(now)
    blocked: dict[str, datetime] = {}
    with write(engine) as conn:
        for key, free in attempt.items():
            row = conn.execute(
                select(login_failures.c.failures, login_failures.c.last_failed_at).where(
                    login_failures.c.key == key
                )
            ).first()
            failures = 1
            if row is not None and now - from_utc_text(row.last_failed_at) < FORGET_AFTER:
                failures = row.failures + 1
            wait = timedelta(0)
            if failures >= free:
                wait = min(CAP, timedelta(seconds=2 ** min(failures - free, 20)))
            values = {
                "failures": failures,
                "last_failed_at": stamp,
                "blocked_until": to_utc_text(now + wait) if wait else None,
            }
            if row is None:
                conn.execute(insert(login_failures).values(key=key, **values))
            else:
                conn.execute(
                    update(login_failures).where(login_failures.c.key == key).values(**values)
                )
            if wait:
                blocked[key] = now + wait
                log.warning(
                    "sign-in throttled: %s failed %d times; next try in %ds",
                    key.split(":", 1)[0] + ":" + _mask(key.split(":", 1)[1]),
                    failures,
                    int(wait.total_seconds()),
                )
    return blocked


class LoginGate:
    """ASGI middleware in front of the sign-in routes, in the event loop, before a request
    thread, the database or the body is touched:

    - an attempt from an address that is throttled is answered 429 after a pause (a
      tarpit): a guesser that retries at once then sends one request a second per
      connection instead of hundreds, which is what would keep the event loop busy;
    - the others go on one at a time, in turn: argon2 is built to be costly, so a flood
      queued in request threads would hold them (and the CPU) while laptops wait to
      sync. One that waits longer than the pause for its turn is answered 429 "busy".
      People signing in together on a Monday morning are simply served in turn.

    A waiting attempt is a sleeping coroutine woken by the one before it, not a thread
    and not a poll; past :attr:`MAX_HELD` of them, answers go at once."""

    MAX_HELD = 512
    PAUSE = 1.0  # seconds; never longer than the wait itself

    PATHS = frozenset({"/v1/login", "/v1/enroll"})

    def __init__(
        self, app: Any, clock: Callable[[], datetime], blocked: dict[str, datetime]
    ) -> None:
        # blocked: addresses this app saw throttled, until when (filled by the routes).
        self.app, self.clock, self.blocked = app, clock, blocked
        self.held = 0  # tarpitted answers
        self.running = False  # a sign-in is past the gate, not answered yet
        self.turns: deque[asyncio.Future[None]] = deque()
        self.sleep = asyncio.sleep  # the tarpit's pause (a test gives its own)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in self.PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        until = self.blocked.get(f"addr:{client[0]}") if client else None
        wait = 0 if until is None else math.ceil((until - self.clock()).total_seconds())
        if wait > 0:
            if self.held < self.MAX_HELD:
                self.held += 1
                try:
                    await self.sleep(min(self.PAUSE, wait))
                finally:
                    self.held -= 1
            await _refuse(send, wait, f"too many wrong sign-ins: try again in {wait} seconds")
            return
        if not await self._take_turn():
            await _refuse(send, 2, "the Hub is busy checking sign-ins: try again in a few seconds")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._pass_turn()

    async def _take_turn(self) -> bool:
        if not self.running:
            self.running = True
            return True
        if len(self.turns) >= self.MAX_HELD:
            return False
        turn = asyncio.get_running_loop().create_future()
        self.turns.append(turn)
        try:
            await asyncio.wait_for(turn, self.PAUSE)
        except TimeoutError:
            return False
        return True  # handed over by the one before: running stays True

    def _pass_turn(self) -> None:
        while self.turns:
            turn = self.turns.popleft()
            if not turn.done():  # not given up (timed out) meanwhile
                turn.set_result(None)
                return
        self.running = False


async def _refuse(send: Any, wait: int, message: str) -> None:
    body = orjson.dumps({"error": "throttled", "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(max(wait, 2)).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def clear(engine: Engine, email: str) -> None:
    """A good sign-in: the account's count starts again (its address's stays)."""
    key = f"email:{email.strip().lower()[:200]}"
    with engine.connect() as conn:
        found = conn.execute(
            select(login_failures.c.key).where(login_failures.c.key == key)
        ).first()
    if found:
        with write(engine) as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == key))


def _mask(value: str) -> str:
    """An email's local part is kept out of the log beyond its first letter."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else value
