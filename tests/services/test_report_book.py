"""The report's customer book (going quiet and profile hygiene) against the rules
computed customer by customer from the records.

``reports.book_health`` reads the book in one query and decides completeness from eight
booleans (two of them time comparisons made on stored text); here every customer's
facts are gathered from the ORM's records and given to ``metrics.completeness`` and
``metrics.going_quiet``, on a varied demo book, at moments that put customers exactly on
the 180-day and 365-day boundaries.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from touchpoint.domain import metrics
from touchpoint.domain.enums import CustomerStatus
from touchpoint.domain.rounding import half_up_int
from touchpoint.services import demo, reports
from touchpoint.storage.models import Contact, Customer, Interaction
from touchpoint.storage.queries import watch_list
from touchpoint.storage.workspace import Workspace

REPS = ["maria@example.com", "tom@example.com", "ida@example.com"]


@pytest.fixture
def book(ws: Workspace) -> Workspace:
    demo.generate_demo(
        ws, seed=11, customers=160, contacts=300, interactions=2500, followups=0, reps=REPS
    )
    return ws


@dataclass
class Record:
    """A customer as the records hold it: the row, its contacts and interactions."""

    customer: Customer
    contacts: list[Contact] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)  # newest first


def records(ws: Workspace) -> list[Record]:
    with ws.read() as session:
        found = {c.id: Record(c) for c in session.scalars(select(Customer))}
        for contact in session.scalars(select(Contact)):
            found[contact.customer_id].contacts.append(contact)
        for done in session.scalars(select(Interaction).order_by(Interaction.occurred_at.desc())):
            found[done.customer_id].interactions.append(done)
        session.expunge_all()
    return list(found.values())


def expected_book(
    ws: Workspace, book: list[Record], owners: set[str] | None, now: datetime
) -> tuple[dict[str, metrics.Completeness], dict[str, datetime | None], dict[str, str]]:
    """Each customer's completeness, last change known and going-quiet reason at ``now``,
    from its records one by one."""
    completeness: dict[str, metrics.Completeness] = {}
    confirmed: dict[str, datetime | None] = {}
    quiet: dict[str, str] = {}
    for record in book:
        customer = record.customer
        if (
            customer.deleted_at is not None
            or customer.merged_into_id is not None
            or customer.status == CustomerStatus.FORMER
            or customer.created_at > now
            or (owners is not None and customer.owner not in owners)
        ):
            continue
        contacts = [c for c in record.contacts if c.deleted_at is None and c.created_at <= now]
        touches = [i for i in record.interactions if i.deleted_at is None and i.occurred_at <= now]
        scored = [i for i in touches if i.satisfaction is not None]
        # Only the newest change is kept: one after ``now`` leaves the creation.
        known = [
            t
            for t in (customer.confirmed_at, customer.updated_at, customer.created_at)
            if t is not None and t <= now
        ]
        last_change = max(known, default=None)
        facts = metrics.ProfileFacts(
            contacts=len(contacts),
            has_email_or_phone=bool(customer.emails or customer.phones)
            or any(c.emails or c.phones for c in contacts),
            industry=customer.industry,
            owner=customer.owner,
            status=customer.status,
            has_address=bool(customer.addresses),
            last_scored_interaction=scored[0].occurred_at if scored else None,
            last_confirmed_or_changed=last_change,
        )
        completeness[customer.id] = metrics.completeness(facts, now=now)
        confirmed[customer.id] = last_change
        reason = metrics.going_quiet(
            status=customer.status,
            last_touch=touches[0].occurred_at if touches else None,
            satisfaction=metrics.customer_satisfaction([i.satisfaction for i in scored]),
            now=now,
            tz=ws.tz,
            quiet_after_days=ws.settings.quiet_after_days,
        )
        if reason is not None:
            quiet[customer.id] = reason.text
    return completeness, confirmed, quiet


def boundary_moments(book: list[Record]) -> list[datetime]:
    """Moments at which a customer's last score is exactly 180 days old, and one at which
    a customer's last change is exactly 365 days old; and a microsecond either side."""
    in_book = [r for r in book if r.customer.status != CustomerStatus.FORMER]
    scored = next(
        i.occurred_at
        for r in in_book
        for i in r.interactions
        if i.satisfaction is not None and i.deleted_at is None
    )
    changed = next(
        r.customer.updated_at
        for r in in_book
        if r.customer.updated_at
        >= max(r.customer.confirmed_at or r.customer.updated_at, r.customer.created_at)
    )
    on_scored = scored + timedelta(days=metrics.SCORED_WITHIN_DAYS)
    on_stale = changed + timedelta(days=metrics.STALE_AFTER_DAYS)
    assert metrics.scored_since(on_scored) == scored
    assert metrics.stale_before(on_stale) == changed
    tick = timedelta(microseconds=1)
    return [m + d for m in (on_scored, on_stale) for d in (-tick, timedelta(0), tick)]


@pytest.mark.parametrize("chunk", [7, watch_list.BOOK_CHUNK])
def test_book_health_is_each_customers_completeness_and_quiet_reason(
    book: Workspace, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_list, "BOOK_CHUNK", chunk)  # the book read in many chunks
    held = records(book)
    now = book.now()
    moments = [now, now - timedelta(days=200), *boundary_moments(held)]
    for owners, moment in itertools.product((None, REPS[:2]), moments):
        quiet, hygiene = reports.book_health(book, owners, now=moment, rows=10**6)
        completeness, confirmed, reasons = expected_book(
            book, held, set(owners) if owners else None, moment
        )
        assert hygiene.checked == len(completeness) > 0
        flagged = {cid: c for cid, c in completeness.items() if c.missing or c.stale}
        assert 0 < hygiene.flagged == len(flagged) == len(hygiene.worst) < hygiene.checked
        assert {
            line.customer_id: (line.percent, line.missing, line.stale, line.last_confirmed)
            for line in hygiene.worst
        } == {cid: (c.percent, c.missing, c.stale, confirmed[cid]) for cid, c in flagged.items()}
        # The worst first (the lowest percent, the stale before the others), then by
        # name and id; a cut list is the head of the whole one.
        names = {r.customer.id: r.customer.name for r in held}
        order = sorted(
            flagged,
            key=lambda cid: (flagged[cid].percent, not flagged[cid].stale, names[cid], cid),
        )
        assert [line.customer_id for line in hygiene.worst] == order
        cut = reports.book_health(book, owners, now=moment, rows=7)[1]
        assert [line.customer_id for line in cut.worst] == order[:7]
        assert (cut.flagged, cut.more) == (len(order), len(order) - 7)
        assert hygiene.incomplete == sum(1 for c in completeness.values() if c.missing)
        assert hygiene.stale == sum(1 for c in completeness.values() if c.stale)
        assert hygiene.average_percent == half_up_int(
            sum(c.percent for c in completeness.values()) / len(completeness)
        )
        assert reasons
        assert {q.customer_id: q.reason for q in quiet} == reasons


def test_completeness_of_is_completeness_for_every_profile() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    since, stale_from = metrics.scored_since(now), metrics.stale_before(now)
    tick = timedelta(microseconds=1)
    for flags in itertools.product((False, True), repeat=6):
        for scored in (None, since - tick, since, since + tick):
            for changed in (None, stale_from - tick, stale_from, stale_from + tick):
                facts = metrics.ProfileFacts(
                    contacts=int(flags[0]) * 2,
                    has_email_or_phone=flags[1],
                    industry="Retail" if flags[2] else "",
                    owner="maria@example.com" if flags[3] else None,
                    status="active" if flags[4] else None,
                    has_address=flags[5],
                    last_scored_interaction=scored,
                    last_confirmed_or_changed=changed,
                )
                present = (*flags, scored is not None and scored >= since)
                stale = changed is None or changed < stale_from
                assert metrics.completeness_of(present, stale=stale) == metrics.completeness(
                    facts, now=now
                )


def test_falling_of_is_the_customers_satisfaction() -> None:
    for n in range(2 * metrics.SATISFACTION_WINDOW + 1):
        for scores in itertools.product(range(1, 6), repeat=n):
            assert metrics.falling_of(scores) == metrics.customer_satisfaction(scores).falling
