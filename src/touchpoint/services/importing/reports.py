"""The import report: what each row and column did, and what was created or updated."""

from __future__ import annotations

from dataclasses import dataclass, field

from touchpoint.storage.workspace import Changes


@dataclass(frozen=True)
class RowError:
    """A row (or card) that was not imported, and why."""

    row: int  # as a spreadsheet numbers it: the header is row 1 (a vCard: its position, from 1)
    field: str
    problem: str
    name: str | None = None  # the person (or company) the row names, when it names one


@dataclass(frozen=True)
class RowNotice:
    """A row that was imported, with a value kept otherwise than the file had it.

    ``kept`` says where: "unverified" (an email or phone kept as written and marked
    so), "notes" (a value with no field here, or one that failed its check, kept in
    the record's notes), "tags", "cut" (notes over 1 MB, cut to it), or "not kept" (a
    picture that is none or too large, logos, keys, how a card was written)."""

    row: int
    name: str | None
    field: str
    problem: str
    kept: str


@dataclass(frozen=True)
class ColumnUse:
    """Where a CSV column went: a field, a custom field, the notes, or nowhere (and why)."""

    column: str
    field: str | None  # the field's name, "custom.KEY", "notes", or None when ignored
    note: str = ""


@dataclass(frozen=True)
class RowDuplicate:
    """A record the import creates (or would create) that probably exists already.

    ``existing_id`` is None when the other one is an earlier row of the same file."""

    row: int
    name: str
    existing_id: str | None
    existing_name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RowChange:
    """What one row does: "create" (a customer or contact, with the fields it gives),
    "update" (the fields it changes in records here), "unchanged" or "joined" (its
    company is an earlier row's, and it adds nothing). Skipped rows are in ``errors``."""

    row: int
    name: str | None
    action: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    rows: int
    created_customers: int
    created_contacts: int
    updated: int
    errors: list[RowError]
    duplicates: list[RowDuplicate]
    dry_run: bool
    written: bool
    changes: Changes = field(default_factory=Changes)
    # Rows without an id that named a company an earlier row named too: they became
    # that row's customer (with their own contact), not a customer of their own.
    joined: int = 0
    # Rows that name records here (by id, or by email, phone or name and company) and
    # change nothing in them.
    unchanged: int = 0
    skipped: int = 0  # rows (cards) not imported: each is in ``errors``
    notices: list[RowNotice] = field(default_factory=list)
    columns: list[ColumnUse] = field(default_factory=list)  # a CSV's columns, in order
    layout: str | None = None  # "Google Contacts (2022 format)": the program recognised
    # The column mapping the user chose (header -> field, '' to ignore), and where it
    # came from: "file" (--mapping) or "kept" (saved by an earlier import of the same
    # columns); None when the columns were read by their headers alone.
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_from: str | None = None
    unmatched: str = "notes"  # where columns of no field went: custom, notes or skip
    row_changes: list[RowChange] = field(default_factory=list)  # a CSV's rows, in order
