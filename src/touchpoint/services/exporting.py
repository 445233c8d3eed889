"""Exporting customers and contacts (CSV, vCard 3.0) and follow-ups (iCalendar to-dos).

Every export streams its rows from the database, writes to a temporary file beside
the target and renames it into place only when complete: a cancelled or failed
export leaves no file behind, and never a half-written one. CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import vobject
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from touchpoint.domain import photos
from touchpoint.domain.enums import CustomerKind, CustomFieldType, DecisionRole, FollowUpStatus
from touchpoint.errors import Cancelled, ValidationError
from touchpoint.policy import check_export_format
from touchpoint.services.lookup import find_customer, live
from touchpoint.services.outfiles import atomic_output
from touchpoint.services.vcards import EMAIL_LABELS, PHONE_LABELS, type_of
from touchpoint.storage.models import Contact, Customer, CustomFieldDef, FollowUp
from touchpoint.storage.workspace import Workspace

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

STREAM_ROWS = 500  # rows fetched per round trip, and how often progress and cancel are checked
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportReport:
    path: Path
    count: int
    format: str


def neutralise_cell(value: object) -> str:
    """A cell's text, with a leading apostrophe when a spreadsheet would read it as a
    formula (=, +, -, @, tab, CR): CSV formula injection. The importer removes it again."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _check(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("the export was cancelled; no file was written")


def _stream(
    session: Session,
    query: Select[Any],
    total: int,
    progress: Progress | None,
    cancel: Cancel | None,
) -> Iterator[Any]:
    """The query's rows, fetched in chunks, with progress and cancel every chunk."""
    done = 0
    _check(cancel)
    if progress:
        progress(0, total)
    for row in session.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield row
        done += 1
        if done % STREAM_ROWS == 0:
            _check(cancel)
            if progress:
                progress(done, total)
    _check(cancel)
    if progress:
        progress(done, total)


def _count(session: Session, query: Select[Any]) -> int:
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


@contextmanager
def _csv_writer(out: Path, bom: bool) -> Iterator[Any]:
    with atomic_output(out) as temp, _open_text(temp, "utf-8-sig" if bom else "utf-8") as handle:
        yield csv.writer(handle)


def _open_text(path: Path, encoding: str) -> TextIO:
    return path.open("w", encoding=encoding, newline="")


def _write_row(writer: Any, cells: Iterable[object]) -> None:
    writer.writerow([neutralise_cell(c) for c in cells])


def _first(items: list[dict[str, Any]] | None, *, mobile: bool | None = None) -> str | None:
    for item in items or []:
        if mobile is None or (item.get("label") == "mobile") == mobile:
            return item.get("value")
    return None


def _local(ws: Workspace, when: datetime | None) -> str:
    return when.astimezone(ws.tz).isoformat(timespec="seconds") if when else ""


def reach_lines(items: list[dict[str, Any]] | None) -> str:
    """Every email (or phone) of a record, in its order, one "label: value" a line: the
    importer reads the same list back (the Email and Phone columns hold only the first)."""
    return "\n".join(f"{item.get('label') or 'work'}: {item.get('value')}" for item in items or [])


ADDRESS_PARTS = ("street", "postcode", "city", "region", "country")


def address_lines(items: list[dict[str, Any]] | None) -> str:
    """Every address, one "label: street | postcode | city | region | country" a line."""
    return "\n".join(
        f"{a.get('label') or 'office'}: " + " | ".join(a.get(k) or "" for k in ADDRESS_PARTS)
        for a in items or []
    )


# --- contacts ----------------------------------------------------------------------------

CONTACT_HEADERS = (
    "Company", "Name", "Title", "Decision Role", "Email", "Phone", "Mobile", "Notes",
    "Do Not Contact", "Contact ID", "Customer ID", "Preferred Channel", "Emails", "Phones",
    "Created",
)  # fmt: skip


def _contacts_query(session: Session, customer: str | None) -> Select[Any]:
    query = (
        select(Contact, Customer.name, Customer.kind)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(live(Contact), live(Customer))
        .order_by(Customer.name, Contact.name, Contact.id)
    )
    if customer:
        found = find_customer(session, customer)
        query = query.where(Contact.customer_id == found.id)
    return query


def export_contacts(
    ws: Workspace,
    out: Path,
    *,
    format: str,
    customer: str | None = None,
    bom: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ExportReport:
    """Every live contact (or one customer's) as vCard 3.0 ("vcf") or CSV ("csv")."""
    kind = (format or "").strip().lower().lstrip(".")
    if kind == "vcard":
        kind = "vcf"
    if kind not in ("vcf", "csv"):
        raise ValidationError("format", f"'{format}' is not one of: vcf, csv")
    check_export_format(kind, ws.policy)
    out = Path(out)
    with ws.read() as session:
        query = _contacts_query(session, customer)
        total = _count(session, query)
        rows = _stream(session, query, total, progress, cancel)
        count = 0
        if kind == "csv":
            with _csv_writer(out, bom) as writer:
                _write_row(writer, CONTACT_HEADERS)
                for contact, company, _kind in rows:
                    _write_row(writer, _contact_cells(ws, contact, company))
                    count += 1
        else:
            with atomic_output(out) as temp, _open_text(temp, "utf-8") as handle:
                for contact, company, customer_kind in rows:
                    individual = customer_kind == CustomerKind.INDIVIDUAL
                    handle.write(_vcard(contact, None if individual else company))
                    count += 1
    return ExportReport(out, count, kind)


def _contact_cells(ws: Workspace, p: Contact, company: str) -> list[object]:
    return [
        company,
        p.name,
        p.title,
        p.decision_role,
        _first(p.emails),
        _first(p.phones, mobile=False),
        _first(p.phones, mobile=True),
        p.notes,
        "yes" if p.do_not_contact else "",
        p.id,
        p.customer_id,
        p.preferred_channel,
        reach_lines(p.emails),
        reach_lines(p.phones),
        _local(ws, p.created_at),
    ]


def _split_name(name: str) -> tuple[str, str]:
    """(given, family): the last word is taken as the family name."""
    parts = name.split()
    if len(parts) < 2:
        return "", name
    return " ".join(parts[:-1]), parts[-1]


def _vcard(p: Contact, company: str | None) -> str:
    """One vCard 3.0; an individual customer's person has no ORG (it is no company)."""
    card = vobject.vCard()
    card.add("fn").value = p.name
    given, family = _split_name(p.name)
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if company:
        card.add("org").value = [company]
    if p.title:
        card.add("title").value = p.title
    if p.decision_role and p.decision_role != DecisionRole.OTHER:
        card.add("role").value = p.decision_role
    # Each label is written as the TYPE the importer reads back as the same label.
    for item in p.emails or []:
        line = card.add("email")
        line.value = item["value"]
        line.type_param = ["INTERNET", type_of(str(item.get("label") or "work"), EMAIL_LABELS)]
    for item in p.phones or []:
        line = card.add("tel")
        line.value = item["value"]
        line.type_param = type_of(str(item.get("label") or "work").lower(), PHONE_LABELS)
    if p.notes:
        card.add("note").value = p.notes
    picture = photos.from_stored(p.photo)
    if picture is not None and picture.data is not None and picture.mime:
        line = card.add("photo")
        line.value = picture.data
        line.encoding_param = "b"
        line.type_param = picture.mime.removeprefix("image/").upper()
    elif picture is not None and picture.url:
        line = card.add("photo")
        line.value = picture.url
        line.value_param = "uri"
    # Touchpoint's own fields that vCard has no property for, read back by the importer.
    if p.decision_role == DecisionRole.OTHER:
        card.add("x-touchpoint-decision-role").value = p.decision_role
    if p.preferred_channel:
        card.add("x-touchpoint-preferred-channel").value = p.preferred_channel
    if p.do_not_contact:
        card.add("x-touchpoint-do-not-contact").value = "yes"
    if p.created_at:
        card.add("x-touchpoint-created").value = p.created_at.astimezone(UTC).strftime(
            "%Y%m%dT%H%M%SZ"
        )
    card.add("uid").value = f"{p.id}@touchpoint"
    text: str = card.serialize()
    return text


# --- customers -----------------------------------------------------------------------------

# A custom field's column says what the field is, so that importing the file into an
# empty database defines the same field: "Tier (custom field tier: choice Gold|Silver)".
_CUSTOM_HEADER = re.compile(
    r"^(?P<label>.*?)\s*\(custom field (?P<key>[\w -]{1,60}): "
    r"(?P<type>text|number|date|choice)(?: (?P<choices>[^)]*))?\)$"
)


def custom_header(key: str, label: str, kind: str, choices: Iterable[str]) -> str:
    """The export's column header of one custom field (see :func:`parse_custom_header`)."""
    options = "|".join(choices) if kind == CustomFieldType.CHOICE else ""
    return f"{label or key} (custom field {key}: {kind}{' ' + options if options else ''})"


def parse_custom_header(header: str) -> tuple[str, str, str, list[str]] | None:
    """(key, label, type, choices) of a header written by :func:`custom_header`, else None."""
    found = _CUSTOM_HEADER.match(header.strip())
    if found is None:
        return None
    choices = [c.strip() for c in (found["choices"] or "").split("|") if c.strip()]
    if found["type"] == CustomFieldType.CHOICE and not choices:
        return None
    key = found["key"].strip()
    return key, found["label"] or key, found["type"], choices


CUSTOMER_HEADERS = (
    "Company", "Kind", "Status", "Industry", "Segment", "Owner", "Territory", "Website",
    "Email", "Phone", "Street", "City", "Postal Code", "Region", "Country", "Tags", "Notes",
    "Yearly Potential", "Currency", "Created", "Updated", "Customer ID", "Confirmed",
    "Emails", "Phones", "Addresses",
)  # fmt: skip


def export_customers_csv(
    ws: Workspace,
    out: Path,
    *,
    bom: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ExportReport:
    """Every live customer as one CSV row; custom fields follow, one column each, headed
    by their label, key and type (so that the file imports back, even into an empty
    database). The first email, phone and address have columns of their own for
    people and spreadsheets; Emails, Phones and Addresses hold all of them, with their
    labels and in their order, for the import."""
    check_export_format("csv", ws.policy)
    out = Path(out)
    with ws.read() as session:
        defs = session.scalars(
            select(CustomFieldDef)
            .where(CustomFieldDef.deleted_at.is_(None))
            .order_by(CustomFieldDef.key)
        ).all()
        keys = [d.key for d in defs]
        custom_headers = [custom_header(d.key, d.label, d.type, d.choices or []) for d in defs]
        query = select(Customer).where(live(Customer)).order_by(Customer.name, Customer.id)
        total = _count(session, query)
        count = 0
        with _csv_writer(out, bom) as writer:
            _write_row(writer, [*CUSTOMER_HEADERS, *custom_headers])
            for (c,) in _stream(session, query, total, progress, cancel):
                address = (c.addresses or [{}])[0]
                custom = c.custom or {}
                _write_row(
                    writer,
                    [
                        c.name, c.kind, c.status, c.industry, c.segment, c.owner, c.territory,
                        c.website, _first(c.emails), _first(c.phones), address.get("street"),
                        address.get("city"), address.get("postcode"), address.get("region"),
                        address.get("country"), ", ".join(c.tags or []), c.notes,
                        c.yearly_potential, c.currency, _local(ws, c.created_at),
                        _local(ws, c.updated_at), c.id, _local(ws, c.confirmed_at),
                        reach_lines(c.emails), reach_lines(c.phones),
                        address_lines(c.addresses), *(custom.get(k) for k in keys),
                    ],
                )  # fmt: skip
                count += 1
    return ExportReport(out, count, "csv")


# --- follow-ups as iCalendar ------------------------------------------------------------------

EVENT_MINUTES = 15  # a promise shows as a short slot at its due time
ICS_STATUS = {
    FollowUpStatus.OPEN: "CONFIRMED",
    FollowUpStatus.DONE: "CONFIRMED",
    FollowUpStatus.CANCELLED: "CANCELLED",
}
ICS_PRIORITY = {"high": 1, "normal": 5, "low": 9}
# A to-do's STATUS (RFC 5545 3.8.1.11) for each follow-up status.
TODO_STATUS = {
    FollowUpStatus.OPEN: "NEEDS-ACTION",
    FollowUpStatus.DONE: "COMPLETED",
    FollowUpStatus.CANCELLED: "CANCELLED",
}
SCOPES = ("open", "all")
ICS_KINDS = ("todo", "event")  # a promise as a to-do (the default) or a calendar event


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """A content line folded at 75 octets (never inside a UTF-8 character), CRLF ended."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # back off to the first byte of a character
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(parts) + "\r\n"


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(f: FollowUp, company: str, stamp: datetime, kind: str = "event") -> str:
    """One follow-up as a VTODO (due at its due time, with its status, priority and
    customer) or as a short VEVENT at its due time."""
    description = [f"Customer: {company}"]
    if f.notes:
        description.append(f.notes)
    if f.status == FollowUpStatus.DONE and f.done_at:
        description.append(f"Done {_utc(f.done_at)}")
    component = "VTODO" if kind == "todo" else "VEVENT"
    lines = [f"BEGIN:{component}", f"UID:{f.id}@touchpoint", f"DTSTAMP:{_utc(stamp)}"]
    if kind == "todo":
        lines += [f"DUE:{_utc(f.due_at)}", f"STATUS:{TODO_STATUS[FollowUpStatus(f.status)]}"]
        if f.status == FollowUpStatus.DONE and f.done_at:
            lines.append(f"COMPLETED:{_utc(f.done_at)}")
    else:
        lines += [
            f"DTSTART:{_utc(f.due_at)}",
            f"DTEND:{_utc(f.due_at + timedelta(minutes=EVENT_MINUTES))}",
            f"STATUS:{ICS_STATUS.get(FollowUpStatus(f.status), 'CONFIRMED')}",
        ]
    lines += [
        f"SUMMARY:{_ics_text(f'{f.title} ({company})')}",
        f"DESCRIPTION:{_ics_text(chr(10).join(description))}",
        # The customer, for calendar programs that show a to-do's contact.
        f"CONTACT:{_ics_text(company)}",
        f"X-TOUCHPOINT-CUSTOMER-ID:{f.customer_id}",
        f"PRIORITY:{ICS_PRIORITY.get(f.priority, 5)}",
        f"CATEGORIES:{_ics_text('Touchpoint')}",
        f"LAST-MODIFIED:{_utc(f.updated_at)}",
    ]
    if f.remind_at is not None and f.status == FollowUpStatus.OPEN:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{_ics_text(f.title)}",
            f"TRIGGER;VALUE=DATE-TIME:{_utc(f.remind_at)}",
            "END:VALARM",
        ]
    lines.append(f"END:{component}")
    return "".join(_fold(line) for line in lines)


def export_followups_ics(
    ws: Workspace,
    out: Path,
    *,
    scope: str = "open",
    assigned_to: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    kind: str = "todo",
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    customer_id: str | None = None,
    reps: Sequence[str] | None = None,
) -> ExportReport:
    """Follow-ups as an iCalendar file (RFC 5545): one to-do per promise (``kind``
    "todo": DUE at its due time, STATUS, PRIORITY, COMPLETED when done, the customer)
    or one event at its due time ("event"), with an alarm at its reminder time and a
    stable UID, so that importing the file again updates the same items.

    ``scope``: "open" or "all"; ``due_from``/``due_before``: due in [from, before);
    ``customer_id``: one customer's; ``assigned_to`` or ``reps``: assigned to them."""
    check_export_format("ics", ws.policy)
    if scope not in SCOPES:
        raise ValidationError("scope", f"'{scope}' is not one of: {', '.join(SCOPES)}")
    if kind not in ICS_KINDS:
        raise ValidationError("ics as", f"'{kind}' is not one of: {', '.join(ICS_KINDS)}")
    out = Path(out)
    stamp = ws.now()
    with ws.read() as session:
        query = (
            select(FollowUp, Customer.name)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(FollowUp.deleted_at.is_(None))
            .order_by(FollowUp.due_at, FollowUp.id)
        )
        if scope == "open":
            query = query.where(FollowUp.status == FollowUpStatus.OPEN)
        if assigned_to:
            query = query.where(FollowUp.assigned_to == assigned_to)
        if reps is not None:
            query = query.where(FollowUp.assigned_to.in_(list(reps)))
        if customer_id:
            query = query.where(FollowUp.customer_id == customer_id)
        if due_from is not None:
            query = query.where(FollowUp.due_at >= due_from)
        if due_before is not None:
            query = query.where(FollowUp.due_at < due_before)
        total = _count(session, query)
        count = 0
        with atomic_output(out) as temp, temp.open("w", encoding="utf-8", newline="") as handle:
            for line in (
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//Touchpoint//Touchpoint CRM//EN",
                "CALSCALE:GREGORIAN",
                "METHOD:PUBLISH",
                "X-WR-CALNAME:Touchpoint follow-ups",
            ):
                handle.write(_fold(line))
            for followup, company in _stream(session, query, total, progress, cancel):
                handle.write(_event(followup, company, stamp, kind))
                count += 1
            handle.write(_fold("END:VCALENDAR"))
    return ExportReport(out, count, "ics")
