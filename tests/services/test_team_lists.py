"""One rep's lists and the late promises: the product's meanings of kept, late and
overdue, periods as local days, and lists held to some Hub teams."""

from __future__ import annotations

from typing import Any

import pytest

from touchpoint.services import customers, followups, interactions
from touchpoint.services.interactions import FollowUpInput


def test_late_and_overdue_promises_keep_the_product_s_meanings(ws: Any, clock: Any) -> None:
    """Overdue: open after its due time, now. Late: done after it, for promises due in
    the period, as it stood at the period's end (the daily report's Late)."""
    from datetime import UTC, date, datetime

    from touchpoint.services import team_lists

    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 11, day, hour, 0, tzinfo=UTC)  # now: Wed 18 Nov, 9:30 UTC

    north = customers.create_customer(ws, {"name": "Nord KG"}).value.id
    south = customers.create_customer(ws, {"name": "Süd SA"}).value.id
    with ws.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customer_teams (customer_id, team) VALUES (?, 'north'), (?, 'south')",
            (north, south),
        )
    made = interactions.log_interaction(
        ws,
        customer=north,
        kind="call",
        occurred_at=at(16, 9),
        followups=[
            FollowUpInput("kept", at(17, 12)),
            FollowUpInput("late this week", at(16, 9)),
            FollowUpInput("due last week, done this week", at(13, 9)),
            FollowUpInput("overdue", at(10, 9)),
            FollowUpInput("cancelled", at(10, 9)),
            FollowUpInput("not due yet", at(20, 9)),
        ],
    ).value.followups
    by = {f.title: f.id for f in made}
    followups.complete_followup(ws, by["kept"], at=at(17, 11))
    followups.complete_followup(ws, by["late this week"], at=at(18, 8))
    followups.complete_followup(ws, by["due last week, done this week"], at=at(17, 9))
    followups.cancel_followup(ws, by["cancelled"])
    interactions.log_interaction(
        ws,
        customer=south,
        kind="visit",
        occurred_at=at(17, 9),
        satisfaction=2,
        feedback="Too slow",
        followups=[FollowUpInput("south's", at(11, 9), assigned_to="ben@example.com")],
    )

    week = team_lists.late_promises(ws, date(2026, 11, 16), date(2026, 11, 22))
    assert [(p.followup.title, p.days_late) for p in week.overdue.rows] == [
        ("overdue", 8),
        ("south's", 7),
    ]
    assert [(p.followup.title, p.state, p.days_late) for p in week.late.rows] == [
        ("late this week", "late", 2)
    ]
    assert week.reps == ["ben@example.com", "maria@example.com"]
    # Last week: the promise done only this week was overdue at its end, not late.
    last = team_lists.late_promises(ws, date(2026, 11, 9), date(2026, 11, 15))
    assert last.late.total == 0 and last.late.rows == []
    held = team_lists.late_promises(
        ws, date(2026, 11, 16), date(2026, 11, 22), teams=("north",), sort="days"
    )
    assert [p.followup.title for p in held.overdue.rows] == ["overdue"]
    assert held.overdue.rows[0].team == "north"
    one = team_lists.late_promises(
        ws, date(2026, 11, 16), date(2026, 11, 22), rep="ben@example.com", limit=0
    )
    assert one.overdue.total == 1 and one.overdue.rows == [] and one.overdue.more == 1

    # One rep's lists, held to some teams when asked.
    scores = team_lists.rep_scores(ws, "maria@example.com", date(2026, 11, 16), date(2026, 11, 22))
    assert [(i.customer_name, i.satisfaction, i.feedback) for i in scores.rows] == [
        ("Süd SA", 2, "Too slow")
    ]
    shown = team_lists.rep_interactions(
        ws, "maria@example.com", date(2026, 11, 16), date(2026, 11, 22), teams=("north",)
    )
    assert [i.customer_name for i in shown.rows] == ["Nord KG"] and shown.total == 1
    opened, overdue = team_lists.rep_open_promises(ws, "maria@example.com")
    assert [f.title for f in opened.rows] == ["overdue", "not due yet"] and overdue == 1
    with pytest.raises(Exception, match="sort"):
        team_lists.late_promises(ws, date(2026, 11, 16), date(2026, 11, 22), sort="nonsense")

    # A rep's own page lists their promises kept late as the late promises' list does.
    week_of = (date(2026, 11, 16), date(2026, 11, 22))
    mine = team_lists.rep_late_promises(ws, "maria@example.com", *week_of)
    assert [(p.followup.title, p.state, p.days_late) for p in mine.rows] == [
        ("late this week", "late", 2)
    ]
    for rep in ("maria@example.com", "ben@example.com"):
        for teams in (None, ("north",), ("south",)):
            assert (
                team_lists.rep_late_promises(ws, rep, *week_of, teams=teams)
                == team_lists.late_promises(ws, *week_of, teams=teams, rep=rep).late
            )
    assert (
        team_lists.rep_late_promises(ws, "maria@example.com", *week_of, teams=("south",)).rows == []
    )
