"""Push and pull on the Hub: idempotent, scoped by team, merged field by field.

The package's modules, each importing only those above it in this list:

- ``checks``: what a pushed change may hold (types, sizes, ranges); ``Rejected``, ``Waiting``.
- ``writing``: the one write interface (``Row``, ``Batch``, ``Writer``); its two
  implementations, ``sqlite_writer`` (SQLAlchemy Core) and ``postgres_writer`` (a psycopg
  pipeline), store the same rows and the same JSON text.
- ``log``: one push's working state (``PushLog``), written through its database's writer.
- ``conflicts``: conflict records, and the work a customer's delete would hide.
- ``merges``: work under a merged-away customer or contact follows the kept one.
- ``applying``: one change checked against scope and references, merged field by field.
- ``pushing``: a push: one batch in one transaction, idempotent per change id.
- ``pulling``: pull pages and the high-water mark.

What the rest of the Hub uses is re-exported here.
"""

from touchpoint.hub.exchange.checks import Rejected, Waiting
from touchpoint.hub.exchange.pulling import (
    HIGH_WATER,
    high_water,
    last_device_seq,
    pull_json,
    pull_lines,
    pull_page,
)
from touchpoint.hub.exchange.pushing import PUSH_ATTEMPTS, push, push_once

__all__ = [
    "HIGH_WATER",
    "PUSH_ATTEMPTS",
    "Rejected",
    "Waiting",
    "high_water",
    "last_device_seq",
    "pull_json",
    "pull_lines",
    "pull_page",
    "push",
    "push_once",
]
