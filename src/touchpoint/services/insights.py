"""What a rep needs to know about customers: the 360-degree summary, Today, going quiet.

Figures come from :mod:`touchpoint.domain.metrics`, so the profile, the Today
view and the reports use the same definitions (PRODUCT.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select

from touchpoint.domain import dates, metrics
from touchpoint.domain.enums import DealStage, FollowUpStatus
from touchpoint.services.customers import (
    _live_customer,
    contact_view,
    customer_view,
)
from touchpoint.services.followups import (
    FollowUpFilter,
    count_followups,
    followup_view,
    list_followups,
)
from touchpoint.services.interactions import interaction_view
from touchpoint.services.lookup import live
from touchpoint.services.records import (
    ContactView,
    CustomerView,
    DealView,
    FollowUpView,
    InteractionView,
)
from touchpoint.services.today import QuietCustomer, TodayView, quiet_from_rows
from touchpoint.services.today_start import DUE_LIMIT, INTERACTIONS_LIMIT
from touchpoint.storage.models import (
    Contact,
    Customer,
    CustomFieldDef,
    Deal,
    FollowUp,
    Interaction,
)
from touchpoint.storage.queries import driver_connection, watch_list
from touchpoint.storage.workspace import Workspace

CHART_POINTS = 20
PAST_FOLLOWUPS = 20


@dataclass(frozen=True)
class CustomFieldValue:
    key: str
    label: str
    type: str
    choices: list[str]
    value: object | None


@dataclass(frozen=True)
class CustomerSummary:
    customer: CustomerView
    contacts: list[ContactView]
    last_touch: datetime | None
    days_since_last_touch: int | None
    satisfaction: metrics.SatisfactionSummary
    satisfaction_points: list[tuple[datetime, int]]  # oldest first, for the trend chart
    lifetime: metrics.LifetimeValue
    open_deals: list[DealView]
    completeness: metrics.Completeness
    quiet: metrics.QuietReason | None
    open_followups: list[FollowUpView]
    past_followups: list[FollowUpView]
    promises: metrics.PromiseStats
    interactions_count: int
    custom_fields: list[CustomFieldValue]


def deal_view(d: Deal) -> DealView:
    return DealView(
        id=d.id,
        customer_id=d.customer_id,
        title=d.title,
        value=d.value,
        currency=d.currency,
        stage=d.stage,
        expected_close=d.expected_close,
        closed_at=d.closed_at,
    )


def customer_summary(ws: Workspace, ref: str) -> CustomerSummary:
    """Everything about one customer on one screen, read in one consistent snapshot."""
    now = ws.now()
    tz = ws.tz
    with ws.read() as session:
        customer = _live_customer(session, ref)
        cid = customer.id
        contacts = session.scalars(
            select(Contact).where(Contact.customer_id == cid, live(Contact)).order_by(Contact.name)
        ).all()
        alive = (Interaction.customer_id == cid) & Interaction.deleted_at.is_(None)
        # How many, the last touch and how many scored, in one read of the index on
        # (customer_id, occurred_at, satisfaction) of live interactions.
        count, last_touch, scored_total = session.execute(
            select(
                func.count(),
                func.max(Interaction.occurred_at),
                func.count(Interaction.satisfaction),
            ).where(alive)
        ).one()
        scored = session.execute(
            select(Interaction.occurred_at, Interaction.satisfaction)
            .where(alive, Interaction.satisfaction.is_not(None))
            .order_by(Interaction.occurred_at.desc())
            .limit(CHART_POINTS)
        ).all()
        deals = session.scalars(
            select(Deal).where(Deal.customer_id == cid, Deal.deleted_at.is_(None))
        ).all()
        # A long relationship has thousands of promises: the keeping rate reads three
        # columns of each (through the customer's index: a filter on status would let
        # the planner walk every open promise of the book); only the open ones and the
        # newest past ones become records.
        kept_facts = session.execute(
            select(FollowUp.id, FollowUp.due_at, FollowUp.status, FollowUp.done_at)
            .where(FollowUp.customer_id == cid, FollowUp.deleted_at.is_(None))
            .order_by(FollowUp.due_at)
        ).all()
        open_ids = [f.id for f in kept_facts if f.status == FollowUpStatus.OPEN]
        past_ids = [
            f.id
            for f in sorted(
                (f for f in kept_facts if f.status != FollowUpStatus.OPEN),
                key=lambda f: f.done_at or f.due_at,
                reverse=True,
            )[:PAST_FOLLOWUPS]
        ]
        chosen = {
            f.id: f
            for f in session.scalars(select(FollowUp).where(FollowUp.id.in_(open_ids + past_ids)))
        }
        open_followups = [chosen[i] for i in open_ids]
        past_followups = [chosen[i] for i in past_ids]
        field_defs = session.scalars(
            select(CustomFieldDef).where(CustomFieldDef.deleted_at.is_(None))
        ).all()
        definitions = {d.key: (d.type, list(d.choices or [])) for d in field_defs}
        labels = {d.key: d.label for d in field_defs}

        # The chart shows the newest scores only; the count is of every score.
        satisfaction = replace(
            metrics.customer_satisfaction([s for _, s in scored]), count=scored_total or 0
        )
        lifetime = metrics.lifetime_value(
            (metrics.DealFacts(d.value, d.currency, d.stage) for d in deals),
            currency=customer.currency,
        )
        facts = metrics.ProfileFacts(
            contacts=len(contacts),
            has_email_or_phone=bool(customer.emails or customer.phones)
            or any(c.emails or c.phones for c in contacts),
            industry=customer.industry,
            owner=customer.owner,
            status=customer.status,
            has_address=bool(customer.addresses),
            last_scored_interaction=scored[0][0] if scored else None,
            last_confirmed_or_changed=max(
                (t for t in (customer.confirmed_at, customer.updated_at) if t), default=None
            ),
        )
        open_ = [followup_view(f, now=now, customer_name=customer.name) for f in open_followups]
        past = [followup_view(f, now=now, customer_name=customer.name) for f in past_followups]
        promises = metrics.promise_keeping(
            (
                metrics.FollowUpFacts(due_at, FollowUpStatus(status), done_at)
                for _, due_at, status, done_at in kept_facts
            ),
            now=now,
        )
        quiet = metrics.going_quiet(
            status=customer.status,
            last_touch=last_touch,
            satisfaction=satisfaction,
            now=now,
            tz=tz,
            quiet_after_days=ws.settings.quiet_after_days,
        )
        custom = customer.custom or {}
        keys = list(definitions) + [k for k in custom if k not in definitions]
        custom_fields = [
            CustomFieldValue(
                key=key,
                label=labels.get(key, key),
                type=definitions.get(key, ("text", []))[0],
                choices=definitions.get(key, ("text", []))[1],
                value=custom.get(key),
            )
            for key in keys
        ]
        return CustomerSummary(
            customer=customer_view(customer),
            contacts=[contact_view(c, customer.name) for c in contacts],
            last_touch=last_touch,
            days_since_last_touch=metrics.days_since(last_touch, now=now, tz=tz),
            satisfaction=satisfaction,
            satisfaction_points=[(when, score) for when, score in reversed(scored)],
            lifetime=lifetime,
            open_deals=[deal_view(d) for d in deals if _is_open(d.stage)],
            completeness=metrics.completeness(facts, now=now),
            quiet=quiet,
            open_followups=open_,
            past_followups=past,
            promises=promises,
            interactions_count=int(count),
            custom_fields=custom_fields,
        )


def _is_open(stage: str) -> bool:
    return DealStage(stage).is_open


# --- going quiet ------------------------------------------------------------------


def going_quiet(
    ws: Workspace, *, owner: str | None = None, limit: int | None = 50
) -> list[QuietCustomer]:
    """The attrition watch list: active customers with no touch for longer than the
    quiet setting, or with falling satisfaction; the longest silent first."""
    now = ws.now()
    tz = ws.tz
    with ws.read() as session:
        rows = watch_list.watch_rows(driver_connection(session), owner=owner)
    out = quiet_from_rows(rows, now=now, tz=tz, quiet_after_days=ws.settings.quiet_after_days)
    return out if limit is None else out[:limit]


# --- Today and the activity log -----------------------------------------------------


def today(ws: Workspace, *, user: str | None = None, quiet_limit: int = 20) -> TodayView:
    """A rep's day: promises overdue and due today, today's touchpoints, who is going quiet."""
    user = user or ws.author
    now = ws.now()
    overdue_filter = FollowUpFilter(scope="overdue", assigned_to=user)
    overdue = list_followups(ws, overdue_filter, limit=DUE_LIMIT)
    overdue_total = (
        count_followups(ws, overdue_filter) if len(overdue) == DUE_LIMIT else len(overdue)
    )
    due_today = list_followups(ws, FollowUpFilter(scope="due_today", assigned_to=user))
    start, end = dates.local_day_bounds(dates.local_date(now, ws.tz), ws.tz)
    quiet = going_quiet(ws, owner=user, limit=None)
    return TodayView(
        overdue=overdue,
        overdue_total=overdue_total,
        due_today=due_today,
        interactions_today=activity(ws, start=start, end=end, rep=user, limit=INTERACTIONS_LIMIT),
        quiet=quiet[:quiet_limit],
        quiet_total=len(quiet),
        as_of=now,
        tz=ws.tz,
    )


def activity(
    ws: Workspace,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    rep: str | None = None,
    kinds: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    text: str | None = None,
    customer_id: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[InteractionView]:
    """Interactions in [start, end), newest first, filtered by rep, kind, outcome and words."""
    query = (
        select(Interaction, Customer.name)
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(Interaction.deleted_at.is_(None))
    )
    if start is not None:
        query = query.where(Interaction.occurred_at >= start)
    if end is not None:
        query = query.where(Interaction.occurred_at < end)
    if rep:
        query = query.where(Interaction.rep == rep)
    if kinds:
        query = query.where(Interaction.kind.in_(list(kinds)))
    if outcomes:
        query = query.where(Interaction.outcome.in_(list(outcomes)))
    if customer_id:
        query = query.where(Interaction.customer_id == customer_id)
    if text and text.strip():
        like = f"%{text.strip()}%"
        query = query.where(
            Interaction.notes.ilike(like)
            | Interaction.feedback.ilike(like)
            | Interaction.subject.ilike(like)
        )
    # The id breaks ties, so a page is the same however SQLite plans the query.
    query = (
        query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with ws.read() as session:
        rows = session.execute(query).all()
    return [interaction_view(i, name) for i, name in rows]
