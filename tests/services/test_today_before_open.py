"""Today read from the file at start (stdlib sqlite3) agrees with insights.today()."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from touchpoint.services import customers, demo, insights
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.services.today_start import read_before_open
from touchpoint.settings import Settings
from touchpoint.storage.workspace import Workspace


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
        # Read back through one JSON value at start: quotes, escapes, JSON-looking text,
        # newlines and characters beyond the BMP must come back as typed.
        notes='Signed "as is"\n{"total": 1.5} \\ back\tslash, café 🚚',
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
        "import sys; from touchpoint.services.today_start import read_before_open; "
        f"assert read_before_open({str(data_dir)!r}) is not None; "
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_watch_list_skips_only_customers_who_are_not_on_it() -> None:
    """quiet_from_rows passes over recent, steady customers on a text comparison: it
    must list exactly whom quiet_customer lists, at the edges of the quiet period."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from touchpoint.services.today import longest_silent_first, quiet_customer, quiet_from_rows
    from touchpoint.storage.queries.watch_list import WatchRow
    from touchpoint.storage.utc_text import to_utc_text

    scores_variants = [[], [5], [3, 3, 3, 5, 5, 5], [5, 5, 5, 3, 3, 3], [4, 4, 4, 4, 4, 4]]
    for tz_name in ("Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        tz = ZoneInfo(tz_name)
        for now in (
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # the night summer time starts
            datetime(2026, 11, 18, 23, 59, tzinfo=UTC),
        ):
            for quiet_after in (1, 2, 30):
                rows = []
                for hours in range(-30, 24 * (quiet_after + 3), 5):
                    last = to_utc_text(now - timedelta(days=quiet_after, hours=-hours))
                    for n, scores in enumerate(scores_variants):
                        rows.append(WatchRow(f"c{hours}-{n}", f"C {hours}", None, last, scores))
                rows.append(WatchRow("never", "Never", None, None, []))
                expected = [
                    q
                    for q in (
                        quiet_customer(
                            cid,
                            name,
                            own,
                            last_touch=datetime.fromisoformat(last[:26]).replace(tzinfo=UTC)
                            if last
                            else None,
                            scores_newest_first=scores,
                            now=now,
                            tz=tz,
                            quiet_after_days=quiet_after,
                        )
                        for cid, name, own, last, scores in rows
                    )
                    if q is not None
                ]
                longest_silent_first(expected)
                got = quiet_from_rows(rows, now=now, tz=tz, quiet_after_days=quiet_after)
                assert got == expected, (tz_name, now, quiet_after)
                assert len(got) < len(rows)  # some were passed over


def test_a_long_overdue_list_still_counts_them_all_and_shows_today(
    ws: Workspace, data_dir: Path, clock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """More overdue promises than the list holds: Today says how many there are, lists
    the longest overdue, and still lists those due later today (they come after every
    overdue one by due time, so one list of both would never reach them)."""
    from touchpoint.services import today_start

    monkeypatch.setattr(today_start, "DUE_LIMIT", 3)
    monkeypatch.setattr(insights, "DUE_LIMIT", 3)
    acme = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    log_interaction(
        ws,
        customer=acme.id,
        kind="call",
        followups=[FollowUpInput(title=f"Late {n}", due=f"-{n}d") for n in range(1, 6)]
        + [FollowUpInput(title="This afternoon", due="today 16:00")]
        + [FollowUpInput(title="This evening", due="today 19:00")],
    )
    expected = insights.today(ws)
    assert [f.title for f in expected.overdue] == ["Late 5", "Late 4", "Late 3"]
    assert expected.overdue_total == 5
    assert [f.title for f in expected.due_today] == ["This afternoon", "This evening"]
    assert read_before_open(data_dir, now=clock()) == expected
