"""A short lane for the requests every laptop sends at each sync: hello, push and pull.

A thousand laptops syncing every few seconds send hundreds of these a second, most of
them small; FastAPI's layers (routing, dependencies, parameter models, a second hop to a
request thread) then cost more CPU than the work itself. A request in exactly the shape
the laptops send (a supported protocol header, a bearer token, a JSON body that is a
valid request, plain query parameters) is answered here by the same functions as the
routes, on a thread of the lane's own pool (an asyncio executor: anyio's hop to a request
thread, with its limiter and cancel scopes, took about a tenth of a small request's CPU);
an error they raise is answered by the app's own exception handlers. Anything else goes
the ordinary way, untouched, and FastAPI answers it as it always did (its 422s, 426s,
413s and 401s included): the lane never answers what it does not fully understand.

The lane stands in front of the whole app (:class:`LanedApp`), its middleware included:
what those do for a sync request (the error handler's 500, the body's size limit) it
does itself, so it does not pass through six layers of them both ways.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from touchpoint.sync.protocol import PROTOCOL_HEADER, SUPPORTED_PROTOCOLS


class Answer(NamedTuple):
    """An answer in another form than JSON."""

    body: bytes
    media_type: str


# What a route hands the lane: given the bearer token, the query string and the body,
# the work to run on a request thread (returning the JSON answer, or an Answer), or None
# to leave the request to FastAPI.
Work = Callable[[], bytes | Answer]
Prepare = Callable[[str, str, bytes], Work | None]

_PROTOCOL = PROTOCOL_HEADER.lower().encode("latin-1")
_WANTED = (b"authorization", _PROTOCOL, b"content-type")
_JSON_HEADERS = [(b"content-type", b"application/json")]


def parse_body(model: type[BaseModel], body: bytes) -> Any | None:
    """The request body as the model, parsed and checked in one pass by pydantic's own
    JSON reader, or None when it is not valid: FastAPI then reads it its way
    (``json.loads``, then the model) and answers with its own words. What this reader
    takes, ``json.loads`` reads to the same values; what it refuses (a lone surrogate,
    UTF-16, a byte order mark) goes to FastAPI, which decides."""
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


# The lane's request threads, shared by the apps of a process (a server worker has one):
# as many as the pooled connections, so none waits for the pool while holding a thread.
_threads: ThreadPoolExecutor | None = None


def _pool(size: int) -> ThreadPoolExecutor:
    global _threads  # noqa: PLW0603 (made once, on the first request)
    if _threads is None:
        _threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sync-lane")
    return _threads


class SyncLane:
    """ASGI middleware: ``routes`` maps (method, path) to what the route prepares;
    ``threads``: how many requests run at once on the lane's threads. A body bigger than
    the owner's ``max_body_size`` goes to the app, which refuses it."""

    def __init__(
        self,
        app: Any,
        *,
        owner: FastAPI,
        routes: dict[tuple[str, str], Prepare],
        threads: int,
    ) -> None:
        self.app, self.owner, self.routes, self.threads = app, owner, routes, threads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        prepare = (
            self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if prepare is None:
            await self.app(scope, receive, send)
            return
        found = _headers(scope)
        token = _bearer(found.get(b"authorization"))
        version = found.get(_PROTOCOL)
        if (
            token is None
            or version is None
            or not version.isdigit()
            or int(version) not in SUPPORTED_PROTOCOLS
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Any] = []
        body = b""
        if scope["method"] == "POST":
            kind = (found.get(b"content-type") or b"").split(b";")[0].strip().lower()
            if kind != b"application/json":
                await self.app(scope, receive, send)
                return
            body = await _read_body(receive, messages, self.owner.max_body_size)
            if body is None:  # too big, or the client went away meanwhile
                await self.app(scope, _replay(messages, receive), send)
                return
        work = prepare(token, scope.get("query_string", b"").decode("latin-1"), body)
        if work is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        try:
            answer = await asyncio.get_running_loop().run_in_executor(_pool(self.threads), work)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise  # no handler at all: the server answers 500 and logs it
            response = handler(Request(scope), exc)
            if inspect.isawaitable(response):
                response = await response
            await response(scope, receive, send)
            if self.owner.exception_handlers.get(Exception) is handler:
                raise  # as Starlette's error middleware does: the server logs it too
            return
        kind = _JSON_HEADERS
        if isinstance(answer, Answer):
            answer, kind = answer.body, [(b"content-type", answer.media_type.encode("latin-1"))]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*kind, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _handler_for(
        self, exc: Exception
    ) -> Callable[[Request, Exception], Response | Awaitable[Response]] | None:
        handlers = self.owner.exception_handlers
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        return handlers.get(500)


class LanedApp(FastAPI):
    """FastAPI with a :class:`SyncLane` in front of everything (none until
    :meth:`add_sync_lane`)."""

    sync_lane: SyncLane | None = None

    def add_sync_lane(self, routes: dict[tuple[str, str], Prepare], *, threads: int) -> None:
        self.sync_lane = SyncLane(
            partial(FastAPI.__call__, self), owner=self, routes=routes, threads=threads
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.sync_lane is None:
            await super().__call__(scope, receive, send)
        else:
            await self.sync_lane(scope, receive, send)


def _headers(scope: Any) -> dict[bytes, bytes]:
    """The headers the lane reads; one sent twice is dropped, so FastAPI decides."""
    found: dict[bytes, bytes] = {}
    twice: set[bytes] = set()
    for name, value in scope["headers"]:
        key = name.lower()
        if key in _WANTED:
            if key in found:
                twice.add(key)
            found[key] = value
    for key in twice:
        del found[key]
    return found


def _bearer(value: bytes | None) -> str | None:
    if value is None or not value.startswith(b"Bearer "):
        return None
    token = value[7:].decode("latin-1").strip()
    return token or None


async def _read_body(receive: Any, messages: list[Any], limit: int | None) -> bytes | None:
    """The whole body, or None when the client went away or it is over ``limit`` bytes."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(messages: list[Any], receive: Any) -> Any:
    """``receive`` again from the start: the messages already read, then the rest."""
    pending = list(messages)

    async def again() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


def query_ints(query: str, bounds: dict[str, tuple[int, int, int]]) -> dict[str, int] | None:
    """Plain integer query parameters (``name: (default, low, high)``), each given at
    most once and in range, or None (another parameter, a repeat, a sign, a space...)."""
    values = {name: default for name, (default, _low, _high) in bounds.items()}
    seen: set[str] = set()
    for part in query.split("&") if query else ():
        name, eq, text = part.partition("=")
        if (
            not eq
            or name not in bounds
            or name in seen
            or not (text.isascii() and text.isdigit())
            or len(text) > 20
        ):
            return None
        seen.add(name)
        number = int(text)
        _default, low, high = bounds[name]
        if not low <= number <= high:
            return None
        values[name] = number
    return values
