"""The fleet as the console shows it: every device, its user, what it last reported,
and the alerts IT acts on. Read-only; scoped by who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from touchpoint.hub.accounts import SERVICE_ROLE
from touchpoint.hub.db import devices, memberships, teams, tokens, users
from touchpoint.storage.types import from_utc_text

STALE_DAYS = 7
CLOCK_ALERT_MS = 5 * 60 * 1000


@dataclass
class Device:
    device_id: str
    email: str
    user_id: int
    name: str
    os: str
    app_version: str
    last_contact: datetime | None  # last hello or push
    last_success: datetime | None  # the laptop's last successful sync, as it reported
    waiting: int | None
    refused: int | None
    set_aside: int | None
    conflicts: int | None
    clock_offset_ms: int
    encrypted: bool | None
    policy: str
    db_bytes: int | None
    alerts: list[str] = field(default_factory=list)


def _time(text: object) -> datetime | None:
    if not text:
        return None
    try:
        return from_utc_text(str(text))
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def visible_user_ids(conn: Connection, user_id: int, role: str) -> set[int] | None:
    """Whose devices this user may see: None for all (admin), their teams' users for a
    manager, themselves for a rep."""
    if role == "admin":
        return None
    if role != "manager":
        return {user_id}
    mine = select(memberships.c.team_id).where(memberships.c.user_id == user_id)
    found = conn.execute(
        select(memberships.c.user_id).where(memberships.c.team_id.in_(mine))
    ).scalars()
    return {*found, user_id}


def version_key(text: str) -> tuple[int, ...]:
    """'0.9.12' -> (0, 9, 12); anything not a number counts as 0."""
    parts = []
    for piece in text.strip().split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def list_devices(conn: Connection, scope: set[int] | None, now: datetime) -> list[Device]:
    latest_token = (
        select(tokens.c.device_id, func.max(tokens.c.id).label("tid"))
        .group_by(tokens.c.device_id)
        .subquery()
    )
    query = (
        select(
            devices,
            users.c.email,
            tokens.c.device_name.label("token_name"),
        )
        .join(users, users.c.id == devices.c.user_id)
        .outerjoin(latest_token, latest_token.c.device_id == devices.c.device_id)
        .outerjoin(tokens, tokens.c.id == latest_token.c.tid)
        .order_by(users.c.email, devices.c.device_id)
    )
    # An API key's "device" is a server, not a laptop: the fleet is laptops.
    query = query.where(users.c.role != SERVICE_ROLE)
    if scope is not None:
        query = query.where(devices.c.user_id.in_(sorted(scope)))
    out = []
    for row in conn.execute(query):
        report = row.report if isinstance(row.report, dict) else {}
        contacts = [t for t in (_time(row.reported_at), _time(row.last_seen)) if t]
        device = Device(
            device_id=row.device_id,
            email=row.email,
            user_id=row.user_id,
            name=str(report.get("device_name") or row.token_name or row.device_id),
            os=str(report.get("os") or ""),
            app_version=str(row.app_version or ""),
            last_contact=max(contacts) if contacts else None,
            last_success=_time(report.get("last_sync_at")),
            waiting=_int(report.get("waiting")),
            refused=_int(report.get("refused")),
            set_aside=_int(report.get("set_aside")),
            conflicts=_int(report.get("conflicts")),
            clock_offset_ms=int(row.clock_offset_ms or 0),
            encrypted=report.get("encrypted")
            if isinstance(report.get("encrypted"), bool)
            else None,
            policy=str(report.get("policy") or ""),
            db_bytes=_int(report.get("db_bytes")),
        )
        device.alerts = alerts(device, now)
        out.append(device)
    return out


def alerts(d: Device, now: datetime) -> list[str]:
    found = []
    synced = d.last_success or d.last_contact
    if synced is None or now - synced >= timedelta(days=STALE_DAYS):
        found.append(f"not synced for {STALE_DAYS}+ days")
    if d.refused:
        found.append(f"{d.refused} refused")
    if d.set_aside:
        found.append(f"{d.set_aside} set aside")
    if d.encrypted is False:
        found.append("not encrypted")
    if abs(d.clock_offset_ms) > CLOCK_ALERT_MS:
        found.append("clock off by more than 5 minutes")
    return found


def apply_filters(
    found: list[Device],
    now: datetime,
    *,
    stale_days: int | None,
    refused: bool,
    older_than: str | None,
) -> list[Device]:
    out = []
    for d in found:
        synced = d.last_success or d.last_contact
        if (
            stale_days is not None
            and synced is not None
            and now - synced < timedelta(days=stale_days)
        ):
            continue
        if refused and not d.refused:
            continue
        if older_than and not (
            d.app_version and version_key(d.app_version) < version_key(older_than)
        ):
            continue
        out.append(d)
    return out


def team_names(conn: Connection, user_id: int) -> list[str]:
    return list(
        conn.execute(
            select(teams.c.name)
            .join(memberships, memberships.c.team_id == teams.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(teams.c.name)
        ).scalars()
    )
