"""enrollment tokens

Revision ID: hub0002
Revises: hub0001
Create Date: 2026-11-24

One-time tokens an admin hands to a laptop's set-up script: traded once, before
they expire, for a device token of an existing, enabled user. Only their SHA-256
hash is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0002"
down_revision = "hub0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_enrollments_user_id_users"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("expires_at", sa.String(27), nullable=False),
        sa.Column("used_at", sa.String(27)),
        sa.Column("device_id", sa.String(36)),
        sa.Column("device_name", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_enrollments"),
        sa.UniqueConstraint("token_hash", name="uq_enrollments_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("enrollments")
