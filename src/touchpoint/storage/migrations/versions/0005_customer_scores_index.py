"""an index that answers "last touch and last scores" without reading interactions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

The going-quiet list and the data hygiene of the daily report ask, for every customer,
when they were last touched and what their last six scores were. Through the
(customer_id, occurred_at) index each answer read the interaction rows themselves,
which carry the notes: a 100,000-customer book read most of a million rows. This
partial index holds the score too and only live interactions, so both subqueries
are answered from the index alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_customer_scores",
        "interactions",
        ["customer_id", "occurred_at", "satisfaction"],
        sqlite_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_customer_scores", table_name="interactions")
