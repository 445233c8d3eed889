"""Many seeds of the company model (tests/sync/sync_model.py) against a real Hub.

    python tests/benchmarks/bench_sync_model.py --seeds 50 --ops 200 [--pg URL]

Each seed: three teams, six laptops, random work, faults, clock jumps, team changes,
malformed pushes and laptops killed mid-sync, then every promise checked. Prints one
line per seed and a summary (seeds passed, operations run by kind); exits 1 when any
seed broke a promise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "sync"), str(HERE.parent)]

import keyring  # noqa: E402
from bench_sync import MemoryKeyring  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--pg", help="a PostgreSQL server URL: each seed gets a database")
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())
    import psycopg
    from harness import Clock, HubServer
    from sync_model import run_model

    done: Counter[str] = Counter()
    failed = []
    started = time.perf_counter()
    for seed in range(args.first, args.first + args.seeds):
        root = Path(tempfile.mkdtemp(prefix=f"model-{seed}-"))
        if args.pg:
            name = f"tp_model_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            url = args.pg.rsplit("/", 1)[0] + f"/{name}"
        else:
            url = f"sqlite:///{root / 'hub.sqlite3'}"
        hub = HubServer(url).start()
        t0 = time.perf_counter()
        try:
            ops = run_model(
                hub,
                root,
                Clock(datetime(2026, 11, 18, 9, 30, tzinfo=UTC)),
                seed=seed,
                ops=args.ops,
            )
            done.update(ops)
            print(f"seed {seed}: ok in {time.perf_counter() - t0:.1f} s", flush=True)
        except Exception:
            failed.append(seed)
            print(f"seed {seed}: FAILED\n{traceback.format_exc()}", flush=True)
        finally:
            hub.stop()
    total = time.perf_counter() - started
    print(
        f"\n{args.seeds - len(failed)} of {args.seeds} seeds kept every promise "
        f"({'PostgreSQL' if args.pg else 'SQLite'}, {args.ops} operations each, {total:.0f} s)"
    )
    print("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(done.items())))
    if failed:
        print(f"failed seeds: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
