"""sync state: conflicts kept from the Hub

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Adds the conflicts list. The outbox is the change log itself (``pushed_at`` NULL):
changes still waiting are left exactly as they are, so each is pushed once after
the upgrade. The pull cursor and the Hub's address live in ``local_meta``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("winner_value", sa.JSON(), nullable=True),
        sa.Column("loser_value", sa.JSON(), nullable=True),
        sa.Column("winner_author", sa.String(length=200), nullable=False),
        sa.Column("loser_author", sa.String(length=200), nullable=False),
        sa.Column("winner_at", sa.String(length=27), nullable=False),
        sa.Column("loser_at", sa.String(length=27), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("resolved_at", sa.String(length=27), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_conflicts"),
    )
    op.create_index("ix_sync_conflicts_record", "sync_conflicts", ["entity", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_conflicts_record", table_name="sync_conflicts")
    op.drop_table("sync_conflicts")
