"""Import and export: customers and people in and out as CSV, vCard and iCalendar.

The ``export`` group itself lives in :mod:`touchpoint.cli.data`, so other areas
(reports) can add their own exports to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from touchpoint.cli.data import export_group
from touchpoint.cli.formats import choose_format, format_help
from touchpoint.cli.output import emit_json, jsonable, plural, progress_bar, warn
from touchpoint.cli.runtime import with_workspace

if TYPE_CHECKING:
    from touchpoint.storage.workspace import Workspace


# --- import ----------------------------------------------------------------------------


@click.group("import")
def import_group() -> None:
    """Bring customers and contacts in from CSV files and vCards."""


def _who(unit: str, row: int, name: str | None) -> str:
    """'card 3 (Jana Novak)': a row or card by its number and the person it names."""
    return f"{unit} {row} ({name})" if name else f"{unit} {row}"


KEPT = {
    "unverified": "kept as written, marked unverified",
    "notes": "kept in the notes",
    "not kept": "not kept",
}


def _report_import(report: Any, as_json: bool, unit: str = "row") -> None:
    """Per-row problems, values kept otherwise, likely duplicates, where each column
    went, then what was (or would be) written.

    Exit code 1 when any row had a problem, even though the good rows were written;
    a value kept otherwise (an unverified phone) is no problem: the row is imported."""
    if as_json:
        data = jsonable(report)
        data.pop("changes", None)
        emit_json(data)
        if report.errors:
            raise click.exceptions.Exit(1)
        return
    for e in report.errors:
        click.echo(f"{_who(unit, e.row, e.name)}: {e.field}: {e.problem}", err=True)
    for n in report.notices:
        kept = KEPT.get(n.kept, n.kept)
        text = f"{n.field}: {n.problem} ({kept})" if n.problem else f"{n.field} ({kept})"
        warn(f"{_who(unit, n.row, n.name)}: {text}")
    for d in report.duplicates:
        other = f"{d.existing_name} ({d.existing_id})" if d.existing_id else d.existing_name
        if d.existing_id is None:
            other += f" (an earlier {unit})"
        reasons = ", ".join(r.replace(" as row ", f" as {unit} ") for r in d.reasons)
        warn(f"{unit} {d.row}: {d.name} may duplicate {other}: {reasons}")
    if report.layout:
        click.echo(f"columns read as {report.layout} writes them")
    if report.mapping_from == "kept":
        click.echo(
            "columns mapped as the last import of a file with these columns "
            "(--mapping or --unmatched choose again)"
        )
    for column in report.columns:  # --json names every column; here those of no field
        if column.note and column.note != "ignored: Touchpoint sets it":
            click.echo(f"column '{column.column}': {column.note}")
    made = (
        f"{plural(report.created_customers, 'customer')} and "
        f"{plural(report.created_contacts, 'contact')}"
    )
    rows = plural(report.rows, unit)
    skipped = f"; {plural(report.skipped, unit)} skipped" if report.skipped else ""
    if report.updated:
        made += f", {'would update' if report.dry_run else 'updated'} {report.updated}"
    if report.unchanged:
        made += f", {plural(report.unchanged, unit)} unchanged"
    if report.dry_run:
        click.echo(f"dry run of {rows}: would create {made}{skipped}")
    elif report.written:
        click.echo(f"imported {rows}: created {made}{skipped}")
    elif report.skipped:
        click.echo(f"nothing imported from {rows}{skipped}")
    else:
        same = plural(report.unchanged, unit)
        click.echo(f"nothing imported from {rows}: {same} unchanged (they match what is here)")
    flagged = [n for n in report.notices if n.kept == "unverified"]
    if flagged:
        click.echo(
            f"{plural(len(flagged), 'value')} kept as written and marked unverified: "
            "fix them in the customer or contact"
        )
        if any(n.field == "phone" and "country code" in n.problem for n in flagged):
            click.echo(
                "a phone number without its country code is read in the record's country, "
                "else in your default region (touchpoint config set default_region DE)"
            )
    if report.joined:
        click.echo(
            f"{plural(report.joined, unit)} joined an earlier {unit} of the same company "
            "(no Customer ID column: rows are grouped by company name)"
        )
    if report.dry_run:
        click.echo("nothing was written")
    if report.errors:
        raise click.exceptions.Exit(1)


@import_group.command("customers")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML or JSON file mapping column headers to fields (phone:home labels a "
    "column's numbers, '' ignores a column); kept for the next file with these columns.",
)
@click.option(
    "--unmatched",
    type=click.Choice(["custom", "notes", "skip"]),
    help="Where a column that is no field goes: a new custom field typed by its values "
    "(number, date, yes/no, text), the notes (the default), or nowhere.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def import_customers(
    ws: Workspace,
    *,
    file: Path,
    dry_run: bool,
    mapping: Path | None,
    unmatched: str | None,
    as_json: bool,
) -> None:
    """Import customers and their contacts from a CSV FILE (any encoding and delimiter).

    All rows are written together, or none. A row is kept even when a value is wrong
    (an email or phone is kept as written and marked unverified, another value goes
    to the notes); only a row without a company or person name (or naming a record
    deleted here) is skipped. The report names each such row by its number and name,
    and says where every column went: a column that is no field goes to the notes
    ("Header: value").

    A file with a Customer ID column (as `export customers` and `export contacts
    --format csv` write it) is matched by id: a customer that exists here is updated
    (blank cells leave a field as it is), an unknown id is created, keeping the id.
    A Contact ID column does the same for people. Without ids, rows naming the same
    company become one customer with several contacts. Columns headed by a custom
    field's key or label fill that field; the custom columns of Touchpoint's own
    export also define the field when it does not exist yet. Other columns can be
    mapped with --mapping (custom.KEY makes a new text field). The mapping and the
    --unmatched choice are kept for the next file with the same columns.

    A row without ids is matched with what is here: its company by name, its person
    by email (by phone when the row has no email) or by name within the company; a
    match is updated, not made again, so importing a file twice makes no duplicates."""
    from touchpoint.services.importing import import_customers_csv

    with progress_bar("importing") as progress:
        report = import_customers_csv(
            ws, file, dry_run=dry_run, mapping=mapping, unmatched=unmatched, progress=progress
        )
    _report_import(report, as_json)


@import_group.command("vcard")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every card and report; write nothing.")
@click.option("--customer", metavar="NAME_OR_ID", help="Add every person to this customer.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def import_vcard(
    ws: Workspace, file: Path, dry_run: bool, customer: str | None, as_json: bool
) -> None:
    """Import people from a vCard FILE (.vcf, one or many cards; 2.1, 3.0 or 4.0).

    A card whose UID, email, phone, or name within its company is a contact's here
    updates that contact (importing a file again makes no duplicates). What has no
    field here (birthday, nickname, department, home address...) goes to the
    person's notes; the report names each card by its number and name."""
    from touchpoint.services import importing

    with progress_bar("importing") as progress:
        report = importing.import_vcard(
            ws, file, dry_run=dry_run, customer=customer, progress=progress
        )
    _report_import(report, as_json, unit="card")


@import_group.command("emails")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--customer", metavar="NAME_OR_ID", help="File every message under this customer.")
@click.option(
    "--create-contacts",
    is_flag=True,
    help="Make an unknown sender a contact (of the customer of their email's domain).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be logged; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def import_emails(
    ws: Workspace,
    *,
    files: tuple[Path, ...],
    customer: str | None,
    create_contacts: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Log saved messages (.eml, Outlook .msg) as email interactions.

    Each message goes to the customer of the contacts it was exchanged with (by email
    address), with its date, subject, text and the names and sizes of its
    attachments; a message you sent is outbound, one you received inbound. A message
    brought in again is not logged twice. One that matches no customer is named and
    skipped, unless --customer or --create-contacts says where it goes."""
    from touchpoint.services.capture import import_emails as run

    report = run(
        ws, list(files), customer=customer, create_contacts=create_contacts, dry_run=dry_run
    )
    if as_json:
        data = jsonable(report)
        data.pop("changes", None)  # the window's refresh list, not a result
        data.update(
            logged=report.logged, already_there=report.already_there, skipped=report.skipped
        )
        emit_json(data)
        return
    for m in report.messages:
        subject = f" ({m.subject})" if m.subject else ""
        if m.outcome == "skipped":
            warn(f"{m.file}{subject}: skipped: {m.reason}")
        elif m.outcome == "logged":
            click.echo(
                f"{m.file}{subject}: {'would log' if dry_run else 'logged'} with {m.customer}"
            )
    made = []
    if report.created_customers:
        made.append(f"{plural(report.created_customers, 'new customer')}")
    if report.created_contacts:
        made.append(f"{plural(report.created_contacts, 'new contact')}")
    extra = f" ({', '.join(made)})" if made else ""
    verb = "would log" if dry_run else "logged"
    click.echo(
        f"{verb} {plural(report.logged, 'email')}{extra}, "
        f"{report.already_there} already there, {report.skipped} skipped"
    )
    if dry_run:
        click.echo("nothing was written")


@import_group.command("meetings")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since",
    metavar="DAY",
    help="Look back to this day (2026-09-01); by default 90 days.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def import_meetings(ws: Workspace, file: Path, since: str | None, as_json: bool) -> None:
    """Suggest logging the past meetings of a calendar FILE (.ics) held with your contacts.

    Each meeting (each occurrence of a repeating one, in its own time zone) whose
    attendees include contacts here becomes a suggestion: nothing is logged until you
    accept it (`touchpoint suggestions`). Importing the file again suggests nothing
    twice."""
    from touchpoint.domain import dates
    from touchpoint.errors import ValidationError
    from touchpoint.services.meetings import import_meetings as run

    start = None
    if since:
        try:
            day = dates.parse_day(since, today=dates.local_date(ws.now(), ws.tz))
        except ValueError as exc:
            raise ValidationError("since", str(exc)) from None
        start = dates.local_day_bounds(day, ws.tz)[0]
    report = run(ws, file, since=start)
    if as_json:
        emit_json(report)
        return
    for subject, when, why in report.skipped:
        click.echo(f"{when} {subject or '(no title)'}: not suggested: {why}")
    click.echo(
        f"suggested {plural(report.suggested, 'meeting')} to log, "
        f"{report.already_there} already there, {len(report.skipped)} with nobody known"
    )
    if report.suggested:
        click.echo("see them with: touchpoint suggestions")


@click.group("suggestions", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def suggestions_group(ctx: click.Context, as_json: bool) -> None:
    """Meetings from your calendar waiting for your word: log them or dismiss them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_suggestions_command, as_json=as_json)


@with_workspace
def list_suggestions_command(ws: Workspace, as_json: bool) -> None:
    from touchpoint.domain.values import short_id
    from touchpoint.services.meetings import list_suggestions

    items = list_suggestions(ws)
    if as_json:
        emit_json({"suggestions": items})
        return
    if not items:
        click.echo("no meetings waiting (bring them in with: touchpoint import meetings FILE.ics)")
        return
    for s in items:
        who = f" with {', '.join(s.contact_names)}" if s.contact_names else ""
        title = f' "{s.subject}"' if s.subject else ""
        click.echo(f"{short_id(s.id)}  {s.words}{title}{who}")
    click.echo("log one: touchpoint suggestions accept ID; put one away: ... dismiss ID")


@suggestions_group.command("accept")
@click.argument("suggestion_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_workspace
def accept_suggestion(ws: Workspace, suggestion_id: str, as_json: bool) -> None:
    """Log the suggested meeting as a meeting interaction."""
    from touchpoint.services.meetings import accept_suggestion as run

    saved = run(ws, suggestion_id)
    if as_json:
        emit_json(saved.value)
        return
    i = saved.value
    click.echo(f"logged the meeting with {i.customer_name} ({i.subject or 'no title'})")


@suggestions_group.command("dismiss")
@click.argument("suggestion_id", metavar="ID")
@with_workspace
def dismiss_suggestion(ws: Workspace, suggestion_id: str) -> None:
    """Put a suggestion away: it is not logged and does not come back."""
    from touchpoint.services.meetings import dismiss_suggestion as run

    s = run(ws, suggestion_id).value
    click.echo(f"dismissed the meeting with {s.customer_name}")


def _report_export(report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(report)
    else:
        click.echo(f"wrote {plural(report.count, 'record')} to {report.path} ({report.format})")


OUT_OPTION = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write (replaced if it exists).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
BOM_OPTION = click.option(
    "--bom", is_flag=True, help="Start a CSV file with a byte order mark (for Excel)."
)


CONTACT_FORMATS = ("vcf", "csv")


@click.command("contacts")
@click.option(
    "--format", "fmt", metavar="[vcf|csv]", help=format_help(CONTACT_FORMATS, default="vcf")
)
@OUT_OPTION
@click.option("--customer", metavar="NAME_OR_ID", help="Only this customer's people.")
@BOM_OPTION
@JSON_OPTION
@with_workspace
def export_contacts(
    ws: Workspace, *, fmt: str | None, out: Path, customer: str | None, bom: bool, as_json: bool
) -> None:
    """Contacts as vCards (for a phone or a mail program) or as CSV.

    The CSV has each person's and customer's id: it imports back with `touchpoint
    import customers` (after the customers' own file, to keep their fields)."""
    from touchpoint.services import exporting

    fmt = choose_format(fmt, out, CONTACT_FORMATS, default="vcf")

    with progress_bar("exporting") as progress:
        report = exporting.export_contacts(
            ws, out, format=fmt, customer=customer, bom=bom, progress=progress
        )
    _report_export(report, as_json)


@click.command("customers")
@click.option("--format", "fmt", metavar="[csv]", help="csv, the only one (the default).")
@OUT_OPTION
@BOM_OPTION
@JSON_OPTION
@with_workspace
def export_customers(ws: Workspace, fmt: str | None, out: Path, bom: bool, as_json: bool) -> None:
    """Customers as CSV, one row each, with their custom fields and ids.

    It imports back with `touchpoint import customers`: into this database it
    updates the customers by their id (no duplicates), into another it creates
    them with the same ids. The first email, phone and address of each customer
    are written; people are exported with `export contacts --format csv`."""
    from touchpoint.services import exporting

    choose_format(fmt, out, ("csv",), default="csv")

    with progress_bar("exporting") as progress:
        report = exporting.export_customers_csv(ws, out, bom=bom, progress=progress)
    _report_export(report, as_json)


def register(group: click.Group) -> None:
    group.add_command(import_group)
    group.add_command(suggestions_group)
    # `export followups` (iCalendar, CSV, Excel) and `export activity` live with the
    # reports, in touchpoint.cli.reports.
    for command in (export_contacts, export_customers):
        export_group.add_command(command)
