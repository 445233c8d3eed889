"""Exports of activity and follow-ups: CSV, Excel read back cell by cell, JSON shape."""

from __future__ import annotations

import csv
import json
import os
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from touchpoint.errors import Cancelled, ValidationError
from touchpoint.services import activity_export as export
from touchpoint.storage.workspace import Workspace

MARIA, TOM, IDA = "maria@example.com", "tom@example.com", "ida@example.com"
TUESDAY = export.ExportScope(first=date(2026, 11, 17), last=date(2026, 11, 17))


def read_csv(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


def test_activity_csv_local_times_lists_and_neutralised_cells(team: Workspace, tmp_path) -> None:
    out = tmp_path / "activity.csv"
    result = export.export_activity(team, TUESDAY, out, "csv")
    assert result.rows == 3
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM unless asked
    rows = read_csv(out)
    header = rows[0]
    assert header[:5] == ["when", "customer", "contacts", "rep", "kind"]
    first = dict(zip(header, rows[1], strict=True))
    # 23:30 UTC on the 16th is 00:30 on the 17th in Berlin.
    assert first["when"] == "2026-11-17 00:30"
    assert first["contacts"] == "Jonas Weber; Lena Roth"
    assert first["minutes"] == "25" and first["satisfaction"] == "5"
    assert first["customer's words"] == "Loved the demo — danke!"
    assert first["notes"] == "'-5% discount asked\nsecond line"  # would start a formula
    assert first["follow-ups made"] == "Send quote; Call back"
    third = dict(zip(header, rows[3], strict=True))
    assert third["customer"] == '\'=HYPERLINK("http://x")'
    assert third["customer's words"] == "'@everyone delivery was late again"
    assert third["follow-ups made"] == "'+refund"
    assert third["contacts"] == "" and third["minutes"] == ""


def test_csv_bom_for_excel(team: Workspace, tmp_path) -> None:
    out = tmp_path / "activity.csv"
    export.export_activity(team, TUESDAY, out, "csv", bom=True)
    assert out.read_bytes().startswith(b"\xef\xbb\xbfwhen,")
    assert read_csv(out, "utf-8-sig")[1][1] == "Acme GmbH"


def test_filters_by_rep_and_customer(team: Workspace, tmp_path) -> None:
    out = tmp_path / "a.csv"
    scope = export.ExportScope(TUESDAY.first, TUESDAY.last, reps=(TOM,))
    assert export.export_activity(team, scope, out, "csv").rows == 1
    scope = export.ExportScope(TUESDAY.first, TUESDAY.last, reps=(IDA,))
    assert export.export_activity(team, scope, out, "csv").rows == 0
    assert read_csv(out)[0][0] == "when"  # an empty export still has its header
    monday = export.ExportScope(date(2026, 11, 16), date(2026, 11, 16))
    assert export.export_activity(team, monday, out, "csv").rows == 0  # 00:30 local is Tuesday


def test_activity_xlsx_types_cell_by_cell(team: Workspace, tmp_path) -> None:
    out = tmp_path / "activity.xlsx"
    export.export_activity(team, TUESDAY, out, "xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Interactions"]
    sheet = book["Interactions"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:O4"
    assert sheet.column_dimensions["B"].width > 20
    header = [c.value for c in sheet[1]]
    assert header[0] == "when" and header[9] == "customer's words"
    row = [c.value for c in sheet[2]]
    assert isinstance(row[0], datetime) and row[0] == datetime(2026, 11, 17, 0, 30)
    assert sheet.cell(2, 1).number_format == "yyyy-mm-dd hh:mm"
    assert row[6] == 25 and isinstance(row[6], int | float)
    assert row[8] == 5 and isinstance(row[8], int | float)
    assert row[2] == "Jonas Weber; Lena Roth"
    assert row[11] == "-5% discount asked\nsecond line"  # a string in Excel: never a formula
    evil = [c for c in sheet[4]]
    assert evil[1].value == '=HYPERLINK("http://x")' and evil[1].data_type == "s"
    assert evil[6].value is None  # no duration: an empty cell, not 0
    summary = book["Summary"]
    facts = {r[0].value: r[1].value for r in summary.iter_rows() if r[0].value}
    assert facts["from"] == datetime(2026, 11, 17) and facts["interactions"] == 3
    assert facts["call"] == 1 and facts["visit"] == 2
    assert facts[MARIA] == 2 and facts[TOM] == 1


def test_followups_xlsx_and_csv_states(team: Workspace, tmp_path) -> None:
    week = export.ExportScope(date(2026, 11, 16), date(2026, 11, 22))
    out = tmp_path / "f.xlsx"
    assert export.export_followups(team, week, out, "xlsx").rows == 3
    sheet = openpyxl.load_workbook(out)["Follow-ups"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    states = {r[2]: r[4] for r in rows}
    assert states == {"Send quote": "kept", "Call back": "overdue", "+refund": "open"}
    kept = next(r for r in rows if r[2] == "Send quote")
    assert kept[0] == datetime(2026, 11, 17, 17, 0) and kept[5] == datetime(2026, 11, 17, 17, 0)
    csv_out = tmp_path / "f.csv"
    export.export_followups(team, week, csv_out, "csv")
    by_title = {r[2]: r for r in read_csv(csv_out)[1:]}
    assert by_title["'+refund"][4] == "open"
    assert by_title["Call back"][5] == ""  # not done


def test_json_shape(team: Workspace, tmp_path) -> None:
    out = tmp_path / "a.json"
    export.export_activity(team, TUESDAY, out, "json")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["from"] == "2026-11-17" and data["to"] == "2026-11-17"
    assert data["timezone"] == "Europe/Berlin" and data["scope"] == "all reps"
    first = data["interactions"][0]
    assert first["when"] == "2026-11-17T00:30:00+01:00"
    assert first["contacts"] == ["Jonas Weber", "Lena Roth"]
    assert first["followups"] == ["Send quote", "Call back"]
    assert first["satisfaction"] == 5 and first["duration_minutes"] == 25
    assert first["notes"].startswith("-5%")  # JSON is data, not a spreadsheet: kept as typed
    assert set(first) == {c.key for c in export.ACTIVITY_COLUMNS}
    empty = tmp_path / "e.json"
    export.export_activity(
        team, export.ExportScope(date(2026, 1, 1), date(2026, 1, 1)), empty, "json"
    )
    assert json.loads(empty.read_text())["interactions"] == []


def test_bad_target_and_format_leave_no_file(team: Workspace, tmp_path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with pytest.raises(ValidationError) as bad:
        export.export_activity(team, TUESDAY, tmp_path / "missing" / "a.csv", "csv")
    assert bad.value.field == "out"
    with pytest.raises(ValidationError) as bad:
        export.export_activity(team, TUESDAY, tmp_path / "a.pdf", "pdf")
    assert bad.value.field == "format"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root writes anywhere: /proc below covers it
            with pytest.raises(ValidationError) as bad:
                export.export_activity(team, TUESDAY, locked / "a.csv", "csv")
            assert bad.value.field == "out"
    finally:
        locked.chmod(0o700)
    assert list(tmp_path.rglob("*")) == [locked]
    with pytest.raises(ValidationError) as bad:  # not writable even for root
        export.export_activity(team, TUESDAY, "/proc/activity.csv", "csv")
    assert bad.value.field == "out" and "cannot write" in bad.value.problem


class CancelAfterFirst:
    def __init__(self) -> None:
        self.reports: list[tuple[int, int]] = []

    def report(self, done: int, total: int) -> None:
        self.reports.append((done, total))

    def cancelled(self) -> bool:
        return len(self.reports) > 1


def test_cancel_leaves_old_file_untouched(team: Workspace, tmp_path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out = tmp_path / "a.csv"
    out.write_text("the previous export\n")
    with pytest.raises(Cancelled):
        export.export_activity(team, TUESDAY, out, "csv", progress=CancelAfterFirst())
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
