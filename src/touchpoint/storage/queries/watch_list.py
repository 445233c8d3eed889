"""Going quiet: each customer's last touch and newest scores, as one query reads them.

Both the watch list (Today, the going-quiet list) and the report's customer book read
the same facts per customer from the partial (customer_id, occurred_at, satisfaction)
index, walked backwards: the last live interaction, and the newest six scores (two
windows of three tell a falling satisfaction); the report also reads whether a score
was given since a moment. The SQL of each fact is written once, here.

Imports no SQLAlchemy: the start reads Today through the standard library's sqlite3
with these queries before SQLAlchemy has loaded. Every function takes a DB-API
connection (sqlite3 or SQLCipher).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


BOOK_CHUNK = 10_000  # customers read at a time (by rowid): the rows of one in memory


class BookRow(NamedTuple):
    """A customer in the book as it stood at a moment: the profile facts the hygiene
    section checks, and the going-quiet facts up to that moment."""

    customer_id: str
    name: str
    owner: str | None
    status: str
    industry: bool  # an industry filled in
    has_contact: bool
    reachable: bool  # an email or a phone of its own or of one of its contacts
    has_address: bool
    scored_since: bool  # a score given between the ``scored_since`` moment and then
    last_change: str | None  # its last confirmation or change known then (UTC text)
    last_touch: str | None  # UTC text
    scores: list[int]  # newest first, at most NEWEST_SCORES


# A list field is "filled" when its JSON text is not an empty list, which a string
# comparison tells without parsing it. Customers created after :as_of were not in the
# book yet; a customer keeps only its newest change (and its creation), so one changed
# after :as_of was last changed, as known then, when it was confirmed or created. Its
# contacts then: NULL when none, else whether one of them had an email or a phone.
_FILLED = "NOT IN ('[]', 'null')"
_BOOK_SQL = f"""
SELECT c.id, c.name, c.owner, c.status,
  c.industry IS NOT NULL AND c.industry != '' AS industry,
  (c.emails {_FILLED} OR c.phones {_FILLED}) AS reach,
  (SELECT max(k.emails {_FILLED} OR k.phones {_FILLED}) FROM contacts k
    WHERE k.customer_id = c.id AND k.deleted_at IS NULL AND k.created_at <= :as_of)
    AS contacts_reach,
  c.addresses {_FILLED} AS addresses,
  EXISTS (SELECT 1 FROM interactions i
    WHERE i.customer_id = c.id AND i.deleted_at IS NULL AND i.satisfaction IS NOT NULL
      AND i.occurred_at >= :scored_since AND i.occurred_at <= :as_of) AS scored_since,
  max(c.created_at,
    coalesce(CASE WHEN c.confirmed_at <= :as_of THEN c.confirmed_at END, ''),
    coalesce(CASE WHEN c.updated_at <= :as_of THEN c.updated_at END, '')) AS last_change,
  {last_touch_sql(as_of=True)} AS last_touch,
  {newest_scores_sql(as_of=True)} AS scored
FROM customers c{{hint}}
WHERE c.deleted_at IS NULL AND c.merged_into_id IS NULL AND c.status != 'former'
  AND c.created_at <= :as_of
"""


def _flag(condition: str) -> str:
    """A condition as JSON true or false (so that it is read as a bool)."""
    return f"json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)"


# Every column in BookRow's order, each ready to be a BookRow's.
_BOOK_COLUMNS = ", ".join(
    [
        "id, name, owner, status",
        _flag("industry"),
        _flag("contacts_reach IS NOT NULL"),
        _flag("reach OR contacts_reach"),
        _flag("addresses"),
        _flag("scored_since"),
        "last_change, last_touch, json(scored)",
    ]
)


def book_rows(
    conn: Any, *, as_of: str, scored_since: str, owners: Sequence[str] | None = None
) -> Iterator[list[BookRow]]:
    """The live active and prospect customers that existed at ``as_of`` (UTC text), as
    they and their contacts stood then, a chunk at a time; ``scored_since``: the moment
    (UTC text) from which a score counts for :attr:`BookRow.scored_since`. ``owners``:
    only their customers, found through the owner index, in one chunk (for a few
    owners; a big team owns most of the book, which one sequential scan reads faster).
    """
    params: dict[str, Any] = {"as_of": as_of, "scored_since": scored_since}
    if owners is not None:
        names = [f"o{n}" for n in range(len(owners))]
        listed = ", ".join(":" + n for n in names) or "NULL"
        params.update(zip(names, owners, strict=True))
        sql = _BOOK_SQL.format(hint="") + f" AND c.owner IN ({listed})"
        yield list(map(BookRow._make, rows_as_one(conn, _BOOK_COLUMNS, sql, params)))
        return
    # The whole book is read in table order, a range of rowids at a time (the planner
    # would otherwise walk the live customers' name index and fetch every row out of
    # order, twice as slow): a chunk's rows, not the whole book's, are in memory at once.
    sql = _BOOK_SQL.format(hint=" NOT INDEXED") + " AND c.rowid >= :low AND c.rowid < :high"
    first, last = conn.execute("SELECT min(rowid), max(rowid) FROM customers").fetchone()
    for low in range(first or 0, (last or -1) + 1, BOOK_CHUNK):
        params.update(low=low, high=low + BOOK_CHUNK)
        # The report reads this on a thread beside its period figures: as one value.
        yield list(map(BookRow._make, rows_as_one(conn, _BOOK_COLUMNS, sql, params)))
