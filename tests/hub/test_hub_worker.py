"""A Hub worker's start: what it built to start is kept out of garbage collection."""

from __future__ import annotations

import gc
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from touchpoint.hub.app import create_app_from_env
from touchpoint.hub.cli import main as hub_cli


def test_a_started_worker_freezes_what_it_built_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hub.sqlite3"
    assert CliRunner().invoke(hub_cli, ["init", "--db", str(path)]).exit_code == 0
    monkeypatch.setenv("TOUCHPOINT_HUB_DB", f"sqlite:///{path}")
    gc.unfreeze()
    app = create_app_from_env()
    frozen: list[int] = []

    async def start_and_stop() -> None:  # as uvicorn runs a worker's lifespan
        async with app.router.lifespan_context(app):
            frozen.append(gc.get_freeze_count())

    try:
        anyio.run(start_and_stop)
    finally:
        gc.unfreeze()
    assert frozen[0] > 0
