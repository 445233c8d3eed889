"""``touchpoint-hub``: set up and run a Touchpoint Hub."""

from __future__ import annotations

import os
import sys

import click

from touchpoint.hub import accounts
from touchpoint.hub.db import DB_ENV, db_url, make_engine, normalise_url, upgrade
from touchpoint.hub.report_cli import report_group

db_option = click.option(
    "--db",
    "db",
    envvar=DB_ENV,
    default=None,
    help=f"Database URL (sqlite:///hub.sqlite3 or postgresql://...); default ${DB_ENV}.",
)


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url(db))
    upgrade(engine)
    return engine


@click.group()
def main() -> None:
    """Touchpoint Hub: the server Touchpoint laptops sync with."""


@main.command()
@db_option
def init(db: str | None) -> None:
    """Create or upgrade the Hub's database."""
    _engine(db)
    click.echo(f"Hub database ready: {_safe(db_url(db))}")


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
    """Serve the sync API (HTTPS when given a certificate and key)."""
    import uvicorn

    url = db_url(db)
    if workers > 1 and url.startswith("sqlite"):
        raise click.UsageError("--workers above 1 needs PostgreSQL (--db postgresql://...)")
    _engine(url)
    os.environ[DB_ENV] = url  # each worker builds its app from the environment
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


@user.command("add")
@db_option
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--team", "team_names", multiple=True, help="Team name (repeat for several).")
def user_add(db: str | None, email: str, role: str, team_names: tuple[str, ...]) -> None:
    """Add a user; the password is prompted, or read from stdin when it is not a terminal."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        accounts.add_user(_engine(db), email, password, role, list(team_names))
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
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
    try:
        now_role, now_teams = accounts.edit_user(
            _engine(db), email, role=role, add_teams=list(add), remove_teams=list(remove)
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{email}: {now_role}, teams {', '.join(now_teams) or '(none)'}")


@user.command("disable")
@db_option
@click.argument("email")
def user_disable(db: str | None, email: str) -> None:
    """Disable a user: their tokens stop working at once."""
    try:
        accounts.disable_user(_engine(db), email)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
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
    try:
        lifetime = accounts.parse_lifetime(expires)
        made = accounts.create_enrollment(_engine(db), email, lifetime)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
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
    for t in accounts.list_tokens(_engine(db)):
        state = "revoked" if t["revoked_at"] else "active"
        click.echo(
            f"{t['id']}\t{t['email']}\t{t['device_name'] or t['device_id']}\t"
            f"{t['created_at']}\t{t['last_used_at'] or '-'}\t{state}"
        )


@token.command("revoke")
@db_option
@click.argument("token_id", type=int)
def token_revoke(db: str | None, token_id: int) -> None:
    if not accounts.revoke_token(_engine(db), token_id):
        raise click.ClickException(f"token: no active token {token_id}")
    click.echo(f"Revoked token {token_id}")


@main.command()
@db_option
def teams(db: str | None) -> None:
    """List teams and their members."""
    for name, members in accounts.list_teams(_engine(db)):
        click.echo(f"{name}: {', '.join(members) or '(nobody)'}")


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    url = normalise_url(url)
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


main.add_command(report_group)

if __name__ == "__main__":  # pragma: no cover
    main()
