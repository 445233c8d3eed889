"""Realistic demo data: a sales team's customers, people, touchpoints, promises and deals.

The app offers it on first start (:func:`is_empty`), ``touchpoint demo`` makes it, and
the benchmarks run on it. The words a manager reads on a screenshot (names with
accents, notes in the reps' own words, satisfaction that falls for some customers,
customers going quiet, promises kept and broken) come from the countries and word
lists in ``data.json`` (read by :mod:`.data`); :mod:`.customers` makes the customers
and their contacts, :mod:`.activity` their touchpoints, promises and deals,
:mod:`.team` the reps, and :mod:`.context` keeps what one run has used up.

Speed: a million interactions cannot go through the ORM one by one, so rows are
built as plain tuples and written with executemany in one write transaction. For
each record it writes exactly what the normal write path writes: the row, its
search document (the same text as :func:`storage.search_index.document`), its
identity keys (as :func:`storage.identity.keys_of`) and one insert row in the change
log with the same field values as :mod:`storage.tracking` (see :mod:`.writer`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from touchpoint.errors import ValidationError
from touchpoint.services.demo.activity import STALE_PROMISE
from touchpoint.services.demo.context import Demo
from touchpoint.services.demo.customers import generate, write_custom_defs
from touchpoint.services.demo.data import words
from touchpoint.services.demo.team import TEAM_DOMAIN, TEAMS, TERRITORY_OF, Rep, sales_team
from touchpoint.services.demo.writer import BATCH, Writer, identity_keys, new_uuid, search_document
from touchpoint.storage import search_index
from touchpoint.storage.bulk_write import bulk_write
from touchpoint.storage.models import Change, Customer, CustomFieldDef
from touchpoint.storage.workspace import Workspace

__all__ = [
    "BATCH",
    "SIZES",
    "STALE_PROMISE",
    "TEAMS",
    "TEAM_DOMAIN",
    "TERRITORY_OF",
    "DemoReport",
    "generate_demo",
    "identity_keys",
    "is_empty",
    "sales_team",
    "search_document",
]


SIZES: dict[str, dict[str, int]] = {
    "S": dict(customers=2_000, contacts=6_000, interactions=50_000, followups=10_000, reps=1),
    "L": dict(
        customers=100_000, contacts=300_000, interactions=1_000_000, followups=200_000, reps=50
    ),
}


@dataclass(frozen=True)
class DemoReport:
    counts: dict[str, int]  # records made per entity
    seconds: float


def is_empty(ws: Workspace) -> bool:
    """No live customer yet: the app offers the demo data at first start."""
    with ws.read() as session:
        found = session.execute(
            select(Customer.id).where(Customer.deleted_at.is_(None)).limit(1)
        ).first()
    return found is None


def generate_demo(
    ws: Workspace,
    *,
    customers: int = 200,
    contacts: int | None = None,
    interactions: int | None = None,
    followups: int | None = None,
    deals: int | None = None,
    reps: Sequence[str] | None = None,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Add a realistic demo dataset to ``ws`` in one transaction.

    Per customer by default: 3 contacts, 25 interactions, 5 follow-ups and 1.5 deals.
    ``reps`` are the owners' emails (the workspace's user alone when not given). The
    same seed makes the same data.
    """
    started = time.perf_counter()
    for name, value in (
        ("customers", customers),
        ("contacts", contacts),
        ("interactions", interactions),
        ("followups", followups),
        ("deals", deals),
    ):
        if value is not None and value < 0:
            raise ValidationError(name, "must not be negative")
    n_contacts = round(3 * customers) if contacts is None else contacts
    n_interactions = 25 * customers if interactions is None else interactions
    n_followups = 5 * customers if followups is None else followups
    n_deals = round(1.5 * customers) if deals is None else deals
    if n_followups and not n_interactions:
        raise ValidationError("followups", "follow-ups are made in interactions: give some")
    if customers == 0 and (n_contacts or n_interactions or n_deals):
        raise ValidationError("customers", "contacts, interactions and deals need customers")
    rep_emails = [r.strip() for r in (reps or [ws.author]) if r and r.strip()]
    if not rep_emails:
        raise ValidationError("reps", "give at least one rep")

    ids = random.Random(f"touchpoint-demo-ids-{seed}")
    tx_id = new_uuid(random.Random(f"touchpoint-demo-ids-{seed}"))  # the writer's first id
    with ws.read() as session:
        taken = session.scalar(
            select(func.count()).select_from(Change).where(Change.tx_id == tx_id)
        )
        existing_defs = {
            d.key: d.type for d in session.scalars(select(CustomFieldDef)).all() if d.key
        }
    if taken:
        raise ValidationError(
            "seed", f"demo data made with seed {seed} is already here; use another seed"
        )

    now = ws.now()
    rng = random.Random(seed)
    team_of = {i: i * len(TEAMS) // len(rep_emails) for i in range(len(rep_emails))}
    rep_list = [
        Rep(
            email,
            team_of[i],
            ws.tz if email == ws.author else ZoneInfo(TEAMS[team_of[i]][1]),
        )
        for i, email in enumerate(rep_emails)
    ]
    demo = Demo(ws, rng, rep_list, now)
    total = customers + n_contacts + n_interactions + n_followups + n_deals

    session = ws.db.write_session()
    try:
        with session.begin():
            conn = session.connection()
            # A bigger page cache for this one bulk load: the UUID keys land all over
            # their indexes (the connection is closed afterwards).
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            with bulk_write(session) as bulk:
                writer = Writer(
                    bulk,
                    ids=ids,
                    device_id=ws.device_id,
                    schema_version=ws.schema_version,
                    pushed_at=now,
                    total=total,
                    progress=progress,
                )
                write_custom_defs(writer, demo, existing_defs)
                generate(
                    demo,
                    writer,
                    customers=customers,
                    contacts=n_contacts,
                    interactions=n_interactions,
                    followups=n_followups,
                    deals=n_deals,
                    custom_keys={
                        key
                        for key, kind, *_ in words().custom_fields
                        if existing_defs.get(key, kind) == kind
                    },
                )
                writer.flush()
            if writer.counts["interaction"] > 50_000:
                # Merge the many index segments a bulk load leaves, so searches stay fast.
                for table in search_index.FTS_TABLES:
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    finally:
        session.close()
    return DemoReport(counts=dict(writer.counts), seconds=time.perf_counter() - started)
