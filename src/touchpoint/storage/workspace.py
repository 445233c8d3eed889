"""The composition root of the core: one open database with its paths, settings and clock.

The window, the command line and the sync engine each open a Workspace and pass
it to the use cases in :mod:`touchpoint.services`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from os import PathLike
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchpoint.context import AppContext, resolve_context
from touchpoint.paths import AppPaths
from touchpoint.policy import LoadedPolicy, apply_policy, current_policy, user_part
from touchpoint.settings import Settings, save_settings
from touchpoint.storage import deferred_indexes, encryption, migrate, rekey
from touchpoint.storage.backup import daily_backup_if_due
from touchpoint.storage.database import Database, Turns
from touchpoint.storage.models import Meta
from touchpoint.storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Changes:
    """What a write changed: entity name -> ids. Views refresh only what they show."""

    records: dict[str, frozenset[str]] = field(default_factory=dict)

    def touches(self, entity: str) -> bool:
        return bool(self.records.get(entity))

    @classmethod
    def of(cls, uow: UnitOfWork) -> Changes:
        return cls({k: frozenset(v) for k, v in uow.changed.items() if v})


@dataclass(frozen=True)
class Saved(Generic[T]):
    """The result of a write use case: its value and what it changed."""

    value: T
    changes: Changes


def _database_key(paths: AppPaths, settings: Settings, policy: LoadedPolicy) -> str | None:
    """The database's SQLCipher key (None: plain), once the file is encrypted or not as
    the settings (or the policy) want. A missing key or a missing SQLCipher stops here,
    with the file untouched."""
    wanted = apply_policy(settings, policy).encrypt_database
    try:
        return rekey.prepare(paths.database, paths.backup_dir, wanted=wanted)
    except encryption.EncryptionUnavailable as exc:
        who = (
            f"Your IT department's policy ({policy.path}) requires"
            if "encrypt_database" in policy.forced_settings()
            else f"Your settings ({paths.settings_file}: encrypt_database) ask for"
        )
        raise encryption.EncryptionUnavailable(
            f"{who} the database to be encrypted, and this computer cannot: {exc.message} "
            "The database was not opened and was left as it was."
        ) from exc


class Workspace:
    def __init__(
        self,
        paths: AppPaths,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        policy: LoadedPolicy | None = None,
    ) -> None:
        self.paths = paths
        self.db = db
        self.policy = policy or current_policy()
        # The settings in force: the user's, with the machine policy's values on top.
        self.settings = apply_policy(settings, self.policy)
        self.clock = clock
        self.schema_version = migrate.head_revision()
        with db.read() as session:
            self.device_id = session.execute(
                select(Meta.value).where(Meta.key == "device_id")
            ).scalar_one()

    @classmethod
    def open(
        cls,
        data_dir: str | PathLike[str] | AppContext | None = None,
        *,
        auto_backup: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> Workspace:
        """Open (creating or upgrading as needed) the database of ``data_dir``: the
        start-up context the command or the window resolved, else a folder to resolve."""
        context = data_dir if isinstance(data_dir, AppContext) else resolve_context(data_dir)
        paths = context.paths.ensure()
        settings, policy = context.user_settings, context.policy
        db = Database(paths.database, _database_key(paths, settings, policy))
        made = migrate.upgrade(db, paths.backup_dir)
        if made:
            log.info("database upgraded; the previous version is kept at %s", made)
        deferred_indexes.build_pending(db)  # after a first sync that was stopped
        if auto_backup:
            try:
                daily_backup_if_due(paths.database, paths.backup_dir, key=db.key)
            except OSError as exc:  # a full disk must not stop a rep from working
                log.error("daily backup failed: %s", exc)
        return cls(paths, db, settings, clock=clock, policy=policy)

    # --- who, when, where -------------------------------------------------
    @property
    def author(self) -> str:
        return self.settings.author()

    @property
    def tz(self) -> tzinfo:
        return self.settings.tz()

    def now(self) -> datetime:
        return self.clock()

    def update_settings(self, settings: Settings) -> None:
        save_settings(
            self.paths.settings_file, user_part(settings, self.paths.settings_file, self.policy)
        )
        self.settings = apply_policy(settings, self.policy)

    # --- transactions -----------------------------------------------------
    def unit_of_work(self, *, origin: str = "local") -> UnitOfWork:
        return UnitOfWork(
            self.db,
            author=self.author,
            device_id=self.device_id,
            schema_version=self.schema_version,
            clock=self.clock,
            origin=origin,
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.db.read() as session:
            yield session

    def take_turns(self, turns: Turns | None) -> None:
        """Make the database's users on other threads wait for ``turns`` (the window's
        database thread hands them its turn); None: they no longer wait."""
        self.db.turns = turns

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
