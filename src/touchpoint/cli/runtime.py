"""What every command shares: the global options, the open workspace, error mapping.

A command decorated with :func:`with_workspace` gets an open
:class:`~touchpoint.storage.workspace.Workspace` as its first argument; it is
closed when the command ends, whatever happens.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from touchpoint.errors import TouchpointError, ValidationErrors

if TYPE_CHECKING:
    from touchpoint.context import AppContext
    from touchpoint.paths import AppPaths
    from touchpoint.storage.workspace import Workspace

log = logging.getLogger("touchpoint.cli")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """The global options and the start-up context, kept on click's context object."""

    data_dir: str | None = None
    verbose: bool = False
    # Tests hand in a hand-moved clock; people always run on the real one.
    clock: Callable[[], datetime] | None = None
    auto_backup: bool = True
    # Resolved once by the ``touchpoint`` group from --data-dir, the environment and the
    # policy; every command reads its folder, settings and policy from here.
    resolved: AppContext | None = None

    @property
    def context(self) -> AppContext:
        if self.resolved is None:  # a command invoked without the group (never in use)
            from touchpoint.context import resolve_context

            self.resolved = resolve_context(self.data_dir)
        return self.resolved

    @property
    def paths(self) -> AppPaths:
        return self.context.paths

    @property
    def log_file(self) -> Path:
        return self.paths.log_file


def state(ctx: click.Context | None = None) -> CliState:
    ctx = ctx or click.get_current_context()
    return ctx.ensure_object(CliState)


@contextmanager
def open_workspace(
    ctx: click.Context | None = None, *, daily_backup: bool = True
) -> Iterator[Workspace]:
    from touchpoint.storage.workspace import Workspace, utc_now

    current = state(ctx)
    ws = Workspace.open(
        current.context,
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


def read_text(value: str | None) -> str | None:
    """``-`` means: read the text from stdin (long notes, pasted mail)."""
    if value == "-":
        return sys.stdin.read()
    return value


def error_lines(exc: TouchpointError) -> list[str]:
    """One ``error:`` line per problem: a form with three bad fields gives three lines."""
    if isinstance(exc, ValidationErrors):
        return [f"error: {e.message}" for e in exc.errors] or [f"error: {exc.message}"]
    return [f"error: {exc.message}"]


def fail(message: str) -> NoReturn:
    """Stop the command with ``error: message`` on stderr and exit code 1."""
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(1)


def _show_usage_error(exc: click.UsageError, fallback: str, file: Any = None) -> None:
    """A usage mistake as one ``error:`` line and one line saying where help is, like
    every other error (click's own show prints the usage line and a blank line too)."""
    message = " ".join(exc.format_message().split())
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    command = exc.ctx.command_path if exc.ctx is not None else fallback
    click.echo(f"error: {message}", err=True)
    click.echo(f"see: {command} --help", err=True)


COMMAND_PATH = "touchpoint.command_path"  # ctx.meta: the command the arguments name


def _one_line(exc: click.UsageError, ctx: click.Context | None = None) -> click.UsageError:
    # click's main() calls exc.show(): this instance shows itself the Touchpoint way. Some
    # parse errors carry no context; the command the arguments named stands in for it.
    fallback = (ctx.meta.get(COMMAND_PATH) if ctx is not None else None) or "touchpoint"
    exc.show = functools.partial(_show_usage_error, exc, fallback)  # type: ignore[method-assign]
    return exc


def _value_options(command: click.Command, ctx: click.Context) -> set[str]:
    """The option names of ``command`` that take a value (the next argument)."""
    return {
        name
        for param in command.get_params(ctx)
        if isinstance(param, click.Option) and not (param.is_flag or param.count)
        for name in param.opts
    }


def hoist_data_dir(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``touchpoint status --data-dir D`` means ``touchpoint --data-dir D status``: the
    option is taken out from after the command, wherever it is, and put just before
    the command (so that, given twice, the later one wins as for any option).

    The command's own options are walked so that a value that merely looks like the
    option (``--notes --data-dir``) stays a value; after ``--`` nothing is an option."""
    out: list[str] = []
    front: list[str] = []
    command: click.Command = group
    at = 0  # where the command's name is in ``out``
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if command is not group and (arg == "--data-dir" or arg.startswith("--data-dir=")):
            if "=" in arg:
                front.append(arg)
                i += 1
            else:
                front.extend(args[i : i + 2])
                i += 2
            continue
        out.append(arg)
        i += 1
        if arg.startswith("-"):
            if arg in _value_options(command, ctx) and i < len(args):
                out.append(args[i])
                i += 1
            continue
        if isinstance(command, click.Group):
            sub = command.get_command(ctx, arg)
            if sub is not None:
                if command is group:
                    at = len(out) - 1
                command = sub
                ctx.meta[COMMAND_PATH] = f"{ctx.meta.get(COMMAND_PATH) or 'touchpoint'} {arg}"
    return out[:at] + front + out[at:] if command is not group else out


class TouchpointGroup(click.Group):
    """The root group: maps Touchpoint's typed errors and unexpected ones to exit code 1.

    Usage errors exit with code 2, as one ``error:`` line and one ``see:`` line. An
    unexpected exception is logged with its traceback; the terminal gets one line
    naming the log file. ``--data-dir`` is taken after any command too.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_data_dir(self, ctx, list(args))
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _one_line(exc) from exc.__cause__

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc, ctx) from exc.__cause__
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
