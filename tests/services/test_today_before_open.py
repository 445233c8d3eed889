"""Today read from the file at start (stdlib sqlite3) agrees with insights.today()."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from touchpoint.services import customers, demo, insights
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.services.today import read_before_open
from touchpoint.services.workspace import Workspace
from touchpoint.settings import Settings


def _busy_day(ws: Workspace, clock) -> None:  # type: ignore[no-untyped-def]
    demo.generate_demo(ws, customers=60, interactions=400, followups=120, deals=10)
    c = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    twin = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    log_interaction(
        ws,
        customer=c.id,
        kind="call",
        outcome="voicemail",
        satisfaction=2,
        contacts=[],
        followups=[FollowUpInput(title="Old promise", due="today 10:00")],
    )
    clock.advance(hours=2)  # 12:30 in Berlin: the 10:00 promise is overdue
    log_interaction(
        ws,
        customer=twin.id,
        kind="visit",
        subject="Forklift order",
        notes="Signed",
        followups=[
            FollowUpInput(title="Confirm delivery", due="today 16:00"),
            FollowUpInput(title="Same time", due="today 16:00"),
        ],
    )


def test_same_figures_as_insights_today(ws: Workspace, data_dir: Path, clock) -> None:
    _busy_day(ws, clock)
    expected = insights.today(ws)
    # The demo's book belongs to several reps: the user's lists must not be empty here.
    assert expected.overdue and expected.due_today and expected.interactions_today
    assert expected.quiet and expected.quiet_total >= len(expected.quiet)
    early = read_before_open(data_dir, now=clock())
    assert early == expected
    assert early is not None and early.as_of == clock() and str(early.tz) == "Europe/Berlin"


def test_another_users_day_and_a_short_watch_list(ws: Workspace, data_dir: Path, clock) -> None:
    _busy_day(ws, clock)
    ws.update_settings(
        Settings(user="tom@example.com", timezone="America/New_York", quiet_after_days=10)
    )
    early = read_before_open(data_dir, now=clock())
    assert early == insights.today(ws)
    assert early is not None and early.overdue == [] and early.interactions_today == []


def test_no_answer_when_only_the_workspace_can_read(data_dir: Path, tmp_path: Path) -> None:
    assert read_before_open(tmp_path / "nowhere") is None  # no database yet
    db = data_dir / "touchpoint.sqlite3"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0004'")  # an upgrade is due
    conn.close()
    assert read_before_open(data_dir) is None
    db.write_bytes(b"\x8a" * 4096)  # what an encrypted file looks like: no SQLite header
    assert read_before_open(data_dir) is None


def test_the_read_loads_no_sqlalchemy(data_dir: Path) -> None:
    code = (
        "import sys; from touchpoint.services.today import read_before_open; "
        f"assert read_before_open({str(data_dir)!r}) is not None; "
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
