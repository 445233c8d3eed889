"""Benchmark of sync over loopback, in one run:

1. first sync of a new laptop with a dataset (records/s), against a raw bulk insert of
   the same rows into a fresh SQLite file (the floor for applying them); then the
   full-text indexing that follows it (none when the sync streamed: it indexes as it
   loads), and the time until everything is searchable;
2. an incremental sync of 100 changes: round trip p50/p95 (push 100 + pull);
3. the Hub on PostgreSQL with several uvicorn workers under N simulated laptops each
   pushing and pulling small batches at once: p50/p95 latency, errors, requests/s and the
   CPU the Hub, PostgreSQL and the load generator used. Two lines: saturation (each laptop
   syncs again the moment its last sync ends: the Hub's capacity) and paced (each laptop
   waits --pause seconds +-50 % between its syncs: what laptops active at once see).

    python tests/benchmarks/bench_sync.py --data bench-data/L \\
        --pg postgresql://postgres:touchpoint@127.0.0.1:5432/postgres

The Hub is seeded straight from the dataset's rows (a server-side import, not timed);
the dataset itself is only read (one at an older schema is refused, not upgraded).
Without --pg, step 3 is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import keyring
from dataset_schema import require_current
from keyring.backend import KeyringBackend
from sqlalchemy import insert, select, update

from touchpoint.hub import accounts, replica
from touchpoint.hub.db import changes, counter, make_engine, records, upgrade, users, write
from touchpoint.services import customers
from touchpoint.services.search import catch_up_index, index_backlog
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import SYNCED_MODELS
from touchpoint.storage.tracking import jsonable
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import SyncEngine, sign_in
from touchpoint.sync.protocol import PROTOCOL_HEADER, PushRequest

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
    for _ in range(1200):  # a busy computer takes a while to start the workers
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
    require_current(data)
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
    hub = _Cpu(proc.pid)
    try:
        waited = _console_caught_up(replica.console_folder(db) / "touchpoint.sqlite3", hub)
        print(f"the Hub's console replica caught up with the seeded log in {waited:.0f} s")
        ws = laptop(work / "new-laptop", "bench@example.com", url)
        engine = SyncEngine.for_workspace(ws, page_size=args.page_size)
        started, laptop_cpu, hub_cpu = time.perf_counter(), time.process_time(), hub()
        result = engine.run()
        elapsed = time.perf_counter() - started
        laptop_cpu, hub_cpu = time.process_time() - laptop_cpu, hub() - hub_cpu
        engine.client.close()
        assert result.in_sync and result.pulled == len(rows), result
        # What the desktop and `touchpoint sync` do next: index the pulled records for
        # full-text search, in short transactions, while the rep can already work.
        started, index_cpu = time.perf_counter(), time.process_time()
        if "indexing" not in args.skip:
            assert catch_up_index(ws)
            assert index_backlog(ws) == 0
        indexing = time.perf_counter() - started
        index_cpu = time.process_time() - index_cpu
        ws.close()
    finally:
        proc.terminate()
        proc.wait()
    # CPU seconds (all threads) do not depend on the machine's load as wall time does.
    cpu = (
        f"CPU s: sync {laptop_cpu:.1f} laptop + {hub_cpu:.1f} Hub, indexing {index_cpu:.1f} "
        f"(load {os.getloadavg()[0]:.2f})"
    )
    if "floor" in args.skip:  # a quicker run, to compare two versions of the sync
        total = elapsed + indexing
        print(
            f"first sync: {len(rows):,} records in {elapsed:.1f} s, then indexed in "
            f"{indexing:.1f} s: all searchable after {total:.1f} s; {cpu}"
        )
        return
    floor = floor_insert(text_rows, work / "floor")
    rate = len(rows) / elapsed
    print(
        f"first sync: {len(rows):,} records in {elapsed:.1f} s = {rate:,.0f} records/s; "
        f"raw bulk insert floor {floor:.1f} s ({len(rows) / floor:,.0f} records/s); "
        f"ratio {elapsed / floor:.1f}x"
    )
    total = elapsed + indexing
    print(
        f"then indexed for search in {indexing:.1f} s: all searchable after {total:.1f} s "
        f"= {len(rows) / total:,.0f} records/s, {total / floor:.1f}x the floor; {cpu}"
    )


def _console_caught_up(database: Path, hub: _Cpu) -> float:
    """Wait until the Hub's console replica has caught up with the seeded log and the
    Hub is idle. A Hub started on a freshly seeded database makes its first copy of the
    whole book (as many records as the laptop pulls) in the background; a running Hub
    did that long ago, and timing the laptop's sync beside it would time both."""
    started = time.perf_counter()
    while time.perf_counter() - started < 3600:
        ready = None
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
            try:
                ready = conn.execute(
                    "SELECT value FROM local_meta WHERE key = ?", (replica.READY_KEY,)
                ).fetchone()
            finally:
                conn.close()
        if ready:
            break
        time.sleep(1)
    # Then it figures each team's week and makes the report's files in the background,
    # steps that a 2 s lull may separate: quiet for 10 s in a row.
    quiet = 0
    while time.perf_counter() - started < 3600 and quiet < 5:
        before = hub()
        time.sleep(2)
        quiet = quiet + 1 if hub() - before < 0.1 else 0
    return time.perf_counter() - started


class _Cpu:
    """CPU seconds (user + system) a process and its children have used so far."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)

    def __call__(self) -> float:
        import psutil

        total = 0.0
        for p in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total


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


# --- load: many laptops at once ---------------------------------------------------------
# The load generator runs in a process of its own (this script with --load-generator) on a
# bare asyncio HTTP/1.1 client: it shares the machine's cores with the Hub and PostgreSQL,
# so it must cost as little CPU as possible, and nothing of the bench's setup may sit in it.

# A laptop syncs shortly after a local change (the desktop waits 5 s for a burst of edits
# to end) and every few minutes (settings.sync_interval_minutes, 5 by default). A laptop
# syncing again 5 s (+-50 %) after its last sync, every time, is far busier than a real one.
PACED_PAUSE_S = 5.0


def _push_body(device: str, email: str, round_no: int, size: int = 5) -> bytes:
    import orjson

    stamp = "2026-11-18T09:30:00.000000Z"
    changes_ = [
        {
            "change_id": str(uuid.uuid4()),
            "seq": round_no * 5 + n + 1,
            "tx_id": str(uuid.uuid4()),
            "entity": "customer",
            "record_id": str(uuid.uuid4()),
            "op": "insert",
            "fields": {"name": [None, f"Load {round_no}-{n}"], "kind": [None, "organisation"]},
            "at": stamp,
            "author": email,
            "schema_version": "0003",
        }
        for n in range(size)
    ]
    return orjson.dumps({"device_id": device, "client_time": stamp, "changes": changes_})


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection: (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(head[9:12]), await reader.readexactly(length)


async def _laptop(spec: dict[str, Any], laptop: dict[str, str], out: dict[str, Any]) -> None:
    import random

    import orjson

    host, port = spec["host"], laptop.get("port") or spec["port"]
    auth = (
        f"Host: {host}:{port}\r\n{PROTOCOL_HEADER}: 1\r\n"
        f"Authorization: Bearer {laptop['token']}\r\n"
    )
    pause = spec["pause"]
    cursor = 0
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    if pause:
        await asyncio.sleep(random.uniform(0, pause))  # laptops do not start in step
    for round_no in range(spec["rounds"]):
        body = _push_body(laptop["device"], laptop["email"], round_no)
        push = (
            f"POST /v1/push HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        for path, request in (
            ("/v1/push", push),
            ("/v1/pull", f"GET /v1/pull?after={cursor}&limit=500 HTTP/1.1\r\n{auth}\r\n".encode()),
        ):
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.open_connection(host, port)
                status, answer = await asyncio.wait_for(_exchange(*conn, request), 30)
                if status != 200:
                    out["errors"].append(f"{path}: {status}")
                elif path == "/v1/pull":
                    cursor = orjson.loads(answer)["next_after"]
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                out["errors"].append(f"{path}: {type(exc).__name__}")
                if conn is not None:
                    conn[1].close()
                conn = None
            out["lat"].setdefault(path, []).append((time.perf_counter() - started) * 1000)
        if pause:
            # As the app does: each sync opens its own connection and closes it at the
            # end (a laptop syncs minutes apart, past any server's keep-alive).
            if conn is not None:
                conn[1].close()
                conn = None
            if round_no < spec["rounds"] - 1:
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))
    if conn is not None:
        conn[1].close()


def load_generator() -> int:
    """--load-generator: run the laptops described by the JSON on stdin, answer JSON."""
    import json

    spec = json.load(sys.stdin)
    out: dict[str, Any] = {"lat": {}, "errors": []}

    async def everyone() -> None:
        await asyncio.gather(*(_laptop(spec, laptop, out) for laptop in spec["laptops"]))

    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    before, waited = os.times(), _waited_seconds([os.getpid()])
    started = time.perf_counter()
    runner(everyone())
    out["elapsed"] = time.perf_counter() - started
    after = os.times()
    out["cpu"] = after.user + after.system - before.user - before.system
    out["waited"] = _waited_seconds([os.getpid()]) - waited
    json.dump(out, sys.stdout)
    return 0


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    import psutil

    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        found[pid] = times.user + times.system
    return found


def _waited_seconds(pids: list[int]) -> float:
    """Seconds the threads of ``pids`` have spent ready to run but waiting for a CPU
    (Linux's schedstat; 0 elsewhere). Over a run, divided by its requests: how much of
    a request's time went to queueing for the CPU rather than to work or to I/O."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the thread ended meanwhile
    return total / 1e9


def _run_load(
    args: argparse.Namespace,
    url: str,
    logins: list[dict[str, str]],
    pg: Any,
    hub_pids_: list[int],
    *,
    pause: float,
    rounds: int,
) -> dict[str, Any]:
    """One run of the generator, with the CPU the Hub, PostgreSQL and it used meanwhile."""
    import json

    import psutil

    def hub_pids() -> list[int]:
        found = []
        for pid in hub_pids_:  # every node and its workers
            found += [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
        return found

    def pg_pids() -> list[int]:
        return [r[0] for r in pg.execute("SELECT pid FROM pg_stat_activity").fetchall()]

    host, port = url.removeprefix("http://").split(":")
    spec = {"host": host, "port": int(port), "pause": pause, "rounds": rounds, "laptops": logins}
    hub_before, pg_before = _cpu_seconds(hub_pids()), _cpu_seconds(pg_pids())
    hub_waited, pg_waited = _waited_seconds(hub_pids()), _waited_seconds(pg_pids())
    done = subprocess.run(
        [sys.executable, __file__, "--load-generator"],
        input=json.dumps(spec), capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    hub_after, pg_after = _cpu_seconds(hub_pids()), _cpu_seconds(pg_pids())
    result["hub_cpu"] = sum(v - hub_before.get(k, 0.0) for k, v in hub_after.items())
    result["pg_cpu"] = sum(v - pg_before.get(k, 0.0) for k, v in pg_after.items())
    # PostgreSQL's backends stay (pooled); a Hub thread that ended takes its wait along.
    result["hub_waited"] = _waited_seconds(hub_pids()) - hub_waited
    result["pg_waited"] = _waited_seconds(pg_pids()) - pg_waited
    return result


def _load_line(label: str, args: argparse.Namespace, r: dict[str, Any]) -> str:
    lat = [t for times in r["lat"].values() for t in times]
    n = max(1, len(lat))
    errors = r["errors"]
    return (
        f"load, {label}: {args.laptops} laptops in teams of {args.team_size}, "
        f"{args.nodes} Hub server(s) x {args.workers} workers on one PostgreSQL: "
        f"{len(lat)} requests in "
        f"{r['elapsed']:.1f} s = {len(lat) / r['elapsed']:.0f} req/s, "
        f"p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms ("
        + ", ".join(f"{k} p95 {pct(v, 95):.0f} ms" for k, v in sorted(r["lat"].items()))
        + f"), errors {len(errors)}"
        + (f" {errors[:3]}" if errors else "")
        + f"; CPU s: Hub {r['hub_cpu']:.1f}, PostgreSQL {r['pg_cpu']:.1f}, "
        f"load generator {r['cpu']:.1f}; waiting for a CPU, ms per request: Hub "
        f"{r['hub_waited'] * 1000 / n:.1f}, PostgreSQL {r['pg_waited'] * 1000 / n:.1f}, "
        f"load generator {r['waited'] * 1000 / n:.1f} (mean latency {sum(lat) / n:.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f})"
    )


def load(args: argparse.Namespace) -> None:
    import psycopg

    name = f"tp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db = args.pg.rsplit("/", 1)[0] + f"/{name}"
    # The generator's request body is what the laptop sends.
    PushRequest.model_validate_json(_push_body(str(uuid.uuid4()), "a@example.com", 0))
    try:
        engine = make_engine(db)
        upgrade(engine)
        # Laptops in teams of --team-size, as reps work: each pull brings its team's news.
        teams = max(1, -(-args.laptops // args.team_size))
        for t in range(teams):
            accounts.add_user(engine, f"load{t}@example.com", PASSWORD, "rep", [f"team{t}"])
        nodes = [serve(db, args.workers, dict(os.environ)) for _ in range(args.nodes)]
        url = nodes[0][1]
        pids = [p.pid for p, _u in nodes]
        ports = [int(u.rsplit(":", 1)[1]) for _p, u in nodes]
        try:

            def token_for(n: int) -> dict[str, str]:
                # Setup, not timed: device tokens issued straight into the Hub's database
                # (1,000 sign-ins are 1,000 deliberately slow password checks).
                device, email = str(uuid.uuid4()), f"load{n % teams}@example.com"
                with write(engine) as conn:
                    user = conn.execute(select(users).where(users.c.email == email)).one()
                    token, _who = accounts._issue_token(conn, user, device, f"laptop {n}")
                # Laptops alternate between the Hub nodes (one database behind them).
                port = str(ports[n % len(ports)])
                return {"token": token, "device": device, "email": email, "port": port}

            logins = [token_for(n) for n in range(args.laptops)]
            with psycopg.connect(args.pg, autocommit=True) as pg:
                # Capacity: every laptop syncs again the moment its last sync ends.
                full = _run_load(args, url, logins, pg, pids, pause=0, rounds=args.load_rounds)
                print(_load_line(f"saturation (closed loop, no pause) x {args.load_rounds} "
                                 "syncs of push 5 + pull", args, full))  # fmt: skip
                # What 200 laptops active at once see: each waits between its syncs.
                paced = _run_load(
                    args, url, logins, pg, pids, pause=args.pause, rounds=args.paced_rounds
                )
                offered = 2 * args.laptops / args.pause
                print(
                    _load_line(
                        f"paced ({args.pause:g} s +-50 % between a laptop's syncs, about "
                        f"{offered:.0f} req/s offered) x {args.paced_rounds} syncs of "
                        "push 5 + pull",
                        args,
                        paced,
                    )
                )
        finally:
            for node, _u in nodes:
                node.terminate()
                node.wait()
        engine.dispose()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- per request: what one small sync request costs the Hub and PostgreSQL ---------------
def _pg_calls(pg: Any, dbname: str) -> int | None:
    """Statements PostgreSQL ran in the Hub's database so far (pg_stat_statements, which
    counts BEGIN and COMMIT too), or None when the server does not load it."""
    import psycopg

    try:
        found = pg.execute(
            "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
            (dbname,),
        ).fetchone()
    except psycopg.Error:  # the extension is optional
        return None
    return int(found[0])


def _per_request_db(args: argparse.Namespace) -> tuple[str, Any]:
    """(server URL, cluster to stop or None): --pg, else a throwaway PostgreSQL server that
    loads pg_stat_statements, else ("", None) for SQLite."""
    if args.pg:
        return args.pg, None
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from pg_cluster import Cluster, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        return "", None
    cluster = Cluster(bin_dir).start("-c shared_preload_libraries=pg_stat_statements")
    return cluster.url, cluster


def per_request(args: argparse.Namespace, work: Path) -> None:
    """--per-request: CPU (Hub and PostgreSQL) and SQL statements per request for the
    small requests a laptop syncing every few seconds sends, one at a time."""
    import psutil
    import psycopg

    server, cluster = _per_request_db(args)
    name = f"tp_bench_{uuid.uuid4().hex[:8]}"
    pg = None
    try:
        if server:
            pg = psycopg.connect(server, autocommit=True)
            pg.execute(f"CREATE DATABASE {name}")
            with contextlib.suppress(psycopg.Error):
                pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            db = server.rsplit("/", 1)[0] + f"/{name}"
        else:
            db = f"sqlite:///{work / 'per-request.sqlite3'}"
        engine = make_engine(db)
        upgrade(engine)
        accounts.add_user(engine, "rep@example.com", PASSWORD, "rep", [TEAM])
        accounts.add_user(engine, "other@example.com", PASSWORD, "rep", ["south"])
        devices_ = {}
        with write(engine) as conn:
            for who in ("pusher", "puller"):
                user = conn.execute(select(users).where(users.c.email == "rep@example.com")).one()
                device = str(uuid.uuid4())
                token, _who = accounts._issue_token(conn, user, device, who)
                devices_[who] = (device, token)
        engine.dispose()
        proc, url = serve(db, 1, dict(os.environ))
        try:
            _per_request_rounds(args, url, devices_, proc.pid, pg, name, psutil)
        finally:
            proc.terminate()
            proc.wait()
    finally:
        if pg is not None:
            pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            pg.close()
        if cluster is not None:
            cluster.stop()


def _per_request_rounds(  # noqa: PLR0917
    args: argparse.Namespace,
    url: str,
    devices_: dict[str, tuple[str, str]],
    pid: int,
    pg: Any,
    dbname: str,
    psutil: Any,
) -> None:
    import orjson

    n = args.requests
    clients = {
        who: httpx.Client(
            base_url=url,
            headers={PROTOCOL_HEADER: "1", "Authorization": f"Bearer {token}"},
        )
        for who, (_device, token) in devices_.items()
    }
    pusher, puller = devices_["pusher"][0], devices_["puller"][0]
    stamp = "2026-11-18T09:30:00.000000Z"
    hello = {
        "protocol": 1,
        "device_id": puller,
        "client_time": stamp,
        "app_version": "1.0.0",
        "report": {"waiting": 0, "refused": 0, "set_aside": 0, "conflicts": 0, "os": "Linux"},
    }
    pushes = iter(range(10**6))

    def push_body(size: int) -> bytes:
        return _push_body(pusher, "rep@example.com", next(pushes), size)

    cursor = {"after": 0}

    def pull(limit: int) -> httpx.Response:
        params = {"after": cursor["after"], "limit": limit}
        answer = clients["puller"].get("/v1/pull", params=params)
        cursor["after"] = orjson.loads(answer.content)["next_after"]
        return answer

    def post(path: str, body: bytes) -> httpx.Response:
        return clients["pusher"].post(
            path, content=body, headers={"Content-Type": "application/json"}
        )

    kinds: list[tuple[str, Callable[[], httpx.Response], Callable[[], None] | None]] = [
        ("hello", lambda: clients["puller"].post("/v1/hello", json=hello), None),
        ("pull, nothing new", lambda: pull(1000), lambda: pull(1000) and None),
        ("push of 1 change", lambda: post("/v1/push", push_body(1)), None),
        ("push of 5 changes", lambda: post("/v1/push", push_body(5)), None),
        # The puller's pages of 5 bring the pushes above, 5 changes each.
        ("pull of 5 new changes", lambda: pull(5), lambda: cursor.update(after=0)),
        ("push, empty", lambda: post("/v1/push", push_body(0)), None),
    ]
    proc = psutil.Process(pid)

    def hub_cpu() -> float:
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total

    def pg_cpu() -> float:
        if pg is None:
            return 0.0
        pids = [
            r[0]
            for r in pg.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (dbname,)
            ).fetchall()
        ]
        return sum(_cpu_seconds(pids).values())

    print(
        f"per request, {n} at a time one after another, one Hub worker on "
        f"{'PostgreSQL' if pg is not None else 'SQLite'} (load {os.getloadavg()[0]:.2f}):"
    )
    for label, call, prepare in kinds:
        if prepare is not None:
            prepare()
        for _ in range(min(20, n)):  # warm up: connections, statement caches
            assert call().status_code == 200, label
        if prepare is not None:
            prepare()
        calls_before = _pg_calls(pg, dbname) if pg is not None else None
        hub_before, pg_before = hub_cpu(), pg_cpu()
        lat = []
        for _ in range(n):
            started = time.perf_counter()
            answer = call()
            lat.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (label, answer.text)
        hub_ms = (hub_cpu() - hub_before) * 1000 / n
        pg_ms = (pg_cpu() - pg_before) * 1000 / n
        calls_after = _pg_calls(pg, dbname) if pg is not None else None
        statements = (
            f", {(calls_after - calls_before - 1) / n:.1f} statements"
            if calls_before is not None and calls_after is not None
            else ""
        )
        print(
            f"  {label:<22} Hub CPU {hub_ms:.2f} ms"
            + (f", PostgreSQL CPU {pg_ms:.2f} ms" if pg is not None else "")
            + f"{statements}, p50 {pct(lat, 50):.1f} ms"
        )
    for client in clients.values():
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="a dataset (not needed with --skip first incremental)"
    )
    parser.add_argument("--pg", default=os.environ.get("TOUCHPOINT_TEST_PG_URL", ""))
    parser.add_argument("--page-size", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--laptops", type=int, default=200)
    parser.add_argument("--load-rounds", type=int, default=5)
    parser.add_argument("--team-size", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--nodes", type=int, default=1, help="Hub server processes on one database (load)"
    )
    parser.add_argument(
        "--pause", type=float, default=PACED_PAUSE_S, help="paced load: seconds between syncs"
    )
    parser.add_argument("--paced-rounds", type=int, default=5)
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--per-request",
        action="store_true",
        help="only: CPU and SQL statements per hello, push and pull, one at a time "
        "(on --pg, else a throwaway PostgreSQL server, else SQLite)",
    )
    parser.add_argument("--requests", type=int, default=300, help="per kind, --per-request")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["first", "incremental", "load", "indexing", "floor"],
    )
    args = parser.parse_args()
    if args.load_generator:
        return load_generator()
    keyring.set_keyring(MemoryKeyring())
    work = Path(tempfile.mkdtemp(prefix="tp-bench-sync-"))
    try:
        if args.per_request:
            per_request(args, work)
            return 0
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
