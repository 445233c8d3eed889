"""Customers as lists and filters read them."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, String, bindparam, func, literal_column, text
from sqlalchemy.orm import Session

from touchpoint.storage.chunks import chunked
from touchpoint.storage.models import Customer
from touchpoint.storage.queries import driver_connection, rows_as_one
from touchpoint.storage.queries.watch_list import last_touch_sql, newest_scores_sql


def names_by_id(session: Session, ids: Collection[str]) -> dict[str, str]:
    """The names of these customers (deleted or merged ones too), by id."""
    query = text("SELECT id, name FROM customers WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    out: dict[str, str] = {}
    for chunk in chunked(list(ids)):
        out.update((cid, name) for cid, name in session.execute(query, {"ids": chunk}))
    return out


class NamedCustomer(NamedTuple):
    key: str  # the folded name (identity key "name") it was found by
    id: str
    name: str
    created_at: str  # as stored (UTC text: its order is the time's)


# Only customers have name keys. (Saying entity = 'customer' too would lead SQLite,
# without statistics, to walk every customer key by the primary key instead.)
_BY_NAME_KEY = text(
    "SELECT k.value, c.id, c.name, c.created_at, c.rowid FROM identity_keys AS k "
    "JOIN customers AS c ON c.id = k.record_id "
    "WHERE k.kind = 'name' AND k.value IN :keys "
    "AND c.deleted_at IS NULL AND c.merged_into_id IS NULL"
).bindparams(bindparam("keys", expanding=True))


def live_by_name_key(session: Session, keys: Collection[str]) -> list[NamedCustomer]:
    """The live customers whose folded names (:func:`values.name_key`) are ``keys``,
    through their identity keys: an index lookup per name, not a read of every name.

    In the order of the live customers' name index (by name, then as stored), which a
    read of every live customer's name walks: callers taking the first of a name pick
    the one that read picked."""
    found: list[Any] = []
    for chunk in chunked(sorted(set(keys))):
        found += session.execute(_BY_NAME_KEY, {"keys": chunk}).all()
    # Python orders str as SQLite's BINARY collation orders UTF-8: by code point.
    found.sort(key=lambda row: (row[2], row[4]))
    return [NamedCustomer(*row[:4]) for row in found]


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


# --- the customer list's rows ---------------------------------------------------------


class ListFacts(NamedTuple):
    """A customer as a row of the customer list shows it (times as UTC text)."""

    id: str
    name: str
    status: str
    owner: str | None
    territory: str | None
    tags: list[str]
    email: str | None  # the first one given
    phone: str | None
    city: str | None  # of the first address that names one
    last_touch: str | None
    scores: list[int]  # the newest scores, newest first (watch_list.NEWEST_SCORES at most)
    open_followups: int
    overdue_followups: int  # open and due before ``now``
    next_due: str | None  # the earliest due time of an open one


def _first_sql(column: str, key: str, *, bare: bool) -> str:
    """The first non-empty ``key`` of the items of the JSON list ``c.column`` (``bare``:
    an item that is a plain value counts as its own value), as Python's truth reads
    "non-empty": not null, not '', not 0."""
    plain = "WHEN e.type IN ('text', 'integer', 'real') THEN e.value " if bare else ""
    return (
        "(SELECT v FROM (SELECT CASE WHEN e.type = 'object'"
        f" THEN json_extract(e.value, '$.{key}') {plain}END AS v, e.key AS k"
        f" FROM json_each(c.{column}) AS e)"
        " WHERE v IS NOT NULL AND v <> '' AND v <> 0 ORDER BY k LIMIT 1)"
    )


# Per customer, each fact over its own index: the last touch and the newest scores from
# the partial (customer_id, occurred_at, satisfaction) index, the open promises from
# the customer's ("+f.status": the (status, due_at) index would walk every open one).
_LIST_SQL = f"""
SELECT c.id, c.name, c.status, c.owner, c.territory, coalesce(c.tags, '[]') AS tags,
  {_first_sql("emails", "value", bare=True)} AS email,
  {_first_sql("phones", "value", bare=True)} AS phone,
  {_first_sql("addresses", "city", bare=False)} AS city,
  {last_touch_sql(as_of=False)} AS last_touch,
  {newest_scores_sql(as_of=False)} AS scores,
  (SELECT json_array(count(*), coalesce(sum(f.due_at < :now), 0), min(f.due_at))
     FROM followups f
     WHERE f.customer_id = c.id AND f.deleted_at IS NULL AND +f.status = 'open') AS promises
FROM customers c
WHERE c.id IN (SELECT value FROM json_each(:ids))
"""


def list_facts(session: Session, ids: Sequence[str], now: str) -> list[ListFacts]:
    """The list's facts of these customers (``now``: UTC text, for "overdue"), in no
    particular order; read as one value (:func:`rows_as_one`): the window's database
    thread reads them while the window paints, and a block of rows read row by row
    and column by column held Python's lock several times as long."""
    if not ids:
        return []
    rows = rows_as_one(
        driver_connection(session),
        "id, name, status, owner, territory, json(tags), email, phone, city, last_touch,"
        " json(scores), json(promises)",
        _LIST_SQL,
        {"ids": json.dumps(list(ids)), "now": now},
    )
    out = []
    for cid, name, status, owner, territory, tags, email, phone, city, last, scores, p in rows:
        out.append(
            ListFacts(
                cid,
                name,
                status,
                owner,
                territory,
                list(tags or []),
                None if email is None else str(email),
                None if phone is None else str(phone),
                None if city is None else str(city),
                last,
                scores,
                p[0],
                p[1],
                p[2],
            )
        )
    return out
