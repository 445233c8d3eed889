"""The console's API keys page: an admin lists, makes (shown once) and revokes the keys
other systems use for the integration API (``touchpoint.hub.apikeys``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine, select

from touchpoint.hub import accounts, apikeys
from touchpoint.hub.console import audit
from touchpoint.hub.console.kit import Done, Kit, NotDone, act
from touchpoint.hub.db import teams


def mount(app: FastAPI, engine: Engine, kit: Kit) -> None:
    def page(
        request: Request,
        viewer: Any,
        *,
        status: int = 200,
        done: str = "",
        error: str = "",
        made: apikeys.MadeKey | None = None,
        form: dict[str, Any] | None = None,
    ) -> Response:
        with engine.connect() as conn:
            names = list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())
        blank = {"name": "", "teams": [], "scope": "read", "per_minute": apikeys.DEFAULT_PER_MINUTE}
        return kit.render(
            request,
            "api_keys.html",
            viewer,
            status,
            title="API keys",
            keys=apikeys.list_keys(engine),
            teams=names,
            done=done,
            error=error,
            made=made,
            form=form or blank,
        )

    def record(request: Request, viewer: Any, action: str, target: str) -> None:
        audit.record(
            engine, viewer.email, action, target, via="console", address=kit.address(request)
        )

    @app.get("/admin/api-keys", response_class=HTMLResponse, include_in_schema=False)
    def api_keys_list(
        request: Request, done: Annotated[str, Query(max_length=300)] = ""
    ) -> Response:
        return page(request, kit.need(request, "admin"), done=done)

    @app.post("/admin/api-keys", response_class=HTMLResponse, include_in_schema=False)
    def api_key_create(  # noqa: PLR0917 (FastAPI passes form fields by name)
        request: Request,
        name: Annotated[str, Form(max_length=200)] = "",
        team: Annotated[list[str] | None, Form(max_length=120)] = None,
        scope: Annotated[str, Form(max_length=10)] = "read",
        per_minute: Annotated[str, Form(max_length=10)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        viewer = kit.need(request, "admin")
        kit.check_csrf(viewer, csrf)
        form = {"name": name, "teams": team or [], "scope": scope, "per_minute": per_minute}
        rate = per_minute.strip() or str(apikeys.DEFAULT_PER_MINUTE)
        if not rate.isdigit():
            error = f"Requests a minute: '{per_minute}' is not a whole number."
            return page(request, viewer, status=422, error=error, form=form)
        try:
            made = apikeys.create_key(
                engine, name, team or [], scope, viewer.email, per_minute=int(rate)
            )
        except accounts.AccountError as exc:
            return page(request, viewer, status=422, error=str(exc), form=form)
        target = f"{made.name} ({made.scope}, {', '.join(made.teams)})"
        record(request, viewer, "create API key", target)
        # Shown on this answer only (never in a URL or a redirect): not cached, never again.
        return page(request, viewer, made=made)

    @app.post("/admin/api-keys/revoke", include_in_schema=False)
    def api_key_revoke(
        request: Request,
        key_id: Annotated[int, Form(ge=1)] = 0,
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            try:
                name = apikeys.revoke_key(engine, str(key_id))
            except accounts.AccountError:
                raise NotDone(f"API key {key_id} is not an active key.") from None
            return Done("revoke API key", name, f"Revoked API key {name}")

        return act(kit, engine, request, csrf, "/admin/api-keys", work)
