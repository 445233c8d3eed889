"""full-text search and duplicate keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Adds the FTS5 search index and the identity keys used to spot duplicates, and
fills both from the records already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copy of the index definition as of this revision (later revisions may change it).
FTS_DDL = (
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        title, body,
        content='search_docs', content_rowid='doc_id',
        tokenize='unicode61 remove_diacritics 2',
        prefix='2 3 4'
    )""",
    """CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, title, body) VALUES (new.doc_id, new.title, new.body);
    END""",
    """CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
        VALUES ('delete', old.doc_id, old.title, old.body);
    END""",
    """CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body)
        VALUES ('delete', old.doc_id, old.title, old.body);
        INSERT INTO search_fts(rowid, title, body) VALUES (new.doc_id, new.title, new.body);
    END""",
)

_LIST_VALUES = (
    "(SELECT group_concat(json_extract(j.value, '$.value'), ' ') FROM json_each({col}) j)"
)

BACKFILL = (
    f"""INSERT INTO search_docs (entity, record_id, customer_id, title, body)
    SELECT 'customer', c.id, c.id, c.name, trim(
        coalesce(c.industry, '') || ' ' || coalesce(c.segment, '') || ' ' ||
        coalesce(c.territory, '') || ' ' || coalesce(c.website, '') || ' ' ||
        coalesce({_LIST_VALUES.format(col="c.emails")}, '') || ' ' ||
        coalesce({_LIST_VALUES.format(col="c.phones")}, '') || ' ' ||
        coalesce((SELECT group_concat(t.value, ' ') FROM json_each(c.tags) t), '') || ' ' ||
        coalesce(c.notes, ''))
    FROM customers c WHERE c.deleted_at IS NULL AND c.merged_into_id IS NULL""",
    f"""INSERT INTO search_docs (entity, record_id, customer_id, title, body)
    SELECT 'contact', p.id, p.customer_id, p.name, trim(
        coalesce(p.title, '') || ' ' || coalesce(p.decision_role, '') || ' ' ||
        coalesce({_LIST_VALUES.format(col="p.emails")}, '') || ' ' ||
        coalesce({_LIST_VALUES.format(col="p.phones")}, '') || ' ' || coalesce(p.notes, ''))
    FROM contacts p WHERE p.deleted_at IS NULL AND p.merged_into_id IS NULL""",
    """INSERT INTO search_docs (entity, record_id, customer_id, title, body)
    SELECT 'interaction', i.id, i.customer_id,
        coalesce(i.subject, upper(substr(i.kind, 1, 1)) || substr(i.kind, 2) ||
                 coalesce(' ' || i.outcome, '')),
        trim(coalesce(i.notes, '') || ' ' || coalesce(i.feedback, ''))
    FROM interactions i WHERE i.deleted_at IS NULL""",
    """INSERT INTO search_docs (entity, record_id, customer_id, title, body)
    SELECT 'followup', f.id, f.customer_id, f.title, coalesce(f.notes, '')
    FROM followups f WHERE f.deleted_at IS NULL AND f.status != 'cancelled'""",
    """INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value)
    SELECT 'customer', c.id, 'email', lower(json_extract(j.value, '$.value'))
    FROM customers c, json_each(c.emails) j
    WHERE c.deleted_at IS NULL AND c.merged_into_id IS NULL
      AND json_extract(j.value, '$.value') IS NOT NULL""",
    """INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value)
    SELECT 'customer', c.id, 'phone', json_extract(j.value, '$.value')
    FROM customers c, json_each(c.phones) j
    WHERE c.deleted_at IS NULL AND c.merged_into_id IS NULL
      AND json_extract(j.value, '$.value') IS NOT NULL""",
    """INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value)
    SELECT 'contact', p.id, 'email', lower(json_extract(j.value, '$.value'))
    FROM contacts p, json_each(p.emails) j
    WHERE p.deleted_at IS NULL AND p.merged_into_id IS NULL
      AND json_extract(j.value, '$.value') IS NOT NULL""",
    """INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value)
    SELECT 'contact', p.id, 'phone', json_extract(j.value, '$.value')
    FROM contacts p, json_each(p.phones) j
    WHERE p.deleted_at IS NULL AND p.merged_into_id IS NULL
      AND json_extract(j.value, '$.value') IS NOT NULL""",
)


def upgrade() -> None:
    op.create_table(
        "identity_keys",
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("entity", "record_id", "kind", "value", name="pk_identity_keys"),
    )
    op.create_index("ix_identity_keys_lookup", "identity_keys", ["kind", "value"])
    op.create_table(
        "search_docs",
        sa.Column("doc_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("doc_id", name="pk_search_docs"),
        sa.UniqueConstraint("entity", "record_id", name="uq_search_docs_entity_record_id"),
    )
    for statement in FTS_DDL:
        op.execute(statement)
    # Title hits weigh ten times body hits: a customer named "Berlin" beats a note
    # that mentions Berlin. FTS5 keeps this setting in the index itself.
    op.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)')")
    for statement in BACKFILL:
        op.execute(statement)
    # Host keys need URL parsing that SQL cannot do well: the app adds them on next edit;
    # rebuild them here from Python for records that have a website.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, website FROM customers WHERE website IS NOT NULL "
            "AND deleted_at IS NULL AND merged_into_id IS NULL"
        )
    ).all()
    from urllib.parse import urlsplit

    for record_id, url in rows:
        host = (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower()
        host = host.removeprefix("www.")
        if host:
            conn.execute(
                sa.text(
                    "INSERT OR IGNORE INTO identity_keys (entity, record_id, kind, value) "
                    "VALUES ('customer', :id, 'host', :host)"
                ),
                {"id": record_id, "host": host},
            )


def downgrade() -> None:
    for statement in (
        "DROP TRIGGER IF EXISTS search_docs_au",
        "DROP TRIGGER IF EXISTS search_docs_ad",
        "DROP TRIGGER IF EXISTS search_docs_ai",
        "DROP TABLE IF EXISTS search_fts",
    ):
        op.execute(statement)
    op.drop_table("search_docs")
    op.drop_index("ix_identity_keys_lookup", table_name="identity_keys")
    op.drop_table("identity_keys")
