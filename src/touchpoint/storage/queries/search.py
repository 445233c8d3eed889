"""The full-text search indexes read: matches newest first, their bodies, their count.

Both FTS5 indexes (:data:`NAMES_FTS` of customers and contacts, :data:`ACTIVITY_FTS` of
interactions and follow-ups) hold the ``search_docs`` rows by rowid (``doc_id``);
``expression`` is an FTS5 query (see ``services.search.match_expression``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from sqlalchemy import String, TextualSelect, text
from sqlalchemy.orm import Session

from touchpoint.storage import search_index
from touchpoint.storage.search_index import NAMES_FTS

# Matched words come back between these (each front end renders them its own way).
MARK_START = "\x02"
MARK_END = "\x03"


class Candidate(NamedTuple):
    """A match, as the ranking reads it: its title and body with match marks."""

    doc_id: int
    entity: str
    record_id: str
    customer_id: str | None
    customer_name: str | None
    title: str | None  # with match marks
    body: str | None  # with match marks; "" when only titles were searched


# Newest first is the index's own order: FTS5 stops after :n rows without scoring any.
_CANDIDATES_SQL = f"""
SELECT f.rowid, d.entity, d.record_id, d.customer_id, c.name,
       highlight({{table}}, 0, '{MARK_START}', '{MARK_END}'),
       {{body}}
FROM {{table}} AS f
JOIN search_docs AS d ON d.doc_id = f.rowid
LEFT JOIN customers AS c ON c.id = d.customer_id
WHERE {{table}} MATCH :q {{entity_filter}}
ORDER BY f.rowid DESC
LIMIT :n
"""


def newest_matches(
    session: Session,
    table: str,
    expression: str,
    *,
    entities: Sequence[str],
    limit: int,
    title_only: bool = False,
) -> list[Candidate]:
    """The newest ``limit`` documents of ``entities`` in ``table`` matching
    ``expression``, newest first. ``title_only``: the bodies are not read (""), as
    the expression matches titles only."""
    placeholders = ", ".join(f":e{i}" for i in range(len(entities)))
    body = "''" if title_only else f"highlight({table}, 1, '{MARK_START}', '{MARK_END}')"
    sql = _CANDIDATES_SQL.format(
        table=table, body=body, entity_filter=f"AND d.entity IN ({placeholders})"
    )
    params: dict[str, object] = {"q": expression, "n": limit}
    params.update({f"e{i}": e for i, e in enumerate(entities)})
    return [Candidate(*row) for row in session.execute(text(sql), params)]


def bodies_by_doc(session: Session, doc_ids: Collection[int]) -> dict[int, str | None]:
    """The plain bodies of these documents, by doc id."""
    if not doc_ids:
        return {}
    marks = ", ".join(f":d{i}" for i in range(len(doc_ids)))
    found = session.execute(
        text(f"SELECT doc_id, body FROM search_docs WHERE doc_id IN ({marks})"),
        {f"d{i}": doc_id for i, doc_id in enumerate(doc_ids)},
    )
    return {doc_id: body for doc_id, body in found}


# CROSS JOIN keeps the index outermost: one FTS query, not one per document of a kind.
_COUNT_SQL = """
SELECT count(*) FROM (
    SELECT 1 FROM {table} AS f CROSS JOIN search_docs AS d ON d.doc_id = f.rowid
    WHERE {table} MATCH :q AND d.entity IN ({entities})
    LIMIT :cap
)
"""


def count_matches(
    session: Session, table: str, expression: str, *, entities: Sequence[str], cap: int
) -> int:
    """How many documents of ``entities`` in ``table`` match, counting up to ``cap``."""
    marks = ", ".join(f":e{i}" for i in range(len(entities)))
    params: dict[str, object] = {"q": expression, "cap": cap}
    params.update({f"e{i}": e for i, e in enumerate(entities)})
    sql = _COUNT_SQL.format(table=table, entities=marks)
    return int(session.execute(text(sql), params).scalar_one())


# CROSS JOIN keeps the index of names outermost: one FTS query, not one per document.
_FTS_NAMES = f"""
SELECT d.record_id FROM {NAMES_FTS} AS f CROSS JOIN search_docs AS d ON d.doc_id = f.rowid
WHERE {NAMES_FTS} MATCH :q AND d.entity = :entity {{scope}}
LIMIT :n
"""


def records_matching_names(
    session: Session, entity: str, expression: str, *, customer_id: str | None, limit: int
) -> list[str]:
    """Ids of up to ``limit`` customers or contacts (``entity``) whose names index
    document matches ``expression``; with ``customer_id``, that customer's only."""
    scope = "AND d.customer_id = :customer" if customer_id is not None else ""
    params: dict[str, object] = {"q": expression, "entity": entity, "n": limit}
    if customer_id is not None:
        params["customer"] = customer_id
    return list(session.scalars(text(_FTS_NAMES.format(scope=scope)), params))


# The customers whose names document matches: the index outermost (CROSS JOIN), one FTS
# query whatever the size of the book.
_CUSTOMERS_MATCHING = f"""
SELECT d.record_id FROM {NAMES_FTS} AS f CROSS JOIN search_docs AS d ON d.doc_id = f.rowid
WHERE {NAMES_FTS} MATCH :names_q AND d.entity = 'customer'
"""


def customers_matching_names(expression: str) -> TextualSelect:
    """The ids of the customers whose names index document (name, addresses, tags and
    the rest of their text) matches ``expression``, as a subquery for ``IN``."""
    return text(_CUSTOMERS_MATCHING).bindparams(names_q=expression).columns(record_id=String)


def names_index_complete(session: Session) -> bool:
    """The names index holds every document (no backlog left by a big pull)."""
    return not search_index.lagging(session.connection(), NAMES_FTS)
