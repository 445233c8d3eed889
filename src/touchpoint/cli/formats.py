"""Which file format an export or a report writes: --format, or --out's extension.

``--format csv --out promises.xlsx`` would write CSV into a file every program then
opens as a broken workbook, so a format that contradicts the file's extension is
refused, naming both. Without --format the extension says it. A format the machine
policy forbids is said to be the policy's doing (naming the file) before a command's
own list of formats is consulted.
"""

from __future__ import annotations

from pathlib import Path

from touchpoint.errors import ValidationError

# Extensions people give these files, for the formats Touchpoint writes.
EXTENSIONS = {
    "csv": "csv", "xlsx": "xlsx", "json": "json", "pdf": "pdf", "html": "html",
    "htm": "html", "vcf": "vcf", "vcard": "vcf", "ics": "ics", "ical": "ics",
}  # fmt: skip


def format_of_file(out: Path) -> str | None:
    """The format a file's extension names, if it names one Touchpoint writes."""
    return EXTENSIONS.get(out.suffix.lower().lstrip("."))


def choose_format(
    fmt: str | None,
    out: Path,
    offered: tuple[str, ...],
    *,
    default: str | None = None,
) -> str:
    """The format to write ``out`` in: ``fmt`` when given (it must agree with a known
    extension), else the extension's, else ``default``. Raises ValidationError on
    "format" naming what is wrong."""
    from touchpoint.cli.runtime import state
    from touchpoint.domain.export_formats import canonical_format
    from touchpoint.policy import check_export_format

    by_name = format_of_file(out)
    if fmt:
        wanted = canonical_format(fmt)
        if by_name is not None and by_name != wanted:
            raise ValidationError(
                "format",
                f"--format {wanted} does not match --out {out.name} ({by_name} by its "
                f"extension); give --out a .{wanted} name, or --format {by_name}",
            )
    elif by_name is not None:
        wanted = by_name
    elif default is not None:
        wanted = default
    else:
        raise ValidationError(
            "format",
            f"give --format ({'|'.join(offered)}); --out {out.name} does not say which",
        )
    # The policy's word first: it is why xlsx is not offered.
    check_export_format(wanted, state().context.policy)
    if wanted not in offered:
        raise ValidationError(
            "format", f"'{wanted}' is not a format of this export; it writes {', '.join(offered)}"
        )
    return wanted


def format_help(offered: tuple[str, ...], default: str | None = None) -> str:
    """--format's help: the formats, and where the format comes from without it."""
    then = f", else {default}" if default else ""
    return f"{', '.join(offered)} (default: from --out's extension{then})."
