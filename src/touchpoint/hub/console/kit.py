"""What the console's page modules share: the checks and the rendering of ``mount``.

``mount`` (in the package) builds one :class:`Kit` and hands it to each module that adds
pages (administration, managers' pages, webhooks, API keys, connectors), so they check
roles, CSRF tokens and render the same way without importing the package itself; and
every admin action posted goes through :func:`act`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from touchpoint.hub.accounts import AccountError
from touchpoint.hub.console import audit


@dataclass(frozen=True)
class Kit:
    need: Callable[..., Any]  # need(request, *roles) -> Viewer, else 403 or the sign-in
    check_csrf: Callable[[Any, str], None]  # a form's token of this session, else 403
    render: Callable[..., Response]  # render(request, template, viewer, status, **context)
    headers: Callable[[Response], Response]  # the security headers every answer carries
    forbid: Callable[[Any], NoReturn]  # answer 403, as for a page that does not exist
    # waits(page): the page run on the console's own request threads (see waiting_pages)
    waits: Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]

    @staticmethod
    def address(request: Request) -> str | None:
        """The browser's address, as the audit log keeps it."""
        return request.client.host if request.client else None


# Request threads of the pages that read the team figures. Such a page can wait for
# another's work: the report or list being figured for everyone asking, a pull, the
# first catch-up (seconds, at L). Waiting on the server's own few threads (as many as its
# database connections), the managers asking at once held up every other page and the
# API with them; a thread that waits holds no connection, so these wait on their own.
FIGURES_THREADS = 24
T = TypeVar("T")


def waiting_pages(
    threads: int = FIGURES_THREADS,
) -> Callable[[Callable[..., T]], Callable[..., Awaitable[T]]]:
    """A decorator running a page (a plain function, as FastAPI's routes are) on a pool
    of ``threads`` request threads of its own, one pool per app."""
    limiter = anyio.CapacityLimiter(threads)

    def waits(page: Callable[..., T]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(page)  # FastAPI reads the page's own parameters
        async def run(*args: Any, **kwargs: Any) -> T:
            work = functools.partial(page, *args, **kwargs)
            return await anyio.to_thread.run_sync(work, limiter=limiter)

        return run

    return waits


@dataclass(frozen=True)
class Done:
    """An action carried out: what the audit log says, and what the admin is told."""

    action: str
    target: str
    message: str
    page: Callable[[], Response] | None = None  # a page to show instead of going back
    back: str | None = None  # where to go back to, when not the page the form was on


class NotDone(Exception):
    """An action refused, with the words the admin is shown (answered 422)."""


def act(  # noqa: PLR0917 (the request's parts and the action)
    kit: Kit,
    engine: Engine,
    request: Request,
    csrf: str,
    back: str,
    work: Callable[[Any], Done],
    refused: tuple[type[Exception], ...] = (),
) -> Response:
    """An admin's posted action: check the form's token, act, audit, then go back to
    ``back`` saying what was done. ``work`` raises :class:`NotDone`, an ``AccountError``
    or one of ``refused`` to be answered 422 with its words, and nothing is audited."""
    viewer = kit.need(request, "admin")
    kit.check_csrf(viewer, csrf)
    try:
        done = work(viewer)
    except (NotDone, AccountError, *refused) as exc:
        return kit.render(request, "error.html", viewer, 422, title="Not done", text=str(exc))
    audit.record(
        engine,
        viewer.email,
        done.action,
        done.target,
        via="console",
        address=kit.address(request),
    )
    if done.page is not None:
        return done.page()
    where = done.back or back
    where = f"{where}{'&' if '?' in where else '?'}{urlencode({'done': done.message})}"
    return kit.headers(RedirectResponse(where, status_code=303))
