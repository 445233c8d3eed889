"""``touchpoint login / sync / conflicts / logout`` against a real Hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keyring
from click.testing import CliRunner, Result
from harness import PASSWORD, Clock, HubServer, Laptop

from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState
from touchpoint.services import customers


def tp(data_dir: Path, clock: Clock, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        ["--data-dir", str(data_dir), *args],
        input=input,
        obj=CliState(clock=clock, auto_backup=False),
        catch_exceptions=False,
    )


def test_login_sync_conflicts_restore_logout(hub: HubServer, tmp_path: Path, clock: Clock) -> None:
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    home = tmp_path / "ana"

    bad = tp(
        home,
        clock,
        "login",
        "--server",
        hub.url,
        "--email",
        "ana@example.com",
        input="wrong password\n",
    )
    assert bad.exit_code == 1 and "wrong email or password" in bad.stderr
    ok = tp(
        home,
        clock,
        "login",
        "--server",
        hub.url,
        "--email",
        "ana@example.com",
        input=f"{PASSWORD}\n",
    )
    assert ok.exit_code == 0, ok.stderr
    assert keyring.get_password("touchpoint", f"ana@example.com@{hub.url}")
    assert PASSWORD not in "".join(p.read_text(errors="ignore") for p in home.rglob("*.toml"))

    made = customers.create_customer(ben.ws, {"name": "Acme", "industry": "retail"})
    ben.sync()
    first = tp(home, clock, "sync")
    assert first.exit_code == 0, first.stderr
    assert "1 received" in first.stdout or "received" in first.stdout

    # Ana and Ben both change the industry; Ben's later edit wins, Ana sees the conflict.
    from touchpoint.storage.workspace import Workspace

    with Workspace.open(home, auto_backup=False, clock=clock) as ws:
        customers.edit_customer(ws, made.value.id, {"industry": "wholesale"})
    clock.advance(minutes=3)
    customers.edit_customer(ben.ws, made.value.id, {"industry": "online"})
    ben.sync()
    synced = tp(home, clock, "sync")
    assert synced.exit_code == 2, synced.stdout + synced.stderr  # in sync, conflicts to see
    listed = json.loads(tp(home, clock, "conflicts", "--json").stdout)
    assert [(c["field"], c["winner_value"], c["loser_value"]) for c in listed] == [
        ("industry", "online", "wholesale")
    ]
    assert tp(home, clock, "conflicts", "restore", listed[0]["id"][-8:]).exit_code == 0
    assert tp(home, clock, "conflicts").stdout.strip() == "No conflicts."

    waiting = tp(home, clock, "logout")
    assert waiting.exit_code == 1 and "wait to be sent" in waiting.stderr
    assert tp(home, clock, "sync").exit_code == 0
    ben.sync()
    with ben.ws.read() as s:
        from touchpoint.storage.models import Customer

        record = s.get(Customer, made.value.id)
        assert record is not None and record.industry == "wholesale"
    assert tp(home, clock, "logout").exit_code == 0
    assert keyring.get_password("touchpoint", f"ana@example.com@{hub.url}") is None
    after = tp(home, clock, "sync")
    assert after.exit_code == 1 and "sign in" in after.stderr
    ben.close()


def test_sync_indexes_a_big_pull_for_search_and_search_says_what_is_not_yet_indexed(
    hub: HubServer, tmp_path: Path, clock: Clock, monkeypatch: Any
) -> None:
    from touchpoint.services import search
    from touchpoint.storage.workspace import Workspace
    from touchpoint.sync import first_sync

    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    for i in range(9):
        customers.create_customer(ben.ws, {"name": f"Silo Technik {i}"})
    assert ben.sync().in_sync
    ben.close()
    home = tmp_path / "ana"
    login = ("login", "--server", hub.url, "--email", "ana@example.com")
    assert tp(home, clock, *login, input=f"{PASSWORD}\n").exit_code == 0
    monkeypatch.setattr(first_sync, "FRESH_CHUNK", 4)  # nine new records are a big pull

    # A sync stopped before its indexing (a killed process) leaves records unsearchable,
    # and search says so.
    monkeypatch.setattr(search, "catch_up_index", lambda *a, **k: False)
    assert tp(home, clock, "sync").exit_code == 0
    found = tp(home, clock, "search", "silo", "--json")
    assert json.loads(found.stdout)["groups"] == []
    assert "note: 9 records from the last sync are not searchable yet" in found.stderr
    monkeypatch.undo()

    # The next sync, with nothing new to pull, finishes the indexing.
    assert tp(home, clock, "sync").exit_code == 0
    found = tp(home, clock, "search", "silo", "--json")
    assert found.stderr == ""
    assert sorted(h["title"] for h in json.loads(found.stdout)["groups"][0]["hits"]) == [
        f"Silo Technik {i}" for i in range(9)
    ]
    with Workspace.open(home, auto_backup=False) as ws:
        assert search.index_backlog(ws) == 0
