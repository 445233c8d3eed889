"""Anti-entropy on the Hub: what a user may see, counted and hashed per entity, and
paged out by id for a laptop that found its copy different.

A digest reads every record of the user's teams (a few seconds at a manager's scope of
a million records), so laptops ask for it rarely: once a day, or when asked to check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from touchpoint.hub.accounts import Principal
from touchpoint.hub.db import records
from touchpoint.hub.exchange import high_water
from touchpoint.storage.models import MODEL_BY_ENTITY
from touchpoint.sync.protocol import CONFLICT_ENTITY, record_hash

# What a laptop stores of each entity: the Hub's data may hold fields it does not know.
COLUMNS = {
    entity: tuple(c.key for c in model.__table__.columns if c.key != "id")
    for entity, model in MODEL_BY_ENTITY.items()
}


def _scoped(query: Any, who: Principal) -> Any:
    if who.sees_all:
        return query
    return query.where(records.c.team.in_(list(who.teams) or [""]))


def digest(conn: Connection, who: Principal) -> dict[str, Any]:
    sums: dict[str, list[int]] = {entity: [0, 0] for entity in MODEL_BY_ENTITY}
    query = _scoped(
        select(records.c.entity, records.c.record_id, records.c.data).where(
            records.c.entity != CONFLICT_ENTITY
        ),
        who,
    )
    for entity, record_id, data in conn.execute(query):
        columns = COLUMNS.get(entity)
        if columns is None:
            continue
        values = {c: data.get(c) for c in columns}
        entry = sums[entity]
        entry[0] += 1
        entry[1] = (entry[1] + record_hash(record_id, values)) % 2**64
    return {
        "entities": {e: {"count": n, "hash": f"{h:016x}"} for e, (n, h) in sums.items()},
        "high_water": high_water(conn),
    }


def records_page(
    conn: Connection, who: Principal, entity: str, after: str, limit: int
) -> dict[str, Any]:
    columns = COLUMNS.get(entity)
    if columns is None:
        return {"records": [], "next_after": None}
    query = _scoped(
        select(records.c.record_id, records.c.data, records.c.team)
        .where(records.c.entity == entity, records.c.record_id > after)
        .order_by(records.c.record_id)
        .limit(limit),
        who,
    )
    rows = conn.execute(query).all()
    found = [
        {"record_id": r, "data": {c: d.get(c) for c in columns}, "team": team}
        for r, d, team in rows
    ]
    return {"records": found, "next_after": rows[-1][0] if len(rows) == limit else None}
