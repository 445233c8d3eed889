"""The console's webhooks pages (admins only): endpoints, their delivery log, add,
pause and resume, and replay of a delivery. Every POST checks its CSRF token and is
written to the audit log, as the other administrative actions are."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, select

from touchpoint.hub import webhooks
from touchpoint.hub.console import audit
from touchpoint.hub.console.kit import Done, Kit, NotDone, act
from touchpoint.hub.db import teams

REFUSED = (webhooks.WebhookError,)  # answered 422 with its own words


def mount(app: FastAPI, engine: Engine, kit: Kit) -> None:
    need, render, headers, check_csrf = kit.need, kit.render, kit.headers, kit.check_csrf

    def team_names() -> list[str]:
        with engine.connect() as conn:
            return list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())

    def list_page(request: Request, viewer: Any, status: int = 200, **context: Any) -> Response:
        context.setdefault("form", {"url": "", "events": [], "teams": [], "every": False})
        return render(
            request,
            "webhooks.html",
            viewer,
            status,
            title="Webhooks",
            endpoints=webhooks.list_endpoints(engine),
            events=webhooks.EVENTS,
            entities=webhooks.ACTIONS,
            team_names=team_names(),
            **context,
        )

    def back(path: str, done: str) -> Response:
        return headers(RedirectResponse(f"{path}?done={quote_plus(done)}", status_code=303))

    @app.get("/admin/webhooks", response_class=HTMLResponse, include_in_schema=False)
    def webhooks_page(
        request: Request, done: Annotated[str, Query(max_length=300)] = ""
    ) -> Response:
        return list_page(request, need(request, "admin"), done=done)

    @app.post("/admin/webhooks", response_class=HTMLResponse, include_in_schema=False)
    def add_webhook(  # noqa: PLR0917 (the form's fields)
        request: Request,
        url: Annotated[str, Form(max_length=2100)] = "",
        event: Annotated[list[str] | None, Form(max_length=50)] = None,
        team: Annotated[list[str] | None, Form(max_length=200)] = None,
        every: Annotated[str, Form(max_length=5)] = "",
        description: Annotated[str, Form(max_length=300)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        viewer = need(request, "admin")
        check_csrf(viewer, csrf)
        events, chosen, every_team = event or [], team or [], every == "1"
        kept = {"url": url, "events": events, "teams": chosen, "every": every_team}
        try:
            if not every_team and not chosen:
                raise webhooks.WebhookError("teams", "choose at least one team, or every team")
            endpoint_id, secret = webhooks.add_endpoint(
                engine,
                url,
                events,
                team_names=None if every_team else chosen,
                secret=None,
                created_by=f"{viewer.email} (console)",
                description=description,
            )
        except webhooks.WebhookError as exc:
            return list_page(request, viewer, 422, error=str(exc), form=kept)
        audit.record(
            engine,
            viewer.email,
            "add webhook",
            f"{endpoint_id} {url.strip()}",
            via="console",
            address=kit.address(request),
        )
        # Shown on this answer only (never put in a URL, never shown again).
        return list_page(
            request,
            viewer,
            done=f"Added webhook {endpoint_id} for {url.strip()}.",
            secret=secret,
            secret_for=endpoint_id,
        )

    @app.post("/admin/webhooks/state", include_in_schema=False)
    def set_state(
        request: Request,
        endpoint_id: Annotated[int, Form(ge=1)] = 0,
        state: Annotated[str, Form(max_length=10)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            if state not in ("active", "paused"):
                raise NotDone("Unknown state.")
            webhooks.set_state(engine, endpoint_id, state)
            verb = "pause" if state == "paused" else "resume"
            return Done(f"{verb} webhook", str(endpoint_id), f"Webhook {endpoint_id} {state}.")

        return act(kit, engine, request, csrf, "/admin/webhooks", work, REFUSED)

    @app.post("/admin/webhooks/remove", include_in_schema=False)
    def remove(
        request: Request,
        endpoint_id: Annotated[int, Form(ge=1)] = 0,
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            try:
                webhooks.remove_endpoint(engine, endpoint_id)
            except webhooks.WebhookError:
                raise NotDone(
                    f"There is no webhook {endpoint_id}: it may have been removed already."
                ) from None
            return Done("remove webhook", str(endpoint_id), f"Webhook {endpoint_id} removed.")

        return act(kit, engine, request, csrf, "/admin/webhooks", work)

    @app.get("/admin/webhooks/{endpoint_id}", response_class=HTMLResponse, include_in_schema=False)
    def deliveries_page(
        request: Request,
        endpoint_id: int,
        done: Annotated[str, Query(max_length=300)] = "",
    ) -> Response:
        viewer = need(request, "admin")
        try:
            endpoint = webhooks.get_endpoint(engine, endpoint_id)
        except webhooks.WebhookError as exc:
            return render(request, "error.html", viewer, 404, title="Not found", text=str(exc))
        shown, more = webhooks.deliveries(engine, endpoint_id, limit=100)
        return render(
            request,
            "webhook.html",
            viewer,
            title=f"Webhook {endpoint_id}",
            endpoint=endpoint,
            deliveries=shown,
            more=more,
            done=done,
        )

    @app.post("/admin/webhooks/replay", include_in_schema=False)
    def replay(
        request: Request,
        delivery_id: Annotated[str, Form(max_length=36)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            found = webhooks.replay(engine, delivery_id)
            wake = getattr(app.state, "pushed", None)
            if wake is not None:  # this process's dispatcher, if it runs one, sends it now
                wake.set()
            return Done(
                "replay webhook delivery",
                f"{found.id} ({found.event}, webhook {found.endpoint_id})",
                f"Delivery {found.id} ({found.event}) will be sent again in a moment.",
                back=f"/admin/webhooks/{found.endpoint_id}",
            )

        return act(kit, engine, request, csrf, "/admin/webhooks", work, REFUSED)
