"""The BottleCRM connector's tests: a real BottleCRM (Python 3.12, its own venv), a real
Hub on 127.0.0.1 and laptops. Each test has its own BottleCRM process, port and folder
(made in seconds from a template database built once), so they run in parallel."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sync"))
sys.path.insert(0, str(HERE.parent / "fixtures" / "bottlecrm"))
from bottlecrm_server import BottleCRM, unavailable  # noqa: E402
from harness import HubServer, start_hub  # noqa: E402

from touchpoint.hub.connectors import core  # noqa: E402

TEAM = "north"


@pytest.fixture(scope="session")
def bottlecrm_ready() -> None:
    """Skips, naming why, where BottleCRM cannot run (no Python 3.12 venv)."""
    why = unavailable()
    if why:
        pytest.skip(why)


@pytest.fixture
def bottlecrm(bottlecrm_ready: None, tmp_path: Path) -> Iterator[BottleCRM]:
    server = BottleCRM(tmp_path / "bottlecrm").start()
    yield server
    server.stop()


@pytest.fixture
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    """A Hub on SQLite; on PostgreSQL too for a test parametrized with ``backends()``."""
    server, stop = start_hub(getattr(request, "param", "sqlite"), tmp_path)
    yield server
    stop()


@pytest.fixture
def connector(hub: HubServer, bottlecrm: BottleCRM, tmp_path: Path) -> core.Connector:
    token = tmp_path / "bottlecrm.token"
    token.write_text(bottlecrm.token + "\n")
    token.chmod(0o600)
    return core.add_connector(
        hub.engine,
        "bottlecrm",
        name="bottlecrm",
        url=bottlecrm.url,
        token_file=str(token),
        team=TEAM,
    )
