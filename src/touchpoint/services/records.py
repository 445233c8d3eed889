"""Plain results of the use cases: frozen dataclasses, never ORM objects.

Nothing here lazy-loads, so the window can hold them on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from touchpoint.domain.enums import PromiseState
from touchpoint.domain.photos import Photo


@dataclass(frozen=True)
class CustomerView:
    id: str
    name: str
    kind: str
    status: str
    industry: str | None
    segment: str | None
    owner: str | None
    territory: str | None
    website: str | None
    addresses: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    tags: list[str]
    custom: dict[str, Any]
    notes: str | None
    yearly_potential: Decimal | None
    currency: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    deleted: bool = False


@dataclass(frozen=True)
class ContactView:
    id: str
    customer_id: str
    name: str
    title: str | None
    decision_role: str | None
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    preferred_channel: str | None
    do_not_contact: bool
    notes: str | None
    customer_name: str | None = None
    photo: Photo | None = None  # the person's picture, or a link to one


@dataclass(frozen=True)
class InteractionView:
    id: str
    customer_id: str
    kind: str
    direction: str | None
    occurred_at: datetime
    duration_minutes: int | None
    contact_ids: list[str]
    subject: str | None
    notes: str | None
    outcome: str | None
    satisfaction: int | None
    feedback: str | None
    depth: str | None
    rep: str
    customer_name: str | None = None


@dataclass(frozen=True)
class FollowUpView:
    id: str
    customer_id: str
    contact_id: str | None
    interaction_id: str | None
    title: str
    notes: str | None
    due_at: datetime
    remind_at: datetime | None
    priority: str
    status: str
    done_at: datetime | None
    assigned_to: str
    state: PromiseState
    customer_name: str | None = None


@dataclass(frozen=True)
class DealView:
    id: str
    customer_id: str
    title: str
    value: Decimal
    currency: str
    stage: str
    expected_close: date | None
    closed_at: datetime | None


@dataclass(frozen=True)
class LoggedInteraction:
    interaction: InteractionView
    followups: list[FollowUpView] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a record's audit history."""

    seq: int
    at: datetime
    author: str
    op: str
    fields: dict[str, list[Any]]
    pushed: bool


@dataclass(frozen=True)
class InteractionDetail:
    """One interaction with everything around it: who took part, the promises made in
    it, its history, and whether this user may change it (only its author may)."""

    interaction: InteractionView
    customer_name: str
    contacts: list[ContactView]  # who took part (a deleted person still named)
    customer_contacts: list[ContactView]  # the customer's people, to pick from on edit
    followups: list[FollowUpView]
    history: list[HistoryEntry]
    author: str  # the email that logged it
    names: dict[str, str]  # email -> display name, for the author and the history
    editable: bool
    created_at: datetime
    updated_at: datetime
    history_total: int = 0  # all its changes; ``history`` may hold only the latest

    @property
    def author_name(self) -> str:
        return self.names.get(self.author, self.author)
