"""Importing people from vCard files as contacts of their customers."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.collector import collector_paused
from touchpoint.domain import values as v
from touchpoint.domain.enums import CustomerKind
from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.importing.cleaning import (
    _Cleaner,
    _CustomerKey,
    _join_lines,
    _notices,
    _Plan,
    _Planned,
    _problems,
    _role_and_notes,
    _Update,
)
from touchpoint.services.importing.decoding import decode
from touchpoint.services.importing.matching import (
    _canonical_id,
    _changes,
    _Known,
    _known_records,
    _live_target,
    _reach_keys,
    _records_by_id,
    _ref_key,
    _union_reach,
)
from touchpoint.services.importing.planning import (
    LOOKUP_ROWS,
    Cancel,
    Progress,
    Sink,
    _check_cancel,
    _parts,
)
from touchpoint.services.importing.reports import ImportReport, RowChange, RowError, RowNotice
from touchpoint.services.importing.writing import _run_import
from touchpoint.services.lookup import find_customer
from touchpoint.services.validation import (
    Doubt,
    phone_region,
)
from touchpoint.services.vcards import Card, address_text, read_cards
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer
from touchpoint.storage.workspace import Workspace


def _read_cards(path: Path) -> tuple[list[Card], list[tuple[int, str | None, str]]]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError("file", f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + b"\xff\xfe"):
        raise ValidationError("file", f"{path.name} is empty")
    text, _encoding = decode(data, path.name)
    return read_cards(text, path.name)


def _card_country(card: Card) -> str | None:
    """The country of a card's first address that names one: its phones are read there."""
    for address in [*card.work_addresses, *card.home_addresses]:
        try:
            code = v.country_from_file("country", address.get("country"))
        except ValidationError:
            continue
        if code:
            return code
    return None


def _card_records(card: Card) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """(raw customer fields, raw contact fields or None, properties put in the notes).

    A card of a person at an organisation: the organisation's address and web site go
    on the customer, the person's own (home address, home page) in the person's notes,
    as does every property Touchpoint has no field for. A card of a person alone makes
    an individual customer with all of them. A card of an organisation (KIND:org, or
    ORG without a person) makes a customer and no person."""
    extra = list(card.extra)
    moved = list(card.in_notes)
    addresses = [*card.work_addresses, *card.home_addresses]
    website = card.website or card.home_page
    if card.website and card.home_page:
        extra.append(f"Home page: {card.home_page}")
        moved.append("URL (home)")
    if card.person is None:
        customer: dict[str, Any] = {
            "name": card.org,
            "emails": card.emails,
            "phones": card.phones,
            "addresses": addresses,
            "website": website,
            "tags": card.tags,
        }
        role_line = [f"Role: {card.role}"] if card.role else []
        title_line = [f"Title: {card.title}"] if card.title else []
        customer["notes"] = _join_lines(card.notes, "\n".join([*title_line, *role_line, *extra]))
        if card.photo is not None:
            card.not_kept.append("PHOTO (a customer has no picture here, only its people)")
        return customer, None, moved
    contact: dict[str, Any] = {
        "name": card.person,
        "emails": card.emails,
        "phones": card.phones,
        "title": card.title,
        "photo": card.photo,
    }
    role, notes = _role_and_notes(card.role, card.notes)
    if role:
        contact["decision_role"] = role
    elif card.role:
        moved.append("ROLE")  # not one of Touchpoint's decision roles
    if card.decision_role and not role:
        contact["decision_role"] = card.decision_role
    if card.preferred_channel:
        contact["preferred_channel"] = card.preferred_channel
    if card.do_not_contact:
        contact["do_not_contact"] = card.do_not_contact
    if card.org:
        if card.website and card.home_page:
            extra.pop()  # the home page is the person's, said below
            moved.pop()
        customer = {
            "name": card.org,
            "addresses": card.work_addresses,
            "website": card.website,
            "tags": card.tags,
        }
        for address in card.home_addresses:
            extra.append(f"Home address: {address_text(address)}")
            moved.append("ADR (home)")
        if card.home_page:
            extra.append(f"Home page: {card.home_page}")
            moved.append("URL (home)")
    else:
        customer = {
            "name": card.person,
            "kind": CustomerKind.INDIVIDUAL,
            "emails": card.emails,
            "phones": card.phones,
            "addresses": addresses,
            "website": website,
            "tags": card.tags,
        }
    contact["notes"] = _join_lines(notes, "\n".join(extra))
    return customer, contact, moved


_URN_UUID = re.compile(r"^urn:uuid:", re.IGNORECASE)


def _card_id(uid: str | None) -> str | None:
    """The record id a card's UID names: Touchpoint's export writes "<id>@touchpoint";
    a UID that is a UUID (Apple, "urn:uuid:...") is kept as the contact's id."""
    if not uid:
        return None
    text = _URN_UUID.sub("", uid.strip().removesuffix("@touchpoint"))
    return _canonical_id(text)


def _customers_by_id(session: Session, ids: Iterable[str]) -> dict[str, Customer]:
    out: dict[str, Customer] = {}
    for chunk in chunked(sorted(set(ids))):
        for record in session.scalars(select(Customer).where(Customer.id.in_(chunk))):
            out[record.id] = record
    return out


def _forced_customer(session: Session, ref: str) -> Customer:
    customer = find_customer(session, ref)
    if customer.deleted_at is not None or customer.merged_into_id:
        raise NotFoundError(f"customer '{customer.name}' was deleted or merged")
    return customer


# The collector waits from the first line read until the import has returned: then only
# its report is left to walk, not the cards and the plan too (see writing._run_import).
@collector_paused()
def import_vcard(
    ws: Workspace,
    path: Path,
    *,
    dry_run: bool = False,
    customer: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ImportReport:
    """Import the people of a vCard file (2.1, 3.0 or 4.0) as contacts: all or nothing.

    Each card's ORG is matched to a live customer of the same name (folded: case,
    accents, punctuation) or becomes a new customer (with the card's work address and
    URL); ``customer`` puts every card under that customer instead; a card without ORG
    becomes an individual customer, a card of an organisation (KIND:org) a customer
    without a person. A card whose UID names a contact here (as Touchpoint's export
    writes it), or whose email, phone, or name within the same company is a contact's
    here, updates that contact: importing a file again makes no duplicates.

    A card is imported even when a value fails its check: emails and phones are kept
    as written and marked unverified, other values and the properties Touchpoint has
    no field for are kept in the notes; the report names each, by card number and name.
    Row numbers in the report are the cards' positions, from 1."""
    cards, unreadable = _read_cards(Path(path))

    def plan(session: Session, cleaner: _Cleaner, sink: Sink | None) -> _Plan:
        forced = _forced_customer(session, customer) if customer else None
        # The cards are looked up a part at a time, just before that part is planned:
        # its planned cards are being written while the next part's numbers are checked.
        # Every lookup is by the card's own UID, names and numbers (and the customer
        # given), so each card finds what a lookup of the whole file would find.
        countries: list[str | None] = [None] * len(cards)
        card_keys: list[list[tuple[str, str]]] = [[] for _card in cards]
        uids: list[str | None] = [None] * len(cards)
        by_uid: dict[str, Contact] = {}
        known = _Known()
        owners: dict[str, Customer] = {}

        parts = _parts(len(cards), LOOKUP_ROWS)

        def look_up(start: int) -> None:
            end = start + parts[start]
            part = cards[start:end]
            countries[start:end] = [_card_country(card) for card in part]
            card_keys[start:end] = [
                _reach_keys(
                    [e["value"] for e in card.emails],
                    [p["value"] for p in card.phones],
                    country or cleaner.region,
                )
                for card, country in zip(part, countries[start:end], strict=True)
            ]
            uids[start:end] = [_card_id(card.uid) for card in part]
            found_uid = _records_by_id(session, Contact, [u for u in uids[start:end] if u])
            by_uid.update(found_uid)
            found = _known_records(
                session,
                [] if forced else [card.org for card in part if card.org],
                {k for keys in card_keys[start:end] for k in keys},
                also=[forced.id] if forced and start == 0 else (),
            )
            known.add(found)
            owners.update(
                _customers_by_id(
                    session,
                    [c.customer_id for c in [*found_uid.values(), *found.contacts.values()]],
                )
            )

        planned: list[_Planned] = []
        errors: list[RowError] = [
            RowError(number, "card", problem, name) for number, name, problem in unreadable
        ]
        out = _Plan(len(cards) + len(unreadable), planned, errors)
        seen: set[_CustomerKey] = set()
        # A company's cards (one per person) mostly carry the same company fields:
        # cleaned once, with their doubts (or problems), for every card that has them.
        cleaned: dict[str, tuple[dict[str, Any] | None, list[Doubt], ValidationErrors | None]]
        cleaned = {}
        kept_ids: set[str] = set()
        tagged: set[str] = set()
        for index, card in enumerate(cards):
            number = card.number
            if index in parts:
                look_up(index)
            if index % 500 == 0:
                _check_cancel(cancel)
                if progress:
                    progress(index, 2 * len(cards))
            notices: list[RowNotice] = []
            if not card.person and not card.org:
                reach = [*card.emails, *card.phones]
                if not reach:
                    errors.append(RowError(number, "name", "the card has no name (FN, N or ORG)"))
                    continue
                card.person = reach[0]["value"]
                notices.append(
                    RowNotice(
                        number,
                        card.person,
                        "name",
                        "the card has no name (FN, N or ORG)",
                        "named by its email" if card.emails else "named by its phone",
                    )
                )
            name = card.name
            raw_customer, raw_contact, moved = _card_records(card)
            keys = card_keys[index]
            doubts: list[Doubt] = []
            row_errors: list[RowError] = []
            updates: list[_Update] = []
            # The person: by UID, else by email, phone, or name within its company.
            contact_here: Contact | None = None
            uid_match = False
            if raw_contact is not None:
                found = by_uid.get(_ref_key(uids[index])) if uids[index] else None
                if found is not None and found.deleted_at is None and not found.merged_into_id:
                    contact_here, uid_match = found, True
                elif known:
                    company = forced or known.customer(card.org, () if card.org else keys)
                    contact_here = known.contact(
                        keys, company.id if company is not None else None, card.person or ""
                    )
            # The customer: the one given, the person's, or by name (email, phone).
            match: Customer | None = forced
            if match is None and contact_here is not None:
                match = owners.get(contact_here.customer_id)
                if match is not None:
                    match = _live_target(session, match)
            if match is None and not forced:
                match = known.customer(card.org, () if card.org else keys)
            # A person's phone without a country code: the card's country, else its company's.
            region = countries[index] or phone_region(match.addresses if match else None, "")
            clean_cust = None
            if match is not None:
                key = _CustomerKey("id", match.id)
                new_tags = [t for t in card.tags if t not in (match.tags or [])]
                if new_tags and not forced and match.id not in tagged:
                    try:
                        fields = cleaner.customer({"tags": card.tags}, new=False, doubts=doubts)
                        changed = _changes(match, fields)
                        if changed:
                            updates.append(_Update(number, match, changed))
                            tagged.add(match.id)
                    except ValidationErrors as exc:
                        row_errors += _problems(number, exc, "company", name=name)
            else:
                who = "company" if card.org else "contact name"
                # Only a company's: at most one card of the same fields creates it (they
                # share its key), so no two records are made of the one cleaned dict.
                same = repr(raw_customer) if card.org else None
                done = cleaned.get(same) if same is not None else None
                if done is None:
                    found: list[Doubt] = []
                    failed = None
                    try:
                        clean_cust = cleaner.customer(raw_customer, doubts=found)
                    except ValidationErrors as exc:
                        clean_cust, failed = None, exc
                    done = (clean_cust, found, failed)
                    if same is not None:
                        cleaned[same] = done
                clean_cust, found, failed = done
                doubts += found
                if failed is not None:
                    row_errors += _problems(number, failed, who, name=name)
                key = (
                    _CustomerKey("org", clean_cust["name"].casefold())
                    if card.org and clean_cust
                    else _CustomerKey("row", str(number))
                )
            clean_person = None
            contact_id = None
            if raw_contact is not None:
                try:
                    fields = cleaner.contact(raw_contact, region=region or None, doubts=doubts)
                    if contact_here is not None:
                        if not uid_match:
                            fields.pop("name", None)  # found by email or phone: its name stays
                        changed = _changes(contact_here, fields, reach=_union_reach, add_notes=True)
                        if changed:
                            updates.append(_Update(number, contact_here, changed))
                    else:
                        clean_person = fields
                        if card.created is not None:
                            clean_person["created_at"] = card.created
                        wanted = uids[index]
                        if wanted and wanted not in kept_ids and _ref_key(wanted) not in by_uid:
                            contact_id = wanted
                            kept_ids.add(wanted)
                except ValidationErrors as exc:
                    row_errors += _problems(number, exc, "contact name", name=name)
            errors.extend(dict.fromkeys(row_errors))
            if row_errors:
                continue
            notices += _notices(number, name, doubts)
            if moved:
                notices.append(
                    RowNotice(
                        number,
                        name,
                        ", ".join(dict.fromkeys(moved)),
                        "Touchpoint has no field for it",
                        "notes",
                    )
                )
            for item in card.not_kept:
                prop, _sep, why = item.partition(" (")
                notices.append(RowNotice(number, name, prop, why.rstrip(")"), "not kept"))
            out.notices += list(dict.fromkeys(notices))
            out.updates += updates
            creates = match is None and key not in seen
            seen.add(key)
            changed = tuple(dict.fromkeys(f for u in updates for f in u.fields))
            if clean_person is None and not creates:
                if not updates:
                    out.unchanged += 1
                    out.row_changes.append(RowChange(number, name, "unchanged"))
                else:
                    out.row_changes.append(RowChange(number, name, "update", changed))
                continue
            given = [*((clean_cust or {}) if creates else {}), *(clean_person or {})]
            out.row_changes.append(
                RowChange(number, name, "create", tuple(dict.fromkeys([*given, *changed])))
            )
            made = clean_cust if creates else None
            item = _Planned(number, made, key, clean_person, contact_id=contact_id)
            planned.append(item)
            if sink is not None:
                sink(item)
        return out

    return _run_import(ws, plan, dry_run=dry_run, progress=progress, cancel=cancel)
