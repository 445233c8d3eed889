"""the Hub's first schema

Revision ID: hub0001
Revises:
Create Date: 2026-11-23

Users, teams, device tokens, devices, the change log with its counter, the
change ids received, and the records' current values with per-field versions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub0001"
down_revision = None
branch_labels = None
depends_on = None


def _fk(target: str, table: str, column: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, name=f"fk_{table}_{column}_{target.partition('.')[0]}")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("disabled_at", sa.String(27)),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer, _fk("users.id", "memberships", "user_id")),
        sa.Column("team_id", sa.Integer, _fk("teams.id", "memberships", "team_id")),
        sa.PrimaryKeyConstraint("user_id", "team_id", name="pk_memberships"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            _fk("users.id", "tokens", "user_id"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("device_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("last_used_at", sa.String(27)),
        sa.Column("revoked_at", sa.String(27)),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            _fk("users.id", "devices", "user_id"),
            nullable=False,
        ),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("clock_offset_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.String(27)),
        sa.PrimaryKeyConstraint("device_id", name="pk_devices"),
    )
    op.create_table(
        "counter",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_counter"),
    )
    op.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
    op.create_table(
        "changes",
        sa.Column("server_seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.Integer),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("at", sa.String(27), nullable=False),
        sa.Column("corrected_at", sa.String(27), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("received_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("server_seq", name="pk_changes"),
        sa.UniqueConstraint("change_id", name="uq_changes_change_id"),
    )
    op.create_index("ix_changes_team_seq", "changes", ["team", "server_seq"])
    op.create_index("ix_changes_record", "changes", ["entity", "record_id"])
    op.create_table(
        "received",
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("server_seq", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("change_id", name="pk_received"),
    )
    op.create_table(
        "records",
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("entity", "record_id", name="pk_records"),
    )
    op.create_index("ix_records_team", "records", ["team", "entity"])


def downgrade() -> None:
    for table in (
        "records",
        "received",
        "changes",
        "counter",
        "devices",
        "tokens",
        "memberships",
        "teams",
        "users",
    ):
        op.drop_table(table)
