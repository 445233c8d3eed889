"""HTTP to the Hub: one small client, errors turned into :mod:`touchpoint.sync.errors`.

TLS certificates are always verified, against the system's CAs or a corporate CA
bundle. The token is sent as a Bearer header and never logged.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from touchpoint import __version__
from touchpoint.sync.errors import AuthError, OfflineError, ServerError, UpdateError
from touchpoint.sync.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PULL_LINES,
    DigestResponse,
    EnrollRequest,
    HelloRequest,
    HelloResponse,
    LoginRequest,
    LoginResponse,
    PushRequest,
    PushResponse,
    RecordsPage,
)

if TYPE_CHECKING:
    from touchpoint.policy import LoadedPolicy

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


@functools.cache
def _system_tls() -> ssl.SSLContext:
    """The TLS context checking against the default CAs, made once per process: loading
    the CA bundle costs tens of milliseconds of CPU, and a client is made for each sync
    and each sign-in. A context is safe to share between clients and threads."""
    return httpx.create_ssl_context()


class HubClient:
    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        policy: LoadedPolicy | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        headers = {
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
            "User-Agent": f"Touchpoint/{__version__}",
        }
        from touchpoint.policy import current_policy

        # The machine policy's corporate CA bundle and HTTPS proxy, unless given here: the
        # run's (the Workspace's), else the file's as it is now.
        hub = (policy or current_policy()).hub_policy()
        ca_bundle = ca_bundle or (hub.ca_bundle if hub else None)
        self._http = httpx.Client(
            base_url=self.server,
            headers=headers,
            # A corporate bundle is read anew each time (it may have been replaced).
            verify=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else _system_tls(),
            proxy=hub.proxy if hub and hub.proxy and transport is None else None,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health", None, None)  # type: ignore[return-value]

    def login(self, body: LoginRequest) -> LoginResponse:
        return self._call("POST", "/v1/login", body, LoginResponse, auth=False)

    def enroll(self, body: EnrollRequest) -> LoginResponse:
        return self._call("POST", "/v1/enroll", body, LoginResponse, auth=False)

    def logout(self) -> None:
        self._call("POST", "/v1/logout", None, None)

    def hello(self, body: HelloRequest) -> HelloResponse:
        return self._call("POST", "/v1/hello", body, HelloResponse)

    def push(self, body: PushRequest) -> PushResponse:
        return self._call("POST", "/v1/push", body, PushResponse)

    def digest(self) -> DigestResponse:
        return self._call("GET", "/v1/digest", None, DigestResponse)

    def records(self, entity: str, after: str, limit: int = 5000) -> RecordsPage:
        params = {"entity": entity, "after": after, "limit": limit}
        return self._call("GET", "/v1/records", None, RecordsPage, params=params)

    def pull(self, after: int, limit: int) -> PullPage:
        """One page of changes after the cursor (see :class:`PullPage`), asked for as
        JSON lines; a Hub that does not know them answers JSON."""
        params = {"after": after, "limit": limit, "lines": 1}
        return self._call("GET", "/v1/pull", None, PullPage, params=params)

    # --- plumbing -------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        answer: type[Any] | None,
        *,
        auth: bool = True,
        params: dict[str, Any] | None = None,
    ) -> Any:
        headers = {}
        if auth:
            if not self.token:
                raise AuthError("not signed in to a Hub")
            headers["Authorization"] = f"Bearer {self.token}"
        content = body.model_dump_json().encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method, path, content=content, headers=headers, params=params
        )
        try:
            # Read as a stream into bytes of our own: a read Response keeps its body, and
            # sits in a reference cycle with its stream, so each page's bytes (megabytes in
            # a first sync) would wait for the cyclic collector, which a big pull pauses.
            response = self._http.send(request, stream=True)
            try:
                data = b"".join(response.iter_bytes())
            finally:
                response.close()
            kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        except httpx.TimeoutException as exc:
            raise OfflineError(f"the Hub at {self.server} did not answer in time") from exc
        except (httpx.TransportError, OSError) as exc:
            # ConnectError, ReadError, RemoteProtocolError, TLS failures...
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise ServerError(
                    f"the Hub's certificate is not trusted ({exc}); "
                    "give the corporate CA bundle when signing in",
                    transient=False,
                ) from exc
            raise OfflineError(f"cannot reach the Hub at {self.server} ({exc})") from exc
        return self._answer(response.status_code, data, answer, kind)

    def _answer(self, status: int, data: bytes, answer: type[Any] | None, kind: str = "") -> Any:
        message = _message(data) if status >= 400 else ""
        if status == 401:
            raise AuthError(message or "sign in again")
        if status == 426:
            raise UpdateError(message or "update Touchpoint to sync with this Hub")
        if status == 429:  # throttled sign-ins, or a Hub busy checking them: words only
            raise ServerError(message or "the Hub asks to wait: try again later", transient=False)
        if status >= 500:
            raise ServerError(f"the Hub failed ({status}): {message}")
        if status >= 400:
            raise ServerError(f"the Hub refused the request ({status}): {message}", transient=False)
        if answer is None:
            return orjson.loads(data) if data else None
        if answer is PullPage:
            return PullPage.parse(data, lines=kind == PULL_LINES)
        try:
            return answer.model_validate_json(data)
        except ValidationError as exc:
            raise ServerError(f"the Hub sent an answer this Touchpoint cannot read: {exc}") from exc


def _read_json(content: bytes) -> tuple[Any, bool]:
    """The document, and whether a change in it needs a careful look."""
    try:
        return orjson.loads(content), False
    except orjson.JSONDecodeError:
        # Valid JSON that orjson refuses: a lone surrogate ("\ud800") written into the
        # Hub's log before its door checked texts. The standard reader takes it; the
        # changes holding one are then set aside, not applied.
        return json.loads(content), True


def _read_lines(content: bytes) -> tuple[dict[str, Any], bool]:
    """A page in JSON lines as the one document it stands for (its head line's keys and
    ``changes``), read a line at a time: between two lines another thread may take
    Python's lock (the record writer of a first sync, which otherwise waited for the
    whole page to be read). Raises ValueError when a line is not JSON or the page has
    fewer or more changes than its head says (cut short on the way)."""
    if not content.endswith(b"\n"):
        raise ValueError("the page does not end with a whole line")
    head_line, *rows = content[:-1].split(b"\n")
    head, careful = _read_json(head_line)
    if type(head) is not dict:
        raise TypeError("the page's first line is not an object")
    changes: list[Any] = []
    append, loads = changes.append, orjson.loads
    for row in rows:
        try:
            append(loads(row))
        except orjson.JSONDecodeError:
            append(json.loads(row))  # a lone surrogate, as in _read_json
            careful = True
    count = head.get("count")
    if type(count) is not int or count != len(changes):
        raise ValueError(f"the page says {count!r} changes and holds {len(changes)}")
    return {**head, "changes": changes}, careful


def _message(data: bytes) -> str:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body)
    return str(body)[:200]


@dataclass(frozen=True)
class PullPage:
    """A pull answer (:class:`~touchpoint.sync.protocol.PullResponse`) read for speed.

    A first sync reads millions of rows: each is kept as the plain dict the JSON held
    (``server_seq``, ``change_id``, ``device_id``, ``entity``, ``record_id``, ``op``,
    ``fields``, ``author``), checked for the keys and types the engine relies on,
    instead of becoming a validated model object."""

    changes: list[dict[str, Any]]
    next_after: int
    high_water: int
    more: bool
    # Apply change by change, each checked first: the page holds something this laptop
    # may not be able to store (a text orjson refused, a change of the wrong shape).
    careful: bool = False

    @classmethod
    def parse(cls, content: bytes, *, lines: bool = False) -> PullPage:
        """The page in ``content``: one JSON document, or with ``lines`` the JSON lines
        form (:data:`~touchpoint.sync.protocol.PULL_LINES`)."""
        try:
            if lines:
                body, careful = _read_lines(content)
            else:
                body, careful = _read_json(content)
            changes = body["changes"]
            next_after, high_water = int(body["next_after"]), int(body["high_water"])
            more = body["more"]
            if type(changes) is not list or type(more) is not bool:
                raise TypeError("changes or more of the wrong type")
            for row in changes:
                if not (
                    type(row) is dict
                    and type(row.get("server_seq")) is int
                    and type(row.get("entity")) is str
                    and type(row.get("record_id")) is str
                    and type(row.get("fields")) is dict
                ):
                    careful = True  # set aside when applied, the rest goes on
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(
                f"the Hub sent an answer this Touchpoint cannot read: {exc!r}"
            ) from exc
        return cls(changes, next_after, high_water, more, careful)
