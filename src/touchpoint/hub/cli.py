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
from touchpoint.hub import accounts
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
    create_hub(url).dispose()
    click.echo(f"Hub database ready: {safe_url(url)}")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False))
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False))
def serve(  # noqa: PLR0917 (click passes options positionally)
    db: str | None,
    host: str,
    port: int,
    workers: int,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Serve the sync API (HTTPS when given a certificate and key).

    Upgrades the schema of an existing Hub database first; a missing one is refused
    (run `touchpoint-hub init`)."""
    import uvicorn

    url = db_url(db)
    if workers > 1 and url.startswith("sqlite"):
        raise click.UsageError("--workers above 1 needs PostgreSQL (--db postgresql://...)")
    try:
        open_hub(url).dispose()
    except HubNeedsUpgrade:
        create_hub(url).dispose()  # serve may bring an older Hub to this version's schema
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
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    accounts.add_user(engine, email, password, role, list(team_names))
    _audit(
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
    now_role, now_teams = accounts.edit_user(
        _engine(db), email, role=role, add_teams=list(add), remove_teams=list(remove)
    )
    _audit(
        "edit user",
        f"{email.strip().lower()}: {now_role}, teams {', '.join(now_teams) or '(none)'}",
    )
    click.echo(f"{email}: {now_role}, teams {', '.join(now_teams) or '(none)'}")


@user.command("disable")
@db_option
@click.argument("email")
def user_disable(db: str | None, email: str) -> None:
    """Disable a user: their tokens stop working at once."""
    accounts.disable_user(_engine(db), email)
    _audit("disable user", email.strip().lower())
    click.echo(f"Disabled {email}")


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
    made = accounts.create_enrollment(_engine(db), email, lifetime)
    _audit("create enrollment token", made.email)
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
    if not accounts.revoke_token(_engine(db), token_id):
        raise accounts.AccountError(f"token: no active token {token_id}")
    _audit("revoke device token", str(token_id))
    click.echo(f"Revoked token {token_id}")


@main.command()
@db_option
def teams(db: str | None) -> None:
    """List teams and their members."""
    for name, members in accounts.list_teams(_engine(db)):
        click.echo(f"{name}: {', '.join(members) or '(nobody)'}")


def _audit(action: str, target: str) -> None:
    """An administrative action into the audit log the console shows, as the system user
    who ran the command (the command line has no Hub account)."""
    import getpass

    try:
        who = getpass.getuser()
    except (OSError, KeyError):
        who = "unknown"
    try:
        audit.record(f"{who} (command line)", action, target, via="cli")
    except OSError as exc:
        # The action is done and stays done; the admin is told the log missed it.
        log.warning("audit log not written: %s", exc)
        click.echo(
            f"warning: done, but not written to the audit log {audit.audit_path()}: "
            f"{exc.strerror or exc}",
            err=True,
        )


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
