"""Rendering for the command line: stable JSON for scripts, aligned text for people.

JSON output has sorted keys, ISO 8601 UTC times (``2026-11-18T09:30:00Z``), decimals
as strings and no colour. Human output shows times in the user's time zone and
uses colour only when stdout is a terminal.

This module imports nothing heavy: every command loads it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

import click

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- JSON -------------------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a ``Z``; seconds only when not zero."""
    utc = moment.astimezone(UTC).replace(microsecond=0)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(value: Any) -> Any:
    """Plain JSON values for dataclasses, times, decimals, enums and paths."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, datetime):
        return iso_utc(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes):  # a picture: as it is stored and synced
        return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(jsonable(data), sort_keys=True, indent=2, ensure_ascii=False))


# --- text for people ----------------------------------------------------------------


def is_tty(stream: Any = None) -> bool:
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def style(text: str, **kwargs: Any) -> str:
    """``click.style`` on a terminal, the plain text anywhere else."""
    return click.style(text, **kwargs) if is_tty() else text


def local_time(moment: datetime | None, tz: tzinfo, *, with_weekday: bool = True) -> str:
    """A stored UTC time as the user reads it: ``Fri 2026-11-20 10:00``."""
    if moment is None:
        return ""
    here = moment.astimezone(tz)
    return here.strftime("%a %Y-%m-%d %H:%M" if with_weekday else "%Y-%m-%d %H:%M")


def clip(text: str | None, width: int) -> str:
    """One line of at most ``width`` characters (long notes end with an ellipsis)."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def plural(count: int, word: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def more_line(
    shown: int,
    total: int,
    *,
    option: str = "--limit",
    most: int | None = None,
    at_least: bool = False,
) -> str:
    """What a cut list says under itself: ``… and 14 more (use --limit 34)``; empty when
    nothing was cut. ``most``: the largest value the option takes (past it, narrow down);
    ``at_least``: the total was counted only up to a cap."""
    more = total - shown
    if more <= 0:
        return ""
    wanted = total if most is None else min(total, most)
    narrow = "" if wanted == total and not at_least else ", or narrow it down"
    return f"… and {'at least ' if at_least else ''}{more:,} more (use {option} {wanted}{narrow})"


def say_more(shown: int, total: int, **kwargs: Any) -> None:
    """:func:`more_line` on stderr, so that a pipe or a script reading stdout gets only
    the list (JSON output carries the same counts)."""
    line = more_line(shown, total, **kwargs)
    if line:
        click.echo(line, err=True)


def visible_len(text: str) -> int:
    return len(_ANSI.sub("", text))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned to their widest cell (colour codes do not count)."""
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    widths = [visible_len(h) for h in headers]
    for row in cells:
        for n, cell in enumerate(row):
            widths[n] = max(widths[n], visible_len(cell))

    def line(row: Sequence[str]) -> str:
        padded = [cell + " " * (widths[n] - visible_len(cell)) for n, cell in enumerate(row)]
        return "  ".join(padded).rstrip()

    out = [line([style(h, bold=True) for h in headers])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """``label  value`` lines with the labels aligned; empty values are left out."""
    shown = [(k, str(v)) for k, v in pairs if v not in (None, "", [], {})]
    if not shown:
        return ""
    width = max(len(k) for k, _ in shown)
    return "\n".join(f"{style(k.ljust(width), fg='cyan')}  {v}" for k, v in shown)


def heading(text: str) -> str:
    return style(text, bold=True)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr when it is a terminal.

    Off a terminal it yields None, so scripts and logs get no bar characters."""
    if not is_tty(sys.stderr):
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            bar.__enter__()
        bar.length = max(total, 1)
        bar.update(max(0, done - bar.pos))

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
