"""Real faults between a laptop and the Hub: lost answers, duplicates, 5xx, timeouts, 401."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    Clock,
    FaultTransport,
    HubServer,
    Laptop,
    all_change_ids,
    assert_converged,
    hub_change_count,
)

from touchpoint.services import customers
from touchpoint.sync.engine import SyncEngine
from touchpoint.sync.protocol import PushRequest
from touchpoint.sync.transport import HubClient, PullPage, ServerError


@pytest.fixture
def pair(hub: HubServer, tmp_path: Path, clock: Clock) -> Iterator[tuple[Laptop, Laptop]]:
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub, transport=FaultTransport())
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    yield ana, ben
    ana.close()
    ben.close()


def faults(laptop: Laptop) -> FaultTransport:
    assert isinstance(laptop.transport, FaultTransport)
    return laptop.transport


def some_edits(laptop: Laptop, n: int = 5) -> None:
    for i in range(n):
        customers.create_customer(laptop.ws, {"name": f"Kunde {i}", "industry": "retail"})


def exactly_once(hub: HubServer, *laptops: Laptop) -> None:
    counts = hub_change_count(hub)
    assert set(counts.values()) == {1}
    assert set(counts) == all_change_ids(*laptops)


def test_answer_lost_after_the_hub_committed_creates_no_duplicate(
    pair: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = pair
    some_edits(ana)
    faults(ana).add("/v1/push", "drop_answer")
    result = ana.sync()
    assert result.in_sync, result
    assert ("/v1/push", "drop_answer") in faults(ana).seen
    ben.sync()
    exactly_once(hub, ana, ben)
    assert_converged(hub, ana, ben)


@pytest.mark.parametrize("fault", ["drop_request", "timeout", "5xx", "503_after", "duplicate"])
def test_transient_faults_are_retried_with_backoff_and_nothing_is_lost(
    pair: tuple[Laptop, Laptop], hub: HubServer, fault: str
) -> None:
    ana, ben = pair
    some_edits(ana)
    faults(ana).add("/v1/push", fault, times=2)
    faults(ana).add("/v1/pull", fault, times=2)
    slept: list[float] = []
    result = ana.sync(sleep=slept.append, backoff_base=1.0)
    assert result.in_sync, result
    if fault != "duplicate":
        # Exponential with jitter: the second wait is drawn from a range twice as high.
        assert len(slept) == 4 and 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0
    ben.sync()
    exactly_once(hub, ana, ben)
    assert_converged(hub, ana, ben)


def test_a_hub_down_for_good_is_reported_offline_and_keeps_the_outbox(
    pair: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, _ben = pair
    some_edits(ana, 2)
    faults(ana).add("/v1/hello", "drop_request", times=3)
    result = ana.sync(attempts=3)
    assert result.status == "offline" and result.waiting == 2
    assert ana.sync().in_sync


def test_an_expired_sign_in_asks_to_sign_in_again(
    pair: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, _ben = pair
    some_edits(ana, 1)
    faults(ana).add("/v1/push", "401")
    result = ana.sync()
    assert result.status == "needs_sign_in" and result.waiting == 1
    assert ana.sync().in_sync


def test_the_same_batch_sent_twice_at_once_has_one_effect(
    pair: tuple[Laptop, Laptop], hub: HubServer
) -> None:
    ana, ben = pair
    some_edits(ana, 20)
    engine = SyncEngine.for_workspace(ana.ws)
    engine.client.close()
    batch = engine._outbox_batch()
    token = engine.client.token
    body = PushRequest(
        device_id=ana.ws.device_id, client_time="2026-11-18T09:30:00.000000Z", changes=batch
    )
    answers: list[list[str]] = []

    def send() -> None:
        with HubClient(hub.url, token=token) as client:
            answers.append([r.status for r in client.push(body).results])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [["applied"] * 20, ["duplicate"] * 20]
    assert ana.sync().in_sync and ben.sync().in_sync
    exactly_once(hub, ana, ben)
    assert_converged(hub, ana, ben)


def test_a_client_of_another_protocol_is_told_to_update(
    pair: tuple[Laptop, Laptop], hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, _ben = pair
    from touchpoint.sync import transport

    monkeypatch.setattr(transport, "PROTOCOL_VERSION", 99)
    result = ana.sync()
    assert result.status == "needs_update"
    assert "update Touchpoint" in result.message


@pytest.mark.parametrize("fault", ["cut_line", "older_hub"])
def test_a_pull_page_cut_short_or_from_an_older_hub_loses_no_change(
    pair: tuple[Laptop, Laptop], hub: HubServer, fault: str
) -> None:
    """A page in JSON lines that lost a line on the way is refused as a whole and asked
    again (its head says how many changes it holds); a Hub that answers JSON instead
    is read as before."""
    ana, ben = pair
    some_edits(ben, 4)
    assert ben.sync().in_sync
    faults(ana).add("/v1/pull", fault, times=2)
    slept: list[float] = []
    result = ana.sync(sleep=slept.append, backoff_base=1.0)
    assert result.in_sync, result
    assert len(slept) == (2 if fault == "cut_line" else 0)
    assert_converged(hub, ana, ben)


def test_a_page_of_json_lines_is_read_only_whole_and_well_formed() -> None:
    head = b'{"next_after":2,"high_water":2,"more":false,"count":2}\n'
    row = (
        b'{"server_seq":%d,"change_id":"c%d","device_id":"d","entity":"customer",'
        b'"record_id":"r%d","op":"insert","fields":{"name":"%s"},"author":"a","team":"t"}\n'
    )
    good = head + row % (1, 1, 1, b"Acme") + row % (2, 2, 2, b"Beta")
    page = PullPage.parse(good, lines=True)
    assert [c["fields"]["name"] for c in page.changes] == ["Acme", "Beta"]
    assert page.next_after == 2 and not page.careful
    # A lone surrogate is read by the standard reader and the page is applied with care.
    odd = PullPage.parse(head + row % (1, 1, 1, b"Evil\\ud800") + row % (2, 2, 2, b"B"), lines=True)
    assert odd.careful and odd.changes[0]["fields"]["name"] == "Evil\ud800"
    for broken in (
        good[:-1],  # the last line cut inside
        head + row % (1, 1, 1, b"Acme"),  # a line short
        good + row % (3, 3, 3, b"Gamma"),  # a line more than the head says
        head + b"not json\n" + row % (2, 2, 2, b"Beta"),
        b"[]\n",
        head.replace(b'"count":2', b'"count":true') + row % (1, 1, 1, b"A"),
    ):
        with pytest.raises(ServerError, match="cannot read"):
            PullPage.parse(broken, lines=True)
