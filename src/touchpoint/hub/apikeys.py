"""API keys for the integration REST API (``/api/v1``): made by an admin, for a server.

A key is ``tpk_`` and 32 random bytes, printed once; the Hub keeps its SHA-256 only,
like device tokens. Each key is limited to its teams and to a scope: ``read`` reads,
``write`` also creates, edits and deletes. A key writes as a Hub user of its own, of
role :data:`SERVICE_ROLE`: no password (it can never sign in), no team membership (it
is nobody's teammate, so the team reports and the fleet never count it as a rep), and
one device id, so its changes enter the log like any laptop's.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update

from touchpoint.hub.accounts import SERVICE_ROLE, AccountError, Principal, hash_token
from touchpoint.hub.db import api_keys, teams, users, write
from touchpoint.storage.types import to_utc_text

SCOPES = ("read", "write")
PREFIX = "tpk_"
DEFAULT_PER_MINUTE = 600
MAX_PER_MINUTE = 100_000
# What a service user has instead of a password hash: argon2 can never verify it.
NO_PASSWORD = "!api-key"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}")


@dataclass(frozen=True)
class ApiKey:
    """A live key as a request sees it."""

    id: int
    name: str
    teams: tuple[str, ...]
    scope: str
    per_minute: int
    user_id: int
    author: str  # the service user's name in the change log: "api:NAME"
    device_id: str
    last_used_at: str | None

    @property
    def may_write(self) -> bool:
        return self.scope == "write"

    def principal(self, team: str | None = None) -> Principal:
        """Who the key writes as in the change log; a new customer goes into ``team``
        (the first of the key's teams when not given)."""
        ordered = self.teams
        if team is not None and team in self.teams:
            ordered = (team, *(t for t in self.teams if t != team))
        return Principal(self.user_id, self.author, SERVICE_ROLE, ordered, self.device_id, 0)


@dataclass(frozen=True)
class MadeKey:
    token: str  # shown once; the Hub keeps only its hash
    id: int
    name: str
    teams: tuple[str, ...]
    scope: str
    per_minute: int


def _now() -> str:
    return to_utc_text(datetime.now(UTC))


def create_key(
    engine: Engine,
    name: str,
    team_names: list[str],
    scope: str,
    created_by: str,
    *,
    per_minute: int = DEFAULT_PER_MINUTE,
) -> MadeKey:
    """A new key for existing teams; its token is returned once."""
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"name: '{name[:80]}' must be 1 to 80 letters, digits, spaces, dots, dashes "
            "or underscores, starting with a letter or digit"
        )
    if scope not in SCOPES:
        raise AccountError(f"scope: must be read or write, not '{scope}'")
    wanted = tuple(dict.fromkeys(t.strip() for t in team_names if t.strip()))
    if not wanted:
        raise AccountError("team: a key needs at least one team (--team)")
    if not 1 <= per_minute <= MAX_PER_MINUTE:
        raise AccountError(f"rate: between 1 and {MAX_PER_MINUTE:,} requests a minute")
    token = PREFIX + secrets.token_urlsafe(32)
    stamp = _now()
    with write(engine) as conn:
        known = set(conn.execute(select(teams.c.name)).scalars())
        missing = [t for t in wanted if t not in known]
        if missing:
            raise AccountError(
                f"team: no team {', '.join(missing)} on this Hub "
                f"(teams: {', '.join(sorted(known)) or 'none'})"
            )
        author = f"api:{name}"
        taken = conn.execute(
            select(api_keys.c.id)
            .where(api_keys.c.name == name)
            .union(select(users.c.id).where(users.c.email == author.lower()))
        ).first()
        if taken is not None:
            raise AccountError(
                f"name: a key named '{name}' exists already (names are never reused)"
            )
        user_id = int(
            conn.execute(
                insert(users).values(
                    email=author.lower(),
                    password_hash=NO_PASSWORD,
                    role=SERVICE_ROLE,
                    created_at=stamp,
                )
            ).inserted_primary_key[0]
        )
        key_id = int(
            conn.execute(
                insert(api_keys).values(
                    name=name,
                    key_hash=hash_token(token),
                    prefix=token[:12],
                    teams=list(wanted),
                    scope=scope,
                    per_minute=per_minute,
                    user_id=user_id,
                    device_id=str(uuid.uuid4()),
                    created_by=created_by,
                    created_at=stamp,
                )
            ).inserted_primary_key[0]
        )
    return MadeKey(token, key_id, name, wanted, scope, per_minute)


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    """Every key, live and revoked, oldest first (never the key itself)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.name,
                api_keys.c.prefix,
                api_keys.c.teams,
                api_keys.c.scope,
                api_keys.c.per_minute,
                api_keys.c.created_by,
                api_keys.c.created_at,
                api_keys.c.last_used_at,
                api_keys.c.revoked_at,
            ).order_by(api_keys.c.id)
        )
        return [dict(r._mapping) for r in rows]


def revoke_key(engine: Engine, which: str) -> str:
    """Revoke a live key named by its name or its id; its name, as kept."""
    which = which.strip()
    condition = api_keys.c.name == which
    if which.isdigit():
        condition = or_(condition, api_keys.c.id == int(which))
    with write(engine) as conn:
        found = conn.execute(
            select(api_keys.c.id, api_keys.c.name).where(condition, api_keys.c.revoked_at.is_(None))
        ).first()
        if found is None:
            raise AccountError(
                f"key: no live API key '{which}' (see `touchpoint-hub api-key list`)"
            )
        conn.execute(update(api_keys).where(api_keys.c.id == found.id).values(revoked_at=_now()))
    return str(found.name)


_AUTHENTICATE = select(
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.teams,
    api_keys.c.scope,
    api_keys.c.per_minute,
    api_keys.c.user_id,
    api_keys.c.device_id,
    api_keys.c.last_used_at,
    users.c.email,
).join(users, users.c.id == api_keys.c.user_id)


def authenticate(conn: Connection, token: str) -> ApiKey | None:
    """The live key behind a token, else None (unknown, revoked: never says which)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = conn.execute(
        _AUTHENTICATE.where(
            api_keys.c.key_hash == hash_token(token),
            api_keys.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    names = tuple(str(t) for t in (row.teams or []))
    return ApiKey(
        row.id,
        row.name,
        names,
        row.scope,
        int(row.per_minute),
        row.user_id,
        row.email,
        row.device_id,
        row.last_used_at,
    )


def note_use(engine: Engine, key: ApiKey, stamp: str) -> None:
    """``last_used_at``, to the minute: most requests write nothing."""
    if key.last_used_at is not None and key.last_used_at[:16] >= stamp[:16]:
        return
    with write(engine) as conn:
        conn.execute(
            update(api_keys)
            .where(
                api_keys.c.id == key.id,
                or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < stamp[:16]),
            )
            .values(last_used_at=stamp)
        )
