"""Keys that identify a customer or contact: normalised emails, phones and web hosts.

Kept in ``identity_keys`` in the same transaction as the record, so duplicate
checks on create and import are index lookups, not scans.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert

from touchpoint.domain.values import normalised_email_key, website_host
from touchpoint.storage.models import Contact, Customer, IdentityKey, Record


def keys_of(record: Record) -> set[tuple[str, str]]:
    if not isinstance(record, Customer | Contact):
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
    if isinstance(record, Customer):
        host = website_host(record.website)
        if host:
            keys.add(("host", host))
    return keys


def refresh(conn: Connection, records: Iterable[Record]) -> None:
    for record in records:
        if not isinstance(record, Customer | Contact):
            continue
        conn.execute(
            delete(IdentityKey).where(
                (IdentityKey.entity == record.entity) & (IdentityKey.record_id == record.id)
            )
        )
        keys = keys_of(record)
        if keys:
            conn.execute(
                insert(IdentityKey),
                [
                    {"entity": record.entity, "record_id": record.id, "kind": k, "value": v}
                    for k, v in sorted(keys)
                ],
            )
