"""The managers' commands end to end: exports, the daily report, goals; bad arguments."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from touchpoint.cli.main import cli
from touchpoint.cli.runtime import CliState
from touchpoint.storage.workspace import Workspace

MARIA, TOM = "maria@example.com", "tom@example.com"


class Run:
    def __init__(self, data_dir: Path, clock: Any) -> None:
        self.data_dir, self.clock = data_dir, clock

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            cli,
            ["--data-dir", str(self.data_dir), *args],
            obj=CliState(clock=self.clock, auto_backup=False),
            catch_exceptions=False,
        )
        assert result.exit_code == code, f"{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture
def tp(team: Workspace, clock) -> Run:
    team.close()  # the commands open their own workspace on the same folder
    return Run(team.paths.data_dir, clock)


def test_export_activity_csv_with_bom_and_filters(tp: Run, tmp_path) -> None:
    out = tmp_path / "a.csv"
    result = tp("export", "activity", "--from", "yesterday", "--to", "yesterday",
                "--team", "north", "--out", str(out), "--bom")  # fmt: skip
    assert result.stdout.strip() == f"wrote 3 interactions to {out} (csv)"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    tp("export", "activity", "--from", "2026-11-17", "--to", "2026-11-17", "--rep", TOM,
       "--out", str(out))  # fmt: skip
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 2 and rows[1][3] == TOM


def test_export_format_from_the_file_name_and_json_summary(tp: Run, tmp_path) -> None:
    out = tmp_path / "a.xlsx"
    data = json.loads(
        tp("export", "activity", "--from", "-1d", "--to", "-1d", "--out", str(out), "--json").stdout
    )
    assert data == {"count": 3, "format": "xlsx", "path": str(out)}
    assert openpyxl.load_workbook(out).sheetnames == ["Summary", "Interactions"]
    result = tp("export", "activity", "--out", str(tmp_path / "a.txt"), code=1)
    assert "format" in result.stderr


def test_export_followups_csv_xlsx_and_ics(tp: Run, tmp_path) -> None:
    csv_out = tmp_path / "f.csv"
    tp("export", "followups", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "csv",
       "--out", str(csv_out))  # fmt: skip
    with csv_out.open(encoding="utf-8", newline="") as handle:
        states = {r[2]: r[4] for r in list(csv.reader(handle))[1:]}
    assert states == {"Send quote": "kept", "Call back": "overdue", "'+refund": "open"}
    ics = tmp_path / "f.ics"
    result = tp("export", "followups", "--format", "ics", "--scope", "all", "--out", str(ics))
    assert "wrote 3 follow-ups" in result.stdout
    assert ics.read_text().startswith("BEGIN:VCALENDAR")


def test_report_daily_in_each_format(tp: Run, tmp_path) -> None:
    for fmt in ("pdf", "html", "xlsx"):
        out = tmp_path / f"daily.{fmt}"
        result = tp("report", "daily", "--team", "north", "--format", fmt, "--out", str(out))
        assert result.stdout.strip() == (
            f"wrote the report for team north, 2026-11-17, to {out} ({fmt})"
        )
        assert out.stat().st_size > 1000
    data = json.loads(
        tp(
            "report", "daily", "--week", "--rep", MARIA, "--out", str(tmp_path / "w.pdf"), "--json"
        ).stdout
    )
    assert data["from"] == "2026-11-16" and data["to"] == "2026-11-22"
    assert data["reps"] == 1 and data["pages"] >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "activity", "--from", "2026-11-18", "--to", "2026-11-17"], "from:"),
        (["export", "activity", "--from", "someday"], "from:"),
        (["export", "activity", "--rep", "nobody@example.com"], "rep:"),
        (["export", "activity", "--team", "south"], "team:"),
        (["export", "followups", "--format", "csv", "--team", "south"], "team:"),
        (["report", "daily", "--rep", "nobody@example.com", "--format", "pdf"], "rep:"),
        (["report", "daily", "--date", "the day after", "--format", "pdf"], "date:"),
    ],
)
def test_bad_arguments_exit_1_and_write_nothing(
    tp: Run, tmp_path, args: list[str], message: str
) -> None:
    out = tmp_path / "out" / "file.csv"
    out.parent.mkdir()
    result = tp(*args, "--out", str(out), code=1)
    assert result.stderr.startswith(f"error: {message}")
    assert list(out.parent.iterdir()) == []


def test_unwritable_out_names_the_option(tp: Run, tmp_path) -> None:
    result = tp("report", "daily", "--format", "pdf", "--out", "/proc/daily.pdf", code=1)
    assert result.stderr.startswith("error: out:")
    result = tp("export", "activity", "--out", str(tmp_path / "no" / "a.csv"), code=1)
    assert "error: out: folder" in result.stderr


def test_goals_commands(tp: Run) -> None:
    assert tp("goals", "set", "--kind", "call", "--per", "day", "20", "--rep", TOM).stdout == (
        f"goal for {TOM}: 20 calls a day\n"
    )
    shown = json.loads(tp("goals", "show", "--rep", TOM, "--json").stdout)
    assert shown["team"] == "north"
    assert shown["goals"]["call"] == {"count": 20.0, "kind": "call", "per": "day"}
    assert "visit" not in shown["goals"]  # Maria's own visit goal is hers alone
    tp("goals", "team", "add", "south", "kim@example.com")
    assert "kim@example.com" in tp("goals", "show").stdout
    assert tp("goals", "team", "add", "south", "not-an-email", code=1).stderr.startswith(
        "error: members:"
    )
    assert "team:" in tp("goals", "set", "--kind", "visit", "--per", "week", "3", "--team",
                         "east", code=1).stderr  # fmt: skip
    assert tp("goals", "show", "--rep", "nobody@example.com", code=1).stderr.startswith(
        "error: rep:"
    )
