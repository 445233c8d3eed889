"""Benchmark: a flood of wrong sign-ins against a real Hub, and what it costs the others.

    python tests/benchmarks/bench_login_flood.py [--flood 120] [--seconds 20]

A Hub (SQLite, one worker, in its own process) serves a signed-in laptop that syncs in
a loop (hello, push of 20 changes, pull): its round trips are timed alone, then while
--flood threads send wrong passwords as fast as they can, each from its own loopback
address (127.0.0.2, 127.0.0.3, ...) and for its own made-up accounts, so the throttle
per address and per account both come into play. Prints p50/p95 of the laptop's syncs
in both phases, their ratio (target: under 2x), and how the flood was answered.
"""

from __future__ import annotations

import argparse
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


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flood-"))
    db = f"sqlite:///{folder / 'hub.sqlite3'}"
    create_hub(db).dispose()
    engine = create_hub(db)
    accounts.add_user(engine, "maria@example.com", PASSWORD, "rep", ["north"])
    engine.dispose()
    proc, url = serve(db, 1, dict(os.environ))
    try:
        device = str(uuid.uuid4())
        token = httpx.post(
            f"{url}/v1/login",
            headers={PROTOCOL_HEADER: "1"},
            json={"email": "maria@example.com", "password": PASSWORD, "device_id": device},
            timeout=60,
        ).json()["token"]
        alone = laptop_syncs(url, token, device, args.seconds)
        stop = threading.Event()
        answers: Counter[int] = Counter()
        threads = [
            threading.Thread(target=flooder, args=(url, n, stop, answers), daemon=True)
            for n in range(args.flood)
        ]
        for t in threads:
            t.start()
        time.sleep(1)
        flooded = laptop_syncs(url, token, device, args.seconds)
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        proc.terminate()
        proc.wait(30)
    a50, a95 = pct(alone, 50), pct(alone, 95)
    f50, f95 = pct(flooded, 50), pct(flooded, 95)
    print(f"laptop syncs alone:        {len(alone)} syncs, p50 {a50:.1f} ms, p95 {a95:.1f} ms")
    print(f"laptop syncs under flood:  {len(flooded)} syncs, p50 {f50:.1f} ms, p95 {f95:.1f} ms")
    print(f"slowdown p50 {f50 / a50:.2f}x, p95 {f95 / a95:.2f}x (target under 2x)")
    total = sum(answers.values())
    print(
        f"flood: {args.flood} threads from {args.flood} addresses, {total} wrong sign-ins: "
        + ", ".join(f"{code}: {n}" for code, n in sorted(answers.items()))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
