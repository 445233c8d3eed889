"""The console's connectors page: last run, what waits, dead letters and their retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import HubServer

from touchpoint.hub.connectors import bottlecrm, core
from touchpoint.hub.console import audit


def test_admin_sees_dead_letters_and_retries_them(
    signed_in: Any, hub: HubServer, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("bcrm_pat_not-a-real-one")
    token.chmod(0o600)
    # A BottleCRM nobody answers at: the run fails, and is said to have failed.
    c = core.add_connector(
        hub.engine,
        "bottlecrm",
        name="crm",
        url="http://127.0.0.1:9",
        token_file=str(token),
        team="north",
    )
    result = bottlecrm.run_once(hub.engine, c, sleep=lambda _s: None)
    assert not result.ok
    side = core.HubSide(hub.engine, c)
    reason = "BottleCRM refused it (400): {'occurred_at': ['This is more than five minutes ahead']}"
    for _ in range(core.MAX_ATTEMPTS):
        side.fail("out", "interaction", "5b0c2a52-3f43-4f0e-9a55-0d6c1d0e2b11", reason)

    rep = signed_in("maria@example.com")
    assert rep.goto("/admin/connectors").status == 403

    page = signed_in("priya@example.com")
    page.get_by_role("link", name="Connectors").click()
    page.wait_for_url("**/admin/connectors")
    assert page.get_by_role("heading", name="crm (bottlecrm, team north)").is_visible()
    assert "BottleCRM did not answer" in page.locator(".problem").inner_text()
    table = page.get_by_role("table")
    assert table.locator("caption").inner_text() == "1 dead letter"
    row = table.get_by_role("row", name="interaction 5b0c2a52-3f43-4f0e-9a55-0d6c1d0e2b11")
    assert "more than five minutes ahead" in row.inner_text()
    out = Path(__file__).resolve().parent.parent / "screenshots" / "out"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=out / "console-connectors.png", full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Retry the dead letters of crm").click()
    assert page.get_by_role("status").inner_text() == "1 dead letters of crm will be tried again"
    assert page.get_by_role("table").locator("caption").inner_text() == "0 dead letters"
    [waiting] = core.failures(hub.engine, "crm")
    assert not waiting.dead and waiting.attempts == 0
    newest = audit.entries(hub.engine)[0][0]
    assert newest.action == "retry connector dead letters"
    assert newest.who == "priya@example.com" and newest.via == "console"
