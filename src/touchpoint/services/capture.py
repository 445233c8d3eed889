"""Email capture: messages saved from a mail program (.eml, Outlook .msg) become email
interactions with the customers and people they were exchanged with.

The same message brought in twice is one interaction: the interaction's id is derived
from the message's Message-ID (a name-based UUID, version 5), so a second import, on
this laptop or on another one after a sync, finds it by its primary key. No column is
added for it and nothing is hidden in the subject or the notes. A message without a
Message-ID (a draft) is identified by its sender, date and subject instead.
"""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import headerregistry
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain import values as v
from touchpoint.domain.enums import Direction, InteractionKind
from touchpoint.errors import NotFoundError, ValidationError
from touchpoint.services.lookup import find_customer
from touchpoint.services.validation import clean_contact, clean_customer, clean_interaction
from touchpoint.storage.bulk_write import insert_new
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, IdentityKey, Interaction
from touchpoint.storage.workspace import Changes, Workspace

# Namespace of the ids of captured messages and meetings (a fixed, random UUID).
CAPTURE_NAMESPACE = uuid.UUID("6f1c0f5e-8d0b-4c55-9a57-2d3c2b7e9a41")
SUBJECT_MAX = 500
# Mail services where a domain says nothing about a person's company.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "proton.me",
        "protonmail.com",
    }
)


def captured_id(kind: str, key: str) -> str:
    """The interaction id of a captured message or meeting: the same key, the same id."""
    return str(uuid.uuid5(CAPTURE_NAMESPACE, f"{kind}:{key.strip()}"))


# --- reading messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str | None
    email: str


@dataclass(frozen=True)
class MailMessage:
    """What Touchpoint keeps of one message, whichever program wrote the file."""

    file: str
    message_id: str | None
    sender: Person | None
    recipients: list[Person]
    sent_at: datetime | None  # UTC
    subject: str | None
    body: str
    attachments: list[tuple[str, int]]  # (file name, size in bytes)

    @property
    def key(self) -> str:
        if self.message_id:
            return "message:" + self.message_id.strip().strip("<>").strip().lower()
        parts = [
            self.sender.email.lower() if self.sender else "",
            self.sent_at.isoformat() if self.sent_at else "",
            self.subject or "",
        ]
        return "draft:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class _TextOfHtml(HTMLParser):
    """The readable text of an HTML body: no tags, scripts or styles; block elements
    and <br> end lines, as a mail program shows them."""

    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    )
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail body (entities decoded, runs of blank lines folded)."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return _tidy("".join(parser.parts))


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_SPACES = re.compile(r"[ \t\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _person(name: str | None, address: str | None) -> Person | None:
    address = (address or "").strip()
    if "@" not in address:
        return None
    return Person(name=(name or "").strip() or None, email=address)


def _people(values: Iterable[str | None]) -> list[Person]:
    out: list[Person] = []
    for name, address in getaddresses([x for x in values if x]):
        person = _person(name, address)
        if person and person.email.lower() not in {p.email.lower() for p in out}:
            out.append(person)
    return out


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # no zone written: read as UTC, as mail servers mean it
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_REGISTRY = headerregistry.HeaderRegistry()


@functools.lru_cache(maxsize=4096)
def _header(name: str, value: str) -> Any:
    return _REGISTRY(name, value)


class _CachedHeaders:
    """email.policy.default's header registry, remembered: the policy parses a header
    again at every look (a part's Content-Type a dozen times per message), and most
    messages share their Content-Type and MIME headers. Parsed headers are immutable."""

    def __call__(self, name: str, value: str) -> Any:
        return _header(name, value)

    def __getitem__(self, name: str) -> Any:  # the header's class (its max_count)
        return _header_class(name)


@functools.lru_cache(maxsize=256)
def _header_class(name: str) -> Any:
    return _REGISTRY[name]  # the registry builds a new class at every look


# The standard policy (RFC 5322 and 6532, EmailMessage, get_body), headers parsed once.
POLICY = email.policy.default.clone(header_factory=_CachedHeaders())


def read_eml(path: Path) -> MailMessage:
    """A MIME message file (.eml) read with the standard library's email package."""
    with path.open("rb") as handle:
        msg = email.message_from_binary_file(handle, policy=POLICY)
    assert isinstance(msg, EmailMessage)
    if not any(msg.get(h) is not None for h in ("from", "to", "date", "message-id")):
        # Any file parses as a message; one with none of these headers is none (a PDF,
        # a photo dropped with the mails).
        raise ValidationError("file", f"{path.name} is not an email (.eml or Outlook .msg)")
    senders = _addresses(msg, "from")
    recipients = _addresses(msg, "to") + _addresses(msg, "cc")
    sent_at: datetime | None = None
    raw_date = msg.get("date")
    if raw_date is not None:
        try:
            sent_at = _utc(getattr(raw_date, "datetime", None) or parsedate_to_datetime(raw_date))
        except (TypeError, ValueError):
            sent_at = None
    body = ""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is not None:
        text = _part_text(part)
        body = html_to_text(text) if part.get_content_subtype() == "html" else _tidy(text)
    if not body:  # an empty text/plain beside the HTML that holds the words
        html_part = msg.get_body(preferencelist=("html",))
        if html_part is not None:
            part = html_part
            body = html_to_text(_part_text(html_part))
    attachments = []
    # A part with a file name is an attachment even when shown inline (mail programs
    # and scanners attach text files that way); the alternative of the body is not.
    for attached in msg.walk():
        if attached.is_multipart() or attached is part:
            continue
        name = attached.get_filename()
        if not name and attached.get_content_disposition() != "attachment":
            continue
        payload = attached.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        attachments.append((name or f"unnamed {attached.get_content_type()}", size))
    message_id = str(msg.get("message-id") or "").strip() or None
    subject = str(msg.get("subject") or "").strip() or None
    return MailMessage(
        file=path.name,
        message_id=message_id,
        sender=senders[0] if senders else None,
        recipients=_unique(recipients),
        sent_at=sent_at,
        subject=subject,
        body=body,
        attachments=attachments,
    )


def _addresses(msg: EmailMessage, header: str) -> list[Person]:
    value = msg.get(header)
    if value is None:
        return []
    groups = getattr(value, "addresses", None)
    if groups is None:  # a header the policy could not parse: read its text
        return _people([str(value)])
    out = []
    for address in groups:
        if isinstance(address, Address):
            person = _person(address.display_name, address.addr_spec)
            if person:
                out.append(person)
    return out


def _unique(people: Sequence[Person]) -> list[Person]:
    seen: set[str] = set()
    out = []
    for p in people:
        if p.email.lower() not in seen:
            seen.add(p.email.lower())
            out.append(p)
    return out


def _part_text(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset: decode leniently
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def read_msg(path: Path) -> MailMessage:
    """An Outlook message file (.msg) read with extract-msg."""
    import extract_msg  # loaded only when a .msg file is imported

    try:
        msg = extract_msg.openMsg(str(path))
    except Exception as exc:  # any damage in the file's structure
        raise ValidationError("file", f"{path.name} is not a readable Outlook message") from exc
    try:
        senders = _people([getattr(msg, "sender", None)])
        recipients = _people([getattr(msg, "to", None), getattr(msg, "cc", None)])
        body = _tidy(msg.body or "") if getattr(msg, "body", None) else ""
        if not body and getattr(msg, "htmlBody", None):
            html = msg.htmlBody
            body = html_to_text(
                html.decode("utf-8", "replace") if isinstance(html, bytes) else html
            )
        attachments = []
        for att in getattr(msg, "attachments", []) or []:
            name = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None)
            data = getattr(att, "data", None)
            size = len(data) if isinstance(data, bytes | bytearray) else 0
            attachments.append((name or "unnamed attachment", size))
        date = getattr(msg, "date", None)
        return MailMessage(
            file=path.name,
            message_id=(getattr(msg, "messageId", None) or "").strip() or None,
            sender=senders[0] if senders else None,
            recipients=recipients,
            sent_at=_utc(date) if isinstance(date, datetime) else None,
            subject=(msg.subject or "").strip() or None,
            body=body,
            attachments=attachments,
        )
    finally:
        msg.close()


def read_message(path: Path) -> MailMessage:
    path = Path(path)
    if not path.is_file():
        raise ValidationError("file", f"{path.name}: no such file")
    if path.suffix.lower() == ".msg":
        return read_msg(path)
    return read_eml(path)


# --- matching and writing ----------------------------------------------------------------


@dataclass(frozen=True)
class CustomerChoice:
    """A customer a message may be filed under (its people's, by email address)."""

    id: str
    name: str


@dataclass(frozen=True)
class CapturedMessage:
    file: str
    subject: str | None
    outcome: str  # "logged", "already there", "skipped", "unsure" (only when asked)
    reason: str | None = None
    customer: str | None = None
    interaction_id: str | None = None
    path: str | None = None  # the file as given, to file an unsure one once chosen
    # An unsure message: the customers its addresses belong to (none, or several),
    # and who it was between, for the person choosing.
    candidates: tuple[CustomerChoice, ...] = ()
    people: tuple[str, ...] = ()


@dataclass
class EmailImportReport:
    messages: list[CapturedMessage] = field(default_factory=list)
    created_customers: int = 0
    created_contacts: int = 0
    dry_run: bool = False
    changes: Changes = field(default_factory=Changes)  # what was written, for the window

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.messages if m.outcome == outcome)

    @property
    def logged(self) -> int:
        return self.count("logged")

    @property
    def already_there(self) -> int:
        return self.count("already there")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def unsure(self) -> list[CapturedMessage]:
        return [m for m in self.messages if m.outcome == "unsure"]


def live_by_email(
    session: Session, entity: str, addresses: Iterable[str]
) -> dict[str, Customer | Contact]:
    """Live customers or contacts by normalised email (the identity keys' index)."""
    keys = {v.normalised_email_key(a) for a in addresses if a}
    if not keys:
        return {}
    model: type[Customer] | type[Contact] = Contact if entity == "contact" else Customer
    rows = session.execute(
        select(IdentityKey.value, model)
        .join(model, model.id == IdentityKey.record_id)
        .where(IdentityKey.entity == entity, IdentityKey.kind == "email")
        .where(IdentityKey.value.in_(sorted(keys)))
        .where(model.deleted_at.is_(None), model.merged_into_id.is_(None))
        .order_by(model.created_at)
    ).all()
    out: dict[str, Customer | Contact] = {}
    for value, record in rows:
        out.setdefault(value, record)
    return out


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def _customer_of_domain(session: Session, domain: str) -> Customer | None:
    """A live customer whose website is this domain, else one with an email there."""
    found = session.scalars(
        select(Customer)
        .join(IdentityKey, IdentityKey.record_id == Customer.id)
        .where(IdentityKey.entity == "customer", IdentityKey.kind == "host")
        .where(IdentityKey.value == domain)
        .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
        .order_by(Customer.created_at)
    ).first()
    return found or _customer_by_email_domain(session, domain)


def _customer_by_email_domain(session: Session, domain: str) -> Customer | None:
    suffix = "@" + domain
    for entity in ("customer", "contact"):
        record_id = session.scalars(
            select(IdentityKey.record_id)
            .where(IdentityKey.entity == entity, IdentityKey.kind == "email")
            .where(IdentityKey.value.like(f"%{suffix}"))
            .order_by(IdentityKey.record_id)
        ).first()
        if record_id is None:
            continue
        customer = session.get(Customer, record_id) if entity == "customer" else None
        if entity == "contact":
            contact = session.get(Contact, record_id)
            customer = session.get(Customer, contact.customer_id) if contact else None
        if customer is not None and customer.deleted_at is None and not customer.merged_into_id:
            return customer
    return None


def company_name_of_domain(domain: str) -> str:
    """'acme-tools.co.uk' -> 'Acme Tools': the name a new customer gets from a domain."""
    labels = domain.lower().split(".")
    # drop the public suffix: the last label, and a second-level one as in .co.uk
    core = labels[:-1] if len(labels) > 1 else labels
    if len(core) > 1 and core[-1] in {"co", "com", "org", "net", "ac", "gov", "ltd"}:
        core = core[:-1]
    name = core[-1] if core else domain
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", name) if part) or domain


@dataclass
class _Matcher:
    ws: Workspace
    session: Session
    forced: Customer | None
    create_contacts: bool
    report: EmailImportReport
    made_customers: dict[str, Customer] = field(default_factory=dict)  # by domain
    # Contacts by email key, looked up for all messages at once (None: nobody).
    known: dict[str, Contact | None] = field(default_factory=dict)
    customers: dict[str, Customer | None] = field(default_factory=dict)

    def prefetch(self, messages: Sequence[MailMessage]) -> None:
        keys = {
            v.normalised_email_key(p.email)
            for m in messages
            for p in [m.sender, *m.recipients]
            if p is not None
        }
        ordered = sorted(keys - self.known.keys())
        for chunk in chunked(ordered):
            found = live_by_email(self.session, "contact", chunk)
            for key in chunk:
                record = found.get(key)
                self.known[key] = record if isinstance(record, Contact) else None

    def _customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self.customers:
            self.customers[customer_id] = self.session.get(Customer, customer_id)
        return self.customers[customer_id]

    def match(self, msg: MailMessage, outbound: bool) -> tuple[Customer | None, list[str]]:
        me = self.ws.author.casefold()
        people = msg.recipients if outbound else [msg.sender, *msg.recipients]
        others = [p for p in people if p is not None and p.email.casefold() != me]
        self.prefetch([msg])  # only addresses not looked up yet
        contacts = {
            key: record
            for p in others
            if (record := self.known.get(key := v.normalised_email_key(p.email))) is not None
        }
        customer = self.forced
        found: list[Contact] = []
        for p in others:
            record = contacts.get(v.normalised_email_key(p.email))
            if isinstance(record, Contact) and (
                customer is None or record.customer_id == customer.id
            ):
                if customer is None:
                    customer = self._customer(record.customer_id)
                if record.customer_id == customer.id and record not in found:  # type: ignore[union-attr]
                    found.append(record)
        if customer is None:
            by_customer = live_by_email(self.session, "customer", [p.email for p in others])
            for p in others:
                record = by_customer.get(v.normalised_email_key(p.email))
                if isinstance(record, Customer):
                    customer = record
                    break
        counterpart = others[0] if others else None
        if (
            self.create_contacts
            and counterpart is not None
            and not found
            and v.normalised_email_key(counterpart.email) not in contacts
        ):
            customer = customer or self._organisation(counterpart)
            found.append(self._new_contact(customer, counterpart))
        return customer, [c.id for c in found]

    def candidates(self, msg: MailMessage, outbound: bool) -> list[Customer]:
        """Every live customer the message's addresses (other than the rep's) belong
        to: through a contact's email, or the customer's own; in the message's order."""
        me = self.ws.author.casefold()
        people = msg.recipients if outbound else [msg.sender, *msg.recipients]
        others = [p for p in people if p is not None and p.email.casefold() != me]
        self.prefetch([msg])
        by_customer = live_by_email(self.session, "customer", [p.email for p in others])
        found: dict[str, Customer] = {}
        for p in others:
            key = v.normalised_email_key(p.email)
            contact = self.known.get(key)
            customer = self._customer(contact.customer_id) if contact is not None else None
            if customer is not None and customer.deleted_at is None:
                found.setdefault(customer.id, customer)
            record = by_customer.get(key)
            if isinstance(record, Customer):
                found.setdefault(record.id, record)
        return list(found.values())

    def _organisation(self, person: Person) -> Customer:
        domain = _domain(person.email)
        if domain in self.made_customers:
            return self.made_customers[domain]
        existing = None if domain in FREE_MAIL else _customer_of_domain(self.session, domain)
        if existing is not None:
            return existing
        if domain in FREE_MAIL:  # a private address: the person is the customer
            fields = {
                "name": person.name or person.email,
                "kind": "individual",
                "emails": [person.email],
            }
        else:
            fields = {"name": company_name_of_domain(domain), "website": domain}
        fields.update(owner=self.ws.author, currency=self.ws.settings.currency)
        clean = clean_customer(fields, region=self.ws.settings.default_region, custom_defs={})
        customer = Customer(**clean)
        self.session.add(customer)
        self.session.flush()
        self.report.created_customers += 1
        if domain not in FREE_MAIL:
            self.made_customers[domain] = customer
        return customer

    def _new_contact(self, customer: Customer, person: Person) -> Contact:
        name = person.name or person.email.split("@", 1)[0]
        clean = clean_contact(
            {"name": name, "emails": [person.email]}, region=self.ws.settings.default_region
        )
        contact = Contact(customer_id=customer.id, **clean)
        self.session.add(contact)
        self.session.flush()
        self.known[v.normalised_email_key(person.email)] = contact  # the next message finds them
        self.report.created_contacts += 1
        return contact


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{(n + 512) // 1024} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _shown(person: Person) -> str:
    return (
        f"{person.name} <{person.email}>"
        if person.name and person.name != person.email
        else person.email
    )


def message_notes(msg: MailMessage) -> str | None:
    """The body as text, then the attachments by name and size (they are not kept)."""
    parts = [msg.body] if msg.body else []
    if msg.attachments:
        listed = ", ".join(f"{name} ({_size(size)})" for name, size in msg.attachments)
        parts.append(f"Attachments: {listed}")
    return "\n\n".join(parts) or None


def import_emails(
    ws: Workspace,
    paths: Sequence[Path],
    *,
    customer: str | None = None,
    create_contacts: bool = False,
    dry_run: bool = False,
    ask: bool = False,
) -> EmailImportReport:
    """Log each message file as an email interaction; all of them are written together.

    A message goes to the customer of the contacts it was exchanged with (matched by
    email address), or to ``customer``. One matching nobody is skipped and reported,
    never guessed, unless ``create_contacts``: its sender (or, for a message the rep
    sent, its first recipient) becomes a contact of the customer with their email's
    domain (an existing one, else a new customer named from the domain).

    With ``ask`` (the window, which can ask), a message whose addresses belong to no
    customer, or to more than one, is neither logged nor skipped but reported
    "unsure", with the customers it may belong to: the person chooses, and the file
    is brought in again with ``customer``. A message logged before and deleted since
    is brought back."""
    report = EmailImportReport(dry_run=dry_run)
    read: list[MailMessage | CapturedMessage] = []
    sources: dict[int, str] = {}  # id(message read) -> the path given
    for given in paths:
        path = Path(given)
        try:
            msg = read_message(path)
            sources[id(msg)] = str(given)
            read.append(msg)
        except ValidationError as exc:
            read.append(CapturedMessage(path.name, None, "skipped", exc.problem, path=str(given)))
        except (OSError, UnicodeError) as exc:
            read.append(
                CapturedMessage(
                    path.name, None, "skipped", f"cannot read it ({exc})", path=str(given)
                )
            )
    with ws.unit_of_work() as uow:
        session = uow.session
        forced = None
        if customer:
            forced = find_customer(session, customer)
            if forced.deleted_at is not None or forced.merged_into_id:
                raise NotFoundError(f"customer '{forced.name}' was deleted or merged")
        matcher = _Matcher(ws, session, forced, create_contacts, report)
        messages = [m for m in read if isinstance(m, MailMessage)]
        wanted = [captured_id("email", m.key) for m in messages]
        existing: set[str] = set()
        deleted: set[str] = set()
        for chunk in chunked(wanted):
            for found_id, deleted_at in session.execute(
                select(Interaction.id, Interaction.deleted_at).where(Interaction.id.in_(chunk))
            ):
                (deleted if deleted_at is not None else existing).add(found_id)
        matcher.prefetch(messages)
        new: list[Interaction] = []
        ids: set[str] = set(existing)
        me = ws.author.casefold()
        for item in read:
            if isinstance(item, CapturedMessage):
                report.messages.append(item)
                continue
            msg = item
            source = sources.get(id(msg))
            interaction_id = captured_id("email", msg.key)
            if interaction_id in ids:
                report.messages.append(
                    CapturedMessage(
                        msg.file,
                        msg.subject,
                        "already there",
                        interaction_id=interaction_id,
                        path=source,
                    )
                )
                continue
            if msg.sent_at is None:
                report.messages.append(
                    CapturedMessage(msg.file, msg.subject, "skipped", "it has no date", path=source)
                )
                continue
            outbound = msg.sender is not None and msg.sender.email.casefold() == me
            if ask and forced is None:
                choices = matcher.candidates(msg, outbound)
                if len(choices) != 1:
                    report.messages.append(
                        CapturedMessage(
                            msg.file,
                            msg.subject,
                            "unsure",
                            "its addresses belong to several customers"
                            if choices
                            else "no customer or contact has its addresses",
                            path=source,
                            candidates=tuple(CustomerChoice(c.id, c.name) for c in choices),
                            people=tuple(_shown(p) for p in [msg.sender, *msg.recipients] if p),
                        )
                    )
                    continue
            target, contact_ids = matcher.match(msg, outbound)
            if target is None:
                report.messages.append(
                    CapturedMessage(
                        msg.file,
                        msg.subject,
                        "skipped",
                        "no customer or contact has its addresses (give --customer, "
                        "or --create-contacts)",
                        path=source,
                    )
                )
                continue
            if interaction_id in deleted:  # logged before, deleted since: back, where now filed
                again = session.get(Interaction, interaction_id)
                assert again is not None
                again.deleted_at = None
                again.customer_id = target.id
                again.contact_ids = contact_ids
            else:
                clean = clean_interaction(
                    {
                        "kind": InteractionKind.EMAIL.value,
                        "direction": (Direction.OUTBOUND if outbound else Direction.INBOUND).value,
                        "occurred_at": msg.sent_at,
                        "subject": (msg.subject or "")[:SUBJECT_MAX] or None,
                        "notes": message_notes(msg),
                    }
                )
                new.append(
                    Interaction(
                        id=interaction_id,
                        customer_id=target.id,
                        contact_ids=contact_ids,
                        rep=ws.author,
                        **clean,
                    )
                )
            ids.add(interaction_id)
            report.messages.append(
                CapturedMessage(
                    msg.file,
                    msg.subject,
                    "logged",
                    customer=target.name,
                    interaction_id=interaction_id,
                    path=source,
                )
            )
        insert_new(session, new)
        if not dry_run:
            uow.session.flush()
            report.changes = Changes.of(uow)
            uow.commit()
    return report
