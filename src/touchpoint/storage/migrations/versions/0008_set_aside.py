"""sync scope: changes set aside, and each customer's team

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A pull page with one record this laptop cannot apply (a reference to a record it
does not hold, a value it cannot store) used to fail whole, and the pull position
stayed where it was for ever. Such a change is now kept in ``sync_set_aside`` with
its reason, the rest of the page applies, and later syncs try it again.

``customer_teams`` keeps the Hub team of each customer pulled: a merge across teams
is refused before it is made, and a team its rep no longer sees is removed.

Each change notes when it was made on the Hub's clock (``hub_at``) and the last Hub
sequence this laptop had pulled (``base_seq``): a clock corrected between an edit and
its sync no longer moves the edit, and a delete tells what its author had not seen.
A conflict keeps what the losing side did (``detail``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_set_aside",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("server_seq", sa.Integer, nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("retry", sa.Boolean, nullable=False),
        sa.Column("set_aside_at", sa.String(27), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_set_aside"),
    )
    op.create_index("ix_sync_set_aside_record", "sync_set_aside", ["entity", "record_id"])
    op.create_table(
        "customer_teams",
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_teams"),
    )
    op.create_index("ix_customer_teams_team", "customer_teams", ["team"])
    # ALTER TABLE ADD COLUMN: instant, where a batch copy would rewrite the change log.
    op.add_column("change_log", sa.Column("hub_at", sa.String(27)))
    op.add_column("change_log", sa.Column("base_seq", sa.Integer))
    op.add_column("sync_conflicts", sa.Column("detail", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("sync_conflicts") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("change_log") as batch:
        batch.drop_column("base_seq")
        batch.drop_column("hub_at")
    op.drop_index("ix_customer_teams_team", table_name="customer_teams")
    op.drop_table("customer_teams")
    op.drop_index("ix_sync_set_aside_record", table_name="sync_set_aside")
    op.drop_table("sync_set_aside")
