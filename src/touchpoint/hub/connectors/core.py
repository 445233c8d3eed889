"""What every connector to another system shares: its registration and Hub account, the
id map, the failures and dead letters, and its two doors into the Hub.

Records from the other system enter the Hub as changes through :func:`exchange.push`,
like a laptop's, signed by the connector's own Hub account (a rep of the connector's
team whose password can never match, so nobody signs in as it) from the connector's own
device id. Their change ids are UUID5s of what they carry: a run repeated, or resumed
after a kill, sends the same ids and the Hub answers "duplicate". Touchpoint's records go
out by reading the ``changes`` log after the connector's stored cursor.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from touchpoint.errors import ValidationError
from touchpoint.hub import exchange
from touchpoint.hub.accounts import (
    NO_SIGN_IN_PREFIX,
    SERVICE_ROLE,
    AccountError,
    Principal,
    _team_id,
)
from touchpoint.hub.db import (
    changes,
    connector_failures,
    connector_links,
    connectors,
    read,
    records,
    users,
    write,
)
from touchpoint.storage.chunks import chunked
from touchpoint.storage.utc_text import to_utc_text
from touchpoint.sync.protocol import ChangeIn, PushResult

KINDS = ("bottlecrm",)
NAMESPACE = uuid.UUID("6f1d3c2e-9b7a-4c55-8e0f-2a1b3c4d5e6f")
# A password hash no password matches (not an argon2 hash: the check refuses it), and
# for which no enrollment token is made.
NO_SIGN_IN = NO_SIGN_IN_PREFIX + "connector: signs in with no password"
SCHEMA_VERSION = "connector-1"
# A record that fails this many runs in a row is dead: listed with its reason, no longer
# retried until someone asks (``touchpoint-hub connector retry``).
MAX_ATTEMPTS = 5


def now_text() -> str:
    return to_utc_text(datetime.now(UTC))


def stable_id(*parts: str) -> str:
    """The same id for the same parts, on every run and every Hub."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Connector:
    name: str
    kind: str
    url: str
    token_file: str
    team: str
    user_id: int
    device_id: str
    out_after: int
    created_at: str
    last_run_at: str | None
    last_ok_at: str | None
    last_error: str | None
    last_counts: dict[str, int] | None

    @property
    def email(self) -> str:
        return service_email(self.name)


def service_email(name: str) -> str:
    return f"{name}@connector.invalid"


def _check_name(name: str) -> str:
    name = name.strip().lower()
    if not name or len(name) > 60 or not all(c.isalnum() or c in "-_" for c in name):
        raise ValidationError(
            "--name", f"'{name}' is not a connector name (letters, digits, - and _)"
        )
    return name


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("--url", f"'{url}' is not an http:// or https:// address")
    return url.strip().rstrip("/")


def read_token(path: str | Path) -> str:
    """The token kept in ``path``: the first line, which must be the only thing readable
    by its owner alone (the Hub keeps the path, never a copy of the token)."""
    file = Path(path)
    try:
        mode = file.stat().st_mode
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("--token-file", f"cannot read {file}: {exc.strerror or exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(
            "--token-file",
            f"{file} may be read by other users; make it private (chmod 600 {file})",
        )
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise ValidationError("--token-file", f"{file} is empty")
    return token


def add_connector(
    engine: Engine, kind: str, *, name: str, url: str, token_file: str, team: str
) -> Connector:
    """Register a connector and its Hub account (a service account nobody can sign in as,
    never counted as a rep: it writes into ``team`` without being one of its members).
    The token file is checked now and read again at every run."""
    if kind not in KINDS:
        raise ValidationError("kind", f"'{kind}' is not a connector Touchpoint has")
    name = _check_name(name)
    url = check_url(url)
    token_path = str(Path(token_file).expanduser().resolve())
    read_token(token_path)
    team = team.strip()
    if not team:
        raise ValidationError("--team", "give the team whose customers the connector carries")
    email = service_email(name)
    with write(engine) as conn:
        if conn.execute(select(connectors.c.name).where(connectors.c.name == name)).first():
            raise ValidationError("--name", f"a connector {name} already exists")
        if conn.execute(select(users.c.id).where(users.c.email == email)).first():
            raise AccountError(f"email: a user {email} already exists")
        user_id = int(
            conn.execute(
                insert(users).values(
                    email=email,
                    password_hash=NO_SIGN_IN,
                    role=SERVICE_ROLE,
                    created_at=now_text(),
                )
            ).inserted_primary_key[0]
        )
        _team_id(conn, team)  # made when new, as `user add --team` makes it
        conn.execute(
            insert(connectors).values(
                name=name,
                kind=kind,
                url=url,
                token_file=token_path,
                team=team,
                user_id=user_id,
                device_id=stable_id("device", name),
                out_after=0,
                created_at=now_text(),
            )
        )
    return get_connector(engine, name)


def _row(r: Any) -> Connector:
    return Connector(**{k: getattr(r, k) for k in Connector.__dataclass_fields__})


def get_connector(engine: Engine, name: str) -> Connector:
    with read(engine) as conn:
        found = conn.execute(select(connectors).where(connectors.c.name == name)).first()
    if found is None:
        raise ValidationError("name", f"no connector named '{name}' (see connector status)")
    return _row(found)


def list_connectors(engine: Engine) -> list[Connector]:
    with read(engine) as conn:
        return [_row(r) for r in conn.execute(select(connectors).order_by(connectors.c.name))]


@dataclass(frozen=True)
class Failure:
    direction: str
    entity: str
    record_id: str
    attempts: int
    reason: str
    dead: bool
    first_failed_at: str
    last_failed_at: str


def failures(engine: Engine, name: str, *, dead: bool | None = None) -> list[Failure]:
    query = select(connector_failures).where(connector_failures.c.connector == name)
    if dead is not None:
        query = query.where(connector_failures.c.dead == int(dead))
    with read(engine) as conn:
        rows = conn.execute(query.order_by(connector_failures.c.last_failed_at)).all()
    return [
        Failure(
            r.direction,
            r.entity,
            r.record_id,
            r.attempts,
            r.reason,
            bool(r.dead),
            r.first_failed_at,
            r.last_failed_at,
        )
        for r in rows
    ]


def retry_dead(engine: Engine, name: str) -> int:
    """Put the dead letters back in the queue: the next run tries them again."""
    get_connector(engine, name)
    with write(engine) as conn:
        return int(
            conn.execute(
                update(connector_failures)
                .where(connector_failures.c.connector == name, connector_failures.c.dead == 1)
                .values(dead=0, attempts=0)
            ).rowcount
        )


@dataclass
class Link:
    entity: str
    record_id: str
    remote_id: str | None
    state: str
    fingerprint: str | None
    version: int


class HubSide:
    """One connector's reads and writes on the Hub's database."""

    def __init__(self, engine: Engine, connector: Connector) -> None:
        self.engine = engine
        self.c = connector
        self._seq = int(datetime.now(UTC).timestamp() * 1000)

    # --- who writes -------------------------------------------------------------------
    def _authorize(self, conn: Connection) -> Principal:
        user = conn.execute(select(users).where(users.c.id == self.c.user_id)).first()
        if user is None or user.disabled_at is not None:
            raise exchange.Rejected(f"the connector's Hub account {self.c.email} is disabled")
        return Principal(user.id, user.email, SERVICE_ROLE, (self.c.team,), self.c.device_id, 0)

    def change(
        self, entity: str, record_id: str, op: str, fields: dict[str, list[Any]], *, change_id: str
    ) -> ChangeIn:
        self._seq += 1
        stamp = now_text()
        return ChangeIn(
            change_id=change_id,
            seq=self._seq,
            tx_id=change_id,
            entity=entity,
            record_id=record_id,
            op=op,
            fields=fields,
            at=stamp,
            author=self.c.email,
            schema_version=SCHEMA_VERSION,
        )

    def push(self, batch: list[ChangeIn]) -> list[PushResult]:
        """Apply changes as the connector's account, in one Hub transaction."""
        if not batch:
            return []
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            return exchange.push(
                conn,
                self._authorize,
                device_id=self.c.device_id,
                client_time=to_utc_text(now),
                batch=batch,
                server_now=now,
            )

    # --- what the Hub holds -----------------------------------------------------------
    def records_of(self, entity: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with read(self.engine) as conn:
            for chunk in chunked(ids):
                rows = conn.execute(
                    select(records.c.record_id, records.c.data, records.c.team).where(
                        records.c.entity == entity, records.c.record_id.in_(chunk)
                    )
                )
                out.update({r.record_id: dict(r.data) for r in rows if r.team == self.c.team})
        return out

    def changed_after(self, after: int, entities: tuple[str, ...], limit: int) -> list[Any]:
        """The team's changes after ``after`` made by anyone but this connector."""
        with read(self.engine) as conn:
            return conn.execute(
                select(changes.c.server_seq, changes.c.entity, changes.c.record_id)
                .where(
                    changes.c.server_seq > after,
                    changes.c.team == self.c.team,
                    changes.c.device_id != self.c.device_id,
                    changes.c.entity.in_(entities),
                )
                .order_by(changes.c.server_seq)
                .limit(limit)
            ).all()

    def high_water(self) -> int:
        with read(self.engine) as conn:
            return exchange.high_water(conn)

    def set_cursor(self, after: int) -> None:
        with write(self.engine) as conn:
            conn.execute(
                update(connectors).where(connectors.c.name == self.c.name).values(out_after=after)
            )

    def cursor(self) -> int:
        with read(self.engine) as conn:
            return int(
                conn.execute(
                    select(connectors.c.out_after).where(connectors.c.name == self.c.name)
                ).scalar_one()
            )

    # --- the id map ---------------------------------------------------------------------
    def links(self, entity: str) -> dict[str, Link]:
        with read(self.engine) as conn:
            rows = conn.execute(
                select(connector_links).where(
                    connector_links.c.connector == self.c.name, connector_links.c.entity == entity
                )
            )
            return {
                r.record_id: Link(
                    r.entity, r.record_id, r.remote_id, r.state, r.fingerprint, r.version
                )
                for r in rows
            }

    def link(self, entity: str, record_id: str) -> Link | None:
        with read(self.engine) as conn:
            r = conn.execute(
                select(connector_links).where(
                    connector_links.c.connector == self.c.name,
                    connector_links.c.entity == entity,
                    connector_links.c.record_id == record_id,
                )
            ).first()
        if r is None:
            return None
        return Link(r.entity, r.record_id, r.remote_id, r.state, r.fingerprint, r.version)

    def save_link(self, link: Link) -> None:
        """Write one id-map row (and clear a failure of that record): one transaction."""
        self.save_links([link])

    def save_links(self, links: list[Link]) -> None:
        """Write id-map rows, all in one transaction."""
        if not links:
            return
        with write(self.engine) as conn:
            for link in links:
                self._save_link(conn, link)

    def _save_link(self, conn: Connection, link: Link) -> None:
        key = and_(
            connector_links.c.connector == self.c.name,
            connector_links.c.entity == link.entity,
            connector_links.c.record_id == link.record_id,
        )
        values = {
            "remote_id": link.remote_id,
            "state": link.state,
            "fingerprint": link.fingerprint,
            "version": link.version,
            "updated_at": now_text(),
        }
        if conn.execute(update(connector_links).where(key).values(**values)).rowcount == 0:
            conn.execute(
                insert(connector_links).values(
                    connector=self.c.name, entity=link.entity, record_id=link.record_id, **values
                )
            )
        if link.state != "creating":
            conn.execute(
                delete(connector_failures).where(
                    connector_failures.c.connector == self.c.name,
                    connector_failures.c.entity == link.entity,
                    connector_failures.c.record_id == link.record_id,
                )
            )

    # --- failures -----------------------------------------------------------------------
    def fail(self, direction: str, entity: str, record_id: str, reason: str) -> bool:
        """Count one more failed attempt; True when the record is now dead."""
        stamp = now_text()
        key = and_(
            connector_failures.c.connector == self.c.name,
            connector_failures.c.direction == direction,
            connector_failures.c.entity == entity,
            connector_failures.c.record_id == record_id,
        )
        with write(self.engine) as conn:
            found = conn.execute(select(connector_failures.c.attempts).where(key)).scalar()
            attempts = int(found or 0) + 1
            dead = int(attempts >= MAX_ATTEMPTS)
            if found is None:
                conn.execute(
                    insert(connector_failures).values(
                        connector=self.c.name,
                        direction=direction,
                        entity=entity,
                        record_id=record_id,
                        attempts=attempts,
                        reason=reason[:2000],
                        dead=dead,
                        first_failed_at=stamp,
                        last_failed_at=stamp,
                    )
                )
            else:
                conn.execute(
                    update(connector_failures)
                    .where(key)
                    .values(
                        attempts=attempts, reason=reason[:2000], dead=dead, last_failed_at=stamp
                    )
                )
        return bool(dead)

    def pending_failures(self, direction: str) -> list[tuple[str, str]]:
        """(entity, record id) of failures still retried (not dead)."""
        with read(self.engine) as conn:
            rows = conn.execute(
                select(connector_failures.c.entity, connector_failures.c.record_id).where(
                    connector_failures.c.connector == self.c.name,
                    connector_failures.c.direction == direction,
                    connector_failures.c.dead == 0,
                )
            )
            return [(r.entity, r.record_id) for r in rows]

    def clear_failures(self, direction: str, entity: str, record_ids: list[str]) -> None:
        """Forget the failures of these records (delivered now), in one transaction."""
        if not record_ids:
            return
        with write(self.engine) as conn:
            for chunk in chunked(record_ids):
                conn.execute(
                    delete(connector_failures).where(
                        connector_failures.c.connector == self.c.name,
                        connector_failures.c.direction == direction,
                        connector_failures.c.entity == entity,
                        connector_failures.c.record_id.in_(chunk),
                    )
                )

    def finish(self, *, ok: bool, error: str | None, counts: dict[str, int]) -> None:
        stamp = now_text()
        values: dict[str, Any] = {"last_run_at": stamp, "last_error": error, "last_counts": counts}
        if ok:
            values["last_ok_at"] = stamp
        with write(self.engine) as conn:
            conn.execute(
                update(connectors).where(connectors.c.name == self.c.name).values(**values)
            )


def token_mode_ok(path: str) -> bool:
    try:
        return not os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    except OSError:
        return False
