"""Search as you type over customers, contacts, notes and feedback, and follow-ups.

SQLite FTS5 does the work: each word typed becomes a prefix term and all must
match. Matched words come back between :data:`MARK_START` and :data:`MARK_END` so
each front end renders highlighting its own way.

Ranking is bounded so that every search answers quickly, whatever the word: a
two-letter prefix can match half a million notes, and BM25-scoring all of them
took the better part of a second. So names (customers and contacts, their own
index) and activity (interactions and follow-ups) are ranked apart:

* names whose name matches come first: the newest :data:`NAME_CANDIDATES` of them
  ranked by BM25; then, if there is room, names matching only in their other text;
* activity: the newest :data:`ACTIVITY_CANDIDATES` matches ranked by BM25 with the
  title (the subject) weighing ten times the body: the most relevant recent notes.

FTS5 walks matches newest first without scoring them, so finding the oldest
candidate costs little; only the rows from there on are scored. A one-letter word
searches names only (the activity index has no one-letter prefix index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from touchpoint.services.workspace import Workspace
from touchpoint.storage.search_index import ACTIVITY_FTS, NAMES_FTS

MARK_START = "\x02"
MARK_END = "\x03"

GROUPS = {
    "customer": "Customers",
    "contact": "Contacts",
    "interaction": "Notes and feedback",
    "followup": "Follow-ups",
}

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    entity: str  # customer | contact | interaction | followup
    record_id: str
    customer_id: str | None
    customer_name: str | None
    title: str  # with match marks
    snippet: str  # with match marks
    rank: float

    @property
    def group(self) -> str:
        return GROUPS.get(self.entity, self.entity)

    @property
    def plain_title(self) -> str:
        return strip_marks(self.title)

    @property
    def plain_snippet(self) -> str:
        return strip_marks(self.snippet)


def strip_marks(value: str) -> str:
    return value.replace(MARK_START, "").replace(MARK_END, "")


def render_marks(value: str, start: str, end: str) -> str:
    return value.replace(MARK_START, start).replace(MARK_END, end)


def match_expression(query: str) -> str | None:
    """The FTS5 query for what a person typed: every word, as a quoted prefix."""
    words = _WORD.findall(query)
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words[:12])


NAME_CANDIDATES = 2000  # newest names matching by name, ranked by BM25
ACTIVITY_CANDIDATES = 1000  # newest notes and follow-ups matching, ranked by BM25
NAME_ENTITIES = ("customer", "contact")
ACTIVITY_ENTITIES = ("interaction", "followup")
_MIN_ACTIVITY_SHARE = 3  # activity may claim at least limit // 3 of the hits

_CUTOFF_SQL = """
SELECT rowid FROM {table} WHERE {table} MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :skip
"""

_RANKED_SQL = f"""
SELECT d.entity, d.record_id, d.customer_id, c.name,
       highlight({{table}}, 0, '{MARK_START}', '{MARK_END}'),
       snippet({{table}}, 1, '{MARK_START}', '{MARK_END}', '…', 14),
       f.rank, d.doc_id
FROM {{table}} AS f
JOIN search_docs AS d ON d.doc_id = f.rowid
LEFT JOIN customers AS c ON c.id = d.customer_id
WHERE {{table}} MATCH :q AND f.rowid >= :cutoff {{entity_filter}}
ORDER BY f.rank
LIMIT :limit
"""


def _ranked(
    session: Session,
    table: str,
    expression: str,
    *,
    candidates: int,
    limit: int,
    entities: tuple[str, ...],
) -> list[tuple[int, SearchHit]]:
    """(doc_id, hit) for the best ``limit`` of the newest ``candidates`` matches."""
    cutoff = session.execute(
        text(_CUTOFF_SQL.format(table=table)), {"q": expression, "skip": candidates - 1}
    ).scalar()
    params: dict[str, object] = {"q": expression, "cutoff": cutoff or 0, "limit": limit}
    placeholders = ", ".join(f":e{i}" for i in range(len(entities)))
    params.update({f"e{i}": e for i, e in enumerate(entities)})
    sql = _RANKED_SQL.format(table=table, entity_filter=f"AND d.entity IN ({placeholders})")
    rows = session.execute(text(sql), params).all()
    return [
        (
            r[7],
            SearchHit(
                entity=r[0],
                record_id=r[1],
                customer_id=r[2],
                customer_name=r[3],
                title=r[4] or "",
                snippet=r[5] or "",
                rank=float(r[6]),
            ),
        )
        for r in rows
    ]


def _names(
    session: Session, expression: str, limit: int, kinds: tuple[str, ...]
) -> list[SearchHit]:
    by_name = _ranked(
        session,
        NAMES_FTS,
        f"{{title}} : ({expression})",
        candidates=NAME_CANDIDATES,
        limit=limit,
        entities=kinds,
    )
    hits = [hit for _, hit in by_name]
    if len(hits) < limit:
        seen = {doc_id for doc_id, _ in by_name}
        others = _ranked(
            session,
            NAMES_FTS,
            expression,
            candidates=NAME_CANDIDATES,
            limit=limit,
            entities=kinds,
        )
        hits += [hit for doc_id, hit in others if doc_id not in seen][: limit - len(hits)]
    return hits


def search(
    ws: Workspace, query: str, *, limit: int = 20, entities: tuple[str, ...] | None = None
) -> list[SearchHit]:
    """The best ``limit`` matches for ``query``: names first, then notes and follow-ups.

    ``entities`` restricts the search to some of customer, contact, interaction and
    followup."""
    expression = match_expression(query)
    if expression is None:
        return []
    limit = max(1, min(limit, 500))
    wanted = tuple(e for e in (entities or tuple(GROUPS)) if e in GROUPS)
    name_kinds = tuple(e for e in wanted if e in NAME_ENTITIES)
    activity_kinds = tuple(e for e in wanted if e in ACTIVITY_ENTITIES)
    if min(len(w) for w in _WORD.findall(query)[:12]) < 2:
        activity_kinds = ()  # no one-letter prefix index there: names only, still quick
    with ws.read() as session:
        names = _names(session, expression, limit, name_kinds) if name_kinds else []
        activity = (
            [
                hit
                for _, hit in _ranked(
                    session,
                    ACTIVITY_FTS,
                    expression,
                    candidates=ACTIVITY_CANDIDATES,
                    limit=limit,
                    entities=activity_kinds,
                )
            ]
            if activity_kinds
            else []
        )
    # Both kinds get a place: names take what activity leaves of its share.
    names_room = max(
        limit - min(len(activity), limit // _MIN_ACTIVITY_SHARE), limit - len(activity)
    )
    names = names[:names_room]
    return names + activity[: limit - len(names)]


def grouped(hits: list[SearchHit]) -> dict[str, list[SearchHit]]:
    """Hits by group, in the fixed order the search box shows them."""
    out: dict[str, list[SearchHit]] = {label: [] for label in GROUPS.values()}
    for hit in hits:
        out[hit.group].append(hit)
    return {k: v for k, v in out.items() if v}
