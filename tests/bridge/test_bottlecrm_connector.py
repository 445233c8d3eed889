"""The BottleCRM connector against a real BottleCRM, a real Hub and laptops."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from bottlecrm_server import BottleCRM
from harness import HubServer, Laptop, now_utc
from sqlalchemy import func, select

from touchpoint.hub.connectors import bottlecrm as connector_mod
from touchpoint.hub.connectors import core
from touchpoint.hub.db import changes
from touchpoint.services import interactions
from touchpoint.services.interactions import FollowUpInput

TEAM = "north"


def run(hub: HubServer, c: core.Connector, **options: Any) -> connector_mod.RunResult:
    options.setdefault("sleep", lambda _s: None)
    return connector_mod.run_once(hub.engine, core.get_connector(hub.engine, c.name), **options)


def log_size(hub: HubServer) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(changes)).scalar_one())


def laptop(hub: HubServer, tmp_path: Path, email: str = "maria@example.com") -> Laptop:
    hub.add_user(email, teams=(TEAM,))
    return Laptop(tmp_path / email, email, now_utc, hub)


def customer_named(lap: Laptop, name: str) -> tuple[str, dict[str, Any]]:
    found = [(k[1], v) for k, v in lap.state().items() if k[0] == "customer" and v["name"] == name]
    assert len(found) == 1, f"{len(found)} customers named {name}"
    return found[0]


def new_account(crm: httpx.Client, **fields: Any) -> str:
    answer = crm.post("accounts/", json=fields)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def account_interactions(crm: httpx.Client, account_id: str) -> list[dict[str, Any]]:
    answer = crm.get("interactions/", params={"account": account_id, "limit": 200})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["interactions"])


def account_tasks(crm: httpx.Client, account_id: str) -> list[dict[str, Any]]:
    answer = crm.get("tasks/", params={"account": account_id, "limit": 200})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["tasks"])


def test_accounts_and_contacts_made_in_bottlecrm_reach_a_laptop(
    hub: HubServer, bottlecrm: BottleCRM, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(
        crm,
        name="Acme Hydraulics",
        email="info@acme.test",
        phone="+441134960000",
        website="https://acme.test",
        industry="MANUFACTURING",
        city="Leeds",
        postcode="LS1 4AP",
        address_line="1 Wharf St",
    )
    new_account(crm, name="Brill Logistics")
    answer = crm.post(
        "contacts/",
        json={"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.test", "account": acme},
    )
    assert answer.status_code == 200, answer.text

    first = run(hub, connector)
    assert first.ok, first.errors
    assert first.counts == {"customer in": 2, "contact in": 1}
    size = log_size(hub)
    again = run(hub, connector)
    assert again.counts == {} and log_size(hub) == size  # nothing taken in twice

    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, customer = customer_named(maria, "Acme Hydraulics")
    assert customer["website"] == "https://acme.test"
    assert customer["industry"] == "MANUFACTURING"
    assert customer["emails"] == [{"label": "work", "value": "info@acme.test"}]
    assert customer["phones"] == [{"label": "work", "value": "+441134960000"}]
    assert customer["addresses"][0]["city"] == "Leeds"
    assert customer["addresses"][0]["street"] == "1 Wharf St"
    customer_named(maria, "Brill Logistics")
    people = [v for k, v in maria.state().items() if k[0] == "contact"]
    assert [(p["name"], p["customer_id"]) for p in people] == [("Ann Lee", customer_id)]
    maria.close()


def test_a_visit_and_a_promise_logged_offline_reach_bottlecrm_once(
    hub: HubServer, bottlecrm: BottleCRM, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics")
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, _ = customer_named(maria, "Acme Hydraulics")
    # Offline: logged on the laptop, nothing sent until the laptop syncs.
    due = now_utc() + timedelta(days=3)
    interactions.log_interaction(
        maria.ws,
        customer=customer_id,
        kind="visit",
        subject="Site visit",
        notes="Walked the warehouse",
        satisfaction=4,
        feedback="Happy with the last delivery",
        followups=[FollowUpInput(title="Send the price list", due=due, priority="high")],
    )
    assert run(hub, connector).counts == {}
    assert account_interactions(crm, acme) == []
    maria.sync()

    result = run(hub, connector)
    assert result.ok, result.errors
    assert result.counts == {"interaction created": 1, "followup created": 1}
    [visit] = account_interactions(crm, acme)
    assert visit["kind"] == "meeting" and visit["subject"] == "Site visit"
    assert "Walked the warehouse" in visit["body"] and "Satisfaction: 4/5" in visit["body"]
    assert "Happy with the last delivery" in visit["body"]
    [task] = account_tasks(crm, acme)
    assert task["title"] == "Send the price list"
    assert task["priority"] == "High" and task["status"] == "New"
    assert task["due_date"] == due.date().isoformat()

    assert run(hub, connector).counts == {}
    assert len(account_interactions(crm, acme)) == 1 and len(account_tasks(crm, acme)) == 1
    maria.close()
