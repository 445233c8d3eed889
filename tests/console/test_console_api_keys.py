"""The console's API keys page in a real browser: an admin makes a key (shown once),
it works against the integration API, and revoking it stops it; both are audited."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from harness import HubServer

SHOTS = Path(__file__).resolve().parent.parent.parent / "build" / "screenshots"


def test_an_admin_makes_a_key_sees_it_once_and_revokes_it(
    open_page: Any, signed_in: Any, hub: HubServer
) -> None:
    admin = signed_in("priya@example.com")
    answer = admin.goto("/admin/api-keys")
    assert answer.status == 200
    assert admin.get_by_role("heading", name="API keys").is_visible()

    # A name and no team: refused, saying which, with what was typed kept.
    admin.get_by_label("Name").fill("ERP sync")
    admin.get_by_role("button", name="Make the key").click()
    assert "team: a key needs at least one team" in admin.get_by_role("alert").inner_text()
    assert admin.get_by_label("Name").input_value() == "ERP sync"

    admin.get_by_label("north").check()
    admin.get_by_label("Read and write").check()
    admin.get_by_role("button", name="Make the key").click()
    token = admin.get_by_role("textbox", name="API key", exact=True).input_value()
    assert re.fullmatch(r"tpk_[A-Za-z0-9_-]{43}", token)
    row = admin.get_by_role("row", name=re.compile("ERP sync"))
    assert "write" in row.inner_text() and "north" in row.inner_text()
    assert token not in row.inner_text() and token[:12] in row.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(SHOTS / "console-api-keys.png"), full_page=True)

    # The key works; the page never shows it again.
    api = httpx.Client(base_url=f"{hub.url}/api/v1", headers={"Authorization": f"Bearer {token}"})
    made = api.post("/customers", json={"name": "Console Co"})
    assert made.status_code == 201 and made.json()["team"] == "north"
    admin.goto("/admin/api-keys")
    assert token not in admin.content()
    assert "never" not in admin.get_by_role("row", name=re.compile("ERP sync")).inner_text()

    admin.on("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Revoke API key ERP sync").click()
    admin.wait_for_url(re.compile("done="))
    assert "Revoked API key ERP sync" in admin.get_by_role("status").inner_text()
    assert "revoked" in admin.get_by_role("row", name=re.compile("ERP sync")).inner_text()
    assert api.get("/customers").status_code == 401
    api.close()

    admin.goto("/admin/audit")
    rows = admin.locator("tbody tr").all_inner_texts()
    assert "revoke API key" in rows[0] and "ERP sync" in rows[0] and "console" in rows[0]
    assert "create API key" in rows[1] and "write, north" in rows[1]
    # The API's docs page: readable without any script from elsewhere.
    docs = open_page()
    assert docs.goto("/api/v1/docs").status == 200
    assert docs.get_by_role("heading", name="Integration API").is_visible()
    assert docs.locator("script").count() == 0
    docs.screenshot(path=str(SHOTS / "api-docs.png"))
    # A manager is refused the page.
    manager = signed_in("tom@example.com")
    assert manager.goto("/admin/api-keys").status == 403
