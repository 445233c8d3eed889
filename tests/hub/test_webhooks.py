"""Signed webhooks: a real Hub on 127.0.0.1, laptops pushing, and a real receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from harness import Clock, HubServer, Laptop, now_utc
from webhook_receiver import Receiver, free_port

from touchpoint.hub import webhooks
from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.console import audit
from touchpoint.services import customers, followups, interactions
from touchpoint.services.interactions import FollowUpInput

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_test-secret-of-the-receiver"


def documented_verify(source: Path) -> Callable[..., bool]:
    """The verification example of the documentation, run as it is written there."""
    text = source.read_text(encoding="utf-8")
    block = re.search(r"```python\n(import hashlib.*?def verify.*?)```", text, re.S)
    assert block, f"no verification example in {source.name}"
    space: dict[str, Any] = {}
    exec(block.group(1), space)
    return space["verify"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def people(hub: HubServer) -> HubServer:
    hub.add_user("maria@example.com", "rep", ("north",))
    hub.add_user("sara@example.com", "rep", ("south",))
    return hub


def laptop(tmp_path: Path, hub: HubServer, email: str) -> Laptop:
    return Laptop(tmp_path / email.split("@", maxsplit=1)[0], email, Clock(now_utc()), hub)


def visit(rep: Laptop, customer_name: str, notes: str, **kw: Any) -> str:
    acme = customers.create_customer(rep.ws, {"name": customer_name}).value.id
    return interactions.log_interaction(
        rep.ws, customer=acme, kind="visit", notes=notes, **kw
    ).value.interaction.id


def add(hub: HubServer, url: str, events: str, teams: tuple[str, ...] | None = ("north",)) -> int:
    endpoint_id, _ = webhooks.add_endpoint(
        hub.engine,
        url,
        events,
        team_names=None if teams is None else list(teams),
        secret=SECRET,
        created_by="test",
    )
    return endpoint_id


def test_a_laptops_push_reaches_the_receiver_once_signed_and_only_for_its_teams(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    add(people, receiver.url, "interaction.created,followup.completed")
    maria, sara = (
        laptop(tmp_path, people, "maria@example.com"),
        laptop(tmp_path, people, "sara@example.com"),
    )
    made = interactions.log_interaction(
        maria.ws,
        customer=customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id,
        kind="visit",
        notes="met the buyer",
        followups=[FollowUpInput(title="Send the quote", due="tomorrow")],
    ).value
    visit(sara, "Südwerk AG", "another team's visit")
    maria.sync()
    sara.sync()

    dispatcher = webhooks.Dispatcher(people.engine)
    try:
        assert dispatcher.run_once().delivered == 1
        assert dispatcher.run_once().delivered == 0  # nothing twice
        [got] = receiver.got
        verify = documented_verify(ROOT / "docs" / "webhooks.md")
        assert verify(SECRET, got.body, got.headers["Touchpoint-Signature"])
        assert not verify("another secret", got.body, got.headers["Touchpoint-Signature"])
        assert not verify(SECRET, got.body + b" ", got.headers["Touchpoint-Signature"])
        event = json.loads(got.body)
        assert event["type"] == got.headers["Touchpoint-Event"] == "interaction.created"
        assert event["team"] == "north" and event["author"] == "maria@example.com"
        assert event["data"]["object"]["id"] == made.interaction.id
        assert event["data"]["object"]["notes"] == "met the buyer"

        # Completing the promise on the laptop: one followup.completed, nothing else.
        followups.complete_followup(maria.ws, made.followups[0].id)
        maria.sync()
        assert dispatcher.run_once().delivered == 1
        done = json.loads(receiver.got[1].body)
        assert done["type"] == "followup.completed"
        assert done["data"]["object"]["status"] == "done"
        assert receiver.got[1].headers["Touchpoint-Delivery"] != got.headers["Touchpoint-Delivery"]
    finally:
        dispatcher.close()
        maria.close()
        sara.close()


def test_the_readme_shows_the_same_verification_as_the_docs() -> None:
    readme = documented_verify(ROOT / "README.md")
    docs = documented_verify(ROOT / "docs" / "webhooks.md")
    assert readme.__code__.co_code == docs.__code__.co_code
    body, t = b'{"id":"1"}', int(now_utc().timestamp())
    header = webhooks.signature(SECRET, body, t)
    assert readme(SECRET, body, header) and docs(SECRET, body, header)
    # Made six minutes ago: outside the five minutes' tolerance.
    assert not docs(SECRET, body, webhooks.signature(SECRET, body, t - 360))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={t},v1={expected}"


def test_a_failed_answer_is_retried_with_backoff_and_delivered_once(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.answers = [500, 503]
    endpoint = add(people, receiver.url, "interaction.*")
    maria = laptop(tmp_path, people, "maria@example.com")
    visit(maria, "Acme GmbH", "first visit")
    maria.sync()
    clock = Clock(now_utc())
    with webhooks.Dispatcher(people.engine, now=clock) as dispatcher:
        assert dispatcher.run_once().retrying == 1
        assert dispatcher.run_once().retrying == 0  # not due again yet (about 30 s)
        clock.advance(seconds=37)
        assert dispatcher.run_once().retrying == 1
        clock.advance(seconds=40)
        assert dispatcher.run_once().retrying == 0  # about a minute after the second try
        clock.advance(seconds=40)
        assert dispatcher.run_once().delivered == 1
        clock.advance(hours=2)
        assert dispatcher.run_once().delivered == 0
    assert len(receiver.got) == 3
    assert len({r.headers["Touchpoint-Delivery"] for r in receiver.got}) == 1
    assert len({r.body for r in receiver.got}) == 1  # the same bytes each time
    [logged], more = webhooks.deliveries(people.engine, endpoint)
    assert more == 0 and logged.status == "delivered" and logged.attempts == 3
    assert [(a.code, a.reason) for a in logged.tries] == [
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (200, "delivered"),
    ]
    assert all(a.duration_ms >= 0 for a in logged.tries)
    maria.close()


def test_a_receiver_down_for_a_day_fails_then_a_replay_delivers(
    people: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    endpoint = add(people, f"http://127.0.0.1:{port}/hook", "interaction.created")
    maria = laptop(tmp_path, people, "maria@example.com")
    visit(maria, "Acme GmbH", "first visit")
    maria.sync()
    clock = Clock(now_utc())
    with webhooks.Dispatcher(people.engine, now=clock) as dispatcher:
        tries = 0
        for _ in range(300):  # a day and more of passes, one every ten minutes
            done = dispatcher.run_once()
            tries += done.retrying + done.failed
            if done.failed:
                break
            clock.advance(minutes=10)
        else:
            pytest.fail("still retried after a day")
    [failed], _ = webhooks.deliveries(people.engine, endpoint)
    assert failed.status == "failed"
    assert timedelta(hours=24) <= clock.current - now_utc() + timedelta(minutes=10)
    assert 10 < failed.attempts == tries < 60  # backoff: tens of tries in a day, not hundreds
    assert failed.tries[0].code is None and "could not connect" in failed.tries[0].reason

    runner = CliRunner()
    shown = runner.invoke(hub_cli, ["webhook", "deliveries", str(endpoint), "--db", people.db_url])
    assert shown.exit_code == 0 and failed.id in shown.output and "failed" in shown.output
    replayed = runner.invoke(hub_cli, ["webhook", "replay", failed.id, "--db", people.db_url])
    assert replayed.exit_code == 0, replayed.output
    again = runner.invoke(hub_cli, ["webhook", "replay", failed.id, "--db", people.db_url])
    assert again.exit_code == 1 and "still being tried" in again.output
    receiver = Receiver(port=port).start()
    try:
        delivered = runner.invoke(hub_cli, ["webhook", "deliver", "--db", people.db_url])
        assert delivered.output.strip() == "1 delivered, 0 to retry, 0 failed"
        [got] = receiver.got
        assert got.headers["Touchpoint-Delivery"] == failed.id
    finally:
        receiver.stop()
    [logged], _ = webhooks.deliveries(people.engine, endpoint)
    assert logged.status == "delivered" and logged.tries[-1].code == 200
    assert any(
        e.action == "replay webhook delivery" and failed.id in e.target
        for e in audit.entries(people.engine)[0]
    )
    maria.close()


def test_two_dispatchers_at_once_never_send_an_event_twice(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    add(people, receiver.url, "*")
    maria = laptop(tmp_path, people, "maria@example.com")
    for n in range(12):
        visit(maria, f"Customer {n}", f"visit {n}")
    maria.sync()
    expected = 24  # each customer and each interaction created
    one, two = webhooks.Dispatcher(people.engine), webhooks.Dispatcher(people.engine)
    start = threading.Barrier(2)

    def run(d: webhooks.Dispatcher) -> None:
        start.wait()
        for _ in range(3):
            d.run_once()

    threads = [threading.Thread(target=run, args=(d,)) for d in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    one.close()
    two.close()
    ids = [json.loads(r.body)["id"] for r in receiver.got]
    assert len(ids) == expected and len(set(ids)) == expected


def test_a_slow_receiver_does_not_hold_up_another_endpoint(
    people: HubServer, tmp_path: Path
) -> None:
    held = threading.Event()
    slow, fast = Receiver(hold=held).start(), Receiver().start()
    add(people, slow.url, "interaction.created")
    add(people, fast.url, "interaction.created")
    maria = laptop(tmp_path, people, "maria@example.com")
    for n in range(3):
        visit(maria, f"Customer {n}", f"visit {n}")
    maria.sync()
    dispatcher = webhooks.Dispatcher(people.engine, poll=0.05).start()
    try:
        slow.wait_for(1)
        # The slow receiver still holds its first delivery: the other has all three.
        assert len(fast.wait_for(3)) == 3
        assert not held.is_set() and len(slow.got) == 1
        held.set()
        assert len(slow.wait_for(3)) == 3
    finally:
        held.set()
        dispatcher.close()
        slow.stop()
        fast.stop()
        maria.close()


def test_a_paused_endpoint_gets_what_waited_when_resumed(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    endpoint = add(people, receiver.url, "interaction.created", teams=None)
    webhooks.set_state(people.engine, endpoint, "paused")
    maria, sara = (
        laptop(tmp_path, people, "maria@example.com"),
        laptop(tmp_path, people, "sara@example.com"),
    )
    visit(maria, "Acme GmbH", "north visit")
    visit(sara, "Südwerk AG", "south visit")
    maria.sync()
    sara.sync()
    with webhooks.Dispatcher(people.engine) as dispatcher:
        assert dispatcher.run_once().delivered == 0
        webhooks.set_state(people.engine, endpoint, "active")
        assert dispatcher.run_once().delivered == 2  # every team's, as asked
    teams = sorted(json.loads(r.body)["team"] for r in receiver.got)
    assert teams == ["north", "south"]
    maria.close()
    sara.close()


def test_a_redirect_is_not_followed(people: HubServer, receiver: Receiver, tmp_path: Path) -> None:
    receiver.answers = [301]
    endpoint = add(people, receiver.url, "interaction.created")
    maria = laptop(tmp_path, people, "maria@example.com")
    visit(maria, "Acme GmbH", "first visit")
    maria.sync()
    with webhooks.Dispatcher(people.engine) as dispatcher:
        assert dispatcher.run_once().retrying == 1
    [logged], _ = webhooks.deliveries(people.engine, endpoint)
    assert logged.last_code == 301 and "not followed" in (logged.last_reason or "")
    maria.close()


def test_only_one_dispatcher_holds_the_lease(people: HubServer) -> None:
    clock = Clock(now_utc())
    one = webhooks.Dispatcher(people.engine, now=clock)
    two = webhooks.Dispatcher(people.engine, now=clock)
    assert one.holds_lease() and not two.holds_lease()
    assert one.holds_lease()  # renewed
    clock.advance(minutes=1)  # the holder stopped renewing (a crashed worker)
    assert two.holds_lease() and not one.holds_lease()
    two.close()  # gives the lease up
    assert one.holds_lease()
    one.close()


@pytest.mark.parametrize(
    ("entity", "op", "fields", "events"),
    [
        ("interaction", "insert", {"notes": "x"}, ["interaction.created"]),
        ("interaction", "update", {"notes": "y"}, ["interaction.updated"]),
        ("interaction", "delete", {"deleted_at": "2026-12-06T09:00:00Z"}, ["interaction.deleted"]),
        ("interaction", "restore", {"deleted_at": None}, ["interaction.updated"]),
        ("followup", "update", {"status": "done"}, ["followup.updated", "followup.completed"]),
        ("followup", "update", {"status": "open"}, ["followup.updated"]),
        (
            "customer",
            "delete",
            {"merged_into_id": "c2", "deleted_at": "2026-12-06T09:00:00Z"},
            ["customer.merged"],
        ),
        ("conflict", "insert", {}, []),
        ("merge", "insert", {}, []),
    ],
)
def test_the_events_of_a_change(
    entity: str, op: str, fields: dict[str, Any], events: list[str]
) -> None:
    assert webhooks.events_of(entity, op, fields) == events


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("https://user:pw@example.com/hook", "user name or password"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1", "not a URL"),
    ],
)
def test_a_bad_url_is_refused_with_its_reason(url: str, problem: str) -> None:
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.check_url(url)
    assert refused.value.field == "url" and problem in refused.value.problem


def test_the_command_line_adds_lists_pauses_and_removes(
    people: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    db = ["--db", people.db_url]
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    url = "https://crm.example.com/hook"
    added = runner.invoke(
        hub_cli,
        ["webhook", "add", url, "--events", "interaction.created,followup.*", "--team", "north",
         "--secret-file", str(secret_file), *db],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output == f"Added webhook 1 for {url}\n"  # a given secret is not echoed
    made = runner.invoke(hub_cli, ["webhook", "add", url, "--events", "*", "--all-teams", *db])
    secret = re.search(r"shown once, keep it with the receiver\): (whsec_\S+)", made.output)
    assert made.exit_code == 0 and secret
    listed = runner.invoke(hub_cli, ["webhook", "list", *db]).output
    assert "followup.*,interaction.created" in listed and "(every team)" in listed
    assert SECRET not in listed and secret.group(1) not in listed
    assert webhooks.fingerprint(SECRET) in listed

    for words in (["pause", "1"], ["resume", "1"], ["remove", "2"]):
        assert runner.invoke(hub_cli, ["webhook", *words, *db]).exit_code == 0
    assert [e.id for e in webhooks.list_endpoints(people.engine)] == [1]
    actions = [e.action for e in audit.entries(people.engine)[0]]
    assert actions[:5] == [
        "remove webhook", "resume webhook", "pause webhook", "add webhook", "add webhook",
    ]  # fmt: skip

    both = runner.invoke(hub_cli, ["webhook", "add", url, "--events", "*", *db])
    assert both.exit_code == 2 and "--all-teams" in both.output
    unknown = runner.invoke(
        hub_cli, ["webhook", "add", url, "--events", "invoice.paid", "--all-teams", *db]
    )
    assert unknown.exit_code == 1
    assert unknown.output.startswith("error: events: 'invoice.paid' is not an event")
    nobody = runner.invoke(hub_cli, ["webhook", "pause", "9", *db])
    assert nobody.exit_code == 1 and "no webhook endpoint 9" in nobody.output
    short = tmp_path / "short.txt"
    short.write_text("abc")
    weak = runner.invoke(
        hub_cli,
        ["webhook", "add", url, "--events", "*", "--all-teams", "--secret-file", str(short), *db],
    )
    assert weak.exit_code == 1 and "16 to 200 characters" in weak.output


def test_two_processes_delivering_at_once_never_send_an_event_twice(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    add(people, receiver.url, "interaction.created")
    maria = laptop(tmp_path, people, "maria@example.com")
    for n in range(8):
        visit(maria, f"Customer {n}", f"visit {n}")
    maria.sync()
    maria.close()
    command = [sys.executable, "-m", "touchpoint.hub.cli", "webhook", "deliver"]
    env = {**os.environ, "TOUCHPOINT_HUB_DB": people.db_url}
    env["TOUCHPOINT_HUB_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    said = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), said
    delivered = sum(int(line.split()[0]) for line in said)
    ids = [json.loads(r.body)["id"] for r in receiver.got]
    assert delivered == len(ids) == len(set(ids)) == 8


def test_finished_deliveries_are_forgotten_after_thirty_days(
    people: HubServer, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.answers = [500]
    endpoint = add(people, receiver.url, "customer.created")
    maria = laptop(tmp_path, people, "maria@example.com")
    customers.create_customer(maria.ws, {"name": "Acme GmbH"})
    maria.sync()
    clock = Clock(now_utc())
    with webhooks.Dispatcher(people.engine, now=clock) as dispatcher:
        assert dispatcher.run_once().retrying == 1
        clock.advance(minutes=2)
        assert dispatcher.run_once().delivered == 1
        customers.create_customer(maria.ws, {"name": "Beta AG"})
        maria.sync()
        clock.advance(days=29)
        dispatcher.run_once()  # Beta's delivered now; Acme's, 29 days old, is kept
        assert webhooks.deliveries(people.engine, endpoint)[0][-1].attempts == 2
        clock.advance(days=2)
        assert webhooks.prune(people.engine, clock()) == 1
    [left], _ = webhooks.deliveries(people.engine, endpoint)
    assert json.loads(receiver.got[-1].body)["data"]["object"]["name"] == "Beta AG"
    assert left.status == "delivered" and [a.code for a in left.tries] == [200]
    with people.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM webhook_attempts").scalar() == 1
    maria.close()


def test_a_push_wakes_the_hubs_dispatcher_at_once(
    people: HubServer, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(people, receiver.url, "interaction.created")
    monkeypatch.setenv(webhooks.DISABLE_ENV, "off")
    assert webhooks.serve_dispatcher(people.engine, people.app.state.pushed) is None
    monkeypatch.delenv(webhooks.DISABLE_ENV)
    started = webhooks.serve_dispatcher(people.engine, people.app.state.pushed)
    assert started is not None
    started.close()
    # Ten minutes between passes, unless a push wakes it (as the Hub's push handler does).
    dispatcher = webhooks.Dispatcher(people.engine, wake=people.app.state.pushed, poll=600)
    dispatcher.start()
    maria = laptop(tmp_path, people, "maria@example.com")
    try:
        receiver.got.clear()
        made = visit(maria, "Acme GmbH", "first visit")
        maria.sync()
        [got] = receiver.wait_for(1, seconds=60)
        assert json.loads(got.body)["data"]["object"]["id"] == made
    finally:
        dispatcher.close()
        maria.close()
