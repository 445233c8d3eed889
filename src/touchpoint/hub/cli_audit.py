"""An administrative action taken with ``touchpoint-hub``, into the audit log the console
shows: shared by the Hub's command groups."""

from __future__ import annotations

import logging

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from touchpoint.hub.console import audit

log = logging.getLogger("touchpoint.hub.cli")


def system_user() -> str:
    """Who ran the command, as the system knows them (the command line has no Hub account)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def audit_command(engine: Engine, action: str, target: str) -> None:
    """Record ``action`` on ``target`` as the system user who ran the command."""
    try:
        audit.record(engine, f"{system_user()} (command line)", action, target, via="cli")
    except SQLAlchemyError as exc:
        # The action is done and stays done; the admin is told the log missed it.
        log.warning("audit log not written: %s", exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        click.echo(f"warning: done, but not written to the audit log: {reason}", err=True)
