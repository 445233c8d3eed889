"""Setting a laptop up without anyone at it, and what the first start should offer.

``touchpoint provision`` (for IT's software-distribution scripts) checks its input
first, then writes the user's settings, records the Hub and, given an enrollment
token, trades it for a device token kept in the OS keyring. Without a token it only
records the Hub (and the email): the window asks for the password at its first start.
Running it again with the same input changes nothing.

The first-run wizard reads :func:`first_run_state` to know where to start.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from touchpoint.domain import values
from touchpoint.errors import TouchpointError, ValidationError, ValidationErrors
from touchpoint.policy import LoadedPolicy
from touchpoint.settings import Settings
from touchpoint.storage.models import Customer
from touchpoint.storage.workspace import Workspace
from touchpoint.sync import credentials
from touchpoint.sync.engine import (
    CA_KEY,
    CURSOR_KEY,
    EMAIL_KEY,
    LAST_SYNC_KEY,
    SERVER_KEY,
    SyncEngine,
    SyncResult,
    read_meta,
    waiting_count,
    write_meta,
)
from touchpoint.sync.errors import AuthError
from touchpoint.sync.hub_address import PlainHttpRefused, check_hub_address
from touchpoint.sync.protocol import EnrollRequest, HelloRequest
from touchpoint.sync.transport import HubClient

log = logging.getLogger(__name__)

# "no" when IT asked for no demo data: the first-run wizard then does not offer it.
DEMO_KEY = "first_run_demo"


class KeyringUnavailable(TouchpointError):
    """No OS keyring to keep the device token in; nothing was sent to the Hub."""

    kind = "keyring"


@dataclass(frozen=True)
class ProvisionRequest:
    """What the set-up script asked for, checked and normalised by :func:`check_request`."""

    server: str
    email: str | None = None
    enrollment_token: str | None = None
    ca_bundle: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    demo: bool = True


@dataclass(frozen=True)
class ProvisionResult:
    server: str
    email: str | None
    signed_in: bool  # a device token for this Hub is in the keyring
    enrolled: bool  # ... traded for the enrollment token in this run
    settings_file: str
    database: str
    schema_version: str


def locked_hub_address(loaded: LoadedPolicy) -> str | None:
    """The Hub address the machine policy in force locks, if it locks one."""
    hub = loaded.policy.hub
    return hub.server if hub.locked and hub.server else None


def locked_settings(loaded: LoadedPolicy) -> dict[str, Any]:
    """The user settings the machine policy in force sets (and so locks)."""
    return dict(loaded.forced_settings())


# --- checking the input -------------------------------------------------------------------
def check_server(field: str, raw: str) -> str:
    """``https://hub.example.com:8600`` (lower-case scheme and host, no trailing slash)."""
    text = (raw or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(field, f"'{raw}' is not a Hub address like https://hub.example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(field, "give only the address: no user, query or #fragment")
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(field, f"'{raw}' has an invalid port") from None
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def _check_ca_bundle(field: str, raw: str) -> str:
    path = Path(raw).expanduser()
    try:
        head = path.read_bytes()[:1_000_000]
    except IsADirectoryError:
        raise ValidationError(field, f"{raw} is a folder, not a certificate file") from None
    except OSError as exc:
        raise ValidationError(field, f"cannot read {raw} ({exc.strerror or exc})") from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise ValidationError(field, f"{raw} holds no PEM certificate")
    return str(path.resolve())


def _check_timezone(field: str, raw: str) -> str:
    name = raw.strip()
    if not name:
        return ""  # the system's zone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            field, f"'{raw}' is not a known time zone; use a name like Europe/Berlin"
        ) from None
    return name


def _check_email(field: str, raw: str) -> str | None:
    # The Hub keeps accounts lower-cased; the laptop signs its changes with the same text.
    address = values.email(field, raw)
    return address.lower() if address else None


def _check_token(field: str, raw: str) -> str:
    token = raw.strip()
    if not 20 <= len(token) <= 200 or any(c.isspace() for c in token):
        raise ValidationError(field, "is not an enrollment token from `touchpoint-hub enroll`")
    return token


def check_request(
    *,
    server: str,
    email: str | None = None,
    enrollment_token: str | None = None,
    ca_bundle: str | None = None,
    display_name: str | None = None,
    timezone: str | None = None,
    demo: bool = True,
    allow_http: bool = False,
    locked_server: str | None = None,
    locked: dict[str, Any] | None = None,
    policy: LoadedPolicy | None = None,
) -> ProvisionRequest:
    """Every problem at once, each naming its option; nothing is touched. ``policy``: the
    run's machine policy (may it allow plain http), else the file's as it is now."""
    problems: list[ValidationError] = []
    locked = locked or {}

    def check(field: str, fn: Any, raw: str | None) -> Any:
        if raw is None:
            return None
        try:
            return fn(field, raw)
        except ValidationError as exc:
            problems.append(exc)
            return None

    clean_server = check("--server", check_server, server)
    if clean_server:
        # An enrollment token is as good as a password: not over plain http to another host.
        try:
            check_hub_address(clean_server, allow_http=allow_http, loaded=policy)
        except PlainHttpRefused as exc:
            problems.append(ValidationError("--server", f"{exc.problem}, or give --allow-http"))
    if clean_server and locked_server and clean_server != check_server("policy", locked_server):
        problems.append(
            ValidationError(
                "--server",
                f"this computer's policy locks the Hub address to {locked_server}",
            )
        )
    request = ProvisionRequest(
        server=clean_server or "",
        email=check("--email", _check_email, email),
        enrollment_token=check("--enrollment-token", _check_token, enrollment_token),
        ca_bundle=check("--ca-bundle", _check_ca_bundle, ca_bundle),
        display_name=check(
            "--display-name", lambda f, v: values.short_text(f, v, limit=200) or "", display_name
        ),
        timezone=check("--timezone", _check_timezone, timezone),
        demo=demo,
    )
    for option, name in (("--timezone", "timezone"), ("--display-name", "display_name")):
        given = getattr(request, name)
        if given is not None and name in locked and locked[name] != given:
            problems.append(
                ValidationError(option, f"this computer's policy sets it to '{locked[name]}'")
            )
    if problems:
        raise ValidationErrors(problems)
    return request


def check_keyring() -> None:
    """Refuse before the one-time token is spent if there is nowhere to keep its result."""
    try:
        credentials.load_token("https://keyring-check.invalid", "touchpoint")
        import keyring
        from keyring.backends import fail

        if isinstance(keyring.get_keyring(), fail.Keyring):
            raise RuntimeError("no keyring backend")
    except Exception as exc:
        raise KeyringUnavailable(
            f"keyring: no OS keyring to keep the device token in ({exc}); "
            "run provision in the user's desktop session, or leave out --enrollment-token "
            "so the window asks for the password"
        ) from exc


# --- doing it ---------------------------------------------------------------------------
def _device_name() -> str:
    return socket.gethostname()[:200]


def _still_signed_in(ws: Workspace, request: ProvisionRequest, transport: Any) -> bool:
    """A device token for this Hub (and the requested account) is kept and still accepted."""
    server = request.server
    with ws.read() as session:
        if read_meta(session, SERVER_KEY) != server:
            return False
        email = read_meta(session, EMAIL_KEY)
    if request.email and request.email != email:
        return False  # set up for someone else now: enroll with the new token
    token = credentials.load_token(server, email) if email else None
    if not token:
        return False
    try:
        with HubClient(
            server, token=token, ca_bundle=request.ca_bundle, transport=transport, policy=ws.policy
        ) as client:
            client.hello(
                HelloRequest(
                    protocol=1,
                    device_id=ws.device_id,
                    client_time=_utc_text(ws),
                )
            )
    except AuthError:
        log.info("provision: the kept device token was refused; enrolling again")
        return False
    return True


def _utc_text(ws: Workspace) -> str:
    from touchpoint.storage.types import to_utc_text

    return to_utc_text(ws.now())


def _guard_hub_change(ws: Workspace, server: str) -> None:
    """Moving to another Hub must not strand changes meant for the old one."""
    with ws.read() as session:
        current = read_meta(session, SERVER_KEY)
        email = read_meta(session, EMAIL_KEY)
    if not current or current == server or not email:
        return
    if not credentials.load_token(current, email):
        return
    waiting = waiting_count(ws)
    if waiting:
        raise ValidationError(
            "--server",
            f"this laptop syncs with {current} and {waiting} change(s) wait to be sent "
            "there; run `touchpoint sync` first",
        )


def provision(
    ws: Workspace, request: ProvisionRequest, *, transport: Any = None
) -> ProvisionResult:
    """Apply a checked request. Raises a SyncError when the Hub is unreachable or refuses
    the enrollment token (then settings and the recorded Hub are left as they were)."""
    server = request.server
    log.info(
        "provision: hub %s, email %s, enrollment token %s",
        server,
        "given" if request.email else "not given",
        "given" if request.enrollment_token else "not given",
    )
    _guard_hub_change(ws, server)
    email = request.email
    enrolled = False
    signed_in = False
    token: str | None = None
    if request.enrollment_token:
        check_keyring()
        if _still_signed_in(ws, request, transport):
            log.info("provision: already enrolled with %s; the token was not used", server)
            signed_in = True
            with ws.read() as session:
                email = read_meta(session, EMAIL_KEY)
        else:
            try:
                with HubClient(
                    server, ca_bundle=request.ca_bundle, transport=transport, policy=ws.policy
                ) as c:
                    answer = c.enroll(
                        EnrollRequest(
                            enrollment_token=request.enrollment_token,
                            device_id=ws.device_id,
                            device_name=_device_name(),
                            email=request.email,
                        )
                    )
            except AuthError as exc:
                raise AuthError(f"--enrollment-token: the Hub refused it ({exc.message})") from exc
            email, token = answer.email, answer.token
            enrolled = signed_in = True
            log.info("provision: enrolled this laptop with %s", server)
    elif email:
        with ws.read() as session:
            same = read_meta(session, SERVER_KEY) == server and read_meta(session, EMAIL_KEY)
        signed_in = bool(same == email and credentials.load_token(server, email))

    # The Hub has answered (or was not needed): now write, settings first.
    settings = ws.settings
    changed = {
        "user": email if email else settings.user,
        "display_name": (
            request.display_name if request.display_name is not None else settings.display_name
        ),
        "timezone": request.timezone if request.timezone is not None else settings.timezone,
    }
    if any(getattr(settings, k) != v for k, v in changed.items()):
        ws.update_settings(replace(settings, **changed))
        log.info("provision: settings written to %s", ws.paths.settings_file)
    if token is not None and email:
        credentials.save_token(server, email, token)
    with ws.unit_of_work(origin="remote") as uow:
        s = uow.session
        old_server, old_email = read_meta(s, SERVER_KEY), read_meta(s, EMAIL_KEY)
        # No email given: keep the one recorded for this same Hub, forget another Hub's.
        new_email = email or (old_email if old_server == server else None)
        if old_server != server or (old_email and old_email != new_email):
            write_meta(s, CURSOR_KEY, "0")  # another Hub or user: pull everything again
        write_meta(s, SERVER_KEY, server)
        write_meta(s, EMAIL_KEY, new_email)
        write_meta(s, CA_KEY, request.ca_bundle)
        write_meta(s, DEMO_KEY, None if request.demo else "no")
        uow.commit()
    log.info("provision: done (signed in: %s)", signed_in)
    return ProvisionResult(
        server=server,
        email=new_email,
        signed_in=signed_in,
        enrolled=enrolled,
        settings_file=str(ws.paths.settings_file),
        database=str(ws.paths.database),
        schema_version=ws.schema_version,
    )


def first_sync(ws: Workspace, *, transport: Any = None, **options: Any) -> SyncResult:
    """One sync cycle right after provisioning (AuthError when no device token is kept),
    and the search indexing of what it brought: the laptop is handed over ready."""
    from touchpoint.services.search import catch_up_index

    engine = SyncEngine.for_workspace(ws, transport=transport, **options)
    try:
        result = engine.run()
    finally:
        engine.client.close()
    catch_up_index(ws)
    log.info(
        "provision: first sync %s (%d received, %d sent)",
        result.status,
        result.pulled,
        result.pushed,
    )
    return result


# --- the first start ------------------------------------------------------------------------
@dataclass(frozen=True)
class FirstRunState:
    """What the first-run wizard needs to know, read off the UI thread."""

    empty: bool  # no live customer yet
    server: str  # recorded by provisioning or an earlier sign-in ("" when none)
    email: str
    ca_bundle: str | None
    server_locked: bool  # the policy fixes the Hub address
    signed_in: bool  # a device token for the recorded Hub is kept
    demo_allowed: bool
    synced_before: bool = False  # this laptop has synced with a Hub (and maybe signed out)
    user: str = ""  # the rep's email in the settings ("" when never given)
    display_name: str = ""  # the rep's name in the settings

    @property
    def show(self) -> bool:
        """An empty book, or a Hub set up for this laptop (by provisioning) that it has
        never signed in to. A laptop signed out on purpose is not asked again at start."""
        if self.signed_in:
            return False
        return self.empty or (bool(self.server) and not self.synced_before)


def first_run_state(ws: Workspace) -> FirstRunState:
    locked_server = locked_hub_address(ws.policy)
    with ws.read() as session:
        empty = (
            session.execute(
                select(Customer.id).where(Customer.deleted_at.is_(None)).limit(1)
            ).first()
            is None
        )
        server = read_meta(session, SERVER_KEY) or ""
        email = read_meta(session, EMAIL_KEY) or ""
        ca = read_meta(session, CA_KEY) or None
        demo = read_meta(session, DEMO_KEY) != "no"
        synced_before = read_meta(session, LAST_SYNC_KEY) is not None
    if locked_server:
        server = locked_server
    signed_in = bool(server and email and credentials.load_token(server, email))
    return FirstRunState(
        empty=empty,
        server=server,
        email=email,
        ca_bundle=ca,
        server_locked=bool(locked_server),
        signed_in=signed_in,
        demo_allowed=demo,
        synced_before=synced_before,
        user=ws.settings.user,
        display_name=ws.settings.display_name,
    )


def set_rep_identity(ws: Workspace, *, email: str, name: str) -> Settings:
    """The rep's email and display name given at first run (working offline): they sign
    every change and name the rep in reports until a Hub account takes over. An empty
    field leaves that setting as it is; a bad email is a ValidationError naming it."""
    email = (email or "").strip()
    name = (name or "").strip()
    changes: dict[str, str] = {}
    if email:
        changes["user"] = values.email("email", email) or email
    if name:
        changes["display_name"] = values.short_text("display name", name, limit=200) or ""
    if changes:
        ws.update_settings(replace(ws.settings, **changes))
    return ws.settings
