"""The Conflicts list: values that lost a concurrent edit, and restoring one; and the
changes the Hub refused, shown until the user dismisses them.

Restoring is an ordinary local edit (it goes through the outbox), made from the
value the Hub kept; it then wins everywhere because it is based on the current value.
On every other laptop the conflict is over once the record no longer holds the kept
value (restored elsewhere, or edited since): it leaves their list too.

:func:`conflict_words` turns a conflict's field, values and times into what people
read; the command line and the window both show conflicts through it.
A refused change is not retried (the record fell back to the Hub's values): the user
sees what was refused and why, and fixes the record with a new edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from touchpoint.domain import photos
from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.lookup import by_id
from touchpoint.storage.models import (
    MODEL_BY_ENTITY,
    Change,
    CustomFieldDef,
    Meta,
    SyncConflict,
)
from touchpoint.storage.tracking import CONVERT
from touchpoint.storage.workspace import Changes, Saved, Workspace
from touchpoint.sync.attention import DISMISSED_KEY, dismissed_ids

# Change ids of refused changes the user has dismissed (a JSON list): local only.
LAST_SYNC_KEY = "sync_last_at"  # written by the sync engine after each sync


# --- conflicts in words ------------------------------------------------------------------
FIELD_LABELS = {
    "deleted_at": "Deleted",
    "addresses": "Address",
    "phones": "Phone numbers",
    "emails": "Email addresses",
    "tags": "Tags",
    "custom": "Custom fields",
    "kind": "Type",
    "yearly_potential": "Yearly potential",
    "confirmed_at": "Confirmed",
    "decision_role": "Decision role",
    "preferred_channel": "Preferred channel",
    "do_not_contact": "Do not contact",
    "due_at": "Due",
    "done_at": "Done",
    "occurred_at": "When",
    "customer_id": "Customer",
    "contact_ids": "People",
    "website": "Website",
    "photo": "Picture",
}
EMPTY = "(empty)"
# The parts of an address in the order people write them.
ADDRESS_PARTS = ("street", "street2", "postcode", "postal_code", "zip", "city", "region",
                 "state", "country")  # fmt: skip


def field_label(name: str) -> str:
    """A field as people call it: ``addresses`` is "Address", ``due_at`` is "Due"."""
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def _moment(text: str, tz: tzinfo) -> str | None:
    """An ISO time as stored ("...Z") in the user's zone, as everywhere else; else None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def _address(item: dict[str, Any]) -> str:
    parts = {k: str(item[k]).strip() for k in ADDRESS_PARTS if item.get(k) not in (None, "")}
    if "postcode" in parts and "city" in parts:  # "20095 Hamburg", as on an envelope
        parts["city"] = f"{parts.pop('postcode')} {parts['city']}"
    known = list(parts.values())
    known += [
        str(v).strip()
        for k, v in item.items()
        if k not in (*ADDRESS_PARTS, "label", "primary") and isinstance(v, str) and v.strip()
    ]
    text = ", ".join(known) or EMPTY
    label = item.get("label")
    return f"{label}: {text}" if label else text


def _item(item: Any, tz: tzinfo, labels: dict[str, str]) -> str:
    if isinstance(item, dict):
        if "value" in item:  # a phone number or an email address
            label = item.get("label")
            shown = str(item["value"]) if item["value"] not in (None, "") else EMPTY
            return f"{label}: {shown}" if label else shown
        return _address(item)
    return format_value("", item, tz=tz, custom_labels=labels)


def format_value(
    name: str, value: Any, *, tz: tzinfo, custom_labels: dict[str, str] | None = None
) -> str:
    """A field's value in words: lists joined with "; ", addresses without their empty
    parts, times in the user's zone, custom fields by their label, empty as "(empty)"."""
    labels = custom_labels or {}
    if value is None or value in ("", [], {}):
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")
    if isinstance(value, date | Decimal | int | float):
        return str(value)
    if isinstance(value, str):
        if name.endswith("_at") or (len(value) >= 20 and value.endswith("Z")):
            return _moment(value, tz) or value
        return value
    if isinstance(value, list):
        return "; ".join(_item(item, tz, labels) for item in value)
    if name == "photo":  # the picture in words, never its bytes
        picture = photos.from_stored(value)
        if picture is None:
            return "a picture that cannot be read"
        if picture.url:
            return f"a link to a picture: {picture.url}"
        kind = (picture.mime or "").removeprefix("image/").upper()
        return f"a {kind} picture of {photos.size_text(len(picture.data or b''))}"
    if isinstance(value, dict):
        if name != "custom" and any(k in value for k in ADDRESS_PARTS):
            return _address(value)
        if name != "custom" and "value" in value:
            return _item(value, tz, labels)
        parts = [
            f"{labels.get(k) or field_label(k)}: {format_value(k, v, tz=tz)}"
            for k, v in value.items()
            if v not in (None, "")
        ]
        return "; ".join(parts) or EMPTY
    return str(value)


@dataclass(frozen=True)
class ConflictWords:
    """A conflict as people read it."""

    field: str  # "Address"
    kept: str  # "office: Hafenstr. 1, 20095, Hamburg"
    lost: str
    kept_when: str  # the edit time in the user's zone
    lost_when: str
    # A delete that raced someone's work, in one sentence:
    # "Acme was deleted by tom@example.com while you logged a visit".
    sentence: str | None = None


def conflict_words(
    c: ConflictView, *, tz: tzinfo, custom_labels: dict[str, str] | None = None
) -> ConflictWords:
    """One formatting for the command line and the window."""
    kept = format_value(c.field, c.winner_value, tz=tz, custom_labels=custom_labels)
    lost = format_value(c.field, c.loser_value, tz=tz, custom_labels=custom_labels)
    sentence = None
    if c.field == "deleted_at" and c.loser_value is None:
        what = c.record_name or f"this {c.entity}"
        who = "you" if c.loser_is_me else c.loser_author
        did = f"{who} {c.detail or 'changed it'}"
        sentence = f"{what} was deleted by {c.winner_author} while {did}"
        kept, lost = "deleted", did
    return ConflictWords(
        field=field_label(c.field),
        kept=kept,
        lost=lost,
        kept_when=_moment(c.winner_at, tz) or c.winner_at,
        lost_when=_moment(c.loser_at, tz) or c.loser_at,
        sentence=sentence,
    )


# --- the list -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConflictView:
    id: str
    entity: str
    record_id: str
    record_name: str | None
    field: str
    winner_value: Any
    loser_value: Any
    winner_author: str
    loser_author: str
    winner_at: str
    loser_at: str
    resolved: bool
    words: ConflictWords | None = None  # filled by list_conflicts
    detail: str | None = None  # what the losing side did, when a delete raced it
    loser_is_me: bool = False


def _view(
    c: SyncConflict,
    name: str | None,
    *,
    tz: tzinfo | None = None,
    custom_labels: dict[str, str] | None = None,
    me: str | None = None,
) -> ConflictView:
    view = ConflictView(
        id=c.id,
        entity=c.entity,
        record_id=c.record_id,
        record_name=name,
        field=c.field,
        winner_value=c.winner_value,
        loser_value=c.loser_value,
        winner_author=c.winner_author,
        loser_author=c.loser_author,
        winner_at=c.winner_at,
        loser_at=c.loser_at,
        resolved=c.resolved_at is not None,
        detail=c.detail,
        loser_is_me=me is not None and c.loser_author == me,
    )
    if tz is None:
        return view
    return replace(view, words=conflict_words(view, tz=tz, custom_labels=custom_labels))


def _still_kept(c: SyncConflict, record: Any) -> bool:
    """Whether the record still holds the value the Hub kept. When it does not, the
    conflict is over: someone restored the lost value (on their laptop, synced here)
    or edited the field since."""
    if record is None or not hasattr(record, c.field):
        return True  # nothing to compare with: keep showing it
    convert = CONVERT.get(c.entity, {}).get(c.field)
    if convert is None:
        return True
    try:
        kept = convert(c.winner_value)
    except (TypeError, ValueError, ArithmeticError):
        return True
    return bool(getattr(record, c.field) == kept)


@dataclass(frozen=True)
class ConflictList:
    conflicts: list[ConflictView]
    synced: bool  # False on a laptop that never synced: no list can be known yet


def list_conflicts(ws: Workspace, *, everyone: bool = False) -> list[ConflictView]:
    """Open conflicts this user was part of (``everyone``: all this laptop received).

    A conflict whose record no longer holds the kept value is over and left out."""
    return conflict_list(ws, everyone=everyone).conflicts


def conflict_list(ws: Workspace, *, everyone: bool = False) -> ConflictList:
    """:func:`list_conflicts`, and whether this laptop ever synced."""
    with ws.read() as session:
        query = select(SyncConflict).where(SyncConflict.resolved_at.is_(None))
        if not everyone:
            query = query.where(
                or_(SyncConflict.winner_author == ws.author, SyncConflict.loser_author == ws.author)
            )
        labels = {
            d.key: d.label for d in session.scalars(select(CustomFieldDef)) if d.key and d.label
        }
        out = []
        for c in session.scalars(query.order_by(SyncConflict.created_at, SyncConflict.id)):
            model = MODEL_BY_ENTITY.get(c.entity)
            record = session.get(model, c.record_id) if model else None
            if not _still_kept(c, record):
                continue
            name = getattr(record, "name", None) or getattr(record, "title", None)
            out.append(_view(c, name, tz=ws.tz, custom_labels=labels, me=ws.author))
        synced = session.get(Meta, LAST_SYNC_KEY) is not None
        return ConflictList(out, synced)


def restore_conflict(ws: Workspace, conflict_id: str) -> Saved[ConflictView]:
    """Put the losing value back, as a new edit that syncs like any other."""
    with ws.unit_of_work() as uow:
        s = uow.session
        conflict = by_id(s, SyncConflict, conflict_id)
        if conflict is None:
            raise NotFoundError(f"no conflict with id {conflict_id}")
        if conflict.resolved_at is not None:
            raise ValidationErrors([ValidationError("conflict", "already resolved")])
        model = MODEL_BY_ENTITY.get(conflict.entity)
        record = s.get(model, conflict.record_id) if model else None
        if record is None or conflict.field not in CONVERT[conflict.entity]:
            raise NotFoundError(f"the {conflict.entity} of this conflict is not on this laptop")
        if not _still_kept(conflict, record):
            raise ValidationErrors(
                [ValidationError("conflict", "already resolved: the value changed since")]
            )
        setattr(
            record, conflict.field, CONVERT[conflict.entity][conflict.field](conflict.loser_value)
        )
        conflict.resolved_at = uow.now
        conflict.resolution = "restored"
        s.flush()
        uow.commit()
        return Saved(_view(conflict, getattr(record, "name", None)), Changes.of(uow))


def dismiss_conflict(ws: Workspace, conflict_id: str) -> None:
    """Keep the winning value and take the conflict off the list."""
    with ws.unit_of_work(origin="remote") as uow:
        conflict = uow.session.get(SyncConflict, conflict_id)
        if conflict is None:
            raise NotFoundError(f"no conflict with id {conflict_id}")
        conflict.resolved_at = uow.now
        conflict.resolution = "dismissed"
        uow.commit()


@dataclass(frozen=True)
class RejectedChange:
    """A change the Hub refused (not retried): what it was and why, for the user to see."""

    change_id: str
    entity: str
    record_id: str
    fields: list[str]
    at: datetime
    reason: str
    record_name: str | None = None
    customer_id: str | None = None  # whose profile to open to fix it
    values: dict[str, Any] | None = None  # field: the value that was refused
    refused_at: datetime | None = None
    # Sent, and asked to wait (a record it names has not reached the Hub): it is sent
    # again at every sync until it applies or is dismissed.
    waiting: bool = False


def _dismissed(session: Session) -> list[str]:
    return dismissed_ids(session)


def _open_rejected(session: Session) -> Any:
    query = select(Change).where(Change.push_error.is_not(None))
    dismissed = _dismissed(session)
    return query.where(Change.change_id.not_in(dismissed)) if dismissed else query


def _record_name(record: Any) -> str | None:
    for attribute in ("name", "title", "subject", "label"):
        value = getattr(record, attribute, None)
        if value:
            return str(value)
    return None


def rejected_changes(ws: Workspace, *, limit: int = 200) -> list[RejectedChange]:
    """Refused changes not dismissed, newest first, with their record's name."""
    with ws.read() as session:
        rows = session.scalars(_open_rejected(session).order_by(Change.seq.desc()).limit(limit))
        out = []
        for c in rows:
            model = MODEL_BY_ENTITY.get(c.entity)
            record = session.get(model, c.record_id) if model else None
            customer_id = c.record_id if c.entity == "customer" else None
            customer_id = getattr(record, "customer_id", None) or customer_id
            out.append(
                RejectedChange(
                    change_id=c.change_id,
                    entity=c.entity,
                    record_id=c.record_id,
                    fields=sorted(c.fields),
                    at=c.at,
                    reason=c.push_error or "",
                    record_name=_record_name(record),
                    customer_id=customer_id,
                    values={
                        k: v[1] if isinstance(v, list) and len(v) == 2 else v
                        for k, v in c.fields.items()
                    },
                    refused_at=c.pushed_at,
                    waiting=c.pushed_at is None,
                )
            )
        return out


def rejected_count(ws: Workspace) -> int:
    """How many refused changes wait to be seen (cheap: for the status bar)."""
    with ws.read() as session:
        query = _open_rejected(session).with_only_columns(func.count())
        return int(session.execute(query).scalar_one())


def dismiss_rejected(ws: Workspace, change_id: str) -> None:
    """Take a refused change off the list; the change log keeps it as history. A change
    still waiting is dropped with it: it is not sent again."""
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        change = s.scalars(select(Change).where(Change.change_id == change_id)).first()
        if change is None or change.push_error is None:
            raise NotFoundError(f"no refused change with id {change_id}")
        if change.pushed_at is None:
            change.pushed_at = uow.now
        dismissed = _dismissed(s)
        if change_id not in dismissed:
            row = s.get(Meta, DISMISSED_KEY)
            value = json.dumps([*dismissed, change_id])
            if row is None:
                s.add(Meta(key=DISMISSED_KEY, value=value))
            else:
                row.value = value
        uow.commit()
