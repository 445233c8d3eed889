"""Keys that identify a customer or contact: normalised emails, phones and web hosts,
and a customer's folded name.

Kept in ``identity_keys`` in the same transaction as the record, so duplicate
checks on create and import are index lookups, not scans. A name key is
:func:`~touchpoint.domain.values.name_key` of the customer's name: a change to that
folding needs a migration that writes the name keys again (as 0012 first wrote them).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete

from touchpoint.domain.values import name_key, normalised_email_key, website_host
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, IdentityKey, Record

_KEYED = (Customer.entity, Contact.entity)


def keys_of(record: Record) -> set[tuple[str, str]]:
    """The keys of a record (or of any object with its attributes and ``entity``)."""
    if record.entity not in _KEYED:
        return set()
    if record.deleted_at is not None or record.merged_into_id:
        return set()
    keys: set[tuple[str, str]] = set()
    for item in record.emails or []:
        if item.get("value"):
            keys.add(("email", normalised_email_key(item["value"])))
    for item in record.phones or []:
        if item.get("value"):
            keys.add(("phone", item["value"]))
    if record.entity == Customer.entity:
        host = website_host(record.website)
        if host:
            keys.add(("host", host))
        # An import matches a file's company names with the customers here by this key,
        # and looks for customers of the same name by it: an index lookup, not a scan.
        # Kept even when empty (a name of legal words only, "The Company"): a file's
        # "Ltd" folds to it too, and matched that customer when every name was read.
        keys.add(("name", name_key(record.name or "")))
    return keys


INSERT_KEY = "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)"


def refresh(conn: Connection, records: Iterable[Record]) -> None:
    """Replace the keys of these records: one delete per chunk of ids, one executemany insert.
    (Records inserted just now have no keys to replace: see :func:`new_keys`.)"""
    by_entity: dict[str, list[Record]] = {}
    for record in records:
        if record.entity in _KEYED:
            by_entity.setdefault(record.entity, []).append(record)
    for entity, group in by_entity.items():
        ids = [r.id for r in group]
        for chunk in chunked(ids):
            conn.execute(
                delete(IdentityKey).where(
                    (IdentityKey.entity == entity) & IdentityKey.record_id.in_(chunk)
                )
            )
        rows = new_keys(group)
        if rows:
            # Straight to the driver as tuples: an import or a first sync writes many.
            conn.exec_driver_sql(INSERT_KEY, rows)


def new_keys(records: Iterable[Record]) -> list[tuple[str, str, str, str]]:
    """INSERT_KEY's rows for records that have no keys yet (just inserted)."""
    return [
        (record.entity, record.id, k, v) for record in records for k, v in sorted(keys_of(record))
    ]
