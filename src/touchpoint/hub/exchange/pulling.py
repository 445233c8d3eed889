"""Pull pages on the Hub: the changes a caller may see after a cursor, from the stored JSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, Text, bindparam, cast, func, select, union_all

from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import changes, counter, devices

# Built once: a statement object keeps its cache key, so each pull only binds values.
_PULL_COLUMNS = (
    changes.c.server_seq,
    changes.c.change_id,
    changes.c.device_id,
    changes.c.entity,
    changes.c.record_id,
    changes.c.op,
    cast(changes.c.fields, Text).label("fields"),
    changes.c.author,
    changes.c.team,
)
_PULL_ALL = (
    select(*_PULL_COLUMNS)
    .where(changes.c.server_seq > bindparam("after"))
    .order_by(changes.c.server_seq)
    .limit(bindparam("limit"))
)
_PULL_TEAMS = (
    select(*_PULL_COLUMNS)
    .where(
        changes.c.server_seq > bindparam("after"),
        changes.c.team.in_(bindparam("teams", expanding=True)),
    )
    .order_by(changes.c.server_seq)
    .limit(bindparam("limit"))
)


_PULL_TEAMS_UP_TO = (
    select(*_PULL_COLUMNS)
    .where(
        changes.c.server_seq > bindparam("after"),
        changes.c.server_seq <= bindparam("up_to"),
        changes.c.team.in_(bindparam("teams", expanding=True)),
    )
    .order_by(changes.c.server_seq)
)


@functools.lru_cache(maxsize=16)
def _page_end_of_teams(count: int) -> Select[Any]:
    """The last sequence of the next page of several teams' changes, read from the
    (team, seq) index alone: each team's next ``limit`` numbers, merged. With only
    ``team IN (...)``, the database read every change of those teams after the cursor
    and sorted them all, at each page of a long feed."""
    parts = [
        select(changes.c.server_seq)
        .where(changes.c.team == bindparam(f"team{n}"), changes.c.server_seq > bindparam("after"))
        .order_by(changes.c.server_seq)
        .limit(bindparam("limit"))
        .subquery()
        for n in range(count)
    ]
    merged = union_all(*(select(part) for part in parts)).subquery()
    page = select(merged.c.server_seq).order_by(merged.c.server_seq).limit(bindparam("limit"))
    return select(func.max(page.subquery().c.server_seq))


HIGH_WATER = select(counter.c.value).where(counter.c.id == 1)


def pull_json(
    source: Engine | Connection,
    who: Principal,
    after: int,
    limit: int,
    *,
    high: int | None = None,
) -> bytes:
    """A :class:`PullResponse` as JSON. Built from the stored JSON text of each row, put
    in as is (``orjson.Fragment``): the first sync of a laptop streams every record, and
    decoding then re-encoding them all would be most of the Hub's work."""
    return orjson.dumps(pull_page(source, who, after, limit, high=high))


def pull_lines(
    source: Engine | Connection,
    who: Principal,
    after: int,
    limit: int,
    *,
    high: int | None = None,
) -> bytes:
    """The same page as :func:`pull_json` as JSON lines (a pull with ``lines=1``, sent
    as :data:`~touchpoint.sync.protocol.PULL_LINES`): first the page's cursor,
    high-water mark, ``more`` and its number of changes, then one change to a line.
    A laptop reads it a line at a time: one ``orjson.loads`` of a whole page (tens of
    milliseconds in a first sync) holds Python's lock throughout, and the thread
    writing the records beside it waited for each."""
    page = pull_page(source, who, after, limit, high=high)
    found = page.pop("changes")
    head = orjson.dumps({**page, "count": len(found)})
    if not found:
        return head + b"\n"
    # The changes are written as one list, as pull_json writes them, and cut into lines
    # where one change ends and the next begins: a line written apart for each change
    # cost the Hub twice the CPU of the page. Each change starts with its server_seq,
    # and inside a JSON text a quote is escaped, so this mark is only ever found where
    # two objects meet in a list. Found in a change's fields too, or with a newline in
    # stored JSON, the page has more newlines than changes: its lines are written one
    # by one. (Each copy of a page is megabytes: as few as can be.)
    body = orjson.dumps(found).replace(_BETWEEN, _BETWEEN_LINES)
    if body.count(b"\n") == len(found) - 1:
        return b"".join((head, b"\n", memoryview(body)[1:-1], b"\n"))
    dumps = orjson.dumps
    # JSON escapes a newline inside a text, so one here is whitespace in stored JSON
    # (written by another tool, pretty-printed): those lines are written compactly.
    lines = [head, *(_compact(line) if b"\n" in line else line for line in map(dumps, found))]
    lines.append(b"")  # each line ends with its newline
    return b"\n".join(lines)


_BETWEEN = b'},{"server_seq":'
_BETWEEN_LINES = b'}\n{"server_seq":'


def _compact(line: bytes) -> bytes:
    try:
        return orjson.dumps(orjson.loads(line))
    except orjson.JSONDecodeError:  # a lone surrogate: kept, escaped, for the laptop to judge
        return json.dumps(json.loads(line), separators=(",", ":")).encode()


def pull_page(
    source: Engine | Connection,
    who: Principal,
    after: int,
    limit: int,
    *,
    high: int | None = None,
) -> dict[str, Any]:
    """One page of the changes ``who`` may see, for :func:`orjson.dumps`: each row's
    fields are its stored JSON text (a ``Fragment``). The integration API's changes
    feed serves the same pages as laptops pull. Given an engine, it is read on a
    connection of its own (the page holds no reference to it).

    ``high``: the high-water mark when the caller read it already, before the page (as
    the laptops' pull does with its token check, in one statement)."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return pull_page(conn, who, after, limit, high=high)
    conn = source
    if high is None:
        high = high_water(conn)
    rows: Sequence[Any]
    if after >= high:
        # Nothing committed after the cursor when the mark was read: no page to look
        # for (a change committed since comes with the next pull, as it would anyway).
        rows = []
    elif who.sees_all:
        rows = conn.execute(_PULL_ALL, {"after": after, "limit": limit}).all()
    elif len(who.teams) > 1:
        # Where the page ends first (numbers only), then its rows: each step reads the
        # page's worth of index entries or rows, however deep the cursor.
        ends = {"after": after, "limit": limit}
        ends.update({f"team{n}": team for n, team in enumerate(who.teams)})
        up_to = conn.execute(_page_end_of_teams(len(who.teams)), ends).scalar()
        params = {"after": after, "up_to": up_to or after, "teams": list(who.teams)}
        rows = conn.execute(_PULL_TEAMS_UP_TO, params).all()
    else:
        params = {"after": after, "limit": limit, "teams": list(who.teams) or [""]}
        rows = conn.execute(_PULL_TEAMS, params).all()
    fragment = orjson.Fragment
    # Unpacked as tuples: a Row's attribute lookups were a quarter of building a page.
    found = [
        {
            "server_seq": seq,
            "change_id": change_id,
            "device_id": device_id,
            "entity": entity,
            "record_id": record_id,
            "op": op,
            "fields": fragment(fields),
            "author": author,
            "team": team,
        }
        for seq, change_id, device_id, entity, record_id, op, fields, author, team in rows
    ]
    more = len(rows) == limit
    next_after = rows[-1].server_seq if rows else after
    if not more:
        # Nothing else visible up to the high-water mark: skip past other teams' rows.
        next_after = max(next_after, high)
    return {"changes": found, "next_after": next_after, "high_water": high, "more": more}


def high_water(conn: Connection) -> int:
    return int(conn.execute(HIGH_WATER).scalar_one())


def last_device_seq(conn: Connection, device_id: str) -> int:
    found = conn.execute(
        select(devices.c.last_seq).where(devices.c.device_id == device_id)
    ).scalar()
    return int(found or 0)
