"""The read side's layering that import-linter cannot express: services write no SQL.

import-linter checks which modules a module imports; ``sqlalchemy.text`` is a function,
not a module, so "services never build SQL text" is checked here on the source (the
raw-SQL helpers, and strings written as SQL statements). SQL
lives in :mod:`touchpoint.storage.queries` (and the rest of storage), which the services
call for named rows.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import touchpoint.services

SERVICES = Path(touchpoint.services.__file__).parent
# SQLAlchemy's ways to run SQL written as text, and the raw driver under a session.
RAW_SQL = {"text", "exec_driver_sql", "driver_connection", "literal_column"}


# A string that starts like a statement (upper case, as this code base writes SQL).
SQL_TEXT = re.compile(
    r"\s*(SELECT\s.+\sFROM\s|INSERT INTO\s|UPDATE\s\w+\sSET\s|DELETE FROM\s|PRAGMA\s\w+)", re.S
)


def raw_sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, name) of every import or attribute use of a RAW_SQL name, and (line,
    "SQL text") of every string (or f-string) that starts like a SQL statement."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and SQL_TEXT.match(str(head.value)):
                found.append((node.lineno, "SQL text"))
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL_TEXT.match(node.value):
                found.append((node.lineno, "SQL text"))
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [(node.lineno, a.name) for a in node.names if a.name in RAW_SQL]
        elif isinstance(node, ast.Attribute) and node.attr in RAW_SQL:
            # "text" is a common field name (q.text, reason.text): only SQLAlchemy's own.
            module = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr != "text" or module in {"sa", "sqlalchemy", "sql"}:
                found.append((node.lineno, node.attr))
    return sorted(set(found))  # an f-string's parts are seen again on their own


def test_the_check_sees_each_way_of_writing_sql_text() -> None:
    source = (
        "from sqlalchemy import select, text\n"
        "from sqlalchemy.sql import literal_column as col\n"
        "import sqlalchemy as sa\n"
        "sa.text('SELECT 1')\n"
        "conn.exec_driver_sql('SELECT 1')\n"
        "raw = session.connection().connection.driver_connection\n"
        "select(Customer.name).where(Customer.text == 'x')\n"
        "conn.execute(f'SELECT count(*) FROM {table}')\n"
        "UPDATE = 'Update the customer, then select from the list'\n"
    )
    assert raw_sql_uses(source) == [
        (1, "text"),
        (2, "literal_column"),
        (4, "text"),
        (5, "exec_driver_sql"),
        (6, "driver_connection"),
        (8, "SQL text"),
    ]  # not line 7 (a column named text) nor 9 (words, not a statement)


# The demo generator writes a whole dataset with the driver's executemany (the write
# side: a bulk load, not a read); the customer list orders by SQLite's rowid column.
ALLOWED = {
    ("demo/__init__.py", "exec_driver_sql"),
    ("demo/__init__.py", "SQL text"),
    ("demo/writer.py", "exec_driver_sql"),
    ("demo/writer.py", "SQL text"),
    ("customer_list.py", "literal_column"),
}


def test_no_service_writes_sql_text() -> None:
    offenders = []
    for path in sorted(SERVICES.rglob("*.py")):
        name = path.relative_to(SERVICES).as_posix()
        for line, what in raw_sql_uses(path.read_text(encoding="utf-8")):
            if (name, what) not in ALLOWED:
                offenders.append(f"services/{name}:{line} uses {what}")
    assert offenders == [], "SQL belongs in touchpoint.storage.queries:\n" + "\n".join(offenders)
