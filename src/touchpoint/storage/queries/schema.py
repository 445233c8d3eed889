"""What the open database says about itself."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def revision(session: Session) -> str | None:
    """The schema revision Alembic recorded in the database (None when none is)."""
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
