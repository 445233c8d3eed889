"""Fixtures for sync tests: a real Hub on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import HubServer, backends, start_hub


@pytest.fixture(params=backends())
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub(request.param, tmp_path)
    yield server
    stop()
