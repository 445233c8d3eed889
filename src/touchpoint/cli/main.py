"""The ``touchpoint`` command: every use case of the app, for scripts and terminals.

Commands live in modules by area; each module in :data:`COMMAND_MODULES` has a
``register(group)`` function that adds its commands. Modules import services
inside their commands, so a light command (``search``) never loads heavy ones
(Qt, spreadsheets, vCards, fuzzy matching).
"""

from __future__ import annotations

import importlib
import logging

import click

from touchpoint import __version__
from touchpoint.cli.runtime import TouchpointGroup, state

log = logging.getLogger("touchpoint.cli")

# One line per area: a new module only needs a ``register(group)`` function.
COMMAND_MODULES: list[str] = [
    "touchpoint.cli.data",
    "touchpoint.cli.transfer",
    "touchpoint.cli.customers",
    "touchpoint.cli.activity",
    "touchpoint.cli.interaction",
    "touchpoint.cli.config",
    "touchpoint.cli.sync",
    "touchpoint.cli.reports",
    "touchpoint.cli.provision",
    "touchpoint.cli.diagnostics",
    "touchpoint.cli.policy",
    "touchpoint.cli.encryption",
]


@click.group(
    "touchpoint",
    cls=TouchpointGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    envvar="TOUCHPOINT_DATA_DIR",
    help="Keep the database, settings and logs in this folder (or TOUCHPOINT_DATA_DIR); "
    "also taken after the command.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log in detail; show tracebacks.")
@click.version_option(__version__, "--version", prog_name="touchpoint")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, verbose: bool) -> None:
    """Touchpoint, the offline-first CRM for field reps.

    With no command, opens the desktop window. Dates accept ISO (2026-11-24,
    "2026-11-24 10:30") and what people type: today, tomorrow, +3d, +2w, fri,
    "next monday", "fri 10:00". Errors exit with code 1 and write nothing.
    """
    from touchpoint.context import resolve_context
    from touchpoint.logs import setup_logging

    current = state(ctx)
    current.data_dir = data_dir
    current.verbose = verbose
    # The folder, the settings and the policy, read once for the command (or the window).
    context = current.resolved = resolve_context(data_dir)
    setup_logging(context.paths.log_file, logging.DEBUG if verbose else logging.INFO)
    if not verbose:  # the policy's or the user's level, once a log file takes the messages
        logging.getLogger().setLevel(context.log_level)
    problem = context.policy.problem
    if problem:  # IT must hear about a broken policy file; the command still runs
        click.echo(f"warning: {problem}", err=True)
    if ctx.invoked_subcommand is None:
        _open_window(ctx)


def _open_window(ctx: click.Context) -> None:
    """The desktop window; imported here so no other command ever loads Qt."""
    try:
        from touchpoint.ui.app import run
    except ImportError as exc:
        log.info("desktop window unavailable: %s", exc)
        click.echo(
            "The desktop window is not installed here; the commands below work without it.\n",
            err=True,
        )
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.exit(run(state(ctx).context))


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(cli)


_register_all()


def main() -> None:
    """The console script's entry point."""
    cli.main(prog_name="touchpoint")
