"""Finding one record from what a person typed: an id, a name, or the start of a name."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.domain import values as v
from touchpoint.domain.values import short_id
from touchpoint.errors import AmbiguousError, NotFoundError
from touchpoint.services.search import match_expression
from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Contact, Customer, Record
from touchpoint.storage.queries import search as search_queries

M = TypeVar("M")


def live(model: type[Record]):  # type: ignore[no-untyped-def]
    """The condition for records that are neither deleted nor merged away."""
    condition = model.deleted_at.is_(None)
    if hasattr(model, "merged_into_id"):
        condition = condition & model.merged_into_id.is_(None)  # type: ignore[attr-defined]
    return condition


_KIND_NAMES = {"followup": "follow-up", "sync_conflict": "conflict"}


def _kind_name(model: type[object]) -> str:
    entity = getattr(model, "entity", None)
    name = entity if isinstance(entity, str) else getattr(model, "__tablename__", "record")
    return _KIND_NAMES.get(name, name.rstrip("s").replace("_", " "))


def by_id(
    session: Session, model: type[M], ref: str, *, min_prefix: int = 6, strict: bool = True
) -> M | None:
    """The record whose id is ``ref`` or, for a long enough ``ref``, the one record whose
    id starts or ends with it (people copy what an output shows: the end of an id, see
    :func:`short_id`, or its start from a full id); else None.

    ``strict`` (the default): a part of an id shorter than ``min_prefix`` or matching
    several records is an error that says so, not "no such record". Name lookups pass
    ``strict=False``: a short text may still be a name."""
    ref = (ref or "").strip()
    if not ref:
        return None
    record = session.get(model, ref)
    if record is not None:
        return record
    if len(ref) < min_prefix:
        if strict:
            raise NotFoundError(
                f"'{ref}' is too short: give at least {min_prefix} characters of the "
                f"{_kind_name(model)}'s id"
            )
        return None
    column = model.id  # type: ignore[attr-defined]
    part = _escape(ref)
    rows: list[M] = []
    # The start through the id's index; the end (what outputs show) by a scan of it.
    for pattern in (f"{part}%", f"%{part}"):
        rows = list(
            session.scalars(select(model).where(column.like(pattern, escape="\\")).limit(2))
        )
        if rows:
            break
    if len(rows) > 1 and strict:
        raise AmbiguousError(
            f"'{ref}' is part of several {_kind_name(model)}s' ids; give more of the id"
        )
    return rows[0] if len(rows) == 1 else None


# How many records a name may match before a lookup stops counting them exactly.
NAME_MATCHES = 500
SHOWN_MATCHES = 5  # an ambiguous name lists this many, and says how many more


def _folded_candidates(
    session: Session, model: type[Customer] | type[Contact], ref: str, customer_id: str | None
) -> list[str]:
    """Ids of records whose name has every word of ``ref`` as a word prefix, case and
    accents folded: the search index's names, so "gonzalez" finds "González"."""
    expression = match_expression(ref)
    if expression is None:
        return []
    expression = "{title} : (" + expression + ")"
    return search_queries.records_matching_names(
        session, model.entity, expression, customer_id=customer_id, limit=NAME_MATCHES
    )


def _resolve(
    session: Session,
    model: type[Customer] | type[Contact],
    ref: str,
    what: str,
    customer_id: str | None = None,
) -> Customer | Contact:
    """An id (or part of one), else a name as search matches it: case and accents folded
    ("gonzalez supply" is "González Supply LLC"). The one whole name wins over names
    that start with it; several of either is ambiguous, listed with their ids."""
    ref = (ref or "").strip()
    if not ref:
        raise NotFoundError(f"no {what} given")
    record = by_id(session, model, ref, min_prefix=8, strict=False)
    if record is not None:
        return record
    scope = live(model)
    if customer_id is not None and model is Contact:
        scope = scope & (Contact.customer_id == customer_id)
    exact = session.scalars(
        select(model).where(scope, func.lower(model.name) == ref.lower()).limit(6)
    ).all()
    if len(exact) == 1:
        return exact[0]
    found: dict[str, Customer | Contact] = {r.id: r for r in exact}
    by_start = select(model).where(scope, model.name.like(f"{_escape(ref)}%", escape="\\"))
    found.update((r.id, r) for r in session.scalars(by_start.limit(NAME_MATCHES)))
    ids = [i for i in _folded_candidates(session, model, ref, customer_id) if i not in found]
    for chunk in chunked(ids):
        found.update(
            (r.id, r) for r in session.scalars(select(model).where(scope, model.id.in_(chunk)))
        )

    def folded(name: str) -> str:
        return v.fold(" ".join(name.split()))

    wanted = folded(ref)
    same = [r for r in found.values() if folded(r.name) == wanted]
    if len(same) == 1:
        return same[0]
    candidates = same or [r for r in found.values() if folded(r.name).startswith(wanted)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NotFoundError(f"no {what} called '{ref}'")
    candidates.sort(key=lambda r: (v.fold(r.name), r.id))
    listing = ", ".join(f"{c.name} ({short_id(c.id)})" for c in candidates[:SHOWN_MATCHES])
    more = len(candidates) - SHOWN_MATCHES
    if more > 0:
        many = f"{more}+" if len(found) >= NAME_MATCHES else str(more)
        listing += f" … and {many} more (`touchpoint search {ref}` lists them)"
    raise AmbiguousError(f"'{ref}' matches several {what}s: {listing}; give the id")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_customer(session: Session, ref: str) -> Customer:
    record = _resolve(session, Customer, ref, "customer")
    assert isinstance(record, Customer)
    return record


def find_contact(session: Session, ref: str, customer_id: str | None = None) -> Contact:
    record = _resolve(session, Contact, ref, "contact", customer_id)
    assert isinstance(record, Contact)
    return record
