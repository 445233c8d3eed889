"""Console sign-in: signed, stateless session cookies and CSRF tokens (itsdangerous).

The cookie carries the user id, when the session began, a session version and a
random nonce; it is signed again on every request, so its timestamp is the last
activity and a cookie idle for :data:`IDLE` is refused. The user row is read on
every request: a disabled user is out at once, and the version (a digest of the
password hash, role and disabled state) ends every session when any of them change.

CSRF: every POST form carries a token signed over the session's nonce (before sign-in,
over a nonce in a short-lived pre-session cookie). A cross-site page can neither read
the token nor forge its signature; the SameSite=Strict cookie is a second wall.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger(__name__)

SECRET_ENV = "TOUCHPOINT_HUB_SECRET"
COOKIE = "tp_console"
PRE_COOKIE = "tp_console_pre"
IDLE = 30 * 60  # seconds without a request before the session ends
LONGEST = 12 * 3600  # a session ends after this however busy it is


def secret_key() -> str:
    """$TOUCHPOINT_HUB_SECRET, else a random key kept (owner-only) in the Hub's data
    folder, made on first use: every worker of one Hub signs with the same key."""
    explicit = os.environ.get(SECRET_ENV, "").strip()
    if explicit:
        return explicit
    import platformdirs

    path = Path(platformdirs.user_data_dir("touchpoint-hub", "Touchpoint")) / "console.key"
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole, then linked into place: a worker starting at the same
            # moment reads either no file or the full key, never half of one.
            draft = path.with_name(f".console.key.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another worker made it first: theirs is used
            finally:
                draft.unlink()
        return path.read_text().strip()
    except OSError as exc:
        # The sync API must still start; console sign-ins then last as long as this worker.
        log.warning(
            "console key not kept (%s): set %s to share one across workers", exc, SECRET_ENV
        )
        return secrets.token_urlsafe(48)


@dataclass(frozen=True)
class Session:
    user_id: int
    issued_at: int
    version: str
    nonce: str


class Signer:
    def __init__(self, key: str) -> None:
        self._session = URLSafeTimedSerializer(key, salt="touchpoint-console-session")
        self._csrf = URLSafeTimedSerializer(key, salt="touchpoint-console-csrf")

    def issue(self, session: Session) -> str:
        return self._session.dumps(
            [session.user_id, session.issued_at, session.version, session.nonce]
        )

    def read(self, cookie: str | None, now: float) -> Session | None:
        if not cookie:
            return None
        try:
            uid, issued, version, nonce = self._session.loads(cookie, max_age=IDLE)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(uid, int) or not isinstance(issued, int) or now - issued > LONGEST:
            return None
        return Session(uid, issued, str(version), str(nonce))

    def csrf_token(self, nonce: str) -> str:
        return self._csrf.dumps(nonce)

    def csrf_ok(self, token: str | None, nonce: str | None) -> bool:
        if not token or not nonce:
            return False
        try:
            # A form older than the longest session is stale anyway.
            return secrets.compare_digest(str(self._csrf.loads(token, max_age=LONGEST)), nonce)
        except BadSignature:
            return False
