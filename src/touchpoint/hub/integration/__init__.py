"""The integration REST API, for servers, beside the laptops' sync API: ``/api/v1``.

An API key (``touchpoint-hub api-key add``) reads, and with the write scope writes,
the customers, contacts, interactions, follow-ups and deals of its teams. A write
becomes one change pushed through :func:`touchpoint.hub.exchange.push`, as a laptop's:
the same door, references within the team, merge rules and conflicts, and it reaches
the laptops at their next sync. The changes feed is the log laptops pull.

No ``from __future__ import annotations`` here: FastAPI reads the annotations of the
route functions at run time.
"""

import functools
import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Body, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import JSON, Boolean, Engine, Integer, delete, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from touchpoint import __version__
from touchpoint.hub import apikeys, exchange
from touchpoint.hub.db import api_idempotency, read, write
from touchpoint.hub.integration import resources as res
from touchpoint.hub.integration.ratelimit import RateLimiter
from touchpoint.storage.types import DecimalText, to_utc_text
from touchpoint.sync.protocol import MAX_SEQ, ChangeIn, PushResult, is_uuid, text_problem

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
# A field holds at most 1 MB (notes); a body above this is refused before it is read.
MAX_BODY = 4 * 1024 * 1024
MAX_FEED_PAGE = 5000
IDEMPOTENCY_HOURS = 24
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_NAMESPACE = uuid.UUID("5d1e0c7a-6b1f-4f7e-9a43-2f3c1b8e7d10")
_FIELD_MESSAGE = re.compile(r"^[a-z_]+\.([a-z_]+): (.*)$", re.S)
_UNSEEN = re.compile(r"^([a-z]+) ([0-9a-fA-F-]{36}): ")

DESCRIPTION = """\
The Touchpoint Hub's REST API for other systems (an ERP, a web shop, a BI tool).

**Keys.** An admin makes one with `touchpoint-hub api-key add NAME --team T --scope
read|write` (or on the console's *API keys* page); it is shown once. Send it as
`Authorization: Bearer tpk_...`. A key sees and writes only its teams: another
team's record answers 404, as a missing one does. A read key gets 403 on writes.

**Writes** are changes like a laptop's: checked the same way, merged field by field
with what laptops sent, and synced to the laptops. Send `Idempotency-Key: <any unique
text>` with a POST, PATCH or DELETE: a retry with the same key and body within 24 hours
gets the first answer again and changes nothing.

**Lists** are paged: follow `next` (or pass `cursor`) until it is null.
**The changes feed** (`GET /api/v1/changes?after=N`) is what laptops pull.

**Errors** are JSON: `{"error": "invalid", "message": "...", "field": "name"}`.
**Rate limits**: each key has a number of requests a minute; above it, 429 with
`Retry-After`.
"""


class ApiFail(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field
        self.headers = headers


def _error(
    status: int,
    error: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = orjson.dumps({"error": error, "message": message, "field": field})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


# --- the resources' models, for validation and the OpenAPI document -------------------------
_JSON_TYPES: dict[str, Any] = {"list": list[Any], "dict": dict[str, Any]}


def _python_type(entity: str, name: str) -> Any:
    """The JSON type of a field, for the OpenAPI document and strict input checks."""
    kind = res.COLUMNS[entity][name].type
    if name == "contact_ids":
        return list[str]
    if isinstance(kind, JSON):
        return list[Any] if isinstance(res.defaults(entity).get(name), list) else dict[str, Any]
    if isinstance(kind, DecimalText):
        return str | int | float
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, Integer):
        return int
    return str


@functools.cache
def _models(entity: str) -> tuple[type[BaseModel], type[BaseModel], type[BaseModel]]:
    """(input, resource, page) models of an entity: made once per process, as a class
    statement's would be, whatever the number of apps built (each test's Hub builds one)."""
    title = entity.capitalize() if entity != "followup" else "FollowUp"
    writable = {
        name: (_python_type(entity, name) | None, None)
        for name in res.COLUMNS[entity]
        if name not in res.READ_ONLY
    }
    extra: dict[str, Any] = {"id": (str | None, None)}
    if entity == "customer":
        extra["team"] = (str | None, None)
    strict = ConfigDict(extra="forbid", strict=True)
    model_in = create_model(f"{title}In", __config__=strict, **extra, **writable)  # type: ignore[call-overload]
    shown = {name: (_python_type(entity, name) | None, None) for name in res.COLUMNS[entity]}
    model_out = create_model(title, id=(str, ...), team=(str, ...), **shown)  # type: ignore[call-overload]
    page = create_model(
        f"{title}Page",
        data=(list[model_out], ...),  # type: ignore[valid-type]
        next=(str | None, None),
        next_cursor=(str | None, None),
    )
    return model_in, model_out, page


class KeyInfo(BaseModel):
    name: str
    teams: list[str]
    scope: str
    per_minute: int


class FeedChange(BaseModel):
    server_seq: int
    change_id: str
    device_id: str
    entity: str
    record_id: str
    op: str
    fields: dict[str, Any]
    author: str
    team: str | None = None


class FeedPage(BaseModel):
    changes: list[FeedChange]
    next_after: int
    high_water: int
    more: bool
    next: str


class ErrorOut(BaseModel):
    error: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No key, or an unknown or revoked one"},
    422: {"model": ErrorOut, "description": "Bad input: `field` names it"},
    429: {"model": ErrorOut, "description": "Over the key's rate limit (see Retry-After)"},
}


def mount(app: FastAPI, engine: Engine, now: Callable[[], datetime]) -> FastAPI:
    """Build the integration API and mount it at ``/api/v1`` of the Hub's app."""
    api = FastAPI(
        title="Touchpoint Hub integration API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        max_body_size=MAX_BODY,
    )
    limiter = RateLimiter()
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    templates.env.filters["code"] = _code_spans
    api.state.limiter = limiter

    @api.exception_handler(ApiFail)
    def _fail(_request: Request, exc: ApiFail) -> Response:
        return _error(exc.status, exc.error, exc.message, exc.field, exc.headers)

    @api.exception_handler(res.FieldError)
    def _field(_request: Request, exc: res.FieldError) -> Response:
        return _error(exc.status, "invalid", f"{exc.field or 'request'}: {exc.message}", exc.field)

    @api.exception_handler(res.NotFound)
    def _missing(_request: Request, _exc: res.NotFound) -> Response:
        return _error(404, "not_found", "no such record, or not one this key may see")

    @api.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "header")]
        field = where[0] if where else None
        if first.get("type") == "extra_forbidden" and field in res.READ_ONLY:
            message = "is read-only (the Hub sets it; DELETE deletes)"
        elif first.get("type") == "extra_forbidden":
            message = "no such field"
        elif first.get("type") == "missing" and field is None:
            message = "the body must be a JSON object of fields"
        else:
            message = str(first.get("msg", "is not valid"))
        if first.get("type") == "json_invalid":
            field, message = None, "the body is not valid JSON"
        return _error(422, "invalid", f"{field or 'request'}: {message}", field)

    @api.exception_handler(StarletteHTTPException)
    def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        words = {
            404: ("not_found", "no such endpoint: see /api/v1/docs"),
            405: ("method", "this endpoint does not take that method: see /api/v1/docs"),
            413: ("too_large", f"the body is larger than {MAX_BODY // (1024 * 1024)} MB"),
        }
        error, message = words.get(exc.status_code, ("http", str(exc.detail)))
        return _error(exc.status_code, error, message, headers=getattr(exc, "headers", None))

    @api.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "server", "the Hub failed; its log has the details")

    # --- who is calling ---------------------------------------------------------------
    def bearer(authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiFail(401, "auth", "give an API key: Authorization: Bearer tpk_...")
        return authorization.removeprefix("Bearer ").strip()

    def caller(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> apikeys.ApiKey:
        token = bearer(authorization)
        with read(engine) as conn:
            key = apikeys.authenticate(conn, token)
        if key is None:
            raise ApiFail(401, "auth", "this API key is unknown or was revoked")
        wait = limiter.take(key.id, key.per_minute)
        if wait:
            raise ApiFail(
                429,
                "rate_limited",
                f"this key may make {key.per_minute} requests a minute: "
                f"try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )
        apikeys.note_use(engine, key, to_utc_text(now()))
        return key

    Key = Annotated[apikeys.ApiKey, Depends(caller)]  # noqa: N806
    IdemKey = Annotated[  # noqa: N806
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Any unique text: a retry with the same key and body gets the "
            "first answer again (kept 24 hours).",
        ),
    ]

    def writer(key: apikeys.ApiKey) -> None:
        if not key.may_write:
            raise ApiFail(403, "forbidden", "this API key may only read (its scope is read)")

    # --- idempotency --------------------------------------------------------------------
    def replayed(key: apikeys.ApiKey, idem: str | None, digest: str) -> Response | None:
        if idem is None:
            return None
        if not idem.strip() or text_problem(idem):
            raise res.FieldError("Idempotency-Key", "must be printable text of 1 to 200 characters")
        since = to_utc_text(now() - timedelta(hours=IDEMPOTENCY_HOURS))
        with read(engine) as conn:
            kept = conn.execute(
                select(api_idempotency).where(
                    api_idempotency.c.key_id == key.id,
                    api_idempotency.c.idempotency_key == idem,
                    api_idempotency.c.created_at >= since,
                )
            ).first()
        if kept is None:
            return None
        if kept.request_hash != digest:
            raise res.FieldError(
                "Idempotency-Key",
                "was used in the last 24 hours for a different request; "
                "use a new key for a new request",
                status=409,
            )
        return Response(
            kept.body or None,
            status_code=kept.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    def remember(
        key: apikeys.ApiKey, idem: str | None, digest: str, status: int, body: bytes
    ) -> None:
        if idem is None:
            return
        stamp = now()
        try:
            with write(engine) as conn:
                expired = to_utc_text(stamp - timedelta(hours=IDEMPOTENCY_HOURS))
                conn.execute(
                    delete(api_idempotency).where(
                        api_idempotency.c.key_id == key.id,
                        api_idempotency.c.created_at < expired,
                    )
                )
                conn.execute(
                    insert(api_idempotency).values(
                        key_id=key.id,
                        idempotency_key=idem,
                        request_hash=digest,
                        status=status,
                        body=body.decode(),
                        created_at=to_utc_text(stamp),
                    )
                )
        except IntegrityError:
            pass  # the same request, answered at the same moment: its answer is kept

    def request_digest(method: str, path: str, body: Any) -> str:
        text = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(text).hexdigest()

    def derived_id(kind: str, key: apikeys.ApiKey, idem: str | None, digest: str) -> str:
        """With an Idempotency-Key, a retry makes the same change (and the same new
        record): the change log's own memory of change ids then makes it a no-op."""
        if idem is None:
            return str(uuid.uuid4())
        return str(uuid.uuid5(_NAMESPACE, f"{kind}\n{key.id}\n{idem}\n{digest}"))

    # --- writing through the exchange ---------------------------------------------------
    def push(
        request: Request, key: apikeys.ApiKey, team: str | None, change: ChangeIn
    ) -> PushResult:
        token = bearer(request.headers.get("authorization"))

        def authorize(conn: Any) -> Any:
            # Checked again inside the push's transaction: a key revoked meanwhile stops.
            fresh = apikeys.authenticate(conn, token)
            if fresh is None:
                raise ApiFail(401, "auth", "this API key is unknown or was revoked")
            writer(fresh)
            return fresh.principal(team)

        stamp = now()
        with engine.connect() as conn:
            [result] = exchange.push(
                conn,
                authorize,
                device_id=key.device_id,
                client_time=to_utc_text(stamp),
                batch=[change],
                server_now=stamp,
            )
        return result

    def refused(result: PushResult, change: ChangeIn) -> ApiFail:
        message = result.error or "refused"
        unseen = _UNSEEN.match(message)
        if unseen:
            kind, target = unseen.group(1), unseen.group(2)
            if target == change.record_id:
                return ApiFail(404, "not_found", "no such record, or not one this key may see")
            field = next(
                (
                    name
                    for name, (_old, new) in change.fields.items()
                    if new == target or (isinstance(new, list) and target in new)
                ),
                None,
            )
            return ApiFail(
                422,
                "invalid",
                f"{field or kind}: no {kind} {target} that this key may see",
                field,
            )
        found = _FIELD_MESSAGE.match(message)
        if found:
            field = found.group(1)
            return ApiFail(422, "invalid", f"{field}: {found.group(2)}", field)
        if message.startswith("interaction: only "):
            return ApiFail(409, "conflict", message)
        head = message.split(":", 1)[0]
        field = head if head in ("record_id", "at", "author") else None
        return ApiFail(422, "invalid", message, field)

    def current(key: apikeys.ApiKey, entity: str, record_id: str) -> dict[str, Any]:
        with read(engine) as conn:
            team, data = res.get_record(conn, entity, record_id, key.teams)
        return res.as_resource(entity, record_id, team, data)

    def high_water() -> int:
        with read(engine) as conn:
            return exchange.high_water(conn)

    def once(
        key: apikeys.ApiKey,
        idem: str | None,
        request_line: tuple[str, str, Any],
        act: Callable[[str], tuple[int, Any]],
    ) -> Response:
        """A write, answered once per Idempotency-Key: a retry gets the kept answer.
        ``act`` gets the request's digest and returns the status and the payload."""
        writer(key)
        digest = request_digest(*request_line)
        again = replayed(key, idem, digest)
        if again is not None:
            return again
        status, payload = act(digest)
        body = b"" if payload is None else orjson.dumps(payload)
        remember(key, idem, digest, status, body)
        if status == 204:
            return Response(status_code=204)
        return Response(body, status_code=status, media_type="application/json")

    def apply(
        write: tuple[Request, apikeys.ApiKey, str | None, str],
        record: tuple[str, str],
        op: str,
        fields: dict[str, list[Any]],
        base_seq: int,
        *,
        team: str | None = None,
    ) -> None:
        """One change through the exchange, as a laptop's push; refused is an error.
        ``write``: the request, its key, its Idempotency-Key and its digest;
        ``record``: the entity and the record's id."""
        request, key, idem, digest = write
        entity, record_id = record
        change = res.make_change(
            change_id=derived_id("change", key, idem, digest),
            entity=entity,
            record_id=record_id,
            op=op,
            fields=fields,
            author=key.author,
            now=to_utc_text(now()),
            base_seq=base_seq,
        )
        result = push(request, key, team, change)
        if result.status == "rejected":
            raise refused(result, change)

    # --- the resources ------------------------------------------------------------------
    def add_resource(path: str, entity: str) -> None:
        model_in, model_out, page = _models(entity)
        label = res.SINGULAR[entity]
        tag = path.capitalize() if path != "followups" else "Follow-ups"
        customer_only = entity == "customer"

        def list_route(  # noqa: PLR0917 (FastAPI passes query parameters by name)
            key: Key,
            request: Request,
            cursor: Annotated[str | None, Query(max_length=100, description="From `next`")] = None,
            limit: Annotated[int, Query(ge=1, le=res.MAX_LIMIT)] = res.DEFAULT_LIMIT,
            updated_since: Annotated[
                str | None, Query(max_length=40, description="ISO time, e.g. 2026-12-01T00:00:00Z")
            ] = None,
            customer_id: Annotated[str | None, Query(max_length=36)] = None,
            team: Annotated[str | None, Query(max_length=120)] = None,
            status: Annotated[str | None, Query(max_length=20)] = None,
            due_before: Annotated[str | None, Query(max_length=40)] = None,
            due_after: Annotated[str | None, Query(max_length=40)] = None,
            overdue: Annotated[bool, Query()] = False,
            include_deleted: Annotated[bool, Query()] = False,
        ) -> Response:
            filters = res.Filters(team=team, include_deleted=include_deleted)
            if updated_since is not None:
                filters.updated_since = res.parse_time("updated_since", updated_since)
            if customer_id is not None:
                if customer_only:
                    raise res.FieldError(
                        "customer_id",
                        "filters contacts, interactions, follow-ups and deals, not customers",
                    )
                if not is_uuid(customer_id):
                    raise res.FieldError("customer_id", "is not a record id")
                filters.customer_id = customer_id
            if status is not None:
                choices = res.CHOICES.get(entity, {}).get("status")
                if not choices:
                    raise res.FieldError("status", f"{label}s have no status to filter by")
                if status not in choices:
                    raise res.FieldError("status", f"must be one of {', '.join(choices)}")
                filters.status = status
            timed = {"due_before": due_before, "due_after": due_after}
            if any(v is not None for v in timed.values()) or overdue:
                if entity != "followup":
                    raise res.FieldError(
                        "due_before" if due_before else "due_after" if due_after else "overdue",
                        "filters follow-ups only",
                    )
                if due_before is not None:
                    filters.due_before = res.parse_time("due_before", due_before)
                if due_after is not None:
                    filters.due_after = res.parse_time("due_after", due_after)
                filters.overdue = overdue
            after = res.decode_cursor(cursor) if cursor else ""
            with read(engine) as conn:
                found, following = res.list_records(
                    conn, entity, key.teams, filters, after=after, limit=limit, now=now()
                )
            link = None
            if following is not None:
                link = str(request.url.include_query_params(cursor=following))
            body = {"data": found, "next": link, "next_cursor": following}
            return Response(orjson.dumps(body), media_type="application/json")

        def get_route(key: Key, record_id: str) -> Response:
            return Response(
                orjson.dumps(current(key, entity, record_id)), media_type="application/json"
            )

        def create_route(
            key: Key,
            request: Request,
            body: Annotated[model_in, Body()],  # type: ignore[valid-type]
            idempotency_key: IdemKey = None,
        ) -> Response:
            given = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]

            def act(digest: str) -> tuple[int, Any]:
                record_id = given.pop("id", None)
                team = given.pop("team", None)
                if record_id is not None and not is_uuid(record_id):
                    raise res.FieldError("id", "must be a UUID (or left out: the Hub makes one)")
                if customer_only:
                    teams = ", ".join(key.teams)
                    if team is None and len(key.teams) > 1:
                        raise res.FieldError("team", f"this key writes to {teams}: name one")
                    if team is not None and team not in key.teams:
                        raise res.FieldError("team", f"this key writes to {teams} only")
                with read(engine) as conn:
                    defined = res.custom_fields(conn, key.teams) if "custom" in given else {}
                    if record_id is not None and res.id_taken(conn, record_id):
                        raise res.FieldError("id", "a record with this id exists already", 409)
                fields = res.check_fields(entity, given, creating=True, custom_defs=defined)
                with read(engine) as conn:
                    res.check_people(conn, entity, fields)
                record_id = record_id or derived_id("record", key, idempotency_key, digest)
                values = {**res.defaults(entity), **fields}
                apply(
                    (request, key, idempotency_key, digest),
                    (entity, record_id),
                    "insert",
                    {name: [None, value] for name, value in values.items()},
                    high_water(),
                    team=team,
                )
                return 201, current(key, entity, record_id)

            return once(key, idempotency_key, ("POST", path, given), act)

        def update_route(
            key: Key,
            request: Request,
            record_id: str,
            body: Annotated[model_in, Body()],  # type: ignore[valid-type]
            idempotency_key: IdemKey = None,
        ) -> Response:
            given = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]

            def act(digest: str) -> tuple[int, Any]:
                if "team" in given:
                    raise res.FieldError("team", "a customer's team cannot change here")
                with read(engine) as conn:
                    defined = res.custom_fields(conn, key.teams) if "custom" in given else {}
                fields = res.check_fields(entity, given, creating=False, custom_defs=defined)
                with read(engine) as conn:
                    res.check_people(conn, entity, fields)
                base = high_water()
                with read(engine) as conn:
                    _team, data = res.get_record(conn, entity, record_id, key.teams)
                pairs = {n: [data.get(n), v] for n, v in fields.items() if data.get(n) != v}
                if pairs:
                    apply(
                        (request, key, idempotency_key, digest),
                        (entity, record_id),
                        "update",
                        pairs,
                        base,
                    )
                return 200, current(key, entity, record_id)

            return once(key, idempotency_key, ("PATCH", f"{path}/{record_id}", given), act)

        def delete_route(
            key: Key,
            request: Request,
            record_id: str,
            idempotency_key: IdemKey = None,
        ) -> Response:
            def act(digest: str) -> tuple[int, Any]:
                base = high_water()
                with read(engine) as conn:
                    _team, data = res.get_record(conn, entity, record_id, key.teams)
                if data.get("deleted_at") is None:
                    apply(
                        (request, key, idempotency_key, digest),
                        (entity, record_id),
                        "delete",
                        {"deleted_at": [None, to_utc_text(now())]},
                        base,
                    )
                return 204, None

            return once(key, idempotency_key, ("DELETE", f"{path}/{record_id}", None), act)

        item = f"/{path}/{{record_id}}"
        api.add_api_route(
            f"/{path}",
            list_route,
            methods=["GET"],
            response_model=page,
            responses=ERRORS,
            tags=[tag],
            summary=f"List {label}s",
            description=f"The {label}s of the key's teams, by id, {res.DEFAULT_LIMIT} a page "
            f"(at most {res.MAX_LIMIT}). Deleted ones only with `include_deleted=true`."
            + (
                " `status`, `due_before`, `due_after` and `overdue=true` (open and past "
                "due) filter follow-ups."
                if entity == "followup"
                else ""
            ),
            operation_id=f"list_{path}",
        )
        api.add_api_route(
            item,
            get_route,
            methods=["GET"],
            response_model=model_out,
            responses={**ERRORS, 404: {"model": ErrorOut, "description": "Not one of yours"}},
            tags=[tag],
            summary=f"Get a {label}",
            operation_id=f"get_{entity}",
        )
        api.add_api_route(
            f"/{path}",
            create_route,
            methods=["POST"],
            status_code=201,
            response_model=model_out,
            responses={**ERRORS, 403: {"model": ErrorOut, "description": "A read key"}},
            tags=[tag],
            summary=f"Create a {label}",
            description=(
                "Needs a write key. `team` picks one of the key's teams (needed when it "
                "has several)."
                if customer_only
                else f"Needs a write key. The {label} joins the team of its customer."
            ),
            operation_id=f"create_{entity}",
        )
        api.add_api_route(
            item,
            update_route,
            methods=["PATCH"],
            response_model=model_out,
            responses={**ERRORS, 403: {"model": ErrorOut, "description": "A read key"}},
            tags=[tag],
            summary=f"Change fields of a {label}",
            description="Only the fields given change; merged with laptops' edits field "
            "by field, as a laptop's edit is.",
            operation_id=f"update_{entity}",
        )
        api.add_api_route(
            item,
            delete_route,
            methods=["DELETE"],
            status_code=204,
            response_class=Response,
            responses={**ERRORS, 403: {"model": ErrorOut, "description": "A read key"}},
            tags=[tag],
            summary=f"Delete a {label}",
            description="A delete as on a laptop: the record is kept, marked deleted.",
            operation_id=f"delete_{entity}",
        )

    for path, entity in res.RESOURCES.items():
        add_resource(path, entity)

    @api.get(
        "/changes",
        response_model=FeedPage,
        responses=ERRORS,
        tags=["Changes"],
        summary="The changes feed",
        description="Every change to the key's teams, in the order the Hub took them: "
        "what laptops pull. Start with `after=0`, keep `next_after` and ask again; "
        "`more` says whether another page waits now.",
    )
    def changes_feed(
        key: Key,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_FEED_PAGE)] = 500,
    ) -> Response:
        with read(engine) as conn:
            found = exchange.pull_page(conn, key.principal(), after, limit)
        found["next"] = f"{PREFIX}/changes?after={found['next_after']}&limit={limit}"
        return Response(orjson.dumps(found), media_type="application/json")

    @api.get("/key", response_model=KeyInfo, responses=ERRORS, tags=["Key"], summary="This key")
    def this_key(key: Key) -> KeyInfo:
        return KeyInfo(
            name=key.name, teams=list(key.teams), scope=key.scope, per_minute=key.per_minute
        )

    @api.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        response = templates.TemplateResponse(
            request,
            "api_docs.html",
            {"spec": api.openapi(), "prefix": PREFIX, "base": str(request.base_url).rstrip("/")},
        )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def openapi() -> dict[str, Any]:
        """The OpenAPI document, built at its first request (not at every start of a Hub
        process) and kept by FastAPI: what is added here stays."""
        if api.openapi_schema is None:
            spec = FastAPI.openapi(api)
            # Every endpoint but the docs takes the key as a bearer token (said once, for all).
            spec.setdefault("components", {})["securitySchemes"] = {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "tpk_... (api-key add)",
                }
            }
            spec["security"] = [{"apiKey": []}]
        return api.openapi_schema  # type: ignore[return-value]

    api.openapi = openapi  # type: ignore[method-assign]
    app.mount(PREFIX, _BodyLimit(api))
    return api


def _code_spans(text: str) -> Markup:
    """A description's `backticks` as <code>, the rest escaped."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


class _BodyLimit:
    """A body announced larger than :data:`MAX_BODY` is answered 413, as JSON, before it
    is read (a chunked one is cut off by the app's own limit)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BODY:
                response = _error(
                    413, "too_large", f"the body is larger than {MAX_BODY // (1024 * 1024)} MB"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
