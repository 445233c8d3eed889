"""a contact's picture

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A vCard's PHOTO used to be left out of an import. It is now the contact's picture:
``contacts.photo`` holds ``{"type": MIME, "data": base64}`` (JPEG, PNG, GIF or WebP,
at most 700 KB, so that it fits the Hub's limit for one field) or ``{"url": ...}``
for a card that only links to one. JSON like the other fields, so the change log
carries it and a sync merges it as one field.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE ADD COLUMN: instant, where a batch copy would rewrite every contact.
    op.add_column("contacts", sa.Column("photo", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("photo")
