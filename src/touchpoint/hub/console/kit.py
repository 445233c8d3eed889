"""What the console's page modules share: the checks and the rendering of ``mount``.

``mount`` (in the package) builds one :class:`Kit` and hands it to each module that adds
pages (administration, managers' pages), so they check roles, CSRF tokens and render
the same way without importing the package itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from fastapi import Request
from fastapi.responses import Response


@dataclass(frozen=True)
class Kit:
    need: Callable[..., Any]  # need(request, *roles) -> Viewer, else 403 or the sign-in
    check_csrf: Callable[[Any, str], None]  # a form's token of this session, else 403
    render: Callable[..., Response]  # render(request, template, viewer, status, **context)
    headers: Callable[[Response], Response]  # the security headers every answer carries
    forbid: Callable[[Any], NoReturn]  # answer 403, as for a page that does not exist

    @staticmethod
    def address(request: Request) -> str | None:
        """The browser's address, as the audit log keeps it."""
        return request.client.host if request.client else None
