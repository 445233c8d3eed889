"""Logging a touchpoint together with the promises made in it, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.domain import dates
from touchpoint.errors import (
    ForbiddenError,
    NotFoundError,
    PastTimeError,
    ValidationError,
    ValidationErrors,
)
from touchpoint.services.customers import _live_contact, _live_customer, contact_view
from touchpoint.services.followups import (
    ALLOW_PAST,
    check_not_past,
    check_remind_before_due,
    followup_view,
    parse_time,
    shown_time,
)
from touchpoint.services.history import count_history_in, history_in
from touchpoint.services.lookup import by_id, live
from touchpoint.services.records import InteractionDetail, InteractionView, LoggedInteraction
from touchpoint.services.validation import clean_followup, clean_interaction
from touchpoint.storage.bulk_write import insert_new
from touchpoint.storage.models import Contact, Customer, FollowUp, Interaction, new_id
from touchpoint.storage.workspace import Changes, Saved, Workspace


@dataclass(frozen=True)
class FollowUpInput:
    """A promise typed while logging: ``due`` as a datetime or as a person types it."""

    title: str
    due: datetime | str
    remind: datetime | str | None = None
    priority: str | None = None
    contact: str | None = None
    assigned_to: str | None = None
    notes: str | None = None


def interaction_view(i: Interaction, customer_name: str | None = None) -> InteractionView:
    return InteractionView(
        id=i.id,
        customer_id=i.customer_id,
        kind=i.kind,
        direction=i.direction,
        occurred_at=i.occurred_at,
        duration_minutes=i.duration_minutes,
        contact_ids=list(i.contact_ids or []),
        subject=i.subject,
        notes=i.notes,
        outcome=i.outcome,
        satisfaction=i.satisfaction,
        feedback=i.feedback,
        depth=i.depth,
        rep=i.rep,
        customer_name=customer_name,
    )


def log_interaction(
    ws: Workspace,
    *,
    customer: str,
    kind: str,
    occurred_at: datetime | str | None = None,
    contacts: Sequence[str] = (),
    subject: str | None = None,
    notes: str | None = None,
    outcome: str | None = None,
    satisfaction: int | str | None = None,
    feedback: str | None = None,
    depth: str | None = None,
    direction: str | None = None,
    duration_minutes: int | str | None = None,
    followups: Sequence[FollowUpInput] = (),
    allow_past: bool = True,
) -> Saved[LoggedInteraction]:
    """Record one touchpoint and its follow-ups; all of it is stored, or none of it.

    ``allow_past=False`` (the command line's default) refuses a follow-up due before
    now and an interaction more than a year ago: both are more often a typo than
    meant, and the caller asks the person first. A reminder after its due time is
    always refused."""
    with ws.unit_of_work() as uow:
        session = uow.session
        now = uow.now
        errors: list[ValidationError] = []
        target = _live_customer(session, customer)
        when = now
        if occurred_at is not None and occurred_at != "":
            try:
                when = happened_at(ws, occurred_at, now=now, allow_past=allow_past)
            except ValidationError as exc:
                errors.append(exc)
        contact_ids: list[str] = []
        for ref in contacts:
            try:
                contact_ids.append(_live_contact(session, ref, target.id).id)
            except (NotFoundError, ValidationError) as exc:
                errors.append(ValidationError("contact", exc.message))
        try:
            clean = clean_interaction(
                {
                    "kind": kind,
                    "direction": direction,
                    "occurred_at": when,
                    "duration_minutes": duration_minutes,
                    "subject": subject,
                    "notes": notes,
                    "outcome": outcome,
                    "satisfaction": satisfaction,
                    "feedback": feedback,
                    "depth": depth,
                }
            )
        except ValidationErrors as exc:
            errors.extend(exc.errors)
            clean = {}
        promises = []
        for n, item in enumerate(followups, start=1):
            try:
                promises.append(
                    _followup_fields(ws, session, target, item, now=now, allow_past=allow_past)
                )
            except ValidationErrors as exc:
                errors.extend(  # the same kind of error (a past time stays one)
                    type(e)(f"follow-up {n} {e.field}", e.problem) for e in exc.errors
                )
        if errors:
            raise ValidationErrors(errors)
        interaction = Interaction(
            id=new_id(), customer_id=target.id, contact_ids=contact_ids, rep=ws.author, **clean
        )
        made = [
            FollowUp(customer_id=target.id, interaction_id=interaction.id, **fields)
            for fields in promises
        ]
        # New records only: the bulk path writes exactly what a flush would (defaults,
        # stamps, change log, search documents) without the ORM's per-object flush work,
        # which cost more than the inserts themselves. The interaction goes first: the
        # follow-ups refer to it.
        insert_new(session, [interaction])
        insert_new(session, made)
        uow.commit()
        return Saved(
            LoggedInteraction(
                interaction=interaction_view(interaction, target.name),
                followups=[followup_view(f, now=now, customer_name=target.name) for f in made],
            ),
            Changes.of(uow),
        )


FUTURE_GRACE = timedelta(minutes=15)  # clocks differ; a meeting logged as it ends
# Older than this is more often a typo (1900, 2016 for 2026) than a visit logged late.
LONG_AGO = timedelta(days=365)


def happened_at(
    ws: Workspace, value: datetime | str, *, now: datetime, allow_past: bool = True
) -> datetime:
    """When an interaction happened, from a datetime or what a person typed: a weekday
    means the most recent one ("fri 10:00" on a Thursday is last Friday). A time more
    than a few minutes ahead is refused: an interaction is something that happened;
    so is one more than a year ago unless ``allow_past``."""
    if isinstance(value, datetime):
        when = parse_time("when", value, now=now, tz=ws.tz)
    else:
        try:
            when = dates.parse_when(str(value), now=now, tz=ws.tz, past=True)
        except ValueError as exc:
            raise ValidationError("when", str(exc)) from None
    if when > now + FUTURE_GRACE:
        local = when.astimezone(ws.tz)
        shown = f"{local:%a} {local.day} {local:%b %H:%M}"  # "Fri 4 Dec 10:00", as on screen
        raise ValidationError(
            "when",
            f"{shown} is in the future; log it once it happened, or add a follow-up "
            "with --follow-up/--due",
        )
    if not allow_past and when < now - LONG_AGO:
        raise PastTimeError(
            "when", f"{shown_time(when, ws.tz)} is more than a year ago; {ALLOW_PAST}"
        )
    return when


def _followup_fields(
    ws: Workspace,
    session: Session,
    customer: Customer,
    item: FollowUpInput,
    *,
    now: datetime,
    allow_past: bool = True,
) -> dict[str, Any]:
    errors: list[ValidationError] = []
    due = remind = None
    try:
        due = parse_time("due", item.due, now=now, tz=ws.tz)
        check_not_past("due", due, now=now, tz=ws.tz, allow_past=allow_past)
    except ValidationError as exc:
        errors.append(exc)
    if item.remind not in (None, ""):
        try:
            remind = parse_time("reminder", item.remind, now=now, tz=ws.tz)
            if due is not None:
                check_remind_before_due(remind, due, ws.tz)
        except ValidationError as exc:
            errors.append(exc)
    elif due is not None:
        remind = due - timedelta(minutes=ws.settings.reminder_minutes_before)
    contact_id = None
    if item.contact:
        try:
            contact_id = _live_contact(session, item.contact, customer.id).id
        except NotFoundError as exc:
            errors.append(ValidationError("contact", exc.message))
    try:
        clean = clean_followup(
            {
                "title": item.title,
                "notes": item.notes,
                "due_at": due if due is not None else now,
                "remind_at": remind,
                "priority": item.priority,
                "assigned_to": item.assigned_to or ws.author,
            }
        )
    except ValidationErrors as exc:
        errors.extend(exc.errors)
        clean = {}
    if errors:
        raise ValidationErrors(errors)
    return {**clean, "contact_id": contact_id, "status": "open"}


EDITABLE = (
    "kind", "direction", "occurred_at", "duration_minutes", "contacts", "subject", "notes",
    "outcome", "satisfaction", "feedback", "depth",
)  # fmt: skip


def _author_name(ws: Workspace, email: str) -> str:
    from touchpoint.services import goals

    return goals.display_names(ws, goals.load_goals(ws), [email]).get(email, email)


def _only_the_author(ws: Workspace, interaction: Interaction, verb: str) -> None:
    """An interaction is its author's record of what happened: nobody else changes it
    (the Hub refuses it too), so the laptop says so before anything is written."""
    if interaction.created_by != ws.author:
        name = _author_name(ws, interaction.created_by)
        raise ForbiddenError(
            f"only {name} can {verb} this {interaction.kind}: it is their record of what happened"
        )


def edit_interaction(
    ws: Workspace, interaction_id: str, fields: dict[str, Any], *, allow_past: bool = True
) -> Saved[InteractionView]:
    """Correct a logged touchpoint with the checks of logging it; every problem is
    named at once. ``contacts`` (ids or names of the customer's people) replaces who
    took part. Only its author may: it is their record of what happened."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationErrors(
            [ValidationError(k, "is not a field of an interaction") for k in unknown]
        )
    with ws.unit_of_work() as uow:
        session = uow.session
        interaction = _get(session, interaction_id)
        _only_the_author(ws, interaction, "edit")
        patch = dict(fields)
        errors: list[ValidationError] = []
        if "occurred_at" in patch:
            when = patch.pop("occurred_at")
            if when is None or when == "":
                errors.append(ValidationError("when", "must not be empty"))
            else:
                try:
                    patch["occurred_at"] = happened_at(ws, when, now=uow.now, allow_past=allow_past)
                except ValidationError as exc:
                    errors.append(exc)
        contact_ids: list[str] | None = None
        if "contacts" in patch:
            contact_ids = []
            for ref in patch.pop("contacts") or []:
                try:
                    contact = _live_contact(session, ref, interaction.customer_id)
                except (NotFoundError, ValidationError) as exc:
                    errors.append(ValidationError("contact", exc.message))
                else:
                    if contact.id not in contact_ids:
                        contact_ids.append(contact.id)
        try:
            clean = clean_interaction(patch)
        except ValidationErrors as exc:
            errors.extend(exc.errors)
            clean = {}
        if errors:
            raise ValidationErrors(errors)
        for name, value in clean.items():
            setattr(interaction, name, value)
        if contact_ids is not None and contact_ids != list(interaction.contact_ids or []):
            interaction.contact_ids = contact_ids
        uow.session.flush()
        uow.commit()
        return Saved(
            interaction_view(interaction, _customer_name(session, interaction.customer_id)),
            Changes.of(uow),
        )


def delete_interaction(ws: Workspace, interaction_id: str) -> Saved[InteractionView]:
    """Delete a logged touchpoint (restore_interaction brings it back); its author's only."""
    with ws.unit_of_work() as uow:
        interaction = _get(uow.session, interaction_id)
        _only_the_author(ws, interaction, "delete")
        interaction.deleted_at = uow.now
        uow.session.flush()
        uow.commit()
        return Saved(
            interaction_view(interaction, _customer_name(uow.session, interaction.customer_id)),
            Changes.of(uow),
        )


def delete_interactions(ws: Workspace, interaction_ids: Sequence[str]) -> Saved[int]:
    """Delete several logged touchpoints in one transaction (the undo of an email drop);
    each its author's only. Those already deleted are left as they are; the value is
    how many were deleted now."""
    with ws.unit_of_work() as uow:
        deleted = 0
        for interaction_id in dict.fromkeys(interaction_ids):
            interaction = by_id(uow.session, Interaction, interaction_id)
            if interaction is None:
                raise NotFoundError(f"no interaction with id {interaction_id}")
            if interaction.deleted_at is not None:
                continue
            _only_the_author(ws, interaction, "delete")
            interaction.deleted_at = uow.now
            deleted += 1
        uow.session.flush()
        uow.commit()
        return Saved(deleted, Changes.of(uow))


def restore_interaction(ws: Workspace, interaction_id: str) -> Saved[InteractionView]:
    with ws.unit_of_work() as uow:
        interaction = by_id(uow.session, Interaction, interaction_id)
        if interaction is None:
            raise NotFoundError(f"no interaction with id {interaction_id}")
        interaction.deleted_at = None
        uow.session.flush()
        uow.commit()
        return Saved(
            interaction_view(interaction, _customer_name(uow.session, interaction.customer_id)),
            Changes.of(uow),
        )


def _customer_name(session: Session, customer_id: str) -> str | None:
    customer = session.get(Customer, customer_id)
    return customer.name if customer is not None else None


def get_interaction(ws: Workspace, ref: str) -> InteractionView:
    """One live interaction by its id, or the start or end of it (6 characters or more)."""
    with ws.read() as session:
        interaction = _get(session, ref)
        return interaction_view(interaction, _customer_name(session, interaction.customer_id))


def interaction_detail(ws: Workspace, ref: str, *, history_limit: int = 200) -> InteractionDetail:
    """Everything about one interaction, in one read: its fields, who took part, the
    follow-ups promised in it, its history, and whether this user may change it."""
    with ws.read() as session:
        interaction = _get(session, ref)
        customer_name = _customer_name(session, interaction.customer_id) or ""
        view = interaction_view(interaction, customer_name)
        wanted = list(interaction.contact_ids or [])
        found = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(wanted)))}
        took_part = [contact_view(found[i], customer_name) for i in wanted if i in found]
        people = session.scalars(
            select(Contact)
            .where(Contact.customer_id == interaction.customer_id, live(Contact))
            .order_by(Contact.name)
        )
        # Follow-ups have no index by interaction, but one by customer, and a promise
        # made in an interaction is always its customer's (a merge moves both).
        promised = session.scalars(
            select(FollowUp)
            .where(
                FollowUp.customer_id == interaction.customer_id,
                FollowUp.interaction_id == interaction.id,
                FollowUp.deleted_at.is_(None),
            )
            .order_by(FollowUp.due_at)
        )
        now = ws.now()
        made = [followup_view(f, now=now, customer_name=customer_name) for f in promised]
        author = interaction.created_by
        created_at, updated_at = interaction.created_at, interaction.updated_at
        contacts_of_customer = [contact_view(p, customer_name) for p in people]
        changes = history_in(session, "interaction", view.id, limit=history_limit)
        total = (
            count_history_in(session, "interaction", view.id)
            if len(changes) >= history_limit
            else len(changes)
        )
    from touchpoint.services import goals

    emails = [author, view.rep, *(e.author for e in changes)]
    names = goals.display_names(ws, goals.load_goals(ws), emails)
    return InteractionDetail(
        interaction=view,
        customer_name=customer_name,
        contacts=took_part,
        customer_contacts=contacts_of_customer,
        followups=made,
        history=changes,
        history_total=total,
        author=author,
        names=names,
        editable=author == ws.author,
        created_at=created_at,
        updated_at=updated_at,
    )


def _get(session: Session, interaction_id: str) -> Interaction:
    interaction = by_id(session, Interaction, interaction_id)
    if interaction is None or interaction.deleted_at is not None:
        raise NotFoundError(f"no interaction with id {interaction_id}")
    return interaction


def count_interactions(ws: Workspace, customer: str) -> int:
    """How many live interactions a customer has (what :func:`timeline` pages through)."""
    with ws.read() as session:
        target = _live_customer(session, customer)
        query = select(func.count()).where(
            Interaction.customer_id == target.id, Interaction.deleted_at.is_(None)
        )
        return int(session.execute(query).scalar_one())


def customer_timeline(
    ws: Workspace, customer_id: str, customer_name: str, *, limit: int, offset: int = 0
) -> list[InteractionView]:
    """One page of a live customer's interactions, newest first, for a view that has
    the customer already (the 360 summary): read through the index of the customer's
    live interactions, without resolving the customer again."""
    with ws.read() as session:
        rows = session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_id, Interaction.deleted_at.is_(None))
            .order_by(Interaction.occurred_at.desc())
            .limit(limit)
            .offset(offset)
        )
        return [interaction_view(i, customer_name) for i in rows]


def timeline(
    ws: Workspace,
    customer: str,
    *,
    kind: str | None = None,
    text: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[InteractionView]:
    """A customer's interactions, newest first, optionally of one kind or containing words."""
    with ws.read() as session:
        target = _live_customer(session, customer)
        query = select(Interaction).where(
            Interaction.customer_id == target.id, Interaction.deleted_at.is_(None)
        )
        if kind:
            query = query.where(Interaction.kind == kind)
        if text:
            like = f"%{text.strip()}%"
            query = query.where(
                Interaction.notes.ilike(like)
                | Interaction.feedback.ilike(like)
                | Interaction.subject.ilike(like)
            )
        rows = session.scalars(
            query.order_by(Interaction.occurred_at.desc()).limit(limit).offset(offset)
        )
        return [interaction_view(i, target.name) for i in rows]
