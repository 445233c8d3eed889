"""Cookie flags and headers that a plain-http browser test cannot show: Secure over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from harness import PASSWORD

from touchpoint.hub import accounts
from touchpoint.hub.app import create_app
from touchpoint.hub.db import make_engine, upgrade


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("TOUCHPOINT_HUB_SECRET", "s" * 48)
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    accounts.add_user(engine, "maria@example.com", PASSWORD, "rep", ["north"])
    return TestClient(create_app(engine), base_url="https://hub.example.com")


def test_over_https_the_session_cookie_is_secure_httponly_and_strict(client: TestClient) -> None:
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/",
        data={"email": "maria@example.com", "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("tp_console="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=strict"} <= flags
    assert "max-age=1800" in flags  # the idle timeout
    assert PASSWORD not in answer.text


def test_a_tampered_session_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set("tp_console", "eyJ1IjoxfQ.forged.signature", domain="hub.example.com")
    answer = client.get("/devices", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
