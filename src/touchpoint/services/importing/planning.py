"""Planning a CSV import: each row's records to create or update, and its problems."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain.enums import CustomerKind
from touchpoint.errors import Cancelled, ValidationError, ValidationErrors
from touchpoint.services.import_layouts import Layout, label_text
from touchpoint.services.importing.cleaning import (
    _Cleaner,
    _CustomerKey,
    _first_given,
    _notices,
    _Plan,
    _Planned,
    _problems,
    _split_row,
    _Update,
    parse_moment,
)
from touchpoint.services.importing.decoding import _Table
from touchpoint.services.importing.mapping import _YES
from touchpoint.services.importing.matching import (
    _canonical_id,
    _changes,
    _Known,
    _known_records,
    _live_target,
    _lookup_values,
    _merge_reach,
    _records_by_id,
    _ref_key,
    _whole_reach,
)
from touchpoint.services.importing.reports import RowChange, RowError
from touchpoint.services.lookup import live
from touchpoint.services.validation import (
    Doubt,
    phone_region,
)
from touchpoint.storage.models import Contact, Customer

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

# Rows of a file looked up at a time: the first part small, so writing starts early;
# each next one twice as long, up to LOOKUP_MAX: fewer lookups, each a few queries whose
# answers wait for Python's lock while the writing threads hold it.
LOOKUP_ROWS = 250
LOOKUP_MAX = 2000


# The shortcuts a file's planning takes where its columns allow (see where QUICK is
# read); False plans every row the plain way, which the shortcuts' parity tests compare.
QUICK = True


def _parts(total: int, first: int) -> dict[int, int]:
    """Where each part of ``total`` rows looked up at a time starts: its length."""
    out: dict[int, int] = {}
    start, size = 0, max(1, first)
    while start < total:
        out[start] = min(size, total - start)
        start += size
        size = min(2 * size, max(LOOKUP_MAX, first))
    return out


def _plan_rows(
    session: Session,
    table: _Table,
    *,
    targets: list[str | None],
    cleaner: _Cleaner,
    progress: Progress | None,
    cancel: Cancel | None,
    sink: Sink | None = None,
    to_notes: Sequence[tuple[int, str]] = (),
    layout: Layout | None = None,
    yes_no: frozenset[str] = frozenset(),
) -> _Plan:
    """Clean every row: the rows to write, the records to change and the problems.

    A row with a Customer ID names its customer: one that exists here is updated, an
    unknown one is created (keeping the id when it is a UUID), and rows with the same id
    are one customer. Without an id, rows naming the same company are one customer, and
    a row is matched with what is here already: its company by name, its person by
    email, phone, or name within that company (an individual customer by email or
    phone); what matches is updated, not made again. ``to_notes``: (index, header) of
    the columns that are no field, whose values go to the row's notes."""
    columns = [(i, t) for i, t in enumerate(targets) if t]
    separator = layout.separator if layout else None
    placeholders: frozenset[str] = layout.placeholders if layout else frozenset()
    stamp_headers = {t: table.headers[i] for i, t in columns if t in ("created", "confirmed")}
    custom_columns = {
        t.removeprefix("custom."): table.headers[i] for i, t in columns if t.startswith("custom.")
    }
    id_column = {t: i for i, t in columns if t in ("customer_id", "contact_id")}
    refs: dict[str, list[str]] = {"customer_id": [], "contact_id": []}
    for target, index in id_column.items():
        refs[target] = [r[index] for _n, r in table.records if index < len(r)]
    customers_here = _records_by_id(session, Customer, refs["customer_id"])
    contacts_here = _records_by_id(session, Contact, refs["contact_id"])
    # Rows without ids are matched with the records here (none in an empty database),
    # looked up a part of the file at a time, just before that part is planned: its
    # planned rows are being written while the next part's numbers are checked. A file
    # with ids is looked up whole: a row naming its customer by id finds that customer's
    # people by name when any row of the file names the customer.
    known, row_keys = _Known(), [[] for _record in table.records]
    parts: dict[int, int] = {}
    if session.scalar(select(Customer.id).where(live(Customer)).limit(1)) is not None:
        total = len(table.records)
        parts = {0: total} if id_column else _parts(total, LOOKUP_ROWS)

    def look_up(start: int, part: int) -> None:
        records = table.records[start : start + part]
        names, keys = _lookup_values(records, columns, cleaner.region)
        row_keys[start : start + len(keys)] = keys
        known.add(_known_records(session, names, {k for found in keys for k in found}))

    # What each column's cells are, worked out once for the file rather than on each row:
    # (index, kind, name, label, index of the column the row's label is in).
    readers: list[tuple[int, str, str, str, int | None]] = []
    for index, target in columns:
        if target.startswith("custom."):
            readers.append((index, "custom", target.removeprefix("custom."), "", None))
            continue
        name, _sep, label = target.partition(":")
        if name == "mobile":  # a phone labelled mobile, in its column's place
            name, label = "phone", label or "mobile"
        if name in ("email", "phone"):
            at = int(label[1:]) if label.startswith("@") else None
            readers.append((index, "reach", name, label, at))
        else:
            readers.append((index, "field", name, label, None))
    blank = placeholders | {""}
    # A plain field's cell is taken as it is when the file has no placeholders and the
    # row has all the columns: no check per cell. Its cells go to lists of their own
    # (an email or phone to "email" or "phone", a custom field to ``custom``), so the
    # plain fields may be read before the others.
    quick = QUICK and not placeholders
    plain = [(index, name) for index, kind, name, _label, _at in readers if kind == "field"]
    others = [reader for reader in readers if reader[1] != "field"]
    width = max((reader[0] for reader in readers), default=-1) + 1

    plan = _Plan(len(table.records), [], [])
    # A time as written -> as read (in the user's zone): a file's dates repeat.
    moments: dict[str, datetime] = {}
    seen_customers: set[_CustomerKey] = set()
    seen_contacts: dict[str, int] = {}
    total = len(table.records)
    for count, (number, record) in enumerate(table.records, start=1):
        if count - 1 in parts:
            look_up(count - 1, parts[count - 1])
        if count % 500 == 0:
            _check_cancel(cancel)
            if progress:
                progress(count, 2 * total)
        cells: dict[str, list[str]] = defaultdict(list)
        labels: dict[str, list[str | None]] = defaultdict(list)
        custom: dict[str, str] = {}
        size = len(record)
        rest = readers
        if quick and size >= width:
            for index, name in plain:
                cells[name].append(record[index])
            rest = others
        for index, kind, name, label, at in rest:
            if index >= size:
                continue
            cell = record[index]
            if placeholders and cell.strip() in placeholders:
                continue
            if kind == "custom":
                if cell.strip() and name in yes_no:  # a yes/no field made from the column
                    cell = "yes" if cell.strip().casefold() in _YES else "no"
                if cell.strip():
                    custom[name] = cell
            elif kind == "reach":
                tag = label
                if at is not None:  # read from the row's label column
                    tag = label_text(record[at]) or "" if at < size else ""
                values = cell.split(separator) if separator else [cell]
                found, named = cells[name], labels[name]
                for value in values:
                    found.append(value.strip())
                    named.append(tag or None)
            else:
                cells[name].append(cell)
        for index, header in to_notes:
            if index < size and record[index].strip() not in blank:
                cells["extra"].append(f"{header}: {record[index].strip()}")
        customer_ref = _first_given(cells.pop("customer_id", None))
        contact_ref = _first_given(cells.pop("contact_id", None))
        # Times are kept on the records the row creates; one that cannot be read goes
        # to the notes as written.
        stamps: dict[str, datetime] = {}
        stamp_doubts: list[Doubt] = []
        for target in ("created", "confirmed"):
            raw = _first_given(cells.pop(target, None))
            if raw is None:
                continue
            moment = moments.get(raw) if quick else None
            if moment is not None:
                stamps[target] = moment
                continue
            try:
                stamps[target] = moments[raw] = parse_moment(stamp_headers[target], raw, cleaner.tz)
            except ValidationError as exc:
                cells["extra"].append(f"{stamp_headers[target]}: {raw.strip()}")
                stamp_doubts.append(Doubt(target, exc, "moved"))
        # A row with the whole lists of emails and phones (our export's Emails and
        # Phones) says what they are now; otherwise its one email edits the first.
        reach = {
            "emails": _whole_reach if _first_given(cells.get("email_list")) else _merge_reach,
            "phones": _whole_reach if _first_given(cells.get("phone_list")) else _merge_reach,
        }
        # Notes a row gives replace a record's; what only its other columns (or values
        # kept otherwise) add is added to the record's notes, once.
        adds_notes = _first_given(cells.get("notes")) is None
        company, person, raw_customer, raw_contact = _split_row(
            cells, custom, labels, layout.dropped_tags if layout else frozenset()
        )
        name = person or company
        keys = row_keys[count - 1]
        here: Customer | None = customers_here.get(_ref_key(customer_ref)) if customer_ref else None
        matched = False
        if here is None and customer_ref is None and known:
            here = known.customer(company, () if company else keys)
            matched = here is not None
        if not company and not person and here is None:
            errors = plan.errors
            errors.append(RowError(number, "name", "needs a company or a person's name"))
            continue
        row_errors: list[RowError] = []
        doubts: list[Doubt] = list(stamp_doubts)
        updates: list[_Update] = []
        who = "company" if company else "contact name"
        if company:
            raw_customer["name"] = company
        else:
            raw_customer["name"] = person
            raw_customer["kind"] = CustomerKind.INDIVIDUAL
        group = _CustomerKey("ref", _ref_key(customer_ref)) if customer_ref else None
        clean_cust: dict[str, Any] | None = None
        kept_customer_id: str | None = None
        if here is not None:
            if here.deleted_at is not None and not here.merged_into_id:
                row_errors.append(
                    RowError(
                        number,
                        "Customer ID",
                        f"customer '{here.name}' ({here.id}) was deleted here; restore it "
                        f"first (touchpoint customer restore {here.id})",
                        name,
                    )
                )
            else:
                here = _live_target(session, here)
                key = _CustomerKey("id", here.id)
                group = group or key  # later rows of the same company join it
                if group not in seen_customers:
                    if not company or matched:
                        raw_customer.pop("name", None)  # an id (or a match) keeps the name
                        raw_customer.pop("kind", None)
                    try:
                        fields = cleaner.customer(
                            raw_customer,
                            new=False,
                            region=phone_region(here.addresses, ""),
                            doubts=doubts,
                        )
                        changed = _changes(here, fields, reach=reach, add_notes=adds_notes)
                        if changed:
                            updates.append(_Update(number, here, changed))
                    except ValidationErrors as exc:
                        row_errors += _problems(number, exc, who, custom_columns, name)
        else:
            try:
                clean_cust = cleaner.customer(raw_customer, doubts=doubts)
                if "created" in stamps:
                    clean_cust["created_at"] = stamps["created"]
                if "confirmed" in stamps:
                    clean_cust["confirmed_at"] = stamps["confirmed"]
            except ValidationErrors as exc:
                row_errors += _problems(number, exc, who, custom_columns, name)
            if group is not None:
                key = group
                kept_customer_id = _canonical_id(customer_ref)
            elif company and clean_cust is not None:
                key = _CustomerKey("org", clean_cust["name"].casefold())
            else:
                key = _CustomerKey("row", str(number))
        clean_person: dict[str, Any] | None = None
        kept_contact_id: str | None = None
        # A person's phone without a country code is read in the customer's country.
        customer_addresses = here.addresses if here is not None else None
        if clean_cust is not None:
            customer_addresses = clean_cust.get("addresses")
        region = phone_region(customer_addresses, "") or None
        contact_here: Contact | None = None
        if person:
            raw_contact["name"] = person
            contact_here = contacts_here.get(_ref_key(contact_ref)) if contact_ref else None
            by_match = False
            if contact_here is None and contact_ref is None and known:
                contact_here = known.contact(keys, here.id if here is not None else None, person)
                by_match = contact_here is not None
            earlier = seen_contacts.get(_ref_key(contact_ref)) if contact_ref else None
            try:
                if earlier is not None:
                    row_errors.append(
                        RowError(
                            number, "Contact ID", f"names the same contact as row {earlier}", name
                        )
                    )
                elif contact_here is not None and contact_here.deleted_at is not None:
                    row_errors.append(
                        RowError(
                            number,
                            "Contact ID",
                            f"contact '{contact_here.name}' ({contact_here.id}) was deleted here",
                            name,
                        )
                    )
                elif contact_here is not None:
                    fields = cleaner.contact(raw_contact, region=region, doubts=doubts)
                    if by_match:
                        fields.pop("name", None)  # found by email or phone: its name stays
                    changed = _changes(contact_here, fields, reach=reach, add_notes=adds_notes)
                    if changed:
                        updates.append(_Update(number, contact_here, changed))
                else:
                    clean_person = cleaner.contact(raw_contact, region=region, doubts=doubts)
                    if "created" in stamps:
                        clean_person["created_at"] = stamps["created"]
                    kept_contact_id = _canonical_id(contact_ref)
            except ValidationErrors as exc:
                row_errors += _problems(number, exc, "contact name", name=name)
        # The same problem (an individual's email) is reported once.
        if row_errors:
            plan.errors.extend(dict.fromkeys(row_errors))
        if row_errors or (here is None and clean_cust is None):
            continue
        plan.notices += _notices(number, name, doubts, custom_columns)
        if contact_ref:
            seen_contacts[_ref_key(contact_ref)] = number
        plan.updates += updates
        grouping = group or key
        creates = here is None and grouping not in seen_customers
        if not creates and group is None and key.kind == "org":
            plan.joined += 1
        seen_customers.add(grouping)
        changed = tuple(dict.fromkeys([f for u in updates for f in u.fields])) if updates else ()
        if not creates and clean_person is None:
            if not updates and (here is not None or contact_here is not None):
                plan.unchanged += 1
                plan.row_changes.append(RowChange(number, name, "unchanged"))
            elif updates:
                plan.row_changes.append(RowChange(number, name, "update", changed))
            else:
                plan.row_changes.append(RowChange(number, name, "joined"))
            continue  # a company already created by an earlier row: nothing new here
        given = [*((clean_cust or {}) if creates else {}), *(clean_person or {})]
        plan.row_changes.append(
            RowChange(number, name, "create", tuple(dict.fromkeys([*given, *changed])))
        )
        item = _Planned(
            number,
            clean_cust if creates else None,
            key,
            clean_person,
            customer_id=kept_customer_id if creates else None,
            contact_id=kept_contact_id,
        )
        plan.planned.append(item)
        if sink is not None:
            sink(item)
    return plan


def _check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("the import was cancelled; nothing was written")


# (session, cleaner, sink): the sink may be given each planned row as soon as it is
# planned. The session is a read of its own (a snapshot of the database as the import's
# write found it), never the connection the rows are being written on meanwhile.
Sink = Callable[[_Planned], None]
PlanRows = Callable[[Session, _Cleaner, Sink | None], _Plan]
