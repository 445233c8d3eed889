"""Finding the likely duplicates of the records an import creates, here and within the file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.domain import values as v
from touchpoint.services.importing.cleaning import _Planned
from touchpoint.services.importing.reports import RowDuplicate
from touchpoint.services.lookup import live
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, IdentityKey
from touchpoint.storage.queries.customers import live_by_name_key

REASON = {"email": "same email", "phone": "same phone", "host": "same website"}


def _keys(entity: str, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    keys = [("email", v.normalised_email_key(e["value"])) for e in fields.get("emails") or []]
    keys += [("phone", p["value"]) for p in fields.get("phones") or []]
    if entity == "customer":
        host = v.website_host(fields.get("website"))
        if host:
            keys.append(("host", host))
    return list(dict.fromkeys(keys))


def _find_duplicates(
    session: Session,
    records: Sequence[tuple[int, str, dict[str, Any]]],
) -> list[RowDuplicate]:
    """Duplicates of the records to create (row, entity, fields), against the database
    (identity keys and folded customer names, looked up in batches) and within the file."""
    found = _Found()
    found.add(session, records)
    return found.duplicates


class _Found:
    """The duplicates of the records to create, found a part of the plan at a time
    (:meth:`add`, in the plan's order): each key and name is looked up once, and all
    that hold it are found with it; a record's duplicates are those of its own keys and
    name, and of the records before it: the parts find what the whole plan would."""

    def __init__(self) -> None:
        self.duplicates: list[RowDuplicate] = []
        self._seen_in_file: dict[tuple[str, str, str], tuple[int, str]] = {}
        self.existing: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        self.names_by_key: dict[str, tuple[str, str]] = {}
        self.names: dict[str, str] = {}
        self._looked: dict[str, set[str]] = defaultdict(set)  # kind -> values
        self._looked_names: set[str] = set()
        self._named: set[str] = set()  # ids whose names were asked for

    def add(self, session: Session, records: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        """Look up the next records of the plan, and find their duplicates."""
        wanted: dict[str, set[str]] = defaultdict(set)
        record_keys = [_keys(entity, fields) for _row, entity, fields in records]
        for keys in record_keys:
            for kind, value in keys:
                if value not in self._looked[kind]:
                    wanted[kind].add(value)
        found_ids: set[str] = set()
        for kind, values in wanted.items():
            self._looked[kind] |= values
            for chunk in chunked(sorted(values)):
                rows = session.execute(
                    select(IdentityKey.entity, IdentityKey.value, IdentityKey.record_id).where(
                        IdentityKey.kind == kind, IdentityKey.value.in_(chunk)
                    )
                )
                for entity, value, record_id in rows:
                    self.existing[(entity, kind, value)].append(record_id)
                    found_ids.add(record_id)
        # Each new customer's folded name, found among the live customers' (the first in
        # the name index's order).
        new_names = {v.name_key(f["name"]) for _r, entity, f in records if entity == "customer"}
        new_names -= self._looked_names
        self._looked_names |= new_names
        for named in live_by_name_key(session, new_names):
            self.names_by_key.setdefault(named.key, (named.id, named.name))
        found_ids -= self._named
        self._named |= found_ids
        self.names.update(_names_of(session, found_ids))
        self._judge(records, record_keys)

    def _judge(
        self, records: Sequence[tuple[int, str, dict[str, Any]]], record_keys: list[list[Any]]
    ) -> None:
        existing, names_by_key, names = self.existing, self.names_by_key, self.names
        out = self.duplicates
        seen_in_file = self._seen_in_file
        for (row, entity, fields), keys in zip(records, record_keys, strict=True):
            name = fields["name"]
            matches: dict[str, list[str]] = defaultdict(list)  # existing id -> reasons
            in_file: dict[int, tuple[str, list[str]]] = {}
            if entity == "customer":
                key = v.name_key(name)
                if key:
                    keys.append(("name", key))
                    if key in names_by_key:
                        matches[names_by_key[key][0]].append("same name")
            for kind, value in keys:
                for record_id in existing.get((entity, kind, value), ()):
                    matches[record_id].append(REASON[kind])
                earlier = seen_in_file.get((entity, kind, value))
                if earlier is None:
                    seen_in_file[(entity, kind, value)] = (row, name)
                elif earlier[0] != row:
                    in_file.setdefault(earlier[0], (earlier[1], []))[1].append(
                        "same name" if kind == "name" else REASON[kind]
                    )
            for record_id, reasons in matches.items():
                if record_id in names or reasons == ["same name"]:
                    other = names.get(record_id) or names_by_key[v.name_key(name)][1]
                    out.append(
                        RowDuplicate(row, name, record_id, other, tuple(dict.fromkeys(reasons)))
                    )
            for earlier_row, (other, reasons) in in_file.items():
                label = tuple(f"{r} as row {earlier_row}" for r in dict.fromkeys(reasons))
                out.append(RowDuplicate(row, name, None, other, label))


def _names_of(session: Session, ids: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    ordered = sorted(ids)
    for model in (Customer, Contact):
        for chunk in chunked(ordered):
            for record_id, name in session.execute(
                select(model.id, model.name).where(model.id.in_(chunk), live(model))
            ):
                names[record_id] = name
    return names


def _duplicate_inputs(planned: Sequence[_Planned]) -> list[tuple[int, str, dict[str, Any]]]:
    out: list[tuple[int, str, dict[str, Any]]] = []
    for item in planned:
        if item.customer is not None:
            out.append((item.row, "customer", item.customer))
        if item.contact is not None:
            out.append((item.row, "contact", item.contact))
    return out
