"""Reading an import file: its encoding, delimiter, header row and rows (CSV or .xlsx)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import charset_normalizer

from touchpoint.errors import ValidationError

SAMPLE_BYTES = 64 * 1024


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DELIMITERS = (",", ";", "\t", "|")


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'-be' when NUL bytes sit at every other position, as in ASCII-ish UTF-16."""
    sample = data[:SAMPLE_BYTES]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / max(1, len(odd))
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _plausible_cp1252(text: str) -> bool:
    """Western text read as Windows-1252 has a few accented letters in mostly plain words;
    Cyrillic or Greek read as 1252 gives words made only of accented letters."""
    words = [w for w in re.findall(r"[^\W\d_]{3,}", text) if not w.isascii()]
    if not words:
        return True
    odd = sum(1 for w in words if sum(not c.isascii() for c in w) * 2 > len(w))
    return odd * 2 <= len(words)


def decode(data: bytes, name: str = "file") -> tuple[str, str]:
    """(text, encoding) of a text file: BOM, then UTF-8, then Windows-1252 or what
    charset-normalizer recognises. Raises ValidationError("file", ...) otherwise."""
    if data.startswith(b"PK\x03\x04"):
        raise ValidationError(
            "file", f"{name} is an Excel workbook or a zip archive, not a CSV file: save it as CSV"
        )
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise ValidationError(
                    "file", f"{name} starts like {encoding.upper()} but is not valid {encoding}"
                ) from None
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and _plausible_cp1252(text):
        return text, "cp1252"
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ValidationError(
            "file",
            f"{name} is not text in an encoding Touchpoint recognises "
            "(UTF-8, UTF-16, Windows-1252 or Latin-1)",
        )
    return str(best), best.encoding


def _delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most columns (ties: , ; tab |)."""
    head = text[:SAMPLE_BYTES]
    best, best_count = ",", 1
    for candidate in DELIMITERS:
        try:
            first = next(csv.reader(io.StringIO(head), delimiter=candidate), [])
        except csv.Error:
            continue
        if len(first) > best_count:
            best, best_count = candidate, len(first)
    return best


@dataclass
class _Table:
    encoding: str
    delimiter: str
    headers: list[str]
    records: list[tuple[int, list[str]]]  # (row number, cells) of each non-blank data row
    name: str


def _clean_cell(cell: str) -> str:
    """A cell without NULs, and without the apostrophe that a CSV export puts before a
    value a spreadsheet would read as a formula (see exporting.neutralise_cell)."""
    if "\x00" in cell:
        cell = cell.replace("\x00", "")
    if cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS:
        cell = cell[1:]
    return cell


_FORMULA_STARTS = frozenset("=+-@\t\r")
# An apostrophe then a formula's first character, or then a quote: the csv reader
# drops a closing quote and keeps what follows it ("'"=1 is read as '=1).
_QUOTED_FORMULAS = (*(f"'{c}" for c in sorted(_FORMULA_STARTS)), "'\"")


def _plain_cells(text: str) -> bool:
    """Whether :func:`_clean_cell` leaves every cell read from ``text`` as it is: no NUL,
    and no apostrophe anywhere that a cell's could be (see _QUOTED_FORMULAS)."""
    return "\x00" not in text and not any(quoted in text for quoted in _QUOTED_FORMULAS)


def _open_table(path: Path) -> _Table:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError("file", f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8 + b"\xff\xfe"):
        raise ValidationError("file", f"{path.name} is empty")
    if data[:4] == b"PK\x03\x04":  # a zip: an Excel workbook (.xlsx), not text
        return _open_workbook(path, data)
    text, encoding = decode(data, path.name)
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    # The csv module refuses a cell over 128 KB (an exported history in a notes cell):
    # no cell can be longer than its file. The limit is the module's, process-wide.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    header_row = 0
    try:
        for record in reader:
            header_row += 1
            if any(cell.strip() for cell in record):
                headers = [_clean_cell(c).strip().lstrip("\ufeff") for c in record]
                break
    except csv.Error as exc:
        raise ValidationError("file", f"{path.name} is not a readable CSV file ({exc})") from None
    if headers is None:
        raise ValidationError("file", f"{path.name} is empty")

    records: list[tuple[int, list[str]]] = []
    # Decided once for the file rather than for each cell: with no NUL and no quoted
    # formula start anywhere in the text, _clean_cell leaves every cell as it is.
    plain = _plain_cells(text)
    try:
        for number, record in enumerate(reader, start=header_row + 1):
            # A row of blank cells only is no row: its cells joined are blank too.
            if "".join(record).strip():
                records.append((number, record if plain else [_clean_cell(c) for c in record]))
    except csv.Error as exc:
        raise ValidationError(
            "file", f"{path.name} is not a readable CSV file near line {reader.line_num} ({exc})"
        ) from None
    return _Table(encoding, delimiter, headers, records, path.name)


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold: whole numbers
    without ".0", dates as ISO text, an empty cell as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _open_workbook(path: Path, data: bytes) -> _Table:
    """The first sheet of an Excel workbook: its first non-blank row is the header row,
    read with the same column mapping as a CSV file."""
    import openpyxl  # only an .xlsx import pays for loading it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any damage in the zip or its XML
        raise ValidationError(
            "file", f"{path.name} is not a readable Excel workbook (.xlsx): {exc}"
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ValidationError("file", f"{path.name} has no sheet")
        headers: list[str] | None = None
        records: list[tuple[int, list[str]]] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_clean_cell(_cell_text(c)) for c in row]
            if not any(c.strip() for c in cells):
                continue
            if headers is None:
                headers = [c.strip() for c in cells]
            else:
                records.append((number, cells))
    finally:
        book.close()
    if headers is None:
        raise ValidationError("file", f"{path.name} is empty")
    return _Table("xlsx", "", headers, records, path.name)
