"""Finding likely duplicates, merging them, and undoing a merge.

A duplicate is spotted by a shared normalised email, phone or web host (an index
lookup in ``identity_keys``), by the same folded name, or by a very similar name
(rapidfuzz), compared only within a block of names that start alike so it stays
fast with 100,000 customers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from touchpoint.domain import values as v
from touchpoint.errors import NotFoundError, ValidationError, ValidationErrors
from touchpoint.services.lookup import by_id, live
from touchpoint.storage.models import (
    Contact,
    Customer,
    CustomerTeam,
    Deal,
    FollowUp,
    IdentityKey,
    Interaction,
    Merge,
    Meta,
)
from touchpoint.storage.tracking import jsonable
from touchpoint.storage.workspace import Changes, Saved, Workspace

SIMILAR_NAME = 90.0  # token_sort_ratio, 0..100
REASON_LABEL = {"email": "same email", "phone": "same phone", "host": "same website"}


@dataclass(frozen=True)
class DuplicateCandidate:
    entity: str  # customer | contact
    record_id: str
    name: str
    customer_id: str | None
    reasons: tuple[str, ...]
    score: float  # 100 for a shared email/phone/website or the same name


@dataclass(frozen=True)
class DuplicatePair:
    entity: str
    first_id: str
    first_name: str
    second_id: str
    second_name: str
    reasons: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class MergeView:
    id: str
    kind: str
    kept_id: str
    kept_name: str
    merged_id: str
    merged_name: str
    moved: dict[str, int]
    undone: bool


def _block(key: str) -> str:
    return key[:3]


def _key_values(
    emails: Iterable[str], phones: Iterable[str], website: str | None, region: str
) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for raw in emails:
        try:
            address = v.email("email", raw)
        except ValidationError:
            continue
        if address:
            keys.append(("email", v.normalised_email_key(address)))
    for raw in phones:
        try:
            number = v.phone("phone", raw, region)
        except ValidationError:
            continue
        if number:
            keys.append(("phone", number))
    host = v.website_host(website) if website else None
    if host:
        keys.append(("host", host))
    return keys


def likely_duplicates(
    ws: Workspace,
    *,
    name: str | None = None,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    website: str | None = None,
    entity: str = "customer",
    exclude_id: str | None = None,
    limit: int = 8,
) -> list[DuplicateCandidate]:
    """Records that the one being typed probably duplicates, the likeliest first."""
    keys = _key_values(emails, phones, website, ws.settings.default_region)
    found: dict[str, dict[str, Any]] = {}
    model = Customer if entity == "customer" else Contact
    with ws.read() as session:
        for kind, value in keys:
            rows = session.scalars(
                select(IdentityKey.record_id).where(
                    IdentityKey.entity == entity,
                    IdentityKey.kind == kind,
                    IdentityKey.value == value,
                )
            )
            for record_id in rows:
                found.setdefault(record_id, {"reasons": [], "score": 100.0})
                found[record_id]["reasons"].append(REASON_LABEL[kind])
        key = v.name_key(name) if name else ""
        if len(key) >= 2:
            prefix = key[:2]
            # Names are stored as typed; compare folded names of those starting alike.
            rows = session.execute(
                select(model.id, model.name)
                .where(live(model), model.name.ilike(f"{name.strip()[:1]}%") if name else True)
                .limit(20_000)
            ).all()
            for record_id, other in rows:
                other_key = v.name_key(other)
                if not other_key.startswith(prefix[:1]):
                    continue
                if other_key == key:
                    score, reason = 100.0, "same name"
                else:
                    score = fuzz.token_sort_ratio(key, other_key)
                    reason = "similar name"
                    if score < SIMILAR_NAME:
                        continue
                entry = found.setdefault(record_id, {"reasons": [], "score": score})
                entry["reasons"].append(reason)
                entry["score"] = max(entry["score"], score)
        found.pop(exclude_id or "", None)
        out: list[DuplicateCandidate] = []
        for record_id, info in found.items():
            record = session.get(model, record_id)
            if record is None or record.deleted_at is not None or record.merged_into_id:
                continue
            out.append(
                DuplicateCandidate(
                    entity=entity,
                    record_id=record_id,
                    name=record.name,
                    customer_id=getattr(record, "customer_id", record_id),
                    reasons=tuple(dict.fromkeys(info["reasons"])),
                    score=float(info["score"]),
                )
            )
    out.sort(key=lambda c: (-c.score, -len(c.reasons), c.name))
    return out[:limit]


def find_duplicates(ws: Workspace, *, limit: int = 500) -> list[DuplicatePair]:
    """Every likely duplicate pair among live customers and contacts."""
    pairs: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(entity: str, a: str, b: str, reason: str, score: float) -> None:
        first, second = sorted((a, b))
        entry = pairs.setdefault((entity, first, second), {"reasons": [], "score": 0.0})
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)
        entry["score"] = max(entry["score"], score)

    with ws.read() as session:
        for entity in ("customer", "contact"):
            rows = session.execute(
                select(IdentityKey.kind, IdentityKey.value, IdentityKey.record_id)
                # Names are compared below, folded and by similarity, not as keys.
                .where(IdentityKey.entity == entity, IdentityKey.kind.in_(REASON_LABEL))
                .order_by(IdentityKey.kind, IdentityKey.value)
            ).all()
            groups: dict[tuple[str, str], list[str]] = defaultdict(list)
            for kind, value, record_id in rows:
                groups[(kind, value)].append(record_id)
            for (kind, _value), ids in groups.items():
                for i, a in enumerate(ids):
                    for b in ids[i + 1 : i + 6]:
                        add(entity, a, b, REASON_LABEL[kind], 100.0)
        names: dict[str, str] = dict(
            session.execute(select(Customer.id, Customer.name).where(live(Customer))).all()
        )
        _name_pairs(names, lambda a, b, r, s: add("customer", a, b, r, s))
        contacts = session.execute(
            select(Contact.id, Contact.name, Contact.customer_id).where(live(Contact))
        ).all()
        by_customer: dict[str, dict[str, str]] = defaultdict(dict)
        for cid, cname, customer_id in contacts:
            by_customer[customer_id][cid] = cname
        contact_names = {cid: n for cid, n, _ in contacts}
        for group in by_customer.values():
            if len(group) > 1:
                _name_pairs(group, lambda a, b, r, s: add("contact", a, b, r, s))
        out = []
        for (entity, first, second), info in pairs.items():
            lookup = names if entity == "customer" else contact_names
            if first not in lookup or second not in lookup:
                continue
            out.append(
                DuplicatePair(
                    entity=entity,
                    first_id=first,
                    first_name=lookup[first],
                    second_id=second,
                    second_name=lookup[second],
                    reasons=tuple(info["reasons"]),
                    score=float(info["score"]),
                )
            )
    out.sort(key=lambda p: (-p.score, -len(p.reasons), p.first_name))
    return out[:limit]


def _name_pairs(names: dict[str, str], add) -> None:  # type: ignore[no-untyped-def]
    blocks: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record_id, name in names.items():
        key = v.name_key(name)
        if key:
            blocks[_block(key)].append((record_id, key))
    for members in blocks.values():
        if len(members) < 2 or len(members) > 400:
            # A huge block (a very common prefix) is compared by exact key only.
            exact: dict[str, list[str]] = defaultdict(list)
            for record_id, key in members:
                exact[key].append(record_id)
            for ids in exact.values():
                for i, a in enumerate(ids):
                    for b in ids[i + 1 : i + 6]:
                        add(a, b, "same name", 100.0)
            continue
        for i, (a, key_a) in enumerate(members):
            for b, key_b in members[i + 1 :]:
                if key_a == key_b:
                    add(a, b, "same name", 100.0)
                else:
                    score = fuzz.token_sort_ratio(key_a, key_b)
                    if score >= SIMILAR_NAME:
                        add(a, b, "similar name", score)


# --- merging ----------------------------------------------------------------------

_CUSTOMER_SCALARS = (
    "industry",
    "segment",
    "owner",
    "territory",
    "website",
    "notes",
    "yearly_potential",
)
_CONTACT_SCALARS = ("title", "decision_role", "preferred_channel", "notes", "photo")


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    out = list(first or [])
    seen = {repr(sorted(x.items())) if isinstance(x, dict) else repr(x) for x in out}
    for item in second or []:
        key = repr(sorted(item.items())) if isinstance(item, dict) else repr(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _merged_fields(
    kind: str, keep: Customer | Contact, other: Customer | Contact
) -> dict[str, Any]:
    """The kept record's new values: its own, blanks filled and lists joined from the other."""
    scalars = _CUSTOMER_SCALARS if kind == "customer" else _CONTACT_SCALARS
    out: dict[str, Any] = {}
    for name in scalars:
        if getattr(keep, name) in (None, "") and getattr(other, name) not in (None, ""):
            out[name] = getattr(other, name)
    lists = (
        ("emails", "phones", "addresses", "tags") if kind == "customer" else ("emails", "phones")
    )
    for name in lists:
        joined = _union(getattr(keep, name), getattr(other, name))
        if joined != list(getattr(keep, name) or []):
            out[name] = joined
    if kind == "customer":
        custom = {**(other.custom or {}), **(keep.custom or {})}  # type: ignore[union-attr]
        if custom != (keep.custom or {}):  # type: ignore[union-attr]
            out["custom"] = custom
    elif other.do_not_contact and not keep.do_not_contact:  # type: ignore[union-attr]
        out["do_not_contact"] = True  # never lose an opt-out
    return out


def _live(
    session: Session, model: type[Customer] | type[Contact], record_id: str
) -> Customer | Contact:
    record = by_id(session, model, record_id)
    if record is None or record.deleted_at is not None or record.merged_into_id:
        raise NotFoundError(f"no {model.entity} with id {record_id}")
    return record


def _same_team(session: Session, keep: Customer | Contact, other: Customer | Contact) -> None:
    """Records of two Hub teams never merge: each team's laptops hold only their own
    team's records, so a merge across them could not be the same everywhere. Refused
    here, before anything is written (the Hub refuses it too)."""
    ids = [getattr(r, "customer_id", None) or r.id for r in (keep, other)]
    teams = dict(
        session.execute(
            select(CustomerTeam.customer_id, CustomerTeam.team).where(
                CustomerTeam.customer_id.in_(ids)
            )
        ).all()
    )
    # A customer made here and not synced yet will join this user's first team (the
    # Hub files new customers there), as the last sync's scope says.
    scope = session.get(Meta, "sync_scope")
    home = None
    if scope is not None:
        _role, _, names = scope.value.partition(":")
        home = names.split(",")[0] or None
    keep_team, other_team = teams.get(ids[0], home), teams.get(ids[1], home)
    if keep_team and other_team and keep_team != other_team:
        raise ValidationErrors(
            [
                ValidationError(
                    "merge",
                    f"{keep.name} belongs to team {keep_team} and {other.name} to team "
                    f"{other_team}: records of different teams cannot be merged",
                )
            ]
        )


def merge_records(ws: Workspace, kind: str, keep_id: str, other_id: str) -> Saved[MergeView]:
    """Merge ``other`` into ``keep``: every interaction, follow-up, contact and deal moves,
    blanks are filled, lists joined. One transaction; :func:`unmerge` undoes it."""
    if kind not in ("customer", "contact"):
        raise ValidationErrors([ValidationError("kind", "only customers or contacts merge")])
    model = Customer if kind == "customer" else Contact
    with ws.unit_of_work() as uow:
        session = uow.session
        keep = _live(session, model, keep_id)
        other = _live(session, model, other_id)
        if keep.id == other.id:
            raise ValidationErrors([ValidationError("merge", "a record cannot merge with itself")])
        _same_team(session, keep, other)
        fields = _merged_fields(kind, keep, other)
        before = {name: _plain(getattr(keep, name)) for name in fields}
        moved: dict[str, list[str]] = {}
        if kind == "customer":
            for child in (Contact, Interaction, FollowUp, Deal):
                rows = session.scalars(select(child).where(child.customer_id == other.id)).all()
                for row in rows:
                    row.customer_id = keep.id
                moved[child.entity] = [r.id for r in rows]
        else:
            interactions = session.scalars(
                select(Interaction).where(Interaction.customer_id == other.customer_id)
            ).all()
            touched = []
            for row in interactions:
                if other.id in (row.contact_ids or []):
                    ids = [keep.id if c == other.id else c for c in row.contact_ids]
                    row.contact_ids = list(dict.fromkeys(ids))
                    touched.append(row.id)
            moved["interaction"] = touched
            followups = session.scalars(
                select(FollowUp).where(FollowUp.contact_id == other.id)
            ).all()
            for row in followups:
                row.contact_id = keep.id
            moved["followup"] = [r.id for r in followups]
        for name, value in fields.items():
            setattr(keep, name, value)
        other.merged_into_id = keep.id
        merge = Merge(
            kind=kind,
            winner_id=keep.id,
            loser_id=other.id,
            snapshot={
                "kept_before": before,
                "kept_after": {k: _plain(v2) for k, v2 in fields.items()},
                "moved": moved,
            },
        )
        session.add(merge)
        session.flush()
        uow.commit()
        return Saved(_merge_view(merge, keep, other), Changes.of(uow))


def _plain(value: Any) -> Any:
    return jsonable(value)


def _merge_view(merge: Merge, keep: Customer | Contact, other: Customer | Contact) -> MergeView:
    return MergeView(
        id=merge.id,
        kind=merge.kind,
        kept_id=keep.id,
        kept_name=keep.name,
        merged_id=other.id,
        merged_name=other.name,
        moved={k: len(v) for k, v in (merge.snapshot.get("moved") or {}).items()},
        undone=merge.undone_at is not None,
    )


def unmerge(ws: Workspace, merge_id: str) -> Saved[MergeView]:
    """Undo a merge: the merged record comes back with what moved, the kept one's
    filled fields return to their old values unless someone changed them since."""
    with ws.unit_of_work() as uow:
        session = uow.session
        merge = by_id(session, Merge, merge_id)
        if merge is None:
            raise NotFoundError(f"no merge with id {merge_id}")
        if merge.undone_at is not None:
            raise ValidationErrors([ValidationError("merge", "this merge was already undone")])
        model = Customer if merge.kind == "customer" else Contact
        keep = session.get(model, merge.winner_id)
        other = session.get(model, merge.loser_id)
        if keep is None or other is None:
            raise NotFoundError("the merged records are no longer there")
        snapshot = merge.snapshot or {}
        moved = snapshot.get("moved") or {}
        if merge.kind == "customer":
            for child in (Contact, Interaction, FollowUp, Deal):
                for row_id in moved.get(child.entity, []):
                    row = session.get(child, row_id)
                    if row is not None and row.customer_id == keep.id:
                        row.customer_id = other.id
        else:
            for row_id in moved.get("interaction", []):
                row = session.get(Interaction, row_id)
                if row is not None:
                    ids = list(row.contact_ids or [])
                    if other.id not in ids:
                        ids.append(other.id)
                    row.contact_ids = ids
            for row_id in moved.get("followup", []):
                row = session.get(FollowUp, row_id)
                if row is not None and row.contact_id == keep.id:
                    row.contact_id = other.id
        before = snapshot.get("kept_before") or {}
        after = snapshot.get("kept_after") or {}
        for name, old in before.items():
            if jsonable(getattr(keep, name)) == after.get(name):
                is_money = old is not None and name == "yearly_potential"
                setattr(keep, name, Decimal(old) if is_money else old)
        other.merged_into_id = None
        merge.undone_at = uow.now
        session.flush()
        uow.commit()
        return Saved(_merge_view(merge, keep, other), Changes.of(uow))


def count_merges(ws: Workspace) -> int:
    """How many merges there are (what a cut list of them leaves out)."""
    with ws.read() as session:
        return int(session.execute(select(func.count()).select_from(Merge)).scalar_one())


def list_merges(ws: Workspace, *, limit: int = 100) -> list[MergeView]:
    with ws.read() as session:
        rows = session.scalars(select(Merge).order_by(Merge.created_at.desc()).limit(limit)).all()
        out = []
        for merge in rows:
            model = Customer if merge.kind == "customer" else Contact
            keep = session.get(model, merge.winner_id)
            other = session.get(model, merge.loser_id)
            if keep is not None and other is not None:
                out.append(_merge_view(merge, keep, other))
        return out
