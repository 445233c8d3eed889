"""The Hub's tests use the sync harness (a real Hub on 127.0.0.1, SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))
from harness import HubServer, backends, start_hub


@pytest.fixture(params=backends())
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    server, stop = start_hub(request.param, tmp_path)
    yield server
    stop()
