"""Merges on the Hub: work under a merged-away customer or contact follows the kept one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from touchpoint.hub.db import records
from touchpoint.hub.exchange.checks import CHILD_ENTITIES
from touchpoint.hub.exchange.log import PushLog
from touchpoint.hub.exchange.writing import Row
from touchpoint.sync.protocol import BOOKKEEPING


def follow_merges(log: PushLog, row: Row, *, names_contacts: bool) -> set[str]:
    """A child filed under a customer merged away files under the one it merged into, and
    a contact merged away is named by the one it merged into."""
    if row.entity not in CHILD_ENTITIES:
        return set()
    redirected = _follow_customer_merges(log, row)
    if not names_contacts:
        return redirected
    if row.entity == "interaction":
        named = row.data.get("contact_ids") or []
        if isinstance(named, list) and named:
            now_named = list(dict.fromkeys(_merged_contact(log, c) for c in named))
            if now_named != named:
                row.data["contact_ids"] = now_named
                redirected.add("contact_ids")
    elif row.entity == "followup":
        contact_id = row.data.get("contact_id")
        if isinstance(contact_id, str) and contact_id:
            final = _merged_contact(log, contact_id)
            if final != contact_id:
                row.data["contact_id"] = final
                redirected.add("contact_id")
    return redirected


def _merged_contact(log: PushLog, contact_id: str) -> str:
    """The contact this one was merged into (following chains of merges), else itself."""
    target, hops = contact_id, 0
    while hops < 10:
        contact = log.load("contact", target)
        nxt = contact.data.get("merged_into_id") if contact else None
        following = log.load("contact", nxt) if isinstance(nxt, str) and nxt else None
        if following is None or contact is None or following.team != contact.team:
            break
        target, hops = nxt, hops + 1
    return target


def _follow_customer_merges(log: PushLog, row: Row) -> set[str]:
    target = row.data.get("customer_id")
    hops = 0
    while target and hops < 10:
        parent = log.load("customer", target)
        nxt = parent.data.get("merged_into_id") if parent else None
        following = log.load("customer", nxt) if nxt else None
        # A merge into another team's customer (refused at the door since; older logs
        # may hold one) is never followed: that team's laptops do not have it.
        if following is None or following.team != row.team:
            break
        target, hops = nxt, hops + 1
    if target and target != row.data.get("customer_id"):
        row.data["customer_id"] = target
        return {"customer_id"}
    return set()


def move_children(conn: Connection, log: PushLog, customer: Row) -> None:
    """A customer merged away: children filed under it by others, in any upload order, move
    to the kept customer too, so every replica ends with the same merge."""
    winner = customer.data["merged_into_id"]
    for entity in CHILD_ENTITIES:
        ids = set(
            conn.execute(
                select(records.c.record_id).where(
                    records.c.team == customer.team,
                    records.c.entity == entity,
                    records.c.data["customer_id"].as_string() == customer.record_id,
                )
            ).scalars()
        )
        # ... and those filed under it earlier in this batch, not written yet.
        ids |= {key[1] for key, row in log.cache.items() if row is not None and key[0] == entity}
        for record_id in sorted(ids):
            child = log.load(entity, record_id)
            if child is None or child.data.get("customer_id") != customer.record_id:
                continue
            _repoint(log, child, "customer_id", winner)


def _repoint(log: PushLog, child: Row, field: str, value: Any) -> None:
    """A colleague's record now names the kept record of a merge: one Hub-made update,
    under the child's last author, with its bookkeeping as it stands."""
    child.data[field] = value
    log.save_hub_change(
        child,
        "update",
        {field: value, **{k: child.data.get(k) for k in BOOKKEEPING}},
        child.data.get("updated_by") or "hub",
    )


def move_contact_references(conn: Connection, log: PushLog, contact: Row) -> None:
    """A contact merged away: colleagues' interactions that name it and follow-ups with
    it, uploaded before or after the merge, name the kept contact, as on the laptop that
    merged."""
    loser, winner = contact.record_id, contact.data["merged_into_id"]
    candidates = {
        "interaction": records.c.data["customer_id"].as_string() == contact.data.get("customer_id"),
        "followup": records.c.data["contact_id"].as_string() == loser,
    }
    for entity, condition in candidates.items():
        ids = set(
            conn.execute(
                select(records.c.record_id).where(
                    records.c.team == contact.team, records.c.entity == entity, condition
                )
            ).scalars()
        )
        ids |= {key[1] for key, row in log.cache.items() if row is not None and key[0] == entity}
        for record_id in sorted(ids):
            child = log.load(entity, record_id)
            if child is None:
                continue
            if entity == "interaction":
                named = child.data.get("contact_ids") or []
                if loser not in named:
                    continue
                field = "contact_ids"
                value: Any = list(dict.fromkeys(winner if c == loser else c for c in named))
            else:
                if child.data.get("contact_id") != loser:
                    continue
                field, value = "contact_id", winner
            _repoint(log, child, field, value)
