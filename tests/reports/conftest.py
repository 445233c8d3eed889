"""A small team's Tuesday (Tue 2026-11-17, Europe/Berlin) for the export and report tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from touchpoint.services import customers, followups, goals
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace

MARIA = "maria@example.com"
TOM = "tom@example.com"
IDA = "ida@example.com"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def as_rep(ws: Workspace, rep: str) -> None:
    ws.settings = replace(ws.settings, user=rep)


@pytest.fixture
def team(ws: Workspace, clock) -> Workspace:
    clock.current = utc(2026, 11, 16, 12, 0)
    acme = customers.create_customer(
        ws,
        {
            "name": "Acme GmbH",
            "status": "active",
            "owner": MARIA,
            "industry": "Machinery",
            "emails": ["info@acme.de"],
        },
    ).value
    jonas = customers.add_contact(ws, acme.id, {"name": "Jonas Weber"}).value
    lena = customers.add_contact(ws, acme.id, {"name": "Lena Roth"}).value
    evil = customers.create_customer(
        ws, {"name": '=HYPERLINK("http://x")', "status": "active", "owner": TOM}
    ).value
    customers.create_customer(ws, {"name": "Quiet KG", "status": "active", "owner": MARIA})

    as_rep(ws, MARIA)
    clock.current = utc(2026, 11, 17, 10, 5)  # Tuesday's touches are logged once they happened
    log_interaction(
        ws,
        customer=acme.id,
        kind="call",
        occurred_at=utc(2026, 11, 16, 23, 30),  # 00:30 on Tuesday, local
        contacts=[jonas.id, lena.id],
        outcome="connected",
        duration_minutes=25,
        satisfaction=5,
        feedback="Loved the demo — danke!",
        notes="-5% discount asked\nsecond line",
        followups=[
            FollowUpInput(title="Send quote", due=utc(2026, 11, 17, 16, 0)),
            FollowUpInput(title="Call back", due=utc(2026, 11, 17, 16, 0)),
        ],
    )
    log_interaction(
        ws, customer=acme.id, kind="visit", occurred_at=utc(2026, 11, 17, 9, 0), satisfaction=4
    )
    as_rep(ws, TOM)
    log_interaction(
        ws,
        customer=evil.id,
        kind="visit",
        occurred_at=utc(2026, 11, 17, 10, 0),
        satisfaction=2,
        feedback="@everyone delivery was late again",
        followups=[FollowUpInput(title="+refund", due=utc(2026, 11, 19, 16, 0))],
    )
    made = {f.title: f for f in followups.list_followups(ws, followups.FollowUpFilter(scope="all"))}
    followups.complete_followup(ws, made["Send quote"].id, at=utc(2026, 11, 17, 16, 0))
    goals.set_goal(ws, kind="call", count=4, per="day")
    goals.set_goal(ws, kind="visit", count=7, per="week", rep=MARIA)
    goals.add_team_members(ws, "north", [MARIA, TOM, IDA])
    clock.current = utc(2026, 11, 18, 9, 30)
    as_rep(ws, MARIA)
    return ws
