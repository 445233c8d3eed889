"""Benchmark: a flood of wrong sign-ins against a real Hub, and what it costs the others.

    python tests/benchmarks/bench_login_flood.py [--flood 120] [--seconds 20] [--no-pin]

A Hub (SQLite, one worker, in its own process) serves a signed-in laptop that syncs in
a loop (hello, push of 20 changes, pull): its round trips are timed alone, then while
--flood threads send wrong passwords as fast as they can, each from its own loopback
address (127.0.0.2, 127.0.0.3, ...) and for its own made-up accounts, so the throttle
per address and per account both come into play. Prints p50/p95 of the laptop's syncs
alone, under the flood and alone again, the ratio of the flood's to both alone phases
(target: under 2x), and how the flood was answered.

The flood runs in processes of its own (never in the laptop's: 120 threads there would
starve the laptop's own client of the GIL and time the benchmark, not the Hub). An
attacker brings their own machines, so by default, on a machine with 2 CPUs or more,
the flood is pinned to the last CPU and the Hub and the laptop to the others; --no-pin
lets them all share every CPU (a flood from the Hub's own machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import serve

from touchpoint.hub import accounts
from touchpoint.hub.db import create_hub
from touchpoint.storage.types import to_utc_text
from touchpoint.sync.protocol import PROTOCOL_HEADER

PASSWORD = "correct horse battery"


def laptop_syncs(url: str, token: str, device: str, seconds: float) -> list[float]:
    """Sync round trips (hello + push of 20 new records + pull) for ``seconds``, in ms."""
    times: list[float] = []
    headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"}
    seq = 0
    after = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            now = to_utc_text(datetime.now(UTC))
            http.post(
                "/v1/hello", json={"protocol": 1, "device_id": device, "client_time": now}
            ).raise_for_status()
            changes = []
            for _ in range(20):
                seq += 1
                changes.append(
                    {
                        "change_id": str(uuid.uuid4()),
                        "seq": seq,
                        "tx_id": str(uuid.uuid4()),
                        "entity": "customer",
                        "record_id": str(uuid.uuid4()),
                        "op": "insert",
                        "fields": {
                            "name": [None, f"Customer {seq}"],
                            "kind": [None, "organisation"],
                            "status": [None, "active"],
                        },
                        "at": now,
                        "author": "maria@example.com",
                        "schema_version": "0008",
                    }
                )
            http.post(
                "/v1/push", json={"device_id": device, "client_time": now, "changes": changes}
            ).raise_for_status()
            page = http.get("/v1/pull", params={"after": after, "limit": 1000})
            page.raise_for_status()
            after = page.json()["next_after"]
            times.append((time.perf_counter() - t0) * 1000)
    return times


def flooder(url: str, n: int, stop: threading.Event, answers: Counter[int]) -> None:
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{2 + n}")
    with httpx.Client(base_url=url, transport=transport, timeout=60) as http:
        while not stop.is_set():
            email = f"guess{n}-{uuid.uuid4().hex[:6]}@example.com"
            answer = http.post(
                "/v1/login",
                headers={PROTOCOL_HEADER: "1"},
                json={"email": email, "password": "hunter2", "device_id": str(uuid.uuid4())},
            )
            answers[answer.status_code] += 1


def flood_process(  # noqa: PLR0917
    url: str, first: int, count: int, cpus: set[int] | None, stop: Any, out: Any
) -> None:
    """``count`` flooding threads (addresses from ``first``) until ``stop`` is set."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    answers: Counter[int] = Counter()
    done = threading.Event()
    threads = [
        threading.Thread(target=flooder, args=(url, first + n, done, answers), daemon=True)
        for n in range(count)
    ]
    for t in threads:
        t.start()
    out.put("started")
    stop.wait()
    done.set()
    for t in threads:
        t.join(60)
    out.put(dict(answers))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=4, help="processes for the flood")
    parser.add_argument("--no-pin", action="store_true", help="no CPU split (see above)")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2
    hub_cpus, flood_cpus = (set(cpus[:-1]), {cpus[-1]}) if pin else (None, None)
    folder = Path(tempfile.mkdtemp(prefix="flood-"))
    db = f"sqlite:///{folder / 'hub.sqlite3'}"
    create_hub(db).dispose()
    engine = create_hub(db)
    accounts.add_user(engine, "maria@example.com", PASSWORD, "rep", ["north"])
    engine.dispose()
    if hub_cpus:
        os.sched_setaffinity(0, hub_cpus)  # the Hub (started below) and the laptop
    proc, url = serve(db, 1, dict(os.environ))
    answers: Counter[int] = Counter()
    try:
        device = str(uuid.uuid4())
        token = httpx.post(
            f"{url}/v1/login",
            headers={PROTOCOL_HEADER: "1"},
            json={"email": "maria@example.com", "password": PASSWORD, "device_id": device},
            timeout=60,
        ).json()["token"]
        alone = laptop_syncs(url, token, device, args.seconds)
        ctx = multiprocessing.get_context("spawn")
        stop, out = ctx.Event(), ctx.Queue()
        share = -(-args.flood // args.processes)
        floods = [
            ctx.Process(
                target=flood_process,
                args=(url, first, min(share, args.flood - first), flood_cpus, stop, out),
            )
            for first in range(0, args.flood, share)
        ]
        for p in floods:
            p.start()
        for _ in floods:  # every flooder running before the clock starts
            assert out.get(timeout=300) == "started"
        time.sleep(1)
        flooded = laptop_syncs(url, token, device, args.seconds)
        stop.set()
        for _ in floods:
            answers.update(out.get(timeout=120))
        for p in floods:
            p.join(60)
        # The log grows with every sync: time "alone" again after the flood, so the
        # baseline's database is, on average, the size it had during the flood.
        after = laptop_syncs(url, token, device, args.seconds)
    finally:
        proc.terminate()
        proc.wait(30)
    phases = (("alone, before", alone), ("under flood", flooded), ("alone, after", after))
    for label, times in phases:
        print(
            f"laptop syncs {label + ':':15} {len(times)} syncs, "
            f"p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms"
        )
    alone = alone + after
    a50, a95 = pct(alone, 50), pct(alone, 95)
    f50, f95 = pct(flooded, 50), pct(flooded, 95)
    print(
        f"slowdown against both alone phases: p50 {f50 / a50:.2f}x, "
        f"p95 {f95 / a95:.2f}x (target under 2x)"
    )
    total = sum(answers.values())
    print(
        f"flood: {args.flood} threads in {args.processes} processes from {args.flood} "
        f"addresses, {total} wrong sign-ins: "
        + ", ".join(f"{code}: {n}" for code, n in sorted(answers.items()))
    )
    where = f"flood on CPU {sorted(flood_cpus)}, Hub and laptop on {sorted(hub_cpus)}"
    print(where if pin else "no CPU split: the flood shares every CPU with the Hub")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
