"""The customer list, paged from SQL: a window asks for one block of rows at a time.

Nothing here loads every customer: counts come from SQL, rows from ``LIMIT/OFFSET``
over an index for the sort column. "Needs attention" means an active customer with
no interaction for longer than the quiet setting, or with a follow-up overdue.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from touchpoint.domain import metrics
from touchpoint.domain.enums import CustomerStatus
from touchpoint.domain.values import fold
from touchpoint.errors import ValidationError
from touchpoint.services.search import match_expression
from touchpoint.storage.models import Customer, CustomerTeam, FollowUp, Interaction
from touchpoint.storage.queries import customers as customer_queries
from touchpoint.storage.queries import search as search_queries
from touchpoint.storage.utc_text import from_utc_text, to_utc_text
from touchpoint.storage.workspace import Workspace

SORTS = ("name", "status", "owner", "territory", "last_touch", "updated_at", "created_at")


@dataclass(frozen=True)
class CustomerQuery:
    status: str | None = None
    tag: str | None = None
    owner: str | None = None
    territory: str | None = None
    needs_attention: bool = False
    text: str | None = None  # part of the name, case-insensitive
    # Every word the start of a word of the name, a city or a tag, without case or
    # accents ("gonz mad" finds González in Madrid), as the search box matches.
    words: str | None = None
    teams: tuple[str, ...] | None = None  # only customers of these Hub teams
    sort: str = "name"
    descending: bool = False


@dataclass(frozen=True)
class CustomerRow:
    id: str
    name: str
    status: str
    owner: str | None
    territory: str | None
    tags: list[str]
    email: str | None
    phone: str | None
    last_touch: datetime | None
    days_since_last_touch: int | None
    open_followups: int
    overdue_followups: int
    next_followup: datetime | None = None  # the earliest due time of an open one
    satisfaction: float | None = None  # the average of the last three scores (PRODUCT.md)
    city: str | None = None  # of the first address


@dataclass(frozen=True)
class FilterChoices:
    statuses: list[str]
    owners: list[str]
    territories: list[str]
    tags: list[str] = field(default_factory=list)


def _last_touch() -> Any:
    # Uses ix_interactions_customer_occurred: one index seek per customer.
    return (
        select(func.max(Interaction.occurred_at))
        .where(Interaction.customer_id == Customer.id, Interaction.deleted_at.is_(None))
        .scalar_subquery()
    )


def _conditions(ws: Workspace, q: CustomerQuery, session: Session) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Customer.deleted_at.is_(None),
        Customer.merged_into_id.is_(None),
    ]
    if q.status:
        if q.status not in {s.value for s in CustomerStatus}:
            raise ValidationError("status", f"unknown status {q.status!r}")
        where.append(Customer.status == q.status)
    if q.owner:
        where.append(Customer.owner == q.owner)
    if q.territory:
        where.append(Customer.territory == q.territory)
    if q.tag:
        where.append(customer_queries.has_tag(q.tag))
    if q.text and q.text.strip():
        needle = (
            q.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        where.append(func.lower(Customer.name).like(f"%{needle}%", escape="\\"))
    if q.teams is not None:
        # Each customer's team looked up by its key, rather than the teams' customers
        # gathered into a table first for every statement (37,000 at L).
        same = CustomerTeam.customer_id == Customer.id
        where.append(
            select(CustomerTeam.customer_id).where(same, CustomerTeam.team.in_(q.teams)).exists()
        )
    if q.words and q.words.strip():
        where += _word_conditions(q.words, session)
    if q.needs_attention:
        now = ws.now()
        cutoff = now - timedelta(days=ws.settings.quiet_after_days)
        # Touched lately: one seek per active customer into the partial (customer_id,
        # occurred_at) index of live interactions; the set of every interaction since the
        # cutoff (160,000 on L) cost four times that, at every block and count. Overdue: one
        # uncorrelated set over (status, due_at), read once (a probe per customer there
        # walks every open promise: minutes on 100k).
        touched = (
            select(Interaction.id)
            .where(
                Interaction.customer_id == Customer.id,
                Interaction.occurred_at > cutoff,
                Interaction.deleted_at.is_(None),
            )
            .exists()
        )
        overdue = select(FollowUp.customer_id).where(
            FollowUp.status == "open", FollowUp.due_at < now, FollowUp.deleted_at.is_(None)
        )
        where.append(
            or_(
                and_(Customer.status == CustomerStatus.ACTIVE.value, ~touched),
                Customer.id.in_(overdue),
            )
        )
    return where


_WORD = re.compile(r"\w+")
FOLD_SQL = "tp_fold_words"


# The same customers' words are folded for each search that finds them (the count, then
# the page): a folded text is looked up after (most cost 40 µs, with accents).
@functools.lru_cache(maxsize=1 << 15)
def fold_words(value: str | None) -> str:
    """' gonzalez madrid vip ': the words of a text without case or accents, each
    between spaces, so that ``LIKE '% word%'`` is "a word starting with word"."""
    return " " + " ".join(_WORD.findall(fold(value or ""))) + " "


def names_expression(words: list[str]) -> str | None:
    """The FTS5 query of the names index that every customer matching ``words`` (folded
    words, each the start of a word of the name, a city or a tag) matches too: each
    word's tokens, each a prefix (the index keeps no word positions to ask for them in
    a row; the LIKE conditions then hold each candidate to its words). None when no
    word has a token."""
    return match_expression(" ".join(words))


def _word_conditions(typed: str, session: Session) -> list[ColumnElement[bool]]:
    """Each word typed the start of a word of the name, a city or a tag. The names
    index narrows the book to the customers whose document has those words (an index
    lookup instead of folding every customer's words), then each candidate is held to
    its name, cities and tags. What FTS5 folds as the laptop's search box does (case,
    accents) it finds; a word only Python's folding equates ("strasse" for "Straße")
    it misses, as the search box does. While a big pull's documents wait to be indexed
    every customer is looked at."""
    haystack = customer_queries.words_text(FOLD_SQL)
    folded = _WORD.findall(fold(typed))[:12]
    escaped = [w.replace("_", "\\_") for w in folded]
    where = [haystack.like(f"% {w}%", escape="\\") for w in escaped]
    expression = names_expression(folded)
    if expression is not None and search_queries.names_index_complete(session):
        where.insert(0, Customer.id.in_(search_queries.customers_matching_names(expression)))
    return where


def _with_fold(session: Session) -> Session:
    """The session, its connection knowing :func:`fold_words` as SQL (the words search)."""
    return customer_queries.with_function(session, FOLD_SQL, fold_words)


def count_customers(ws: Workspace, q: CustomerQuery) -> int:
    with ws.read() as session:
        stmt = select(func.count()).select_from(Customer).where(*_conditions(ws, q, session))
        return int(_with_fold(session).scalar(stmt) or 0)


_ROWID = literal_column("customers.rowid")
# Sorts an index serves: ties go in rowid order, so SQLite walks the index for any page.
_INDEXED = ("name", "status", "owner", "territory", "updated_at")


def _ordered(stmt: Select[Any], q: CustomerQuery, last_touch: Any) -> Select[Any]:
    if q.sort not in SORTS:
        raise ValidationError(
            "sort", f"cannot sort by {q.sort!r}; choose one of {', '.join(SORTS)}"
        )
    key: Any = last_touch if q.sort == "last_touch" else getattr(Customer, q.sort)
    primary = key.desc() if q.descending else key.asc()
    if q.sort == "last_touch":
        # Never-touched customers last when newest first, first when oldest first.
        primary = primary.nulls_last() if q.descending else primary.nulls_first()
    rowid = _ROWID.desc() if q.descending else _ROWID.asc()
    tiebreak = [rowid] if q.sort in _INDEXED else [Customer.name.asc(), _ROWID.asc()]
    return stmt.order_by(primary, *tiebreak)


def customer_rows(ws: Workspace, q: CustomerQuery, offset: int, limit: int) -> list[CustomerRow]:
    """``limit`` rows from ``offset`` in the order of ``q``, with their touch and promise facts."""
    if offset < 0 or limit < 0:
        raise ValidationError("offset", "must not be negative")
    # First the page's ids alone (an index walk), then the facts of just those rows:
    # SQLite would otherwise work out the facts of every row it skips over.
    now = ws.now()
    with ws.read() as session:
        page = _ordered(select(Customer.id).where(*_conditions(ws, q, session)), q, _last_touch())
        ids = list(_with_fold(session).scalars(page.offset(offset).limit(limit)))
        found = {r.id: r for r in customer_queries.list_facts(session, ids, to_utc_text(now))}
    tz = ws.tz
    out = []
    for r in (found[i] for i in ids if i in found):
        last_touch = None if r.last_touch is None else from_utc_text(r.last_touch)
        out.append(
            CustomerRow(
                id=r.id,
                name=r.name,
                status=r.status,
                owner=r.owner,
                territory=r.territory,
                tags=r.tags,
                email=r.email,
                phone=r.phone,
                last_touch=last_touch,
                days_since_last_touch=metrics.days_since(last_touch, now=now, tz=tz),
                open_followups=r.open_followups,
                overdue_followups=r.overdue_followups,
                next_followup=None if r.next_due is None else from_utc_text(r.next_due),
                satisfaction=metrics.customer_satisfaction(r.scores).current,
                city=r.city,
            )
        )
    return out


def row_of(ws: Workspace, q: CustomerQuery, customer_id: str) -> int | None:
    """The position of a customer in the list of ``q`` (to keep it selected), or None."""
    with ws.read() as session:
        ids = _with_fold(session).scalars(
            _ordered(select(Customer.id).where(*_conditions(ws, q, session)), q, _last_touch())
        )
        for position, cid in enumerate(ids):
            if cid == customer_id:
                return position
    return None


def filter_choices(ws: Workspace) -> FilterChoices:
    """The values the list can be filtered by, from the live customers."""
    live = and_(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
    with ws.read() as session:
        owners = session.scalars(
            select(Customer.owner).where(live, Customer.owner.is_not(None)).distinct()
        ).all()
        territories = session.scalars(
            select(Customer.territory).where(live, Customer.territory.is_not(None)).distinct()
        ).all()
        tag_list = sorted(set(customer_queries.tags_in_use(session)), key=str.lower)
    return FilterChoices(
        statuses=[s.value for s in CustomerStatus],
        owners=sorted((o for o in owners if o), key=str.lower),
        territories=sorted((t for t in territories if t), key=str.lower),
        tags=tag_list,
    )
