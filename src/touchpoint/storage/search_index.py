"""The full-text index: one FTS5 table over ``search_docs``, kept current on every flush.

``search_docs`` holds the text of each record; ``search_fts`` (created by migration
0002) is an external-content FTS5 index over it, kept in step by triggers.
``unicode61 remove_diacritics 2`` makes matching case- and accent-insensitive and
the prefix indexes make search-as-you-type cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text

from touchpoint.domain.values import display_phone
from touchpoint.storage.models import (
    Contact,
    Customer,
    FollowUp,
    Interaction,
    Record,
    SearchDoc,
)

INDEXED: tuple[type[Record], ...] = (Customer, Contact, Interaction, FollowUp)


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _phones(items: list[dict[str, Any]] | None) -> str:
    out: list[str] = []
    for item in items or []:
        number = item.get("value") or ""
        if number:
            out.append(number)
            out.append(display_phone(number))
    return " ".join(out)


def _values(items: list[dict[str, Any]] | None) -> str:
    return " ".join(str(i.get("value") or "") for i in items or [])


def document(record: Record) -> tuple[str | None, str, str] | None:
    """(customer_id, title, body) for a record, or None when it is not searchable."""
    if record.deleted_at is not None:
        return None
    if isinstance(record, Customer):
        if record.merged_into_id:
            return None
        addresses = " ".join(
            _join(a.get("street"), a.get("city"), a.get("region"), a.get("country"))
            for a in record.addresses or []
        )
        custom = " ".join(str(v) for v in (record.custom or {}).values() if v is not None)
        body = _join(
            record.industry,
            record.segment,
            record.territory,
            record.website,
            _values(record.emails),
            _phones(record.phones),
            " ".join(record.tags or []),
            addresses,
            custom,
            record.notes,
        )
        return record.id, record.name, body
    if isinstance(record, Contact):
        if record.merged_into_id:
            return None
        body = _join(
            record.title,
            record.decision_role,
            _values(record.emails),
            _phones(record.phones),
            record.notes,
        )
        return record.customer_id, record.name, body
    if isinstance(record, Interaction):
        title = record.subject or _join(record.kind.capitalize(), record.outcome)
        return record.customer_id, title, _join(record.notes, record.feedback)
    if isinstance(record, FollowUp):
        if record.status == "cancelled":
            return None
        return record.customer_id, record.title, record.notes or ""
    return None


def refresh(conn: Connection, records: Iterable[Record]) -> None:
    """Bring the index in line with these records, in the caller's transaction."""
    for record in records:
        if not isinstance(record, INDEXED):
            continue
        doc = document(record)
        key = (SearchDoc.entity == record.entity) & (SearchDoc.record_id == record.id)
        existing = conn.execute(select(SearchDoc.doc_id).where(key)).scalar()
        if doc is None:
            if existing is not None:
                conn.execute(delete(SearchDoc).where(SearchDoc.doc_id == existing))
            continue
        customer_id, title, body = doc
        if existing is None:
            conn.execute(
                insert(SearchDoc).values(
                    entity=record.entity,
                    record_id=record.id,
                    customer_id=customer_id,
                    title=title,
                    body=body,
                )
            )
        else:
            conn.execute(
                SearchDoc.__table__.update()
                .where(SearchDoc.doc_id == existing)
                .values(customer_id=customer_id, title=title, body=body)
            )


def rebuild(conn: Connection) -> None:
    """Recreate the FTS index from search_docs (after a bulk load or on repair)."""
    conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))


def integrity_ok(conn: Connection) -> bool:
    try:
        conn.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
    except Exception:
        return False
    return True
