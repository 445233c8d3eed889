"""search index split into names and activity

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

One FTS5 index over everything made every search rank every match: a two-letter
prefix matched half a million notes. Customers and contacts (names) now have their
own small index, ``search_fts_names``; interactions and follow-ups (activity) keep
``search_fts``. Each is an external-content index over a view of ``search_docs``,
so the documents stay where they are; both indexes are rebuilt from them here.
The names index also has a one-letter prefix index, so a single typed letter is
answered from names quickly.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"

# Frozen copy of the index definition as of this revision.
_INDEXES = (
    # (fts table, content view, entities, prefix indexes)
    ("search_fts_names", "search_fts_names_docs", "('customer', 'contact')", "1 2 3 4"),
    ("search_fts", "search_fts_activity_docs", "('interaction', 'followup')", "2 3 4"),
)


def _ddl(table: str, view: str, entities: str, prefix: str) -> list[str]:
    return [
        f"""CREATE VIEW {view} AS
            SELECT doc_id, title, body FROM search_docs WHERE entity IN {entities}""",
        f"""CREATE VIRTUAL TABLE {table} USING fts5(
            title, body, content='{view}', content_rowid='doc_id', {_TOKENIZE},
            prefix='{prefix}')""",
        f"""CREATE TRIGGER {table}_ai AFTER INSERT ON search_docs
            WHEN new.entity IN {entities} BEGIN
            INSERT INTO {table}(rowid, title, body) VALUES (new.doc_id, new.title, new.body);
        END""",
        f"""CREATE TRIGGER {table}_ad AFTER DELETE ON search_docs
            WHEN old.entity IN {entities} BEGIN
            INSERT INTO {table}({table}, rowid, title, body)
            VALUES ('delete', old.doc_id, old.title, old.body);
        END""",
        # One update trigger, delete before insert: FTS5 needs them in that order.
        f"""CREATE TRIGGER {table}_au AFTER UPDATE ON search_docs
            WHEN old.entity IN {entities} OR new.entity IN {entities} BEGIN
            INSERT INTO {table}({table}, rowid, title, body)
            SELECT 'delete', old.doc_id, old.title, old.body WHERE old.entity IN {entities};
            INSERT INTO {table}(rowid, title, body)
            SELECT new.doc_id, new.title, new.body WHERE new.entity IN {entities};
        END""",
        # Title hits weigh ten times body hits, as before.
        f"INSERT INTO {table}({table}, rank) VALUES ('rank', 'bm25(10.0, 1.0)')",
        f"INSERT INTO {table}({table}) VALUES ('rebuild')",
    ]


def upgrade() -> None:
    for statement in (
        "DROP TRIGGER IF EXISTS search_docs_au",
        "DROP TRIGGER IF EXISTS search_docs_ad",
        "DROP TRIGGER IF EXISTS search_docs_ai",
        "DROP TABLE IF EXISTS search_fts",
    ):
        op.execute(statement)
    for table, view, entities, prefix in _INDEXES:
        for statement in _ddl(table, view, entities, prefix):
            op.execute(statement)


def downgrade() -> None:
    for table, view, _entities, _prefix in _INDEXES:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {table}")
        op.execute(f"DROP VIEW IF EXISTS {view}")
    # The single index of revision 0002.
    for statement in (
        """CREATE VIRTUAL TABLE search_fts USING fts5(
            title, body, content='search_docs', content_rowid='doc_id',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')""",
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
        "INSERT INTO search_fts(search_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)')",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
    ):
        op.execute(statement)
