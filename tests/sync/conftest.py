"""Fixtures for sync tests: a real Hub on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Clock, HubServer, Laptop, backends, start_hub


@pytest.fixture(params=backends())
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub(request.param, tmp_path)
    yield server
    stop()


@pytest.fixture
def team(hub: HubServer, tmp_path: Path, clock: Clock) -> Iterator[tuple[Laptop, Laptop]]:
    """Two reps of team north, Ana and Ben, each with a laptop signed in to the Hub."""
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    yield ana, ben
    ana.close()
    ben.close()
