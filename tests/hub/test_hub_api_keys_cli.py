"""`touchpoint-hub api-key add|list|revoke` as an admin meets them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from touchpoint.hub import accounts, apikeys
from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.console import audit
from touchpoint.hub.db import db_url, open_hub

PASSWORD = "correct horse battery"


def hub(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(hub_cli, list(args), input=stdin)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = str(tmp_path / "hub.sqlite3")
    assert hub("init", "--db", path).exit_code == 0
    for email, team in (("ana@example.com", "north"), ("bo@example.com", "south")):
        done = hub("user", "add", email, "--role", "rep", "--team", team, "--db", path,
                   stdin=f"{PASSWORD}\n")  # fmt: skip
        assert done.exit_code == 0, done.stderr
    return path


def test_a_key_is_printed_once_and_kept_as_a_hash(db: str, tmp_path: Path) -> None:
    made = hub("api-key", "add", "ERP sync", "--team", "north", "--scope", "write", "--db", db)
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    assert re.fullmatch(r"tpk_[A-Za-z0-9_-]{43}", token)  # stdout: the key alone
    assert "write on north" in made.stderr and "Shown once" in made.stderr
    raw = (tmp_path / "hub.sqlite3").read_bytes()
    assert token.encode() not in raw
    assert accounts.hash_token(token).encode() in raw

    listed = hub("api-key", "list", "--db", db)
    assert listed.exit_code == 0
    [header, row] = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["ID", "NAME", "KEY", "SCOPE"]
    assert "ERP sync" in row and token[:12] in row and "active" in row and "north" in row
    assert token not in listed.stdout

    engine = open_hub(f"sqlite:///{db}")
    with engine.connect() as conn:
        key = apikeys.authenticate(conn, token)
    assert key is not None and key.teams == ("north",) and key.may_write

    revoked = hub("api-key", "revoke", "ERP sync", "--db", db)
    assert revoked.exit_code == 0 and revoked.stdout.strip() == "Revoked API key ERP sync"
    with engine.connect() as conn:
        assert apikeys.authenticate(conn, token) is None
    assert "revoked" in hub("api-key", "list", "--db", db).stdout
    engine.dispose()
    again = hub("api-key", "revoke", "ERP sync", "--db", db)
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        "error: key: no live API key 'ERP sync' (see `touchpoint-hub api-key list`)"
    )

    engine = open_hub(db_url(db))
    newest, _total = audit.entries(engine)
    engine.dispose()
    assert [e.action for e in newest[:2]] == ["revoke API key", "create API key"]
    assert newest[1].target == "ERP sync (write, north)" and newest[1].via == "cli"
    assert all(token not in f"{e.who} {e.action} {e.target}" for e in newest)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "west", "--scope", "read"], "error: team: no team west on this Hub"),
        (["--scope", "read"], "Missing option '--team'"),
        (["--team", "north", "--scope", "admin"], "Invalid value for '--scope'"),
        (["--team", "north", "--scope", "read", "--rate", "0"], "error: rate: between 1"),
    ],
)
def test_bad_options_are_named(db: str, args: list[str], message: str) -> None:
    result = hub("api-key", "add", "BI", *args, "--db", db)
    assert result.exit_code in (1, 2)
    assert message in result.stderr and "Traceback" not in result.output
    assert "BI" not in hub("api-key", "list", "--db", db).stdout


def test_names_are_never_reused_and_keys_are_not_users(db: str) -> None:
    assert (
        hub("api-key", "add", "BI", "--team", "north", "--scope", "read", "--db", db).exit_code == 0
    )
    hub("api-key", "revoke", "1", "--db", db)  # by id
    again = hub("api-key", "add", "BI", "--team", "south", "--scope", "read", "--db", db)
    assert again.exit_code == 1 and "a key named 'BI' exists already" in again.stderr
    users = hub("user", "list", "--db", db).stdout
    assert "api:" not in users
    assert "api:" not in hub("teams", "--db", db).stdout
    enrolled = hub("enroll", "api:bi", "--db", db)
    assert enrolled.exit_code == 1 and "account of an API key or a connector" in enrolled.stderr
    bad = hub("api-key", "add", "../etc", "--team", "north", "--scope", "read", "--db", db)
    assert bad.exit_code == 1 and bad.stderr.startswith("error: name: ")
