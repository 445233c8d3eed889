"""Whether a Hub address may be sent a password: HTTPS, or plain HTTP to this computer.

One check for every way of signing in (``touchpoint login``, the sign-in dialog, the
first-run wizard), made before the password is asked for or sent. Plain ``http://``
to another computer lets anyone on the network read the password and the customer
data; it is refused unless the user says so (``--allow-http``) or the machine policy
sets ``hub.allow_http = true``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from touchpoint.errors import ValidationError
from touchpoint.policy import LoadedPolicy, current_policy


class PlainHttpRefused(ValidationError):
    """The address is plain http:// to another computer."""

    def __init__(self, server: str, host: str) -> None:
        super().__init__(
            "server",
            f"{server} is not encrypted (http://): your password and customer data would "
            f"travel readable to {host}; use https://",
        )
        self.server = server
        self.host = host


def is_loopback(host: str) -> bool:
    """True for this computer: localhost, 127.0.0.0/8 and ::1."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def policy_allows_http(loaded: LoadedPolicy | None = None) -> bool:
    """True when the machine policy sets ``hub.allow_http = true``."""
    hub = (loaded or current_policy()).hub_policy()
    return bool(hub is not None and hub.allow_http)


def check_hub_address(
    server: str, *, allow_http: bool = False, loaded: LoadedPolicy | None = None
) -> None:
    """Refuse (:class:`PlainHttpRefused`) plain http:// to a host that is not this
    computer, unless ``allow_http`` or the policy allows it. HTTPS always passes."""
    parts = urlsplit(server.strip())
    if parts.scheme.lower() != "http":
        return
    host = parts.hostname or ""
    if is_loopback(host) or allow_http or policy_allows_http(loaded):
        return
    raise PlainHttpRefused(server.strip(), host or server)
