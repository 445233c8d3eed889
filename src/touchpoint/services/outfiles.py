"""Writing a file a person named (an export, a report, a backup, a diagnostics zip).

The file appears only when complete: it is written beside the target and renamed
onto it. It is readable by its owner only (0600): these files hold customer data or
a whole database. A folder that does not exist is refused, never made: a typo in a
path must not scatter copies of the data. Every failure is one ValidationError on
the option, with the system's reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_target(out: str | os.PathLike[str], *, field: str = "out") -> Path:
    """``out`` as a path, once it is known to be a file name in an existing folder."""
    from touchpoint.errors import ValidationError

    target = Path(out).expanduser()
    if target.is_dir():
        raise ValidationError(field, f"{target} is a folder; give a file name")
    if not target.parent.is_dir():
        raise ValidationError(field, f"folder {target.parent} does not exist")
    return target


def os_reason(exc: BaseException) -> str:
    """What the system said, without the errno and path Python adds around it."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@contextmanager
def atomic_output(out: Path, *, field: str = "out") -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed to ``out`` when the block
    ends normally (after an fsync), removed when it raises or is cancelled."""
    from touchpoint.errors import ValidationError

    out = Path(out)
    try:
        # mkstemp makes the file 0600, and a rename keeps the mode.
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise ValidationError(field, f"cannot write to {out.parent}: {os_reason(exc)}") from None
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        with temp.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ValidationError(field, f"cannot write {out}: {os_reason(exc)}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_target(out: str | os.PathLike[str], *, field: str = "out") -> Iterator[Path]:
    """:func:`atomic_output` for a path a person typed: a missing folder or a folder
    given as the file is named before anything is written."""
    target = check_target(out, field=field)
    with atomic_output(target, field=field) as temp:
        yield temp
