"""an index of each rep's open follow-ups by due time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

Today lists a rep's overdue promises and those due later today, and says how many are
overdue in all. Through the (assigned_to, due_at) index each of those reads walked
every promise the rep ever made up to now, kept ones included, and read each row to
see whether it is still open. This partial index holds only open, live follow-ups, so
the lists and the count are read from it directly.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_followups_open_assigned_due",
        "followups",
        ["assigned_to", "due_at"],
        sqlite_where=sa.text("status = 'open' AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_followups_open_assigned_due", table_name="followups")
