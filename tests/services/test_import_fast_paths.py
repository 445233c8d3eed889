"""Each shortcut an import takes for a whole file (or a whole column) against the plain
way it stands in for: the same result, on files made to hit the cases the shortcut skips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint.services.importing import decoding

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
