"""each live customer's folded name as an identity key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

An import matches the company names of a file with the customers here, and looks for
customers of the same name as those it creates, by their folded names (no case,
accents, punctuation or legal suffixes). Both read and folded every live customer's
name (100,000 at L: a second of a 20,000-row import). The folded name is now an
identity key ("name"), kept with the record's other keys on every write, so both
are index lookups. This writes the keys of the customers already here.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The folding is the app's own (storage.identity.keys_of writes the same keys).
    from touchpoint.domain.values import name_key

    conn = op.get_bind()
    rows = conn.exec_driver_sql(
        "SELECT id, name FROM customers WHERE deleted_at IS NULL AND merged_into_id IS NULL"
    ).all()
    keys = [(record_id, name_key(name or "")) for record_id, name in rows]
    if keys:
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value) "
            "VALUES ('customer', ?, 'name', ?)",
            keys,
        )


def downgrade() -> None:
    op.execute("DELETE FROM identity_keys WHERE kind = 'name'")
