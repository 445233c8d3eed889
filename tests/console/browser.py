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
