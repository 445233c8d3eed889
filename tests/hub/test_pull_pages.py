"""Pages of the change log for a reader of several teams (a manager's pull, an API key's
changes feed): every change of those teams once, in sequence order, none of the others,
whatever the page size."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from touchpoint.hub import exchange
from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import changes, counter, make_engine, upgrade, write

STAMP = "2026-11-30T09:00:00.000000Z"


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def log_of(engine, teams: list[str]) -> None:  # type: ignore[no-untyped-def]
    with write(engine) as conn:
        conn.execute(
            insert(changes),
            [
                {
                    "server_seq": seq,
                    "change_id": str(uuid.uuid4()),
                    "device_id": "d",
                    "user_id": None,
                    "entity": "customer",
                    "record_id": str(uuid.uuid4()),
                    "team": team,
                    "op": "insert",
                    "fields": {"name": f"c{seq}"},
                    "at": STAMP,
                    "corrected_at": STAMP,
                    "author": "a@example.com",
                    "received_at": STAMP,
                }
                for seq, team in enumerate(teams, start=1)
            ],
        )
        conn.execute(update(counter).where(counter.c.id == 1).values(value=len(teams)))


@pytest.mark.parametrize("limit", [1, 3, 4, 7, 100])
def test_pages_of_several_teams_hold_each_of_their_changes_once_in_order(
    engine, limit: int
) -> None:  # type: ignore[no-untyped-def]
    teams = ["north", "south", "east", "north", "north", "east", "south"] * 5 + ["south"] * 4
    log_of(engine, teams)
    who = Principal(1, "tom@example.com", "manager", ("north", "east"), "dev", 1)
    got, after, pages = [], 0, 0
    while True:
        with engine.connect() as conn:
            page = exchange.pull_page(conn, who, after, limit)
        got += [(c["server_seq"], c["team"]) for c in page["changes"]]
        after, pages = page["next_after"], pages + 1
        assert len(page["changes"]) <= limit
        if not page["more"]:
            break
    wanted = [(seq, t) for seq, t in enumerate(teams, start=1) if t in ("north", "east")]
    assert got == wanted
    assert after == len(teams)  # past the other teams' last changes too
    assert pages >= len(wanted) // limit
