"""The console's administration, for admins: users, enrollment and device tokens, audit.

Each action calls the same function in :mod:`touchpoint.hub.accounts` as its
``touchpoint-hub`` command (same checks, same messages) and is written to the audit
log the same way. Every POST goes through the kit's ``act``: the form's CSRF token, the
action, its audit entry, then back to the page with what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from touchpoint.hub import accounts
from touchpoint.hub.console import audit
from touchpoint.hub.console.kit import Done
from touchpoint.hub.console.kit import act as kit_act

Csrf = Annotated[str, Form(max_length=200)]
Email = Annotated[str, Form(max_length=200)]
Secret = Annotated[str, Form(max_length=1000)]
Flash = Annotated[str, Query(max_length=300)]
LIFETIMES = (("1d", "1 day"), ("7d", "7 days"), ("2w", "2 weeks"), ("30d", "30 days"))


def split_teams(text: str) -> list[str]:
    """'north, south' -> ['north', 'south'] (commas or new lines; blanks dropped)."""
    names = [t.strip() for t in text.replace("\n", ",").split(",")]
    return list(dict.fromkeys(t for t in names if t))


def mount(app: FastAPI, engine: Engine, kit: Any) -> None:
    """Add the administration pages (admins only) to the console."""

    def act(request: Request, csrf: str, back: str, work: Callable[[Any], Done]) -> Response:
        return kit_act(kit, engine, request, csrf, back, work)

    # --- users ------------------------------------------------------------------------

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def users_page(request: Request, done: Flash = "") -> Response:
        viewer = kit.need(request, "admin")
        return kit.render(
            request,
            "users.html",
            viewer,
            title="Users",
            people=accounts.list_users(engine),
            roles=accounts.ROLES,
            min_password=accounts.MIN_PASSWORD,
            done=done,
        )

    @app.post("/admin/users/add", include_in_schema=False)
    def add_user(
        request: Request,
        *,
        email: Email = "",
        role: Annotated[str, Form(max_length=20)] = "",
        teams: Annotated[str, Form(max_length=2000)] = "",
        password: Secret = "",
        again: Secret = "",
        csrf: Csrf = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            if password != again:
                raise accounts.AccountError("password: the two passwords differ")
            names = split_teams(teams)
            accounts.add_user(engine, email, password, role, names)
            shown = f"{email.strip().lower()} ({role}{', ' + ', '.join(names) if names else ''})"
            return Done("add user", shown, f"Added {shown}")

        return act(request, csrf, "/admin/users", work)

    @app.get("/admin/users/edit", response_class=HTMLResponse, include_in_schema=False)
    def edit_page(
        request: Request, email: Annotated[str, Query(max_length=200)] = "", done: Flash = ""
    ) -> Response:
        viewer = kit.need(request, "admin")
        person = next(
            (u for u in accounts.list_users(engine) if u.email == email.strip().lower()), None
        )
        if person is None:
            kit.forbid(viewer)
        return kit.render(
            request,
            "user_edit.html",
            viewer,
            title=f"User {person.email}",
            person=person,
            roles=accounts.ROLES,
            min_password=accounts.MIN_PASSWORD,
            done=done,
        )

    @app.post("/admin/users/edit", include_in_schema=False)
    def edit_user(
        request: Request,
        email: Email = "",
        role: Annotated[str, Form(max_length=20)] = "",
        teams: Annotated[str, Form(max_length=2000)] = "",
        csrf: Csrf = "",
    ) -> Response:
        def work(viewer: Any) -> Done:
            who = email.strip().lower()
            current = next((u for u in accounts.list_users(engine) if u.email == who), None)
            if current is None:
                raise accounts.AccountError(f"email: no user {email}")
            if who == viewer.email and role != current.role:
                raise accounts.AccountError("role: you cannot change your own role")
            wanted = split_teams(teams)
            new_role, now_in = accounts.edit_user(
                engine,
                who,
                role=role or None,
                add_teams=[t for t in wanted if t not in current.teams],
                remove_teams=[t for t in current.teams if t not in wanted],
            )
            shown = f"{who}: {new_role}, teams {', '.join(now_in) or '(none)'}"
            return Done("edit user", shown, f"Saved {shown}")

        return act(request, csrf, f"/admin/users/edit?{urlencode({'email': email})}", work)

    @app.post("/admin/users/password", include_in_schema=False)
    def reset_password(
        request: Request,
        email: Email = "",
        password: Secret = "",
        again: Secret = "",
        csrf: Csrf = "",
    ) -> Response:
        def work(_viewer: Any) -> Done:
            if password != again:
                raise accounts.AccountError("password: the two passwords differ")
            accounts.set_password(engine, email, password)
            who = email.strip().lower()
            return Done("reset password", who, f"New password set for {who}")

        return act(request, csrf, f"/admin/users/edit?{urlencode({'email': email})}", work)

    @app.post("/admin/users/disable", include_in_schema=False)
    def disable(request: Request, email: Email = "", csrf: Csrf = "") -> Response:
        def work(viewer: Any) -> Done:
            if email.strip().lower() == viewer.email:
                raise accounts.AccountError("You cannot disable yourself: ask another admin.")
            accounts.disable_user(engine, email)
            return Done("disable user", email.strip().lower(), f"Disabled {email}")

        return act(request, csrf, "/admin/users", work)

    # --- enrollment tokens ------------------------------------------------------------

    def enrollments_page(
        request: Request, viewer: Any, done: str = "", made: accounts.Enrollment | None = None
    ) -> Response:
        rows = accounts.list_enrollments(engine)
        for row in rows:
            row["state"] = accounts.enrollment_state(row)
        return kit.render(
            request,
            "enrollments.html",
            viewer,
            title="Enrollment tokens",
            enrollments=list(reversed(rows)),
            people=[u.email for u in accounts.list_users(engine) if not u.disabled_at],
            lifetimes=LIFETIMES,
            made=made,
            done=done,
        )

    @app.get("/admin/enrollments", response_class=HTMLResponse, include_in_schema=False)
    def enrollments(request: Request, done: Flash = "") -> Response:
        return enrollments_page(request, kit.need(request, "admin"), done)

    @app.post("/admin/enrollments/create", include_in_schema=False)
    def create_enrollment(
        request: Request,
        email: Email = "",
        expires: Annotated[str, Form(max_length=10)] = "7d",
        csrf: Csrf = "",
    ) -> Response:
        def work(viewer: Any) -> Done:
            made = accounts.create_enrollment(engine, email, accounts.parse_lifetime(expires))
            # Shown once, in this answer only: never in a URL, a log or a later page.
            return Done(
                "create enrollment token",
                made.email,
                "",
                page=lambda: enrollments_page(request, viewer, made=made),
            )

        return act(request, csrf, "/admin/enrollments", work)

    @app.post("/admin/enrollments/revoke", include_in_schema=False)
    def revoke_enrollment(
        request: Request, enrollment_id: Annotated[int, Form(ge=1)] = 0, csrf: Csrf = ""
    ) -> Response:
        def work(_viewer: Any) -> Done:
            if not accounts.revoke_enrollment(engine, enrollment_id):
                raise accounts.AccountError(
                    f"enrollment: token {enrollment_id} is not an unused token"
                )
            return Done(
                "revoke enrollment token",
                str(enrollment_id),
                f"Revoked enrollment token {enrollment_id}",
            )

        return act(request, csrf, "/admin/enrollments", work)

    # --- device tokens ----------------------------------------------------------------

    @app.get("/admin/tokens", response_class=HTMLResponse, include_in_schema=False)
    def tokens_page(request: Request, done: Flash = "") -> Response:
        viewer = kit.need(request, "admin")
        return kit.render(
            request,
            "tokens.html",
            viewer,
            title="Device tokens",
            tokens=accounts.list_tokens(engine),
            done=done,
        )

    @app.post("/admin/tokens/revoke", include_in_schema=False)
    def revoke(
        request: Request, token_id: Annotated[int, Form(ge=1)] = 0, csrf: Csrf = ""
    ) -> Response:
        def work(_viewer: Any) -> Done:
            if not accounts.revoke_token(engine, token_id):
                raise accounts.AccountError(f"Token {token_id} is not an active token.")
            return Done("revoke device token", str(token_id), f"Revoked token {token_id}")

        return act(request, csrf, "/admin/tokens", work)

    # --- audit log --------------------------------------------------------------------

    @app.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(
        request: Request,
        q: Annotated[str, Query(max_length=200)] = "",
        via: Annotated[str, Query(max_length=10)] = "",
        page: Annotated[str, Query(max_length=8)] = "1",
    ) -> Response:
        viewer = kit.need(request, "admin")
        number = int(page) if page.isdigit() and int(page) >= 1 else 1
        shown, total = audit.entries(engine, page=number, text=q, via=via)
        pages = max(1, -(-total // audit.PAGE))

        def link(n: int) -> str:
            return "/admin/audit?" + urlencode(
                {k: v for k, v in (("q", q), ("via", via), ("page", n)) if v}
            )

        return kit.render(
            request,
            "audit.html",
            viewer,
            title="Audit log",
            entries=shown,
            total=total,
            number=min(number, pages),
            pages=pages,
            first=(number - 1) * audit.PAGE,
            newer=link(number - 1) if number > 1 else None,
            older=link(number + 1) if number < pages else None,
            filters={"q": q, "via": via if via in audit.VIA else ""},
            when=_when,
        )


def _when(at: str) -> str:
    """UTC text as people read it: 'Sun 6 Dec 2026, 15:08' (UTC)."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"
