"""Logging interactions, the follow-ups promised in them, and search.

``search`` must stay light (it runs on databases with a million interactions):
this module imports only click and the output helpers at the top.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from touchpoint.cli.output import (
    clip,
    emit_json,
    heading,
    is_tty,
    local_time,
    say_more,
    style,
    table,
)
from touchpoint.cli.runtime import with_workspace, with_workspace_to_read
from touchpoint.domain.values import short_id

if TYPE_CHECKING:
    from touchpoint.services.records import FollowUpView
    from touchpoint.storage.workspace import Workspace

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")

STATE_COLOURS = {"kept": "green", "late": "yellow", "overdue": "red", "open": "blue"}


def state_label(state: str) -> str:
    return style(state, fg=STATE_COLOURS.get(state))


def followup_rows(followups: Sequence[FollowUpView], ws: Workspace) -> list[tuple[str, ...]]:
    """id, state, due, title, customer: the columns every follow-up list shares."""
    return [
        (
            short_id(f.id),
            state_label(str(f.state)),
            local_time(f.due_at, ws.tz),
            clip(f.title, 50),
            f.customer_name or "",
        )
        for f in followups
    ]


def _pair_dues(titles: Sequence[str], dues: Sequence[str]) -> list[str]:
    """One --due per --follow-up, in order; a single --due serves them all."""
    from touchpoint.errors import ValidationError, ValidationErrors

    if not titles:
        if dues:
            raise ValidationErrors([ValidationError("due", "--due needs a --follow-up")])
        return []
    if len(dues) == len(titles):
        return list(dues)
    if len(dues) == 1:
        return list(dues) * len(titles)
    if not dues:
        raise ValidationErrors(
            [ValidationError("due", "each --follow-up needs a --due (one --due may serve all)")]
        )
    raise ValidationErrors(
        [
            ValidationError(
                "due",
                f"{len(titles)} follow-ups but {len(dues)} due times; "
                "give one --due for each, or one for all",
            )
        ]
    )


ALLOW_PAST_OPTION = click.option(
    "--allow-past",
    is_flag=True,
    help="Take a time in the past (refused otherwise: it is more often a typo).",
)


@contextmanager
def past_times_named() -> Iterator[None]:
    """The services say a past time may be allowed; here that is the --allow-past option."""
    from touchpoint.errors import ValidationError, ValidationErrors
    from touchpoint.services.followups import ALLOW_PAST

    try:
        yield
    except (ValidationError, ValidationErrors) as exc:
        if not any(ALLOW_PAST in e.problem for e in exc.errors):
            raise
        named = "add --allow-past if that is meant"
        raise ValidationErrors(
            [ValidationError(e.field, e.problem.replace(ALLOW_PAST, named)) for e in exc.errors]
        ) from None


# --- log ------------------------------------------------------------------------------


@click.command("log")
@click.argument("kind")
@click.option("--customer", required=True, metavar="NAME_OR_ID", help="Who it was with.")
@click.option("--contact", "contacts", multiple=True, help="A person who took part.")
@click.option("--subject")
@click.option("--notes", help="What happened; - reads them from stdin.")
@click.option("--outcome", help="connected, voicemail, order, complaint... or your own words.")
@click.option("--satisfaction", help="1 (very unhappy) to 5 (delighted).")
@click.option("--feedback", help="The customer's own words; - reads them from stdin.")
@click.option("--duration", help="Minutes.")
@click.option("--direction", help="inbound, outbound or internal.")
@click.option("--depth", help="one-off, transactional, project or relationship.")
@click.option(
    "--when",
    "occurred_at",
    metavar="WHEN",
    help="When it happened (default: now); 'fri 10:00' is the last Friday.",
)
@click.option("--follow-up", "titles", multiple=True, metavar="TEXT", help="A promise made.")
@click.option(
    "--due", "dues", multiple=True, metavar="WHEN", help="Its due time (in order; one for all)."
)
@click.option("--remind", metavar="WHEN", help="When to be reminded (default: before due).")
@ALLOW_PAST_OPTION
@JSON_OPTION
@with_workspace
def log_command(
    ws: Workspace,
    *,
    kind: str,
    customer: str,
    contacts: tuple[str, ...],
    notes: str | None,
    feedback: str | None,
    titles: tuple[str, ...],
    dues: tuple[str, ...],
    remind: str | None,
    allow_past: bool,
    as_json: bool,
    **fields: Any,
) -> None:
    """Log an interaction of KIND (call, visit, meeting, email, message, note) and its
    follow-ups; all of it is saved, or none of it.

    A --due in the past, or a --when more than a year ago, needs --allow-past."""
    from touchpoint.cli.runtime import read_text
    from touchpoint.services.interactions import FollowUpInput, log_interaction

    if notes == "-" and feedback == "-":
        raise click.BadParameter("only one of --notes and --feedback can read stdin")
    promises = [
        FollowUpInput(title=title, due=due, remind=remind)
        for title, due in zip(titles, _pair_dues(titles, dues), strict=True)
    ]
    with past_times_named():
        logged = log_interaction(
            ws,
            customer=customer,
            kind=kind,
            contacts=contacts,
            notes=read_text(notes),
            feedback=read_text(feedback),
            duration_minutes=fields.pop("duration"),
            followups=promises,
            allow_past=allow_past,
            **fields,
        ).value
    if as_json:
        emit_json(logged)
        return
    i = logged.interaction
    click.echo(i.id)
    click.echo(
        f"logged {i.kind} with {i.customer_name} at {local_time(i.occurred_at, ws.tz)}",
        err=True,
    )
    for f in logged.followups:
        due = local_time(f.due_at, ws.tz)
        click.echo(f"follow-up {short_id(f.id)}: {f.title}, due {due}", err=True)


FOLLOWUPS_MOST = 100_000

# --- follow-ups -------------------------------------------------------------------------


@click.command()
@click.option("--overdue", "scope", flag_value="overdue", help="Open and past their due time.")
@click.option("--today", "scope", flag_value="today", help="Due today, and overdue.")
@click.option("--week", "scope", flag_value="week", help="Due by the end of this week.")
@click.option("--later", "scope", flag_value="later", help="Due after this week.")
@click.option("--all", "scope", flag_value="all", help="Also done and cancelled ones.")
@click.option("--open", "scope", flag_value="open", default=True, help="Every open one (default).")
@click.option("--mine", is_flag=True, help="Only those assigned to you.")
@click.option("--customer", metavar="NAME_OR_ID", help="Only this customer's.")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, FOLLOWUPS_MOST))
@JSON_OPTION
@with_workspace_to_read
def followups(
    ws: Workspace, *, scope: str, mine: bool, customer: str | None, limit: int, as_json: bool
) -> None:
    """Follow-ups by due time, with their state: kept, late, overdue or open."""
    from touchpoint.services.customers import get_customer
    from touchpoint.services.followups import FollowUpFilter, count_followups, list_followups

    customer_id = get_customer(ws, customer).id if customer else None
    flt = FollowUpFilter(
        scope=scope, assigned_to=ws.author if mine else None, customer_id=customer_id
    )
    found = list_followups(ws, flt, limit=limit)
    total = count_followups(ws, flt) if len(found) >= limit else len(found)
    if as_json:
        emit_json(found)  # a list, as scripts read it; the count left out is on stderr
        say_more(len(found), total, most=FOLLOWUPS_MOST)
        return
    if not found:
        click.echo("nothing to follow up")
        return
    rows = [
        (*row, f.assigned_to, local_time(f.done_at, ws.tz))
        for row, f in zip(followup_rows(found, ws), found, strict=True)
    ]
    headers = ["id", "state", "due", "title", "customer", "assigned to"]
    if scope == "all":
        headers.append("done")
    else:
        rows = [row[:-1] for row in rows]
    click.echo(table(headers, rows))
    say_more(len(found), total, most=FOLLOWUPS_MOST)


def _followup_done(ws: Workspace, verb: str, f: FollowUpView) -> None:
    state = state_label(str(f.state))
    click.echo(f"{verb} {short_id(f.id)} {f.title!r} for {f.customer_name}: {state}")


@click.command()
@click.argument("ref", metavar="FOLLOWUP_ID")
@click.option("--at", metavar="WHEN", help="When it was really done (default: now).")
@with_workspace
def done(ws: Workspace, ref: str, at: str | None) -> None:
    """Mark a follow-up done (the start of its id, 6 characters or more, is enough)."""
    from touchpoint.services.followups import complete_followup, get_followup

    before = get_followup(ws, ref)
    if before.status == "done":
        when = local_time(before.done_at, ws.tz) if before.done_at else "earlier"
        click.echo(
            f"{short_id(before.id)} {before.title!r} for {before.customer_name} was already done "
            f"({when}); nothing changed"
        )
        return
    f = complete_followup(ws, before.id, at=at).value
    _followup_done(ws, "done", f)


@click.command()
@click.argument("ref", metavar="FOLLOWUP_ID")
@click.argument("until", metavar="UNTIL")
@ALLOW_PAST_OPTION
@with_workspace
def snooze(ws: Workspace, ref: str, until: str, allow_past: bool) -> None:
    """Be reminded later; the promise's due time stays (a time in the past needs
    --allow-past)."""
    from touchpoint.services.followups import snooze_followup

    with past_times_named():
        f = snooze_followup(ws, ref, until, allow_past=allow_past).value
    click.echo(f"reminder for {f.title!r} moved to {local_time(f.remind_at, ws.tz)}")


@click.command()
@click.argument("ref", metavar="FOLLOWUP_ID")
@click.argument("when", metavar="WHEN")
@click.option("--remind", metavar="WHEN", help="When to be reminded (default: before due).")
@ALLOW_PAST_OPTION
@with_workspace
def reschedule(ws: Workspace, ref: str, when: str, remind: str | None, allow_past: bool) -> None:
    """Move a follow-up's due time (a new promise to the customer); a time in the past
    needs --allow-past, and --remind must come before it."""
    from touchpoint.services.followups import reschedule_followup

    with past_times_named():
        f = reschedule_followup(ws, ref, when, remind=remind, allow_past=allow_past).value
    click.echo(f"{f.title!r} now due {local_time(f.due_at, ws.tz)}")


@click.command()
@click.argument("ref", metavar="FOLLOWUP_ID")
@with_workspace
def cancel(ws: Workspace, ref: str) -> None:
    """Cancel an open follow-up."""
    from touchpoint.services.followups import cancel_followup

    f = cancel_followup(ws, ref).value
    _followup_done(ws, "cancelled", f)


@click.command()
@click.argument("ref", metavar="FOLLOWUP_ID")
@click.argument("who", metavar="WHO")
@with_workspace
def reassign(ws: Workspace, ref: str, who: str) -> None:
    """Give a follow-up to someone else (their email or login)."""
    from touchpoint.services.followups import reassign_followup

    f = reassign_followup(ws, ref, who).value
    click.echo(f"{f.title!r} is now {f.assigned_to}'s")


# --- search ------------------------------------------------------------------------------


def matched_words(start: str, end: str, *texts: str) -> list[str]:
    """The words the search marked, each once, in the order they first appear."""
    marked = re.compile(re.escape(start) + "(.*?)" + re.escape(end), re.DOTALL)
    seen: dict[str, None] = {}
    for text in texts:
        for word in marked.findall(text):
            if word:
                seen.setdefault(word, None)
    return list(seen)


# A one-shot search reads each page about once, so a big page cache only adds to its
# peak memory; and FTS5 sorts every match by rank in temp storage, which in memory
# held ~50 MB for a one-letter prefix over a million interactions. Files it is.
# (The peak is measured, not asserted: bench_core's "touchpoint search peak memory".)
SEARCH_CACHE_KIB = 4000
SEARCH_MOST = 500  # the most hits one search shows


def _lean_connections(ws: Workspace) -> None:
    from sqlalchemy import event

    def lean(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA cache_size = -{SEARCH_CACHE_KIB}")
        dbapi_connection.execute("PRAGMA temp_store = FILE")

    event.listen(ws.db.engine, "connect", lean)
    ws.db.engine.dispose()  # pooled connections opened before this have the big cache


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, SEARCH_MOST))
@JSON_OPTION
@with_workspace_to_read
def search(ws: Workspace, query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search customers, contacts, notes and feedback, and follow-ups (words as prefixes)."""
    from touchpoint.services.search import (
        COUNT_CAP,
        MARK_END,
        MARK_START,
        count_matches,
        grouped,
        index_backlog,
        render_marks,
        strip_marks,
    )
    from touchpoint.services.search import search as run_search

    text = " ".join(query)
    _lean_connections(ws)
    hits = run_search(ws, text, limit=limit)
    # Only a full page can have been cut; then the index says how many there are.
    total = max(len(hits), count_matches(ws, text)) if len(hits) >= limit else len(hits)
    groups = grouped(hits)
    waiting = index_backlog(ws)
    if waiting:
        click.echo(
            f"note: {waiting:,} records from the last sync are not searchable yet; "
            "`touchpoint sync` finishes indexing them",
            err=True,
        )
    if as_json:
        emit_json(
            {
                "query": text,
                "total": total,
                "more": total - len(hits),
                "total_is_at_least": total >= COUNT_CAP,
                "groups": [
                    {
                        "group": label,
                        "hits": [
                            {
                                "entity": h.entity,
                                "record_id": h.record_id,
                                "customer_id": h.customer_id,
                                "customer_name": h.customer_name,
                                "title": strip_marks(h.title),
                                "snippet": strip_marks(h.snippet),
                                "match": matched_words(MARK_START, MARK_END, h.title, h.snippet),
                                "rank": h.rank,
                            }
                            for h in hits
                        ],
                    }
                    for label, hits in groups.items()
                ],
            }
        )
        return
    if not groups:
        click.echo(f"nothing matches {text!r}")
        return
    tty = is_tty()
    bold, plain = ("\x1b[1m", "\x1b[22m") if tty else ("", "")

    def shown(value: str) -> str:
        return render_marks(" ".join(value.split()), bold, plain)

    for n, (label, hits) in enumerate(groups.items()):
        if n:
            click.echo()
        click.echo(heading(label))
        for h in hits:
            where = f"  · {h.customer_name}" if h.customer_name and h.entity != "customer" else ""
            click.echo(f"  {short_id(h.record_id)}  {shown(h.title)}{where}")
            if h.snippet and strip_marks(h.snippet) != strip_marks(h.title):
                click.echo(f"            {shown(h.snippet)}")
    say_more(len(hits), total, most=SEARCH_MOST, at_least=total >= COUNT_CAP)


def register(group: click.Group) -> None:
    for command in (log_command, followups, done, snooze, reschedule, cancel, reassign, search):
        group.add_command(command)
