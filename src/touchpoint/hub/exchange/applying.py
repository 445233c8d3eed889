"""One pushed change applied: its scope and references checked, merged field by field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from touchpoint.hub import door
from touchpoint.hub.accounts import Principal
from touchpoint.hub.exchange.checks import CHILD_ENTITIES, Rejected, unseen, validate
from touchpoint.hub.exchange.conflicts import (
    conflict,
    conflict_row,
    emit_conflict,
    raced_conflict,
    work_a_delete_hides,
    work_under_a_deleted_customer,
)
from touchpoint.hub.exchange.log import PushLog
from touchpoint.hub.exchange.merges import follow_merges, move_children, move_contact_references
from touchpoint.hub.exchange.writing import Row
from touchpoint.storage.models import MODEL_BY_ENTITY
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.sync.protocol import BOOKKEEPING, CONFLICT_ENTITY, ChangeIn

# What anyone may change on a colleague's interaction: where it is filed, when records merge.
INTERACTION_FILING = frozenset({"customer_id", "contact_ids"})


def _team_of_new(log: PushLog, who: Principal, change: ChangeIn) -> str:
    fields = change.fields
    if change.entity in CHILD_ENTITIES:
        parent_id = (fields.get("customer_id") or [None, None])[1]
        if not parent_id:
            raise Rejected(f"{change.entity}.customer_id: a new {change.entity} needs it")
        parent = log.load("customer", parent_id)
        if parent is None or not who.may_see(parent.team):
            raise unseen("customer", parent_id)
        return parent.team
    if change.entity == "merge":
        kind = (fields.get("kind") or [None, None])[1]
        winner_id = (fields.get("winner_id") or [None, None])[1]
        if kind not in ("customer", "contact") or not winner_id:
            raise Rejected("merge.kind: a merge is of customers or of contacts")
        winner = log.load(kind, winner_id)
        if winner is None or not who.may_see(winner.team):
            raise unseen(kind, winner_id)
        return winner.team
    return who.home_team


# What each reference names. ``merged_into_id`` names a record of its own entity; a
# merge's winner and loser are of the merge's kind.
_REFERS = {"customer_id": "customer", "contact_id": "contact", "interaction_id": "interaction"}


def _check_references(log: PushLog, who: Principal, change: ChangeIn, row: Row) -> None:
    """Every record a change names exists, may be seen by its writer and lives in the
    referring record's team: one team's record never points into another's, which that
    team's laptops do not hold."""
    for name, (_old, new) in change.fields.items():
        if new is None or (name not in door.ID_FIELDS and name != "contact_ids"):
            continue
        if name == "merged_into_id":
            kind = change.entity
        elif name in ("winner_id", "loser_id"):
            kind = (change.fields.get("kind") or [None, row.data.get("kind")])[1]
        else:
            kind = _REFERS.get(name, "contact")
        for target_id in new if name == "contact_ids" else [new]:
            if name == "merged_into_id" and target_id == row.record_id:
                raise Rejected(f"{change.entity}.merged_into_id: a record cannot merge into itself")
            target = log.load(kind, target_id)
            if target is None or not who.may_see(target.team):
                raise unseen(kind, target_id)
            if target.team != row.team:
                label = target.data.get("name") or target.data.get("title") or target_id
                raise Rejected(
                    f"{change.entity}.{name}: {kind} '{label}' belongs to team {target.team}, "
                    f"this {change.entity} to team {row.team}: records of different teams "
                    "cannot be merged or linked"
                )


def apply_change(
    conn: Connection,
    log: PushLog,
    who: Principal,
    *,
    device_id: str,
    change: ChangeIn,
    offset: timedelta,
) -> int:
    if change.entity == CONFLICT_ENTITY or change.entity not in MODEL_BY_ENTITY:
        raise Rejected(f"entity: '{change.entity}' is not something Touchpoint syncs")
    try:
        corrected = _shift(change.at, offset)
        if change.hub_at is not None:
            # Measured on the laptop when the edit was made, against the Hub's clock: a
            # wall clock corrected since then does not move it (never past the Hub's now).
            corrected = min(to_utc_text(from_utc_text(change.hub_at)), log.now)
    except (ValueError, OverflowError) as exc:
        raise Rejected(f"at: {change.at!r} is not a UTC time") from exc
    row = log.load(change.entity, change.record_id)
    if row is not None and not who.may_see(row.team):
        # The same answer as for a record the Hub does not have (below).
        raise unseen(change.entity, change.record_id)
    if row is None and change.op != "insert":
        # An edit of a record whose creation has not arrived (or was refused).
        raise unseen(change.entity, change.record_id)
    validate(change, row is None)
    if row is None:
        row = Row(change.entity, change.record_id, _team_of_new(log, who, change), {}, {}, False)
    _check_references(log, who, change, row)
    if (
        change.entity == "interaction"
        and row.exists
        and row.data.get("created_by") != (change.author if who.sees_all else who.email)
        and set(change.fields) - INTERACTION_FILING
    ):
        raise Rejected(
            f"interaction: only {row.data.get('created_by')} edits this record of what happened"
        )
    # A change is signed by the account that sent it (an admin may relay others' changes).
    author = change.author if who.sees_all else who.email
    version = [corrected, device_id, change.change_id, author]
    conflicts: list[dict[str, Any]] = []
    deleted_before = row.data.get("deleted_at")
    for name, (old, new) in change.fields.items():
        current = row.data.get(name)
        held = row.versions.get(name)
        if new == current:
            if held is None or version > held:
                row.versions[name] = version
            continue
        if held is None or old == current:
            # Based on what the Hub holds (or first writer): causally later, it applies.
            row.data[name] = new
            row.versions[name] = max(version, held or version)
            continue
        # Concurrent edits of one field: the later corrected edit time wins everywhere.
        if version > held:
            conflicts.append(
                conflict(row, name, winner=new, loser=current, win_v=version, lose_v=held)
            )
            row.data[name] = new
            row.versions[name] = version
        else:
            conflicts.append(
                conflict(row, name, winner=current, loser=new, win_v=held, lose_v=version)
            )
    delete_v = row.versions.get("deleted_at")
    if (
        deleted_before
        and "deleted_at" not in change.fields
        and row.exists
        and change.entity == "customer"
        and delete_v
    ):
        # An edit of a customer someone deleted: it stays deleted, its editor is told
        # (once per push, with their other work on it).
        if delete_v[3] != author:
            found = raced_conflict(
                log, row, delete_v=delete_v, loser=author, lose_v=version, detail="edited it"
            )
            if found:
                conflicts.append(found)
    elif deleted_before and "deleted_at" not in change.fields and row.exists:
        # An edit raced a delete: the record stays deleted, the edit is kept and surfaced.
        conflicts.append(
            conflict(
                row,
                "deleted_at",
                winner=deleted_before,
                loser=None,
                win_v=row.versions.get("deleted_at") or version,
                lose_v=version,
            )
        )
    deleting = (
        change.entity == "customer"
        and row.exists
        and not deleted_before
        and (change.fields.get("deleted_at") or [None, None])[1] is not None
    )
    if deleting:
        conflicts.extend(work_a_delete_hides(conn, log, row, change, author, version))
    elif change.entity in CHILD_ENTITIES:
        conflicts.extend(work_under_a_deleted_customer(conn, log, row, change, author, version))
    if not row.exists:
        row.data["created_at"] = change.at
        row.data["created_by"] = author
    row.data["updated_at"] = change.at
    row.data["updated_by"] = author
    redirected = follow_merges(
        log,
        row,
        names_contacts=not row.exists or bool({"contact_ids", "contact_id"} & set(change.fields)),
    )
    log.save(row)
    touched = set(change.fields) | set(BOOKKEEPING) | redirected
    seq = log.append(
        change_id=change.change_id,
        device_id=device_id,
        user_id=who.user_id,
        row=row,
        op=change.op,
        fields={k: row.data.get(k) for k in sorted(touched)},
        at=change.at,
        corrected_at=corrected,
        author=author,
    )
    for data in conflicts:
        emit_conflict(conn, log, conflict_row(log, row, data), data)
    if (
        change.entity == "customer"
        and row.data.get("merged_into_id")
        and ("merged_into_id" in change.fields)
    ):
        move_children(conn, log, row)
    if (
        change.entity == "contact"
        and row.data.get("merged_into_id")
        and ("merged_into_id" in change.fields)
    ):
        move_contact_references(conn, log, row)
    return seq


def _shift(text: str, offset: timedelta) -> str:
    return to_utc_text(from_utc_text(text) + offset)
