"""Console tests: a real Hub on 127.0.0.1 (SQLite) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))
from browser import sign_in
from harness import PASSWORD, HubServer, RunningClock, midweek_noon, start_hub

# Debian's headless shell (package chromium-headless-shell): the same Blink and V8 as its
# Chromium without the desktop browser around them, at less than half the CPU per page
# and per screenshot. The full Chromium where only it is installed.
CHROMIUM = os.environ.get("TOUCHPOINT_CHROMIUM") or next(
    (p for p in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if Path(p).is_file()),
    "/usr/bin/chromium",
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    monkeypatch.setenv("TOUCHPOINT_HUB_SECRET", "console-test-secret-" + "x" * 32)
    monkeypatch.setenv("TOUCHPOINT_HUB_AUDIT_LOG", str(tmp_path / "log" / "audit.jsonl"))
    # The Hub's day and week are pinned (midweek, at noon): pages counting "today" and
    # "this week" show the same at whatever hour and weekday the tests run. Laptops in
    # these tests start from ``hub.now()``.
    server, stop = start_hub("sqlite", tmp_path, clock=RunningClock(midweek_noon()))
    server.add_user("maria@example.com", "rep", ("north",))
    server.add_user("ben@example.com", "rep", ("north",))
    server.add_user("sara@example.com", "rep", ("south",))
    server.add_user("tom@example.com", "manager", ("north",))
    server.add_user("priya@example.com", "admin", ())
    yield server
    stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium-headless-shell)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Any, hub: HubServer) -> Iterator[Any]:
    """A function giving a page in a fresh browser context (own cookies)."""
    contexts = []

    def make(color_scheme: str = "light", width: int = 1280) -> Any:
        context = browser.new_context(
            base_url=hub.url, color_scheme=color_scheme, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(open_page: Any) -> Any:
    """``signed_in("tom@example.com")``: a page of its own browser context, signed in
    through the sign-in form as that user (other ``open_page`` options pass through)."""

    def make(email: str, password: str = PASSWORD, **options: Any) -> Any:
        return sign_in(open_page(**options), email, password)

    return make
