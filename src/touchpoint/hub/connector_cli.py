"""``touchpoint-hub connector``: connect the Hub to another system (BottleCRM first)."""

from __future__ import annotations

import logging
import time

import click
from sqlalchemy import Engine

from touchpoint.hub.cli_audit import audit_command
from touchpoint.hub.connectors import core
from touchpoint.hub.db import DB_ENV, db_url, open_hub

log = logging.getLogger("touchpoint.hub.connector")

db_option = click.option(
    "--db",
    "db",
    envvar=DB_ENV,
    default=None,
    metavar="URL",
    help=f"The Hub's database (as for every touchpoint-hub command; default ${DB_ENV}).",
)


def _engine(db: str | None) -> Engine:
    return open_hub(db_url(db))


@click.group("connector")
def connector_group() -> None:
    """Connect the Hub to a CRM of record (BottleCRM): its accounts and contacts come in,
    Touchpoint's interactions and follow-ups go out."""


@connector_group.command("add")
@click.argument("kind", type=click.Choice(core.KINDS))
@click.option("--url", required=True, help="The CRM's address, e.g. https://crm.example.com")
@click.option(
    "--token-file",
    required=True,
    type=click.Path(dir_okay=False),
    help="A file (readable by its owner only) holding the CRM's access token; the Hub "
    "keeps the file's path and reads it at each run, never a copy of the token.",
)
@click.option("--team", required=True, help="The Hub team the CRM's customers belong to.")
@click.option("--name", default=None, help="The connector's name (default: the kind).")
@db_option
def add(  # noqa: PLR0917 (click passes options positionally)
    kind: str, url: str, token_file: str, team: str, name: str | None, db: str | None
) -> None:
    """Register a connector and the Hub account it writes as (nobody can sign in as it)."""
    engine = _engine(db)
    found = core.add_connector(
        engine, kind, name=name or kind, url=url, token_file=token_file, team=team
    )
    audit_command(engine, "add connector", f"{found.name} ({kind}, {found.url}, team {team})")
    click.echo(
        f"Added connector {found.name}: {found.url}, team {found.team}, writes as "
        f"{found.email}; run it with `touchpoint-hub connector run {found.name}`"
    )


def _names(db: str | None, name: str | None) -> list[core.Connector]:
    engine = _engine(db)
    if name:
        return [core.get_connector(engine, name)]
    found = core.list_connectors(engine)
    if not found:
        raise click.UsageError("no connector yet: add one with `touchpoint-hub connector add`")
    return found


def _run_all(db: str | None, name: str | None) -> bool:
    from touchpoint.hub.connectors import bottlecrm

    ok = True
    engine = _engine(db)
    for c in _names(db, name):
        result = bottlecrm.run_once(engine, c)
        counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "no changes"
        click.echo(f"{c.name}: {counts}")
        for error in result.errors:
            click.echo(f"{c.name}: {error}", err=True)
        ok = ok and result.ok
    return ok


@connector_group.command("run")
@click.argument("name", required=False)
@db_option
def run(name: str | None, db: str | None) -> None:
    """One pass both ways (for cron); exit code 1 when the CRM could not be reached.
    What could not be delivered waits in the connector's list and is retried next run."""
    if not _run_all(db, name):
        raise SystemExit(1)


@connector_group.command("serve")
@click.argument("name", required=False)
@click.option("--every", default=60, show_default=True, help="Seconds between passes.")
@db_option
def serve(name: str | None, every: int, db: str | None) -> None:
    """Run passes continuously until stopped (Ctrl+C or SIGTERM)."""
    if every < 1:
        raise click.BadParameter("at least 1 second", param_hint="--every")
    from touchpoint.errors import TouchpointError

    try:
        while True:
            try:
                _run_all(db, name)
            except TouchpointError as exc:
                # One bad pass (a token file gone, the database busy) is said, and the
                # next pass tries again.
                log.warning("connector pass failed: %s", exc)
                click.echo(f"error: {exc}", err=True)
            time.sleep(every)
    except KeyboardInterrupt:
        click.echo("stopped")


@connector_group.command("status")
@click.argument("name", required=False)
@db_option
def status(name: str | None, db: str | None) -> None:
    """Each connector's last run, what it moved, what waits and the dead letters."""
    engine = _engine(db)
    for c in _names(db, name):
        click.echo(f"{c.name} ({c.kind}) {c.url}, team {c.team}, writes as {c.email}")
        click.echo(
            f"  last run: {c.last_run_at or 'never'}; last good run: {c.last_ok_at or 'never'}"
        )
        if c.last_error:
            click.echo(f"  last error: {c.last_error}")
        counts = ", ".join(f"{v} {k}" for k, v in sorted((c.last_counts or {}).items()))
        click.echo(f"  last run moved: {counts or 'nothing'}")
        if not core.token_mode_ok(c.token_file):
            click.echo(f"  warning: token file {c.token_file} missing or readable by others")
        failed = core.failures(engine, c.name)
        waiting = [f for f in failed if not f.dead]
        dead = [f for f in failed if f.dead]
        click.echo(f"  waiting to be retried: {len(waiting)}; dead letters: {len(dead)}")
        shown = dead[:20]
        for f in shown:
            click.echo(
                f"    {f.direction} {f.entity} {f.record_id}: {f.reason} "
                f"({f.attempts} tries, last {f.last_failed_at})"
            )
        if len(dead) > len(shown):
            click.echo(f"    … and {len(dead) - len(shown)} more")


@connector_group.command("retry")
@click.argument("name")
@db_option
def retry(name: str, db: str | None) -> None:
    """Put the dead letters back in the queue: the next run tries them again."""
    engine = _engine(db)
    n = core.retry_dead(engine, name)
    audit_command(engine, "retry connector dead letters", f"{name}: {n}")
    click.echo(f"{name}: {n} dead letters will be tried again at the next run")
