"""The console's session cookie: idle timeout, longest life, and what a forged one gets."""

from __future__ import annotations

import time

import pytest

from touchpoint.hub.console.session import IDLE, LONGEST, Session, Signer


def test_a_session_idle_for_thirty_minutes_is_over(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer("k" * 48)
    start = time.time()
    session = Session(7, int(start), "v1", "nonce")
    cookie = signer.issue(session)
    assert signer.read(cookie, start) == session
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: start + IDLE - 5)
    assert signer.read(cookie, start + IDLE - 5) == session
    renewed = signer.issue(session)  # each page signs it again: the idle clock restarts
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: start + IDLE + 5)
    assert signer.read(cookie, start + IDLE + 5) is None
    assert signer.read(renewed, start + IDLE + 5) == session


def test_a_busy_session_still_ends_after_its_longest_life() -> None:
    signer = Signer("k" * 48)
    old = Session(7, int(time.time()) - LONGEST - 1, "v1", "nonce")
    assert signer.read(signer.issue(old), time.time()) is None


def test_another_key_or_a_changed_cookie_is_no_session() -> None:
    cookie = Signer("k" * 48).issue(Session(7, int(time.time()), "v1", "nonce"))
    assert Signer("other" * 10).read(cookie, time.time()) is None
    assert Signer("k" * 48).read(cookie[:-2] + "xx", time.time()) is None


def test_a_csrf_token_belongs_to_its_session() -> None:
    signer = Signer("k" * 48)
    token = signer.csrf_token("nonce-a")
    assert signer.csrf_ok(token, "nonce-a")
    assert not signer.csrf_ok(token, "nonce-b")
    assert not signer.csrf_ok("", "nonce-a")
    assert not signer.csrf_ok(token, None)
