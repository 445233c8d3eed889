"""The schema revisions this version knows, oldest first.

Listed here so that a start on a database already at the newest schema never loads
Alembic and its scripts, and so that readers that never load SQLAlchemy (Today at
start) can tell a database at the newest schema; a test checks this list against the
migration scripts.
"""

REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
)
