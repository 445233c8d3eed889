"""Make a fresh Touchpoint data folder holding a benchmark dataset.

    python tests/benchmarks/make_dataset.py --size S --out bench-data/S
    python tests/benchmarks/make_dataset.py --size L --out bench-data/L

S is one rep's book (2,000 customers, 50,000 interactions); L is a manager's group
of 50 reps in 5 teams (100,000 customers, a million interactions). The folder's
user is the first rep, maria.keller@northwind-sales.example, in Europe/Berlin.
It prints the counts and how long the generation took.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from touchpoint.services import demo
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.workspace import Workspace


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(demo.SIZES), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    parser.add_argument(
        "--replace", action="store_true", help="delete the folder first if it holds a dataset"
    )
    args = parser.parse_args()

    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not (args.replace and (out / "touchpoint.sqlite3").exists()):
            print(f"{out} is not empty (use --replace to remake a dataset there)", file=sys.stderr)
            return 1
        shutil.rmtree(out)
    size = dict(demo.SIZES[args.size])
    team = demo.sales_team(size.pop("reps"))
    save_settings(
        out / "config" / "settings.toml",
        Settings(
            user=team[0],
            display_name="Maria Keller",
            timezone="Europe/Berlin",
            default_region="DE",
            currency="EUR",
        ),
    )
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            print(f"  {done:>10,} / {total:,} records  {now - started:6.1f} s", file=sys.stderr)

    ws = Workspace.open(out, auto_backup=False)
    try:
        report = demo.generate_demo(
            ws, reps=team if len(team) > 1 else None, seed=args.seed, progress=progress, **size
        )
    finally:
        ws.close()
    seconds = time.perf_counter() - started
    database = out / "touchpoint.sqlite3"
    print(f"dataset {args.size} (seed {args.seed}) at {out}")
    for entity, count in report.counts.items():
        print(f"  {entity:<13} {count:>10,}")
    print(f"  reps          {len(team):>10,}")
    print(f"generated in {report.seconds:.1f} s ({seconds:.1f} s with opening and closing)")
    print(f"database: {database.stat().st_size / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
