"""an index of follow-ups by the interaction they were promised in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

The daily report counts the promises made in a period by the interaction they were
made in (or, for one made on its own, by when it was created). With no index on
followups.interaction_id that count read every follow-up of the team's reps: a
50-rep team's week read all 200,000 follow-ups of a large book. Through this index
the week's interactions find their promises directly, and the promises made on their
own (interaction_id NULL) are found by creation time from the same index.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_followups_interaction_created", "followups", ["interaction_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_followups_interaction_created", table_name="followups")
