"""signed webhooks

Revision ID: hub0005
Revises: hub0004
Create Date: 2026-12-06

Endpoints (URL, events, teams, secret, state and a cursor into ``changes``), one
delivery row per endpoint and event with its body and state, every attempt with its
status code, reason and duration, and the one-row lease that makes one dispatcher
per database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0005"
down_revision = "hub0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("teams", sa.JSON),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("server_seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("next_at", sa.String(27), nullable=False),
        sa.Column("expires_at", sa.String(27), nullable=False),
        sa.Column("claimed_until", sa.String(27)),
        sa.Column("done_at", sa.String(27)),
        sa.Column("last_code", sa.Integer),
        sa.Column("last_reason", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_id_event_id"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["endpoint_id", "status", "next_at"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("at", sa.String(27), nullable=False),
        sa.Column("code", sa.Integer),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    lease = op.create_table(
        "webhook_lease",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(80)),
        sa.Column("until", sa.String(27)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_lease"),
    )
    op.bulk_insert(lease, [{"id": 1, "owner": None, "until": None}])


def downgrade() -> None:
    op.drop_table("webhook_lease")
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
