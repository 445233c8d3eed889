"""Sync errors, each with a ``kind`` the window and the command line map to words."""

from __future__ import annotations

from touchpoint.errors import TouchpointError


class SyncError(TouchpointError):
    kind = "sync"
    transient = False  # worth retrying with backoff


class OfflineError(SyncError):
    """No connection to the Hub (or it timed out)."""

    kind = "offline"
    transient = True


class AuthError(SyncError):
    """Not signed in, or the sign-in expired, was revoked or the account disabled."""

    kind = "auth"


class UpdateError(SyncError):
    """The Hub and this Touchpoint speak different protocol versions."""

    kind = "update"


class ServerError(SyncError):
    """The Hub failed (5xx: retried) or refused the request (4xx: not retried)."""

    kind = "server"

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class KeyringUnavailable(SyncError):
    """No OS keyring to keep the device token in (checked before signing in)."""

    kind = "keyring"
