"""Each shortcut an import takes for a whole file (or a whole column) against the plain
way it stands in for: the same result, on files made to hit the cases the shortcut skips."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.services.importing import csv_import, decoding, import_customers_csv, planning
from touchpoint.storage.workspace import Workspace

# Cells made of what the reader and _clean_cell treat apart: quotes, apostrophes,
# formula starts, NULs, separators and line ends.
_CELL_TEXT = st.text(alphabet="'\"=+-@\t\r\n\x00,; xé", max_size=8)


def _plain_way(monkeypatch: pytest.MonkeyPatch, path: Path) -> decoding._Table:
    with monkeypatch.context() as patched:
        patched.setattr(decoding, "_plain_cells", lambda _text: False)
        return decoding._open_table(path)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(_CELL_TEXT, min_size=1, max_size=4), min_size=1, max_size=5))
def test_plain_cells_read_as_each_cell_cleaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[list[str]]
) -> None:
    path = tmp_path / "file.csv"
    # Written raw (not by csv.writer): quotes where the reader does not expect them too.
    text = "Company,Name\r\n" + "\r\n".join(",".join(cells) for cells in lines) + "\r\n"
    path.write_bytes(text.encode("utf-8"))
    try:
        expected = _plain_way(monkeypatch, path)
    except Exception as exc:  # the shortcut must fail the same way
        with pytest.raises(type(exc)):
            decoding._open_table(path)
        return
    assert decoding._open_table(path) == expected


@pytest.mark.parametrize(
    ("line", "first"),
    [("\"'\"=1,x", "=1"), ("'=1,x", "=1"), ("'+49 30 1,x", "+49 30 1"), ("a\x00b,x", "ab"),
     ("'-3,x", "-3"), ("'@a,'\tb", "@a")],
)  # fmt: skip
def test_cells_that_need_cleaning_are_cleaned(tmp_path: Path, line: str, first: str) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(f"Company,Name\r\n{line}\r\n".encode())
    assert not decoding._plain_cells(line)
    assert decoding._open_table(path).records[0][1][0] == first


# --- planning: each row's cells, cleaned, as the plain way plans them -----------------

_HEADERS = (
    "Company", "First Name", "Last Name", "Contact Name", "Email", "E-mail 2 Address",
    "Phone", "Mobile", "Street", "City", "Postcode", "Country", "Industry", "Created Date",
    "Notes", "Job Title", "Tags", "Website", "Status", "Shoe Size", "Customer ID",
)  # fmt: skip
_SAMPLES = [
    "", " ", "Acme GmbH", " Acme GmbH ", "acme gmbh", "Anna", "Zoë Winter", "Ben",
    "anna@acme.example", "ANNA@Acme.Example", "not an email", "zoe@winter.example",
    "+49 30 123456", "+44 20 7946 0018", "+44 7700 900123", "030 1234567", "12",
    "Berlin", "Leeds", "DE", "Germany", "gb", "Narnia", "Logistics", "x" * 130,
    "2021-03-04T09:30:00Z", "03/04/2021", "yesterday", "VIP, Key", "acme.example",
    "prospect", "unknown status", "Head of Buying",
]  # fmt: skip
_VALUES = st.one_of(st.sampled_from(_SAMPLES), st.text(alphabet="aé +@.,;-0123456789", max_size=8))


def _plan_of(ws: Workspace, path: Path, quick: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The plan a dry run makes of ``path``, with the shortcuts (``quick``) or without."""
    plans = []

    def plan_rows(*args: Any, **kwargs: Any) -> Any:
        plans.append(planning._plan_rows(*args, **kwargs))
        return plans[-1]

    with monkeypatch.context() as patched:
        patched.setattr(planning, "QUICK", quick)
        patched.setattr(csv_import, "_plan_rows", plan_rows)
        try:
            import_customers_csv(ws, path, dry_run=True)
        except ValidationError as exc:
            return exc.message
        except UnicodeError as exc:  # a web address of an empty label: both ways alike
            return repr(exc)
    return plans[0]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rows_are_planned_as_the_plain_way_plans_them(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    """Whole plans (each row's cleaned records, doubts, problems and changes) of files
    with any of the usual columns, rows short of some (the shortcuts are for whole
    rows) or with more cells than headers."""
    headers = data.draw(st.lists(st.sampled_from(_HEADERS), min_size=1, max_size=9, unique=True))
    width = len(headers)
    rows = data.draw(
        st.lists(
            st.lists(_VALUES, min_size=max(0, width - 2), max_size=width + 1),
            min_size=1,
            max_size=6,
        )
    )
    text = io.StringIO()
    csv.writer(text).writerows([headers, *rows])
    path = tmp_path / "file.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    plain = _plan_of(ws, path, False, monkeypatch)
    quick = _plan_of(ws, path, True, monkeypatch)
    assert quick == plain


def test_a_file_of_every_shortcut_is_planned_as_the_plain_way_plans_it(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows with all their columns, short ones, times written alike and differently
    (one not a time), a company on two rows: each shortcut taken and passed by."""
    rows = [
        ["Company", "First Name", "Last Name", "Email", "Mobile", "City", "Created Date", "Size"],
        ["Acme GmbH", "Anna", "Alt", "anna@acme.example", "+44 7700 900123", "Leeds",
         "2021-03-04T09:30:00Z", "41"],
        ["Acme GmbH", "Ben", "Berg", "ben@acme.example", "+49 30 123456", "Köln",
         "03/04/2021", "42"],
        ["Winter AG", "Zoë", "Winter", "zoe@winter.example", "", "", "2021-03-04T09:30:00Z"],
        ["Winter AG", "Yann", "Yu", "not an email", "12", "Berlin", "yesterday", "43"],
        ["Solo", "", "", "", "", "", "03/04/2021", ""],
        ["Dora", "Dora", "Dahl"],
        ["Erik Ltd", "Erik", "Eng", "erik@eng.example", "030 1234567", "Bern",
         "2022-01-01T00:00:00+01:00", "44", "extra cell"],
    ]  # fmt: skip
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    path = tmp_path / "file.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    plain = _plan_of(ws, path, False, monkeypatch)
    assert isinstance(plain, planning._Plan)
    assert len(plain.planned) == 7
    assert _plan_of(ws, path, True, monkeypatch) == plain
