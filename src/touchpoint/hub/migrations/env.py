"""Alembic environment for the Hub's database; run from code by touchpoint.hub.db.upgrade."""

from __future__ import annotations

from alembic import context

from touchpoint.hub.db import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run(config.attributes["connection"])
