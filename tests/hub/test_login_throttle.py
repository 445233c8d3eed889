"""Wrong sign-ins back off, per account and per address, on a real Hub on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sync"))
from harness import PASSWORD, Clock, HubServer

from touchpoint.hub import accounts, throttle
from touchpoint.sync.protocol import PROTOCOL_HEADER


@pytest.fixture
def hub_clock() -> Clock:
    return Clock(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))


@pytest.fixture
def served(tmp_path: Path, hub_clock: Clock) -> Iterator[HubServer]:
    server = HubServer(f"sqlite:///{tmp_path / 'hub.sqlite3'}", clock=hub_clock).start()
    server.add_user("maria@example.com")
    server.add_user("tom@example.com")
    yield server
    server.stop()


def login(hub: HubServer, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/v1/login",
        headers={PROTOCOL_HEADER: "1"},
        json={"email": email, "password": password, "device_id": str(uuid.uuid4())},
        timeout=30,
    )


def test_wrong_passwords_back_off_with_retry_after(
    served: HubServer, hub_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="touchpoint.hub.throttle"):
        codes = [login(served, "maria@example.com", "guess").status_code for _ in range(5)]
    assert codes == [401] * 5
    blocked = login(served, "maria@example.com", PASSWORD)  # even the right one waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "too many wrong sign-ins" in blocked.json()["message"]
    assert any("sign-in throttled: email:m***@example.com" in r.message for r in caplog.records)
    # Another account from the same address is not held up by maria's count.
    assert login(served, "tom@example.com", PASSWORD).status_code == 200

    hub_clock.advance(seconds=2)
    assert login(served, "maria@example.com", "guess").status_code == 401
    second = login(served, "maria@example.com", PASSWORD)
    assert second.status_code == 429  # the wait doubled: 2 s now
    assert int(second.headers["Retry-After"]) == 2
    hub_clock.advance(seconds=3)
    assert login(served, "maria@example.com", PASSWORD).status_code == 200
    # A good sign-in starts the account's count again.
    assert login(served, "maria@example.com", "guess").status_code == 401
    assert login(served, "maria@example.com", PASSWORD).status_code == 200


def test_one_address_guessing_many_accounts_is_held_up(served: HubServer, hub_clock: Clock) -> None:
    emails = [f"nobody{n}@example.com" for n in range(throttle.FREE_PER_ADDRESS)]
    codes = {login(served, email, "guess").status_code for email in emails}
    assert codes == {401}
    assert login(served, "tom@example.com", PASSWORD).status_code == 429
    hub_clock.advance(minutes=16)
    assert login(served, "tom@example.com", PASSWORD).status_code == 200


def test_wrong_enrollment_tokens_are_throttled_by_address(served: HubServer) -> None:
    def enroll() -> int:
        return httpx.post(
            f"{served.url}/v1/enroll",
            headers={PROTOCOL_HEADER: "1"},
            json={"enrollment_token": "guess", "device_id": str(uuid.uuid4())},
            timeout=30,
        ).status_code

    codes = [enroll() for _ in range(throttle.FREE_PER_ADDRESS)]
    assert codes == [401] * throttle.FREE_PER_ADDRESS
    assert enroll() == 429


def _gate_answer(gate: throttle.LoginGate, address: str) -> tuple[list[dict], list[float]]:
    """What the gate sends for one sign-in from ``address``, and the pauses it took."""
    sent: list[dict] = []
    pauses: list[float] = []

    async def app(_scope: dict, _receive: object, _send: object) -> None:
        sent.append({"type": "passed to the app"})

    async def send(message: dict) -> None:
        sent.append(message)

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    gate.app = app
    gate.sleep = sleep  # type: ignore[assignment]
    scope = {"type": "http", "path": "/v1/login", "client": (address, 5000)}
    run_alone(lambda: gate(scope, None, send))
    return sent, pauses


def run_alone(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``main`` in an event loop of its own, on a thread of its own: whatever loops and
    servers other tests left in this process, the gate meets none of them."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failed:
        raise failed[0]


def test_a_throttled_address_waits_for_its_answer_and_others_pass() -> None:
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    blocked = {"addr:127.0.0.9": at.replace(minute=5)}
    gate = throttle.LoginGate(None, clock=lambda: at, blocked=blocked)

    sent, pauses = _gate_answer(gate, "127.0.0.9")
    assert sent[0]["status"] == 429
    assert pauses == [throttle.LoginGate.PAUSE]  # a guesser's retries are slowed down
    assert gate.held == 0

    gate.held = throttle.LoginGate.MAX_HELD  # too many held already: answered at once
    sent, pauses = _gate_answer(gate, "127.0.0.9")
    assert sent[0]["status"] == 429 and pauses == []

    gate.held = 0
    sent, pauses = _gate_answer(gate, "127.0.0.10")
    assert sent == [{"type": "passed to the app"}] and pauses == []


def test_sign_ins_pass_the_gate_one_at_a_time_in_turn() -> None:
    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    gate = throttle.LoginGate(None, clock=lambda: at, blocked={})
    events: list[str] = []

    async def app(scope: dict, _receive: object, _send: object) -> None:
        who = scope["client"][0]
        events.append(f"{who} checked")
        await asyncio.sleep(0.05 if who == "first" else 0)
        events.append(f"{who} answered")

    async def send(message: dict) -> None:
        events.append(f"refused {message['status']}" if "status" in message else "body")

    def attempt(who: str) -> Any:
        return gate({"type": "http", "path": "/v1/login", "client": (who, 1)}, None, send)

    async def three_at_once() -> None:
        gate.app = app
        await asyncio.gather(attempt("first"), attempt("second"), attempt("third"))

    run_alone(three_at_once)
    # Each waited for the one before it, in the order they came.
    assert events == [
        "first checked", "first answered", "second checked", "second answered",
        "third checked", "third answered",
    ]  # fmt: skip
    assert not gate.running and not gate.turns

    events.clear()
    gate.PAUSE = 0.01  # the first takes longer than the others may wait

    async def two_at_once() -> None:
        await asyncio.gather(attempt("first"), attempt("second"))

    run_alone(two_at_once)
    assert events == ["first checked", "refused 429", "body", "first answered"]
    assert not gate.running and not gate.turns


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priority is Linux's")
def test_passwords_are_checked_at_low_priority() -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    checker = accounts._checker.submit(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    ).result()
    assert checker == min(19, mine + accounts.CHECK_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
