"""Benchmark of the core: search, logging, import and the memory of a search command.

Run on a dataset made by make_dataset.py (S or L), for example:

    python tests/benchmarks/make_dataset.py --size L --out /tmp/tp-L
    python tests/benchmarks/bench_core.py --data /tmp/tp-L

It prints, in one run: search p50/p95 through the service against the same
queries as raw FTS5 MATCH on the same file (the floor); logging an interaction
with a follow-up, p95; CSV import rows per second; and the peak memory of a
`touchpoint search` process. Writes go to a copy of the dataset.

Since the index was split in two (names; notes and follow-ups), the raw FTS5
floor runs its query on both indexes and adds the times: the same documents ranked
in full, as before. A second floor, the cheapest MATCH there is (the newest 20
matches of each index, unranked), shows what any search over these words costs.
`--only search` skips the write benchmarks; `--only import` runs only the import.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dataset_schema import require_current

from touchpoint.services import search
from touchpoint.services.interactions import FollowUpInput, log_interaction
from touchpoint.storage.workspace import Workspace

FIXED_QUERIES = [
    "quote",
    "delivery",
    "contract renewal",
    "complaint",
    "service",
    "invoice",
    "price",
    "mül",
    "gmbh",
    "maint",
    "berlin",
    "training",
    "jos",
    "new model",
    "happy",
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def sampled_queries(db: Path, count: int, seed: int) -> list[str]:
    """Prefixes of real customer and contact names, as someone types them."""
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total = conn.execute("SELECT max(rowid) FROM customers").fetchone()[0] or 0
    names = []
    for _ in range(count):
        row = conn.execute(
            "SELECT name FROM customers WHERE rowid >= ? LIMIT 1", (rng.randint(1, total),)
        ).fetchone()
        if row:
            word = row[0].split()[0]
            names.append(word[: max(3, len(word) - 2)])
    conn.close()
    return names


def bench_search(ws: Workspace, queries: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            search.search(ws, query, limit=20)
            times.append((time.perf_counter() - start) * 1000)
    return times


def fts_tables(conn: sqlite3.Connection) -> list[str]:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [t for t in ("search_fts_names", "search_fts") if t in names]


def bench_floor(db: Path, queries: list[str], rounds: int, order: str = "rank") -> list[float]:
    """Raw MATCH ... ORDER BY ``order`` LIMIT 20 on every FTS5 index, times added up."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    tables = fts_tables(conn)
    times = []
    for _ in range(rounds):
        for query in queries:
            expression = search.match_expression(query)
            start = time.perf_counter()
            for table in tables:
                conn.execute(
                    f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY {order} LIMIT 20",
                    (expression,),
                ).fetchall()
            times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return times


def slowest(db: Path, queries: list[str], ours: list[float], floor: list[float]) -> None:
    """The five slowest queries: how many documents match them, and both timings."""
    n = len(queries)
    worst: dict[str, tuple[float, float]] = {}
    for k, query in enumerate(queries):
        mine = max(ours[k::n])
        raw = max(floor[k::n])
        worst[query] = max(worst.get(query, (0.0, 0.0)), (mine, raw))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
    tables = fts_tables(conn)
    print(f"slowest queries ({total:,} documents indexed):")
    for query, (mine, raw) in sorted(worst.items(), key=lambda kv: -kv[1][0])[:5]:
        matches = sum(
            conn.execute(
                f"SELECT count(*) FROM {table} WHERE {table} MATCH ?",
                (search.match_expression(query),),
            ).fetchone()[0]
            for table in tables
        )
        print(
            f"  {query!r:<20} {matches:>9,} matches   search {mine:7.1f} ms   floor {raw:7.1f} ms"
        )
    conn.close()


def bench_logging(ws: Workspace, count: int) -> list[float]:
    with ws.db.engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM customers LIMIT 500")]
    times = []
    for n in range(count):
        start = time.perf_counter()
        log_interaction(
            ws,
            customer=ids[n % len(ids)],
            kind="call",
            outcome="connected",
            satisfaction=4,
            notes=f"Benchmark call {n}: discussed the delivery schedule and the quote.",
            feedback="Happy with the service",
            followups=[FollowUpInput(title="Send the revised quote", due="+3d")],
        )
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_import(ws: Workspace, rows: int, folder: Path) -> float:
    from touchpoint.services.importing import import_customers_csv

    path = folder / "import.csv"
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Company", "First Name", "Last Name", "Email", "Phone", "City", "Industry"]
        )
        for n in range(rows):
            writer.writerow(
                [
                    f"Benchmark Import {n} {rng.choice(['Ltd', 'GmbH', 'Inc'])}",
                    rng.choice(["Anna", "Ben", "Chloé", "Dario"]),
                    f"Tester{n}",
                    f"person{n}@import{n}.example.com",
                    f"+44 20 7946 {n % 10000:04d}",
                    rng.choice(["Leeds", "Bristol", "Zürich"]),
                    "Logistics",
                ]
            )
    start = time.perf_counter()
    report = import_customers_csv(ws, path)
    seconds = time.perf_counter() - start
    if report.errors:
        print(f"  import reported {len(report.errors)} row errors (first: {report.errors[0]})")
    return rows / seconds


def search_peak_memory(data: Path, query: str) -> float:
    """Peak RSS in MB of a real `touchpoint search` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-m", "touchpoint", "--data-dir", str(data), "search", query],
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024


def copy_dataset(data: Path, copy: Path) -> None:
    """A scratch copy of a dataset, on disk before anything is timed: a fresh copy of a
    multi-gigabyte file sits in the page cache unwritten, and the first commit whose
    checkpoint syncs the database file would wait for all of it (almost a second at L)."""
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("backups"))
    for path in copy.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def bench_import_only(data: Path, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        copy_dataset(data, copy)
        ws = Workspace.open(copy, auto_backup=False)
        rate = bench_import(ws, rows, Path(tmp))
        print(f"CSV import: {rate:,.0f} rows/s   (target > 5,000)")
        ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="a folder made by make_dataset.py")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-count", type=int, default=300)
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument(
        "--only", choices=["search", "import"], help="run only the search or the import benchmark"
    )
    args = parser.parse_args()
    if args.only == "import":
        bench_import_only(args.data, args.import_rows)
        return

    db = args.data / "touchpoint.sqlite3"
    queries = FIXED_QUERIES + sampled_queries(db, 15, seed=3)
    print(f"dataset: {args.data} ({db.stat().st_size / 1e6:.0f} MB), {len(queries)} queries")

    require_current(args.data)
    ws = Workspace.open(args.data, auto_backup=False)
    bench_search(ws, queries, 1)  # warm the page cache for both
    bench_floor(db, queries, 1)
    ours = bench_search(ws, queries, args.rounds)
    floor = bench_floor(db, queries, args.rounds)
    cheapest = bench_floor(db, queries, args.rounds, order="rowid DESC")
    ws.close()
    p50, p95 = percentile(ours, 50), percentile(ours, 95)
    f50, f95 = percentile(floor, 50), percentile(floor, 95)
    print(f"search  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms   (target p95 < 30 ms)")
    print(f"floor   p50 {f50:6.2f} ms  p95 {f95:6.2f} ms   raw FTS5 MATCH on the same file")
    print(f"search/floor at p95: {p95 / f95:.2f}x   (target < 2x)")
    c50, c95 = percentile(cheapest, 50), percentile(cheapest, 95)
    print(f"newest  p50 {c50:6.2f} ms  p95 {c95:6.2f} ms   raw MATCH, newest 20, unranked")
    print(f"search/newest at p95: {p95 / c95:.2f}x")
    slowest(db, queries, ours, floor)

    peak = search_peak_memory(args.data, "delivery quote")
    print(f"touchpoint search peak memory: {peak:.0f} MB   (target < 150 MB)")
    peak = search_peak_memory(args.data, "d")
    print(f"touchpoint search peak memory, one letter: {peak:.0f} MB")
    if args.only == "search":
        return

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        print("copying the dataset for the write benchmarks...")
        copy_dataset(args.data, copy)
        ws = Workspace.open(copy, auto_backup=False)
        times = bench_logging(ws, args.log_count)
        print(
            f"log interaction + follow-up  p50 {statistics.median(times):6.2f} ms  "
            f"p95 {percentile(times, 95):6.2f} ms   (target p95 < 10 ms)"
        )
        rate = bench_import(ws, args.import_rows, Path(tmp))
        print(f"CSV import: {rate:,.0f} rows/s   (target > 5,000)")
        ws.close()


if __name__ == "__main__":
    main()
