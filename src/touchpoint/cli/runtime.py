"""What every command shares: the global options, the open workspace, error mapping.

A command decorated with :func:`with_workspace` gets an open
:class:`~touchpoint.services.workspace.Workspace` as its first argument; it is
closed when the command ends, whatever happens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from touchpoint.errors import TouchpointError, ValidationErrors

if TYPE_CHECKING:
    from touchpoint.services.workspace import Workspace

log = logging.getLogger("touchpoint.cli")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """The global options, kept on click's context object."""

    data_dir: str | None = None
    verbose: bool = False
    # Tests hand in a hand-moved clock; people always run on the real one.
    clock: Callable[[], datetime] | None = None
    auto_backup: bool = True

    @property
    def log_file(self) -> Path:
        from touchpoint.paths import resolve_paths

        return resolve_paths(self.data_dir).log_file


def state(ctx: click.Context | None = None) -> CliState:
    ctx = ctx or click.get_current_context()
    return ctx.ensure_object(CliState)


@contextmanager
def open_workspace(
    ctx: click.Context | None = None, *, daily_backup: bool = True
) -> Iterator[Workspace]:
    from touchpoint.services.workspace import Workspace, utc_now

    current = state(ctx)
    ws = Workspace.open(
        current.data_dir,
        auto_backup=current.auto_backup and daily_backup,
        clock=current.clock or utc_now,
    )
    try:
        yield ws
    finally:
        ws.close()


def with_workspace(fn: F) -> F:
    """Open the workspace for the command and pass it as the first argument.

    The day's rotating backup is taken first when it is due (before a write)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with open_workspace() as ws:
            return fn(ws, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def with_workspace_to_read(fn: F) -> F:
    """:func:`with_workspace` for commands that only read: no daily backup first, so a
    quick ``touchpoint search`` on a big database never waits for a copy of it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with open_workspace(daily_backup=False) as ws:
            return fn(ws, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def error_lines(exc: TouchpointError) -> list[str]:
    """One ``error:`` line per problem: a form with three bad fields gives three lines."""
    if isinstance(exc, ValidationErrors):
        return [f"error: {e.message}" for e in exc.errors] or [f"error: {exc.message}"]
    return [f"error: {exc.message}"]


def fail(message: str) -> NoReturn:
    """Stop the command with ``error: message`` on stderr and exit code 1."""
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)


class TouchpointGroup(click.Group):
    """The root group: maps Touchpoint's typed errors and unexpected ones to exit code 1.

    Usage errors stay click's (exit code 2). An unexpected exception is logged
    with its traceback; the terminal gets one line naming the log file.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except TouchpointError as exc:
            log.info("command failed: %s (%s)", exc.message, exc.kind)
            for line in error_lines(exc):
                click.echo(line, err=True)
            ctx.exit(1)
        except BrokenPipeError:
            # `touchpoint search x | head`: the reader left; nothing to report.
            ctx.exit(1)
        except Exception as exc:
            log.exception("unexpected error in %s", ctx.invoked_subcommand or "touchpoint")
            current = state(ctx)
            if current.verbose:
                import traceback

                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(
                f"error: something went wrong ({type(exc).__name__}); "
                f"the details are in {current.log_file}",
                err=True,
            )
            ctx.exit(1)
