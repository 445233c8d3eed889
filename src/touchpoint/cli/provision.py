"""``touchpoint provision``: set a laptop up from a software-distribution script.

Never prompts. Exit codes: 0 done, 1 bad input (each problem names its option),
2 the Hub could not be reached or refused (the reason is printed).
"""

from __future__ import annotations

from typing import Any, NoReturn

import click

from touchpoint.cli.output import emit_json
from touchpoint.cli.runtime import error_lines, open_workspace, state

EXIT_HUB = 2
TOKEN_ENV = "TOUCHPOINT_ENROLLMENT_TOKEN"


class _ScriptCommand(click.Command):
    """A usage mistake (a missing --server, an unknown option) exits 1 like any bad input,
    so a script tells "fix the command" (1) from "the Hub is down" (2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = 1
            raise


def _bad_input(exc: Any) -> NoReturn:
    for line in error_lines(exc):
        click.echo(line, err=True)
    raise click.exceptions.Exit(1)


def _hub_failed(message: str) -> NoReturn:
    click.echo(f"error: hub: {message}", err=True)
    raise click.exceptions.Exit(EXIT_HUB)


@click.command(cls=_ScriptCommand)
@click.option("--server", required=True, help="The Hub's address, e.g. https://hub.example.com")
@click.option("--email", help="The rep's Hub account (the window asks for its password).")
@click.option(
    "--enrollment-token",
    envvar=TOKEN_ENV,
    help=f"A one-time token from `touchpoint-hub enroll` (or ${TOKEN_ENV}): signs the "
    "laptop in with no password.",
)
@click.option("--ca-bundle", help="A corporate CA bundle (PEM) to verify the Hub with.")
@click.option("--display-name", help="The rep's name as shown in the app.")
@click.option("--timezone", help="An IANA time zone, e.g. Europe/Berlin.")
@click.option("--no-demo", is_flag=True, help="Do not offer demo data at the first start.")
@click.option(
    "--allow-http",
    is_flag=True,
    help="Accept a plain http:// Hub on another computer (the token travels readable).",
)
@click.option("--sync", "sync_now", is_flag=True, help="Sync once after signing in.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def provision(  # noqa: PLR0917 (click passes options positionally)
    server: str,
    email: str | None,
    enrollment_token: str | None,
    ca_bundle: str | None,
    display_name: str | None,
    timezone: str | None,
    no_demo: bool,
    allow_http: bool,
    sync_now: bool,
    as_json: bool,
) -> None:
    """Set this laptop up for a rep, silently: settings, the Hub, the database.

    With --enrollment-token the laptop signs in at once (the device token goes to
    the OS keyring); without it, the Hub and email are recorded and the window asks
    for the password at its first start. Running it again changes nothing.
    """
    from touchpoint.errors import TouchpointError, ValidationError
    from touchpoint.services import provisioning
    from touchpoint.sync.errors import SyncError

    try:
        request = provisioning.check_request(
            server=server,
            email=email,
            enrollment_token=enrollment_token,
            ca_bundle=ca_bundle,
            display_name=display_name,
            timezone=timezone,
            demo=not no_demo,
            allow_http=allow_http,
            locked_server=provisioning.locked_hub_address(state().context.policy),
            locked=provisioning.locked_settings(state().context.policy),
            policy=state().context.policy,
        )
    except TouchpointError as exc:
        _bad_input(exc)
    with open_workspace() as ws:
        try:
            result = provisioning.provision(ws, request)
        except SyncError as exc:
            _hub_failed(exc.message)
        except TouchpointError as exc:
            _bad_input(exc)
        synced = None
        if sync_now:
            if not result.signed_in:
                _bad_input(
                    ValidationError(
                        "--sync", "needs --enrollment-token (or a laptop already signed in)"
                    )
                )
            synced = provisioning.first_sync(ws)
    report: dict[str, Any] = {
        "server": result.server,
        "email": result.email,
        "signed_in": result.signed_in,
        "enrolled": result.enrolled,
        "settings_file": result.settings_file,
        "database": result.database,
        "schema_version": result.schema_version,
        "demo_offered": request.demo,
    }
    if synced is not None:
        report["sync"] = synced.status
        report["pulled"] = synced.pulled
    if as_json:
        emit_json(report)
    else:
        who = result.email or "(the rep types their email at first start)"
        click.echo(f"Hub: {result.server}, account: {who}")
        if result.enrolled:
            click.echo("Signed in: the device token is kept in the OS keyring.")
        elif result.signed_in:
            click.echo("Already signed in to this Hub.")
        else:
            click.echo("Not signed in: the window asks for the password at its first start.")
        click.echo(f"Database ready (schema {result.schema_version}): {result.database}")
        if synced is not None and synced.status in ("done", "conflicts"):
            click.echo(f"First sync done: {synced.pulled} change(s) received.")
    if synced is not None and synced.status not in ("done", "conflicts"):
        _hub_failed(f"the first sync did not finish ({synced.status}): {synced.message}")


def register(group: click.Group) -> None:
    group.add_command(provision)
