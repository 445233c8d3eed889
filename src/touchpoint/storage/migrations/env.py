"""Alembic environment for the local database; run from code by touchpoint.storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from touchpoint.storage.models import Base

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        transactional_ddl=True,  # the whole upgrade commits, or nothing does
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
