"""connectors to other systems (BottleCRM first)

Revision ID: hub0006
Revises: hub0005
Create Date: 2026-12-06

``connectors`` names each connector, the team and Hub account it writes as and how far
it has read the change log; ``connector_links`` is the id map (Hub record <-> the other
system's record, with a fingerprint of what was last exchanged); ``connector_failures``
holds what could not be delivered: retried, then dead with its reason.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0006"
down_revision = "hub0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("token_file", sa.String(1000), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("out_after", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("last_run_at", sa.String(27)),
        sa.Column("last_ok_at", sa.String(27)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_counts", sa.JSON),
        sa.PrimaryKeyConstraint("name", name="pk_connectors"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_connectors_user_id_users"),
    )
    op.create_table(
        "connector_links",
        sa.Column("connector", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("remote_id", sa.String(64)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("connector", "entity", "record_id", name="pk_connector_links"),
        sa.ForeignKeyConstraint(
            ["connector"], ["connectors.name"], name="fk_connector_links_connector_connectors"
        ),
    )
    op.create_index(
        "ix_connector_links_remote", "connector_links", ["connector", "entity", "remote_id"]
    )
    op.create_table(
        "connector_failures",
        sa.Column("connector", sa.String(60), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("dead", sa.Integer, nullable=False),
        sa.Column("first_failed_at", sa.String(27), nullable=False),
        sa.Column("last_failed_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint(
            "connector", "direction", "entity", "record_id", name="pk_connector_failures"
        ),
        sa.ForeignKeyConstraint(
            ["connector"],
            ["connectors.name"],
            name="fk_connector_failures_connector_connectors",
        ),
    )


def downgrade() -> None:
    op.drop_table("connector_failures")
    op.drop_index("ix_connector_links_remote", "connector_links")
    op.drop_table("connector_links")
    op.drop_table("connectors")
