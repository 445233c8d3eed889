"""The console's webhooks pages in a real browser: add, see the log, replay, pause."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from harness import Clock, HubServer, Laptop

from touchpoint.hub import webhooks
from touchpoint.hub.console import audit
from touchpoint.services import customers, interactions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hub"))
from test_webhooks import documented_verify
from webhook_receiver import Receiver, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_an_admin_adds_a_webhook_sees_a_failed_delivery_and_replays_it(
    signed_in: Any, hub: HubServer, tmp_path: Path
) -> None:
    out = Path(os.environ.get("TOUCHPOINT_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()  # the receiver is down at first
    page = signed_in("priya@example.com")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill(f"http://127.0.0.1:{port}/hook")
    page.get_by_label("interaction.created").check()
    page.get_by_role("group", name="Teams").get_by_label("north").check()
    page.get_by_role("button", name="Add webhook").click()
    assert page.get_by_role("status").inner_text().startswith("Added webhook 1")
    secret = page.get_by_test_id("secret").inner_text()
    assert secret.startswith("whsec_")
    page.screenshot(path=out / "webhooks-added.png", full_page=True)
    row = page.get_by_role("row", name=f"http://127.0.0.1:{port}/hook")
    assert "interaction.created" in row.inner_text() and "north" in row.inner_text()
    page.goto("/admin/webhooks")  # the secret is shown once
    assert secret not in page.content()

    maria = Laptop(tmp_path / "maria", "maria@example.com", Clock(hub.now()), hub)
    acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
    interactions.log_interaction(maria.ws, customer=acme, kind="visit", notes="first visit")
    maria.sync()
    maria.close()
    clock = Clock(hub.now())
    with webhooks.Dispatcher(hub.engine, now=clock) as dispatcher:
        assert dispatcher.run_once().retrying == 1
        clock.advance(hours=25)
        assert dispatcher.run_once().failed == 1

    page.goto("/admin/webhooks")
    assert "1" in page.get_by_role("row", name=f"http://127.0.0.1:{port}/hook").inner_text()
    page.get_by_role("link", name=f"http://127.0.0.1:{port}/hook").click()
    assert page.get_by_role("heading", name="Webhook 1").is_visible()
    delivery = page.get_by_role("row", name="interaction.created")
    assert "failed" in delivery.inner_text() and "could not connect" in delivery.inner_text()
    page.screenshot(path=out / "webhook-failed.png", full_page=True)

    receiver = Receiver(port=port).start()
    try:
        page.once("dialog", lambda dialog: dialog.accept())
        delivery.get_by_role("button", name="Replay").click()
        page.wait_for_url("**/admin/webhooks/1?done=*")
        assert "will be sent again" in page.get_by_role("status").inner_text()
        with webhooks.Dispatcher(hub.engine) as dispatcher:
            assert dispatcher.run_once().delivered == 1
        [got] = receiver.got
    finally:
        receiver.stop()
    verify = documented_verify(ROOT / "docs" / "webhooks.md")
    assert verify(secret, got.body, got.headers["Touchpoint-Signature"])  # the console's secret
    assert json.loads(got.body)["data"]["object"]["notes"] == "first visit"
    page.reload()
    delivered = page.get_by_role("row", name="interaction.created")
    assert "delivered" in delivered.inner_text() and " 200 " in delivered.inner_text()
    page.screenshot(path=out / "webhook-delivered.png", full_page=True)

    page.goto("/admin/webhooks")
    page.get_by_role("button", name="Pause webhook 1").click()
    assert page.get_by_role("status").inner_text() == "Webhook 1 paused."
    assert webhooks.get_endpoint(hub.engine, 1).state == "paused"
    actions = [(e.action, e.who, e.via) for e in audit.entries(hub.engine)[0]]
    assert actions[:3] == [
        ("pause webhook", "priya@example.com", "console"),
        ("replay webhook delivery", "priya@example.com", "console"),
        ("add webhook", "priya@example.com", "console"),
    ]

    # A bad URL is refused with its reason, the form kept as typed.
    page.get_by_label("URL").fill("http://user:pw@example.com/hook")
    page.get_by_label("deal.created").check()
    page.get_by_role("group", name="Teams").get_by_label("Every team").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add webhook").click()
    assert answer.value.status == 422
    assert "user name or password" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("deal.created").is_checked()

    rep = signed_in("maria@example.com")
    assert rep.goto("/admin/webhooks").status == 403
    assert rep.goto("/admin/webhooks/1").status == 403

    # Removing asks first, then takes the endpoint and its log away, audited.
    page.goto("/admin/webhooks")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.get_by_role("button", name="Remove webhook 1").click()
    assert asked and "Remove webhook 1" in asked[0]
    assert page.get_by_role("status").inner_text() == "Webhook 1 removed."
    assert webhooks.list_endpoints(hub.engine) == []
    newest = audit.entries(hub.engine)[0][0]
    assert (newest.action, newest.target, newest.via) == ("remove webhook", "1", "console")
