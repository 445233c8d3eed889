"""A rep who joins another team gets that team's whole history at the next sync.

Their pull cursor had already passed the other team's older changes (the Hub skipped
them as not theirs); a widened scope makes the laptop pull again from the start,
without touching the changes it still has to send.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from harness import Clock, HubServer, Laptop, assert_converged, hub_change_count

from touchpoint.hub import accounts
from touchpoint.hub.cli import main as hub_cli
from touchpoint.services import customers
from touchpoint.services.interactions import log_interaction


def names(laptop: Laptop) -> set[str]:
    return {v["name"] for (entity, _id), v in laptop.state().items() if entity == "customer"}


def test_joining_a_team_brings_its_history_and_keeps_the_outbox(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com", teams=("north",))
    hub.add_user("cleo@example.com", teams=("south",))
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    cleo = Laptop(tmp_path / "cleo", "cleo@example.com", clock, hub)
    south = customers.create_customer(cleo.ws, {"name": "Südwerk"}).value
    log_interaction(cleo.ws, customer=south.id, kind="visit", notes="Plant tour")
    assert cleo.sync().in_sync
    customers.create_customer(ana.ws, {"name": "Nordlicht"})
    assert ana.sync().in_sync
    assert names(ana) == {"Nordlicht"}  # south's records are not Ana's to see

    # Ana joins the south team while she has an edit waiting.
    code = CliRunner().invoke(
        hub_cli, ["user", "edit", "ana@example.com", "--add-team", "south", "--db", hub.db_url]
    )
    assert code.exit_code == 0, code.output
    assert "teams north, south" in code.output
    customers.create_customer(ana.ws, {"name": "Offline Draft"})
    waiting = {c.change_id for c in ana.outbox()}
    result = ana.sync()
    assert result.in_sync
    assert names(ana) == {"Nordlicht", "Südwerk", "Offline Draft"}
    assert any(
        v.get("notes") == "Plant tour" for (e, _), v in ana.state().items() if e == "interaction"
    )
    # The waiting change went exactly once, and Cleo gets everything Ana may see.
    assert waiting and all(hub_change_count(hub)[c] == 1 for c in waiting)
    assert cleo.sync().in_sync
    assert_converged(hub, ana, cleo)

    # A later sync with the same scope pulls nothing again.
    assert ana.sync().pulled == 0


def test_leaving_a_team_pulls_nothing_again(hub: HubServer, tmp_path: Path, clock: Clock) -> None:
    hub.add_user("ana@example.com", teams=("north", "south"))
    hub.add_user("ben@example.com", teams=("north",))
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    customers.create_customer(ben.ws, {"name": "Nordlicht"})
    assert ben.sync().in_sync
    assert ana.sync().pulled == 1
    accounts.edit_user(hub.engine, "ana@example.com", remove_teams=["south"])
    assert ana.sync().pulled == 0  # pulling again would bring Ben's change a second time


def test_own_changes_coming_back_are_not_counted_as_received(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    customers.create_customer(ana.ws, {"name": "Nordlicht"})
    result = ana.sync()
    assert (result.pushed, result.pulled) == (1, 0)


def test_bad_edits_are_refused_and_change_nothing(hub: HubServer) -> None:
    hub.add_user("ana@example.com", teams=("north",))
    runner = CliRunner()
    for args, message in (
        (["--remove-team", "south"], "not in south"),
        (["--remove-team", "north"], "at least one team"),
        ([], "give --role"),
    ):
        out = runner.invoke(hub_cli, ["user", "edit", "ana@example.com", *args, "--db", hub.db_url])
        assert out.exit_code != 0 and message in out.output
    out = runner.invoke(
        hub_cli, ["user", "edit", "bob@example.com", "--role", "rep", "--db", hub.db_url]
    )
    assert out.exit_code == 1 and "no user bob@example.com" in out.output
    assert accounts.list_teams(hub.engine) == [("north", ["ana@example.com (rep)"])]
