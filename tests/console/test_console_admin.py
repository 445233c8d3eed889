"""Administration in a real browser: add a user, change their role and teams, reset a
password, enrollment tokens (shown once, revoked), each action in the audit log."""

from __future__ import annotations

import html
import re
from typing import Any

from browser import sign_in
from harness import HubServer

from touchpoint.hub import accounts
from touchpoint.hub.console import audit


def _audit_rows(page: Any) -> list[str]:
    page.goto("/admin/audit")
    return page.locator("tbody tr").all_inner_texts()


def test_an_admin_adds_a_user_who_can_then_sign_in(signed_in: Any, hub: HubServer) -> None:
    admin = signed_in("priya@example.com")
    admin.goto("/admin/users")
    admin.get_by_label("Email", exact=True).fill("Lea@Example.com")
    admin.get_by_label("Role", exact=True).select_option("manager")
    admin.get_by_label("Teams", exact=True).fill("north, south")
    admin.get_by_label("Password", exact=True).fill("a good long password")
    admin.get_by_label("Password again").fill("a good long password")
    admin.get_by_role("button", name="Add user").click()
    admin.wait_for_url(re.compile("done="))
    assert (
        admin.get_by_role("status").inner_text() == "Added lea@example.com (manager, north, south)"
    )
    row = admin.get_by_role("row", name=re.compile("lea@example.com"))
    assert "manager" in row.inner_text() and "north, south" in row.inner_text()
    first = _audit_rows(admin)[0]
    assert "add user" in first and "lea@example.com (manager, north, south)" in first
    assert "console, 127.0.0.1" in first  # from which address

    lea = signed_in("lea@example.com", "a good long password")
    assert lea.url.endswith("/devices")


def test_bad_input_is_refused_with_the_field_named_and_nothing_audited(
    signed_in: Any, hub: HubServer
) -> None:
    admin = signed_in("priya@example.com")
    csrf = admin.locator("input[name=csrf]").first.get_attribute("value")
    cases = [
        ({"email": "nobody", "role": "rep", "teams": "north"}, "email: 'nobody' is not an email"),
        ({"email": "x@example.com", "role": "rep", "teams": ""}, "team: a rep or manager"),
        ({"email": "maria@example.com", "role": "rep", "teams": "n"}, "already exists"),
        ({"email": "x@example.com", "role": "boss", "teams": "n"}, "role: must be one of"),
    ]
    for form, message in cases:
        answer = admin.request.post(
            "/admin/users/add",
            form={**form, "password": "long enough pw", "again": "long enough pw", "csrf": csrf},
        )
        assert answer.status == 422, form
        assert message in html.unescape(answer.text()), form
    short = admin.request.post(
        "/admin/users/add",
        form={"email": "y@example.com", "role": "rep", "teams": "north", "password": "short",
              "again": "short", "csrf": csrf},
    )  # fmt: skip
    assert short.status == 422 and "password: at least 8 characters" in short.text()
    differ = admin.request.post(
        "/admin/users/add",
        form={"email": "y@example.com", "role": "rep", "teams": "north",
              "password": "long enough pw", "again": "long enough px", "csrf": csrf},
    )  # fmt: skip
    assert differ.status == 422 and "the two passwords differ" in differ.text()
    assert audit.entries(hub.engine)[1] == 0
    assert len(accounts.list_users(hub.engine)) == 5


def test_role_and_teams_change_and_a_password_reset_ends_the_sessions(
    signed_in: Any, hub: HubServer
) -> None:
    ben = signed_in("ben@example.com")
    admin = signed_in("priya@example.com")
    admin.goto("/admin/users")
    admin.get_by_role("link", name="Change ben@example.com").click()
    admin.get_by_label("Role", exact=True).select_option("manager")
    admin.get_by_label("Teams", exact=True).fill("south, east")
    admin.get_by_role("button", name="Save role and teams").click()
    admin.wait_for_url(re.compile("done="))
    assert (
        "Saved ben@example.com: manager, teams east, south"
        in admin.get_by_role("status").inner_text()
    )
    ben_now = next(u for u in accounts.list_users(hub.engine) if u.email == "ben@example.com")
    assert ben_now.teams == ("east", "south")
    ben.goto("/fleet")  # a new role ends the session: sign in again
    assert ben.get_by_role("heading", name="Sign in").is_visible()
    sign_in(ben, "ben@example.com")
    assert ben.goto("/fleet").status == 200  # a manager now

    admin.goto("/admin/users/edit?email=ben@example.com")
    admin.get_by_label("New password", exact=True).fill("brand new secret")
    admin.get_by_label("New password again").fill("brand new secret")
    admin.get_by_role("button", name="Set new password").click()
    admin.wait_for_url(re.compile("done="))
    assert "New password set for ben@example.com" in admin.get_by_role("status").inner_text()
    ben.goto("/devices")
    assert ben.get_by_role("heading", name="Sign in").is_visible()
    sign_in(ben, "ben@example.com", "brand new secret")
    assert ben.url.endswith("/devices")
    rows = _audit_rows(admin)
    assert "reset password" in rows[0] and "ben@example.com" in rows[0]
    assert "brand new secret" not in admin.content()
    assert "edit user" in rows[1] and "manager, teams east, south" in rows[1]

    # An admin's own role is not theirs to change here, and an unknown user is a 403.
    admin.goto("/admin/users/edit?email=priya@example.com")
    assert admin.get_by_label("Role", exact=True).is_disabled()
    csrf = admin.locator("input[name=csrf]").first.get_attribute("value")
    own = admin.request.post(
        "/admin/users/edit",
        form={"email": "priya@example.com", "role": "rep", "teams": "north", "csrf": csrf},
    )
    assert own.status == 422 and "you cannot change your own role" in own.text()
    assert admin.goto("/admin/users/edit?email=nobody@example.com").status == 403


def test_an_enrollment_token_is_shown_once_and_can_be_revoked(
    signed_in: Any, hub: HubServer
) -> None:
    admin = signed_in("priya@example.com")
    admin.goto("/admin/enrollments")
    admin.get_by_label("User").select_option("maria@example.com")
    admin.get_by_label("Valid for").select_option("2w")
    admin.get_by_role("button", name="Create token").click()
    token = admin.locator("#made-token").inner_text()
    assert len(token) >= 40 and "done=" not in admin.url  # never in a URL
    assert "shown only this once" in admin.content()
    row = admin.get_by_role("row", name=re.compile("maria@example.com"))
    assert "unused" in row.inner_text()
    admin.goto("/admin/enrollments")
    assert token not in admin.content()  # only in the answer that made it

    admin.on("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name=re.compile("Revoke enrollment token")).click()
    admin.wait_for_url(re.compile("done="))
    assert "Revoked enrollment token 1" in admin.get_by_role("status").inner_text()
    assert "revoked" in admin.get_by_role("row", name=re.compile("maria@example.com")).inner_text()
    assert accounts.enroll(hub.engine, token, "dev-1", "Maria's laptop") is None
    rows = _audit_rows(admin)
    assert "revoke enrollment token" in rows[0]
    assert "create enrollment token" in rows[1] and "maria@example.com" in rows[1]
    assert token not in admin.content()


def test_the_audit_page_pages_and_filters(signed_in: Any, hub: HubServer) -> None:
    for n in range(audit.PAGE + 5):
        audit.record(hub.engine, "root (command line)", "disable user", f"u{n}@x.org", via="cli")
    audit.record(hub.engine, "priya@example.com", "revoke device token", "7", via="console")
    admin = signed_in("priya@example.com")
    admin.goto("/admin/audit")
    caption = admin.locator("caption").inner_text()
    assert caption == f"1–{audit.PAGE} of {audit.PAGE + 6} actions"
    assert "revoke device token" in admin.locator("tbody tr").first.inner_text()
    admin.get_by_role("link", name="Older →").click()
    assert admin.locator("caption").inner_text().startswith(f"{audit.PAGE + 1}–{audit.PAGE + 6}")
    assert "u0@x.org" in admin.locator("tbody tr").last.inner_text()
    admin.goto("/admin/audit")
    admin.get_by_label("Contains").fill("REVOKE")
    admin.get_by_role("button", name="Filter").click()
    admin.wait_for_url(re.compile("q=REVOKE"))
    assert "revoke device token" in admin.locator("tbody tr").first.inner_text()
    assert len(admin.locator("tbody tr").all()) == 1
    admin.goto("/admin/audit?via=cli&q=u1")
    rows = admin.locator("tbody tr").all_inner_texts()
    assert len(rows) == 11 and all("command line" in r for r in rows)  # u1, u10..u19
    admin.goto("/admin/audit?q=nothing-like-this")
    assert "No action matches." in admin.locator("tbody").inner_text()
