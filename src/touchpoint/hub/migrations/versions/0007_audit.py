"""the audit log as a table; enrollment tokens can be revoked

Revision ID: hub0007
Revises: hub0006
Create Date: 2026-12-06

``audit_log`` keeps every administrative action, from the console and from
``touchpoint-hub`` alike: when, who, what, on what, through which and from which
address. It replaces the ``audit.jsonl`` file, which ``touchpoint-hub init`` and
``serve`` import once (see touchpoint.hub.console.audit). An enrollment token an
admin revokes keeps its row, marked ``revoked_at``, so the list says what became of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0007"
down_revision = "hub0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(27), nullable=False),
        sa.Column("who", sa.String(300), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("address", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("revoked_at", sa.String(27)))


def downgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("revoked_at")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
