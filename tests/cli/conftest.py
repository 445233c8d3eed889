"""Running the ``touchpoint`` command in-process against a temporary data folder."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState


class Touchpoint:
    """``tp("customer", "add", "Acme")`` runs the command on the test's data folder."""

    def __init__(self, data_dir: Path, clock: Callable[[], Any]) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.runner = CliRunner()

    def __call__(
        self, *args: str, input: str | bytes | None = None, code: int = 0, color: bool = False
    ) -> Result:
        result = self.runner.invoke(
            cli,
            ["--data-dir", str(self.data_dir), *args],
            input=input,
            obj=CliState(clock=self.clock, auto_backup=False),
            catch_exceptions=False,
            color=color,
        )
        assert result.exit_code == code, (
            f"exit {result.exit_code}, wanted {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self(*args, "--json", input=input).stdout)

    def changes(self) -> int:
        """Rows in the change log: every write adds some, so equal counts mean nothing written."""
        conn = sqlite3.connect(self.data_dir / "touchpoint.sqlite3")
        try:
            return conn.execute("SELECT count(*) FROM change_log").fetchone()[0]
        finally:
            conn.close()

    def add_customer(self, name: str, *options: str) -> str:
        return self("customer", "add", name, *options).stdout.strip()


@pytest.fixture
def tp(data_dir: Path, clock: Callable[[], Any]) -> Touchpoint:
    return Touchpoint(data_dir, clock)
