"""Users, teams, device and enrollment tokens: passwords as argon2 hashes, tokens as SHA-256.

A token is 32 random bytes, so a fast hash is enough to make a stolen database
useless; the password needs argon2 because people choose guessable ones. Every
request checks the token and the user afresh: a revoked token or a disabled
user stops working at once, in every worker.

An enrollment token lets a set-up script sign a laptop in without a password: an
admin makes one for a user, it is traded once, before it expires, for a device token.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from touchpoint.hub.db import memberships, metadata, teams, tokens, users, write
from touchpoint.storage.types import to_utc_text

ROLES = ("rep", "manager", "admin")
# The role of the user an API key writes as (touchpoint.hub.apikeys): not a person's role,
# never offered by `user add`; such a user has no password, teams or device tokens.
SERVICE_ROLE = "service"
# A stored "password hash" that is not one: no password matches it, no enrollment is made
# for it (the Hub accounts of connectors, see touchpoint.hub.connectors).
NO_SIGN_IN_PREFIX = "!"
_hasher = PasswordHasher()
MAX_ENROLLMENT_DAYS = 90

# Defined here, beside the code that uses it (migration hub0002).
enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", String(27), nullable=False),
    Column("expires_at", String(27), nullable=False),
    Column("used_at", String(27)),
    Column("device_id", String(36)),
    Column("device_name", String(200)),
    Column("revoked_at", String(27)),  # migration hub0007
)


_CHECKING = threading.Lock()


def _lower_priority() -> None:
    # Linux keeps a nice value per thread, and argon2's own worker threads inherit it:
    # under load the scheduler then serves laptops' syncs first and checks passwords
    # with what is left, so a flood of guesses cannot take the CPU from them. Elsewhere
    # the checks simply run at normal priority.
    if hasattr(os, "setpriority") and sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


CHECK_NICENESS = 10
# One long-lived thread per process does every password check, at low priority: a
# request thread cannot lower its own priority and get it back afterwards.
_checker = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="password-check", initializer=_lower_priority
)


class PasswordChecksBusy(Exception):
    """Another password check is running in this process: try again in a moment."""


class AccountError(Exception):
    """Bad input to an account command: names the field and the problem."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user behind a valid token, and what they may see."""

    user_id: int
    email: str
    role: str
    teams: tuple[str, ...]
    device_id: str
    token_id: int

    @property
    def sees_all(self) -> bool:
        return self.role == "admin"

    def may_see(self, team: str) -> bool:
        return self.sees_all or team in self.teams

    @property
    def home_team(self) -> str:
        """The team a new customer of this user belongs to."""
        return self.teams[0] if self.teams else "default"


def now_text() -> str:
    return to_utc_text(datetime.now(UTC))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _team_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(teams.c.id).where(teams.c.name == name)).scalar()
    if found is not None:
        return int(found)
    return int(conn.execute(insert(teams).values(name=name)).inserted_primary_key[0])


MIN_PASSWORD = 8


def check_new_password(password: str) -> None:
    """The rule every new password follows, on the command line and in the console."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    if not password.strip():
        raise AccountError("password: not only spaces")


def add_user(engine: Engine, email: str, password: str, role: str, team_names: list[str]) -> int:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"email: '{email}' is not an email address")
    if role not in ROLES:
        raise AccountError(f"role: must be one of {', '.join(ROLES)}, not '{role}'")
    check_new_password(password)
    if role != "admin" and not team_names:
        raise AccountError("team: a rep or manager belongs to at least one team")
    with write(engine) as conn:
        if conn.execute(select(users.c.id).where(users.c.email == email)).first():
            raise AccountError(f"email: a user {email} already exists")
        user_id = int(
            conn.execute(
                insert(users).values(
                    email=email,
                    password_hash=_hasher.hash(password),
                    role=role,
                    created_at=now_text(),
                )
            ).inserted_primary_key[0]
        )
        for name in team_names:
            conn.execute(insert(memberships).values(user_id=user_id, team_id=_team_id(conn, name)))
    return user_id


def edit_user(
    engine: Engine,
    email: str,
    *,
    role: str | None = None,
    add_teams: list[str] | None = None,
    remove_teams: list[str] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Change a user's role or teams; (role, teams) as they are now.

    Takes effect at the user's next request: what a token may see is read on every
    call. Their laptops notice the new scope at the next sync and pull again."""
    email = email.strip().lower()
    if role is not None and role not in ROLES:
        raise AccountError(f"role: must be one of {', '.join(ROLES)}, not '{role}'")
    with write(engine) as conn:
        found = conn.execute(select(users.c.id, users.c.role).where(users.c.email == email)).first()
        if found is None or found.role == SERVICE_ROLE:
            raise AccountError(f"email: no user {email}")
        user_id, new_role = int(found.id), role or found.role
        current = set(user_teams(conn, user_id))
        unknown = sorted(set(remove_teams or ()) - current)
        if unknown:
            raise AccountError(f"team: {email} is not in {', '.join(unknown)}")
        for name in remove_teams or ():
            conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user_id,
                    memberships.c.team_id == _team_id(conn, name),
                )
            )
        for name in add_teams or ():
            if name not in current:
                conn.execute(
                    insert(memberships).values(user_id=user_id, team_id=_team_id(conn, name))
                )
        now_in = user_teams(conn, user_id)
        if new_role != "admin" and not now_in:
            raise AccountError("team: a rep or manager belongs to at least one team")
        if role is not None:
            conn.execute(update(users).where(users.c.id == user_id).values(role=role))
    return new_role, now_in


def disable_user(engine: Engine, email: str) -> None:
    with write(engine) as conn:
        done = conn.execute(
            update(users)
            .where(users.c.email == email.strip().lower(), users.c.role != SERVICE_ROLE)
            .values(disabled_at=now_text())
        )
        if done.rowcount == 0:
            raise AccountError(f"email: no user {email}")


def set_password(engine: Engine, email: str, password: str) -> None:
    """A new password for a user (an admin's reset). Their console sessions end at once
    (the session version changes); their laptops' device tokens stay valid."""
    check_new_password(password)
    hashed = _hasher.hash(password)  # before the write lock: argon2 is slow on purpose
    with write(engine) as conn:
        done = conn.execute(
            update(users).where(users.c.email == email.strip().lower()).values(password_hash=hashed)
        )
        if done.rowcount == 0:
            raise AccountError(f"email: no user {email}")


@dataclass(frozen=True)
class UserSummary:
    """One user as an admin lists them; never the password hash."""

    email: str
    role: str
    teams: tuple[str, ...]
    disabled_at: str | None


def list_users(engine: Engine) -> list[UserSummary]:
    with engine.connect() as conn:
        found = conn.execute(
            select(users.c.id, users.c.email, users.c.role, users.c.disabled_at)
            .where(users.c.role != SERVICE_ROLE)  # API keys are listed by `api-key list`
            .order_by(users.c.email)
        ).all()
        return [UserSummary(u.email, u.role, user_teams(conn, u.id), u.disabled_at) for u in found]


def user_teams(conn: Connection, user_id: int) -> tuple[str, ...]:
    rows = conn.execute(
        select(teams.c.name)
        .join(memberships, memberships.c.team_id == teams.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(teams.c.name)
    )
    return tuple(r[0] for r in rows)


def _verified_user(engine: Engine, email: str, password: str) -> Any | None:
    """The enabled user with this email and password, else None (never says which).

    The password is checked on a read connection, never under the write lock, and one
    check at a time per Hub process: argon2 is built to be costly, and a flood of guesses
    queued behind one another would hold every request thread (and both cores) while
    laptops wait to sync. A check that finds another running raises
    :class:`PasswordChecksBusy` at once, without hashing."""
    with engine.connect() as conn:
        user = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    if not _CHECKING.acquire(blocking=False):
        raise PasswordChecksBusy
    try:
        if not _checker.submit(_password_matches, user, password).result():
            return None
    finally:
        _CHECKING.release()
    return user


def _password_matches(user: Any | None, password: str) -> bool:
    if user is None or user.disabled_at is not None:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def login(
    engine: Engine, email: str, password: str, device_id: str, device_name: str
) -> tuple[str, Principal] | None:
    """A new device token for a good email and password, else None (never says which):
    only a good password opens a write transaction."""
    if _verified_user(engine, email, password) is None:
        return None
    with write(engine) as conn:
        # Read again under the lock: the user may have been disabled meanwhile.
        user = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
        if user is None or user.disabled_at is not None:
            return None
        return _issue_token(conn, user, device_id, device_name)


def session_version(password_hash: str, role: str, disabled_at: str | None) -> str:
    """A console session's version: a new password, role or disabled state ends it."""
    return hashlib.sha256(f"{password_hash}|{role}|{disabled_at}".encode()).hexdigest()[:16]


def check_password(engine: Engine, email: str, password: str) -> tuple[int, str] | None:
    """(user id, session version) for a good email and password of an enabled user,
    else None (never says which); issues no token (the console's sign-in)."""
    user = _verified_user(engine, email, password)
    if user is None:
        return None
    return int(user.id), session_version(user.password_hash, user.role, user.disabled_at)


def _issue_token(
    conn: Connection, user: Any, device_id: str, device_name: str
) -> tuple[str, Principal]:
    token = secrets.token_urlsafe(32)
    token_id = int(
        conn.execute(
            insert(tokens).values(
                user_id=user.id,
                token_hash=hash_token(token),
                device_id=device_id,
                device_name=device_name,
                created_at=now_text(),
            )
        ).inserted_primary_key[0]
    )
    principal = Principal(
        user.id, user.email, user.role, user_teams(conn, user.id), device_id, token_id
    )
    return token, principal


def parse_lifetime(text: str) -> timedelta:
    """'7d', '12h', '30m' or '2w' -> a timedelta of at most :data:`MAX_ENROLLMENT_DAYS`."""
    raw = text.strip().lower()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(raw) < 2 or raw[-1] not in units or not raw[:-1].isdigit():
        raise AccountError(f"expires: '{text}' is not a duration like 30m, 12h, 7d or 2w")
    lifetime = timedelta(**{units[raw[-1]]: int(raw[:-1])})
    if lifetime <= timedelta(0):
        raise AccountError("expires: must be longer than nothing")
    if lifetime > timedelta(days=MAX_ENROLLMENT_DAYS):
        raise AccountError(f"expires: at most {MAX_ENROLLMENT_DAYS} days")
    return lifetime


@dataclass(frozen=True)
class Enrollment:
    token: str  # shown once to the admin; the Hub keeps only its hash
    email: str
    expires_at: datetime


def create_enrollment(
    engine: Engine, email: str, lifetime: timedelta, *, now: datetime | None = None
) -> Enrollment:
    """A one-time enrollment token for an existing, enabled user."""
    email = email.strip().lower()
    issued = now or datetime.now(UTC)
    expires = issued + lifetime
    token = secrets.token_urlsafe(32)
    with write(engine) as conn:
        user = conn.execute(select(users).where(users.c.email == email)).first()
        if user is None:
            raise AccountError(f"email: no user {email}; add it first with `user add`")
        if user.role == SERVICE_ROLE or user.password_hash.startswith(NO_SIGN_IN_PREFIX):
            raise AccountError(
                f"email: {email} is the account of an API key or a connector; nobody signs in as it"
            )
        if user.disabled_at is not None:
            raise AccountError(f"email: {email} is disabled")
        conn.execute(
            insert(enrollments).values(
                user_id=user.id,
                token_hash=hash_token(token),
                created_at=to_utc_text(issued),
                expires_at=to_utc_text(expires),
            )
        )
    return Enrollment(token, email, expires)


def enroll(
    engine: Engine,
    token: str,
    device_id: str,
    device_name: str,
    *,
    email: str | None = None,
    now: datetime | None = None,
) -> tuple[str, Principal] | None:
    """Trade an enrollment token for a device token, once; None when it is unknown, used,
    expired, for a disabled user or (when ``email`` is given) for someone else.

    The caller is never told which: a guesser learns nothing."""
    stamp = to_utc_text(now or datetime.now(UTC))
    with write(engine) as conn:
        row = conn.execute(
            select(enrollments.c.id.label("enrollment_id"), users)
            .join(users, users.c.id == enrollments.c.user_id)
            .where(
                enrollments.c.token_hash == hash_token(token),
                enrollments.c.used_at.is_(None),
                enrollments.c.revoked_at.is_(None),
                enrollments.c.expires_at > stamp,
                users.c.disabled_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        if email is not None and email.strip().lower() != row.email:
            return None
        # Used up in the same transaction that issues the device token; the condition
        # on used_at makes a concurrent second use find nothing to update.
        claimed = conn.execute(
            update(enrollments)
            .where(enrollments.c.id == row.enrollment_id, enrollments.c.used_at.is_(None))
            .values(used_at=stamp, device_id=device_id, device_name=device_name)
        )
        if claimed.rowcount != 1:
            return None
        return _issue_token(conn, row, device_id, device_name)


def list_enrollments(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                enrollments.c.id,
                users.c.email,
                enrollments.c.created_at,
                enrollments.c.expires_at,
                enrollments.c.used_at,
                enrollments.c.revoked_at,
                enrollments.c.device_name,
            )
            .join(users, users.c.id == enrollments.c.user_id)
            .order_by(enrollments.c.id)
        )
        return [dict(r._mapping) for r in rows]


def enrollment_state(row: dict[str, object], now: datetime | None = None) -> str:
    """'used', 'revoked', 'expired' or 'unused', as an admin reads an enrollment token."""
    if row.get("used_at"):
        return "used"
    if row.get("revoked_at"):
        return "revoked"
    if str(row["expires_at"]) <= to_utc_text(now or datetime.now(UTC)):
        return "expired"
    return "unused"


def revoke_enrollment(engine: Engine, enrollment_id: int) -> bool:
    """Revoke an enrollment token not used yet; False when there is none such."""
    with write(engine) as conn:
        done = conn.execute(
            update(enrollments)
            .where(
                enrollments.c.id == enrollment_id,
                enrollments.c.used_at.is_(None),
                enrollments.c.revoked_at.is_(None),
            )
            .values(revoked_at=now_text())
        )
        return done.rowcount > 0


# Built once (a statement object keeps its cache key): it runs on every request. The
# sync routes add the columns they need to it, so one read both checks the caller and
# fetches their state (see touchpoint.hub.app).
AUTHENTICATE = (
    select(
        tokens.c.id,
        tokens.c.device_id,
        users.c.id.label("uid"),
        users.c.email,
        users.c.role,
        teams.c.name.label("team"),
    )
    .join(users, users.c.id == tokens.c.user_id)
    .outerjoin(memberships, memberships.c.user_id == users.c.id)
    .outerjoin(teams, teams.c.id == memberships.c.team_id)
    .where(
        tokens.c.token_hash == bindparam("token_hash"),
        tokens.c.revoked_at.is_(None),
        users.c.disabled_at.is_(None),
        users.c.role != SERVICE_ROLE,
    )
    .order_by(teams.c.name)
)


def principal_of(rows: Sequence[Row[Any]]) -> Principal | None:
    """The caller from the rows of :data:`AUTHENTICATE` (one per team), None for none."""
    if not rows:
        return None
    row = rows[0]
    names = tuple(r.team for r in rows if r.team is not None)
    return Principal(row.uid, row.email, row.role, names, row.device_id, row.id)


def authenticate(conn: Connection, token: str) -> Principal | None:
    """The user behind a live token, with their teams, in one query (one row per team):
    it runs on every request, inside the request's own transaction."""
    return principal_of(conn.execute(AUTHENTICATE, {"token_hash": hash_token(token)}).all())


def revoke_token(engine: Engine, token_id: int) -> bool:
    with write(engine) as conn:
        done = conn.execute(
            update(tokens)
            .where(and_(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)))
            .values(revoked_at=now_text())
        )
        return done.rowcount > 0


def list_tokens(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                tokens.c.id,
                users.c.email,
                tokens.c.device_id,
                tokens.c.device_name,
                tokens.c.created_at,
                tokens.c.last_used_at,
                tokens.c.revoked_at,
            )
            .join(users, users.c.id == tokens.c.user_id)
            .order_by(tokens.c.id)
        )
        return [dict(r._mapping) for r in rows]


def list_teams(engine: Engine) -> list[tuple[str, list[str]]]:
    with engine.connect() as conn:
        out = []
        for team in conn.execute(select(teams).order_by(teams.c.name)):
            members = conn.execute(
                select(users.c.email, users.c.role)
                .join(memberships, memberships.c.user_id == users.c.id)
                .where(memberships.c.team_id == team.id)
                .order_by(users.c.email)
            )
            out.append((team.name, [f"{m.email} ({m.role})" for m in members]))
        return out
