"""The vocabulary of Touchpoint: the fixed choices of every record."""

from __future__ import annotations

from enum import StrEnum


class CustomerKind(StrEnum):
    ORGANISATION = "organisation"
    INDIVIDUAL = "individual"


class CustomerStatus(StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    FORMER = "former"


class InteractionKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    EMAIL = "email"
    MESSAGE = "message"
    NOTE = "note"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Outcome(StrEnum):
    """The usual outcomes; users may also type their own."""

    CONNECTED = "connected"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no answer"
    MEETING_BOOKED = "meeting booked"
    ORDER = "order"
    COMPLAINT = "complaint"


class Depth(StrEnum):
    """How deep the relationship an interaction belongs to runs."""

    ONE_OFF = "one-off"
    TRANSACTIONAL = "transactional"
    PROJECT = "project"
    RELATIONSHIP = "relationship"


class DecisionRole(StrEnum):
    DECISION_MAKER = "decision maker"
    INFLUENCER = "influencer"
    CHAMPION = "champion"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    BLOCKER = "blocker"
    OTHER = "other"


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    VISIT = "visit"
    MESSAGE = "message"


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class DealStage(StrEnum):
    LEAD = "lead"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"

    @property
    def is_open(self) -> bool:
        return self not in (DealStage.WON, DealStage.LOST)


class CustomFieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class PromiseState(StrEnum):
    """A follow-up seen against its due time (see PRODUCT.md)."""

    KEPT = "kept"
    LATE = "late"
    OVERDUE = "overdue"
    OPEN = "open"
    CANCELLED = "cancelled"
