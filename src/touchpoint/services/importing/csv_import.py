"""Importing customers and contacts from a CSV or Excel file, and previewing its columns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from touchpoint.collector import collector_paused
from touchpoint.domain.enums import CustomFieldType
from touchpoint.errors import ValidationError
from touchpoint.services.customers import (
    custom_definitions,
)
from touchpoint.services.exporting import parse_custom_header
from touchpoint.services.import_layouts import detect
from touchpoint.services.importing.cleaning import _Cleaner, _Plan
from touchpoint.services.importing.decoding import _open_table
from touchpoint.services.importing.mapping import (
    NOTES_TARGET,
    UNMATCHED,
    _base,
    _column_uses,
    _map_headers,
    _note_label,
    _slug,
    _with_defined_custom,
    infer_type,
    keep_mapping,
    load_mapping,
    mapping_problems,
    saved_mapping,
)
from touchpoint.services.importing.planning import Cancel, Progress, Sink, _plan_rows
from touchpoint.services.importing.reports import ColumnUse, ImportReport
from touchpoint.services.importing.writing import _run_import
from touchpoint.storage.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvPreview:
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: dict[str, str | None]  # header -> field, None when the column is ignored
    rows: list[list[str]]  # the first few data rows
    total_rows: int
    # What an import would do with each column, as a mapping's value: a field ("email",
    # "phone:home", "custom.tier"), NOTES_TARGET, or "" (left out); see csv_mapping.
    choices: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # header -> why (ColumnUse.note)
    layout: str | None = None  # the program whose export the file is, when recognised
    mapping_from: str | None = None  # "kept": an earlier import of these columns chose it
    unmatched: str = "notes"


def preview_csv(
    path: Path, *, mapping: Path | Mapping[str, str] | None = None, rows: int = 20
) -> CsvPreview:
    """What an import would read: encoding, delimiter, each column's field, the first rows."""
    overrides = load_mapping(mapping)
    table = _open_table(path)
    targets = _map_headers(table.headers, overrides, detect(table.headers))
    return CsvPreview(
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=list(table.headers),
        mapping={h: t and _base(t) for h, t in zip(table.headers, targets, strict=True)},
        rows=[cells for _number, cells in table.records[:rows]],
        total_rows=len(table.records),
    )


def csv_mapping(ws: Workspace, path: Path, *, rows: int = 5) -> CsvPreview:
    """What an import of ``path`` would do with each column, for a person to change:
    the mapping kept from an earlier import of the same header row, else the program's
    layout and the headers, with the custom fields defined here. ``choices`` holds every
    column, as a mapping to give :func:`import_customers_csv`."""
    with collector_paused():
        table = _open_table(Path(path))
    overrides: dict[str, str] = {}
    mapping_from = None
    unmatched = "notes"
    kept = saved_mapping(ws, table.headers)
    if kept is not None:
        overrides, unmatched = kept
        mapping_from = "kept"
    layout = detect(table.headers)
    targets = _map_headers(table.headers, overrides, layout)
    with ws.read() as session:
        targets = _with_defined_custom(session, table.headers, targets, overrides)
        defined = set(custom_definitions(session))
    uses = _column_uses(table.headers, targets, overrides, layout)
    choices: dict[str, str] = {}
    notes: dict[str, str] = {}
    for index, (header, target, use) in enumerate(zip(table.headers, targets, uses, strict=True)):
        if target:
            choice = target
        elif use.field != "notes":
            choice = ""
        elif use.note.startswith("the mapping says") or unmatched == "notes":
            choice = NOTES_TARGET
        elif unmatched == "custom" and use.note.startswith("no field matches"):
            key = _slug(_note_label(use, index), index)
            choice = NOTES_TARGET if key in defined else f"custom.{key}"
        elif unmatched == "skip":
            choice = ""
        else:
            choice = NOTES_TARGET
        choices.setdefault(header, choice)
        notes.setdefault(header, use.note)
    return CsvPreview(
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=list(table.headers),
        mapping={h: t and _base(t) for h, t in zip(table.headers, targets, strict=True)},
        rows=[cells for _number, cells in table.records[:rows]],
        total_rows=len(table.records),
        choices=choices,
        notes=notes,
        layout=layout.name if layout else None,
        mapping_from=mapping_from,
        unmatched=unmatched,
    )


def custom_field_key(header: str, index: int) -> str:
    """The key of the custom field a column makes (as ``--unmatched custom`` names it)."""
    return _slug(header.strip() or f"Column {index + 1}", index)


# The collector waits from the first row read until the import has returned: then only
# its report is left to walk, not the file's rows and the plan too.
@collector_paused()
def import_customers_csv(
    ws: Workspace,
    path: Path,
    *,
    dry_run: bool = False,
    mapping: Path | Mapping[str, str] | None = None,
    unmatched: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ImportReport:
    """Import customers and their contacts from a CSV file: all rows or nothing.

    Rows naming the same company become one customer with several contacts (the
    customer's fields come from its first row); a row with a person and no company
    becomes an individual customer with that person as its contact. A doubtful value
    is kept (see the module's rule), columns that are no field go to the notes, and a
    row matching a record here updates it. ``progress`` gets (done, total) steps:
    each row checked, then each row written.

    ``unmatched``: where a column that is no field goes: "notes" (each row's notes,
    as "Header: value"), "custom" (a new custom field, typed by the column's values)
    or "skip". A mapping or unmatched choice given is kept (after a written import)
    for the next file with the same columns; without them, the kept one is used."""
    if unmatched is not None and unmatched not in UNMATCHED:
        raise ValidationError("unmatched", f"'{unmatched}' is not one of: {', '.join(UNMATCHED)}")
    overrides = load_mapping(mapping)
    with collector_paused():
        table = _open_table(Path(path))
    mapping_from = "file" if mapping is not None else None
    kept = saved_mapping(ws, table.headers) if mapping is None else None
    if kept is not None:
        overrides, kept_unmatched = kept
        mapping_from = "kept"
        unmatched = unmatched or kept_unmatched
    chosen = mapping is not None or unmatched is not None
    unmatched = unmatched or "notes"
    problems = mapping_problems(table.headers, overrides)
    if problems:
        raise ValidationError("mapping", "; ".join(problems))
    layout = detect(table.headers)
    targets = _map_headers(table.headers, overrides, layout)
    names = {"customer", "contact", "first_name", "last_name"}
    if not names & {t for t in targets if t}:
        found = ", ".join(h for h in table.headers if h) or "none"
        raise ValidationError(
            "file",
            f"{table.name} has no column for a company or a person's name (headers: {found}); "
            "map one with a mapping file",
        )

    def plan(session: Session, cleaner: _Cleaner, sink: Sink | None) -> _Plan:
        if not table.records:
            raise ValidationError("file", f"{table.name} has no rows below its header")
        columns = _with_defined_custom(session, table.headers, targets, overrides)
        declared = {}
        for header in table.headers:
            found = parse_custom_header(header)
            if found is not None and found[0] not in cleaner.custom_defs:
                declared[found[0]] = found[1:]
        # Values of a field the file declares are checked by its declared type; a
        # mapping's custom.KEY that is not defined makes a new text field.
        for key, (_label, kind, choices) in declared.items():
            cleaner.custom_defs[key] = (kind, choices)
        for target in columns:
            key = target.removeprefix("custom.") if target else ""
            if target and target.startswith("custom.") and key not in cleaner.custom_defs:
                cleaner.custom_defs[key] = (CustomFieldType.TEXT, [])
        uses = _column_uses(table.headers, columns, overrides, layout)
        yes_no: set[str] = set()
        for i, use in enumerate(uses):
            if use.field != "notes" or not use.note or use.note.startswith("the mapping says"):
                continue
            if unmatched == "skip":
                uses[i] = ColumnUse(use.column, None, "ignored: --unmatched skip")
            elif unmatched == "custom" and use.note.startswith("no field matches"):
                label = _note_label(use, i)
                key = _slug(label, i)
                if key in cleaner.custom_defs or key in declared:
                    continue  # a field of that name exists: its values stay in the notes
                kind, choices = infer_type(r[i] for _n, r in table.records if i < len(r))
                declared[key] = (label, kind, choices)
                cleaner.custom_defs[key] = (kind, choices)
                if choices == ["yes", "no"]:
                    yes_no.add(key)
                columns[i] = f"custom.{key}"
                what = "yes/no" if choices == ["yes", "no"] else kind
                uses[i] = ColumnUse(use.column, f"custom.{key}", f"new custom field ({what})")
        to_notes = [
            (i, _note_label(u, i)) for i, u in enumerate(uses) if u.field == "notes" and u.note
        ]
        result = _plan_rows(
            session,
            table,
            targets=columns,
            cleaner=cleaner,
            progress=progress,
            cancel=cancel,
            sink=sink,
            to_notes=to_notes,
            layout=layout,
            yes_no=frozenset(yes_no),
        )
        result.layout = layout.name if layout else None
        result.mapping = dict(overrides)
        result.mapping_from = mapping_from
        result.unmatched = unmatched
        result.declared = declared
        result.columns = uses
        return result

    report = _run_import(ws, plan, dry_run=dry_run, progress=progress, cancel=cancel)
    if chosen and report.written:
        try:
            keep_mapping(ws, table.headers, overrides, unmatched)
        except OSError as exc:  # the import is written: not keeping the mapping is no failure
            log.warning("the import's column mapping was not kept: %s", exc)
    return report
