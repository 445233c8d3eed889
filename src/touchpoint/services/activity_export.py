"""Streaming exports of the activity log and of follow-ups: CSV, Excel and JSON.

Rows are read in chunks from one read snapshot and written as they come, so a
million interactions export with flat memory: Excel through xlsxwriter's
``constant_memory`` mode, CSV and JSON line by line. The file appears only when
it is complete (written beside the target, then renamed). Times are shown in the
user's time zone; Excel gets real dates and numbers, a frozen header, filters,
sensible widths and a summary sheet; CSV cells that would start a formula are
neutralised.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

from touchpoint.domain import dates
from touchpoint.domain.enums import FollowUpStatus
from touchpoint.domain.metrics import FollowUpFacts, promise_state
from touchpoint.errors import Cancelled, ValidationError
from touchpoint.policy import check_export_format
from touchpoint.services.exporting import neutralise_cell
from touchpoint.services.outfiles import atomic_target
from touchpoint.storage.queries import activity as activity_queries
from touchpoint.storage.types import to_utc_text
from touchpoint.storage.workspace import Workspace

CHUNK = 2000
EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, the header included
FORMATS = ("csv", "xlsx", "json")
_SEP = activity_queries.SEPARATOR
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


class ProgressSink(Protocol):
    """What a long export reports to (the window's progress bar); thread-safe."""

    def report(self, done: int, total: int) -> None: ...

    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class ExportScope:
    """Which rows: local days ``first``..``last``, optionally some reps and one customer."""

    first: date
    last: date
    reps: tuple[str, ...] | None = None
    customer_id: str | None = None
    label: str = "all reps"


DEFAULT_DAYS = 30  # an export without --from covers this many days up to --to


def scope_of(
    ws: Workspace,
    *,
    first: str | None,
    last: str | None,
    reps: Sequence[str] | None,
    team: str | None = None,
    customer: str | None = None,
    default_last: str = "today",
) -> ExportScope:
    """The rows an export covers, from its options as typed: local days (the last
    DEFAULT_DAYS up to ``last`` when ``first`` is not given), the reps already resolved
    by the caller (a team's members from the roster or the Hub), one customer."""
    from touchpoint.services import reports
    from touchpoint.services.customers import get_customer

    last = last or default_last
    if not first:
        end = reports.parse_range(ws, None, last)[1]
        first = (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    start, end = reports.parse_range(ws, first, last)
    customer_id = get_customer(ws, customer).id if customer else None
    label = f"team {team}" if team else (reps[0] if reps else "all reps")
    if customer:
        label += f", customer {customer}"
    return ExportScope(
        first=start,
        last=end,
        reps=tuple(reps) if reps is not None else None,
        customer_id=customer_id,
        label=label,
    )


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float
    kind: str = "text"  # text | datetime | number


ACTIVITY_COLUMNS = (
    Column("when", "when", 17, "datetime"),
    Column("customer", "customer", 28),
    Column("contacts", "contacts", 24),
    Column("rep", "rep", 24),
    Column("kind", "kind", 9),
    Column("direction", "direction", 10),
    Column("duration_minutes", "minutes", 9, "number"),
    Column("outcome", "outcome", 16),
    Column("satisfaction", "satisfaction", 12, "number"),
    Column("feedback", "customer's words", 40),
    Column("subject", "subject", 28),
    Column("notes", "notes", 50),
    Column("followups", "follow-ups made", 32),
    Column("customer_id", "customer id", 12),
    Column("id", "interaction id", 12),
)

FOLLOWUP_COLUMNS = (
    Column("due", "due", 17, "datetime"),
    Column("customer", "customer", 28),
    Column("title", "promise", 36),
    Column("assigned_to", "assigned to", 24),
    Column("state", "state", 9),
    Column("done", "done", 17, "datetime"),
    Column("priority", "priority", 8),
    Column("status", "status", 9),
    Column("notes", "notes", 40),
    Column("customer_id", "customer id", 12),
    Column("interaction_id", "interaction id", 12),
    Column("id", "follow-up id", 12),
)

# --- cells --------------------------------------------------------------------------


class _Local:
    """UTC text from the database to a naive local datetime, fast enough for a million rows.

    The offset from UTC is looked up once per UTC hour and reused when it is the same at
    both ends of that hour (always, except in the hour of a change to or from summer time).
    """

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.offsets: dict[str, timedelta | None] = {}

    def _offset(self, hour: str) -> timedelta | None:
        begin = datetime.fromisoformat(hour + ":00:00+00:00")
        first = begin.astimezone(self.tz).utcoffset()
        last = (begin + timedelta(minutes=59, seconds=59)).astimezone(self.tz).utcoffset()
        return first if first == last else None

    def __call__(self, stored: str | None) -> datetime | None:
        if not stored:
            return None
        hour = stored[:13]
        try:
            offset = self.offsets[hour]
        except KeyError:
            offset = self.offsets[hour] = self._offset(hour)
        if offset is None:
            return datetime.fromisoformat(stored).astimezone(self.tz).replace(tzinfo=None)
        return datetime.fromisoformat(stored[:19]) + offset

    def text(self, stored: str | None) -> str:
        """ "2026-11-17 00:30": the CSV form."""
        moment = self(stored)
        return "" if moment is None else moment.isoformat(" ", "minutes")


def _split(joined: str | None) -> list[str]:
    return joined.split(_SEP) if joined else []


# --- reading ------------------------------------------------------------------------


def _stream(
    ws: Workspace, table: str, scope: ExportScope, progress: ProgressSink | None
) -> Iterator[Sequence[Any]]:
    """The rows of ``table`` in ``scope``, oldest first, in chunks from one read snapshot
    (plain tuples: see :mod:`touchpoint.storage.queries.activity`)."""
    start, end = dates.local_range_bounds(scope.first, scope.last, ws.tz)
    window = activity_queries.ExportWindow(
        to_utc_text(start), to_utc_text(end), scope.reps, scope.customer_id
    )
    with ws.read() as session:
        read = activity_queries.ExportRead(session, table, window)
        try:
            total = 0
            if progress is not None:
                total = read.count()
                progress.report(0, total)
            done = 0
            for chunk in read.batches(CHUNK):
                if progress is not None:
                    if progress.cancelled():
                        raise Cancelled("export cancelled; no file was written")
                    progress.report(done, total)
                yield from chunk
                done += len(chunk)
            if progress is not None:
                # A cancel during the last chunk still counts: the file is not in place yet.
                if progress.cancelled():
                    raise Cancelled("export cancelled; no file was written")
                progress.report(done, max(total, done))
        finally:
            read.close()


def activity_rows(
    ws: Workspace, scope: ExportScope, progress: ProgressSink | None = None
) -> Iterator[tuple[Any, ...]]:
    """One tuple per interaction in ACTIVITY_COLUMNS order, oldest first; times local."""
    local = _Local(ws.tz)
    for row in _stream(ws, "interactions", scope, progress):
        (at, customer, contacts, rep, kind, direction, minutes, outcome, score, words,
         subject, notes, followups, customer_id, interaction_id) = row  # fmt: skip
        yield (
            local(at),
            customer,
            _split(contacts),
            rep,
            kind,
            direction,
            minutes,
            outcome,
            score,
            words,
            subject,
            notes,
            _split(followups),
            customer_id,
            interaction_id,
        )


def followup_rows(
    ws: Workspace, scope: ExportScope, progress: ProgressSink | None = None
) -> Iterator[tuple[Any, ...]]:
    """One tuple per follow-up due in the range, in FOLLOWUP_COLUMNS order, with its state
    (kept, late, overdue, open, cancelled) as of now."""
    local = _Local(ws.tz)
    now = ws.now()
    for row in _stream(ws, "followups", scope, progress):
        (due_at, customer, title, assigned_to, status, done_at, priority, notes,
         customer_id, interaction_id, followup_id) = row  # fmt: skip
        due = datetime.fromisoformat(due_at)
        done = datetime.fromisoformat(done_at) if done_at else None
        state = promise_state(FollowUpFacts(due, FollowUpStatus(status), done), now=now)
        yield (
            local(due_at),
            customer,
            title,
            assigned_to,
            state.value,
            local(done_at),
            priority,
            status,
            notes,
            customer_id,
            interaction_id,
            followup_id,
        )


# --- writing ------------------------------------------------------------------------


def _csv_cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        value = "; ".join(value)
    if isinstance(value, str):
        return neutralise_cell(value)
    return value


def _safe(value: str | None) -> str | None:
    """neutralise_cell, called only for the rare cell that needs it (None stays empty)."""
    if value and value[0] in _FORMULA_FIRST:
        return neutralise_cell(value)
    return value


_FORMULA_FIRST = frozenset("=+-@\t\r")


def _joined_safe(joined: str | None) -> str | None:
    return _safe(joined.replace(_SEP, "; ")) if joined else None


def activity_csv_rows(
    ws: Workspace, scope: ExportScope, progress: ProgressSink | None = None
) -> Iterator[tuple[Any, ...]]:
    """The activity rows ready for csv.writer: local times as text, people's text made
    formula-safe, lists joined with "; ". Kept apart from :func:`activity_rows` because a
    million rows pay for every function call."""
    local = _Local(ws.tz).text
    safe = _safe
    joined = _joined_safe
    for row in _stream(ws, "interactions", scope, progress):
        (at, customer, contacts, rep, kind, direction, minutes, outcome, score, words,
         subject, notes, followups, customer_id, interaction_id) = row  # fmt: skip
        yield (
            local(at),
            safe(customer),
            joined(contacts),
            safe(rep),
            kind,
            direction,
            minutes,
            safe(outcome),
            score,
            safe(words),
            safe(subject),
            safe(notes),
            joined(followups),
            customer_id,
            interaction_id,
        )


def write_csv(
    path: Path,
    columns: Sequence[Column],
    rows: Iterator[tuple[Any, ...]],
    *,
    bom: bool = False,
    ready: bool = False,
) -> int:
    """UTF-8 CSV (with a byte-order mark for Excel when asked); formula cells neutralised.
    ``ready``: the rows are already CSV cells (see :func:`activity_csv_rows`)."""
    kinds = [c.kind for c in columns]
    count = 0
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.header for c in columns])
        if ready:
            for chunk in _chunks(rows):
                writer.writerows(chunk)
                count += len(chunk)
            return count
        for row in rows:
            writer.writerow([_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
            count += 1
    return count


def _chunks(rows: Iterator[tuple[Any, ...]], size: int = CHUNK) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _json_cell(value: Any, kind: str, tz: tzinfo) -> Any:
    if kind == "datetime" and value is not None:
        # Local time with its offset: unambiguous for a program, readable for a person.
        return value.replace(tzinfo=tz).isoformat()
    return value


def write_json(
    path: Path,
    columns: Sequence[Column],
    rows: Iterator[tuple[Any, ...]],
    *,
    section: str,
    meta: dict[str, Any],
    tz: tzinfo,
) -> int:
    """``{meta..., "<section>": [{column: value}, ...]}`` written one record at a time."""
    keys = [c.key for c in columns]
    kinds = [c.kind for c in columns]
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        head = json.dumps(meta, ensure_ascii=False, sort_keys=True)
        handle.write(head[:-1] + (", " if meta else "") + json.dumps(section) + ": [")
        for row in rows:
            record = {
                k: _json_cell(v, kind, tz) for k, v, kind in zip(keys, row, kinds, strict=True)
            }
            handle.write(
                ("\n  " if count == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False)
            )
            count += 1
        handle.write("\n]}\n" if count else "]}\n")
    return count


class SheetWriter:
    """Rows into one or more sheets of a constant-memory workbook (a new sheet past
    Excel's row limit), with a frozen header, filters and set widths."""

    def __init__(self, book: Any, title: str, columns: Sequence[Column], formats: dict) -> None:
        self.book = book
        self.title = title
        self.columns = columns
        self.formats = formats
        self.sheets: list[tuple[Any, int]] = []
        self.sheet: Any = None
        self.row = 0
        self.count = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self.sheet is not None:
            self._finish_sheet()
        n = len(self.sheets) + 1
        name = self.title if n == 1 else f"{self.title} ({n})"
        sheet = self.book.add_worksheet(name)
        for col, column in enumerate(self.columns):
            sheet.set_column(col, col, column.width)
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, [c.header for c in self.columns], self.formats["header"])
        self.sheet, self.row = sheet, 1

    def _finish_sheet(self) -> None:
        self.sheet.autofilter(0, 0, max(self.row - 1, 1), len(self.columns) - 1)
        self.sheets.append((self.sheet, self.row))

    def write(self, values: Sequence[Any]) -> None:
        if self.row >= EXCEL_MAX_ROWS:
            self._new_sheet()
        sheet, row = self.sheet, self.row
        for col, (value, column) in enumerate(zip(values, self.columns, strict=True)):
            if value is None:
                continue
            if column.kind == "datetime":
                sheet.write_datetime(row, col, value, self.formats["datetime"])
            elif column.kind == "number":
                sheet.write_number(row, col, value)
            else:
                cell = "; ".join(value) if isinstance(value, list) else value
                if cell:
                    sheet.write_string(row, col, cell)
        self.row += 1
        self.count += 1

    def close(self) -> None:
        self._finish_sheet()


def new_workbook(path: Path, *, streaming: bool = True) -> tuple[Any, dict[str, Any]]:
    """A workbook (row by row, constant memory, when ``streaming``): strings are never
    turned into formulas, numbers or links."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": streaming,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "header": book.add_format({"bold": True, "bg_color": "#DDE6F0", "bottom": 1}),
        "datetime": book.add_format({"num_format": DATETIME_FORMAT, "align": "left"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd", "align": "left"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "label": book.add_format({"bold": True}),
        "percent": book.add_format({"num_format": "0%"}),
        "decimal": book.add_format({"num_format": "0.00"}),
    }
    return book, formats


def write_summary(book: Any, formats: dict[str, Any], sheet: Any, lines: list[tuple]) -> None:
    """A summary sheet: a title, label/value facts, then small tables. ``lines`` holds
    ("title", text), ("fact", label, value), ("blank",) and ("row", *cells)."""
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 3, 16)
    for row, line in enumerate(lines):
        kind = line[0]
        if kind == "title":
            sheet.write_string(row, 0, line[1], formats["title"])
        elif kind == "fact":
            sheet.write_string(row, 0, line[1], formats["label"])
            value = line[2]
            if isinstance(value, datetime):
                sheet.write_datetime(row, 1, value, formats["datetime"])
            elif isinstance(value, date):
                sheet.write_datetime(row, 1, value, formats["date"])
            elif isinstance(value, int | float):
                sheet.write_number(row, 1, value)
            else:
                sheet.write_string(row, 1, str(value))
        elif kind == "header":
            sheet.write_row(row, 0, list(line[1:]), formats["header"])
        elif kind == "row":
            for col, value in enumerate(line[1:]):
                if isinstance(value, int | float):
                    sheet.write_number(row, col, value)
                elif value is not None:
                    sheet.write_string(row, col, str(value))


# --- the exports --------------------------------------------------------------------


def _check_format(ws: Workspace, fmt: str, allowed: Sequence[str]) -> str:
    clean = (fmt or "").strip().lower()
    if clean not in allowed:
        raise ValidationError("format", f"'{fmt}' is not one of {', '.join(allowed)}")
    check_export_format(clean, ws.policy)  # the machine policy may allow fewer
    return clean


class _Tally:
    """Counts per column while rows stream past, for the summary sheet."""

    def __init__(self, rows: Iterator[tuple[Any, ...]], indexes: dict[str, int]) -> None:
        self.rows = rows
        self.indexes = indexes
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in indexes}

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            for name, index in self.indexes.items():
                self.counts[name][row[index] or "(none)"] += 1
            yield row


def _meta(ws: Workspace, scope: ExportScope) -> dict[str, Any]:
    return {
        "from": scope.first.isoformat(),
        "to": scope.last.isoformat(),
        "timezone": str(getattr(ws.tz, "key", ws.tz)),
        "scope": scope.label,
        "generated_at": ws.now().astimezone(ws.tz).replace(microsecond=0).isoformat(),
    }


def _export(
    ws: Workspace,
    scope: ExportScope,
    out: str | os.PathLike[str],
    fmt: str,
    *,
    section: str,
    columns: Sequence[Column],
    rows: Callable[[], Iterator[tuple[Any, ...]]],
    tallies: dict[str, int],
    bom: bool,
    csv_rows: Callable[[], Iterator[tuple[Any, ...]]] | None = None,
) -> ExportResult:
    with atomic_target(out) as temp:
        if fmt == "csv" and csv_rows is not None:
            count = write_csv(temp, columns, csv_rows(), bom=bom, ready=True)
        elif fmt == "csv":
            count = write_csv(temp, columns, rows(), bom=bom)
        elif fmt == "json":
            count = write_json(
                temp, columns, rows(), section=section, meta=_meta(ws, scope), tz=ws.tz
            )
        else:
            book, formats = new_workbook(temp)
            summary = book.add_worksheet("Summary")
            tally = _Tally(rows(), tallies)
            sheet = SheetWriter(book, section.capitalize(), columns, formats)
            for row in tally:
                sheet.write(row)
            sheet.close()
            meta = _meta(ws, scope)
            lines: list[tuple] = [
                ("title", f"Touchpoint: {section}"),
                ("fact", "from", scope.first),
                ("fact", "to", scope.last),
                ("fact", "who", scope.label),
                ("fact", "time zone", meta["timezone"]),
                ("fact", "generated", ws.now().astimezone(ws.tz).replace(tzinfo=None)),
                ("fact", section, sheet.count),
            ]
            for name, counter in tally.counts.items():
                lines += [("blank",), ("header", f"by {name}", section)]
                lines += [("row", key, n) for key, n in sorted(counter.items())]
            write_summary(book, formats, summary, lines)
            summary.activate()
            book.close()
            count = sheet.count
    return ExportResult(path=Path(out), format=fmt, rows=count)


def export_activity(
    ws: Workspace,
    scope: ExportScope,
    out: str | os.PathLike[str],
    fmt: str = "csv",
    *,
    bom: bool = False,
    progress: ProgressSink | None = None,
) -> ExportResult:
    """One row per interaction: customer, contacts, rep, kind, direction, when, duration,
    outcome, satisfaction, the customer's words, notes and the follow-ups it created."""
    fmt = _check_format(ws, fmt, FORMATS)
    return _export(
        ws,
        scope,
        out,
        fmt,
        section="interactions",
        columns=ACTIVITY_COLUMNS,
        rows=lambda: activity_rows(ws, scope, progress),
        tallies={"kind": 4, "rep": 3},
        bom=bom,
        csv_rows=lambda: activity_csv_rows(ws, scope, progress),
    )


def export_followups(
    ws: Workspace,
    scope: ExportScope,
    out: str | os.PathLike[str],
    fmt: str = "csv",
    *,
    bom: bool = False,
    progress: ProgressSink | None = None,
) -> ExportResult:
    """One row per follow-up due in the range, with kept, late, overdue or open."""
    fmt = _check_format(ws, fmt, FORMATS)
    return _export(
        ws,
        scope,
        out,
        fmt,
        section="follow-ups",
        columns=FOLLOWUP_COLUMNS,
        rows=lambda: followup_rows(ws, scope, progress),
        tallies={"state": 4, "assigned to": 3},
        bom=bom,
    )
