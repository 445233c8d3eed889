"""The console's Connectors page: each CRM connector's last run, what waits to be tried
again and its dead letters, with an audited "try again" (``touchpoint.hub.connectors``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from touchpoint.errors import ValidationError
from touchpoint.hub.connectors import core as connectors
from touchpoint.hub.console.kit import Done, Kit, NotDone, act

DEAD_SHOWN = 50  # dead letters listed per connector; the rest are counted


def mount(app: FastAPI, engine: Engine, kit: Kit) -> None:
    @app.get("/admin/connectors", response_class=HTMLResponse, include_in_schema=False)
    def connectors_page(
        request: Request, done: Annotated[str, Query(max_length=300)] = ""
    ) -> Response:
        viewer = kit.need(request, "admin")
        shown = []
        for c in connectors.list_connectors(engine):
            failed = connectors.failures(engine, c.name)
            dead = [f for f in failed if f.dead]
            shown.append(
                {
                    "c": c,
                    "counts": sorted((c.last_counts or {}).items()),
                    "waiting": sum(1 for f in failed if not f.dead),
                    "dead": dead[:DEAD_SHOWN],
                    "dead_count": len(dead),
                    "more": max(0, len(dead) - DEAD_SHOWN),
                }
            )
        return kit.render(
            request,
            "connectors.html",
            viewer,
            title="Connectors",
            connectors=shown,
            done=done,
            max_attempts=connectors.MAX_ATTEMPTS,
        )

    @app.post("/admin/connectors/retry", include_in_schema=False)
    def retry_connector(
        request: Request,
        name: Annotated[str, Form(max_length=60)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            try:
                n = connectors.retry_dead(engine, name)
            except ValidationError as exc:
                raise NotDone(exc.problem) from None
            return Done(
                "retry connector dead letters",
                f"{name}: {n}",
                f"{n} dead letters of {name} will be tried again",
            )

        return act(kit, engine, request, csrf, "/admin/connectors", work)
