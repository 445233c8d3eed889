"""A manager's laptop pulls the team's activity, and the daily report counts it.

Two reps of team north and one of team south log calls and visits on their own
laptops and sync; the manager of north syncs a fresh laptop and runs the report
over the pulled data: each north rep's interactions are there, south's are not.
"""

from __future__ import annotations

from pathlib import Path

from harness import Clock, HubServer, Laptop

from touchpoint.services import customers, interactions
from touchpoint.services.reports import daily_report


def _log(laptop: Laptop, customer_id: str, kind: str, satisfaction: int) -> None:
    interactions.log_interaction(
        laptop.ws, customer=customer_id, kind=kind, satisfaction=satisfaction, notes="talked"
    )


def test_the_managers_report_counts_the_reps_interactions_it_pulled(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com", teams=("north",))
    hub.add_user("ben@example.com", teams=("north",))
    hub.add_user("sam@example.com", teams=("south",))
    hub.add_user("mia@example.com", role="manager", teams=("north",))
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    sam = Laptop(tmp_path / "sam", "sam@example.com", clock, hub)
    try:
        acme = customers.create_customer(ana.ws, {"name": "Acme North"}).value.id
        assert ana.sync().in_sync
        assert ben.sync().in_sync
        south = customers.create_customer(sam.ws, {"name": "Southwind"}).value.id
        clock.advance(minutes=30)
        _log(ana, acme, "call", 4)
        _log(ana, acme, "visit", 5)
        _log(ben, acme, "call", 2)
        _log(sam, south, "call", 3)
        for laptop in (ana, ben, sam):
            assert laptop.sync().in_sync
    finally:
        for laptop in (ana, ben, sam):
            laptop.close()

    mia = Laptop(tmp_path / "mia", "mia@example.com", clock, hub)
    try:
        assert mia.sync().pulled > 0
        today = clock().date()
        report = daily_report(mia.ws, today, today)
        by_rep = {r.rep: r for r in report.reps}
        assert by_rep["ana@example.com"].interactions == 2
        assert by_rep["ana@example.com"].by_kind == {"call": 1, "visit": 1}
        assert by_rep["ben@example.com"].interactions == 1
        assert by_rep["ben@example.com"].satisfaction == 2
        assert "sam@example.com" not in by_rep  # another team's activity never arrives
        assert report.team.interactions == 3
    finally:
        mia.close()
