"""The benchmarks only read their dataset: one made by an older Touchpoint is refused,
never upgraded in place (an upgrade rewrites the file, and a before/after pair across a
migration needs the old one as it was)."""

from __future__ import annotations

from pathlib import Path

from touchpoint.storage import migrate


def require_current(data: Path) -> None:
    """Exit with a message unless ``data``'s database is at this code's schema."""
    found = migrate.schema_revision(data / "touchpoint.sqlite3")
    wanted = migrate.head_revision()
    if found != wanted:
        raise SystemExit(
            f"{data} holds a database at schema {found or 'none'}, and this Touchpoint "
            f"reads {wanted}. A benchmark only reads its dataset: make it again with "
            "make_dataset.py, or upgrade a copy (open the copy once with this version) "
            "and point the benchmark at the copy."
        )
