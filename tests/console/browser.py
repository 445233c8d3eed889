"""Steps the console's browser tests share."""

from __future__ import annotations

from typing import Any

from harness import PASSWORD


def sign_in(page: Any, email: str, password: str = PASSWORD) -> Any:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


def http_client(url: str, email: str, password: str = PASSWORD) -> Any:
    """An httpx client signed in through the sign-in form (for many requests at once,
    which one browser page does not send)."""
    import re

    import httpx

    client = httpx.Client(base_url=url, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert token is not None
    answer = client.post("/", data={"email": email, "password": password, "csrf": token[1]})
    assert answer.status_code == 303, answer.status_code
    return client
