"""Search as you type over customers, contacts, notes and feedback, and follow-ups.

SQLite FTS5 does the work: each word typed becomes a prefix term and all must
match. Matched words come back between :data:`MARK_START` and :data:`MARK_END` so
each front end renders highlighting its own way.

Ranking is bounded so that every search answers quickly, whatever the word: a
two-letter prefix can match half a million notes, and BM25-scoring all of them
took the better part of a second. So names (customers and contacts, their own
index) and activity (interactions and follow-ups) are ranked apart:

* names whose name matches come first: the newest :data:`NAME_CANDIDATES` of them,
  ranked; then, if there is room, names matching only in their other text;
* activity: the newest :data:`ACTIVITY_CANDIDATES` matches, ranked: the most
  relevant recent notes.

FTS5 hands matches over newest first without scoring them; the candidates are then
ranked here by BM25 term frequency and length (see :func:`_score`), with the title
(a name, a subject) weighing ten times the body. A one-letter word searches names
only (the activity index has no one-letter prefix index).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from touchpoint.storage import search_index
from touchpoint.storage.queries import search as search_queries
from touchpoint.storage.queries.search import MARK_END, MARK_START
from touchpoint.storage.search_index import ACTIVITY_FTS, NAMES_FTS
from touchpoint.storage.workspace import Workspace

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


def query_words(query: str) -> list[str]:
    """What a person typed (its first 12 words) as the indexes' words: "e_mail" is two."""
    return [token for word in _WORD.findall(query)[:12] for token in search_index.tokens(word)]


def match_expression(query: str) -> str | None:
    """The FTS5 query for what a person typed: every word, as a quoted prefix."""
    return _expression(query_words(query))


def _expression(words: list[str]) -> str | None:
    return " ".join(f'"{w}"*' for w in words) or None


NAME_CANDIDATES = 500  # newest names matching by name (then by other text), ranked
ACTIVITY_CANDIDATES = 250  # newest notes and follow-ups matching, ranked
NAME_ENTITIES = ("customer", "contact")
ACTIVITY_ENTITIES = ("interaction", "followup")
_MIN_ACTIVITY_SHARE = 3  # activity may claim at least limit // 3 of the hits
_TITLE_WEIGHT = 10.0  # a word in the title (a name, a subject) counts ten times one in the body
_K1, _B = 1.2, 0.75  # BM25's usual term-frequency saturation and length normalisation
_SNIPPET_WORDS = 14

# A phone is indexed twice, as stored (+4917557346430) and as shown (+49 175 57346430), so
# either form typed finds it; a snippet shows it once. Match marks may sit inside either.
_PHONE_TWICE = re.compile(
    r"(?P<stored>\x02?\+\x02?\d{6,15}\x03?) (?P<shown>\x02?\+\x02?\d+\x03?(?: \x02?\d+\x03?)+)"
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _phone_once(match: re.Match[str]) -> str:
    stored, shown = match["stored"], match["shown"]
    if _digits(stored) != _digits(shown):
        return match[0]
    # The shown form, unless only the stored one holds the match.
    return stored if MARK_START in stored and MARK_START not in shown else shown


def snippet(marked: str, words: int = _SNIPPET_WORDS) -> str:
    """About ``words`` words of ``marked`` text around its first match, '…' where cut."""
    marked = _PHONE_TWICE.sub(_phone_once, marked)
    spans = [m.span() for m in _WORD.finditer(marked)]
    if len(spans) <= words:
        return marked.strip()
    first = marked.find(MARK_START)
    hit = next((k for k, (_, end) in enumerate(spans) if end > first), 0) if first >= 0 else 0
    start = max(0, min(hit - 2, len(spans) - words))
    stop = start + words - 1
    begin, end = spans[start][0], spans[stop][1]
    if begin > 0 and marked[begin - 1] == MARK_START:
        begin -= 1
    if end < len(marked) and marked[end] == MARK_END:
        end += 1
    out = marked[begin:end]
    if out.count(MARK_START) > out.count(MARK_END):
        out += MARK_END
    return ("…" if start > 0 else "") + out + ("…" if stop < len(spans) - 1 else "")


def _score(columns: list[tuple[int, int]], average: list[float]) -> float:
    """BM25 over the candidates without its IDF factor, from (matches, words) per column.

    FTS5's bm25() computes each word's IDF by walking every document that matches it,
    which for a common prefix is the whole cost of a search; among documents that
    all match every word, tf and length carry the ranking."""
    score = 0.0
    for (tf, length), avg, weight in zip(columns, average, (_TITLE_WEIGHT, 1.0), strict=True):
        if tf:
            norm = 1 - _B + _B * length / (avg or 1)
            score += weight * tf * (_K1 + 1) / (tf + _K1 * norm)
    return score


def _ranked(
    session: Session,
    table: str,
    expression: str,
    *,
    candidates: int,
    limit: int,
    entities: tuple[str, ...],
    title_only: bool = False,
) -> list[tuple[int, SearchHit]]:
    """(doc_id, hit) for the best ``limit`` of the newest ``candidates`` matches, best first.

    ``title_only``: the expression matches titles only, so bodies carry no marks and
    play no part in the ranking; only the shown ones are read, for their snippet."""
    rows = search_queries.newest_matches(
        session, table, expression, entities=entities, limit=candidates, title_only=title_only
    )
    if not rows:
        return []
    counted = [
        # Words counted by their spaces: near enough for length, far cheaper than a regex.
        [(col.count(MARK_START), col.count(" ") + 1) for col in (r.title or "", r.body or "")]
        for r in rows
    ]
    average = [sum(c[k][1] for c in counted) / len(counted) for k in (0, 1)]
    # Newest first already; a stable sort keeps the newer of two equal scores first.
    order = sorted(range(len(rows)), key=lambda k: -_score(counted[k], average))[:limit]
    bodies = {k: rows[k].body or "" for k in order}
    if title_only and order:
        wanted = {rows[k].doc_id: k for k in order}
        found = search_queries.bodies_by_doc(session, wanted)
        bodies.update({wanted[doc_id]: body or "" for doc_id, body in found.items()})
    return [
        (
            rows[k].doc_id,
            SearchHit(
                entity=rows[k].entity,
                record_id=rows[k].record_id,
                customer_id=rows[k].customer_id,
                customer_name=rows[k].customer_name,
                title=rows[k].title or "",
                snippet=snippet(bodies[k]),
                rank=-_score(counted[k], average),
            ),
        )
        for k in order
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
        title_only=True,
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
    words = query_words(query)
    expression = _expression(words)
    if expression is None:
        return []
    limit = max(1, min(limit, 500))
    wanted = tuple(e for e in (entities or tuple(GROUPS)) if e in GROUPS)
    name_kinds = tuple(e for e in wanted if e in NAME_ENTITIES)
    activity_kinds = tuple(e for e in wanted if e in ACTIVITY_ENTITIES)
    if min(len(w) for w in words) < 2:
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


COUNT_CAP = 10_000  # past this many matches, "10,000 or more" says enough


def count_matches(
    ws: Workspace, query: str, *, entities: tuple[str, ...] | None = None, cap: int | None = None
) -> int:
    """How many records :func:`search` looks through for ``query`` (at most ``cap``,
    :data:`COUNT_CAP` by default), so that a cut list can say how many more there are.
    Each index stops counting at ``cap``."""
    cap = COUNT_CAP if cap is None else cap
    words = query_words(query)
    expression = _expression(words)
    if expression is None:
        return 0
    wanted = tuple(e for e in (entities or tuple(GROUPS)) if e in GROUPS)
    kinds = {
        NAMES_FTS: tuple(e for e in wanted if e in NAME_ENTITIES),
        ACTIVITY_FTS: tuple(e for e in wanted if e in ACTIVITY_ENTITIES),
    }
    if min(len(w) for w in words) < 2:
        kinds[ACTIVITY_FTS] = ()  # as search does: names only for a one-letter word
    total = 0
    with ws.read() as session:
        for table, entity_kinds in kinds.items():
            if not entity_kinds:
                continue
            total += search_queries.count_matches(
                session, table, expression, entities=entity_kinds, cap=cap
            )
    return min(total, cap)


def grouped(hits: list[SearchHit]) -> dict[str, list[SearchHit]]:
    """Hits by group, in the fixed order the search box shows them."""
    out: dict[str, list[SearchHit]] = {label: [] for label in GROUPS.values()}
    for hit in hits:
        out[hit.group].append(hit)
    return {k: v for k, v in out.items() if v}


# --- indexing that follows a big pull ---------------------------------------------------
CATCH_UP_DOCUMENTS = 10_000  # per transaction: about a third of a second of the write lock


def index_catching_up(ws: Workspace) -> bool:
    """Records from a big pull still wait to be indexed: a search may miss them."""
    with ws.read() as session:
        return search_index.lagging(session.connection())


def index_backlog(ws: Workspace) -> int:
    """How many records wait to be indexed for search (after a big pull; 0 mostly)."""
    with ws.read() as session:
        return search_index.backlog(session.connection())


def catch_up_index(
    ws: Workspace,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    documents: int = CATCH_UP_DOCUMENTS,
) -> bool:
    """Index what a big pull left to index, a short transaction at a time so the rep's
    own saves wait a moment at most. ``progress(done, total)`` in document ids. True
    when nothing waits any more; False when cancelled (what is indexed stays: the
    next catch-up goes on from there)."""
    start: int | None = None
    while True:
        if cancel is not None and cancel.is_set():
            return False
        with ws.db.engine.begin() as conn:
            step = search_index.catch_up(conn, documents)
        if step is None:
            return True
        reached, newest = step
        if start is None:
            start = max(reached - documents, 0)
        if progress is not None:
            progress(reached - start, max(newest - start, 1))
        if reached >= newest:
            return True


def catch_up_index_step(
    ws: Workspace, documents: int = CATCH_UP_DOCUMENTS, *, names_only: bool = False
) -> bool:
    """One short transaction of :func:`catch_up_index`; True when more waits (the window
    runs one step per turn of its database thread, the rep's work between them).
    ``names_only``: the names index alone (customers and contacts), for a reader that
    never searches the notes."""
    tables = (NAMES_FTS,) if names_only else search_index.FTS_TABLES
    with ws.db.engine.begin() as conn:
        step = search_index.catch_up(conn, documents, tables)
    return step is not None and step[0] < step[1]
