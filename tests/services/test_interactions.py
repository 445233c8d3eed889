"""Logging touchpoints and keeping promises, on real database files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from touchpoint.domain.enums import PromiseState
from touchpoint.errors import ForbiddenError, NotFoundError, ValidationError, ValidationErrors
from touchpoint.services import customers, followups, interactions
from touchpoint.services.followups import FollowUpFilter
from touchpoint.services.interactions import FollowUpInput, edit_interaction, log_interaction
from touchpoint.settings import Settings
from touchpoint.storage.models import Change, FollowUp, Interaction
from touchpoint.storage.workspace import Workspace


def _counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Interaction)) or 0,
            s.scalar(select(func.count()).select_from(FollowUp)) or 0,
            s.scalar(select(func.count()).select_from(Change)) or 0,
        )


@pytest.fixture
def acme(ws: Workspace) -> str:
    customer = customers.create_customer(ws, {"name": "Acme GmbH", "status": "active"}).value
    customers.add_contact(ws, customer.id, {"name": "Jana Novak", "emails": ["jana@acme.de"]})
    return customer.id


def test_log_with_followups_is_one_transaction(ws: Workspace, acme: str) -> None:
    saved = log_interaction(
        ws,
        customer="acme",
        kind="Visit",
        contacts=["Jana Novak"],
        notes="Walked the warehouse; they want the forklift quote.",
        outcome="Meeting booked",
        satisfaction="4",
        feedback="Much faster than last year",
        followups=[
            FollowUpInput(title="Send the forklift quote", due="fri 10:00"),
            FollowUpInput(title="Call about training", due="+2w", priority="high"),
        ],
    )
    logged = saved.value
    assert logged.interaction.kind == "visit"
    assert logged.interaction.outcome == "meeting booked"
    assert logged.interaction.satisfaction == 4
    assert logged.interaction.rep == "maria@example.com"
    assert len(logged.interaction.contact_ids) == 1
    quote, training = logged.followups
    # Friday 20 November 10:00 in Berlin is 09:00 UTC; the reminder 15 minutes before
    assert quote.due_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert quote.remind_at == quote.due_at - timedelta(minutes=15)
    assert quote.interaction_id == logged.interaction.id
    assert training.priority == "high"
    assert saved.changes.touches("interaction") and saved.changes.touches("followup")
    with ws.read() as s:
        tx_ids = set(s.scalars(select(Change.tx_id).where(Change.entity != "customer")))
    assert len(tx_ids) == 2  # the contact's transaction, then the whole log in one


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"satisfaction": 7}, "satisfaction"),
        ({"satisfaction": "great"}, "satisfaction"),
        ({"notes": "x" * 1_000_001}, "notes"),
        ({"kind": "telegram"}, "kind"),
        ({"contacts": ["Nobody Known"]}, "contact"),
        ({"followups": [FollowUpInput(title="Quote", due="someday")]}, "follow-up 1 due"),
        ({"followups": [FollowUpInput(title="  ", due="tomorrow")]}, "follow-up 1 follow-up"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    ws: Workspace, acme: str, kwargs: dict, field: str
) -> None:
    before = _counts(ws)
    args = {"customer": acme, "kind": "call", **kwargs}
    with pytest.raises(ValidationErrors) as caught:
        log_interaction(ws, **args)
    assert field in [e.field for e in caught.value.errors]
    assert _counts(ws) == before


def test_an_interaction_in_the_future_is_refused(ws: Workspace, acme: str) -> None:
    before = _counts(ws)
    # The clock: Wednesday 18 November 2026, 10:30 in Berlin.
    with pytest.raises(ValidationErrors) as caught:
        log_interaction(ws, customer=acme, kind="call", occurred_at="+2d")
    (error,) = caught.value.errors
    assert (error.field, error.problem) == (
        "when",
        "Fri 20 Nov 17:00 is in the future; log it once it happened, or add a follow-up "
        "with --follow-up/--due",
    )
    assert _counts(ws) == before
    # A few minutes ahead is a clock that runs fast, not the future.
    soon = log_interaction(ws, customer=acme, kind="call", occurred_at="+10m").value
    with pytest.raises(ValidationErrors) as edited:
        edit_interaction(ws, soon.interaction.id, {"occurred_at": "tomorrow 9:00"})
    assert [e.field for e in edited.value.errors] == ["when"]


def test_a_typed_weekday_is_the_last_one_for_an_interaction(ws: Workspace, acme: str) -> None:
    logged = log_interaction(
        ws,
        customer=acme,
        kind="visit",
        occurred_at="fri 10:00",
        followups=[FollowUpInput(title="Send the quote", due="fri 10:00")],
    ).value
    # Typed on Wednesday 18 November: the visit was last Friday, the promise is this one.
    assert logged.interaction.occurred_at == datetime(2026, 11, 13, 9, 0, tzinfo=UTC)
    assert logged.followups[0].due_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_only_the_author_edits_an_interaction(ws: Workspace, acme: str, data_dir, clock) -> None:
    logged = log_interaction(ws, customer=acme, kind="call", notes="first").value.interaction
    edited = edit_interaction(ws, logged.id, {"notes": "corrected", "satisfaction": 5}).value
    assert edited.notes == "corrected" and edited.satisfaction == 5
    ws.update_settings(Settings(user="tom@example.com", timezone="Europe/Berlin"))
    with pytest.raises(ForbiddenError):
        edit_interaction(ws, logged.id, {"notes": "not mine"})


def test_kept_late_and_overdue(ws: Workspace, acme: str, clock) -> None:
    made = log_interaction(
        ws,
        customer=acme,
        kind="call",
        followups=[
            FollowUpInput(title="on time", due="today 12:00"),
            FollowUpInput(title="late", due="today 11:00"),
            FollowUpInput(title="forgotten", due="today 11:00"),
        ],
    ).value.followups
    on_time, late, forgotten = made
    clock.advance(hours=1)  # 11:30 in Berlin
    assert followups.complete_followup(ws, on_time.id[-8:]).value.state == PromiseState.KEPT
    assert followups.complete_followup(ws, late.id).value.state == PromiseState.LATE
    listed = {f.title: f.state for f in followups.list_followups(ws, FollowUpFilter(scope="all"))}
    assert listed == {
        "on time": PromiseState.KEPT,
        "late": PromiseState.LATE,
        "forgotten": PromiseState.OVERDUE,
    }
    # completing again keeps the first completion time
    again = followups.complete_followup(ws, late.id, at="today 23:00").value
    assert again.done_at == datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
    overdue = followups.list_followups(ws, FollowUpFilter(scope="overdue"))
    assert [f.id for f in overdue] == [forgotten.id]


def test_reschedule_snooze_reassign_cancel(ws: Workspace, acme: str, clock) -> None:
    f = log_interaction(
        ws, customer=acme, kind="call", followups=[FollowUpInput(title="Quote", due="tomorrow")]
    ).value.followups[0]
    snoozed = followups.snooze_followup(ws, f.id, "today 15:00").value
    assert snoozed.due_at == f.due_at  # snooze moves the reminder, not the promise
    assert snoozed.remind_at == datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
    moved = followups.reschedule_followup(ws, f.id, "fri 09:00").value
    assert moved.due_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert moved.remind_at == moved.due_at - timedelta(minutes=15)
    assert followups.reassign_followup(ws, f.id, "tom@example.com").value.assigned_to == (
        "tom@example.com"
    )
    with pytest.raises(ValidationError) as caught:
        followups.reschedule_followup(ws, f.id, "whenever")
    assert [e.field for e in caught.value.errors] == ["due"]
    cancelled = followups.cancel_followup(ws, f.id).value
    assert cancelled.state == PromiseState.CANCELLED
    with pytest.raises(ValidationErrors):
        followups.complete_followup(ws, f.id)


def test_followup_scopes_use_local_days(ws: Workspace, acme: str, clock) -> None:
    log_interaction(
        ws,
        customer=acme,
        kind="call",
        followups=[
            FollowUpInput(title="tonight", due="today 23:30"),  # still today in Berlin
            FollowUpInput(title="sunday", due="sun 10:00"),
            FollowUpInput(title="next month", due="2026-12-20"),
        ],
    )
    titles = {
        scope: [f.title for f in followups.list_followups(ws, FollowUpFilter(scope=scope))]
        for scope in ("today", "week", "later")
    }
    assert titles == {
        "today": ["tonight"],
        "week": ["tonight", "sunday"],
        "later": ["next month"],
    }


def test_due_reminders_window(ws: Workspace, acme: str, clock) -> None:
    log_interaction(
        ws, customer=acme, kind="call", followups=[FollowUpInput(title="Q", due="today 11:00")]
    )
    start = clock()
    assert followups.due_reminders(ws, since=start) == []
    clock.advance(minutes=20)  # 10:50 Berlin: the reminder at 10:45 is due
    due = followups.due_reminders(ws, since=start)
    assert [r.title for r in due] == ["Q"]
    assert due[0].customer_name == "Acme GmbH"


def test_ids_by_prefix_are_not_wildcards(ws: Workspace, acme: str) -> None:
    logged = log_interaction(ws, customer=acme, kind="call").value.interaction
    assert edit_interaction(ws, logged.id[-8:], {"notes": "found"}).value.notes == "found"
    for ref in ("%%%%%%%%", "________", logged.id[:5]):  # wildcards, or too short to trust
        with pytest.raises(NotFoundError):
            edit_interaction(ws, ref, {"notes": "nope"})
    with pytest.raises(NotFoundError) as short:
        edit_interaction(ws, logged.id[:5], {"notes": "nope"})
    assert str(short.value) == (
        f"'{logged.id[:5]}' is too short: give at least 6 characters of the interaction's id"
    )


def test_ids_by_their_shown_end_or_their_start(ws: Workspace, acme: str) -> None:
    from touchpoint.domain.values import short_id
    from touchpoint.errors import AmbiguousError

    first = log_interaction(ws, customer=acme, kind="call").value.interaction
    second = log_interaction(ws, customer=acme, kind="visit").value.interaction
    # Made the same second, the two ids share their start (the time) but not their end.
    assert first.id[:8] == second.id[:8] and short_id(first.id) != short_id(second.id)
    assert edit_interaction(ws, short_id(second.id), {"notes": "by end"}).value.id == second.id
    assert edit_interaction(ws, first.id[:-4], {"notes": "by start"}).value.id == first.id
    with pytest.raises(AmbiguousError) as both:
        edit_interaction(ws, first.id[:8], {"notes": "nope"})
    assert str(both.value) == (
        f"'{first.id[:8]}' is part of several interactions' ids; give more of the id"
    )


def test_the_detail_has_people_promises_history_and_who_may_edit(
    ws: Workspace, acme: str, clock
) -> None:
    logged = log_interaction(
        ws,
        customer=acme,
        kind="visit",
        contacts=["Jana Novak"],
        notes="Walked the warehouse",
        feedback="Much faster than last year",
        followups=[FollowUpInput(title="Send the quote", due="fri 10:00")],
    ).value
    other = log_interaction(
        ws, customer=acme, kind="call", followups=[FollowUpInput("Not this one", "+1d")]
    ).value
    clock.advance(minutes=5)
    edit_interaction(ws, logged.interaction.id, {"satisfaction": 4})
    detail = interactions.interaction_detail(ws, logged.interaction.id[-8:])
    assert detail.interaction.feedback == "Much faster than last year"
    assert detail.customer_name == "Acme GmbH"
    assert [c.name for c in detail.contacts] == ["Jana Novak"]
    assert [f.title for f in detail.followups] == ["Send the quote"]
    assert other.followups[0].id not in {f.id for f in detail.followups}
    assert [e.op for e in detail.history] == ["update", "insert"]
    assert detail.history[0].fields["satisfaction"] == [None, 4]
    assert detail.editable and detail.author == "maria@example.com"
    assert detail.history_total == 2
    cut = interactions.interaction_detail(ws, logged.interaction.id, history_limit=1)
    assert [e.op for e in cut.history] == ["update"] and cut.history_total == 2
    ws.update_settings(Settings(user="tom.weber@example.com", timezone="Europe/Berlin"))
    theirs = interactions.interaction_detail(ws, logged.interaction.id)
    assert not theirs.editable
    assert theirs.author_name == "Maria"  # a name read from the email
    with pytest.raises(ForbiddenError) as refused:
        edit_interaction(ws, logged.interaction.id, {"notes": "mine now"})
    assert str(refused.value) == (
        "only Maria can edit this visit: it is their record of what happened"
    )
    with pytest.raises(ForbiddenError):
        interactions.delete_interaction(ws, logged.interaction.id)


def test_an_edit_names_every_wrong_field_and_changes_who_took_part(
    ws: Workspace, acme: str
) -> None:
    logged = log_interaction(ws, customer=acme, kind="call", notes="first").value.interaction
    before = _counts(ws)
    with pytest.raises(ValidationErrors) as caught:
        edit_interaction(
            ws,
            logged.id,
            {"occurred_at": "not a day", "satisfaction": 9, "contacts": ["Nobody"], "notes": "x"},
        )
    assert sorted(e.field for e in caught.value.errors) == ["contact", "satisfaction", "when"]
    assert _counts(ws) == before
    assert interactions.get_interaction(ws, logged.id).notes == "first"
    edited = edit_interaction(ws, logged.id, {"contacts": ["jana novak"]}).value
    assert len(edited.contact_ids) == 1
    assert edit_interaction(ws, logged.id, {"contacts": []}).value.contact_ids == []


def test_a_deleted_interaction_comes_back(ws: Workspace, acme: str) -> None:
    logged = log_interaction(ws, customer=acme, kind="visit").value.interaction
    gone = interactions.delete_interaction(ws, logged.id).value
    assert gone.customer_name == "Acme GmbH"
    with pytest.raises(NotFoundError):
        interactions.get_interaction(ws, logged.id)
    assert interactions.timeline(ws, acme) == []
    interactions.restore_interaction(ws, logged.id)
    assert [i.id for i in interactions.timeline(ws, acme)] == [logged.id]


def test_a_customer_s_timeline_a_page_at_a_time(ws: Workspace, acme: str, clock) -> None:
    """The 360 view's pages: newest first, deleted ones left out, as the timeline
    gives them, each page the next slice."""
    for n in range(7):
        clock.advance(hours=1)
        log_interaction(ws, customer=acme, kind="call", subject=f"call {n}")
    gone = interactions.timeline(ws, acme, limit=1)[0]
    interactions.delete_interaction(ws, gone.id)
    everything = interactions.timeline(ws, acme)
    assert [i.subject for i in everything][:2] == ["call 5", "call 4"]
    pages = [
        interactions.customer_timeline(ws, acme, "Acme GmbH", limit=3, offset=offset)
        for offset in (0, 3, 6)
    ]
    assert [[i.id for i in page] for page in pages] == [
        [i.id for i in everything[0:3]],
        [i.id for i in everything[3:6]],
        [i.id for i in everything[6:9]],
    ]
    assert {i.customer_name for page in pages for i in page} == {"Acme GmbH"}
    assert gone.id not in {i.id for page in pages for i in page}
