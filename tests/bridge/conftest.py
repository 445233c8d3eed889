"""The BottleCRM connector's tests: a real BottleCRM (Python 3.12, its own venv), a real
Hub on 127.0.0.1 and laptops. A test process starts one BottleCRM (from a template
database built once) and each test works in an organisation of its own on it; a test
that stops BottleCRM has a process of its own (``own_bottlecrm``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "sync"))
sys.path.insert(0, str(HERE.parent / "fixtures" / "bottlecrm"))
from bottlecrm_server import BottleCRM, Organisation, unavailable  # noqa: E402
from harness import HubServer, start_hub  # noqa: E402

from touchpoint.hub.connectors import core  # noqa: E402

TEAM = "north"


@pytest.fixture(scope="session")
def bottlecrm_ready() -> None:
    """Skips, naming why, where BottleCRM cannot run (no Python 3.12 venv)."""
    why = unavailable()
    if why:
        pytest.skip(why)


class _Shared:
    """The test process's BottleCRM, handing out its organisations one per test (a new
    process from the template when all are taken)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server: BottleCRM | None = None
        self.free: list[Organisation] = []

    def organisation(self) -> Organisation:
        if not self.free:
            self.close()
            self.server = BottleCRM(self.folder / f"bottlecrm-{len(list(self.folder.iterdir()))}")
            self.free = list(self.server.start().organisations)
        return self.free.pop(0)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def _shared_bottlecrm(
    bottlecrm_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Shared]:
    shared = _Shared(tmp_path_factory.mktemp("bottlecrm"))
    yield shared
    shared.close()


@pytest.fixture
def bottlecrm(_shared_bottlecrm: _Shared) -> Organisation:
    """An organisation of its own on the shared BottleCRM: no other test's records."""
    return _shared_bottlecrm.organisation()


@pytest.fixture
def own_bottlecrm(bottlecrm_ready: None, tmp_path: Path) -> Iterator[BottleCRM]:
    """A BottleCRM process of the test's own, to stop and start."""
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
def connector(hub: HubServer, request: pytest.FixtureRequest, tmp_path: Path) -> core.Connector:
    """The Hub's connector to the test's BottleCRM (``own_bottlecrm`` if it asks for one)."""
    own = "own_bottlecrm" in request.fixturenames
    bottlecrm = request.getfixturevalue("own_bottlecrm" if own else "bottlecrm")
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
