"""integration API keys and idempotent writes

Revision ID: hub0004
Revises: hub0003
Create Date: 2026-12-06

``api_keys`` holds the keys servers use for the integration REST API (``/api/v1``):
their SHA-256 only, their teams, scope and rate limit, and the Hub user each writes
as. ``api_idempotency`` keeps, for 24 hours, the answer to each write sent with an
``Idempotency-Key``, so a retried request gets the same answer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0004"
down_revision = "hub0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("teams", sa.JSON, nullable=False),
        sa.Column("scope", sa.String(5), nullable=False),
        sa.Column("per_minute", sa.Integer, nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_api_keys_user_id_users"),
            nullable=False,
        ),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("last_used_at", sa.String(27)),
        sa.Column("revoked_at", sa.String(27)),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "api_idempotency",
        sa.Column(
            "key_id",
            sa.Integer,
            sa.ForeignKey("api_keys.id", name="fk_api_idempotency_key_id_api_keys"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idempotency_key", name="pk_api_idempotency"),
    )
    op.create_index("ix_api_idempotency_created_at", "api_idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_idempotency_created_at", table_name="api_idempotency")
    op.drop_table("api_idempotency")
    op.drop_table("api_keys")
