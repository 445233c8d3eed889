"""The Hub's HTTP API (FastAPI). Every request names the protocol version it speaks.

No ``from __future__ import annotations`` here: FastAPI reads the annotations of the
route functions, which are local to create_app, at run time.
"""

import contextlib
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, Engine, insert, or_, select, update

from touchpoint import __version__
from touchpoint.hub import (
    accounts,
    console,
    digest,
    door,
    exchange,
    integration,
    lane,
    throttle,
    webhooks,
)
from touchpoint.hub.db import POOL_SIZE, db_url, devices, make_engine, read, tokens, write
from touchpoint.storage.types import from_utc_text, to_utc_text
from touchpoint.sync.protocol import (
    MAX_BATCH,
    MAX_PAGE,
    MAX_PUSH_BYTES,
    MAX_SEQ,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PULL_LINES,
    SUPPORTED_PROTOCOLS,
    DigestResponse,
    EnrollRequest,
    HelloRequest,
    HelloResponse,
    LoginRequest,
    LoginResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    RecordsPage,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers


def create_app(engine: Engine, *, clock: Callable[[], datetime] | None = None) -> lane.LanedApp:
    now = clock or (lambda: datetime.now(UTC))
    app = lane.LanedApp(
        title="Touchpoint Hub",
        version=__version__,
        description="Sync server for Touchpoint. Protocol documented in touchpoint.sync.protocol.",
        # A bigger body is answered 413 while it arrives, before it is read whole.
        max_body_size=MAX_PUSH_BYTES,
    )
    app.state.engine = engine
    # Set after each push: this process's webhook dispatcher (if it runs one) wakes at once.
    app.state.pushed = threading.Event()
    blocked: dict[str, datetime] = {}  # addresses throttled, for the gate in front
    app.add_middleware(throttle.LoginGate, clock=now, blocked=blocked)

    def failed(attempt: dict[str, int]) -> None:
        for key, until in throttle.note_failure(engine, attempt, now()).items():
            if key.startswith("addr:"):
                blocked[key] = until

    @app.exception_handler(ApiError)
    def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.error, "message": exc.message},
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # With its traceback into the Hub's log file; the caller gets words, not a trace.
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "server", "message": "the Hub failed; its log has the details"},
            status_code=500,
        )

    @app.exception_handler(exchange.Rejected)
    def _rejected(_request: Request, exc: exchange.Rejected) -> JSONResponse:
        return JSONResponse({"error": "invalid", "message": str(exc)}, status_code=422)

    async def protocol(  # async: checked in the event loop, not on a request thread
        version: Annotated[int | None, Header(alias=PROTOCOL_HEADER)] = None,
    ) -> int:
        if version not in SUPPORTED_PROTOCOLS:
            raise ApiError(
                426,
                "update",
                f"this Hub speaks sync protocol {sorted(SUPPORTED_PROTOCOLS)}, "
                f"the client sent {version}: update Touchpoint",
            )
        return version

    def principal(
        _v: Annotated[int, Depends(protocol)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> accounts.Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "auth", "sign in to the Hub")
        with engine.connect() as conn:
            who = accounts.authenticate(conn, authorization.removeprefix("Bearer ").strip())
        if who is None:
            raise ApiError(401, "auth", "the sign-in has expired or was revoked; sign in again")
        return who

    Who = Annotated[accounts.Principal, Depends(principal)]  # noqa: N806

    def bearer(authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "auth", "sign in to the Hub")
        return authorization.removeprefix("Bearer ").strip()

    def caller(conn: Connection, token: str) -> accounts.Principal:
        """Who is calling, checked inside the request's own transaction on its one pooled
        connection, taken on the handler's thread: a request never holds a connection
        while it waits for a thread, and pays no extra round trips for the check."""
        who = accounts.authenticate(conn, token)
        if who is None:
            raise ApiError(401, "auth", "the sign-in has expired or was revoked; sign in again")
        return who

    Bearer = Annotated[str | None, Header(alias="Authorization")]  # noqa: N806
    Protocol = Annotated[int, Depends(protocol)]  # noqa: N806

    @app.get("/health")
    def health() -> dict[str, object]:
        with engine.connect() as conn:
            exchange.high_water(conn)
        return {"status": "ok", "version": __version__, "protocols": sorted(SUPPORTED_PROTOCOLS)}

    def throttled(attempt: dict[str, int]) -> None:
        wait = throttle.wait_seconds(engine, attempt, now())
        if wait:
            raise ApiError(
                429,
                "throttled",
                f"too many wrong sign-ins: try again in {_duration(wait)}",
                headers={"Retry-After": str(wait)},
            )

    @app.post("/v1/login", response_model=LoginResponse)
    def login(
        body: LoginRequest, request: Request, _v: Annotated[int, Depends(protocol)]
    ) -> LoginResponse:
        attempt = throttle.keys(body.email, request.client.host if request.client else None)
        throttled(attempt)
        try:
            done = accounts.login(
                engine, body.email, body.password, body.device_id, body.device_name
            )
        except accounts.PasswordChecksBusy as exc:
            raise ApiError(
                429,
                "busy",
                "the Hub is busy checking sign-ins: try again in a few seconds",
                headers={"Retry-After": "2"},
            ) from exc
        if done is None:
            failed(attempt)
            raise ApiError(401, "auth", "wrong email or password, or the account is disabled")
        throttle.clear(engine, body.email)
        token, who = done
        return LoginResponse(token=token, email=who.email, role=who.role, teams=list(who.teams))

    @app.post("/v1/enroll", response_model=LoginResponse)
    def enroll(
        body: EnrollRequest, request: Request, _v: Annotated[int, Depends(protocol)]
    ) -> LoginResponse:
        # Enrollment tokens are long and random; only the address is throttled.
        attempt = throttle.keys("", request.client.host if request.client else None)
        attempt.pop("email:", None)
        throttled(attempt)
        done = accounts.enroll(
            engine,
            body.enrollment_token,
            body.device_id,
            body.device_name,
            email=body.email,
            now=now(),
        )
        if done is None:
            failed(attempt)
            raise ApiError(
                401, "auth", "the enrollment token is unknown, used, expired or not for this user"
            )
        token, who = done
        log.info("device %s enrolled for user %s", body.device_id, who.user_id)
        return LoginResponse(token=token, email=who.email, role=who.role, teams=list(who.teams))

    @app.post("/v1/logout")
    def logout(who: Who) -> dict[str, bool]:
        return {"revoked": accounts.revoke_token(engine, who.token_id)}

    # hello, push and pull: the work of each, shared by its route and the sync lane.
    def hello_answer(body: HelloRequest, token: str) -> bytes:
        # One read checks the caller and fetches all the answer needs; most hellos of an
        # idle laptop then write nothing (the report and "last used" go by the minute).
        with read(engine) as conn:
            rows = conn.execute(_HELLO, {"token_hash": accounts.hash_token(token)}).all()
        who = accounts.principal_of(rows)
        if who is None:
            raise ApiError(401, "auth", "the sign-in has expired or was revoked; sign in again")
        _same_device(who, body.device_id)
        server_now = now()
        try:
            door.check_time("client_time", body.client_time)
            offset = server_now - from_utc_text(body.client_time)
        except (ValueError, door.Refused) as exc:
            raise ApiError(422, "invalid", "client_time: not a UTC time in range") from exc
        stamp = to_utc_text(server_now)
        held = rows[0]
        if _token_stale(held.last_used_at, stamp) or (
            body.report is not None and _report_stale(held, body, stamp)
        ):
            with write(engine) as conn:
                if body.report is not None:
                    _keep_report(conn, who, body, stamp)
                # "Last used" to the minute is enough for `token list`.
                conn.execute(
                    update(tokens)
                    .where(
                        tokens.c.id == who.token_id,
                        or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < stamp[:16]),
                    )
                    .values(last_used_at=stamp)
                )
        answer = HelloResponse(
            protocol=PROTOCOL_VERSION,
            server_time=stamp,
            clock_offset_ms=int(offset.total_seconds() * 1000),
            email=who.email,
            role=who.role,
            teams=list(who.teams),
            high_water=held.high_water,
            last_device_seq=int(held.last_seq or 0),
        )
        return answer.model_dump_json().encode()

    def push_answer(body: PushRequest, token: str) -> bytes:
        def authorize(conn: Connection) -> accounts.Principal:
            who = caller(conn, token)
            _same_device(who, body.device_id)
            if len(body.changes) > MAX_BATCH:
                raise ApiError(413, "invalid", f"at most {MAX_BATCH} changes per batch")
            return who

        server_now = now()
        with engine.connect() as conn:
            results = exchange.push(
                conn,
                authorize,
                device_id=body.device_id,
                client_time=body.client_time,
                batch=body.changes,
                server_now=server_now,
            )
        if any(r.status == "applied" for r in results):
            app.state.pushed.set()
        # Documented by response_model; built here and sent as is (no second validation).
        answer = PushResponse(results=results, server_time=to_utc_text(server_now))
        return answer.model_dump_json().encode()

    def pull_answer(token: str, after: int, limit: int, lines: int = 0) -> bytes:
        # The caller and the high-water mark in one read, then the page; the body is
        # built straight from stored JSON, as one document or as JSON lines.
        with read(engine) as conn:
            rows = conn.execute(_PULL_AUTH, {"token_hash": accounts.hash_token(token)}).all()
            who = accounts.principal_of(rows)
            if who is None:
                raise ApiError(401, "auth", "the sign-in has expired or was revoked; sign in again")
            form = exchange.pull_lines if lines else exchange.pull_json
            return form(conn, who, after, limit, high=rows[0].high_water)

    @app.post("/v1/hello", response_model=HelloResponse)
    def hello(body: HelloRequest, _v: Protocol, authorization: Bearer = None) -> Response:
        return _json(hello_answer(body, bearer(authorization)))

    @app.post("/v1/push", response_model=PushResponse)
    def push(body: PushRequest, _v: Protocol, authorization: Bearer = None) -> Response:
        return _json(push_answer(body, bearer(authorization)))

    @app.get("/v1/pull", response_model=PullResponse)
    def pull(
        _v: Protocol,
        authorization: Bearer = None,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
        lines: Annotated[int, Query(ge=0, le=1, description="1: the page as JSON lines")] = 0,
    ) -> Response:
        # Documented by response_model; the body is built straight from stored JSON.
        answer = pull_answer(bearer(authorization), after, limit, lines)
        return Response(answer, media_type=PULL_LINES) if lines else _json(answer)

    def lane_hello(token: str, _query: str, raw: bytes) -> lane.Work | None:
        body = lane.parse_body(HelloRequest, raw)
        return None if body is None else lambda: hello_answer(body, token)

    def lane_push(token: str, _query: str, raw: bytes) -> lane.Work | None:
        body = lane.parse_body(PushRequest, raw)
        return None if body is None else lambda: push_answer(body, token)

    def lane_pull(token: str, query: str, _raw: bytes) -> lane.Work | None:
        found = lane.query_ints(
            query, {"after": (0, 0, MAX_SEQ), "limit": (1000, 1, MAX_PAGE), "lines": (0, 0, 1)}
        )
        if found is None:
            return None
        if found["lines"]:
            return lambda: lane.Answer(
                pull_answer(token, found["after"], found["limit"], 1), PULL_LINES
            )
        return lambda: pull_answer(token, found["after"], found["limit"])

    app.add_sync_lane(
        {
            ("POST", "/v1/hello"): lane_hello,
            ("POST", "/v1/push"): lane_push,
            ("GET", "/v1/pull"): lane_pull,
        },
        threads=POOL_SIZE,
    )

    @app.get("/v1/digest", response_model=DigestResponse)
    def digest_of_scope(_v: Protocol, authorization: Bearer = None) -> dict[str, object]:
        token = bearer(authorization)
        with read(engine) as conn:
            return digest.digest(conn, caller(conn, token))

    @app.get("/v1/records", response_model=RecordsPage)
    def records_of_scope(
        _v: Protocol,
        entity: Annotated[str, Query(max_length=30)],
        authorization: Bearer = None,
        after: Annotated[str, Query(max_length=36)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 5000,
    ) -> dict[str, object]:
        token = bearer(authorization)
        with read(engine) as conn:
            return digest.records_page(conn, caller(conn, token), entity, after, limit)

    integration.mount(app, engine, now)  # the REST API for other systems, at /api/v1
    console.mount(app, engine, now)  # the pages for people in a browser
    return app


# hello's one read: the caller (one row per team), "last used", the device's row as its
# last hello left it (outer: a first hello has none) and the high-water mark.
_HELLO = accounts.AUTHENTICATE.outerjoin(
    devices, devices.c.device_id == tokens.c.device_id
).add_columns(
    tokens.c.last_used_at,
    devices.c.device_id.label("device_row"),
    devices.c.report,
    devices.c.reported_at,
    devices.c.app_version,
    devices.c.last_seq,
    exchange.HIGH_WATER.scalar_subquery().label("high_water"),
)
# A pull's first read: the caller and the high-water mark (read before the page, so
# every change up to it is committed and in the page or behind the cursor).
_PULL_AUTH = accounts.AUTHENTICATE.add_columns(
    exchange.HIGH_WATER.scalar_subquery().label("high_water")
)


def _token_stale(last_used_at: str | None, stamp: str) -> bool:
    return last_used_at is None or last_used_at < stamp[:16]


def _report_stale(held: Any, body: HelloRequest, stamp: str) -> bool:
    """Whether :func:`_keep_report` would write (it decides again under the write lock)."""
    report = body.report.model_dump(exclude_none=True) if body.report else {}
    return (
        held.device_row is None
        or held.report != report
        or held.app_version != body.app_version
        or (held.reported_at or "")[:16] < stamp[:16]
    )


def _keep_report(conn: Connection, who: accounts.Principal, body: HelloRequest, stamp: str) -> None:
    """The laptop's own figures, kept on its device row (written only when they change
    or a minute has passed, so most hellos of an idle laptop stay cheap)."""
    report = body.report.model_dump(exclude_none=True) if body.report else {}
    held = conn.execute(
        select(devices.c.report, devices.c.reported_at, devices.c.app_version).where(
            devices.c.device_id == body.device_id
        )
    ).first()
    if held is None:
        conn.execute(
            insert(devices).values(
                device_id=body.device_id,
                user_id=who.user_id,
                last_seq=0,
                clock_offset_ms=0,
                app_version=body.app_version,
                report=report,
                reported_at=stamp,
            )
        )
    elif (
        held.report != report
        or held.app_version != body.app_version
        or (held.reported_at or "")[:16] < stamp[:16]
    ):
        conn.execute(
            update(devices)
            .where(devices.c.device_id == body.device_id)
            .values(app_version=body.app_version, report=report, reported_at=stamp)
        )


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def _same_device(who: accounts.Principal, device_id: str) -> None:
    if device_id != who.device_id:
        raise HTTPException(403, "this token belongs to another device")


def create_app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (one per worker): the database from the environment."""
    log_path = os.environ.get("TOUCHPOINT_HUB_LOG")
    if log_path:  # a worker process logs where `touchpoint-hub serve` does
        from touchpoint.logs import setup_logging

        with contextlib.suppress(OSError):
            setup_logging(Path(log_path), logging.INFO)
    app = create_app(make_engine(db_url()))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # As many request threads as pooled connections: each request uses one connection
        # at a time, so none waits for the pool while holding a thread.
        anyio.to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
        console.compile_templates(app)  # before the freeze below: kept for good
        # What the worker built to start (modules, the app, table metadata) lives as long
        # as it does: moved out of the collector's generations, a collection no longer
        # walks it. A pull page of 10,000 changes then costs a third less CPU.
        gc.collect()
        gc.freeze()
        # Webhooks: every worker starts a dispatcher; one at a time holds the lease and works.
        dispatcher = webhooks.serve_dispatcher(app.state.engine, app.state.pushed)
        # The console's replica catches up in the background from now (a first copy of
        # a big book takes minutes), then follows the log; after a restart it is read
        # at once and only pulls what it has not seen.
        figures = app.state.console_figures
        figures.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(figures.close)
            if dispatcher is not None:
                await anyio.to_thread.run_sync(dispatcher.close)

    app.router.lifespan_context = lifespan
    return app
