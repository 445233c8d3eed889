"""A unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from sqlalchemy.orm import Session

from touchpoint.storage import bulk_write  # noqa: F401  (its flush hooks write what a change also writes)
from touchpoint.storage.database import Database
from touchpoint.storage.tracking import ChangeContext


class UnitOfWork:
    """Opens a write transaction (``BEGIN IMMEDIATE``) that records its changes.

    Use as a context manager; call :meth:`commit` explicitly. Leaving the block
    without committing, or with an exception, rolls everything back.
    """

    def __init__(
        self,
        db: Database,
        *,
        author: str,
        device_id: str,
        schema_version: str,
        clock: Callable[[], datetime],
        origin: str = "local",
    ) -> None:
        self._db = db
        self.context = ChangeContext(
            author=author,
            device_id=device_id,
            schema_version=schema_version,
            now=clock(),
            origin=origin,
        )
        self.session: Session

    @property
    def now(self) -> datetime:
        return self.context.now

    @property
    def changed(self) -> dict[str, set[str]]:
        return self.context.changed

    def __enter__(self) -> UnitOfWork:
        self.session = self._db.write_session()
        self.session.info["change_context"] = self.context
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()
