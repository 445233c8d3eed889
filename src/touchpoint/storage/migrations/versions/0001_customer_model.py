"""the customer model and the change log

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("tx_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("schema_version", sa.String(length=32), nullable=False),
        sa.Column("pushed_at", sa.String(length=27), nullable=True),
        sa.Column("push_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_log")),
        sa.UniqueConstraint("change_id", name=op.f("uq_change_log_change_id")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_log_outbox", ["seq"], unique=False, sqlite_where=sa.text("pushed_at IS NULL")
        )
        batch_op.create_index("ix_change_log_record", ["entity", "record_id", "seq"], unique=False)

    op.create_table(
        "custom_field_defs",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field_defs")),
        sa.UniqueConstraint("key", name=op.f("uq_custom_field_defs_key")),
    )
    op.create_table(
        "customers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("segment", sa.String(length=120), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("territory", sa.String(length=120), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("yearly_potential", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("confirmed_at", sa.String(length=27), nullable=True),
        sa.Column("merged_into_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_name", ["name"], unique=False)
        batch_op.create_index("ix_customers_owner", ["owner"], unique=False)
        batch_op.create_index("ix_customers_status", ["status"], unique=False)
        batch_op.create_index("ix_customers_territory", ["territory"], unique=False)
        batch_op.create_index("ix_customers_updated_at", ["updated_at"], unique=False)

    op.create_table(
        "local_meta",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_local_meta")),
    )
    op.create_table(
        "merges",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("winner_id", sa.String(length=36), nullable=False),
        sa.Column("loser_id", sa.String(length=36), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("undone_at", sa.String(length=27), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    op.create_table(
        "contacts",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("decision_role", sa.String(length=40), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("preferred_channel", sa.String(length=20), nullable=True),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("merged_into_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contacts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "deals",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("expected_close", sa.String(length=10), nullable=True),
        sa.Column("closed_at", sa.String(length=27), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_deals_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "interactions",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=True),
        sa.Column("occurred_at", sa.String(length=27), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("contact_ids", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=120), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("depth", sa.String(length=20), nullable=True),
        sa.Column("rep", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interactions_customer_occurred", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_interactions_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_interactions_rep_occurred", ["rep", "occurred_at"], unique=False)

    op.create_table(
        "followups",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("interaction_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("due_at", sa.String(length=27), nullable=False),
        sa.Column("remind_at", sa.String(length=27), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("done_at", sa.String(length=27), nullable=True),
        sa.Column("assigned_to", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.String(length=27), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_followups_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_followups_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_followups_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index("ix_followups_assigned_due", ["assigned_to", "due_at"], unique=False)
        batch_op.create_index("ix_followups_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_followups_remind_at", ["remind_at"], unique=False)
        batch_op.create_index("ix_followups_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_status_due")
        batch_op.drop_index("ix_followups_remind_at")
        batch_op.drop_index("ix_followups_customer_id")
        batch_op.drop_index("ix_followups_assigned_due")

    op.drop_table("followups")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_rep_occurred")
        batch_op.drop_index("ix_interactions_occurred_at")
        batch_op.drop_index("ix_interactions_customer_occurred")

    op.drop_table("interactions")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_customer_id")

    op.drop_table("deals")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_customer_id")

    op.drop_table("contacts")
    op.drop_table("merges")
    op.drop_table("local_meta")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_updated_at")
        batch_op.drop_index("ix_customers_territory")
        batch_op.drop_index("ix_customers_status")
        batch_op.drop_index("ix_customers_owner")
        batch_op.drop_index("ix_customers_name")

    op.drop_table("customers")
    op.drop_table("custom_field_defs")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_record")
        batch_op.drop_index("ix_change_log_outbox", sqlite_where=sa.text("pushed_at IS NULL"))

    op.drop_table("change_log")
