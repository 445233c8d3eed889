"""Going quiet: each customer's last touch and newest scores, as one query reads them.

Both the watch list (Today, the going-quiet list) and the report's customer book read
the same facts per customer from the partial (customer_id, occurred_at, satisfaction)
index, walked backwards: the last live interaction, and the newest six scores (two
windows of three tell a falling satisfaction); the report also reads when the last
score was given. The SQL of each fact is written once, here.

Imports no SQLAlchemy: the start reads Today through the standard library's sqlite3
with these queries before SQLAlchemy has loaded. Every function takes a DB-API
connection (sqlite3 or SQLCipher).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from touchpoint.storage.queries import rows_as_one

NEWEST_SCORES = 6  # two windows of three scores (metrics.SATISFACTION_WINDOW)


def last_touch_sql(*, as_of: bool) -> str:
    """The customer ``c``'s last live interaction (UTC text); with ``as_of``, the last
    one up to the ``:as_of`` parameter."""
    bound = " AND i.occurred_at <= :as_of" if as_of else ""
    return (
        "(SELECT max(i.occurred_at) FROM interactions i"
        f" WHERE i.customer_id = c.id AND i.deleted_at IS NULL{bound})"
    )


def newest_scores_sql(*, as_of: bool) -> str:
    """The customer ``c``'s newest scores, newest first, as one JSON array (``[]`` when
    none); with ``as_of``, those up to the ``:as_of`` parameter. Read inside
    :func:`rows_as_one` as ``json(...)``, so that it comes back as a list."""
    bound = " AND i.occurred_at <= :as_of" if as_of else ""
    return (
        "(SELECT json_group_array(score) FROM ("
        " SELECT i.satisfaction AS score FROM interactions i"
        " WHERE i.customer_id = c.id AND i.deleted_at IS NULL"
        f" AND i.satisfaction IS NOT NULL{bound}"
        f" ORDER BY i.occurred_at DESC LIMIT {NEWEST_SCORES}))"
    )


def last_scored_sql() -> str:
    """When the customer ``c`` was last given a score, up to the ``:as_of`` parameter
    (the first entry of the same index walk: one more step on pages just read)."""
    return (
        "(SELECT max(i.occurred_at) FROM interactions i"
        " WHERE i.customer_id = c.id AND i.deleted_at IS NULL"
        " AND i.satisfaction IS NOT NULL AND i.occurred_at <= :as_of)"
    )


# --- the watch list ---------------------------------------------------------------


class WatchRow(NamedTuple):
    """An active customer with what decides whether it is going quiet."""

    customer_id: str
    name: str
    owner: str | None
    last_touch: str | None  # UTC text; None: never touched
    scores: list[int]  # the newest scores, newest first, at most NEWEST_SCORES


# With an owner, the owner's index picks the customers ("+c.status" keeps SQLite from
# walking every active customer of the book instead: 2.5x slower on L).
_WATCH_SQL = f"""
SELECT c.id, c.name, c.owner,
  {last_touch_sql(as_of=False)} AS last_touch,
  {newest_scores_sql(as_of=False)} AS scores
FROM customers c
WHERE {{status}} = 'active' AND c.deleted_at IS NULL AND c.merged_into_id IS NULL
  {{owner_filter}}
"""


def watch_sql(*, by_owner: bool) -> str:
    """The watch list's query; with ``by_owner`` it takes an ``:owner`` parameter."""
    if by_owner:
        return _WATCH_SQL.format(status="+c.status", owner_filter="AND c.owner = :owner")
    return _WATCH_SQL.format(status="c.status", owner_filter="")


def watch_rows(conn: Any, *, owner: str | None) -> list[WatchRow]:
    """Every active customer (``owner``'s only, when given) with its last touch and
    newest scores, in no particular order; read as one value (see :func:`rows_as_one`:
    the start reads these on a thread while the window is built)."""
    params = {"owner": owner} if owner else {}
    rows = rows_as_one(
        conn, "id, name, owner, last_touch, json(scores)", watch_sql(by_owner=bool(owner)), params
    )
    return [
        WatchRow(cid, name, own, last_touch, scores) for cid, name, own, last_touch, scores in rows
    ]


# --- the customer book, as the report reads it -------------------------------------


class BookRow(NamedTuple):
    """A customer in the book as it stood at a moment: the profile facts the hygiene
    section checks, and the going-quiet facts up to that moment."""

    customer_id: str
    name: str
    owner: str | None
    status: str
    industry: str | None
    reachable: bool  # an email or a phone of its own
    has_address: bool
    confirmed_at: str | None  # UTC text, like the three times below
    updated_at: str | None
    created_at: str | None
    last_touch: str | None
    scores: list[int]  # newest first, at most NEWEST_SCORES
    last_scored_at: str | None


class ContactReach(NamedTuple):
    """A customer's contacts, and how many of them have an email or a phone."""

    contacts: int
    reachable: int


# A list field is "filled" when its JSON text is not an empty list, which a string
# comparison tells without parsing it. Customers created after :as_of were not in the
# book yet.
_FILLED = "NOT IN ('[]', 'null')"
_BOOK_SQL = f"""
SELECT c.id, c.name, c.owner, c.status, c.industry,
  (c.emails {_FILLED} OR c.phones {_FILLED}) AS reach,
  c.addresses {_FILLED} AS addresses,
  c.confirmed_at, c.updated_at, c.created_at,
  {last_touch_sql(as_of=True)} AS last_touch,
  {newest_scores_sql(as_of=True)} AS scored,
  {last_scored_sql()} AS last_scored
FROM customers c{{hint}}
WHERE c.deleted_at IS NULL AND c.merged_into_id IS NULL AND c.status != 'former'
  AND c.created_at <= :as_of
"""
# Contacts per customer and how many can be reached, counted on their own and joined
# in Python: for the whole book one sequential scan (through the customer_id index the
# table is read in random order, three times slower); for a few owners, their
# customers' contacts through that index.
_CONTACTS_SQL = f"""
SELECT customer_id, count(*), sum(emails {_FILLED} OR phones {_FILLED})
FROM contacts NOT INDEXED WHERE deleted_at IS NULL AND created_at <= :as_of
GROUP BY customer_id
"""
_OWNERS_CONTACTS_SQL = f"""
SELECT customer_id, count(*), sum(emails {_FILLED} OR phones {_FILLED})
FROM contacts WHERE deleted_at IS NULL AND created_at <= :as_of
  AND customer_id IN (SELECT id FROM customers WHERE owner IN ({{owners}}))
GROUP BY customer_id
"""


# Every column in BookRow's order; the two flags as JSON true/false, so that each row
# comes back ready to be a BookRow.
_BOOK_COLUMNS = (
    "id, name, owner, status, industry,"
    " json(CASE WHEN reach THEN 'true' ELSE 'false' END),"
    " json(CASE WHEN addresses THEN 'true' ELSE 'false' END),"
    " confirmed_at, updated_at, created_at, last_touch, json(scored), last_scored"
)


def book_rows(
    conn: Any, *, as_of: str, owners: Sequence[str] | None = None
) -> tuple[list[BookRow], dict[str, ContactReach]]:
    """The live active and prospect customers that existed at ``as_of`` (UTC text) and
    their contacts' reach by customer id, as they stood then. ``owners``: only their
    customers, found through the owner index (for a few owners; a big team owns most of
    the book, which one sequential scan reads faster)."""
    # The whole book is read in table order: the planner would otherwise walk the live
    # customers' name index and fetch every row out of order, twice as slow.
    sql, contacts_sql = _BOOK_SQL.format(hint=" NOT INDEXED"), _CONTACTS_SQL
    params: dict[str, str] = {"as_of": as_of}
    if owners is not None:
        sql = _BOOK_SQL.format(hint="")
        names = [f"o{n}" for n in range(len(owners))]
        listed = ", ".join(":" + n for n in names) or "NULL"
        sql += f" AND c.owner IN ({listed})"
        contacts_sql = _OWNERS_CONTACTS_SQL.format(owners=listed)
        params.update(zip(names, owners, strict=True))
    # The report reads this on a thread beside its period figures: as one value.
    rows = list(map(BookRow._make, rows_as_one(conn, _BOOK_COLUMNS, sql, params)))
    contacts = {
        cid: ContactReach(n, reach or 0) for cid, n, reach in conn.execute(contacts_sql, params)
    }
    return rows, contacts
