"""Meeting capture: past meetings of a calendar file (.ics) with the rep's contacts
become suggestions ("You met Acme yesterday: log it?"), never interactions by
themselves. The rep accepts one (it is logged as a meeting) or dismisses it.

Suggestions are this laptop's own, not synced records: they live in ``local_meta``
(one row each, key ``meeting_suggestion:<id>``, a JSON value), so no schema change
is needed. Each occurrence of a meeting (its UID and start) has one id, which is also
the id of the interaction an accepted suggestion logs: importing the calendar again,
or after a sync, suggests nothing twice and logs nothing twice. A dismissed
suggestion stays, marked dismissed, so it does not come back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain import dates
from touchpoint.domain import values as v
from touchpoint.domain.enums import InteractionKind
from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.services.capture import captured_id, live_by_email
from touchpoint.services.interactions import interaction_view
from touchpoint.services.records import InteractionView
from touchpoint.services.validation import clean_interaction
from touchpoint.storage.bulk_write import insert_new
from touchpoint.storage.models import Contact, Customer, Interaction, Meta
from touchpoint.storage.workspace import Changes, Saved, Workspace

KEY_PREFIX = "meeting_suggestion:"
LOOK_BACK = timedelta(days=90)  # how far back an import looks by default
PENDING, ACCEPTED, DISMISSED = "pending", "accepted", "dismissed"


@dataclass(frozen=True)
class Meeting:
    """One occurrence of a calendar event, its times in UTC."""

    uid: str
    summary: str | None
    start: datetime
    end: datetime | None
    attendees: list[str]  # emails of the attendees and the organiser
    location: str | None = None
    description: str | None = None

    @property
    def key(self) -> str:
        return f"{self.uid}|{self.start.isoformat()}"


def _as_utc(value: Any, default_tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=default_tz)
        return aware.astimezone(UTC)
    return None


def _emails(component: Any) -> list[str]:
    values: list[Any] = []
    for name in ("ORGANIZER", "ATTENDEE"):
        found = component.get(name)
        if found is None:
            continue
        values.extend(found if isinstance(found, list) else [found])
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            text = text[7:]
        if "@" in text and text.lower() not in {e.lower() for e in out}:
            out.append(text)
    return out


def read_meetings(path: Path, *, start: datetime, end: datetime, tz: tzinfo) -> list[Meeting]:
    """The timed meetings of an .ics file between ``start`` and ``end``, repeats expanded
    (RRULE, RDATE, EXDATE and moved occurrences) and every time zone of the file
    (its VTIMEZONEs, Windows zone names) applied. All-day events are no meetings."""
    import icalendar
    import recurring_ical_events

    path = Path(path)
    try:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
    except OSError as exc:
        raise ValidationError("file", f"cannot read {path.name}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValidationError("file", f"{path.name} is not a readable calendar: {exc}") from None
    try:
        events = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:  # a broken RRULE or zone in someone else's file
        raise ValidationError("file", f"{path.name}: cannot read its repeats: {exc}") from None
    meetings = []
    for event in events:
        if event.name != "VEVENT" or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin = _as_utc(event.get("DTSTART").dt if event.get("DTSTART") else None, tz)
        if begin is None:  # an all-day event
            continue
        finish = _as_utc(event.get("DTEND").dt if event.get("DTEND") else None, tz)
        meetings.append(
            Meeting(
                uid=str(event.get("UID") or "").strip() or f"{path.name}:{begin.isoformat()}",
                summary=str(event.get("SUMMARY") or "").strip() or None,
                start=begin,
                end=finish,
                attendees=_emails(event),
                location=str(event.get("LOCATION") or "").strip() or None,
                description=str(event.get("DESCRIPTION") or "").strip() or None,
            )
        )
    return sorted(meetings, key=lambda m: m.start)


# --- suggestions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    id: str
    customer_id: str
    customer_name: str
    contact_ids: list[str]
    contact_names: list[str]
    subject: str | None
    start: datetime
    duration_minutes: int | None
    status: str
    words: str = ""  # "You met Acme yesterday: log it?"


@dataclass
class MeetingImportReport:
    suggested: int = 0
    already_there: int = 0
    skipped: list[tuple[str | None, str, str]] = field(default_factory=list)  # subject, when, why


def _stored(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Meta).where(Meta.key.like(f"{KEY_PREFIX}%")))
    return {row.key.removeprefix(KEY_PREFIX): json.loads(row.value) for row in rows}


def _save(session: Session, data: dict[str, Any]) -> None:
    key = KEY_PREFIX + data["id"]
    row = session.get(Meta, key)
    text = json.dumps(data, sort_keys=True)
    if row is None:
        session.add(Meta(key=key, value=text))
    else:
        row.value = text


def import_meetings(
    ws: Workspace, path: Path, *, since: datetime | None = None
) -> MeetingImportReport:
    """Suggest logging each past meeting of the file (from ``since``, by default 90
    days back, until now) whose attendees include the rep's contacts. Nothing is
    logged: the rep accepts or dismisses each suggestion."""
    now = ws.now()
    report = MeetingImportReport()
    meetings = read_meetings(Path(path), start=since or now - LOOK_BACK, end=now, tz=ws.tz)
    me = ws.author.casefold()
    with ws.unit_of_work() as uow:
        session = uow.session
        stored = _stored(session)
        for meeting in meetings:
            if meeting.start > now:
                continue
            when = dates.local_date(meeting.start, ws.tz).isoformat()
            suggestion_id = captured_id("meeting", meeting.key)
            if suggestion_id in stored or session.get(Interaction, suggestion_id) is not None:
                report.already_there += 1
                continue
            others = [e for e in meeting.attendees if e.casefold() != me]
            found = live_by_email(session, "contact", others)
            contacts = [
                found[v.normalised_email_key(e)]
                for e in others
                if v.normalised_email_key(e) in found
            ]
            if not contacts:
                why = "no attendee is a contact here" if others else "it lists no attendees"
                report.skipped.append((meeting.summary, when, why))
                continue
            customer_id = contacts[0].customer_id
            minutes = (
                round((meeting.end - meeting.start).total_seconds() / 60)
                if meeting.end and meeting.end > meeting.start
                else None
            )
            notes = "\n".join(
                x
                for x in (
                    f"Where: {meeting.location}" if meeting.location else None,
                    meeting.description,
                )
                if x
            )
            data = {
                "id": suggestion_id,
                "uid": meeting.uid,
                "customer_id": customer_id,
                "contact_ids": list(
                    dict.fromkeys(c.id for c in contacts if c.customer_id == customer_id)
                ),
                "subject": meeting.summary,
                "notes": notes or None,
                "start": meeting.start.isoformat(),
                "duration_minutes": minutes,
                "status": PENDING,
                "file": Path(path).name,
            }
            _save(session, data)
            stored[suggestion_id] = data
            report.suggested += 1
        uow.commit()
    return report


def _day_words(start: datetime, now: datetime, tz: tzinfo) -> str:
    day: date = dates.local_date(start, tz)
    today = dates.local_date(now, tz)
    gap = (today - day).days
    if gap == 0:
        return "today"
    if gap == 1:
        return "yesterday"
    if gap < 7:
        return f"on {day.strftime('%A')}"
    return f"on {day.isoformat()}"


def _view(session: Session, data: dict[str, Any], now: datetime, tz: tzinfo) -> Suggestion | None:
    customer = session.get(Customer, data["customer_id"])
    if customer is None or customer.deleted_at is not None or customer.merged_into_id:
        return None
    names = []
    for contact_id in data["contact_ids"]:
        contact = session.get(Contact, contact_id)
        if contact is not None and contact.deleted_at is None:
            names.append(contact.name)
    start = datetime.fromisoformat(data["start"])
    return Suggestion(
        id=data["id"],
        customer_id=customer.id,
        customer_name=customer.name,
        contact_ids=list(data["contact_ids"]),
        contact_names=names,
        subject=data.get("subject"),
        start=start,
        duration_minutes=data.get("duration_minutes"),
        status=data["status"],
        words=f"You met {customer.name} {_day_words(start, now, tz)}: log it?",
    )


def list_suggestions(ws: Workspace) -> list[Suggestion]:
    """Pending suggestions, oldest meeting first (a deleted customer's are left out)."""
    now = ws.now()
    with ws.read() as session:
        views = [
            _view(session, data, now, ws.tz)
            for data in _stored(session).values()
            if data["status"] == PENDING
        ]
    return sorted((s for s in views if s is not None), key=lambda s: s.start)


def _find(stored: dict[str, dict[str, Any]], ref: str) -> dict[str, Any]:
    ref = (ref or "").strip().lower()
    matches = [d for i, d in stored.items() if ref and (i == ref or i.endswith(ref))]
    if len(ref) < 6 or not matches:
        raise NotFoundError(f"no meeting suggestion '{ref}' (see `touchpoint suggestions`)")
    if len(matches) > 1:
        raise NotFoundError(f"'{ref}' names several suggestions: give more of the id")
    return matches[0]


def accept_suggestion(ws: Workspace, ref: str) -> Saved[InteractionView]:
    """Log the suggested meeting as a meeting interaction (its time, duration and the
    attendees who are the customer's contacts), in one transaction."""
    with ws.unit_of_work() as uow:
        session = uow.session
        data = _find(_stored(session), ref)
        if data["status"] != PENDING:
            raise ValidationError("suggestion", f"it was already {data['status']}")
        customer = session.get(Customer, data["customer_id"])
        if customer is None or customer.deleted_at is not None or customer.merged_into_id:
            raise NotFoundError("the customer of that meeting was deleted or merged")
        contact_ids = [
            c
            for c in data["contact_ids"]
            if (contact := session.get(Contact, c)) is not None and contact.deleted_at is None
        ]
        clean = clean_interaction(
            {
                "kind": InteractionKind.MEETING.value,
                "occurred_at": datetime.fromisoformat(data["start"]),
                "duration_minutes": data.get("duration_minutes"),
                "subject": data.get("subject"),
                "notes": data.get("notes"),
            }
        )
        interaction = Interaction(
            id=data["id"],
            customer_id=customer.id,
            contact_ids=contact_ids,
            rep=ws.author,
            **clean,
        )
        if session.get(Interaction, interaction.id) is None:  # logged on another laptop
            insert_new(session, [interaction])
        data["status"] = ACCEPTED
        _save(session, data)
        uow.commit()
        return Saved(interaction_view(interaction, customer.name), Changes.of(uow))


def dismiss_suggestion(ws: Workspace, ref: str) -> Saved[Suggestion]:
    """Put a suggestion away for good: importing the calendar again does not bring it back."""
    with ws.unit_of_work() as uow:
        data = _find(_stored(uow.session), ref)
        if data["status"] != PENDING:
            raise ValidationError("suggestion", f"it was already {data['status']}")
        view = _view(uow.session, data, ws.now(), ws.tz)
        if view is None:
            raise NotFoundError("the customer of that meeting was deleted or merged")
        data["status"] = DISMISSED
        _save(uow.session, data)
        uow.commit()
        return Saved(view, Changes.of(uow))


def pending_count(ws: Workspace) -> int:
    return len(list_suggestions(ws))
