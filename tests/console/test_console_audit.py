"""The audit log as a Hub table: written by the console and the command line, paged and
filtered, and the old audit.jsonl brought in once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from touchpoint.hub import accounts
from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.console import audit
from touchpoint.hub.db import audit_log, create_hub

PASSWORD = "correct horse battery"


@pytest.fixture
def hub_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Engine]:
    monkeypatch.setenv("TOUCHPOINT_HUB_AUDIT_LOG", str(tmp_path / "log" / "audit.jsonl"))
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = create_hub(url)
    accounts.add_user(engine, "maria@example.com", PASSWORD, "rep", ["north"])
    yield url, engine
    engine.dispose()


def test_entries_are_newest_first_paged_and_filtered(hub_db: tuple[str, Engine]) -> None:
    _url, engine = hub_db
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for n in range(120):
        audit.record(
            engine,
            "priya@example.com" if n % 2 else "root (command line)",
            "disable user" if n % 3 == 0 else "revoke device token",
            f"user{n}@example.com",
            via="console" if n % 2 else "cli",
            address="10.0.0.7" if n % 2 else None,
            now=start + timedelta(minutes=n),
        )
    first, total = audit.entries(engine)
    assert total == 120 and len(first) == audit.PAGE
    assert first[0].target == "user119@example.com"  # newest first
    assert first[0].address == "10.0.0.7" and first[0].via == "console"
    last, _ = audit.entries(engine, page=3)
    assert [e.target for e in last][-1] == "user0@example.com"
    assert len(last) == 120 - 2 * audit.PAGE
    assert audit.entries(engine, page=9) == ([], 120)

    disabled, count = audit.entries(engine, text="DISABLE")
    assert count == 40 and all(e.action == "disable user" for e in disabled)
    by_cli, count = audit.entries(engine, via="cli")
    assert count == 60 and all(e.via == "cli" and e.address is None for e in by_cli)
    both, count = audit.entries(engine, text="user11", via="console")
    # user11 and user110..119 of the console's (odd) entries
    assert sorted(e.target for e in both) == sorted(
        f"user{n}@example.com" for n in (11, 111, 113, 115, 117, 119)
    )
    assert count == 6
    assert audit.entries(engine, via="mars")[1] == 120  # an unknown source filters nothing


def test_command_line_actions_are_in_the_table(hub_db: tuple[str, Engine]) -> None:
    url, engine = hub_db
    runner = CliRunner()
    steps = [
        (["user", "add", "ben@example.com", "--role", "rep", "--team", "north"], PASSWORD + "\n"),
        (["user", "edit", "ben@example.com", "--add-team", "south"], None),
        (["user", "password", "ben@example.com"], "another long one\n"),
        (["enroll", "ben@example.com", "--expires", "2d"], None),
        (["enrollment", "revoke", "1"], None),
        (["user", "disable", "ben@example.com"], None),
    ]
    for args, stdin in steps:
        done = runner.invoke(hub_cli, [*args, "--db", url], input=stdin)
        assert done.exit_code == 0, (args, done.output)
    found, total = audit.entries(engine)
    assert total == 6
    assert [e.action for e in reversed(found)] == [
        "add user",
        "edit user",
        "reset password",
        "create enrollment token",
        "revoke enrollment token",
        "disable user",
    ]
    assert all(e.via == "cli" and e.who.endswith("(command line)") for e in found)
    assert found[-1].target == "ben@example.com (rep, north)"
    assert found[-2].target == "ben@example.com: rep, teams north, south"
    # The new password works; the revoked enrollment token is listed as such.
    from touchpoint.hub.db import users

    with engine.connect() as conn:
        stored = conn.execute(
            select(users.c.password_hash).where(users.c.email == "ben@example.com")
        ).scalar()
    assert accounts._hasher.verify(stored, "another long one")
    listed = runner.invoke(hub_cli, ["enrollment", "list", "--db", url])
    assert "revoked" in listed.output.splitlines()[1]


def test_the_password_rule_is_one_for_every_way_in(hub_db: tuple[str, Engine]) -> None:
    url, engine = hub_db
    done = CliRunner().invoke(
        hub_cli, ["user", "password", "maria@example.com", "--db", url], input="short\n"
    )
    assert done.exit_code == 1
    assert "error: password: at least 8 characters" in done.output
    with pytest.raises(accounts.AccountError, match="password: at least 8 characters"):
        accounts.set_password(engine, "maria@example.com", "short")
    with pytest.raises(accounts.AccountError, match="password: not only spaces"):
        accounts.add_user(engine, "x@example.com", " " * 12, "rep", ["north"])
    assert audit.entries(engine)[1] == 0  # nothing done, nothing audited
    assert accounts.check_password(engine, "maria@example.com", PASSWORD) is not None


def test_a_revoked_enrollment_token_signs_in_no_laptop(hub_db: tuple[str, Engine]) -> None:
    _url, engine = hub_db
    made = accounts.create_enrollment(engine, "maria@example.com", timedelta(days=1))
    [row] = accounts.list_enrollments(engine)
    assert accounts.enrollment_state(row) == "unused"
    assert accounts.revoke_enrollment(engine, int(row["id"]))
    assert not accounts.revoke_enrollment(engine, int(row["id"]))  # only once
    assert accounts.enroll(engine, made.token, "dev-1", "laptop") is None
    [row] = accounts.list_enrollments(engine)
    assert accounts.enrollment_state(row) == "revoked"
    later = datetime.now(UTC) + timedelta(days=2)
    other = accounts.create_enrollment(engine, "maria@example.com", timedelta(hours=1))
    assert other.token
    assert accounts.enrollment_state(accounts.list_enrollments(engine)[1], later) == "expired"


def test_init_imports_the_old_audit_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "log" / "audit.jsonl"
    old.parent.mkdir()
    lines = [
        {"at": "2026-11-30T10:00:00.000000Z", "who": "priya@example.com",
         "action": "disable user", "target": "sara@example.com", "via": "console"},
        {"at": "2026-11-30T11:00:00.000000Z", "who": "root (command line)",
         "action": "revoke device token", "target": "4", "via": "cli"},
    ]  # fmt: skip
    old.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"at": "2026-11-30T1', "utf-8")
    monkeypatch.setenv("TOUCHPOINT_HUB_AUDIT_LOG", str(old))
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    runner = CliRunner()
    done = runner.invoke(hub_cli, ["init", "--db", url])
    assert done.exit_code == 0, done.output
    assert "Imported 2 audit entries" in done.output  # the torn last line is skipped
    assert not old.exists() and old.with_name("audit.jsonl.imported").is_file()
    again = runner.invoke(hub_cli, ["init", "--db", url])
    assert again.exit_code == 0 and "Imported" not in again.output
    engine = create_hub(url)
    found, total = audit.entries(engine)
    assert total == 2
    assert (found[0].action, found[0].via) == ("revoke device token", "cli")
    assert (found[1].who, found[1].target) == ("priya@example.com", "sara@example.com")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == 2
    engine.dispose()


def test_the_migration_keeps_enrollment_tokens_and_can_be_undone(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    from touchpoint.hub.db import MIGRATIONS, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))

    def to(revision: str, how: Any = command.upgrade) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            how(cfg, revision)

    to("hub0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, role, created_at) "
                "VALUES ('maria@example.com', 'x', 'rep', '2026-12-01T00:00:00.000000Z')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO enrollments (user_id, token_hash, created_at, expires_at) "
                "VALUES (1, 'abc', '2026-12-01T00:00:00.000000Z', '2026-12-08T00:00:00.000000Z')"
            )
        )
    to("hub0007")
    [row] = accounts.list_enrollments(engine)
    assert row["email"] == "maria@example.com" and row["revoked_at"] is None
    assert "audit_log" in inspect(engine).get_table_names()
    to("hub0003", command.downgrade)
    assert "audit_log" not in inspect(engine).get_table_names()
    columns = {c["name"] for c in inspect(engine).get_columns("enrollments")}
    assert "revoked_at" not in columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enrollments")).scalar() == 1
    engine.dispose()
