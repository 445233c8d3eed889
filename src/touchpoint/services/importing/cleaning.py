"""Turning a row's cells into cleaned customer and contact fields, keeping doubtful values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from touchpoint.domain import values as v
from touchpoint.domain.enums import DecisionRole
from touchpoint.errors import ValidationError, ValidationErrors
from touchpoint.services.importing.matching import _merge_reach
from touchpoint.services.importing.reports import ColumnUse, RowChange, RowError, RowNotice
from touchpoint.services.validation import (
    Doubt,
    clean_contact,
    clean_customer,
)
from touchpoint.services.vcards import address_text
from touchpoint.storage.models import Contact, Customer
from touchpoint.storage.workspace import Workspace


class _CustomerKey(NamedTuple):
    """The customer a planned row belongs to: kind "ref" (the file's Customer ID), "id" (a
    record here), "org" (a company's folded name, shared by the rows naming it) or "row"
    (the row's own: an individual, or a company whose name did not clean)."""

    kind: str
    value: str


@dataclass
class _Planned:
    """One valid row: the customer it creates (or the earlier row's), and its contact."""

    row: int
    customer: dict[str, Any] | None  # cleaned fields when this row creates the customer
    customer_key: _CustomerKey  # groups rows of the same company
    contact: dict[str, Any] | None
    customer_id: str | None = None  # the id the new customer keeps (from the file)
    contact_id: str | None = None  # the id the new contact keeps (from the file)


@dataclass
class _Update:
    """A row naming a record that exists here by its id: what it changes."""

    row: int
    record: Customer | Contact
    fields: dict[str, Any]


@dataclass
class _Plan:
    rows: int
    planned: list[_Planned]
    errors: list[RowError]
    updates: list[_Update] = field(default_factory=list)
    joined: int = 0
    unchanged: int = 0
    notices: list[RowNotice] = field(default_factory=list)
    columns: list[ColumnUse] = field(default_factory=list)
    # custom fields the file's own headers define: key -> (label, type, choices)
    declared: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    layout: str | None = None  # the program whose export the file is, when recognised
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_from: str | None = None
    unmatched: str = "notes"
    row_changes: list[RowChange] = field(default_factory=list)


def _join(*parts: str | None) -> str | None:
    text = " ".join([p.strip() for p in parts if p and p.strip()])
    return text or None


def _split_tags(values: Iterable[str], dropped: frozenset[str] = frozenset()) -> list[str]:
    """Tags from cells of tags separated by , ; or ::: (Google); ``dropped``: the other
    program's bookkeeping (Google's "* myContacts"), left out."""
    out: list[str] = []
    for value in values:
        for part in re.split(r",|;|:::", value):
            if part.strip() in dropped:
                continue
            tag = part.strip().lstrip("*").strip()
            if tag:
                out.append(tag)
    return out


def _reach_list(text: str | None) -> list[dict[str, str]]:
    """The "label: value" lines of an Emails or Phones column (see
    exporting.reach_lines); a cell of bare values takes them separated by , ; or lines."""
    out: list[dict[str, str]] = []
    for line in (text or "").splitlines():
        label, sep, value = line.partition(": ")
        if not sep:
            out += [{"label": "work", "value": x.strip()} for x in re.split(r"[,;]", line)]
        else:
            out.append({"label": label.strip() or "work", "value": value.strip()})
    return [item for item in out if item["value"]]


def _address_list(text: str | None) -> list[dict[str, Any]]:
    """The "label: street | postcode | city | region | country" lines of an Addresses
    column (see exporting.address_lines)."""
    out: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        label, sep, rest = line.partition(": ")
        if not sep:
            label, rest = "office", line
        parts = [p.strip() or None for p in rest.split("|")]
        parts += [None] * (5 - len(parts))
        if len(parts) > 5:  # a street with "|" in it
            parts = [" | ".join(p or "" for p in parts[:-4]), *parts[-4:]]
        address = dict(zip(("street", "postcode", "city", "region", "country"), parts, strict=True))
        if any(address.values()):
            out.append({"label": label.strip() or "office", **address})
    return out


_MOMENT_FORMATS = (
    "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%d.%m.%Y %H:%M",
    "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%b %d, %Y %I:%M %p",
    "%b %d, %Y",
)  # fmt: skip


def parse_moment(field_name: str, raw: str, tz: Any) -> datetime:
    """A time as files write it: ISO 8601 (with or without its offset), or a date and
    time as US and European spreadsheets do; without an offset it is the user's time."""
    text = raw.strip()
    try:
        found = datetime.fromisoformat(text.replace(" UTC", "Z"))
    except ValueError:
        for pattern in _MOMENT_FORMATS:
            try:
                found = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValidationError(field_name, f"'{text}' is not a date and time") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=tz)
    return found.astimezone(UTC)


def _problems(
    row: int,
    exc: ValidationErrors,
    who: str,
    columns: Mapping[str, str] | None = None,
    name: str | None = None,
) -> list[RowError]:
    """Each problem of a row; a custom field's is named by its column (``columns``:
    custom key -> header). ``name``: the person or company the row names."""
    return [
        RowError(row, _field_name(error.field, who, columns), error.problem, name)
        for error in exc.errors
    ]


def _field_name(name: str, who: str, columns: Mapping[str, str] | None) -> str:
    if name == "name":
        return who
    if columns and name.startswith("custom field '"):
        return columns.get(name[len("custom field '") : -1], name)
    return name


def _as_written(patch: Mapping[str, Any], key: str) -> str | None:
    """A field's value as the file had it, as text for the notes."""
    if key.startswith("custom."):
        value = (patch.get("custom") or {}).get(key.removeprefix("custom."))
    elif key == "addresses":
        value = "; ".join(address_text(a) for a in patch.get("addresses") or [])
    else:
        value = patch.get(key)
    if isinstance(value, list | tuple):
        value = ", ".join(str(x) for x in value if x)
    text = str(value).strip() if value is not None else ""
    return text or None


def _label_of(error: ValidationError, key: str) -> str:
    label = key.removeprefix("custom.") if key.startswith("custom.") else error.field
    return label[:1].upper() + label[1:]


def _keep_doubts(
    clean: dict[str, Any], patch: Mapping[str, Any], doubts: Sequence[Doubt]
) -> dict[str, Any]:
    """The values left out for failing their check, kept in ``clean``'s notes."""
    lines = []
    for doubt in doubts:
        if doubt.kept != "moved":
            continue
        text = _as_written(patch, doubt.key)
        if text:
            lines.append(f"{_label_of(doubt.error, doubt.key)}: {text}")
    if lines:
        clean["notes"] = _join_lines(clean.get("notes"), "\n".join(dict.fromkeys(lines)))
    return clean


def _notices(
    row: int,
    name: str | None,
    doubts: Sequence[Doubt],
    columns: Mapping[str, str] | None = None,
) -> list[RowNotice]:
    if not doubts:
        return []
    out = []
    for doubt in doubts:
        field_name = _field_name(doubt.error.field, "name", columns)
        if doubt.key.startswith("custom.") and columns:
            field_name = columns.get(doubt.key.removeprefix("custom."), field_name)
        kept = {"flagged": "unverified", "cut": "cut"}.get(doubt.kept, "notes")
        # The hint on a phone without its country code is said once, not on each row.
        problem = doubt.error.problem.split(": add the country code")[0]
        if problem != doubt.error.problem:
            problem += " (no country code)"
        out.append(RowNotice(row, name, field_name, problem, kept))
    return out if len(out) == 1 else list(dict.fromkeys(out))


class _Cleaner:
    """Cleans rows into customer/contact patches, by the workspace's rules."""

    def __init__(self, ws: Workspace, custom_defs: Mapping[str, tuple[str, list[str]]]) -> None:
        self.region = ws.settings.default_region
        self.owner = ws.author
        self.currency = ws.settings.currency
        self.custom_defs = custom_defs
        self.tz = ws.tz

    def customer(
        self,
        raw: dict[str, Any],
        *,
        new: bool = True,
        region: str | None = None,
        doubts: list[Doubt] | None = None,
    ) -> dict[str, Any]:
        """A new customer's fields (with the defaults), or (``new=False``) only the
        fields the row gives, to change a customer that exists (``region``: its country).
        Phone numbers are read in the row's country, else ``region`` or the default.

        A file's values are kept as :func:`clean_customer` keeps them with ``doubts``:
        only a missing name refuses the row; a country that is not one goes to the
        notes too."""
        patch = {k: val for k, val in raw.items() if val is not None}
        if new:
            patch["name"] = raw.get("name")
            patch.setdefault("owner", self.owner)
            patch.setdefault("currency", self.currency)
        problems: list[ValidationError] = []
        addresses = []
        countries: list[str] = []
        for address in patch.get("addresses") or []:
            # Other programs write "Germany" or "USA": read as the country's code.
            try:
                country = v.country_from_file("country", address.get("country"))
            except ValidationError as exc:
                if doubts is None:
                    problems.append(exc)
                else:
                    doubts.append(Doubt("country", exc, "moved"))
                    countries.append(str(address.get("country")))
                country = None
            addresses.append({**address, "country": country})
        if addresses:
            patch["addresses"] = addresses
        _cut_notes(patch, doubts)
        start = len(doubts) if doubts is not None else 0
        try:
            clean = clean_customer(
                patch, region=region or self.region, custom_defs=self.custom_defs, doubts=doubts
            )
        except ValidationErrors as exc:
            raise ValidationErrors(problems + exc.errors) from None
        if problems:
            raise ValidationErrors(problems)
        if doubts is not None:
            if len(doubts) > start:
                _keep_doubts(clean, patch, doubts[start:])
            if new:  # a default stands in for a value kept in the notes
                clean.setdefault("owner", self.owner)
                clean.setdefault("currency", self.currency)
            if countries:
                lines = "\n".join(f"Country: {c}" for c in dict.fromkeys(countries))
                clean["notes"] = _join_lines(clean.get("notes"), lines)
        return clean

    def contact(
        self, raw: dict[str, Any], *, region: str | None = None, doubts: list[Doubt] | None = None
    ) -> dict[str, Any]:
        """``region``: the customer's country, for phone numbers without a country code."""
        patch = {k: val for k, val in raw.items() if val is not None}
        patch["name"] = raw.get("name")
        _cut_notes(patch, doubts)
        start = len(doubts) if doubts is not None else 0
        clean = clean_contact(patch, region=region or self.region, doubts=doubts)
        if doubts is not None and len(doubts) > start:
            _keep_doubts(clean, patch, doubts[start:])
        return clean


# Cut a little short of the limit: normalising the text (as the check does) may lengthen
# it by a few bytes at most.
_NOTES_KEPT = v.MAX_NOTES_BYTES - 1024


def _cut_notes(patch: dict[str, Any], doubts: list[Doubt] | None) -> None:
    """Notes over the 1 MB a record holds are cut to it, with a notice: a file from
    elsewhere keeps its person or company (typing stays strict and refuses them)."""
    notes = patch.get("notes")
    if doubts is None or type(notes) is not str or len(notes) * 4 <= v.MAX_NOTES_BYTES:
        return
    data = notes.encode("utf-8", "replace")
    if len(data) <= v.MAX_NOTES_BYTES:
        return
    patch["notes"] = data[:_NOTES_KEPT].decode("utf-8", "ignore")
    doubts.append(Doubt("notes", ValidationError("notes", "is larger than 1 MB"), "cut"))


def _role_and_notes(role: str | None, notes: str | None) -> tuple[str | None, str | None]:
    """A role that is one of Touchpoint's decision roles is kept as such, others go to notes."""
    if not role or not role.strip():
        return None, notes
    try:
        if v.choice("decision role", role, DecisionRole):
            return role, notes
    except ValidationError:
        pass
    return None, _join_lines(notes, f"Role: {role.strip()}")


def _join_lines(*parts: str | None) -> str | None:
    text = "\n\n".join([p.strip() for p in parts if p and p.strip()])
    return text or None


# A row's customer fields, each from its one cell, and its address's parts (in order).
_CUSTOMER_CELLS = ("industry", "segment", "owner", "territory", "website", "status", "kind",
                   "yearly_potential", "currency")  # fmt: skip
_ADDRESS_CELLS = ("street", "city", "postcode", "region", "country")


def _first_given(cells: list[str] | None) -> str | None:
    """The first cell that is not blank (as written), or None. A row asks this of a
    handful of columns it mostly does not have: a call, not a generator, each."""
    if cells:
        for cell in cells:
            if cell.strip():
                return cell
    return None


def _one(cells: Mapping[str, list[str]], name: str) -> str | None:
    """The first cell of ``name`` that is not blank (as written), or None."""
    return _first_given(cells.get(name))


def _many(cells: Mapping[str, list[str]], name: str) -> list[str]:
    return [x for x in cells.get(name, ()) if x.strip()]


def _labelled(
    cells: Mapping[str, list[str]], labels: Mapping[str, list[str | None]], name: str
) -> list[dict[str, str]]:
    """The cells of ``name`` that are not blank, with their labels (None: work)."""
    values = cells.get(name)
    if not values:
        return []
    found = labels.get(name) or [None] * len(values)
    return [
        {"label": label or "work", "value": value}
        for value, label in zip(values, found, strict=False)
        if value.strip()
    ]


def _split_row(
    cells: dict[str, list[str]],
    custom: dict[str, str],
    labels: Mapping[str, list[str | None]] | None = None,
    dropped_tags: frozenset[str] = frozenset(),
) -> tuple[str | None, str | None, dict[str, Any], dict[str, Any]]:
    """(company, person, raw customer fields, raw contact fields) of one CSV row.
    ``labels``: the label of each email and phone cell (None: work)."""
    labels = labels or {}
    # Most of the fields asked for below are no column of the file: those are skipped
    # without a call (a row asks for some thirty).
    given = cells.keys()
    company = _one(cells, "customer") if "customer" in given else None
    person = _one(cells, "contact") if "contact" in given else None
    if not person:
        person = _join(
            *[_one(cells, n) for n in ("first_name", "middle_name", "last_name") if n in given]
        )
    customer: dict[str, Any] = {}
    for name in _CUSTOMER_CELLS:
        if name in given:
            value = _one(cells, name)
            if value is not None:
                customer[name] = value
    if "tags" in given:
        tags = _split_tags(_many(cells, "tags"), dropped_tags)
        if tags:
            customer["tags"] = tags
    address = {k: _one(cells, k) if k in given else None for k in _ADDRESS_CELLS}
    addresses = _address_list(_one(cells, "address_list")) if "address_list" in given else []
    if addresses:  # every address, with its label: the single columns edit the first
        if any(k in cells for k in address):
            addresses[0] = {**addresses[0], **address}
        customer["addresses"] = addresses
    elif any(address.values()):
        customer["addresses"] = [{"label": "office", **address}]
    if custom:
        customer["custom"] = custom
    reach: dict[str, Any] = {}
    emails = _labelled(cells, labels, "email")
    # Phones in the order of their columns (a mobile column is a phone labelled so).
    phones = _labelled(cells, labels, "phone")
    # The full lists keep labels and order; a single column's value that is not in
    # them (edited by hand) replaces the first of its kind, as it was that one.
    if "email_list" in given:
        email_list = _reach_list(_one(cells, "email_list"))
        if email_list:
            emails = _merge_reach(email_list, emails)
    if "phone_list" in given:
        phone_list = _reach_list(_one(cells, "phone_list"))
        if phone_list:
            phones = _merge_reach(phone_list, phones)
    if emails:
        reach["emails"] = emails
    if phones:
        reach["phones"] = phones
    # The columns that are no field come after the notes, one line each.
    written = _many(cells, "notes") if "notes" in given else []
    extra = _many(cells, "extra") if "extra" in given else []
    # A person's fields, each None when the file has no column for it.
    title, role, opt_out, channel = [
        _one(cells, n) if n in given else None
        for n in ("title", "decision_role", "do_not_contact", "preferred_channel")
    ]
    contact: dict[str, Any] = {}
    if person:
        notes = _join_lines(*written, "\n".join(extra))
        role, notes = _role_and_notes(role, notes)
        contact.update(reach)
        if title:
            contact["title"] = title
        if role:
            contact["decision_role"] = role
        if opt_out:
            contact["do_not_contact"] = opt_out
        if channel:
            contact["preferred_channel"] = channel
        if notes:
            contact["notes"] = notes
        if not company:
            customer.update(reach)  # an individual is reached as the person is
    else:
        customer.update(reach)
        # A person's fields on a row that names no person are kept in the company's notes.
        kept = [
            f"{label}: {value}"
            for label, value in (
                ("Job title", title),
                ("Decision role", role),
                ("Do not contact", opt_out),
                ("Preferred channel", channel),
            )
            if value
        ]
        notes = _join_lines(*written, "\n".join([*kept, *extra]))
        if notes:
            customer["notes"] = notes
    return company, person, customer, contact
