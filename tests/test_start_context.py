"""The data folder, the settings and the policy are resolved once per command and once per
window start (``touchpoint.context.resolve_context``), then handed down."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from touchpoint import paths, policy, settings
from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState
from touchpoint.context import AppContext, resolve_context

# What resolving means: finding the folder, reading the settings file, reading the policy.
RESOLVERS = (
    (paths, "resolve_paths"),
    (settings, "read_settings_file"),
    (policy, "current_policy"),
    (policy, "load_policy"),
)


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of each resolver's calls from now on."""
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    for module, name in RESOLVERS:
        monkeypatch.setattr(module, name, counting(name, getattr(module, name)))
    return calls


def _run(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        list(args),
        obj=CliState(auto_backup=False),
        catch_exceptions=False,
        env={"TOUCHPOINT_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _write_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    file = tmp_path / "policy.toml"
    file.write_text('[settings]\ncurrency = "CHF"\n', encoding="utf-8")
    monkeypatch.setenv(policy.POLICY_ENV, str(file))
    return file


@pytest.mark.parametrize(
    "command",
    [
        ("customer", "add", "Acme GmbH"),
        ("search", "acme"),
        ("config", "show"),
        ("config", "set", "quiet_after_days", "45"),
        ("policy", "show"),
        ("status",),
        ("export", "customers", "--out", "customers.csv"),
    ],
)
def test_a_command_resolves_folder_settings_and_policy_once(
    command: tuple[str, ...],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resolved: Counter[str],
) -> None:
    _write_policy(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)  # where an export writes its file
    _run(data_dir, *command)
    assert resolved == {
        "resolve_paths": 1,
        "read_settings_file": 1,
        "current_policy": 1,
        "load_policy": 1,
    }


def test_what_a_command_resolved_is_what_it_used(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy (TOUCHPOINT_POLICY_FILE) and the folder (TOUCHPOINT_DATA_DIR) the
    command resolved are the ones in force in it."""
    _write_policy(tmp_path, monkeypatch)
    assert _run(data_dir, "config", "get", "currency").strip() == "CHF"
    shown = _run(data_dir, "config", "show")
    assert str(data_dir / "config" / "settings.toml") in shown


def test_the_context_is_frozen_and_applies_the_policy(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_policy(tmp_path, monkeypatch)
    context = resolve_context(data_dir)
    assert context.data_dir == data_dir.resolve()
    assert context.database == data_dir.resolve() / "touchpoint.sqlite3"
    assert context.settings.currency == "CHF"  # the policy's
    assert context.user_settings.currency == "USD"  # the file's (none: the default)
    with pytest.raises(AttributeError):
        context.policy = policy.load_policy()  # type: ignore[misc]
    assert isinstance(context, AppContext)


WINDOW_START = """
import sys
from collections import Counter
from touchpoint import paths, policy, settings

calls = Counter()

def counting(module, name):
    real = getattr(module, name)
    def wrapper(*args, **kwargs):
        calls[name] += 1
        return real(*args, **kwargs)
    setattr(module, name, wrapper)

for module, name in ((paths, "resolve_paths"), (settings, "read_settings_file"),
                     (policy, "current_policy"), (policy, "load_policy")):
    counting(module, name)

from touchpoint.cli.main import cli
from touchpoint.ui import app

def quit_then_count():
    print("COUNTS", sorted(calls.items()), flush=True)

application = app.make_application(["touchpoint"])
app.after_start = lambda window, backend: (quit_then_count(), window.close(), application.quit())
try:
    cli.main(["--data-dir", sys.argv[1]], prog_name="touchpoint")
except SystemExit as done:
    print("CODE", done.code)
"""


def test_the_window_resolves_folder_settings_and_policy_once(
    data_dir: Path, tmp_path: Path, ws: Any
) -> None:
    """From ``touchpoint`` (no command) to the window shown with the database open."""
    from touchpoint.services import customers

    customers.create_customer(ws, {"name": "Acme GmbH"})  # not an empty book: no wizard
    ws.close()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[settings]\ntheme = "dark"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", WINDOW_START, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            policy.POLICY_ENV: str(policy_file),
        },
        check=False,
    )
    assert "CODE 0" in done.stdout, done.stderr
    counts = done.stdout.split("COUNTS", 1)[1].splitlines()[0].strip()
    assert counts == str(
        [("current_policy", 1), ("load_policy", 1), ("read_settings_file", 1), ("resolve_paths", 1)]
    )
