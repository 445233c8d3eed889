"""One logged interaction: show it whole, correct it, delete it, bring it back.

An interaction is named by its id, or the start or end of it (6 characters or more),
as every output shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from touchpoint.cli.output import clip, emit_json, facts, heading, local_time, style, table
from touchpoint.cli.runtime import with_workspace, with_workspace_to_read
from touchpoint.domain.values import short_id

if TYPE_CHECKING:
    from touchpoint.services.records import InteractionDetail, InteractionView
    from touchpoint.storage.workspace import Workspace

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
HIDDEN = frozenset({"updated_at", "updated_by", "created_at", "created_by"})


@click.group()
def interaction() -> None:
    """Show, edit, delete or restore one logged interaction (by its id or part of it)."""


def _named(view: InteractionView) -> str:
    where = f" at {view.customer_name}" if view.customer_name else ""
    return f"{view.kind}{where}"


def _detail_json(d: InteractionDetail) -> dict[str, Any]:
    return {
        "interaction": d.interaction,
        "customer_name": d.customer_name,
        "contacts": [{"id": c.id, "name": c.name} for c in d.contacts],
        "followups": d.followups,
        "history": d.history,
        "history_total": max(d.history_total, len(d.history)),
        "author": d.author,
        "author_name": d.author_name,
        "editable": d.editable,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def _text_block(title: str, text: str | None) -> None:
    if not text:
        return
    click.echo()
    click.echo(heading(title))
    for line in text.splitlines() or [""]:
        click.echo(f"  {line}")


@interaction.command("show")
@click.argument("ref", metavar="ID")
@JSON_OPTION
@with_workspace_to_read
def interaction_show(ws: Workspace, ref: str, as_json: bool) -> None:
    """Everything about one interaction: its fields, the customer's words, who took
    part, the follow-ups promised in it, and its history."""
    from touchpoint.cli.activity import followup_rows
    from touchpoint.services.interactions import interaction_detail

    d = interaction_detail(ws, ref)
    if as_json:
        emit_json(_detail_json(d))
        return
    i = d.interaction
    click.echo(heading(f"{i.kind.capitalize()} at {d.customer_name}") + f"  {i.id}")
    author = d.author_name if d.author_name == d.author else f"{d.author_name} ({d.author})"
    click.echo(
        facts(
            [
                ("when", local_time(i.occurred_at, ws.tz)),
                ("logged by", author + ("" if d.editable else " (only they can change it)")),
                ("contacts", ", ".join(c.name for c in d.contacts)),
                ("subject", i.subject),
                ("outcome", i.outcome),
                ("satisfaction", f"{i.satisfaction}/5" if i.satisfaction else None),
                ("depth", i.depth),
                ("direction", i.direction),
                ("duration", f"{i.duration_minutes} min" if i.duration_minutes else None),
            ]
        )
    )
    _text_block("Notes", i.notes)
    _text_block("In their words", f"“{i.feedback}”" if i.feedback else None)
    click.echo()
    click.echo(heading(f"Follow-ups made in it ({len(d.followups)})"))
    if d.followups:
        rows = [row[:4] for row in followup_rows(d.followups, ws)]
        click.echo(table(["id", "state", "due", "title"], rows))
    click.echo()
    click.echo(heading(f"History ({max(d.history_total, len(d.history))})"))
    for entry in d.history:
        synced = "" if entry.pushed else style("  (not yet synced)", dim=True)
        who = d.names.get(entry.author, entry.author)
        click.echo(f"{local_time(entry.at, ws.tz)}  {entry.op:<7} {who}{synced}")
        if entry.op != "update":
            continue
        for name, change in sorted(entry.fields.items()):
            if name in HIDDEN:
                continue
            old, new = [*list(change), None, None][:2]
            click.echo(f"    {name}: {_shown(old)} → {_shown(new)}")
    if d.history_total > len(d.history):  # a cut list says how many more there are
        click.echo(f"… and {d.history_total - len(d.history):,} older changes")


def _shown(value: Any) -> str:
    if value is None or value in ("", []):
        return style("(empty)", dim=True)
    if isinstance(value, list):
        return clip(", ".join(str(v) for v in value), 80)
    return clip(str(value), 80)


@interaction.command("edit")
@click.argument("ref", metavar="ID")
@click.option("--kind", help="call, visit, meeting, email, message or note.")
@click.option("--when", "occurred_at", metavar="WHEN", help="When it happened.")
@click.option(
    "--contact", "contacts", multiple=True, help="A person who took part (replaces the list)."
)
@click.option("--no-contacts", is_flag=True, help="Nobody named took part.")
@click.option("--subject")
@click.option("--notes", help="What happened; - reads them from stdin.")
@click.option("--outcome", help="connected, voicemail, order, complaint... or your own words.")
@click.option("--satisfaction", help="1 (very unhappy) to 5 (delighted); '' removes it.")
@click.option("--feedback", help="The customer's own words; - reads them from stdin.")
@click.option("--duration", "duration_minutes", help="Minutes.")
@click.option("--direction", help="inbound, outbound or internal.")
@click.option("--depth", help="one-off, transactional, project or relationship.")
@click.option(
    "--allow-past",
    is_flag=True,
    help="Take a --when more than a year ago (refused otherwise: it is more often a typo).",
)
@JSON_OPTION
@with_workspace
def interaction_edit(
    ws: Workspace,
    *,
    ref: str,
    contacts: tuple[str, ...],
    no_contacts: bool,
    allow_past: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Correct an interaction you logged; fields not given stay as they are, and an
    empty value ('') clears one. Only its author may change it."""
    from touchpoint.cli.activity import past_times_named
    from touchpoint.cli.runtime import read_text
    from touchpoint.services.interactions import edit_interaction

    if options.get("notes") == "-" and options.get("feedback") == "-":
        raise click.BadParameter("only one of --notes and --feedback can read stdin")
    if contacts and no_contacts:
        raise click.UsageError("give --contact or --no-contacts, not both")
    patch: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        patch[name] = read_text(value) if name in ("notes", "feedback") else value
    if contacts or no_contacts:
        patch["contacts"] = list(contacts)
    if not patch:
        raise click.UsageError("nothing to change: give at least one option")
    with past_times_named():
        changed = edit_interaction(ws, ref, patch, allow_past=allow_past).value
    if as_json:
        emit_json(changed)
    else:
        click.echo(f"saved {_named(changed)} of {local_time(changed.occurred_at, ws.tz)}")


@interaction.command("delete")
@click.argument("ref", metavar="ID")
@with_workspace
def interaction_delete(ws: Workspace, ref: str) -> None:
    """Delete an interaction you logged (it can be restored)."""
    from touchpoint.services.interactions import delete_interaction

    gone = delete_interaction(ws, ref).value
    click.echo(
        f"deleted {_named(gone)} of {local_time(gone.occurred_at, ws.tz)}; "
        f"undo with: touchpoint interaction restore {short_id(gone.id)}"
    )


@interaction.command("restore")
@click.argument("ref", metavar="ID")
@with_workspace
def interaction_restore(ws: Workspace, ref: str) -> None:
    """Bring back a deleted interaction."""
    from touchpoint.services.interactions import restore_interaction

    back = restore_interaction(ws, ref).value
    click.echo(f"restored {_named(back)} of {local_time(back.occurred_at, ws.tz)}")


def register(group: click.Group) -> None:
    group.add_command(interaction)
