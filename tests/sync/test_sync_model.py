"""The seeded company model (sync_model.py) on SQLite and PostgreSQL: a few seeds here,
many in tests/benchmarks/bench_sync_model.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Clock, HubServer
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
