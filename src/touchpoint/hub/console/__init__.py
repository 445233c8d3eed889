"""The Hub's console: server-rendered pages for people in a browser, beside the sync API.

Sign-in with the Hub account, the fleet's health and the team dashboard for managers
(their teams) and admins (everything), and administration for admins (``admin.py``;
the managers' pages are ``manager.py``). Every page checks the role and team on the
server; a page someone may not see is 403 whether or not it exists.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select

from touchpoint import __version__
from touchpoint.hub import accounts, throttle
from touchpoint.hub.console import (
    admin,
    api_key_pages,
    connector_pages,
    fleet,
    manager,
    team_pages,
    webhook_pages,
)
from touchpoint.hub.console.kit import Kit, waiting_pages
from touchpoint.hub.console.session import (
    COOKIE,
    IDLE,
    PRE_COOKIE,
    Session,
    Signer,
    secret_key,
)
from touchpoint.hub.db import users

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
FORBIDDEN = "This page does not exist, or it is not yours to see."


@dataclass(frozen=True)
class Viewer:
    user_id: int
    email: str
    role: str
    teams: tuple[str, ...]
    session: Session


class _SignIn(Exception):
    """No valid session: back to the sign-in page."""


class _Forbidden(Exception):
    """Signed in, but this page is not for this user (args[0]: the viewer)."""


class _BadForm(Exception):
    """A POST without its CSRF token, or with one of another session (args[0]: the viewer)."""


def compile_templates(app: FastAPI) -> None:
    """Compile every page's template now (a server's start), not in the first views of
    each page, when fifty managers open it at once (a tenth of a second of CPU)."""
    env = app.state.console_templates.env
    for name in env.list_templates():
        env.get_template(name)


def mount(
    app: FastAPI, engine: Engine, now: Callable[[], datetime], *, key: str | None = None
) -> None:
    """Add the console's pages and static files to the Hub's app."""
    signer = Signer(key or secret_key())
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.console_templates = templates  # compiled by `serve` at its start (compile)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console")

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def set_session(request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            signer.issue(session),
            max_age=IDLE,
            httponly=True,
            secure=secure(request),
            samesite="strict",
            path="/",
        )

    def render(
        request: Request,
        name: str,
        viewer: Viewer | None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        csrf = signer.csrf_token(viewer.session.nonce) if viewer else ""
        response = templates.TemplateResponse(
            request,
            name,
            {"viewer": viewer, "csrf": csrf, "version": __version__, **context},
            status_code=status,
        )
        if viewer is not None:  # every page seen slides the idle timeout on
            set_session(request, response, viewer.session)
        return headers(response)

    def viewer_of(request: Request) -> Viewer:
        session = signer.read(request.cookies.get(COOKIE), time.time())
        if session is None:
            raise _SignIn
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == session.user_id)).first()
            if (
                row is None
                or row.disabled_at is not None
                or accounts.session_version(row.password_hash, row.role, row.disabled_at)
                != session.version
            ):
                raise _SignIn
            return Viewer(row.id, row.email, row.role, accounts.user_teams(conn, row.id), session)

    def need(request: Request, *roles: str) -> Viewer:
        viewer = viewer_of(request)
        if roles and viewer.role not in roles:
            raise _Forbidden(viewer)
        return viewer

    def check_csrf(viewer: Viewer, token: str) -> None:
        if not signer.csrf_ok(token, viewer.session.nonce):
            raise _BadForm(viewer)

    @app.exception_handler(_SignIn)
    def _to_sign_in(request: Request, _exc: _SignIn) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return headers(response)

    @app.exception_handler(_Forbidden)
    def _forbidden(request: Request, exc: _Forbidden) -> Response:
        return render(request, "error.html", exc.args[0], 403, title="Not found", text=FORBIDDEN)

    @app.exception_handler(_BadForm)
    def _bad_form(request: Request, exc: _BadForm) -> Response:
        text = "This form has expired or did not come from this page. Open the page again."
        return render(request, "error.html", exc.args[0], 403, title="Form refused", text=text)

    def sign_in_page(
        request: Request, status: int = 200, error: str = "", email: str = ""
    ) -> Response:
        nonce = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)
        response = render(
            request,
            "signin.html",
            None,
            status,
            title="Sign in",
            error=error,
            email=email,
            form_token=signer.csrf_token(nonce),
        )
        response.set_cookie(
            PRE_COOKIE,
            nonce,
            max_age=3600,
            httponly=True,
            secure=secure(request),
            samesite="strict",
            path="/",
        )
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        try:
            viewer_of(request)
        except _SignIn:
            return sign_in_page(request)
        return headers(RedirectResponse("/devices", status_code=303))

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    def sign_in(
        request: Request,
        email: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        if not signer.csrf_ok(csrf, request.cookies.get(PRE_COOKIE)):
            text = "The sign-in form expired. It has been shown again: sign in once more."
            return sign_in_page(request, 403, text, email)
        address = request.client.host if request.client else None
        attempt = throttle.keys(email, address)
        wait = throttle.wait_seconds(engine, attempt, now())
        if wait:
            return throttled_page(request, wait)
        try:
            found = accounts.check_password(engine, email, password)
        except accounts.PasswordChecksBusy:
            return throttled_page(request, 2)
        if found is None:
            at = now()
            blocked = throttle.note_failure(engine, attempt, at)
            wait = max((math.ceil((u - at).total_seconds()) for u in blocked.values()), default=0)
            if wait:
                return throttled_page(request, wait)
            return sign_in_page(
                request, 401, "Wrong email or password, or the account is disabled.", email
            )
        throttle.clear(engine, email)
        user_id, version = found
        session = Session(user_id, int(time.time()), version, secrets.token_urlsafe(16))
        response = RedirectResponse("/devices", status_code=303)
        set_session(request, response, session)
        response.delete_cookie(PRE_COOKIE, path="/")
        return headers(response)

    def throttled_page(request: Request, wait: int) -> Response:
        text = f"Too many wrong sign-ins: try again in {_duration(wait)}."
        response = render(request, "error.html", None, 429, title="Wait a moment", text=text)
        response.headers["Retry-After"] = str(wait)
        return response

    @app.post("/signout", include_in_schema=False)
    def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        viewer = need(request)
        check_csrf(viewer, csrf)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return headers(response)

    @app.get("/devices", response_class=HTMLResponse, include_in_schema=False)
    def my_devices(request: Request) -> Response:
        viewer = need(request)
        with engine.connect() as conn:
            mine = fleet.list_devices(conn, {viewer.user_id}, now())
        return render(request, "devices.html", viewer, title="My laptops", devices=mine)

    @app.get("/fleet", response_class=HTMLResponse, include_in_schema=False)
    def fleet_page(
        request: Request,
        stale: Annotated[str, Query(max_length=5)] = "",
        refused: Annotated[str, Query(max_length=5)] = "",
        older: Annotated[str, Query(max_length=40)] = "",
    ) -> Response:
        viewer = need(request, "manager", "admin")
        problems = []
        stale_days = None
        if stale.strip():
            if stale.strip().isdigit():
                stale_days = int(stale)
            else:
                problems.append(f"Not synced for: '{stale}' is not a number of days.")
        older = older.strip()
        if older and not any(ch.isdigit() for ch in older):
            problems.append(f"Older than version: '{older}' is not a version like 1.4.0.")
            older = ""
        clock = now()
        with engine.connect() as conn:
            scope = fleet.visible_user_ids(conn, viewer.user_id, viewer.role)
            every = fleet.list_devices(conn, scope, clock)
        shown = fleet.apply_filters(
            every, clock, stale_days=stale_days, refused=bool(refused), older_than=older or None
        )
        return render(
            request,
            "fleet.html",
            viewer,
            title="Fleet health",
            devices=shown,
            total=len(every),
            alerted=[d for d in every if d.alerts],
            filters={"stale": stale, "refused": bool(refused), "older": older},
            problems=problems,
        )

    def forbid(viewer: Viewer) -> NoReturn:
        raise _Forbidden(viewer)

    kit = Kit(
        need=need,
        check_csrf=check_csrf,
        render=render,
        headers=headers,
        forbid=forbid,
        waits=waiting_pages(),
    )
    admin.mount(app, engine, kit)  # users, enrollment and device tokens, the audit log
    # The team dashboard and the customer 360; their figures are kept on the app.
    app.state.console_figures = manager.mount(app, engine, now, kit)
    # A rep's page, the customers with a search, late promises, the report's files.
    team_pages.mount(app, engine, app.state.console_figures, kit)

    webhook_pages.mount(app, engine, kit)
    api_key_pages.mount(app, engine, kit)
    connector_pages.mount(app, engine, kit)

    @app.get("/admin/{rest:path}", include_in_schema=False)
    @app.get("/fleet/{rest:path}", include_in_schema=False)
    @app.get("/devices/{rest:path}", include_in_schema=False)
    def elsewhere(request: Request, rest: str) -> Response:
        # An unknown console page is answered as one not yours: the two never differ.
        raise _Forbidden(need(request))


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"
