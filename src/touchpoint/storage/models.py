"""The local database: ORM models of the customer model and of the change log.

Every syncable record has a UUID made on this laptop, created/updated times in
UTC with their author, and a tombstone (``deleted_at``) instead of a DELETE so
deletes can sync and be undone.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_last_stamp = 0
# Random bytes for ids, read from the system a few kilobytes at a time: one read per id
# is a system call that costs more than the rest of the id (an import makes tens of
# thousands). A forked process starts with none, so parent and child never share any.
_RANDOM_CHUNK = 8 * 512
_random = b""
_random_at = 0
_random_lock = threading.Lock()


def _forget_random() -> None:
    global _random, _random_at
    _random, _random_at = b"", 0


os.register_at_fork(after_in_child=_forget_random)


def _random_tail() -> int:
    """62 random bits with the variant's two high bits (10) above them."""
    global _random, _random_at  # noqa: PLW0603 - this process's unread random bytes
    with _random_lock:
        if _random_at + 8 > len(_random):
            _random, _random_at = os.urandom(_RANDOM_CHUNK), 0
        chunk = _random[_random_at : _random_at + 8]
        _random_at += 8
    return (int.from_bytes(chunk) >> 2) | (1 << 63)


def new_id() -> str:
    """A time-ordered UUID (version 7, RFC 9562) as canonical text: 48 bits of Unix
    time in milliseconds, 12 bits of its fraction, then 62 random bits.

    Ids made one after another sort one after another, so every index they key (the
    records', the change log's) grows at its end. A random id lands on a random page
    of an index of a million ids: an import or a sync then rewrites nearly every page
    of it. Within this process ids also never go backwards, even when the clock does."""
    global _last_stamp  # noqa: PLW0603 - this process's newest stamp
    ms, ns = divmod(time.time_ns(), 1_000_000)
    stamp = max((ms << 12) | (ns * 4096 // 1_000_000), _last_stamp + 1)
    _last_stamp = stamp
    # The variant's two high bits are 10, then 62 random bits.
    tail = _random_tail()
    t = f"{stamp >> 12:012x}"
    r = f"{tail:016x}"
    return f"{t[:8]}-{t[8:]}-7{stamp & 0xFFF:03x}-{r[:4]}-{r[4:]}"


def new_ids(count: int) -> list[str]:
    """``count`` ids as that many calls of :func:`new_id` make them, in order, for a
    bulk write (an import makes two a record): the clock and the random bytes are read
    once. Their stamps count up from the clock's by the smallest step (a 4096th of a
    millisecond), which no Python loop outruns: never ahead of the time they are made."""
    global _last_stamp, _random, _random_at  # noqa: PLW0603 - as new_id's
    if count <= 0:
        return []
    ms, ns = divmod(time.time_ns(), 1_000_000)
    first = max((ms << 12) | (ns * 4096 // 1_000_000), _last_stamp + 1)
    _last_stamp = first + count - 1
    need = 8 * count
    with _random_lock:
        if _random_at + need > len(_random):
            _random, _random_at = os.urandom(max(_RANDOM_CHUNK, need)), 0
        chunk = _random[_random_at : _random_at + need]
        _random_at += need
    out = []
    for n, bits in enumerate(struct.unpack(f">{count}Q", chunk)):  # as _random_tail reads
        stamp = first + n
        h = f"{stamp >> 12:012x}7{stamp & 0xFFF:03x}{(bits >> 2) | (1 << 63):016x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), date: ISODate(), Decimal: DecimalText()}


class Record(Base):
    """A syncable record. ``entity`` names it in the change log and the protocol."""

    __abstract__ = True
    entity: str = ""
    # Columns that are bookkeeping, not user data: never listed as changed fields.
    bookkeeping = frozenset({"id", "created_at", "created_by", "updated_at", "updated_by"})

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None]


class Customer(Record):
    __tablename__ = "customers"
    entity = "customer"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="organisation")
    status: Mapped[str] = mapped_column(String(20), default="prospect")
    industry: Mapped[str | None] = mapped_column(String(120))
    segment: Mapped[str | None] = mapped_column(String(120))
    owner: Mapped[str | None] = mapped_column(String(200))
    territory: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(500))
    # Lists of {"label": ..., "value"/"street"...}: one field each, so a sync merges them whole.
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    emails: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    yearly_potential: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    confirmed_at: Mapped[datetime | None]
    merged_into_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        Index("ix_customers_name", "name"),
        Index("ix_customers_status", "status"),
        Index("ix_customers_owner", "owner"),
        Index("ix_customers_territory", "territory"),
        Index("ix_customers_updated_at", "updated_at"),
        # The customer list's blocks in name order, skipped over from the index alone
        # (migration 0010).
        Index(
            "ix_customers_live_name",
            "name",
            sqlite_where=text("deleted_at IS NULL AND merged_into_id IS NULL"),
        ),
    )


class Contact(Record):
    __tablename__ = "contacts"
    entity = "contact"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    decision_role: Mapped[str | None] = mapped_column(String(40))
    emails: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[str | None] = mapped_column(String(36))
    # The person's picture, {"type": MIME, "data": base64} or {"url": ...}: one field,
    # so a sync merges it whole (domain.photos; migration 0009).
    photo: Mapped[dict[str, str] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_contacts_customer_id", "customer_id"),)


class Interaction(Record):
    __tablename__ = "interactions"
    entity = "interaction"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    contact_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(120))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str | None] = mapped_column(Text)
    depth: Mapped[str | None] = mapped_column(String(20))
    rep: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_interactions_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_interactions_occurred_at", "occurred_at"),
        Index("ix_interactions_rep_occurred", "rep", "occurred_at"),
        # Last touch and last scores per customer from the index alone (migration 0005).
        Index(
            "ix_interactions_customer_scores",
            "customer_id",
            "occurred_at",
            "satisfaction",
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )


class FollowUp(Record):
    __tablename__ = "followups"
    entity = "followup"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    interaction_id: Mapped[str | None] = mapped_column(ForeignKey("interactions.id"))
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="open")
    done_at: Mapped[datetime | None]
    assigned_to: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_followups_status_due", "status", "due_at"),
        Index("ix_followups_customer_id", "customer_id"),
        Index("ix_followups_assigned_due", "assigned_to", "due_at"),
        Index("ix_followups_remind_at", "remind_at"),
        # A rep's open promises by due time, for Today's lists and count (migration 0007).
        Index(
            "ix_followups_open_assigned_due",
            "assigned_to",
            "due_at",
            sqlite_where=text("status = 'open' AND deleted_at IS NULL"),
        ),
        # The promises made in an interaction, and those made on their own by creation
        # time, for the reports' "promises made" (migration 0011).
        Index("ix_followups_interaction_created", "interaction_id", "created_at"),
    )


class Deal(Record):
    __tablename__ = "deals"
    entity = "deal"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    title: Mapped[str] = mapped_column(String(300))
    value: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(20), default="lead")
    expected_close: Mapped[date | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_deals_customer_id", "customer_id"),)


class CustomFieldDef(Record):
    """A typed custom field that customers may carry (text, number, date, choice)."""

    __tablename__ = "custom_field_defs"
    entity = "custom_field"

    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(10))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (UniqueConstraint("key"),)


class Merge(Record):
    """Two records merged into one: enough kept to undo it exactly."""

    __tablename__ = "merges"
    entity = "merge"

    kind: Mapped[str] = mapped_column(String(20))  # customer | contact
    winner_id: Mapped[str] = mapped_column(String(36))
    loser_id: Mapped[str] = mapped_column(String(36))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None]


SYNCED_MODELS: tuple[type[Record], ...] = (
    Customer,
    Contact,
    Interaction,
    FollowUp,
    Deal,
    CustomFieldDef,
    Merge,
)
MODEL_BY_ENTITY: dict[str, type[Record]] = {m.entity: m for m in SYNCED_MODELS}


class Change(Base):
    """One change to one record: the audit history and the sync outbox.

    ``seq`` is this device's sequence number (autoincrement, so commit order);
    ``pushed_at`` stays empty until the Hub acknowledged the change.
    """

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    tx_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    entity: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(10))  # insert | update | delete | restore
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # {field: [old, new]}
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(200))
    schema_version: Mapped[str] = mapped_column(String(32))
    pushed_at: Mapped[datetime | None]
    push_error: Mapped[str | None] = mapped_column(Text)
    # Noted when the edit was made (storage.hub_clock, migration 0008): its time on the
    # Hub's clock, and the last Hub sequence this laptop had pulled then.
    hub_at: Mapped[datetime | None]
    base_seq: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_change_log_record", "entity", "record_id", "seq"),
        Index("ix_change_log_outbox", "seq", sqlite_where=text("pushed_at IS NULL")),
    )


class Meta(Base):
    """Small facts about this database: device id, who wrote it, last backup."""

    __tablename__ = "local_meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IdentityKey(Base):
    """Normalised emails, phones and web hosts, kept to find duplicates fast."""

    __tablename__ = "identity_keys"

    entity: Mapped[str] = mapped_column(String(30), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)

    # Every column is the key: the key's B-tree is the table (migration 0014).
    __table_args__ = (
        Index("ix_identity_keys_lookup", "kind", "value"),
        {"sqlite_with_rowid": False},
    )


class SearchDoc(Base):
    """The text of one record as the search index sees it (FTS5 external content)."""

    __tablename__ = "search_docs"

    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("entity", "record_id"),)


class SearchBacklog(Base):
    """Documents a full-text index has not taken in yet: all of the index's documents
    above ``done`` (after a big pull; see migration 0006 and ``search_index.catch_up``)."""

    __tablename__ = "search_backlog"

    fts: Mapped[str] = mapped_column(String(40), primary_key=True)
    done: Mapped[int] = mapped_column(Integer)


# --- sync state (owned by touchpoint.sync) -------------------------------------------
class SyncConflict(Base):
    """A value that lost a concurrent edit on the Hub, kept so people can restore it.

    Conflicts arrive from the Hub like records do; ``resolved_at`` is local.
    """

    __tablename__ = "sync_conflicts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(60))
    winner_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    loser_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    winner_author: Mapped[str] = mapped_column(String(200))
    loser_author: Mapped[str] = mapped_column(String(200))
    winner_at: Mapped[str] = mapped_column(String(27))
    loser_at: Mapped[str] = mapped_column(String(27))
    created_at: Mapped[str] = mapped_column(String(27))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(20))  # restored | dismissed
    # What the losing side did, in words, when a delete raced it ("logged a visit").
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_sync_conflicts_record", "entity", "record_id"),)


class SetAside(Base):
    """A change pulled from the Hub that this laptop could not apply (a record it names
    is not here, a value it cannot store): kept as it came, with the reason, tried again
    at later syncs, and never in the way of the rest of the pull (migration 0008)."""

    __tablename__ = "sync_set_aside"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_seq: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(36))
    change: Mapped[str] = mapped_column(Text)  # the pulled change, as JSON text
    reason: Mapped[str] = mapped_column(Text)
    # Whether a later sync may apply it (a record it names may still arrive).
    retry: Mapped[bool] = mapped_column(Boolean, default=True)
    set_aside_at: Mapped[datetime]
    tries: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_sync_set_aside_record", "entity", "record_id"),)


class CustomerTeam(Base):
    """The Hub team a customer belongs to, as its pulls say (migration 0008): what a
    laptop needs to refuse a merge across teams before it is made, and to remove a
    team's records when its rep no longer sees that team. A customer made here and not
    yet synced has no row; its children belong to its team."""

    __tablename__ = "customer_teams"

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_customer_teams_team", "team"),)
