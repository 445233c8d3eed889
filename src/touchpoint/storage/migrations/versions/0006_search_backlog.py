"""full-text indexing may follow the data: a backlog per index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

A first sync of a manager's laptop brings over a million records; feeding them to
FTS5 as they land took about half of the sync. A big pull now stores the records
and leaves their documents to be indexed right after, in short transactions, while
the rep already works. ``search_backlog`` says, per index, that the documents above
``done`` are not in it yet. The index triggers leave those documents alone (the
catch-up reads them as they are when it gets there); documents at or below ``done``
are kept in step as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copy of the triggers as of this revision: (fts table, entities).
_INDEXES = (
    ("search_fts_names", "('customer', 'contact')"),
    ("search_fts", "('interaction', 'followup')"),
)


def _triggers(table: str, entities: str, guarded: bool) -> list[str]:
    def indexed(row: str) -> str:
        if not guarded:
            return ""
        return (
            f" AND NOT EXISTS (SELECT 1 FROM search_backlog "
            f"WHERE fts = '{table}' AND {row}.doc_id > done)"
        )

    return [
        f"""CREATE TRIGGER {table}_ai AFTER INSERT ON search_docs
            WHEN new.entity IN {entities}{indexed("new")} BEGIN
            INSERT INTO {table}(rowid, title, body) VALUES (new.doc_id, new.title, new.body);
        END""",
        f"""CREATE TRIGGER {table}_ad AFTER DELETE ON search_docs
            WHEN old.entity IN {entities}{indexed("old")} BEGIN
            INSERT INTO {table}({table}, rowid, title, body)
            VALUES ('delete', old.doc_id, old.title, old.body);
        END""",
        # One update trigger, delete before insert: FTS5 needs them in that order.
        f"""CREATE TRIGGER {table}_au AFTER UPDATE ON search_docs
            WHEN (old.entity IN {entities} OR new.entity IN {entities}){indexed("old")} BEGIN
            INSERT INTO {table}({table}, rowid, title, body)
            SELECT 'delete', old.doc_id, old.title, old.body WHERE old.entity IN {entities};
            INSERT INTO {table}(rowid, title, body)
            SELECT new.doc_id, new.title, new.body WHERE new.entity IN {entities};
        END""",
    ]


def _replace_triggers(guarded: bool) -> None:
    for table, entities in _INDEXES:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
        for statement in _triggers(table, entities, guarded):
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "search_backlog",
        sa.Column("fts", sa.String(40), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fts", name="pk_search_backlog"),
    )
    _replace_triggers(guarded=True)


def downgrade() -> None:
    # Revision 0005 knows no backlog: index what waits, then drop it.
    conn = op.get_bind()
    for table, entities in _INDEXES:
        done = conn.exec_driver_sql(
            "SELECT done FROM search_backlog WHERE fts = ?", (table,)
        ).scalar()
        if done is not None:
            conn.exec_driver_sql(
                f"INSERT INTO {table}(rowid, title, body) SELECT doc_id, title, body "
                f"FROM search_docs WHERE doc_id > ? AND entity IN {entities}",
                (done,),
            )
    _replace_triggers(guarded=False)
    op.drop_table("search_backlog")
