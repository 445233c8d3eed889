"""SIGKILL a laptop's sync during push and during pull, many times: no gap, no duplicate."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop, all_change_ids, assert_converged, hub_change_count

from touchpoint.services import customers
from touchpoint.sync import credentials

CLIENT = Path(__file__).with_name("crash_client.py")
POINTS = ["pushed", "acknowledging", "acknowledged", "pulled", "applying", "applied"]


def run_client(laptop: Laptop, point: str, count: int) -> subprocess.CompletedProcess[str]:
    token = credentials.load_token(laptop.hub.url, laptop.email)
    assert token
    return subprocess.run(
        [sys.executable, str(CLIENT), str(laptop.root), token, point, str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def crash_loop(
    hub: HubServer,
    tmp_path: Path,
    clock: Clock,
    rounds: int,
    seed: int,
    *,
    points: list[str] | None = None,
) -> None:
    """``rounds`` of work on both laptops, each ending in Ana's sync in its own process,
    killed at a random point (or at ``points[round]``, on its first pass)."""
    rng = random.Random(seed)
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    ids: list[str] = []
    kills = 0
    for round_no in range(rounds):
        # Work on both laptops between crashes, so there is always something to push and pull.
        for i in range(rng.randint(15, 40)):
            made = customers.create_customer(ana.ws, {"name": f"A{round_no}-{i}"})
            ids.append(made.value.id)
        for i in range(rng.randint(15, 40)):
            customers.create_customer(ben.ws, {"name": f"B{round_no}-{i}"})
        for cid in rng.sample(ids, min(10, len(ids))):
            customers.edit_customer(ana.ws, cid, {"notes": f"round {round_no}"})
        clock.advance(minutes=1)
        assert ben.sync().in_sync
        if points:
            done = run_client(ana, points[round_no], 1)
        else:
            done = run_client(ana, rng.choice(POINTS), rng.randint(1, 2))
        if done.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert done.returncode == 0, done.stdout + done.stderr
    assert kills >= (rounds if points else rounds // 2), "the crash points were not reached"
    final = run_client(ana, "none", 1)
    assert final.returncode == 0, final.stdout + final.stderr
    assert ben.sync().in_sync
    counts = hub_change_count(hub)
    assert set(counts.values()) == {1}  # no duplicate
    assert set(counts) == all_change_ids(ana, ben)  # no gap
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()


def test_sigkill_once_during_push_and_once_during_pull(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    crash_loop(hub, tmp_path, clock, rounds=2, seed=4, points=["acknowledging", "applying"])


@pytest.mark.slow
def test_sigkill_during_push_and_pull(hub: HubServer, tmp_path: Path, clock: Clock) -> None:
    crash_loop(hub, tmp_path, clock, rounds=6, seed=4)


@pytest.mark.slow
def test_sigkill_many_times(hub: HubServer, tmp_path: Path, clock: Clock) -> None:
    crash_loop(hub, tmp_path, clock, rounds=14, seed=7)
