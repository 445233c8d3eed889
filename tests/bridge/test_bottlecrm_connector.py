"""The BottleCRM connector against a real BottleCRM, a real Hub and laptops."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from bottlecrm_server import BottleCRM, Organisation
from click.testing import CliRunner
from harness import HubServer, Laptop, backends, now_utc
from sqlalchemy import func, select

from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.connectors import bottlecrm as connector_mod
from touchpoint.hub.connectors import core
from touchpoint.hub.db import changes
from touchpoint.services import customers, followups, interactions
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


@pytest.mark.parametrize("hub", backends(), indirect=True)
def test_accounts_and_contacts_made_in_bottlecrm_reach_a_laptop(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
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


@pytest.mark.parametrize("hub", backends(), indirect=True)
def test_a_visit_and_a_promise_logged_offline_reach_bottlecrm_once(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
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

    # The promise kept: the task is completed in BottleCRM, once.
    followup_id = next(k[1] for k in maria.state() if k[0] == "followup")
    followups.complete_followup(maria.ws, followup_id)
    maria.sync()
    assert run(hub, connector).counts == {"followup updated": 1}
    assert run(hub, connector).counts == {}
    [task] = account_tasks(crm, acme)
    assert task["status"] == "Completed" and task["title"] == "Send the price list"
    maria.close()


def record_changes(hub: HubServer, record_id: str) -> int:
    with hub.engine.connect() as conn:
        query = select(func.count()).select_from(changes).where(changes.c.record_id == record_id)
        return int(conn.execute(query).scalar_one())


def only(lap: Laptop, entity: str) -> tuple[str, dict[str, Any]]:
    [found] = [(k[1], v) for k, v in lap.state().items() if k[0] == entity]
    return found


def test_an_edit_on_either_side_arrives_once(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics", phone="+441134960000")
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, _ = customer_named(maria, "Acme Hydraulics")
    interactions.log_interaction(maria.ws, customer=customer_id, kind="call", subject="First call")
    maria.sync()
    run(hub, connector)

    # BottleCRM's side: a new phone number reaches the laptop, as one change.
    before = record_changes(hub, customer_id)
    answer = crm.put(
        f"accounts/{acme}/", json={"name": "Acme Hydraulics", "phone": "+441134961111"}
    )
    assert answer.status_code == 200, answer.text
    assert run(hub, connector).counts == {"customer in": 1}
    assert run(hub, connector).counts == {}
    assert record_changes(hub, customer_id) == before + 1
    maria.sync()
    assert customer_named(maria, "Acme Hydraulics")[1]["phones"] == [
        {"label": "work", "value": "+441134961111"}
    ]

    # Touchpoint's side: the interaction corrected and the website added on the laptop.
    interaction_id, _ = only(maria, "interaction")
    interactions.edit_interaction(
        maria.ws, interaction_id, {"subject": "First call (corrected)", "notes": "Wants a demo"}
    )
    customers.edit_customer(maria.ws, customer_id, {"website": "https://acme.test"})
    maria.sync()
    result = run(hub, connector)
    assert result.counts == {"interaction updated": 1, "customer updated": 1}, result.errors
    assert run(hub, connector).counts == {}
    [call] = account_interactions(crm, acme)
    assert call["subject"] == "First call (corrected)" and "Wants a demo" in call["body"]
    account = crm.get(f"accounts/{acme}/").json()
    account = account.get("account_obj", account)
    assert account["website"] == "https://acme.test"
    assert account["phone"] == "+441134961111"  # BottleCRM's own edit kept
    # The website sent out does not come back in as a change of its own.
    before = record_changes(hub, customer_id)
    assert run(hub, connector).counts == {}
    assert record_changes(hub, customer_id) == before
    maria.close()


def test_a_delete_on_either_side_arrives_once(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics")
    gone = new_account(crm, name="Gone Ltd")
    answer = crm.post("contacts/", json={"first_name": "Lee", "last_name": "Gone", "account": acme})
    assert answer.status_code == 200, answer.text
    contact = answer.json()["id"]
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    acme_id, _ = customer_named(maria, "Acme Hydraulics")
    gone_id, _ = customer_named(maria, "Gone Ltd")
    saved = interactions.log_interaction(maria.ws, customer=acme_id, kind="call", subject="Hi")
    maria.sync()
    run(hub, connector)
    assert len(account_interactions(crm, acme)) == 1

    # Deleted in BottleCRM (a hard delete, no tombstone): the customer goes, once.
    assert crm.delete(f"accounts/{gone}/").status_code == 200
    assert run(hub, connector).counts == {"customer deleted": 1}
    assert run(hub, connector).counts == {}
    assert record_changes(hub, gone_id) == 2  # made, then deleted
    maria.sync()
    assert maria.state()[("customer", gone_id)]["deleted_at"] is not None
    contact_id, _ = only(maria, "contact")
    assert crm.delete(f"contacts/{contact}/").status_code == 200
    assert run(hub, connector).counts == {"contact deleted": 1}
    assert run(hub, connector).counts == {}
    maria.sync()
    assert maria.state()[("contact", contact_id)]["deleted_at"] is not None

    # Deleted in Touchpoint: the interaction goes from BottleCRM, once.
    interaction_id = saved.value.interaction.id
    interactions.delete_interaction(maria.ws, interaction_id)
    maria.sync()
    assert run(hub, connector).counts == {"interaction deleted": 1}
    assert run(hub, connector).counts == {}
    assert account_interactions(crm, acme) == []
    maria.close()


KILL_RUN = """
import os, signal, sys
from touchpoint.hub.connectors import bottlecrm, core
from touchpoint.hub.db import make_engine

engine = make_engine(sys.argv[1])
at = int(sys.argv[3])
bottlecrm.SENDERS = 1  # one request at a time: the kill falls after exactly `at` writes

def on_sent(n):
    if n == at:  # BottleCRM has the record, the id map does not know it yet
        os.kill(os.getpid(), signal.SIGKILL)

bottlecrm.run_once(engine, core.get_connector(engine, sys.argv[2]), on_sent=on_sent)
"""


def test_a_connector_killed_mid_run_resumes_without_duplicates(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics")
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, _ = customer_named(maria, "Acme Hydraulics")
    for i in range(6):
        interactions.log_interaction(
            maria.ws, customer=customer_id, kind="call", subject=f"Call {i}"
        )
    maria.sync()

    env = {**os.environ, "PYTHONPATH": str(Path(core.__file__).parents[3])}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_RUN, hub.db_url, connector.name, "3"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    # Killed when BottleCRM had made the third, before the id map knew of any of the
    # three (it is written in batches).
    assert len(account_interactions(crm, acme)) == 3

    result = run(hub, connector)
    # Those already in BottleCRM are found by their marker, not made again.
    assert result.counts == {"interaction linked": 3, "interaction created": 3}, result.errors
    subjects = sorted(i["subject"] for i in account_interactions(crm, acme))
    assert subjects == [f"Call {i}" for i in range(6)]
    assert run(hub, connector).counts == {}
    maria.close()


def test_bottlecrm_down_means_retries_then_dead_letters_and_nothing_lost(
    hub: HubServer, own_bottlecrm: BottleCRM, connector: core.Connector, tmp_path: Path
) -> None:
    crm = own_bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics")
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, _ = customer_named(maria, "Acme Hydraulics")
    interactions.log_interaction(maria.ws, customer=customer_id, kind="visit", subject="Visit")
    maria.sync()

    own_bottlecrm.stop()
    waits: list[float] = []
    for attempt in range(1, core.MAX_ATTEMPTS + 1):
        result = run(hub, connector, sleep=waits.append)
        assert not result.ok
        assert "BottleCRM did not answer" in result.errors[-1]
        [failure] = core.failures(hub.engine, connector.name)
        assert failure.attempts == attempt and failure.dead == (attempt == core.MAX_ATTEMPTS)
    assert waits and waits[:2] == [0.5, 1.0]  # each request retried with backoff
    # A failed listing never reads as deletes.
    assert maria.state()[("customer", customer_id)]["deleted_at"] is None
    run(hub, connector, sleep=waits.append)
    assert core.failures(hub.engine, connector.name)[0].attempts == core.MAX_ATTEMPTS  # dead

    status = CliRunner().invoke(hub_cli, ["connector", "status", "--db", hub.db_url])
    assert status.exit_code == 0, status.output
    assert "dead letters: 1" in status.output
    assert "out interaction" in status.output and "BottleCRM did not answer" in status.output

    own_bottlecrm.start()
    retried = CliRunner().invoke(hub_cli, ["connector", "retry", "bottlecrm", "--db", hub.db_url])
    assert retried.exit_code == 0, retried.output
    result = run(hub, connector)
    assert result.ok, result.errors
    assert result.counts == {"interaction created": 1}
    assert [i["subject"] for i in account_interactions(own_bottlecrm.client(), acme)] == ["Visit"]
    assert core.failures(hub.engine, connector.name) == []
    maria.close()


def test_connector_commands(hub: HubServer, bottlecrm: Organisation, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(bottlecrm.token)
    token.chmod(0o644)
    cli = CliRunner()
    args = ["connector", "add", "bottlecrm", "--url", bottlecrm.url, "--team", TEAM]
    refused = cli.invoke(hub_cli, [*args, "--token-file", str(token), "--db", hub.db_url])
    assert refused.exit_code == 1
    assert "may be read by other users" in refused.output and "chmod 600" in refused.output
    token.chmod(0o600)
    added = cli.invoke(hub_cli, [*args, "--token-file", str(token), "--db", hub.db_url])
    assert added.exit_code == 0, added.output
    assert bottlecrm.token not in added.output
    new_account(bottlecrm.client(), name="Acme Hydraulics")
    ran = cli.invoke(hub_cli, ["connector", "run", "--db", hub.db_url])
    assert ran.exit_code == 0, ran.output
    assert "1 customer in" in ran.output
    status = cli.invoke(hub_cli, ["connector", "status", "--db", hub.db_url])
    assert "last run moved: 1 customer in" in status.output
    assert "dead letters: 0" in status.output
    # The connector's Hub account cannot sign in, nor be enrolled.
    enrolled = cli.invoke(hub_cli, ["enroll", "bottlecrm@connector.invalid", "--db", hub.db_url])
    assert enrolled.exit_code == 1 and "account of an API key or a connector" in enrolled.output
    answer = httpx.post(
        f"{hub.url}/v1/login",
        json={"email": "bottlecrm@connector.invalid", "password": "", "device_id": "x"},
    )
    assert answer.status_code != 200


def test_a_customer_made_on_a_laptop_gets_an_account_for_its_visit(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    maria = laptop(hub, tmp_path)
    made = customers.create_customer(
        maria.ws,
        {"name": "Ceto Foods", "website": "https://ceto-foods.com", "status": "active",
         "emails": [{"label": "work", "value": "hello@ceto-foods.com"}]},
    )  # fmt: skip
    interactions.log_interaction(maria.ws, customer=made.value.id, kind="visit", subject="Intro")
    maria.sync()
    result = run(hub, connector)
    assert result.counts == {"customer created": 1, "interaction created": 1}, result.errors
    crm = bottlecrm.client()
    listed = crm.get("accounts/", params={"name": "Ceto Foods"}).json()
    [account] = listed["active_accounts"]["open_accounts"]
    assert account["website"] == "https://ceto-foods.com"
    assert account["email"] == "hello@ceto-foods.com"
    assert [i["subject"] for i in account_interactions(crm, account["id"])] == ["Intro"]
    # The account it made is not taken back in as a new customer.
    size = log_size(hub)
    assert run(hub, connector).counts == {}
    assert log_size(hub) == size
    maria.sync()
    assert [v["name"] for k, v in maria.state().items() if k[0] == "customer"] == ["Ceto Foods"]
    maria.close()


def test_when_both_sides_change_a_customer_field_bottlecrm_wins(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    crm = bottlecrm.client()
    acme = new_account(crm, name="Acme Hydraulics", website="https://acme.example.com")
    run(hub, connector)
    maria = laptop(hub, tmp_path)
    maria.sync()
    customer_id, _ = customer_named(maria, "Acme Hydraulics")
    customers.edit_customer(
        maria.ws, customer_id, {"website": "https://maria.example.com", "segment": "Key account"}
    )
    maria.sync()
    edit = {"name": "Acme Hydraulics", "website": "https://crm.example.com"}
    assert crm.put(f"accounts/{acme}/", json=edit).status_code == 200

    result = run(hub, connector)
    assert result.counts == {"customer in": 1}, result.errors  # nothing sent back out
    assert run(hub, connector).counts == {}
    account = crm.get(f"accounts/{acme}/").json()
    assert account.get("account_obj", account)["website"] == "https://crm.example.com"
    maria.sync()
    _, customer = customer_named(maria, "Acme Hydraulics")
    assert customer["website"] == "https://crm.example.com"
    assert customer["segment"] == "Key account"  # Touchpoint's own field kept
    maria.close()


def test_a_run_killed_after_making_an_account_makes_no_second_customer(
    hub: HubServer, bottlecrm: Organisation, connector: core.Connector, tmp_path: Path
) -> None:
    maria = laptop(hub, tmp_path)
    made = customers.create_customer(maria.ws, {"name": "Ceto Foods"})
    interactions.log_interaction(maria.ws, customer=made.value.id, kind="visit", subject="Intro")
    maria.sync()
    env = {**os.environ, "PYTHONPATH": str(Path(core.__file__).parents[3])}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_RUN, hub.db_url, connector.name, "1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    crm = bottlecrm.client()
    [account] = crm.get("accounts/", params={"name": "Ceto"}).json()["active_accounts"][
        "open_accounts"
    ]

    # The next run reads BottleCRM first: the account the killed run made is this
    # customer, not a new one; then the visit goes out to it.
    result = run(hub, connector)
    assert result.ok, result.errors
    assert result.counts == {"interaction created": 1}
    assert [i["subject"] for i in account_interactions(crm, account["id"])] == ["Intro"]
    listed = crm.get("accounts/", params={"name": "Ceto"}).json()["active_accounts"]
    assert listed["open_accounts_count"] == 1
    maria.sync()
    assert [v["name"] for k, v in maria.state().items() if k[0] == "customer"] == ["Ceto Foods"]
    maria.close()
