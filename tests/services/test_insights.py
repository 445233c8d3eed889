"""The 360-degree summary, the attrition watch list, Today and the activity log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from touchpoint.errors import ValidationErrors
from touchpoint.services import customers, deals, followups, insights
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.settings import Settings
from touchpoint.storage.workspace import Workspace


def test_customer_summary_by_hand(ws: Workspace, clock) -> None:
    customers.define_custom_field(ws, "fleet_size", "fleet_size", "text")
    c = customers.create_customer(
        ws,
        {
            "name": "Müller Maschinenbau",
            "status": "active",
            "industry": "Machinery",
            "emails": ["info@mueller.de"],
            "currency": "EUR",
            "custom": {"fleet_size": "12"},
        },
    ).value
    customers.define_custom_field(ws, "tier", "Tier", "choice", ["gold", "silver"])
    customers.add_contact(ws, c.id, {"name": "Jonas Weber"})
    # six scored touches, oldest first: 5 5 5 then 4 4 3 (last three average 3.67)
    for n, score in enumerate([5, 5, 5, 4, 4, 3]):
        clock.advance(days=1)
        log_interaction(ws, customer=c.id, kind="call", satisfaction=score, notes=f"call {n}")
    clock.advance(hours=1)
    log_interaction(
        ws,
        customer=c.id,
        kind="visit",
        notes="unscored visit",
        followups=[FollowUpInput(title="Quote", due="-1d"), FollowUpInput(title="Demo", due="+3d")],
    )
    deals.add_deal(ws, c.id, {"title": "Press line", "value": "12000", "stage": "won"})
    deals.add_deal(ws, c.id, {"title": "Spare parts", "value": "800.50", "stage": "proposal"})

    s = insights.customer_summary(ws, "müller")
    assert s.customer.id == c.id
    assert [p.name for p in s.contacts] == ["Jonas Weber"]
    assert s.interactions_count == 7
    assert s.days_since_last_touch == 0
    assert s.satisfaction.current == pytest.approx(11 / 3)
    assert s.satisfaction.previous == pytest.approx(5.0)
    assert s.satisfaction.falling  # 3.67 is at least a point below 5
    assert [score for _, score in s.satisfaction_points] == [5, 5, 5, 4, 4, 3]
    assert s.lifetime.won == Decimal("12000.00")
    assert s.lifetime.open_pipeline == Decimal("800.50")
    assert [d.title for d in s.open_deals] == ["Spare parts"]
    assert [f.title for f in s.open_followups] == ["Quote", "Demo"]
    assert s.promises.overdue == 1 and s.promises.rate == 0.0
    # missing: an address only (contact, email, industry, owner, status, recent score present)
    assert s.completeness.missing == ("an address",)
    assert s.completeness.percent == 86
    assert s.quiet is not None and s.quiet.falling_satisfaction
    fields = {f.key: (f.type, f.value) for f in s.custom_fields}
    assert fields == {"fleet_size": ("text", "12"), "tier": ("choice", None)}


def test_going_quiet_lists_silent_and_unhappy_active_customers(ws: Workspace, clock) -> None:
    silent = customers.create_customer(ws, {"name": "Silent Ltd", "status": "active"}).value
    customers.create_customer(ws, {"name": "Prospect Co", "status": "prospect"})
    busy = customers.create_customer(ws, {"name": "Busy AG", "status": "active"}).value
    log_interaction(ws, customer=silent.id, kind="call")
    clock.advance(days=40)
    log_interaction(ws, customer=busy.id, kind="call")
    quiet = insights.going_quiet(ws)
    assert [(q.name, q.days) for q in quiet] == [("Silent Ltd", 40)]
    assert quiet[0].reason == "no touch for 40 days"
    ws.update_settings(
        Settings(user="maria@example.com", timezone="Europe/Berlin", quiet_after_days=60)
    )
    assert insights.going_quiet(ws) == []
    assert insights.going_quiet(ws, owner="someone.else@example.com") == []


def test_today_and_activity(ws: Workspace, clock) -> None:
    c = customers.create_customer(ws, {"name": "Acme", "status": "active"}).value
    log_interaction(
        ws,
        customer=c.id,
        kind="call",
        outcome="voicemail",
        followups=[FollowUpInput(title="Old promise", due="today 10:00")],
    )
    clock.advance(hours=2)  # 12:30 in Berlin: the 10:00 promise is overdue
    log_interaction(
        ws,
        customer=c.id,
        kind="visit",
        outcome="order",
        notes="Signed the forklift order",
        followups=[FollowUpInput(title="Confirm delivery", due="today 16:00")],
    )
    day = insights.today(ws)
    assert [f.title for f in day.overdue] == ["Old promise"]
    assert [f.title for f in day.due_today] == ["Confirm delivery"]
    assert [i.kind for i in day.interactions_today] == ["visit", "call"]
    assert day.interactions_today[0].customer_name == "Acme"
    followups.complete_followup(ws, day.overdue[0].id)
    assert insights.today(ws).overdue == []

    start = datetime(2026, 11, 18, tzinfo=UTC)
    assert len(insights.activity(ws, start=start)) == 2
    assert [i.outcome for i in insights.activity(ws, kinds=["visit"])] == ["order"]
    assert [i.kind for i in insights.activity(ws, outcomes=["voicemail"])] == ["call"]
    assert [i.kind for i in insights.activity(ws, text="forklift")] == ["visit"]
    assert insights.activity(ws, rep="tom@example.com") == []


def test_deals_close_and_reopen(ws: Workspace, clock) -> None:
    c = customers.create_customer(ws, {"name": "Acme", "currency": "EUR"}).value
    deal = deals.add_deal(ws, c.id, {"title": "Forklifts", "value": "5000"}).value
    assert deal.currency == "EUR" and deal.stage == "lead" and deal.closed_at is None
    won = deals.edit_deal(ws, deal.id, {"stage": "won"}).value
    assert won.closed_at == clock()
    assert deals.edit_deal(ws, deal.id, {"stage": "negotiation"}).value.closed_at is None
    with pytest.raises(ValidationErrors) as caught:
        deals.add_deal(ws, c.id, {"title": "Bad", "value": "-3"})
    assert caught.value.errors[0].field == "value"
    assert [d.title for d in deals.list_deals(ws, c.id)] == ["Forklifts"]


def test_counts_are_of_everything_not_of_what_is_shown(ws: Workspace, clock) -> None:
    """Today lists at most N quiet customers but counts them all; the satisfaction count
    is of every score, not of the newest ones the chart shows."""
    c = customers.create_customer(ws, {"name": "Chatty GmbH", "status": "active"}).value
    for _ in range(insights.CHART_POINTS + 5):
        clock.advance(hours=1)
        log_interaction(ws, customer=c.id, kind="call", satisfaction=4)
    s = insights.customer_summary(ws, c.id)
    assert len(s.satisfaction_points) == insights.CHART_POINTS
    assert s.satisfaction.count == insights.CHART_POINTS + 5
    for n in range(4):
        customers.create_customer(
            ws, {"name": f"Silent {n}", "status": "active", "owner": ws.author}
        )
    clock.advance(days=1)
    day = insights.today(ws, quiet_limit=3)
    assert len(day.quiet) == 3 and day.quiet_total == 4


def test_a_long_relationship_counts_every_promise_and_lists_the_newest_past_ones(
    ws: Workspace, clock
) -> None:
    """The keeping rate is of every promise; the open ones are all listed by due time,
    the past ones the newest first (by when done, else when due), cut at PAST_FOLLOWUPS;
    deleted ones are neither."""
    c = customers.create_customer(ws, {"name": "Loyal AG", "status": "active"}).value
    start = clock()
    made = []
    for n in range(insights.PAST_FOLLOWUPS + 10):
        clock.current = start + timedelta(days=n)
        logged = log_interaction(
            ws,
            customer=c.id,
            kind="call",
            followups=[
                FollowUpInput(title=f"promise {n:02d}", due=start + timedelta(days=n, hours=8))
            ],
        ).value
        made.append(logged.followups[0])
    clock.current = start + timedelta(days=60)
    kept, late, cancelled = made[:12], made[12:22], made[22:24]
    for f in kept:
        followups.complete_followup(ws, f.id, at=f.due_at - timedelta(hours=1))
    for f in late:
        followups.complete_followup(ws, f.id, at=f.due_at + timedelta(days=2))
    for f in cancelled:
        followups.cancel_followup(ws, f.id)
    followups.delete_followup(ws, made[24].id)
    still_open = made[25:]  # all overdue by now

    s = insights.customer_summary(ws, c.id)
    assert (s.promises.kept, s.promises.late, s.promises.overdue) == (12, 10, len(still_open))
    assert s.promises.cancelled == 2
    assert [f.title for f in s.open_followups] == [f.title for f in still_open]
    # Past: done (or cancelled, by due time) the newest first.
    ended = {f.id: f.due_at - timedelta(hours=1) for f in kept}
    ended |= {f.id: f.due_at + timedelta(days=2) for f in late}
    ended |= {f.id: f.due_at for f in cancelled}
    newest = sorted(ended, key=lambda fid: ended[fid], reverse=True)[: insights.PAST_FOLLOWUPS]
    assert [f.id for f in s.past_followups] == newest
    assert made[24].id not in {f.id for f in [*s.open_followups, *s.past_followups]}
