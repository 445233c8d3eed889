"""`touchpoint-hub report daily`: the Hub writes the report a manager's laptop would.

Reps log on their laptops and sync to a real Hub (SQLite and PostgreSQL). The Hub's
report database pulls everything from the Hub's tables; its figures must be the very
ones the manager's laptop computes after its own sync.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import Clock, HubServer, Laptop
from openpyxl import load_workbook
from sqlalchemy import create_engine

from touchpoint.hub import replica
from touchpoint.hub.cli import main as hub_cli
from touchpoint.services import customers, reports
from touchpoint.services.interactions import FollowUpInput, log_interaction

ANA, BEN, CLEO, MAX = "ana@example.com", "ben@example.com", "cleo@example.com", "max@example.com"
DAY = date(2026, 11, 17)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def synced(hub: HubServer, tmp_path: Path) -> tuple[dict[str, Laptop], str]:
    """Ana and Ben (north) and Cleo (south) log Tuesday's work and sync; Max, north's
    manager, syncs last."""
    hub.add_user(ANA)
    hub.add_user(BEN)
    hub.add_user(CLEO, teams=("south",))
    hub.add_user(MAX, "manager", ("north",))
    clock = Clock(at(2026, 11, 17, 11, 5))  # the touches below are logged once they happened
    laptops = {e: Laptop(tmp_path / e, e, clock, hub) for e in (ANA, BEN, CLEO, MAX)}
    ana, ben, cleo = laptops[ANA], laptops[BEN], laptops[CLEO]
    acme = customers.create_customer(ana.ws, {"name": "Acme GmbH", "status": "active"}).value
    log_interaction(
        ana.ws,
        customer=acme.id,
        kind="call",
        occurred_at=at(2026, 11, 17, 9),
        satisfaction=5,
        feedback="Best supplier we have",
        followups=[FollowUpInput(title="Send the quote", due=at(2026, 11, 17, 15))],
    )
    log_interaction(ana.ws, customer=acme.id, kind="call", occurred_at=at(2026, 11, 17, 10))
    assert ana.sync().in_sync
    assert ben.sync().in_sync
    log_interaction(
        ben.ws,
        customer=acme.id,
        kind="visit",
        occurred_at=at(2026, 11, 17, 11),
        satisfaction=1,
        feedback="The delivery came late",
    )
    south = customers.create_customer(cleo.ws, {"name": "Südwerk"}).value
    log_interaction(cleo.ws, customer=south.id, kind="call", occurred_at=at(2026, 11, 17, 9))
    for laptop in (ben, cleo, laptops[MAX]):
        assert laptop.sync().in_sync
    clock.current = at(2026, 11, 18, 8)
    return laptops, acme.id


def test_the_hubs_figures_are_the_managers(
    synced: tuple[dict[str, Laptop], str], hub: HubServer, tmp_path: Path
) -> None:
    manager = synced[0][MAX].ws
    team = [ANA, BEN, MAX]
    expected = reports.daily_report(manager, DAY, DAY, reps=team, scope="team north")
    engine = create_engine(hub.db_url)
    try:
        ws, result = replica.open_replica(engine, tmp_path / "replica", clock=manager.clock)
        with ws:
            ws.settings = replace(ws.settings, timezone="Europe/Berlin")
            assert replica.team_members(engine, "north") == sorted(team)
            got = reports.daily_report(ws, DAY, DAY, reps=team, scope="team north")
            everyone = reports.daily_report(ws, DAY, DAY)
    finally:
        engine.dispose()
    assert result.pulled > 0
    assert got == expected
    assert (got.team.interactions, got.team.by_kind) == (3, {"call": 2, "visit": 1})
    assert [v.words for v in got.best] == ["Best supplier we have"]
    assert [v.words for v in got.worst] == ["The delivery came late"]
    # The Hub sees every team: Cleo's call in the south is in the all-reps report.
    assert everyone.team.interactions == 4


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(hub_cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_command_writes_the_file_and_brings_in_later_changes(
    synced: tuple[dict[str, Laptop], str], hub: HubServer, tmp_path: Path
) -> None:
    out = tmp_path / "north.xlsx"
    common = ["--db", hub.db_url, "--replica", str(tmp_path / "replica")]
    common += ["--date", DAY.isoformat(), "--timezone", "Europe/Berlin"]
    code, stdout, stderr = run("report", "daily", *common, "--team", "north", "--out", str(out))
    assert (code, stderr) == (0, "")
    assert "team north, 2026-11-17" in stdout
    sheets = load_workbook(out, read_only=True).sheetnames
    assert len(sheets) > 1
    # A later run brings in what was synced since the first.
    laptops, acme_id = synced
    ana = laptops[ANA]
    log_interaction(ana.ws, customer=acme_id, kind="meeting", occurred_at=at(2026, 11, 17, 14))
    assert ana.sync().in_sync
    code, stdout, _ = run(
        "report", "daily", *common, "--rep", ANA, "--out", str(tmp_path / "ana.html"), "--json"
    )
    assert code == 0
    summary = json.loads(stdout)
    assert (summary["format"], summary["scope"], summary["reps"]) == ("html", ANA, 1)
    html = (tmp_path / "ana.html").read_text(encoding="utf-8")
    assert "meeting" in html.lower()
    assert "touchpoint-hub report daily --goals" in html  # the Hub's way to set goals


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--team", "west"], "no team 'west'"),
        (["--team", "north", "--rep", ANA], "either --rep or --team"),
        (["--timezone", "Mars/Olympus"], "'Mars/Olympus' is not a known time zone"),
        (["--goals", "missing.toml"], "no goals file"),
    ],
)
def test_bad_options_name_the_problem_and_write_nothing(
    synced: tuple[dict[str, Laptop], str],
    hub: HubServer,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "report.pdf"
    code, _stdout, stderr = run(
        "report", "daily", "--db", hub.db_url, "--replica", str(tmp_path / "r"),
        "--out", str(out), *extra,
    )  # fmt: skip
    assert code == 1
    assert message in stderr and stderr.startswith("error: ")
    assert not out.exists()


def test_an_unknown_format_and_a_missing_folder_are_refused(hub: HubServer, tmp_path: Path) -> None:
    code, _, stderr = run("report", "daily", "--db", hub.db_url, "--out", str(tmp_path / "r.txt"))
    assert code == 1 and "give --format" in stderr
    target = tmp_path / "nowhere" / "r.pdf"
    code, _, stderr = run("report", "daily", "--db", hub.db_url, "--out", str(target))
    assert code == 1 and "does not exist" in stderr


def test_exports_of_every_team_or_one(
    synced: tuple[dict[str, Laptop], str], hub: HubServer, tmp_path: Path
) -> None:
    import csv

    common = ["--db", hub.db_url, "--replica", str(tmp_path / "replica")]
    common += ["--from", DAY.isoformat(), "--to", DAY.isoformat(), "--timezone", "Europe/Berlin"]
    north = tmp_path / "north.csv"
    code, stdout, stderr = run(
        "export", "activity", *common, "--team", "north", "--out", str(north)
    )
    assert (code, stderr) == (0, "") and "wrote 3 interaction rows" in stdout
    with north.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert any("Best supplier we have" in value for row in rows for value in row.values())
    code, stdout, _ = run("export", "activity", *common, "--out", str(tmp_path / "all.csv"))
    assert code == 0 and "wrote 4 interaction rows" in stdout  # Cleo's call in the south too
    code, stdout, _ = run(
        "export", "followups", *common, "--team", "north", "--out", str(tmp_path / "f.xlsx"),
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(stdout)["rows"] == 1
    assert load_workbook(tmp_path / "f.xlsx", read_only=True).sheetnames
    code, _, stderr = run("export", "activity", *common, "--out", str(tmp_path / "x.txt"))
    assert code == 1 and "give --format" in stderr and not (tmp_path / "x.txt").exists()
