"""`touchpoint-hub` as an admin meets it: one error line, no database made by accident."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from touchpoint.hub import accounts
from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.db import default_db_path, open_hub

PASSWORD = "correct horse battery"


def hub(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(hub_cli, list(args), input=stdin)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def ready(tmp_path: Path) -> str:
    path = tmp_path / "hub.sqlite3"
    assert hub("init", "--db", str(path)).exit_code == 0
    return str(path)


def test_an_unreachable_postgresql_is_one_error_line() -> None:
    result = hub("init", "--db", "postgresql://nobody@127.0.0.1:1/x")
    assert result.exit_code == 1
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not open the Hub database")
    assert "127.0.0.1" in lines[0]


def test_a_missing_sqlite_file_is_not_created_by_user_add(tmp_path: Path) -> None:
    target = tmp_path / "nonexist" / "d" / "h.db"
    result = hub("user", "add", "x@y.com", "--role", "rep", "--db", f"sqlite:///{target}")
    assert result.exit_code == 1
    no_traceback(result)
    assert result.stderr.startswith(f"error: no Hub database at {target}")
    assert "run touchpoint-hub init --db" in result.stderr
    assert not target.exists() and not target.parent.exists()


def test_init_into_a_missing_folder_names_it(tmp_path: Path) -> None:
    result = hub("init", "--db", f"sqlite:///{tmp_path / 'nowhere' / 'h.db'}")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: --db: the folder {tmp_path / 'nowhere'} does not exist"


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = hub("init", "--db", "hub.sqlite3")
    assert made.exit_code == 0, made.stderr
    assert (tmp_path / "hub.sqlite3").is_file()
    assert f"sqlite:///{tmp_path / 'hub.sqlite3'}" in made.stdout
    added = hub(
        "user", "add", "ana@example.com", "--role", "rep", "--team", "north",
        "--db", str(tmp_path / "hub.sqlite3"), stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "north: ana@example.com (rep)" in hub("teams", "--db", "hub.sqlite3").stdout


def test_an_unknown_scheme_says_what_a_url_looks_like() -> None:
    result = hub("init", "--db", "mysql://root:secret@db/hub")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --db: ")
    assert "sqlite:////path/hub.sqlite3" in result.stderr and "postgresql://" in result.stderr
    assert "secret" not in result.stderr


def test_no_command_creates_a_hub_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOUCHPOINT_HUB_DB", raising=False)
    for args in (["teams"], ["token", "list"], ["user", "list"], ["enroll", "a@b.c"]):
        result = hub(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith(f"error: no Hub database at {default_db_path()}")
    assert list(tmp_path.iterdir()) == []
    assert not default_db_path().exists()
    # init makes it in the Hub user's data folder, named in --help.
    assert str(default_db_path()) in hub("--help").stdout
    assert hub("init").exit_code == 0
    assert default_db_path().is_file() and list(tmp_path.iterdir()) == []
    assert hub("teams").exit_code == 0


def test_an_uninitialised_database_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    result = hub("teams", "--db", str(empty))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no Hub database at {empty} — run touchpoint-hub init")
    with sqlite3.connect(empty) as conn:  # no tables were made in it
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_a_report_never_creates_a_hub(tmp_path: Path) -> None:
    missing = tmp_path / "hub.sqlite3"
    out = tmp_path / "r.pdf"
    result = hub("report", "daily", "--db", str(missing), "--out", str(out))
    assert result.exit_code == 1
    assert "no Hub database at" in result.stderr
    assert not missing.exists() and not out.exists()


def test_help_version_and_usage_errors() -> None:
    assert hub("-h").exit_code == 0 and "init" in hub("-h").stdout
    version = hub("--version")
    assert version.exit_code == 0 and version.stdout.startswith("touchpoint-hub, version")
    assert hub("user", "add").exit_code == 2
    assert hub("token", "revoke", "x").exit_code == 2


def test_user_list_and_token_list_have_headers_and_no_secrets(ready: str) -> None:
    engine = open_hub(f"sqlite:///{ready}")
    accounts.add_user(engine, "ana@example.com", PASSWORD, "rep", ["north", "south"])
    accounts.add_user(engine, "boss@example.com", PASSWORD, "admin", [])
    accounts.disable_user(engine, "boss@example.com")
    accounts.login(engine, "ana@example.com", PASSWORD, "d" * 36, "Ana's laptop")
    engine.dispose()

    users = hub("user", "list", "--db", ready)
    assert users.exit_code == 0, users.stderr
    header, ana, boss = users.stdout.splitlines()
    assert header.split() == ["EMAIL", "ROLE", "TEAMS", "DISABLED"]
    assert ana.split() == ["ana@example.com", "rep", "north,", "south", "-"]
    assert boss.split()[:3] == ["boss@example.com", "admin", "-"]
    assert boss.split()[3].startswith("20")  # when it was disabled
    assert "argon2" not in users.stdout

    tokens = hub("token", "list", "--db", ready)
    header, row = tokens.stdout.splitlines()
    assert header.split() == ["ID", "EMAIL", "DEVICE", "CREATED", "LAST", "USED", "STATE"]
    assert "Ana's laptop" in row and row.endswith("active")


def test_account_mistakes_are_one_error_line(ready: str) -> None:
    short = hub(
        "user", "add", "leo@example.com", "--role", "rep", "--team", "x", "--db", ready,
        stdin="short\n",
    )  # fmt: skip
    assert short.exit_code == 1
    assert short.stderr == "error: password: at least 8 characters\n"
    assert "short" not in short.stdout
    gone = hub("token", "revoke", "42", "--db", ready)
    assert gone.exit_code == 1 and gone.stderr == "error: token: no active token 42\n"


def test_an_unexpected_failure_is_logged_and_one_line(
    ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_engine: object) -> list[object]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(accounts, "list_users", broken)
    result = hub("user", "list", "--db", ready)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: something went wrong (RuntimeError); the details are")
    assert len(result.stderr.strip().splitlines()) == 1
    from touchpoint.hub.cli import log_file

    assert "disk on fire" in log_file().read_text() and "Traceback" in log_file().read_text()


@pytest.mark.parametrize(
    ("host", "warned"), [("0.0.0.0", True), ("hub.example.com", True), ("127.0.0.1", False)]
)
def test_serve_warns_about_plain_http_beyond_this_computer(
    ready: str, monkeypatch: pytest.MonkeyPatch, host: str, warned: bool
) -> None:
    import uvicorn

    monkeypatch.setenv("TOUCHPOINT_HUB_DB", ready)  # serve sets it for its workers
    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: started.append(kw))
    result = hub("serve", "--db", ready, "--host", host)
    assert result.exit_code == 0, result.stderr
    assert started and started[0]["host"] == host
    assert started[0]["access_log"] is False  # a line per request only when asked
    # A worker slow to answer its supervisor while a busy computer starts it is not killed.
    assert started[0]["timeout_worker_healthcheck"] >= 30
    assert ("passwords and customer data travel unencrypted" in result.stderr) is warned


def test_serve_prints_a_line_per_request_when_asked(
    ready: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setenv("TOUCHPOINT_HUB_DB", ready)
    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: started.append(kw))
    assert hub("serve", "--db", ready, "--access-log").exit_code == 0
    assert started[0]["access_log"] is True


def test_serve_refuses_a_missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setenv("TOUCHPOINT_HUB_DB", "")
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_kw: pytest.fail("served"))
    result = hub("serve", "--db", str(tmp_path / "none.sqlite3"))
    assert result.exit_code == 1 and "run touchpoint-hub init" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_an_older_hub_is_upgraded_by_serve_or_init_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from alembic import command
    from alembic.config import Config

    from touchpoint.hub.db import MIGRATIONS, make_engine

    path = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "hub0001")  # the first release's schema
    engine.dispose()

    refused = hub("teams", "--db", str(path))
    assert refused.exit_code == 1
    assert "needs an upgrade (schema hub0001" in refused.stderr
    assert "run touchpoint-hub init" in refused.stderr

    monkeypatch.setenv("TOUCHPOINT_HUB_DB", str(path))
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_kw: None)
    assert hub("serve", "--db", str(path)).exit_code == 0
    assert hub("teams", "--db", str(path)).exit_code == 0
