"""The command itself: version, status, the window, errors, exit codes, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from touchpoint import __version__
from touchpoint.cli import main as cli_main
from touchpoint.cli.main import COMMAND_MODULES, cli
from touchpoint.cli.runtime import CliState

VENV_BIN = Path(sys.executable).parent


def test_version(tp) -> None:
    assert tp("--version").stdout.strip() == f"touchpoint, version {__version__}"


def test_status_json_has_paths_schema_counts_and_unsynced(tp, data_dir: Path) -> None:
    before = tp.json("status")
    tp.add_customer("Acme GmbH")
    after = tp.json("status")
    assert after["data_dir"] == str(data_dir.resolve())
    assert after["database"].endswith("touchpoint.sqlite3")
    assert after["schema_version"] == before["schema_version"] != ""
    assert after["counts"]["customer"] == before["counts"]["customer"] + 1
    assert after["unsynced_changes"] > before["unsynced_changes"]
    assert after["user"] == "maria@example.com"
    assert after["timezone"] == "Europe/Berlin"
    assert list(after) == sorted(after)


def test_status_for_people(tp) -> None:
    out = tp("status").stdout
    assert "changes not yet synced: 0" in out
    assert "customer" in out and "\x1b[" not in out  # no colour when not a terminal


def test_help_lists_every_command(tp) -> None:
    out = tp("--help").stdout
    for name in (
        "status", "demo", "customer", "contact", "log", "followups", "done", "snooze",
        "reschedule", "cancel", "reassign", "history", "search", "duplicates", "merge",
        "unmerge", "merges", "import", "export", "backup", "restore", "check", "config",
    ):  # fmt: skip
        assert f"\n  {name} " in out, name


def test_command_modules_each_register_their_commands() -> None:
    group = click.Group("probe")
    for name in COMMAND_MODULES:
        __import__(name, fromlist=["register"]).register(group)
    assert set(group.commands) == set(cli.commands)


def test_usage_error_exits_2(tp) -> None:
    result = tp("customer", "add", code=2)
    assert "missing argument 'NAME'" in result.stderr
    tp("followups", "--soon", code=2)


def test_a_usage_error_is_one_error_line_and_one_hint(tp) -> None:
    for args, command in [
        (("customer", "add"), "touchpoint customer add"),
        (("followups", "--soon"), "touchpoint followups"),
        (
            ("export", "customers", "--bom=yes", "--out", "x.csv"),
            "touchpoint export customers",
        ),
        (("no-such-command",), "touchpoint"),
        (("demo", "--customers", "0"), "touchpoint demo"),
    ]:
        result = tp(*args, code=2)
        lines = result.stderr.splitlines()
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith("error: ") and "Usage" not in result.stderr
        assert lines[1] == f"see: {command} --help"
        assert result.stdout == ""


def _run(*args: str, clock) -> object:  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        cli, list(args), obj=CliState(clock=clock, auto_backup=False), catch_exceptions=False
    )


def test_data_dir_is_taken_after_the_command_too(tmp_path: Path, clock) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    made = _run("customer", "add", "Acme GmbH", "--data-dir", str(first), clock=clock)
    assert made.exit_code == 0, made.stderr
    listed = _run("customer", "list", "--json", f"--data-dir={first}", clock=clock)
    assert [c["name"] for c in json.loads(listed.stdout)["customers"]] == ["Acme GmbH"]
    # nested groups, and the later of two wins (as for any option given twice)
    team = _run(
        "--data-dir", str(first), "goals", "team", "add", "--data-dir", str(second),
        "north", "maria@example.com", clock=clock,
    )  # fmt: skip
    assert team.exit_code == 0, team.stderr
    assert (second / "config" / "goals.toml").exists()
    assert not (first / "config" / "goals.toml").exists()
    empty = _run("status", "--json", "--data-dir", str(second), clock=clock)
    assert json.loads(empty.stdout)["counts"]["customer"] == 0


def test_a_value_that_looks_like_data_dir_stays_a_value(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    other = tmp_path / "other"
    tp("log", "note", "--customer", "acme", "--notes", "--data-dir", "--subject", str(other))
    shown = tp.json("customer", "show", "acme")
    assert shown["interactions"][0]["notes"] == "--data-dir"
    assert not other.exists()
    # after --, nothing is an option
    made = tp("customer", "add", "--", "--data-dir").stdout.strip()
    assert tp.json("customer", "show", made)["customer"]["name"] == "--data-dir"


def test_bare_command_opens_the_window(tp, data_dir: Path, monkeypatch) -> None:
    seen: list[Any] = []
    fake = types.ModuleType("touchpoint.ui.app")
    fake.run = lambda where: seen.append(where) or 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "touchpoint.ui.app", fake)
    tp(code=3)
    # The window is handed the context the command resolved, not a folder to resolve.
    assert [context.data_dir for context in seen] == [data_dir.resolve()]


def test_bare_command_without_the_window_shows_help(tp, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "touchpoint.ui.app", None)  # import raises ImportError
    result = tp()
    assert "desktop window is not installed" in result.stderr
    assert "Usage: " in result.stdout and "customer" in result.stdout


def test_other_errors_of_the_window_are_not_hidden(tp, monkeypatch) -> None:
    fake = types.ModuleType("touchpoint.ui.app")

    def run(where: str | None) -> int:
        raise RuntimeError("the window broke")

    fake.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "touchpoint.ui.app", fake)
    result = tp(code=1)
    assert "RuntimeError" in result.stderr


def test_unexpected_error_goes_to_the_log_file_only(tp, data_dir: Path, monkeypatch) -> None:
    from touchpoint.services import maintenance

    def broken(ws):  # type: ignore[no-untyped-def]
        raise KeyError("secret detail")

    monkeypatch.setattr(maintenance, "status", broken)
    result = tp("status", code=1)
    log_file = data_dir.resolve() / "logs" / "touchpoint.log"
    assert result.stderr.count("\n") == 1
    assert str(log_file) in result.stderr
    assert "Traceback" not in result.stderr and "secret detail" not in result.stderr
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged and "secret detail" in logged


def test_not_found_is_a_one_line_error(tp) -> None:
    result = tp("customer", "show", "Nobody", code=1)
    assert result.stderr == "error: no customer called 'Nobody'\n"


def test_data_dir_from_the_environment(tmp_path: Path, monkeypatch, clock) -> None:
    where = tmp_path / "portable"
    monkeypatch.setenv("TOUCHPOINT_DATA_DIR", str(where))
    result = CliRunner().invoke(
        cli, ["status", "--json"], obj=CliState(clock=clock, auto_backup=False)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data_dir"] == str(where.resolve())
    assert (where / "touchpoint.sqlite3").exists()


def test_main_is_the_console_script_entry(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["touchpoint", "--version"])
    with pytest.raises(SystemExit) as done:
        cli_main.main()
    assert done.value.code == 0


# --- real processes ------------------------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOUCHPOINT_DATA_DIR", None)
    env["HOME"] = str(tmp_path / "home")
    return env


def test_installed_console_script(tmp_path: Path) -> None:
    script = VENV_BIN / "touchpoint"
    if not script.exists():
        pytest.skip("touchpoint is not installed in this environment")
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env=_env(tmp_path), check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"touchpoint, version {__version__}"


def test_python_dash_m(tmp_path: Path) -> None:
    where = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint", "--data-dir", str(where), "status", "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["database"] == str(where.resolve() / "touchpoint.sqlite3")
    assert report["counts"]["customer"] == 0


def test_real_process_bad_input_exits_1(tmp_path: Path) -> None:
    where = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint", "--data-dir", str(where), "customer", "add", " "],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == "error: name: must not be empty\n"
    assert done.stdout == ""


def test_search_loads_nothing_heavy(tp, tmp_path: Path) -> None:
    tp.add_customer("Acme GmbH")
    probe = (
        "import json, sys\n"
        "from touchpoint.cli.main import cli\n"
        "try:\n"
        f"    cli.main(['--data-dir', {str(tp.data_dir)!r}, 'search', 'acme'], "
        "standalone_mode=False)\n"
        "finally:\n"
        "    heavy = ('PySide6', 'rapidfuzz', 'xlsxwriter', 'vobject', 'charset_normalizer')\n"
        "    print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "Acme GmbH" in done.stdout
    assert json.loads(lines[-1]) == []


def test_verbose_shows_the_traceback_too(tp, monkeypatch) -> None:
    from touchpoint.services import maintenance

    def broken(ws):  # type: ignore[no-untyped-def]
        raise KeyError("detail")

    monkeypatch.setattr(maintenance, "status", broken)
    result = tp("-v", "status", code=1)
    assert "Traceback" in result.stderr and "KeyError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: something went wrong")


def test_a_database_from_a_newer_version_is_refused_and_left_alone(tp, data_dir: Path) -> None:
    import sqlite3

    db = data_dir / "touchpoint.sqlite3"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
        conn.execute("UPDATE local_meta SET value = '9.0' WHERE key = 'min_app_version'")
    conn.close()
    before = db.read_bytes()
    result = tp("status", code=1)
    assert result.stderr.startswith("error: This data needs Touchpoint 9.0 or newer")
    assert result.stderr.count("\n") == 1
    assert db.read_bytes() == before


def test_daily_backup_before_writes_never_before_reads(data_dir: Path, clock) -> None:
    def run(*args: str) -> None:
        result = CliRunner().invoke(
            cli, ["--data-dir", str(data_dir), *args], obj=CliState(clock=clock)
        )
        assert result.exit_code == 0, result.output

    def daily() -> list[Path]:
        return sorted((data_dir / "backups").glob("daily-*.sqlite3"))

    for read in (["search", "acme"], ["status"], ["followups"], ["customer", "list"]):
        run(*read)
    assert daily() == []
    run("customer", "add", "Acme GmbH")
    assert len(daily()) == 1
