"""the live customers by name, for the customer list

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

The customer list reads one block of rows at a time, in name order, from an offset:
to skip the rows before it, SQLite walked the name index and read every customer's
row to see whether it is live (not deleted, not merged), so the last block of
100,000 customers took a second. This partial index holds only live customers: the
walk, and the list's count, never read a row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_customers_live_name",
        "customers",
        ["name"],
        sqlite_where=sa.text("deleted_at IS NULL AND merged_into_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_live_name", table_name="customers")
