"""A desktop upgraded while changes still wait: each is pushed exactly once afterwards."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from harness import Clock, HubServer, Laptop, all_change_ids, assert_converged, hub_change_count

from touchpoint.services import customers
from touchpoint.storage import migrate
from touchpoint.storage.workspace import Workspace


def test_waiting_changes_survive_a_schema_upgrade(
    hub: HubServer, tmp_path: Path, clock: Clock
) -> None:
    hub.add_user("ana@example.com")
    hub.add_user("ben@example.com")
    ana = Laptop(tmp_path / "ana", "ana@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    first = customers.create_customer(ana.ws, {"name": "Before"}).value.id
    assert ana.sync().in_sync
    # Offline work on the older Touchpoint (schema 0002): several changes wait.
    for i in range(5):
        customers.create_customer(ana.ws, {"name": f"Offline {i}"})
    customers.edit_customer(ana.ws, first, {"notes": "edited offline"})
    waiting = {c.change_id for c in ana.outbox()}
    assert len(waiting) == 6
    ana.ws.close()
    cfg = migrate.alembic_config()
    db = ana.ws.db
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        conn.exec_driver_sql("UPDATE change_log SET schema_version = '0002'")
    assert migrate.schema_revision(db.path) == "0002"

    # The new Touchpoint opens it: upgraded (with a backup), the queue intact, sent once.
    ana.ws = Workspace.open(ana.root, auto_backup=False, clock=clock)
    assert migrate.schema_revision(db.path) == migrate.head_revision()
    assert {c.change_id for c in ana.outbox()} == waiting
    assert list((ana.root / "backups").glob("pre-upgrade-0002-*"))
    result = ana.sync()
    assert result.in_sync and result.pushed == 6
    assert ana.sync().pushed == 0
    ben.sync()
    counts = hub_change_count(hub)
    assert set(counts.values()) == {1}
    assert waiting <= set(counts) == all_change_ids(ana, ben)
    assert_converged(hub, ana, ben)
    ana.close()
    ben.close()
