"""Benchmark: webhook delivery latency, from a laptop's push to the receiver.

    python tests/benchmarks/bench_webhooks.py [--pushes 60] [--batch 1] [--endpoints 2]
                                              [--workers 1] [--db postgresql://...]

A Hub (``touchpoint-hub serve`` in its own process, SQLite unless --db names a
PostgreSQL database; its dispatcher runs in the background as in production) has
--endpoints webhook endpoints for ``interaction.created``, each a receiver on
127.0.0.1 in this process. A laptop pushes --pushes batches of --batch new
interactions, one batch every --gap seconds. Each delivery's latency is the time from
the start of the push that carried it to its arrival at a receiver (one clock: both
ends are in this process). Prints p50, p95 and the worst, per delivery; every
signature is checked.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import serve

from touchpoint.hub import accounts, webhooks
from touchpoint.hub.db import create_hub
from touchpoint.storage.types import to_utc_text
from touchpoint.sync.protocol import PROTOCOL_HEADER

PASSWORD = "correct horse battery"
SECRET = "whsec_benchmark-secret-0123456789"


class Receivers:
    """Receivers on 127.0.0.1: when each interaction's event arrived, and bad signatures."""

    def __init__(self, count: int) -> None:
        self.arrived: dict[tuple[int, str], float] = {}
        self.bad = 0
        self.lock = threading.Lock()
        self.servers = [self._start(n) for n in range(count)]

    def _start(self, n: int) -> ThreadingHTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.perf_counter()
                self.send_response(204)
                self.end_headers()
                stamp, _, mac = self.headers["Touchpoint-Signature"].partition(",v1=")
                t = stamp.removeprefix("t=")
                expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256)
                record = json.loads(body)["data"]["object"]["id"]
                with owner.lock:
                    owner.arrived.setdefault((n, record), at)
                    if not hmac.compare_digest(expected.hexdigest(), mac):
                        owner.bad += 1

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.server_address[1]}/hook" for s in self.servers]

    def stop(self) -> None:
        for s in self.servers:
            s.shutdown()


def change(entity: str, record_id: str, fields: dict[str, Any], seq: int, now: str) -> dict:
    return {
        "change_id": str(uuid.uuid4()),
        "seq": seq,
        "tx_id": str(uuid.uuid4()),
        "entity": entity,
        "record_id": record_id,
        "op": "insert",
        "fields": {k: [None, v] for k, v in fields.items()},
        "at": now,
        "author": "maria@example.com",
        "schema_version": "0008",
    }


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--gap", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="webhooks-"))
    db = args.db or f"sqlite:///{folder / 'hub.sqlite3'}"
    receivers = Receivers(args.endpoints)
    engine = create_hub(db)
    accounts.add_user(engine, "maria@example.com", PASSWORD, "rep", ["north"])
    for url in receivers.urls():
        webhooks.add_endpoint(
            engine,
            url,
            "interaction.created",
            team_names=["north"],
            secret=SECRET,
            created_by="benchmark",
        )
    engine.dispose()
    env = {**os.environ, "TOUCHPOINT_HUB_AUDIT_LOG": str(folder / "audit.jsonl")}
    proc, url = serve(db, args.workers, env)
    sent: dict[str, float] = {}
    answered: list[float] = []  # the push's own round trip, for comparison
    try:
        device = str(uuid.uuid4())
        token = httpx.post(
            f"{url}/v1/login",
            headers={PROTOCOL_HEADER: "1"},
            json={"email": "maria@example.com", "password": PASSWORD, "device_id": device},
            timeout=60,
        ).json()["token"]
        headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            now = to_utc_text(datetime.now(UTC))
            customer = str(uuid.uuid4())
            first = change("customer", customer, {"name": "Acme GmbH"}, 1, now)
            http.post(
                "/v1/push", json={"device_id": device, "client_time": now, "changes": [first]}
            ).raise_for_status()
            seq = 1
            for _ in range(args.pushes):
                now = to_utc_text(datetime.now(UTC))
                batch = []
                for _ in range(args.batch):
                    seq += 1
                    fields = {
                        "customer_id": customer,
                        "kind": "visit",
                        "occurred_at": now,
                        "rep": "maria@example.com",
                        "notes": f"visit {seq}",
                    }
                    batch.append(change("interaction", str(uuid.uuid4()), fields, seq, now))
                t0 = time.perf_counter()
                http.post(
                    "/v1/push", json={"device_id": device, "client_time": now, "changes": batch}
                ).raise_for_status()
                answered.append((time.perf_counter() - t0) * 1000)
                for c in batch:
                    sent[c["record_id"]] = t0
                time.sleep(args.gap)
        expected = len(sent) * args.endpoints
        deadline = time.monotonic() + 60
        while len(receivers.arrived) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(30)
        receivers.stop()
    latencies = [(at - sent[record]) * 1000 for (_n, record), at in receivers.arrived.items()]
    print(
        f"{len(latencies)} of {len(sent) * args.endpoints} deliveries arrived "
        f"({args.pushes} pushes of {args.batch}, {args.endpoints} endpoints, "
        f"{'PostgreSQL' if args.db else 'SQLite'}, {args.workers} worker(s)); "
        f"bad signatures: {receivers.bad}"
    )
    print(
        f"push -> receiver latency: p50 {pct(latencies, 50):.0f} ms, "
        f"p95 {pct(latencies, 95):.0f} ms, worst {max(latencies):.0f} ms "
        f"(the push's own answer: p50 {pct(answered, 50):.0f} ms, p95 {pct(answered, 95):.0f} ms)"
    )
    return 0 if len(latencies) == len(sent) * args.endpoints and not receivers.bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
