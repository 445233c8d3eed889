"""A Hub worker's start: what it built to start is kept out of garbage collection."""

from __future__ import annotations

import gc
import threading
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
    walked: list[int] = []

    async def start_and_stop() -> None:  # as uvicorn runs a worker's lifespan
        async with app.router.lifespan_context(app):
            walked.append(len(gc.get_objects()))  # what a full collection walks now

    # On a thread of its own: a browser test in this process may keep an event loop
    # running on the main thread (Playwright's sync API), where anyio.run would refuse.
    runner = threading.Thread(target=anyio.run, args=(start_and_stop,))
    built = len(gc.get_objects())  # the modules and the app, built to start
    try:
        runner.start()
        runner.join(60)
    finally:
        gc.unfreeze()
    assert walked[0] < built / 2, "a collection still walks what the worker built to start"


def test_a_worker_logs_into_the_hub_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` names its log file for its workers: each worker process logs there, so an
    unexpected request error's traceback (logged by the app) reaches the file."""
    import logging

    path = tmp_path / "hub.sqlite3"
    assert CliRunner().invoke(hub_cli, ["init", "--db", str(path)]).exit_code == 0
    log = tmp_path / "log" / "touchpoint-hub.log"
    monkeypatch.setenv("TOUCHPOINT_HUB_DB", f"sqlite:///{path}")
    monkeypatch.setenv("TOUCHPOINT_HUB_LOG", str(log))
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        create_app_from_env()
        try:
            raise RuntimeError("disk on fire")
        except RuntimeError as exc:
            logging.getLogger("touchpoint.hub.app").error("unexpected error", exc_info=exc)
        for handler in root.handlers:
            handler.flush()
        text = log.read_text(encoding="utf-8")
        assert "unexpected error" in text and "RuntimeError: disk on fire" in text
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
