"""Benchmark of sync over loopback, in one run:

1. first sync of a new laptop with a dataset (records/s), against a raw bulk insert of
   the same rows into a fresh SQLite file (the floor for applying them);
2. an incremental sync of 100 changes: round trip p50/p95 (push 100 + pull);
3. the Hub on PostgreSQL with several uvicorn workers under N simulated laptops each
   pushing and pulling small batches at once: p95 latency and errors.

    python tests/benchmarks/bench_sync.py --data bench-data/L \\
        --pg postgresql://postgres:touchpoint@127.0.0.1:5432/postgres

The Hub is seeded straight from the dataset's rows (a server-side import, not timed);
the dataset itself is only read. Without --pg, step 3 is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import keyring
from keyring.backend import KeyringBackend
from sqlalchemy import insert, update

from touchpoint.hub import accounts
from touchpoint.hub.db import changes, counter, make_engine, records, upgrade
from touchpoint.services import customers
from touchpoint.services.workspace import Workspace
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import SYNCED_MODELS
from touchpoint.storage.tracking import jsonable
from touchpoint.sync.engine import SyncEngine, sign_in
from touchpoint.sync.protocol import PROTOCOL_HEADER, ChangeIn, PushRequest

PASSWORD = "benchmark password"
TEAM = "north"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: str, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "touchpoint.hub.cli",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the Hub did not start")


def dataset_rows(data: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Every record of the dataset as (entity, id, values), parents first."""
    ws = Workspace.open(data, auto_backup=False)
    out = []
    try:
        with ws.read() as s:
            for model in SYNCED_MODELS:
                cols = [c.key for c in model.__table__.columns if c.key != "id"]
                for rec in s.execute(model.__table__.select()).mappings():
                    values = {c: rec[c] for c in cols}
                    out.append((model.entity, rec["id"], values))
    finally:
        ws.close()
    return out


def seed_hub(db: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Load the rows into the Hub as if laptops had pushed them (values are stored text)."""
    engine = make_engine(db)
    upgrade(engine)
    accounts.add_user(engine, "bench@example.com", PASSWORD, "rep", [TEAM])
    now = "2026-11-18T09:30:00.000000Z"
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            conn.execute(
                insert(records),
                [
                    {"entity": e, "record_id": i, "team": TEAM, "data": d, "versions": {}}
                    for e, i, d in chunk
                ],
            )
            conn.execute(
                insert(changes),
                [
                    {
                        "server_seq": start + n + 1,
                        "change_id": str(uuid.uuid4()),
                        "device_id": "seed",
                        "user_id": None,
                        "entity": e,
                        "record_id": i,
                        "team": TEAM,
                        "op": "insert",
                        "fields": d,
                        "at": now,
                        "corrected_at": now,
                        "author": "seed",
                        "received_at": now,
                    }
                    for n, (e, i, d) in enumerate(chunk)
                ],
            )
        conn.execute(update(counter).where(counter.c.id == 1).values(value=len(rows)))
    engine.dispose()


def laptop(root: Path, email: str, url: str) -> Workspace:
    save_settings(root / "config" / "settings.toml", Settings(user=email, timezone="Europe/Berlin"))
    ws = Workspace.open(root, auto_backup=False)
    sign_in(ws, url, email, PASSWORD)
    return ws


def floor_insert(raw_rows: list[tuple[str, str, dict[str, Any]]], path: Path) -> float:
    """Raw executemany INSERTs of the same rows into a freshly migrated file."""
    ws = Workspace.open(path, auto_backup=False)
    ws.close()
    conn = sqlite3.connect(path / "touchpoint.sqlite3", isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA journal_mode = WAL")
    by_entity: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for e, i, d in raw_rows:
        by_entity.setdefault(e, []).append((i, d))
    import json

    started = time.perf_counter()
    conn.execute("BEGIN")
    for model in SYNCED_MODELS:
        items = by_entity.get(model.entity, [])
        if not items:
            continue
        cols = ["id", *items[0][1].keys()]
        sql = (
            f"INSERT INTO {model.__tablename__} ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})"
        )
        conn.executemany(
            sql,
            (
                [i, *[json.dumps(v) if isinstance(v, (list, dict)) else v for v in d.values()]]
                for i, d in items
            ),
        )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def first_sync(args: argparse.Namespace, work: Path) -> None:
    rows = dataset_rows(args.data)
    print(f"dataset: {len(rows):,} records from {args.data}")
    text_rows = [(e, i, jsonable(d)) for e, i, d in rows]
    db = f"sqlite:///{work / 'hub.sqlite3'}"
    seed_hub(db, text_rows)
    proc, url = serve(db, 1, dict(os.environ))
    try:
        ws = laptop(work / "new-laptop", "bench@example.com", url)
        engine = SyncEngine.for_workspace(ws, page_size=args.page_size)
        started = time.perf_counter()
        result = engine.run()
        elapsed = time.perf_counter() - started
        engine.client.close()
        assert result.in_sync and result.pulled == len(rows), result
        ws.close()
    finally:
        proc.terminate()
        proc.wait()
    floor = floor_insert(text_rows, work / "floor")
    rate = len(rows) / elapsed
    print(
        f"first sync: {len(rows):,} records in {elapsed:.1f} s = {rate:,.0f} records/s; "
        f"raw bulk insert floor {floor:.1f} s ({len(rows) / floor:,.0f} records/s); "
        f"ratio {elapsed / floor:.1f}x"
    )


def incremental(args: argparse.Namespace, work: Path) -> None:
    db = f"sqlite:///{work / 'inc-hub.sqlite3'}"
    engine = make_engine(db)
    upgrade(engine)
    for email in ("a@example.com", "b@example.com"):
        accounts.add_user(engine, email, PASSWORD, "rep", [TEAM])
    engine.dispose()
    proc, url = serve(db, 1, dict(os.environ))
    try:
        a = laptop(work / "a", "a@example.com", url)
        b = laptop(work / "b", "b@example.com", url)
        ids = [customers.create_customer(a, {"name": f"C{i}"}).value.id for i in range(100)]
        # One engine per laptop for the whole session, as the desktop's controller keeps it.
        engine_a, engine_b = SyncEngine.for_workspace(a), SyncEngine.for_workspace(b)
        engine_a.run()
        engine_b.run()
        times = []
        for round_no in range(args.rounds):
            for i, cid in enumerate(ids):
                customers.edit_customer(a, cid, {"notes": f"round {round_no} edit {i}"})
            started = time.perf_counter()
            pushed = engine_a.run()
            pulled = engine_b.run()
            times.append((time.perf_counter() - started) * 1000)
            assert pushed.pushed == 100 and pulled.pulled >= 100, (pushed, pulled)
        a.close()
        b.close()
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"incremental sync of 100 changes (push on one laptop + pull on another), "
        f"{args.rounds} rounds: p50 {pct(times, 50):.0f} ms, p95 {pct(times, 95):.0f} ms"
    )


async def _laptop_load(
    url: str,
    token: str,
    device: str,
    *,
    email: str,
    rounds: int,
    lat: list[float],
    by_path: dict[str, list[float]],
    errors: list[str],
) -> None:
    headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"}
    cursor = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        for r in range(rounds):
            batch = [
                ChangeIn(
                    change_id=str(uuid.uuid4()),
                    seq=r * 5 + n + 1,
                    tx_id=str(uuid.uuid4()),
                    entity="customer",
                    record_id=str(uuid.uuid4()),
                    op="insert",
                    fields={"name": [None, f"Load {r}-{n}"], "kind": [None, "organisation"]},
                    at="2026-11-18T09:30:00.000000Z",
                    author=email,
                    schema_version="0003",
                )
                for n in range(5)
            ]
            body = PushRequest(
                device_id=device, client_time="2026-11-18T09:30:00.000000Z", changes=batch
            ).model_dump_json()
            for method, path, kwargs in (
                (
                    "POST",
                    "/v1/push",
                    {"content": body, "headers": {"Content-Type": "application/json"}},
                ),
                ("GET", f"/v1/pull?after={cursor}&limit=500", {}),
            ):
                started = time.perf_counter()
                try:
                    answer = await client.request(method, path, **kwargs)
                    if answer.status_code != 200:
                        errors.append(f"{path}: {answer.status_code}")
                    elif path.startswith("/v1/pull"):
                        cursor = answer.json()["next_after"]
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {type(exc).__name__}")
                took = (time.perf_counter() - started) * 1000
                lat.append(took)
                by_path.setdefault(path.split("?")[0], []).append(took)


def load(args: argparse.Namespace) -> None:
    import psycopg

    name = f"tp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db = args.pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(db)
        upgrade(engine)
        # Laptops in teams of --team-size, as reps work: each pull brings its team's news.
        teams = max(1, -(-args.laptops // args.team_size))
        for t in range(teams):
            accounts.add_user(engine, f"load{t}@example.com", PASSWORD, "rep", [f"team{t}"])
        proc, url = serve(db, args.workers, dict(os.environ))
        try:
            logins = []
            for n in range(args.laptops):
                device = str(uuid.uuid4())
                email = f"load{n % teams}@example.com"
                answer = httpx.post(
                    f"{url}/v1/login",
                    headers={PROTOCOL_HEADER: "1"},
                    json={"email": email, "password": PASSWORD, "device_id": device},
                    timeout=30,
                )
                answer.raise_for_status()
                logins.append((answer.json()["token"], device, email))
            lat: list[float] = []
            by_path: dict[str, list[float]] = {}
            errors: list[str] = []

            async def everyone() -> None:
                await asyncio.gather(
                    *(
                        _laptop_load(
                            url,
                            t,
                            d,
                            email=e,
                            rounds=args.load_rounds,
                            lat=lat,
                            by_path=by_path,
                            errors=errors,
                        )
                        for t, d, e in logins
                    )
                )

            started = time.perf_counter()
            asyncio.run(everyone())
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait()
        engine.dispose()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(
        f"load: {args.laptops} laptops in teams of {args.team_size} x {args.load_rounds} rounds "
        f"(push 5 + pull) on PostgreSQL, {args.workers} workers: "
        f"{len(lat)} requests in {elapsed:.1f} s, "
        f"p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms ("
        + ", ".join(f"{k} p95 {pct(v, 95):.0f} ms" for k, v in sorted(by_path.items()))
        + f"), errors {len(errors)}"
        + (f" ({errors[:3]})" if errors else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--pg", default=os.environ.get("TOUCHPOINT_TEST_PG_URL", ""))
    parser.add_argument("--page-size", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--laptops", type=int, default=200)
    parser.add_argument("--load-rounds", type=int, default=5)
    parser.add_argument("--team-size", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["first", "incremental", "load"])
    args = parser.parse_args()
    keyring.set_keyring(MemoryKeyring())
    work = Path(tempfile.mkdtemp(prefix="tp-bench-sync-"))
    try:
        if "first" not in args.skip:
            first_sync(args, work)
        if "incremental" not in args.skip:
            incremental(args, work)
        if "load" not in args.skip:
            if args.pg:
                load(args)
            else:
                print("load: skipped (no --pg / TOUCHPOINT_TEST_PG_URL)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
