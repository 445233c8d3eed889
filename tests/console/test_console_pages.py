"""The console in a real browser: sign-in, throttling, CSRF, roles, fleet, administration."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from browser import sign_in
from click.testing import CliRunner
from harness import Clock, HubServer, Laptop, RunningClock
from sqlalchemy import select

from touchpoint.hub.cli import main as hub_cli
from touchpoint.hub.db import users
from touchpoint.services import customers, interactions


def test_sign_in_and_sign_out(open_page: Any, hub: HubServer) -> None:
    page = open_page()
    answer = page.goto("/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "unsafe-inline" not in answer.headers["content-security-policy"]
    sign_in(page, "maria@example.com")
    assert page.url.endswith("/devices")
    assert page.get_by_role("heading", name="My laptops").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "tp_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain http on 127.0.0.1; Secure over HTTPS (see below)
    assert "PASSWORD" not in page.content() and "secret" not in page.content().lower()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.goto("/devices")  # the session is gone: back to the sign-in
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_a_wrong_password_is_refused_and_repeated_ones_are_throttled(
    open_page: Any, hub: HubServer
) -> None:
    assert isinstance(hub.now, RunningClock)
    hub.now.hold()  # the first wait is a second: it must not end before the last step
    page = open_page()
    sign_in(page, "maria@example.com", "wrong password")
    assert page.get_by_role("alert").inner_text().startswith("Wrong email or password")
    for _ in range(4):
        sign_in(page, "maria@example.com", "wrong password")
    assert page.get_by_role("heading", name="Wait a moment").is_visible()
    assert re.search(r"try again in \d+ seconds", page.get_by_role("alert").inner_text())
    # During the wait even the right password is not tried.
    page.goto("/")
    page.get_by_label("Email").fill("maria@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) >= 1


def test_a_form_posted_without_its_csrf_token_is_refused(
    open_page: Any, signed_in: Any, hub: HubServer
) -> None:
    admin = signed_in("priya@example.com")
    refused = admin.request.post("/admin/users/disable", form={"email": "maria@example.com"})
    assert refused.status == 403
    forged = admin.request.post(
        "/admin/users/disable", form={"email": "maria@example.com", "csrf": "forged"}
    )
    assert forged.status == 403
    # Another session's token is not this session's.
    other = signed_in("priya@example.com")
    token = other.locator("input[name=csrf]").first.get_attribute("value")
    stolen = admin.request.post(
        "/admin/users/disable", form={"email": "maria@example.com", "csrf": token}
    )
    assert stolen.status == 403
    # The sign-in form has its own token too.
    bare = open_page().request.post(
        "/", form={"email": "maria@example.com", "password": "correct horse battery"}
    )
    assert bare.status == 403
    admin.goto("/admin/users")
    row = admin.get_by_role("row", name=re.compile("maria@example.com"))
    assert row.get_by_role("cell").nth(2).inner_text() == "no"  # still enabled


PAGES = [
    "/devices",
    "/dashboard",
    "/customers",
    "/promises/late",
    "/fleet",
    "/admin/users",
    "/admin/enrollments",
    "/admin/tokens",
    "/admin/webhooks",
    "/admin/api-keys",
    "/admin/connectors",
    "/admin/audit",
]
ALLOWED = {
    "rep": {"/devices"},
    "manager": {"/devices", "/dashboard", "/customers", "/promises/late", "/fleet"},
    "admin": set(PAGES),
}


@pytest.mark.parametrize(
    ("email", "role"),
    [("maria@example.com", "rep"), ("tom@example.com", "manager"), ("priya@example.com", "admin")],
)
def test_each_role_sees_its_pages_and_is_refused_the_others(
    signed_in: Any, hub: HubServer, email: str, role: str
) -> None:
    page = signed_in(email)
    for path in PAGES:
        answer = page.goto(path)
        if path in ALLOWED[role]:
            assert answer.status == 200, path
            assert page.get_by_role("link", name="Sign out").count() == 0
        else:
            assert answer.status == 403, path
            assert "not yours to see" in page.get_by_role("alert").inner_text()
    # A page that does not exist at all looks the same as one that is not yours.
    links = {a.get_attribute("href") for a in page.get_by_role("navigation").locator("a").all()}
    if role == "rep":  # and their own page (My activity), which is no one else's
        with hub.engine.connect() as conn:
            own = conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one()
        assert page.goto(f"/reps/{own}").status == 200
        assert links == ALLOWED[role] | {f"/reps/{own}"}
    else:
        assert links == ALLOWED[role]
    for path in ("/admin/nothing-here", "/fleet/no-such-laptop"):
        assert page.goto(path).status == 403, path
        assert "not yours to see" in page.get_by_role("alert").inner_text()
    posted = page.request.post("/admin/tokens/revoke", form={"token_id": "1", "csrf": "x"})
    assert posted.status == 403


@pytest.fixture
def two_laptops(hub: HubServer, tmp_path: Path) -> Any:
    clock = Clock(hub.now())
    maria = Laptop(tmp_path / "maria", "maria@example.com", clock, hub)
    ben = Laptop(tmp_path / "ben", "ben@example.com", clock, hub)
    sara = Laptop(tmp_path / "sara", "sara@example.com", clock, hub)
    acme = customers.create_customer(maria.ws, {"name": "Acme GmbH"}).value.id
    interactions.log_interaction(maria.ws, customer=acme, kind="visit", notes="first visit")
    for _ in range(2):  # a hello reports the sync before it: the second tells of the first
        for laptop in (maria, ben, sara):
            assert laptop.sync().in_sync
    yield {"maria": maria, "ben": ben, "sara": sara}
    for laptop in (maria, ben, sara):
        laptop.close()


def device_rows(page: Any) -> list[str]:
    return [r.inner_text() for r in page.locator("tbody tr").all()]


def test_fleet_health_after_real_laptops_synced(
    signed_in: Any, hub: HubServer, two_laptops: dict[str, Laptop]
) -> None:
    manager = signed_in("tom@example.com")
    manager.goto("/fleet")
    rows = device_rows(manager)
    assert len(rows) == 2  # north's two laptops; south's is not his to see
    assert any("maria@example.com" in r for r in rows)
    assert any("ben@example.com" in r for r in rows)
    assert not any("sara@example.com" in r for r in rows)
    maria_row = manager.get_by_role("row", name=re.compile("maria@example.com"))
    cells = [c.inner_text() for c in maria_row.locator("td, th").all()]
    from touchpoint import __version__

    assert cells[0].endswith("maria@example.com")  # the laptop's name, then its user
    assert cells[2] == __version__  # app version as the laptop said in its hello
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d$", cells[3])  # last sync
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d$", cells[4])  # last successful sync
    assert cells[5:9] == ["0", "0", "0", "0"]  # waiting, refused, set aside, conflicts
    assert cells[1]  # OS
    assert cells[10] == "off"  # the test laptops' databases are not encrypted

    # Filters: nothing refused, nobody stale for a day, everyone older than 999.
    manager.get_by_label("Has refused changes").check()
    manager.get_by_role("button", name="Filter").click()
    manager.wait_for_url(re.compile("refused=1"))
    assert "No laptop here." in device_rows(manager)[0]
    manager.goto("/fleet?stale=1")
    assert "No laptop here." in device_rows(manager)[0]
    manager.goto("/fleet?older=999.0")
    assert len(device_rows(manager)) == 2
    manager.goto("/fleet?older=0.0.1")
    assert "No laptop here." in device_rows(manager)[0]
    manager.goto("/fleet?stale=soon")
    assert "'soon' is not a number of days" in manager.get_by_role("alert").first.inner_text()

    admin = signed_in("priya@example.com")
    admin.goto("/fleet")
    assert len(device_rows(admin)) == 3

    # A rep sees only their own laptop on their page.
    rep = signed_in("ben@example.com")
    rows = device_rows(rep)
    assert len(rows) == 1 and "ben@example.com" in rows[0]


def test_alerts_name_what_is_wrong(
    signed_in: Any, hub: HubServer, two_laptops: dict[str, Laptop]
) -> None:
    from sqlalchemy import update

    from touchpoint.hub.db import devices, users, write

    # Ben's laptop reported long ago, unencrypted, with refused changes and a clock off.
    with write(hub.engine) as conn:
        ben_id = conn.execute(users.select().where(users.c.email == "ben@example.com")).first().id
        conn.execute(
            update(devices)
            .where(devices.c.user_id == ben_id)
            .values(
                report={
                    "refused": 2,
                    "set_aside": 1,
                    "encrypted": False,
                    "last_sync_at": "2026-01-02T03:04:05.000000Z",
                },
                reported_at="2026-01-02T03:04:05.000000Z",
                last_seen="2026-01-02T03:04:05.000000Z",
                clock_offset_ms=-600_000,
            )
        )
    page = signed_in("tom@example.com")
    page.goto("/fleet")
    alerts = page.locator(".alerts li").all_inner_texts()
    bens = [a for a in alerts if "ben@example.com" in a]
    assert len(bens) == 1
    # Maria's test laptop is as it reported: only its unencrypted database is said.
    assert [a.split(": ", 1)[1] for a in alerts if "maria@" in a] == ["not encrypted"]
    for words in (
        "not synced for 7+ days",
        "2 refused",
        "1 set aside",
        "not encrypted",
        "clock off by more than 5 minutes",
    ):
        assert words in bens[0]
    page.goto("/fleet?refused=1")
    rows = device_rows(page)
    assert len(rows) == 1 and "ben@example.com" in rows[0]
    page.goto("/fleet?stale=30")
    assert len(device_rows(page)) == 1


def test_revoking_a_token_stops_that_laptop_and_is_in_the_audit_log(
    signed_in: Any, hub: HubServer, two_laptops: dict[str, Laptop]
) -> None:
    admin = signed_in("priya@example.com")
    admin.goto("/admin/tokens")
    admin.on("dialog", lambda dialog: dialog.accept())
    row = admin.get_by_role("row", name=re.compile("ben@example.com"))
    row.get_by_role("button", name=re.compile("Revoke")).click()
    admin.wait_for_url(re.compile("done="))
    assert "Revoked token" in admin.get_by_role("status").inner_text()
    assert "revoked" in admin.get_by_role("row", name=re.compile("ben@example.com")).inner_text()

    assert two_laptops["ben"].sync().status == "needs_sign_in"
    assert two_laptops["maria"].sync().in_sync  # the others go on

    admin.goto("/admin/audit")
    first = admin.locator("tbody tr").first.inner_text()
    assert "priya@example.com" in first and "revoke device token" in first
    assert "console" in first


def test_disabling_a_user_ends_their_console_session_at_once(
    signed_in: Any, hub: HubServer
) -> None:
    maria = signed_in("maria@example.com")
    admin = signed_in("priya@example.com")
    admin.goto("/admin/users")
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Disable maria@example.com").click()
    admin.wait_for_url(re.compile("done="))
    assert "Disabled maria@example.com" in admin.get_by_role("status").inner_text()
    maria.goto("/devices")
    assert maria.get_by_role("heading", name="Sign in").is_visible()
    sign_in(maria, "maria@example.com")
    assert maria.get_by_role("alert").inner_text().startswith("Wrong email or password")
    admin.goto("/admin/audit")
    assert "disable user" in admin.locator("tbody tr").first.inner_text()


def test_the_command_line_s_admin_actions_are_in_the_same_audit_log(
    signed_in: Any, hub: HubServer
) -> None:
    runner = CliRunner()
    done = runner.invoke(hub_cli, ["user", "disable", "sara@example.com", "--db", hub.db_url])
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        hub_cli,
        ["user", "edit", "ben@example.com", "--add-team", "south", "--db", hub.db_url],
    )
    assert done.exit_code == 0, done.output
    admin = signed_in("priya@example.com")
    admin.goto("/admin/audit")
    rows = admin.locator("tbody tr").all_inner_texts()
    assert "edit user" in rows[0] and "ben@example.com: rep, teams north, south" in rows[0]
    assert "disable user" in rows[1] and "sara@example.com" in rows[1]
    assert "command line" in rows[0] and "command line" in rows[1]


def test_keyboard_alone_signs_in(open_page: Any, hub: HubServer) -> None:
    page = open_page()
    page.goto("/")
    # Focused on arrival: the browser moves focus to an autofocus field at its next
    # rendering step after the load, which a busy machine may not have reached yet.
    page.wait_for_function("document.activeElement.id === 'email'", timeout=5000)
    page.keyboard.press("Shift+Tab")  # before it: only the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.type("tom@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign in"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="My laptops").is_visible()


SHOTS = [
    ("tom@example.com", "/fleet"),
    ("priya@example.com", "/fleet"),
    ("priya@example.com", "/admin/users"),
    ("priya@example.com", "/admin/users/edit?email=ben@example.com"),
    ("priya@example.com", "/admin/enrollments"),
    ("priya@example.com", "/admin/tokens"),
    ("priya@example.com", "/admin/webhooks"),
    ("priya@example.com", "/admin/audit"),
    ("maria@example.com", "/devices"),
    ("maria@example.com", "/admin/users"),  # the 403 page
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_every_page(
    open_page: Any,
    hub: HubServer,
    two_laptops: dict[str, Laptop],
    tmp_path: Path,
    scheme: str,
) -> None:
    """Every page in light and dark, at desktop and tablet width, for a person to look at;
    the checks here are that each page renders and nothing overflows the tablet width."""
    out = Path(os.environ.get("TOUCHPOINT_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    CliRunner().invoke(
        hub_cli, ["user", "edit", "ben@example.com", "--add-team", "south", "--db", hub.db_url]
    )
    for width in (1280, 768):
        page = open_page(scheme, width)
        page.goto("/")
        page.screenshot(path=out / f"signin-{scheme}-{width}.png", full_page=True)
        signed_in_as = None
        for email, path in SHOTS:
            if email != signed_in_as:
                page.context.clear_cookies()
                sign_in(page, email)
                signed_in_as = email
            page.goto(path)
            slug = re.sub(r"[^a-z0-9]+", "-", path)
            name = f"{email.split('@')[0]}{slug}-{scheme}-{width}.png"
            page.screenshot(path=out / name, full_page=True)
            # The page itself never scrolls sideways; wide tables scroll in their own box.
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            dark = background == "rgb(21, 23, 26)"
            assert dark == (scheme == "dark"), name
