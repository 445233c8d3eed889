"""Customers and their people: add, show, edit, list, delete, duplicates and merges."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchpoint.cli.output import (
    clip,
    emit_json,
    facts,
    heading,
    local_time,
    more_line,
    say_more,
    style,
    table,
    warn,
)
from touchpoint.cli.runtime import read_text, with_workspace, with_workspace_to_read
from touchpoint.domain.photos import Photo
from touchpoint.domain.values import short_id
from touchpoint.errors import ValidationError

if TYPE_CHECKING:
    from touchpoint.services.records import ContactView, CustomerView
    from touchpoint.storage.workspace import Workspace

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
LIST_MOST = 100_000  # the most rows one list shows
HISTORY_MOST = 10_000  # the most changes, pairs or merges one list shows
OPEN_SHOWN = 500  # open follow-ups on a customer's page; `followups --customer` has them all


def parse_fields(pairs: Sequence[str]) -> dict[str, str]:
    """``--field KEY=VALUE`` options as a dict; ``KEY=`` (empty) removes the field on edit."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{pair}' is not KEY=VALUE", param_hint="'--field'")
        out[key.strip()] = value
    return out


def customer_options(*, edit: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options shared by ``customer add`` and ``customer edit``."""
    replace = " (replaces the list)" if edit else ""
    options = [
        click.option("--kind", help="organisation or individual."),
        click.option("--status", help="prospect, active or former."),
        click.option("--email", "emails", multiple=True, help=f"An email address{replace}."),
        click.option("--phone", "phones", multiple=True, help=f"A phone number{replace}."),
        click.option("--website"),
        click.option("--industry"),
        click.option(
            "--owner",
            help="The rep in charge (default: you; 'me' is you): a rep Touchpoint knows.",
        ),
        click.option("--territory"),
        click.option("--segment"),
        click.option("--tag", "tags", multiple=True, help=f"A tag{replace}."),
        *([click.option("--no-tags", is_flag=True, help="Remove every tag.")] if edit else []),
        click.option(
            "--field",
            "custom",
            multiple=True,
            metavar="KEY=VALUE",
            help="A custom field, defined first with `touchpoint field define KEY`"
            + ("; KEY= removes it." if edit else "."),
        ),
        click.option("--street", help="The office address: street."),
        click.option("--postcode"),
        click.option("--city"),
        click.option("--region", help="State or region."),
        click.option("--country", help="Country code, like DE."),
        click.option("--potential", "yearly_potential", help="Yearly potential (money)."),
        click.option("--currency", help="ISO currency code, like EUR."),
        click.option("--notes", help="Notes; - reads them from stdin."),
    ]
    if edit:
        options.insert(0, click.option("--name", help="A new name."))

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


ADDRESS_OPTIONS = ("street", "postcode", "city", "region", "country")


def customer_patch(options: dict[str, Any]) -> dict[str, Any]:
    """Only what was given: an option left out leaves the field as it is.

    The address options make the office address (on edit, they change its parts)."""
    patch: dict[str, Any] = {}
    if options.pop("no_photo", False):
        if options.get("photo"):
            raise click.UsageError("give --photo or --no-photo, not both")
        patch["photo"] = None
    picture = options.pop("photo", None)
    if picture is not None:
        try:
            patch["photo"] = Photo(data=Path(picture).read_bytes())
        except OSError as exc:
            raise ValidationError(
                "photo", f"cannot read {picture}: {exc.strerror or exc}"
            ) from None
    if options.pop("no_tags", False):
        if options.get("tags"):
            raise click.UsageError("give --tag or --no-tags, not both")
        patch["tags"] = []
    address = {k: options.pop(k, None) for k in ADDRESS_OPTIONS}
    if any(v is not None for v in address.values()):
        patch["addresses"] = [{"label": "office", **address}]
    for name, value in options.items():
        if value is None or value == ():
            continue
        if name == "custom":
            patch["custom"] = parse_fields(value)
        elif name == "notes":
            patch["notes"] = read_text(value)
        elif isinstance(value, tuple):
            patch[name] = list(value)
        else:
            patch[name] = value
    return patch


def address_line(a: dict[str, Any]) -> str:
    """``Hauptstr. 1, 10115 Berlin, DE``."""
    town = " ".join(str(a[k]) for k in ("postcode", "city") if a.get(k))
    parts = [a.get("street"), town, a.get("region") if not town else None, a.get("country")]
    return ", ".join(str(p) for p in parts if p)


def _values(items: list[dict[str, Any]], *, phone: bool = False) -> str:
    """The values, each marked "(unverified)" when an import kept it as written."""
    from touchpoint.domain.values import display_phone

    def shown(item: dict[str, Any]) -> str:
        text = str(item.get("value"))
        if item.get("unverified"):
            return f"{text} (unverified)"
        return display_phone(text) if phone else text

    return ", ".join(shown(i) for i in items)


def _warn_duplicates(ws: Workspace, made: CustomerView) -> None:
    from touchpoint.services.duplicates import likely_duplicates

    found = likely_duplicates(
        ws,
        name=made.name,
        emails=[e["value"] for e in made.emails],
        phones=[p["value"] for p in made.phones],
        website=made.website,
        exclude_id=made.id,
    )
    for candidate in found:
        warn(
            f"may duplicate {candidate.name} ({candidate.record_id}): "
            f"{', '.join(candidate.reasons)}"
        )
    if found:
        warn(f"to merge: touchpoint merge {found[0].record_id} {made.id}")


# --- customer -----------------------------------------------------------------------


@click.group()
def customer() -> None:
    """Add, show, edit, list and delete customers."""


@customer.command("add")
@click.argument("name")
@customer_options(edit=False)
@JSON_OPTION
@with_workspace
def customer_add(ws: Workspace, name: str, as_json: bool, **options: Any) -> None:
    """Add a customer called NAME and print its id; warns about likely duplicates."""
    from touchpoint.services import customers

    if options.get("owner") == "me":
        options["owner"] = ws.author
    fields = {"name": name, **customer_patch(options)}
    made = customers.create_customer(ws, fields, owner_must_be_known=True).value
    if as_json:
        emit_json(made)
    else:
        click.echo(made.id)
    _warn_duplicates(ws, made)


@customer.command("edit")
@click.argument("ref", metavar="NAME_OR_ID")
@customer_options(edit=True)
@JSON_OPTION
@with_workspace
def customer_edit(ws: Workspace, ref: str, as_json: bool, **options: Any) -> None:
    """Change some fields of a customer; fields not given stay as they are."""
    from touchpoint.services import customers

    if options.get("owner") == "me":
        options["owner"] = ws.author
    patch = customer_patch(options)
    if not patch:
        raise click.UsageError("nothing to change: give at least one option")
    if "addresses" in patch:
        # --city alone moves the office to another city; the other parts stay.
        current = customers.get_customer(ws, ref).addresses
        given = {k: v for k, v in patch["addresses"][0].items() if v is not None}
        patch["addresses"] = [{**(current[0] if current else {}), **given}, *current[1:]]
    changed = customers.edit_customer(ws, ref, patch, owner_must_be_known=True).value
    if as_json:
        emit_json(changed)
    else:
        click.echo(f"saved {changed.name} ({changed.id})")


def _customer_facts(c: CustomerView, ws: Workspace) -> str:
    custom = ", ".join(f"{k}: {v}" for k, v in sorted(c.custom.items()))
    addresses = "; ".join(address_line(a) for a in c.addresses)
    return facts(
        [
            ("status", f"{c.status} · {c.kind}" + (" · deleted" if c.deleted else "")),
            ("owner", c.owner),
            ("industry", c.industry),
            ("segment", c.segment),
            ("territory", c.territory),
            ("emails", _values(c.emails)),
            ("phones", _values(c.phones, phone=True)),
            ("website", c.website),
            ("address", addresses),
            ("tags", ", ".join(c.tags)),
            ("custom", custom),
            ("potential", f"{c.yearly_potential} {c.currency}" if c.yearly_potential else None),
            ("notes", clip(c.notes, 200)),
            ("created", local_time(c.created_at, ws.tz)),
            ("updated", local_time(c.updated_at, ws.tz)),
            ("confirmed", local_time(c.confirmed_at, ws.tz)),
        ]
    )


def _summary(ws: Workspace, ref: str) -> Any:
    """The customer's key figures, when this version has them (services.insights)."""
    try:
        from touchpoint.services import insights
    except ImportError:
        return None
    summarise = getattr(insights, "customer_summary", None)
    return summarise(ws, ref) if summarise else None


def _summary_json(s: Any) -> dict[str, Any]:
    sat = s.satisfaction
    comp = s.completeness
    life = s.lifetime
    return {
        "last_touch": s.last_touch,
        "days_since_last_touch": s.days_since_last_touch,
        "interactions": s.interactions_count,
        "satisfaction": {
            "current": sat.current,
            "previous": sat.previous,
            "scored": sat.count,
            "falling": sat.falling,
        },
        "completeness": {
            "percent": comp.percent,
            "missing": list(comp.missing),
            "stale": comp.stale,
        },
        "lifetime_value": {
            "currency": life.currency,
            "won": life.won,
            "open_pipeline": life.open_pipeline,
            "other_currencies": life.other_currencies,
        },
        "going_quiet": s.quiet.text if s.quiet else None,
        "promises": {
            "kept": s.promises.kept,
            "late": s.promises.late,
            "overdue": s.promises.overdue,
            "rate": s.promises.rate,
        },
    }


def _days_ago(days: int | None) -> str:
    if days is None:
        return "never"
    return {0: "today", 1: "yesterday"}.get(days, f"{days} days ago")


def _summary_facts(s: Any) -> str:
    sat = s.satisfaction
    if sat.current is None:
        satisfaction = "no scores yet"
    else:
        satisfaction = f"{sat.current:.1f} of 5 (last {min(sat.count, 3)} scored)"
        if sat.falling:
            satisfaction += style(f", falling from {sat.previous:.1f}", fg="red")
    touch = _days_ago(s.days_since_last_touch)
    comp = s.completeness
    completeness = f"{comp.percent}%"
    if comp.missing:
        completeness += f" (missing: {', '.join(comp.missing)})"
    if comp.stale:
        completeness += style(" · stale: confirm it with `touchpoint customer confirm`", fg="red")
    life = s.lifetime
    value = f"{life.won:,.2f} {life.currency}"
    if life.open_pipeline:
        value += f" (open pipeline {life.open_pipeline:,.2f})"
    rate = s.promises.rate
    promises = (
        "none due yet"
        if rate is None
        else f"{round(100 * rate)}% kept ({s.promises.kept} kept, {s.promises.late} late, "
        f"{s.promises.overdue} overdue)"
    )
    return facts(
        [
            ("last touch", touch),
            ("interactions", s.interactions_count),
            ("satisfaction", satisfaction),
            ("lifetime value", value),
            ("promises", promises),
            ("completeness", completeness),
            ("going quiet", style(s.quiet.text, fg="red") if s.quiet else None),
        ]
    )


def contact_rows(contacts: Sequence[ContactView]) -> list[tuple[str, ...]]:
    return [
        (
            short_id(p.id),
            p.name + (" (do not contact)" if p.do_not_contact else ""),
            p.title or "",
            p.decision_role or "",
            _values(p.emails),
            _values(p.phones, phone=True),
        )
        for p in contacts
    ]


CONTACT_HEADERS = ["id", "name", "title", "role", "email", "phone"]


@customer.command("show")
@click.argument("ref", metavar="NAME_OR_ID")
@click.option(
    "--interactions",
    "last",
    default=5,
    show_default=True,
    type=click.IntRange(0, LIST_MOST),
    help="How many of the last interactions to show.",
)
@JSON_OPTION
@with_workspace_to_read
def customer_show(ws: Workspace, ref: str, last: int, as_json: bool) -> None:
    """Everything about one customer: facts, people, last interactions, open follow-ups."""
    from touchpoint.services import customers, interactions
    from touchpoint.services.followups import FollowUpFilter, count_followups, list_followups

    c = customers.get_customer(ws, ref)
    people = customers.list_contacts(ws, c.id)
    recent = interactions.timeline(ws, c.id, limit=max(0, last))
    logged = interactions.count_interactions(ws, c.id) if len(recent) >= last else len(recent)
    promised = FollowUpFilter(scope="open", customer_id=c.id)
    open_followups = list_followups(ws, promised, limit=OPEN_SHOWN)
    still_open = (
        count_followups(ws, promised) if len(open_followups) >= OPEN_SHOWN else len(open_followups)
    )
    summary = _summary(ws, c.id)
    if as_json:
        emit_json(
            {
                "customer": c,
                "contacts": people,
                "interactions": recent,
                "interactions_total": logged,
                "open_followups": open_followups,
                "open_followups_total": still_open,
                "summary": _summary_json(summary) if summary else None,
            }
        )
        return
    click.echo(heading(c.name) + f"  {c.id}")
    click.echo(_customer_facts(c, ws))
    if summary is not None:
        click.echo()
        click.echo(_summary_facts(summary))
    click.echo()
    click.echo(heading(f"Contacts ({len(people)})"))
    if people:
        click.echo(table(CONTACT_HEADERS, contact_rows(people)))
    click.echo()
    click.echo(heading("Last interactions"))
    if recent:
        rows = [
            (
                short_id(i.id),
                local_time(i.occurred_at, ws.tz),
                i.kind,
                "" if i.satisfaction is None else f"{i.satisfaction}/5",
                clip(i.subject or i.notes or i.feedback, 60),
            )
            for i in recent
        ]
        # The id is what `touchpoint interaction show` takes.
        click.echo(table(["id", "when", "kind", "score", "what"], rows))
        more = more_line(len(recent), logged, option="--interactions")
        if more:
            click.echo(more)
    else:
        click.echo("none yet")
    click.echo()
    click.echo(heading(f"Open follow-ups ({still_open})"))
    if open_followups:
        from touchpoint.cli.activity import followup_rows

        rows = [row[:4] for row in followup_rows(open_followups, ws)]
        click.echo(table(["id", "state", "due", "title"], rows))
        if still_open > len(open_followups):  # the whole list is another command's
            click.echo(
                f"… and {still_open - len(open_followups):,} more "
                f"(see: touchpoint followups --customer {c.id} --limit {still_open})"
            )


@customer.command("list")
@click.option("--status", help="prospect, active or former.")
@click.option("--tag", help="Only customers with this tag.")
@click.option("--owner", help="Only this rep's customers ('me' for yours).")
@click.option("--territory")
@click.option("--attention", is_flag=True, help="Only those going quiet or with overdue promises.")
@click.option("--name", "text", help="Only names containing this.")
@click.option(
    "--sort",
    type=click.Choice(["name", "status", "owner", "territory", "last_touch", "updated_at"]),
    default="name",
    show_default=True,
)
@click.option("--desc", is_flag=True, help="Sort the other way round.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, LIST_MOST))
@JSON_OPTION
@with_workspace_to_read
def customer_list(ws: Workspace, owner: str | None, limit: int, as_json: bool, **flt: Any) -> None:
    """Customers by name (or another order), optionally filtered."""
    from touchpoint.services.customer_list import CustomerQuery, count_customers, customer_rows
    from touchpoint.services.goals import known_rep

    if owner:  # a typo would list nobody, as if the rep had no customers
        owner = ws.author if owner == "me" else known_rep(ws, owner)
    query = CustomerQuery(
        status=flt["status"],
        tag=flt["tag"],
        owner=owner,
        territory=flt["territory"],
        needs_attention=flt["attention"],
        text=flt["text"],
        sort=flt["sort"],
        descending=flt["desc"],
    )
    rows = customer_rows(ws, query, 0, limit)
    total = count_customers(ws, query) if len(rows) == limit else len(rows)
    if as_json:
        emit_json({"total": total, "more": total - len(rows), "customers": rows})
        return
    lines = [
        (
            short_id(c.id),
            c.name,
            c.status,
            c.owner or "",
            ", ".join(c.tags),
            _days_ago(c.days_since_last_touch),
            style(f"{c.overdue_followups} overdue", fg="red")
            if c.overdue_followups
            else (f"{c.open_followups} open" if c.open_followups else ""),
        )
        for c in rows
    ]
    click.echo(table(["id", "name", "status", "owner", "tags", "last touch", "follow-ups"], lines))
    say_more(len(rows), total, most=LIST_MOST)


@customer.command("delete")
@click.argument("ref", metavar="NAME_OR_ID")
@with_workspace
def customer_delete(ws: Workspace, ref: str) -> None:
    """Delete a customer (it can be restored)."""
    from touchpoint.services import customers

    gone = customers.delete_customer(ws, ref).value
    click.echo(f"deleted {gone.name}; undo with: touchpoint customer restore {gone.id}")


@customer.command("restore")
@click.argument("customer_id", metavar="ID")
@with_workspace
def customer_restore(ws: Workspace, customer_id: str) -> None:
    """Bring back a deleted customer."""
    from touchpoint.services import customers

    back = customers.restore_customer(ws, customer_id).value
    click.echo(f"restored {back.name} ({back.id})")


@customer.command("confirm")
@click.argument("ref", metavar="NAME_OR_ID")
@with_workspace
def customer_confirm(ws: Workspace, ref: str) -> None:
    """Record that the profile was checked and is still right (it is no longer stale)."""
    from touchpoint.services import customers

    done = customers.confirm_customer(ws, ref).value
    click.echo(f"confirmed {done.name} at {local_time(done.confirmed_at, ws.tz)}")


# --- contact ------------------------------------------------------------------------


@click.group()
def contact() -> None:
    """The people at a customer."""


def contact_options(*, edit: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    replace = " (replaces the list)" if edit else ""
    options = [
        click.option("--email", "emails", multiple=True, help=f"An email address{replace}."),
        click.option("--phone", "phones", multiple=True, help=f"A phone number{replace}."),
        click.option("--title", help="Job title."),
        click.option("--role", "decision_role", help="decision maker, influencer, champion, ..."),
        click.option("--channel", "preferred_channel", help="email, phone, visit or message."),
        click.option(
            "--do-not-contact/--may-contact",
            "do_not_contact",
            default=None,
            help="The person asked not to be contacted.",
        ),
        click.option("--notes", help="Notes; - reads them from stdin."),
        click.option(
            "--photo",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A picture of the person: JPEG, PNG, GIF or WebP, at most 700 KB.",
        ),
    ]
    if edit:
        options.insert(0, click.option("--name", help="A new name."))
        options.append(click.option("--customer", "customer_id", help="Move to this customer."))
        options.append(click.option("--no-photo", is_flag=True, help="Remove the picture."))

    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


@contact.command("add")
@click.argument("customer_ref", metavar="CUSTOMER")
@click.argument("name")
@contact_options(edit=False)
@JSON_OPTION
@with_workspace
def contact_add(ws: Workspace, customer_ref: str, name: str, as_json: bool, **options: Any) -> None:
    """Add a person called NAME at CUSTOMER and print their id."""
    from touchpoint.services import customers

    made = customers.add_contact(ws, customer_ref, {"name": name, **customer_patch(options)})
    if as_json:
        emit_json(made.value)
    else:
        click.echo(made.value.id)


@contact.command("edit")
@click.argument("ref", metavar="CONTACT")
@contact_options(edit=True)
@JSON_OPTION
@with_workspace
def contact_edit(ws: Workspace, ref: str, as_json: bool, **options: Any) -> None:
    """Change some fields of a contact (by id, or by name when it is unique)."""
    from touchpoint.services import customers

    patch = customer_patch(options)
    if not patch:
        raise click.UsageError("nothing to change: give at least one option")
    changed = customers.edit_contact(ws, ref, patch).value
    if as_json:
        emit_json(changed)
    else:
        click.echo(f"saved {changed.name} ({changed.id})")


@contact.command("list")
@click.argument("customer_ref", metavar="CUSTOMER")
@JSON_OPTION
@with_workspace_to_read
def contact_list(ws: Workspace, customer_ref: str, as_json: bool) -> None:
    """The people at CUSTOMER."""
    from touchpoint.services import customers

    people = customers.list_contacts(ws, customer_ref)
    if as_json:
        emit_json(people)
        return
    click.echo(table(CONTACT_HEADERS, contact_rows(people)))


# --- history, duplicates, merges ------------------------------------------------------


@click.command()
@click.argument("ref", metavar="CUSTOMER")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, HISTORY_MOST))
@JSON_OPTION
@with_workspace_to_read
def history(ws: Workspace, ref: str, limit: int, as_json: bool) -> None:
    """Every change to a customer's record: who changed what, when, old and new value."""
    from touchpoint.services.history import count_customer_history, customer_history

    entries = customer_history(ws, ref, limit=limit)
    total = count_customer_history(ws, ref) if len(entries) >= limit else len(entries)
    if as_json:
        emit_json(entries)  # a list, as scripts read it; the count left out is on stderr
        say_more(len(entries), total, most=HISTORY_MOST)
        return
    for entry in entries:
        synced = "" if entry.pushed else style("  (not yet synced)", dim=True)
        click.echo(
            f"{local_time(entry.at, ws.tz)}  {entry.op:<7} {entry.author}{synced}",
        )
        for name, change in sorted(entry.fields.items()):
            old, new = [*list(change), None, None][:2]
            if _blank(old) and _blank(new):
                continue
            click.echo(f"    {name}: {_shown(old)} → {_shown(new)}")
    say_more(len(entries), total, most=HISTORY_MOST)


def _blank(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _shown(value: Any) -> str:
    """A changed value as a person reads it: lists joined, addresses as one line."""
    if _blank(value):
        return style("(empty)", dim=True)
    if isinstance(value, list):
        return clip("; ".join(_one(v) for v in value), 80)
    return clip(_one(value), 80)


def _one(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if "value" in item:
        return str(item["value"])
    if any(item.get(k) for k in ("street", "city", "postcode", "country")):
        return address_line(item)
    return ", ".join(f"{k}: {v}" for k, v in sorted(item.items()))


@click.command()
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, HISTORY_MOST))
@JSON_OPTION
@with_workspace_to_read
def duplicates(ws: Workspace, limit: int, as_json: bool) -> None:
    """Likely duplicate customers and contacts, with why they look alike."""
    from touchpoint.services.duplicates import find_duplicates

    every = find_duplicates(ws, limit=sys.maxsize)  # all are found before the best are kept
    pairs = every[:limit]
    if as_json:
        emit_json(pairs)  # a list, as scripts read it; the count left out is on stderr
        say_more(len(pairs), len(every), most=HISTORY_MOST)
        return
    if not pairs:
        click.echo("no likely duplicates")
        return
    rows = [
        (
            p.entity,
            f"{p.first_name} ({short_id(p.first_id)})",
            f"{p.second_name} ({short_id(p.second_id)})",
            ", ".join(p.reasons),
        )
        for p in pairs
    ]
    click.echo(table(["kind", "first", "second", "why"], rows))
    say_more(len(pairs), len(every), most=HISTORY_MOST)
    click.echo("\nmerge a pair with: touchpoint merge FIRST_ID SECOND_ID", err=True)


def _record_id(ws: Workspace, kind: str, ref: str) -> str:
    """Customers may be named; anything else (and a failed lookup) passes as typed."""
    if kind != "customer":
        return ref
    from touchpoint.errors import TouchpointError
    from touchpoint.services.customers import get_customer

    try:
        return get_customer(ws, ref).id
    except TouchpointError:
        return ref


@click.command()
@click.argument("keep", metavar="A")
@click.argument("other", metavar="B")
@click.option(
    "--kind",
    type=click.Choice(["customer", "contact"]),
    default="customer",
    show_default=True,
)
@JSON_OPTION
@with_workspace
def merge(ws: Workspace, keep: str, other: str, kind: str, as_json: bool) -> None:
    """Merge B into A: everything of B moves to A; undo with `touchpoint unmerge`."""
    from touchpoint.services.duplicates import merge_records

    done = merge_records(ws, kind, _record_id(ws, kind, keep), _record_id(ws, kind, other)).value
    if as_json:
        emit_json(done)
        return
    moved = (
        ", ".join(f"{n} {k}{'s' * (n != 1)}" for k, n in sorted(done.moved.items()) if n)
        or "nothing"
    )
    click.echo(f"merged {done.merged_name} into {done.kept_name} (moved {moved})")
    click.echo(f"merge id {done.id}; undo with: touchpoint unmerge {done.id}")


@click.command()
@click.argument("merge_id")
@with_workspace
def unmerge(ws: Workspace, merge_id: str) -> None:
    """Undo a merge: the merged record comes back with what moved."""
    from touchpoint.services.duplicates import unmerge as undo

    done = undo(ws, merge_id).value
    click.echo(f"unmerged {done.merged_name} from {done.kept_name}")


@click.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, HISTORY_MOST))
@JSON_OPTION
@with_workspace_to_read
def merges(ws: Workspace, limit: int, as_json: bool) -> None:
    """Recent merges, newest first (undo one with `touchpoint unmerge ID`)."""
    from touchpoint.services.duplicates import count_merges, list_merges

    found = list_merges(ws, limit=limit)
    total = count_merges(ws) if len(found) >= limit else len(found)
    if as_json:
        emit_json(found)  # a list, as scripts read it; the count left out is on stderr
        say_more(len(found), total, most=HISTORY_MOST)
        return
    rows = [
        (
            m.id,
            m.kind,
            f"{m.kept_name} ({short_id(m.kept_id)})",
            f"{m.merged_name} ({short_id(m.merged_id)})",
            "undone" if m.undone else "",
        )
        for m in found
    ]
    click.echo(table(["merge id", "kind", "kept", "merged", ""], rows))
    say_more(len(found), total, most=HISTORY_MOST)


# --- custom fields --------------------------------------------------------------------


@click.group("field")
def field_group() -> None:
    """Define the custom fields customers can have (used with --field KEY=VALUE)."""


@field_group.command("define", short_help="Define (or redefine) a custom field.")
@click.argument("key")
@click.option("--label", help="The name people see (default: the key).")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["text", "number", "date", "choice"]),
    default="text",
    show_default=True,
)
@click.option("--choice", "choices", multiple=True, help="One allowed value of a choice field.")
@with_workspace
def field_define(
    ws: Workspace, key: str, label: str | None, kind: str, choices: tuple[str, ...]
) -> None:
    """Define (or redefine) the custom field KEY, e.g. `field define fleet_size --type number`."""
    from touchpoint.services import customers

    customers.define_custom_field(ws, key, label or key, kind, list(choices))
    click.echo(f"defined {key} ({kind})")


@field_group.command("list")
@JSON_OPTION
@with_workspace_to_read
def field_list(ws: Workspace, as_json: bool) -> None:
    """The defined custom fields."""
    from touchpoint.services import customers

    fields = customers.list_custom_fields(ws)
    if as_json:
        emit_json(fields)
        return
    if not fields:
        click.echo("no custom fields yet; define one with: touchpoint field define KEY --type TYPE")
        return
    for f in fields:
        choices = f" ({', '.join(f['choices'])})" if f["choices"] else ""
        click.echo(f"{f['key']}  {f['label']}  {f['type']}{choices}")


def register(group: click.Group) -> None:
    for command in (customer, contact, history, duplicates, merge, unmerge, merges, field_group):
        group.add_command(command)


__all__ = ["customer_patch", "parse_fields", "register"]
