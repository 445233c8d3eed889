"""The seeded company model (sync_model.py) on SQLite and PostgreSQL: a few seeds here,
many in tests/benchmarks/bench_sync_model.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import PG_URL, Clock, HubServer, start_hub
from sync_model import run_model


@pytest.mark.parametrize("seed", [3, 4])
def test_three_teams_six_laptops_keep_every_promise(
    hub: HubServer, tmp_path: Path, clock: Clock, seed: int
) -> None:
    done = run_model(hub, tmp_path, clock, seed=seed, ops=160)
    # The run did what it is for: work, syncs, and the hostile parts.
    assert done.get("sync", 0) > 10 and done.get("create", 0) > 3
    assert (
        done.get("team change", 0) + done.get("malformed push", 0) + done.get("clock jump", 0) > 0
    )
    assert done.get("killed", 0) > 0, done


def test_laptops_alternating_between_two_hub_servers_on_one_postgresql(
    tmp_path: Path, clock: Clock
) -> None:
    """Scale-out: two Hub servers (apps with pools of their own) on one PostgreSQL
    database, every laptop request sent to either at random."""
    if not PG_URL:
        pytest.skip("no PostgreSQL for the tests")
    first, stop = start_hub("postgresql", tmp_path)
    second = HubServer(first.db_url).start()
    try:
        done = run_model(first, tmp_path, clock, seed=7, ops=160, nodes=[second])
        assert done.get("sync", 0) > 10
    finally:
        second.stop()
        stop()
