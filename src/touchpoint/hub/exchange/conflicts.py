"""Conflict records: a field two people changed at once, and work a customer's delete would hide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from touchpoint.hub.db import changes, records
from touchpoint.hub.exchange.log import HUB_DEVICE, PushLog
from touchpoint.hub.exchange.writing import Row
from touchpoint.storage.models import new_id
from touchpoint.sync.protocol import CONFLICT_ENTITY, ChangeIn


def conflict(
    row: Row, name: str, *, winner: Any, loser: Any, win_v: list[Any], lose_v: list[Any]
) -> dict[str, Any]:
    return {
        "entity": row.entity,
        "record_id": row.record_id,
        "field": name,
        "winner_value": winner,
        "loser_value": loser,
        "winner_author": win_v[3],
        "loser_author": lose_v[3],
        "winner_at": win_v[0],
        "loser_at": lose_v[0],
        "loser_device": lose_v[1],
    }


def conflict_row(log: PushLog, row: Row, data: dict[str, Any]) -> Row:
    """The record a conflict is about (a child's work may raise one on its customer)."""
    if data["entity"] == row.entity and data["record_id"] == row.record_id:
        return row
    return log.load(data["entity"], data["record_id"]) or row


def emit_conflict(conn: Connection, log: PushLog, row: Row, data: dict[str, Any]) -> None:
    record = Row(CONFLICT_ENTITY, new_id(), row.team, data, {}, False)
    log.save_hub_change(record, "insert", {**data, "created_at": log.now}, data["loser_author"])


# --- deletes never hide work ---------------------------------------------------------------
def _what_they_did(entity: str, op: str, data: dict[str, Any]) -> str:
    """What another person did on a customer, in words: "logged a visit"."""
    if entity == "customer":
        return "edited it"
    if op != "insert":
        label = {"interaction": "the interaction", "followup": "a follow-up"}.get(entity, entity)
        return f"edited {label}"
    if entity == "interaction":
        kind = str(data.get("kind") or "interaction")
        return f"logged {'an' if kind[:1] in 'aeiou' else 'a'} {kind}"
    if entity == "followup":
        return f"promised '{str(data.get('title') or '')[:80]}'"
    name = data.get("name") or data.get("title") or ""
    return f"added {entity} {str(name)[:80]}".strip()


def raced_conflict(
    log: PushLog,
    customer: Row,
    *,
    delete_v: list[Any],
    loser: str,
    lose_v: list[Any],
    detail: str,
) -> dict[str, Any] | None:
    """The customer's delete against one person's work on it (once per person and
    delete): restoring it on their laptop undeletes the customer."""
    key = (customer.record_id, loser, delete_v[2])
    if key in log.raced:
        return None
    log.raced.add(key)
    data = conflict(
        customer,
        "deleted_at",
        winner=customer.data.get("deleted_at"),
        loser=None,
        win_v=delete_v,
        lose_v=lose_v,
    )
    data["detail"] = detail
    return data


def work_a_delete_hides(  # noqa: PLR0917
    conn: Connection,
    log: PushLog,
    customer: Row,
    change: ChangeIn,
    author: str,
    version: list[Any],
) -> list[dict[str, Any]]:
    """A customer deleted now: each other person whose work on it the deleter had not
    seen (after their ``base_seq``), and each other person with an open follow-up under
    it, gets a conflict."""
    out: list[dict[str, Any]] = []
    cid = customer.record_id
    customer.data["deleted_at"] = change.fields["deleted_at"][1]  # the winner value
    if change.base_seq is not None:
        unseen = conn.execute(
            select(
                changes.c.author,
                changes.c.entity,
                changes.c.op,
                changes.c.fields,
                changes.c.corrected_at,
                changes.c.device_id,
                changes.c.change_id,
            )
            .where(
                changes.c.team == customer.team,
                changes.c.server_seq > change.base_seq,
                changes.c.author != author,
                changes.c.device_id != HUB_DEVICE,
                changes.c.entity != CONFLICT_ENTITY,
                or_(
                    changes.c.record_id == cid,
                    changes.c.fields["customer_id"].as_string() == cid,
                ),
            )
            .order_by(changes.c.server_seq)
        ).all()
        for r in unseen:
            detail = _what_they_did(r.entity, r.op, dict(r.fields))
            found = raced_conflict(
                log,
                customer,
                delete_v=version,
                loser=r.author,
                lose_v=[r.corrected_at, r.device_id, r.change_id, r.author],
                detail=detail,
            )
            if found:
                out.append(found)
    promises = conn.execute(
        select(records.c.data).where(
            records.c.team == customer.team,
            records.c.entity == "followup",
            records.c.data["customer_id"].as_string() == cid,
            records.c.data["status"].as_string() == "open",
        )
    ).scalars()
    for data in promises:
        owner = data.get("assigned_to")
        if not owner or owner == author or data.get("deleted_at"):
            continue
        found = raced_conflict(
            log,
            customer,
            delete_v=version,
            loser=owner,
            lose_v=[data.get("updated_at") or log.now, "", "", owner],
            detail=f"have an open follow-up '{str(data.get('title') or '')[:80]}' for it",
        )
        if found:
            out.append(found)
    return out


def work_under_a_deleted_customer(  # noqa: PLR0917
    conn: Connection,
    log: PushLog,
    row: Row,
    change: ChangeIn,
    author: str,
    version: list[Any],
) -> list[dict[str, Any]]:
    """Work filed under a customer that was deleted by someone else, by an author who
    had not seen the delete: a conflict for that author."""
    customer_id = row.data.get("customer_id") or (change.fields.get("customer_id") or [0, 0])[1]
    parent = log.load("customer", customer_id) if isinstance(customer_id, str) else None
    if parent is None or not parent.data.get("deleted_at"):
        return []
    delete_v = parent.versions.get("deleted_at")
    if not delete_v or delete_v[3] == author:
        return []
    if change.base_seq is not None:
        seen = conn.execute(
            select(changes.c.server_seq).where(changes.c.change_id == delete_v[2])
        ).scalar()
        if seen is not None and change.base_seq >= seen:
            return []  # they had pulled the delete: no race
    merged = {**row.data, **{k: v[1] for k, v in change.fields.items()}}
    found = raced_conflict(
        log,
        parent,
        delete_v=delete_v,
        loser=author,
        lose_v=version,
        detail=_what_they_did(row.entity, change.op, merged),
    )
    return [found] if found else []
