"""Customers as lists and filters read them."""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import ColumnElement, String, bindparam, func, literal_column, text
from sqlalchemy.orm import Session

from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Customer
from touchpoint.storage.queries import driver_connection


def names_by_id(session: Session, ids: Collection[str]) -> dict[str, str]:
    """The names of these customers (deleted or merged ones too), by id."""
    query = text("SELECT id, name FROM customers WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    out: dict[str, str] = {}
    for chunk in chunked(list(ids)):
        out.update((cid, name) for cid, name in session.execute(query, {"ids": chunk}))
    return out


def has_tag(tag: str) -> ColumnElement[bool]:
    """The condition "the customer carries ``tag``" (its tags are a JSON list)."""
    return (
        text("EXISTS (SELECT 1 FROM json_each(customers.tags) WHERE json_each.value = :tag)")
        .bindparams(tag=tag)
        .self_group()  # type: ignore[return-value]
    )


def tags_in_use(session: Session) -> list[str]:
    """Every tag of a live customer, once each, in no particular order."""
    tags = session.execute(
        text(
            "SELECT DISTINCT json_each.value FROM customers, json_each(customers.tags) "
            "WHERE customers.deleted_at IS NULL AND customers.merged_into_id IS NULL"
        )
    ).scalars()
    return [str(t) for t in tags if t]


def words_text(fold_function: str) -> ColumnElement[str]:
    """The customer's name, cities and tags as one text, passed through the SQL function
    ``fold_function`` (see :func:`with_function`) that the words search matches."""
    cities = literal_column(
        "coalesce((SELECT group_concat(json_extract(a.value, '$.city'), ' ') "
        "FROM json_each(customers.addresses) AS a), '')",
        String,
    )
    tags = literal_column(
        "coalesce((SELECT group_concat(t.value, ' ') FROM json_each(customers.tags) AS t), '')",
        String,
    )
    return getattr(func, fold_function)(Customer.name + " " + cities + " " + tags)


def with_function(session: Session, name: str, function: Callable[[str | None], str]) -> Session:
    """The session, its connection knowing ``function`` (one argument, deterministic)
    as the SQL function ``name``."""
    driver_connection(session).create_function(name, 1, function, deterministic=True)
    return session
