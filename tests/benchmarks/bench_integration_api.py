"""Benchmark of the integration API's changes feed: records/s of paging the whole feed
of a large Hub with one API key, over loopback, as an integration's first catch-up.

    python tests/benchmarks/bench_integration_api.py                  # 20,000 records
    python tests/benchmarks/bench_integration_api.py --data bench-data/L \\
        --pg postgresql://postgres:touchpoint@127.0.0.1:5432/postgres
    python tests/benchmarks/bench_integration_api.py --hub-db bench-data/hub-L.sqlite3

The Hub is seeded straight from the rows (a dataset folder made by make_dataset.py, or
synthetic customers), as bench_sync.py seeds it (not timed), then served by
``touchpoint-hub serve``. Also measured: paging ``GET /api/v1/customers`` (500 a page).

--hub-db serves a Hub made by make_hub_dataset.py as it is (its five teams, the key
reading all of them; the key is revoked at the end), and says how the first and the
last tenth of the pages compare: a cursor page must not slow down with depth.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_sync import dataset_rows, seed_hub, serve

from touchpoint.hub import apikeys
from touchpoint.hub.db import make_engine
from touchpoint.storage.tracking import jsonable


def synthetic_rows(n: int) -> list[tuple[str, str, dict[str, Any]]]:
    stamp = "2026-11-18T09:30:00.000000Z"
    return [
        (
            "customer",
            str(uuid.uuid4()),
            {
                "name": f"Kunde {i:07}",
                "kind": "organisation",
                "status": "active",
                "industry": "machinery",
                "addresses": [],
                "phones": [],
                "emails": [],
                "tags": ["bench"],
                "custom": {},
                "currency": "EUR",
                "notes": "A customer made for the benchmark, with a line of notes.",
                "created_at": stamp,
                "created_by": "seed",
                "updated_at": stamp,
                "updated_by": "seed",
            },
        )
        for i in range(n)
    ]


PAGE_TIMES: list[float] = []  # each feed page's seconds, in order


def page_feed(client: httpx.Client, limit: int) -> tuple[int, int, float]:
    """(changes, pages, seconds) of reading the feed from 0 to its end."""
    seen = pages = after = 0
    started = time.perf_counter()
    PAGE_TIMES.clear()
    while True:
        asked = time.perf_counter()
        answer = client.get("/changes", params={"after": after, "limit": limit})
        answer.raise_for_status()
        body = answer.json()
        PAGE_TIMES.append(time.perf_counter() - asked)
        seen, pages, after = seen + len(body["changes"]), pages + 1, body["next_after"]
        if not body["more"]:
            return seen, pages, time.perf_counter() - started


def depth_line() -> str:
    """The first and last tenth of the feed's pages: the same time, or the cursor is not
    an index seek."""
    tenth = max(1, len(PAGE_TIMES) // 10)
    first = sum(PAGE_TIMES[:tenth]) / tenth
    last = sum(PAGE_TIMES[-tenth:]) / tenth
    return f"  a page: {1000 * first:.0f} ms in the first tenth, {1000 * last:.0f} ms in the last"


def hub_counts(db: str) -> tuple[int, int, list[str]]:
    """(changes, customers, teams) of a Hub database."""
    from sqlalchemy import func, select

    from touchpoint.hub.db import changes, records, teams

    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(changes)).scalar_one()
            c = conn.execute(
                select(func.count()).select_from(records).where(records.c.entity == "customer")
            ).scalar_one()
            names = list(conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars())
    finally:
        engine.dispose()
    return n, c, names


def page_list(client: httpx.Client, path: str) -> tuple[int, int, float]:
    """(records, pages, seconds) of following a list's ``next`` links to the end."""
    seen = pages = 0
    started = time.perf_counter()
    link: str | None = path
    while link:
        answer = client.get(link)
        answer.raise_for_status()
        body = answer.json()
        seen, pages, link = seen + len(body["data"]), pages + 1, body["next"]
    return seen, pages, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="a dataset folder (make_dataset.py)")
    parser.add_argument("--records", type=int, default=20_000, help="synthetic customers")
    parser.add_argument("--pg", default="", help="serve from this PostgreSQL (a new database)")
    parser.add_argument("--page-size", type=int, default=5000, help="feed page (<= 5000)")
    parser.add_argument(
        "--hub-db", help="a Hub made by make_hub_dataset.py (a SQLite file or a URL), served as is"
    )
    args = parser.parse_args()

    team_names = ["north"]
    if args.hub_db:
        hub_db = args.hub_db if "://" in args.hub_db else f"sqlite:///{Path(args.hub_db).resolve()}"
        total, customers, team_names = hub_counts(hub_db)
    elif args.data:  # values as the change log holds them (times and amounts as text)
        rows = [(e, i, jsonable(d)) for e, i, d in dataset_rows(args.data)]
    else:
        rows = synthetic_rows(args.records)
    if not args.hub_db:
        total = len(rows)
        customers = sum(1 for e, _i, _d in rows if e == "customer")
    with tempfile.TemporaryDirectory() as tmp:
        drop = None
        if args.hub_db:
            db = hub_db
        elif args.pg:
            import psycopg

            name = f"tp_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            db = args.pg.rsplit("/", 1)[0] + f"/{name}"

            def drop() -> None:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        else:
            db = f"sqlite:///{Path(tmp) / 'hub.sqlite3'}"
        if not args.hub_db:
            seed_hub(db, rows)
        engine = make_engine(db)
        key_name = f"bench-{uuid.uuid4().hex[:8]}"
        token = apikeys.create_key(
            engine, key_name, team_names, "read", "bench", per_minute=apikeys.MAX_PER_MINUTE
        ).token
        engine.dispose()
        print(f"hub: {total:,} changes, {customers:,} customers, a key reading {team_names}")
        env = {**os.environ, "TOUCHPOINT_HUB_LOG": str(Path(tmp) / "hub.log")}
        proc, url = serve(db, 1, env)
        try:
            with httpx.Client(
                base_url=f"{url}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=300,
            ) as client:
                n, pages, secs = page_feed(client, args.page_size)
                print(
                    f"changes feed: {n:,} changes in {pages} pages of {args.page_size} "
                    f"in {secs:.2f} s = {n / secs:,.0f} records/s"
                )
                print(depth_line())
                if n != total:
                    print(f"error: the feed held {n} changes, the Hub {total}")
                    return 1
                n, pages, secs = page_list(client, "/customers?limit=500")
                print(
                    f"customers list: {n:,} in {pages} pages of 500 "
                    f"in {secs:.2f} s = {n / secs:,.0f} records/s"
                )
                if n != customers:
                    print(f"error: the list held {n} customers, the Hub {customers}")
                    return 1
        finally:
            proc.terminate()
            proc.wait(30)
            if args.hub_db:  # the dataset stays as it was made, but for a revoked key
                engine = make_engine(db)
                apikeys.revoke_key(engine, key_name)
                engine.dispose()
            if drop is not None:
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
