"""Search as you type over customers, contacts, notes and feedback, and follow-ups.

SQLite FTS5 does the work: each word typed becomes a prefix term, all must
match, results are ranked by BM25 with the title (a name, a subject) weighing
more than the body. Matched words come back between :data:`MARK_START` and
:data:`MARK_END` so each front end renders highlighting its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text

from touchpoint.services.workspace import Workspace

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


_SQL = f"""
SELECT d.entity, d.record_id, d.customer_id, c.name,
       highlight(search_fts, 0, '{MARK_START}', '{MARK_END}'),
       snippet(search_fts, 1, '{MARK_START}', '{MARK_END}', '…', 14),
       f.rank
FROM search_fts AS f
JOIN search_docs AS d ON d.doc_id = f.rowid
LEFT JOIN customers AS c ON c.id = d.customer_id
WHERE search_fts MATCH :q {{entity_filter}}
ORDER BY f.rank
LIMIT :limit
"""


def search(
    ws: Workspace, query: str, *, limit: int = 20, entities: tuple[str, ...] | None = None
) -> list[SearchHit]:
    """The best ``limit`` matches for ``query``, best first."""
    expression = match_expression(query)
    if expression is None:
        return []
    entity_filter = ""
    params: dict[str, object] = {"q": expression, "limit": max(1, min(limit, 500))}
    if entities:
        names = [e for e in entities if e in GROUPS]
        placeholders = ", ".join(f":e{i}" for i in range(len(names)))
        entity_filter = f"AND d.entity IN ({placeholders})"
        params.update({f"e{i}": e for i, e in enumerate(names)})
    sql = text(_SQL.format(entity_filter=entity_filter))
    with ws.read() as session:
        rows = session.execute(sql, params).all()
    return [
        SearchHit(
            entity=r[0],
            record_id=r[1],
            customer_id=r[2],
            customer_name=r[3],
            title=r[4] or "",
            snippet=r[5] or "",
            rank=float(r[6]),
        )
        for r in rows
    ]


def grouped(hits: list[SearchHit]) -> dict[str, list[SearchHit]]:
    """Hits by group, in the fixed order the search box shows them."""
    out: dict[str, list[SearchHit]] = {label: [] for label in GROUPS.values()}
    for hit in hits:
        out[hit.group].append(hit)
    return {k: v for k, v in out.items() if v}
