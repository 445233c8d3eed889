"""``touchpoint-hub``: set up and run a Touchpoint Hub.

Only ``init`` (and ``serve``, which upgrades the schema of an existing Hub) create or
change a database's tables; every other command refuses a missing or uninitialised one.
Errors print one ``error:`` line and exit with code 1; usage mistakes exit with 2.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from touchpoint import __version__
from touchpoint.errors import TouchpointError
from touchpoint.hub import accounts, apikeys, webhooks
from touchpoint.hub.cli_audit import audit_command as _audit
from touchpoint.hub.cli_audit import system_user as _system_user
from touchpoint.hub.connector_cli import connector_group
from touchpoint.hub.console import audit
from touchpoint.hub.db import (
    DB_ENV,
    HubNeedsUpgrade,
    create_hub,
    db_url,
    default_db_path,
    open_hub,
    safe_url,
)
from touchpoint.hub.report_cli import export_group, report_group

log = logging.getLogger("touchpoint.hub.cli")
LOG_ENV = "TOUCHPOINT_HUB_LOG"

db_option = click.option(
    "--db",
    "db",
    envvar=DB_ENV,
    default=None,
    metavar="URL",
    help=f"The Hub's database: sqlite:////path/hub.sqlite3, a plain file path, or "
    f"postgresql://user@host/name; default ${DB_ENV}, else hub.sqlite3 in the Hub "
    "user's data folder (see `touchpoint-hub --help`).",
)


def log_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("touchpoint-hub", "Touchpoint")) / "touchpoint-hub.log"


def _engine(db: str | None) -> Engine:
    """An existing, initialised Hub database (never created here)."""
    return open_hub(db_url(db))


class HubGroup(click.Group):
    """The root group: known errors become one ``error:`` line and exit code 1.

    Usage errors stay click's (exit code 2). An unexpected exception is logged with
    its traceback; the terminal gets one line naming the log file."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Worked out when asked: the data folder depends on the user running the Hub.
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(
                f"Without --db or ${DB_ENV} the Hub keeps its SQLite database (made by "
                "`touchpoint-hub init`) in:"
            )
            # On a line of its own and never wrapped, so it can be copied.
            formatter.write(f"{'':{formatter.current_indent + 2}}{default_db_path()}\n")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (TouchpointError, accounts.AccountError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            log.info("touchpoint-hub failed: %s", message)
            click.echo(f"error: {message}", err=True)
            ctx.exit(1)
        except SQLAlchemyError as exc:
            log.warning("database error in touchpoint-hub", exc_info=True)
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            click.echo(f"error: the Hub database failed: {reason}", err=True)
            ctx.exit(1)
        except OSError as exc:
            log.warning("touchpoint-hub failed", exc_info=True)
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except Exception as exc:
            log.exception("unexpected error in touchpoint-hub %s", ctx.invoked_subcommand)
            click.echo(
                f"error: something went wrong ({type(exc).__name__}); "
                f"the details are in {log_file()}",
                err=True,
            )
            ctx.exit(1)


@click.group(
    "touchpoint-hub",
    cls=HubGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="touchpoint-hub")
def main() -> None:
    """Touchpoint Hub: the server Touchpoint laptops sync with.

    Start with `touchpoint-hub init --db URL`, add users with `touchpoint-hub user add`,
    then `touchpoint-hub serve`.
    """
    from touchpoint.logs import setup_logging

    with contextlib.suppress(OSError):  # a read-only home must not stop an admin command
        setup_logging(log_file(), logging.INFO)


@main.command()
@db_option
def init(db: str | None) -> None:
    """Create the Hub's database, or upgrade it to this version's schema."""
    url = db_url(db)
    engine = create_hub(url)
    try:
        _import_old_audit_file(engine)
    finally:
        engine.dispose()
    click.echo(f"Hub database ready: {safe_url(url)}")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False))
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--access-log",
    is_flag=True,
    help="Print a line per request on the standard output (off: under a thousand "
    "laptops, formatting them took a fifth of the event loop's time).",
)
def serve(  # noqa: PLR0917 (click passes options positionally)
    db: str | None,
    host: str,
    port: int,
    workers: int,
    certfile: str | None,
    keyfile: str | None,
    access_log: bool,
) -> None:
    """Serve the sync API (HTTPS when given a certificate and key).

    Upgrades the schema of an existing Hub database first; a missing one is refused
    (run `touchpoint-hub init`). Errors go to the Hub's log file either way."""
    import uvicorn

    url = db_url(db)
    if workers > 1 and url.startswith("sqlite"):
        raise click.UsageError("--workers above 1 needs PostgreSQL (--db postgresql://...)")
    try:
        engine = open_hub(url)
    except HubNeedsUpgrade:
        engine = create_hub(url)  # serve may bring an older Hub to this version's schema
    try:
        _import_old_audit_file(engine)
    finally:
        engine.dispose()
    if certfile is None and not _is_loopback(host):
        click.echo(
            f"warning: serving plain HTTP on {host}: passwords and customer data travel "
            "unencrypted; give --certfile and --keyfile (or put an HTTPS proxy in front)",
            err=True,
        )
    os.environ[DB_ENV] = url  # each worker builds its app from the environment
    # ... and logs into the Hub's log file, unexpected request errors with their traceback.
    os.environ[LOG_ENV] = str(log_file())
    uvicorn.run(
        "touchpoint.hub.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        log_level="info",
        access_log=access_log,
        # A worker is killed and started again when it does not answer its supervisor's
        # ping in time: 5 s (uvicorn's default) is too short while a busy computer imports
        # the app, and every new worker then met the same fate, the Hub never up.
        timeout_worker_healthcheck=30,
    )


@main.group()
def user() -> None:
    """Add, change and disable users."""


@user.command("list")
@db_option
def user_list(db: str | None) -> None:
    """Every user: email, role, teams, and whether they are disabled."""
    rows = [("EMAIL", "ROLE", "TEAMS", "DISABLED")]
    for u in accounts.list_users(_engine(db)):
        teams = ", ".join(u.teams) or "-"
        rows.append((u.email, u.role, teams, u.disabled_at or "-"))
    _table(rows)


@user.command("add")
@db_option
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--team", "team_names", multiple=True, help="Team name (repeat for several).")
def user_add(db: str | None, email: str, role: str, team_names: tuple[str, ...]) -> None:
    """Add a user; the password is prompted, or read from stdin when it is not a terminal."""
    engine = _engine(db)  # a missing Hub is said before asking for a password
    password = _read_password()
    accounts.add_user(engine, email, password, role, list(team_names))
    _audit(
        engine,
        "add user",
        f"{email.strip().lower()} ({role}{', ' + ', '.join(team_names) if team_names else ''})",
    )
    click.echo(f"Added {email} ({role}{', ' + ', '.join(team_names) if team_names else ''})")


@user.command("edit")
@db_option
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), help="A new role.")
@click.option("--add-team", "add", multiple=True, help="Join this team (repeat for several).")
@click.option("--remove-team", "remove", multiple=True, help="Leave this team.")
def user_edit(
    db: str | None, email: str, role: str | None, add: tuple[str, ...], remove: tuple[str, ...]
) -> None:
    """Change a user's role or teams; their laptops pull the new scope at the next sync."""
    if role is None and not add and not remove:
        raise click.UsageError("give --role, --add-team or --remove-team")
    engine = _engine(db)
    now_role, now_teams = accounts.edit_user(
        engine, email, role=role, add_teams=list(add), remove_teams=list(remove)
    )
    _audit(
        engine,
        "edit user",
        f"{email.strip().lower()}: {now_role}, teams {', '.join(now_teams) or '(none)'}",
    )
    click.echo(f"{email}: {now_role}, teams {', '.join(now_teams) or '(none)'}")


@user.command("disable")
@db_option
@click.argument("email")
def user_disable(db: str | None, email: str) -> None:
    """Disable a user: their tokens stop working at once."""
    engine = _engine(db)
    accounts.disable_user(engine, email)
    _audit(engine, "disable user", email.strip().lower())
    click.echo(f"Disabled {email}")


@user.command("password")
@db_option
@click.argument("email")
def user_password(db: str | None, email: str) -> None:
    """Set a new password (prompted, or read from stdin when it is not a terminal).

    The user's console sessions end at once; their laptops stay signed in."""
    engine = _engine(db)
    password = _read_password()
    accounts.set_password(engine, email, password)
    _audit(engine, "reset password", email.strip().lower())
    click.echo(f"New password set for {email}")


@main.command()
@db_option
@click.argument("email")
@click.option(
    "--expires",
    default="7d",
    show_default=True,
    help="How long the token may be used: 30m, 12h, 7d, 2w (at most 90 days).",
)
def enroll(db: str | None, email: str, expires: str) -> None:
    """A one-time enrollment token for EMAIL, for `touchpoint provision --enrollment-token`.

    Only the token is printed on stdout (for scripts); it is shown once and the Hub
    keeps only its hash. It signs in one laptop, once, before it expires.
    """
    lifetime = accounts.parse_lifetime(expires)
    engine = _engine(db)
    made = accounts.create_enrollment(engine, email, lifetime)
    _audit(engine, "create enrollment token", made.email)
    click.echo(made.token)
    click.echo(
        f"One-time enrollment token for {made.email}, valid until "
        f"{made.expires_at:%Y-%m-%d %H:%M} UTC.",
        err=True,
    )


@main.group()
def token() -> None:
    """List and revoke device tokens."""


@token.command("list")
@db_option
def token_list(db: str | None) -> None:
    """Every device token (never the token itself): who, which laptop, when, and its state."""
    rows = [("ID", "EMAIL", "DEVICE", "CREATED", "LAST USED", "STATE")]
    for t in accounts.list_tokens(_engine(db)):
        state = "revoked" if t["revoked_at"] else "active"
        rows.append(
            (
                str(t["id"]),
                str(t["email"]),
                str(t["device_name"] or t["device_id"]),
                str(t["created_at"]),
                str(t["last_used_at"] or "-"),
                state,
            )
        )
    _table(rows)


@token.command("revoke")
@db_option
@click.argument("token_id", type=int)
def token_revoke(db: str | None, token_id: int) -> None:
    """Revoke a device token: that laptop must sign in again."""
    engine = _engine(db)
    if not accounts.revoke_token(engine, token_id):
        raise accounts.AccountError(f"token: no active token {token_id}")
    _audit(engine, "revoke device token", str(token_id))
    click.echo(f"Revoked token {token_id}")


@main.command()
@db_option
def teams(db: str | None) -> None:
    """List teams and their members."""
    for name, members in accounts.list_teams(_engine(db)):
        click.echo(f"{name}: {', '.join(members) or '(nobody)'}")


@main.group("api-key")
def api_key() -> None:
    """Keys for the integration REST API (/api/v1): add, list, revoke."""


@api_key.command("add")
@db_option
@click.argument("name")
@click.option(
    "--team", "team_names", multiple=True, required=True, help="A team it may use (repeat)."
)
@click.option("--scope", type=click.Choice(apikeys.SCOPES), required=True)
@click.option(
    "--rate",
    "per_minute",
    type=int,
    default=apikeys.DEFAULT_PER_MINUTE,
    show_default=True,
    help="Requests a minute it may make.",
)
def api_key_add(
    db: str | None, name: str, team_names: tuple[str, ...], scope: str, per_minute: int
) -> None:
    """A new API key NAME for a server: limited to its teams, read or write.

    Only the key is printed on stdout (for scripts); it is shown once and the Hub
    keeps only its hash. Send it as `Authorization: Bearer tpk_...`."""
    made = apikeys.create_key(
        _engine(db),
        name,
        list(team_names),
        scope,
        f"{_system_user()} (command line)",
        per_minute=per_minute,
    )
    _audit(_engine(db), "create API key", f"{made.name} ({made.scope}, {', '.join(made.teams)})")
    click.echo(made.token)
    click.echo(
        f"API key {made.name}: {made.scope} on {', '.join(made.teams)}, "
        f"{made.per_minute} requests a minute. Shown once: keep it now.",
        err=True,
    )


@api_key.command("list")
@db_option
def api_key_list(db: str | None) -> None:
    """Every API key (never the key itself): teams, scope, when made and last used."""
    rows = [("ID", "NAME", "KEY", "SCOPE", "TEAMS", "CREATED", "LAST USED", "STATE")]
    for k in apikeys.list_keys(_engine(db)):
        rows.append(
            (
                str(k["id"]),
                str(k["name"]),
                f"{k['prefix']}...",
                str(k["scope"]),
                ", ".join(k["teams"] or []),
                str(k["created_at"])[:16],
                str(k["last_used_at"] or "-")[:16],
                "revoked" if k["revoked_at"] else "active",
            )
        )
    _table(rows)


@api_key.command("revoke")
@db_option
@click.argument("key")
def api_key_revoke(db: str | None, key: str) -> None:
    """Revoke the API key KEY (its name or id): it stops working at once."""
    name = apikeys.revoke_key(_engine(db), key)
    _audit(_engine(db), "revoke API key", name)
    click.echo(f"Revoked API key {name}")


@main.group()
def webhook() -> None:
    """Signed webhooks: tell other systems what changed on the Hub (see docs/webhooks.md)."""


@webhook.command("add")
@db_option
@click.argument("url")
@click.option(
    "--events",
    required=True,
    help="Comma-separated: interaction.created,followup.completed,... (entity.* or * for all).",
)
@click.option("--team", "team_names", multiple=True, help="Only this team's records (repeat).")
@click.option("--all-teams", is_flag=True, help="Every team's records.")
@click.option(
    "--secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signing secret, read from this file; without it one is made and printed once.",
)
@click.option("--description", default="", help="What the endpoint is for (shown in lists).")
def webhook_add(  # noqa: PLR0917 (click passes options positionally)
    db: str | None,
    url: str,
    events: str,
    team_names: tuple[str, ...],
    all_teams: bool,
    secret_file: Path | None,
    description: str,
) -> None:
    """Send signed POSTs of EVENTS to URL, from now on. Prints its id (and a made secret)."""
    if bool(team_names) == all_teams:
        raise click.UsageError("give --team NAME (repeat for several) or --all-teams")
    secret = webhooks.read_secret(secret_file) if secret_file else None
    endpoint_id, used = webhooks.add_endpoint(
        _engine(db),
        url,
        events,
        team_names=None if all_teams else list(team_names),
        secret=secret,
        created_by=f"{_system_user()} (command line)",
        description=description,
    )
    _audit(_engine(db), "add webhook", f"{endpoint_id} {url.strip()}")
    click.echo(f"Added webhook {endpoint_id} for {url.strip()}")
    if secret is None:
        click.echo(f"Signing secret (shown once, keep it with the receiver): {used}")


@webhook.command("list")
@db_option
def webhook_list(db: str | None) -> None:
    """Every endpoint: URL, events, teams, state, and its deliveries by status."""
    rows = [("ID", "URL", "EVENTS", "TEAMS", "STATE", "PENDING", "FAILED", "DELIVERED", "SECRET")]
    for e in webhooks.list_endpoints(_engine(db)):
        rows.append(
            (
                str(e.id),
                e.url,
                ",".join(e.events),
                ", ".join(e.teams) if e.teams is not None else "(every team)",
                e.state,
                str(e.pending),
                str(e.failed),
                str(e.delivered),
                f"…{e.fingerprint}",
            )
        )
    _table(rows)


def _set_state(db: str | None, endpoint_id: int, state: str, verb: str) -> None:
    webhooks.set_state(_engine(db), endpoint_id, state)
    _audit(_engine(db), f"{verb} webhook", str(endpoint_id))
    click.echo(f"Webhook {endpoint_id} {state}")


@webhook.command("pause")
@db_option
@click.argument("endpoint_id", type=int)
def webhook_pause(db: str | None, endpoint_id: int) -> None:
    """Stop sending to an endpoint; its events wait and are sent when it is resumed."""
    _set_state(db, endpoint_id, "paused", "pause")


@webhook.command("resume")
@db_option
@click.argument("endpoint_id", type=int)
def webhook_resume(db: str | None, endpoint_id: int) -> None:
    """Send to a paused endpoint again, starting with what waited."""
    _set_state(db, endpoint_id, "active", "resume")


@webhook.command("remove")
@db_option
@click.argument("endpoint_id", type=int)
def webhook_remove(db: str | None, endpoint_id: int) -> None:
    """Remove an endpoint with its delivery log."""
    webhooks.remove_endpoint(_engine(db), endpoint_id)
    _audit(_engine(db), "remove webhook", str(endpoint_id))
    click.echo(f"Removed webhook {endpoint_id}")


@webhook.command("deliveries")
@db_option
@click.argument("endpoint_id", type=int)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--attempts", "show_attempts", is_flag=True, help="Every attempt under each.")
def webhook_deliveries(
    db: str | None, endpoint_id: int, limit: int, status: str | None, show_attempts: bool
) -> None:
    """An endpoint's delivery log, newest first: event, status, attempts, last answer."""
    shown, more = webhooks.deliveries(_engine(db), endpoint_id, limit=limit, status=status)
    rows = [("DELIVERY", "EVENT", "STATUS", "TRIES", "LAST ANSWER", "NEXT TRY")]
    for d in shown:
        rows.append(
            (
                d.id,
                d.event,
                d.status,
                str(d.attempts),
                d.last_reason or "-",
                d.next_at[:19].replace("T", " ") if d.status == "pending" else "-",
            )
        )
        if show_attempts:
            for a in d.tries:
                code = str(a.code) if a.code is not None else "-"
                rows.append(("", f"  {a.at[:19].replace('T', ' ')}", code, "", a.reason, ""))
    _table(rows)
    if more:
        click.echo(f"... and {more} more (--limit to see more)")


@webhook.command("replay")
@db_option
@click.argument("delivery_id")
def webhook_replay(db: str | None, delivery_id: str) -> None:
    """Send a failed (or delivered) delivery again, with the same event id and body."""
    found = webhooks.replay(_engine(db), delivery_id)
    _audit(
        _engine(db),
        "replay webhook delivery",
        f"{found.id} ({found.event}, webhook {found.endpoint_id})",
    )
    click.echo(f"Delivery {found.id} will be sent again at the dispatcher's next pass")


@webhook.command("deliver")
@db_option
def webhook_deliver(db: str | None) -> None:
    """One pass of the dispatcher (for cron, or a Hub run without `serve`): turn new
    changes into deliveries and send what is due."""
    with webhooks.Dispatcher(_engine(db)) as dispatcher:
        done = dispatcher.run_once()
    click.echo(f"{done.delivered} delivered, {done.retrying} to retry, {done.failed} failed")


@main.group()
def enrollment() -> None:
    """List and revoke enrollment tokens (make one with `touchpoint-hub enroll`)."""


@enrollment.command("list")
@db_option
def enrollment_list(db: str | None) -> None:
    """Every enrollment token (never the token itself): for whom, until when, its state."""
    rows = [("ID", "EMAIL", "CREATED", "EXPIRES", "STATE")]
    for e in accounts.list_enrollments(_engine(db)):
        rows.append(
            (
                str(e["id"]),
                str(e["email"]),
                str(e["created_at"]),
                str(e["expires_at"]),
                accounts.enrollment_state(e),
            )
        )
    _table(rows)


@enrollment.command("revoke")
@db_option
@click.argument("enrollment_id", type=int)
def enrollment_revoke(db: str | None, enrollment_id: int) -> None:
    """Revoke an enrollment token that has not been used: it signs in no laptop."""
    engine = _engine(db)
    if not accounts.revoke_enrollment(engine, enrollment_id):
        raise accounts.AccountError(f"enrollment: no unused token {enrollment_id}")
    _audit(engine, "revoke enrollment token", str(enrollment_id))
    click.echo(f"Revoked enrollment token {enrollment_id}")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


def _import_old_audit_file(engine: Engine) -> None:
    """Bring the audit.jsonl of a Hub from before the audit table into it, once."""
    path = audit.old_file()
    try:
        count = audit.import_old_file(engine, path)
    except (OSError, SQLAlchemyError) as exc:
        log.warning("old audit log not imported: %s", exc)
        click.echo(f"warning: the old audit log {path} was not imported: {exc}", err=True)
        return
    if count:
        click.echo(f"Imported {count} audit entries from {path} (kept as {path.name}.imported)")


def _table(rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, the header first."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


main.add_command(report_group)
main.add_command(export_group)
main.add_command(connector_group)

if __name__ == "__main__":  # pragma: no cover
    main()
