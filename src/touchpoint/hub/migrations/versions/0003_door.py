"""login throttling and what laptops report

Revision ID: hub0003
Revises: hub0002
Create Date: 2026-12-06

``login_failures`` counts wrong sign-ins per account and per client address, so a
password guesser is answered "try later" without the Hub hashing anything. Each
device row keeps what its laptop last said about itself in its hello: version,
changes waiting and refused, records set aside.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0003"
down_revision = "hub0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", sa.String(27), nullable=False),
        sa.Column("blocked_until", sa.String(27)),
        sa.PrimaryKeyConstraint("key", name="pk_login_failures"),
    )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("app_version", sa.String(40)))
        batch.add_column(sa.Column("report", sa.JSON))
        batch.add_column(sa.Column("reported_at", sa.String(27)))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("reported_at")
        batch.drop_column("report")
        batch.drop_column("app_version")
    op.drop_table("login_failures")
