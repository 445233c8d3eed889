"""Finding the records here that a file's rows name: by id, email, phone or name, in batches."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain import values as v
from touchpoint.errors import ValidationError
from touchpoint.services.importing.mapping import _base
from touchpoint.services.lookup import live
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, IdentityKey
from touchpoint.storage.queries.customers import live_by_name_key


def _canonical_id(ref: str | None) -> str | None:
    """A file's id as Touchpoint writes ids (a lower-case UUID), or None when it is none."""
    if not ref or not ref.strip():
        return None
    try:
        return str(uuid.UUID(ref.strip()))
    except ValueError:
        return None


def _ref_key(ref: str) -> str:
    """How a file's id is compared: a UUID (ours) in any case as the same id; any other
    as written, since another program's ids may differ by case alone (Salesforce's
    15-character ids do)."""
    return _canonical_id(ref) or ref.strip()


def _records_by_id(session: Session, model: type[Any], refs: Iterable[str]) -> dict[str, Any]:
    """The records (live, deleted or merged) whose ids the file names, by
    :func:`_ref_key`."""
    wanted = sorted({_ref_key(r) for r in refs if r and r.strip()})
    found: dict[str, Any] = {}
    for chunk in chunked(wanted):
        for record in session.scalars(select(model).where(model.id.in_(chunk))):
            found[_ref_key(record.id)] = record
    return found


def _merge_reach(existing: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list:
    """A file row carries the first email (or phone, mobile) of a record: a value it
    does not have yet replaces that first one of the same kind; the others stay."""
    out = [dict(item) for item in existing]
    for item in new:
        value = str(item["value"]).casefold()
        if any(str(x.get("value")).casefold() == value for x in out):
            continue
        mobile = item.get("label") == "mobile"
        for x in out:
            if (x.get("label") == "mobile") == mobile:
                x["value"] = item["value"]
                break
        else:
            out.append(dict(item))
    return out


def _merge_address(existing: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list:
    """The row's address edits the record's first address; blank cells leave its parts."""
    out = [dict(item) for item in existing]
    if not new:
        return out
    if not out:
        return [dict(new[0])]
    for key in ("street", "city", "postcode", "region", "country"):
        if new[0].get(key):
            out[0][key] = new[0][key]
    return out


Reach = Callable[[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]], list]


def _changes(
    record: Customer | Contact,
    clean: Mapping[str, Any],
    reach: Reach | Mapping[str, Reach] | None = None,
    add_notes: bool = False,
) -> dict[str, Any]:
    """The fields of ``clean`` that differ from ``record``'s: what an update sets.
    ``reach`` merges emails and phones (by default: a row's first one edits the first),
    or says how for each ({"emails": ..., "phones": ...})."""
    out: dict[str, Any] = {}
    for name, given in clean.items():
        current = getattr(record, name)
        value = given
        if name == "notes" and add_notes and current and given:
            # What was written here since is kept: the file's notes are added, once.
            value = current if given.strip() in current else f"{current}\n\n{given}"
        elif name in ("emails", "phones"):
            merge = reach.get(name) if isinstance(reach, Mapping) else reach
            value = (merge or _merge_reach)(current or [], given or [])
        elif name == "tags":
            value = list(dict.fromkeys([*(current or []), *(given or [])]))
        elif name == "addresses":
            value = _merge_address(current or [], given or [])
        elif name == "custom":
            value = {**(current or {}), **(given or {})}
        if value != current and not (value in ([], {}, None) and current in ([], {}, None)):
            out[name] = value
    return out


def _whole_reach(existing: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list:
    """A row that gives a record's whole list (Emails, Phones): that list, as given."""
    return [dict(item) for item in new] if new else [dict(item) for item in existing]


def _union_reach(existing: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list:
    """A card carries all of a person's emails (or phones): those the record does not
    have yet are added after its own, which keep their order and labels."""
    out = [dict(item) for item in existing]
    have = {str(x.get("value")).casefold() for x in out}
    for item in new:
        if str(item["value"]).casefold() not in have:
            have.add(str(item["value"]).casefold())
            out.append(dict(item))
    return out


@dataclass
class _Known:
    """The records here that the rows of a file without ids may be: found by their
    emails and phones (identity keys) and their names, in a few batched queries."""

    customers: dict[tuple[str, str], Customer] = field(default_factory=dict)
    contacts: dict[tuple[str, str], Contact] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.customers or self.contacts)

    def add(self, other: _Known) -> None:
        """Take what a lookup of more rows found. A key names the same record in every
        lookup that has it (its holders are all found with it, the first by id), so
        rows looked up a part at a time match as if the file were looked up at once."""
        for key, customer in other.customers.items():
            self.customers.setdefault(key, customer)
        for key, contact in other.contacts.items():
            self.contacts.setdefault(key, contact)

    def customer(self, company: str | None, keys: Iterable[tuple[str, str]]) -> Customer | None:
        """A company by its name, else (a person who is the customer) by email or phone."""
        if company:
            return self.customers.get(("name", v.name_key(company)))
        for key in keys:
            found = self.customers.get(key)
            if found is not None:
                return found
        return None

    def contact(
        self, keys: Iterable[tuple[str, str]], customer_id: str | None, person: str
    ) -> Contact | None:
        """A person by email, else phone, else by name within the same customer."""
        ordered = sorted(keys, key=lambda k: k[0] != "email")
        for key in ordered:
            found = self.contacts.get(key)
            if found is not None:
                return found
        if customer_id:
            return self.contacts.get(("name", f"{customer_id}:{v.name_key(person)}"))
        return None


def _reach_keys(emails: Iterable[str], phones: Iterable[str], region: str) -> list[tuple[str, str]]:
    """The identity keys of a row's emails and phones; one that fails its check is kept
    as written (marked unverified), and keyed so, so it is found again too."""
    keys: list[tuple[str, str]] = []
    for raw in emails:
        try:
            email = v.email("email", raw)
        except ValidationError:
            email = v.clean_text(raw)
        if email:
            keys.append(("email", v.normalised_email_key(email)))
    for raw in phones:
        try:
            phone = v.phone("phone", raw, region)
        except ValidationError:
            phone = v.clean_text(raw)
        if phone:
            keys.append(("phone", phone))
    return keys


def _known_records(
    session: Session,
    names: Iterable[str],
    keys: Iterable[tuple[str, str]],
    also: Iterable[str] = (),
) -> _Known:
    """The live customers named like ``names`` (folded) and the live customers and
    contacts holding ``keys``, with the contacts of those customers and of the
    customers ``also`` names (for a person's name within a company). A handful of
    batched queries, never one per row."""
    known = _Known()
    wanted_names = {v.name_key(n) for n in names if n and n.strip()}
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, value in keys:
        by_kind[kind].add(value)
    ids: dict[str, dict[str, list[tuple[str, str]]]] = {"customer": {}, "contact": {}}
    for kind, values in by_kind.items():
        for chunk in chunked(sorted(values)):
            rows = session.execute(
                select(IdentityKey.entity, IdentityKey.value, IdentityKey.record_id).where(
                    IdentityKey.kind == kind, IdentityKey.value.in_(chunk)
                )
            )
            for entity, value, record_id in rows:
                if entity in ids:
                    ids[entity].setdefault(record_id, []).append((kind, value))
    # A name is the first live customer of that folded name to be created (stable: of
    # those created at once, the first in the name index's order).
    named: dict[str, str] = {}
    for found in sorted(live_by_name_key(session, wanted_names), key=attrgetter("created_at")):
        named.setdefault(found.key, found.id)
    customer_ids = sorted(set(ids["customer"]) | set(named.values()) | set(also))
    customers: dict[str, Customer] = {}
    for chunk in chunked(customer_ids):
        query = select(Customer).where(Customer.id.in_(chunk), live(Customer))
        for record in session.scalars(query):
            customers[record.id] = record
    for key, record_id in named.items():
        if record_id in customers:
            known.customers[("name", key)] = customers[record_id]
    # A key that several records hold names the first of them by id: whatever else the
    # rows looked up with it hold (see _Known.add).
    for record_id in sorted(ids["customer"]):
        if record_id in customers:
            for key in ids["customer"][record_id]:
                known.customers.setdefault(key, customers[record_id])
    contact_ids = sorted(ids["contact"])
    contacts: dict[str, Contact] = {}
    for chunk in chunked(contact_ids):
        for record in session.scalars(select(Contact).where(Contact.id.in_(chunk), live(Contact))):
            contacts[record.id] = record
    for record_id in contact_ids:
        if record_id in contacts:
            for key in ids["contact"][record_id]:
                known.contacts.setdefault(key, contacts[record_id])
    # The people of those customers, by name: their names first, then the records not
    # read above (a file read again names them all by email: none is read twice).
    people: list[tuple[str, str, str]] = []
    for chunk in chunked(sorted(customers)):
        query = select(Contact.id, Contact.customer_id, Contact.name).where(
            Contact.customer_id.in_(chunk), live(Contact)
        )
        people += [(r[0], r[1], r[2]) for r in session.execute(query)]
    unread = sorted({record_id for record_id, _c, _n in people if record_id not in contacts})
    for chunk in chunked(unread):
        for record in session.scalars(select(Contact).where(Contact.id.in_(chunk))):
            contacts[record.id] = record
    for record_id, customer_id, name in people:
        if record_id in contacts:
            name_key = ("name", f"{customer_id}:{v.name_key(name)}")
            known.contacts.setdefault(name_key, contacts[record_id])
    return known


def _live_target(session: Session, record: Customer) -> Customer:
    """A merged customer's survivor."""
    seen = 0
    while record.merged_into_id and seen < 20:
        survivor = session.get(Customer, record.merged_into_id)
        if survivor is None:
            break
        record, seen = survivor, seen + 1
    return record


def _region_of(country: str | None, default: str) -> str:
    try:
        return v.country_from_file("country", country) or default
    except ValidationError:
        return default


def _lookup_values(
    records: Sequence[tuple[int, list[str]]], columns: Sequence[tuple[int, str]], region: str
) -> tuple[set[str], list[list[tuple[str, str]]]]:
    """The company names of the rows, and each row's email keys (its phone keys when
    it has no email): what rows without ids are matched by (see :func:`_known_records`)."""
    by_target: dict[str, list[int]] = defaultdict(list)
    for index, target in columns:
        by_target[_base(target)].append(index)
    names: set[str] = set()
    keys: list[list[tuple[str, str]]] = []
    company_at, email_at = by_target.get("customer", ()), by_target.get("email", ())
    country_at = by_target.get("country", ())
    phone_at = by_target.get("phone", []) + by_target.get("mobile", [])
    for _number, record in records:
        size = len(record)
        company = [record[i] for i in company_at if i < size and record[i].strip()]
        if company:
            names.add(company[0])
        emails = _reach_keys(
            [record[i] for i in email_at if i < size and record[i].strip()], (), region
        )
        if emails:  # reading a phone costs ~0.1 ms: a row found by its email needs none
            keys.append(emails)
            continue
        country = [record[i] for i in country_at if i < size and record[i].strip()]
        region_here = _region_of(country[0] if country else None, region)
        phones = [record[i] for i in phone_at if i < size and record[i].strip()]
        keys.append(_reach_keys((), phones, region_here))
    return names, keys
