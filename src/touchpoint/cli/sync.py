"""``touchpoint login / logout / sync / conflicts``: this laptop and its Touchpoint Hub.

``sync`` runs one cycle headless and exits 0 when everything is in sync, 2 when it
synced but left conflicts to look at, 3 when changes typed here are refused by the Hub
or still waiting (``touchpoint status`` lists them), 1 on an error: scripts and cron
can use it.
"""

from __future__ import annotations

import sys

import click

from touchpoint.cli.output import emit_json, table
from touchpoint.cli.runtime import fail, with_workspace
from touchpoint.domain.values import short_id

EXIT_CONFLICTS = 2
# Synced, but changes typed here are refused or still waiting: not in sync.
EXIT_ATTENTION = 3


def register(group: click.Group) -> None:
    group.add_command(login)
    group.add_command(logout)
    group.add_command(sync)
    group.add_command(conflicts)


@click.command()
@click.option(
    "--server",
    help="The Hub's address, e.g. https://hub.example.com (default: the policy's Hub).",
)
@click.option("--email", required=True)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    help="A corporate CA bundle to verify the Hub's certificate with.",
)
@click.option(
    "--allow-http",
    is_flag=True,
    help="Send the password over plain http:// to another computer (a trusted network only).",
)
@with_workspace
def login(  # type: ignore[no-untyped-def]
    ws, server: str | None, email: str, ca_bundle: str | None, allow_http: bool
) -> None:
    """Sign in to a Hub; the password is prompted, or read from stdin when piped.

    Plain http:// is refused for any computer but this one (localhost), unless
    --allow-http or the machine policy's hub.allow_http."""
    from touchpoint.policy import check_hub_server
    from touchpoint.sync.engine import sign_in
    from touchpoint.sync.hub_address import PlainHttpRefused, check_hub_address

    hub = ws.policy.hub_policy()
    server = server or (hub.server if hub else None)
    if not server:
        fail("server: give --server, the Hub's address (e.g. https://hub.example.com)")
    check_hub_server(server, ws.policy)  # before the password is asked for
    try:
        check_hub_address(server, allow_http=allow_http, loaded=ws.policy)
    except PlainHttpRefused as exc:
        fail(f"{exc.message}, or give --allow-http on a network you trust")

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("password: empty")
    account = sign_in(ws, server, email, password, ca_bundle=ca_bundle)
    click.echo(f"Signed in to {account.server} as {account.email}.")


@click.command()
@click.option("--force", is_flag=True, help="Sign out although changes wait to be sent.")
@with_workspace
def logout(ws, force: bool) -> None:  # type: ignore[no-untyped-def]
    """Sign out of the Hub. Changes not yet sent stay on this laptop."""
    from touchpoint.sync.engine import sign_out, waiting_count

    waiting = waiting_count(ws)
    if waiting and not force:
        fail(
            f"{waiting} change(s) wait to be sent to the Hub; run `touchpoint sync` first, "
            "or sign out with --force (they stay queued here)"
        )
    account = sign_out(ws)
    click.echo(f"Signed out of {account.server}." if account else "Not signed in.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Compare this laptop's records with the Hub's afterwards, and repair what differs "
    "(done once a day anyway).",
)
@with_workspace
def sync(ws, as_json: bool, check: bool) -> None:  # type: ignore[no-untyped-def]
    """Sync once with the Hub: send waiting changes, fetch everyone else's."""
    from touchpoint.sync.engine import SyncEngine, SyncProgress

    def progress(p: SyncProgress) -> None:
        if not as_json and sys.stderr.isatty() and p.total:
            click.echo(f"\r{p.phase}: {p.done}/{p.total}", err=True, nl=False)

    engine = SyncEngine.for_workspace(ws, progress=progress, check=True if check else None)
    try:
        result = engine.run()
    finally:
        engine.client.close()
    _catch_up_index(ws, quiet=as_json)
    for notice in result.notices:
        click.echo(notice, err=as_json)
    if as_json:
        emit_json(result.__dict__ | {"in_sync": result.in_sync})
    elif result.status in ("done", "conflicts"):
        click.echo(
            f"Synced: {result.pushed} sent, {result.pulled} received"
            + (f", {result.rejected} refused by the Hub" if result.rejected else "")
            + (f", {result.waiting} still waiting" if result.waiting else "")
            + "."
        )
        if result.new_conflicts:
            click.echo(f"{result.new_conflicts} conflict(s): see `touchpoint conflicts`.")
        if result.refused or result.waiting or result.set_aside:
            parts = [
                f"{n} {what}"
                for n, what in (
                    (result.waiting, "waiting to be accepted"),
                    (result.refused, "refused by the Hub"),
                    (result.set_aside, "received but set aside here"),
                )
                if n
            ]
            click.echo(f"Needs attention: {', '.join(parts)}; see `touchpoint status`.")
    if result.status not in ("done", "conflicts"):
        words = {
            "needs_sign_in": "sign in again with `touchpoint login`",
            "needs_update": "update Touchpoint",
            "offline": "offline",
            "server_error": "the Hub failed",
            "busy": "another sync is running",
            "cancelled": "cancelled",
        }
        fail(f"{words.get(result.status, result.status)}: {result.message}")
    if not result.in_sync:
        raise click.exceptions.Exit(EXIT_ATTENTION)
    if result.status == "conflicts":
        raise click.exceptions.Exit(EXIT_CONFLICTS)


def _catch_up_index(ws, *, quiet: bool) -> None:  # type: ignore[no-untyped-def]
    """Index for search what a big pull brought (or an earlier catch-up left), whatever
    became of the sync itself: the records are here either way."""
    from touchpoint.services.search import catch_up_index

    shown = not quiet and sys.stderr.isatty()
    printed = False

    def progress(done: int, total: int) -> None:
        nonlocal printed
        if shown:
            printed = True
            click.echo(f"\rindexing for search: {done * 100 // total}%", err=True, nl=False)

    catch_up_index(ws, progress=progress)
    if printed:
        click.echo("", err=True)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "everyone", is_flag=True, help="Also conflicts between colleagues.")
@click.pass_context
def conflicts(ctx: click.Context, as_json: bool, everyone: bool) -> None:
    """Values that lost a concurrent edit; `conflicts restore ID` puts one back."""
    if ctx.invoked_subcommand is not None:
        return
    from touchpoint.cli.output import jsonable
    from touchpoint.cli.runtime import open_workspace
    from touchpoint.services.sync_conflicts import conflict_list

    with open_workspace(ctx) as ws:
        listed = conflict_list(ws, everyone=everyone)
    found = listed.conflicts
    if as_json:  # the stored values for scripts; the words are for people
        emit_json([{k: v for k, v in jsonable(c).items() if k != "words"} for c in found])
        return
    if not found:
        click.echo("No conflicts." if listed.synced else "Not synced yet: no conflicts to show.")
        return
    rows = []
    for c in found:
        words = c.words
        assert words is not None  # conflict_list fills them
        rows.append(
            (
                short_id(c.id),
                c.record_name or short_id(c.record_id),
                words.field,
                _short(words.kept),
                _short(words.lost),
                f"{c.loser_author}, {words.lost_when}",
            )
        )
    click.echo(table(["id", "record", "field", "kept", "lost", "lost by"], rows))
    for c in found:
        if c.words and c.words.sentence:
            click.echo(
                f"{c.words.sentence}: `touchpoint conflicts restore {short_id(c.id)}` "
                "brings it back."
            )


@conflicts.command("restore")
@click.argument("conflict_id")
@with_workspace
def restore(ws, conflict_id: str) -> None:  # type: ignore[no-untyped-def]
    """Put the losing value back (it syncs like any edit)."""
    from touchpoint.services.sync_conflicts import restore_conflict

    done = restore_conflict(ws, conflict_id)
    click.echo(f"Restored {done.value.field} of {done.value.record_name or done.value.record_id}.")


def _short(text: str, width: int = 60) -> str:
    """A value in words (from the services' conflict_words), clipped for a table cell."""
    return text if len(text) <= width else text[: width - 1] + "…"
