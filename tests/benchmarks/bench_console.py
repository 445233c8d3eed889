"""Benchmark of the Hub console's pages: fleet health and the team dashboard.

A Hub (SQLite, one uvicorn worker, as `touchpoint-hub serve` runs it) is seeded with a
dataset's records in one team, that team's reps as Hub users with one laptop each, and
--users console users (admins, so that the team's members are its reps alone) who sign
in one after another. Then:

1. the team dashboard from the Hub's start: the console's replica catches up in the
   background (a new one pulls the whole book; the page says "one moment" meanwhile),
   then the daily report for the team and the week is computed; then the same view
   again (kept), then after one new change reaches the Hub (an incremental pull and
   the report again);
2. every user browsing at once, each in turn opening the console's pages --rounds
   times: p50/p95/max per kind of page and requests per second. The kinds (--pages
   picks some): fleet, dashboard, customer (one on the watch list), customer-big (the
   customer with the most interactions; with the replica on disk), rep (/reps/<id>),
   customers (the search, a word of a customer's name), late (/promises/late), and the
   report downloads report-pdf, report-xlsx and report-html (this week's);
3. the Hub restarted: the first dashboard comes from the replica on disk, at once.

    python tests/benchmarks/bench_console.py --small          # minutes, on a laptop
    python tests/benchmarks/bench_console.py --data bench-data/L --users 50
    python tests/benchmarks/bench_console.py --hub-db bench-data/hub-L.sqlite3 --pause 1
    python tests/benchmarks/bench_console.py --small --pages customer customer-big rep

--hub-db serves a Hub made by make_hub_dataset.py in place (five teams; the dashboard
of its first team; --users admins are added to it once). Its console replica lives
beside it and is kept: the first run times the first catch-up (pages answer 503 "one
moment" until it ends), later runs start with it. The Hub is also restarted once, to
time the first dashboard after a restart (no catch-up to wait for).

--small generates a book of 12 reps (a manager's team) with 1,000 customers and
12,000 interactions; --data takes a dataset made by make_dataset.py (its reps all go
into the one team). Times are wall clock on this machine, load generator included.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from argon2 import PasswordHasher
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import TEAM, dataset_rows, free_port, seed_hub

from touchpoint.hub import accounts
from touchpoint.hub.db import (
    changes,
    counter,
    devices,
    make_engine,
    records,
    teams,
    tokens,
    write,
)
from touchpoint.hub.replica import console_folder
from touchpoint.services import demo
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.tracking import jsonable
from touchpoint.storage.workspace import Workspace

PASSWORD = "benchmark password"
SMALL = dict(customers=1_000, contacts=2_000, interactions=12_000, followups=2_500, deals=800)


def make_small(folder: Path, reps: int) -> None:
    team = demo.sales_team(reps)
    save_settings(
        folder / "config" / "settings.toml", Settings(user=team[0], timezone="Europe/Berlin")
    )
    ws = Workspace.open(folder, auto_backup=False)
    try:
        demo.generate_demo(ws, reps=team, seed=1, **SMALL)
    finally:
        ws.close()


def add_people(db: str, reps: list[str], viewers: int) -> list[str]:
    """The reps (one laptop each, as the fleet shows it) and the console's users."""
    engine = make_engine(db)
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    now = "2026-12-06T08:00:00.000000Z"
    for email in reps:
        user_id = accounts.add_user(engine, email, PASSWORD, "rep", [TEAM])
        device = str(uuid.uuid4())
        with write(engine) as conn:
            conn.execute(
                insert(devices).values(
                    device_id=device,
                    user_id=user_id,
                    last_seq=0,
                    clock_offset_ms=1200,
                    last_seen=now,
                    app_version="0.1.0",
                    report={
                        "waiting": 0,
                        "refused": 0,
                        "set_aside": 0,
                        "encrypted": True,
                        "os": "Windows 11",
                        "last_sync_at": now,
                        "db_bytes": 48_000_000,
                    },
                    reported_at=now,
                )
            )
            conn.execute(
                insert(tokens).values(
                    user_id=user_id,
                    token_hash=uuid.uuid4().hex,
                    device_id=device,
                    device_name=f"{email.split('@')[0]}-laptop",
                    created_at=now,
                )
            )
    # Admins: they see the team's dashboard without being counted among its members.
    emails = [f"admin{n:02d}@example.com" for n in range(viewers)]
    for email in emails:
        accounts.add_user(engine, email, PASSWORD, "admin", [])
    engine.dispose()
    return emails


def add_viewers(db: str, viewers: int) -> list[str]:
    """Console users (admins) on a made Hub, added once: later runs sign them in again."""
    engine = make_engine(db)
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    emails = [f"bench-viewer{n:02d}@example.com" for n in range(viewers)]
    try:
        for email in emails:
            try:
                accounts.add_user(engine, email, PASSWORD, "admin", [])
            except accounts.AccountError:
                accounts.set_password(engine, email, PASSWORD)
    finally:
        engine.dispose()
    return emails


def first_team(db: str) -> str:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(select(teams.c.name).order_by(teams.c.name)).scalars().first()
    finally:
        engine.dispose()


def until_ready(client: httpx.Client, path: str) -> tuple[float, int]:
    """(seconds, 503 answers) until the page answers 200: the figures' first catch-up."""
    started = time.perf_counter()
    waits = 0
    while True:
        answer = client.get(path)
        if answer.status_code == 200:
            return time.perf_counter() - started, waits
        if answer.status_code != 503:
            raise SystemExit(f"{path}: {answer.status_code}")
        waits += 1
        time.sleep(1)


def one_change(db: str, team: str = TEAM) -> None:
    """A new interaction note reaching the Hub, as a laptop's push would leave it."""
    engine = make_engine(db)
    with write(engine) as conn:
        row = conn.execute(
            select(records.c.record_id, records.c.data).where(
                records.c.entity == "interaction", records.c.team == team
            )
        ).first()
        seq = conn.execute(select(counter.c.value)).scalar_one() + 1
        stamp = "2026-12-06T10:00:00.000000Z"
        conn.execute(counter.update().values(value=seq))
        conn.execute(
            insert(changes).values(
                server_seq=seq,
                change_id=str(uuid.uuid4()),
                device_id="bench",
                user_id=None,
                entity="interaction",
                record_id=row.record_id,
                team=team,
                op="update",
                fields={"notes": "edited during the benchmark"},
                at=stamp,
                corrected_at=stamp,
                author="bench",
                received_at=stamp,
            )
        )
    engine.dispose()


def serve(db: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "touchpoint.hub.cli", "serve", "--db", db, "--port", str(port)],
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


def sign_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=600)
    page = client.get("/").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for _ in range(50):
        answer = client.post("/", data={"email": email, "password": PASSWORD, "csrf": token})
        if answer.status_code in (200, 303):
            return client
        time.sleep(0.2)  # 429: another sign-in's password check is running
    raise SystemExit(f"{email} could not sign in: {answer.status_code}")


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}")
    return seconds


KINDS = (
    "fleet",
    "dashboard",
    "customer",
    "customer-big",
    "rep",
    "customers",
    "late",
    "report-pdf",
    "report-xlsx",
    "report-html",
)


def biggest_customer(folder: Path) -> str | None:
    """The customer with the most live interactions in the console's replica (read
    only), the longest timeline a page can have."""
    path = folder / "touchpoint.sqlite3"
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT customer_id FROM interactions WHERE deleted_at IS NULL"
            " GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def page_mix(client: httpx.Client, dashboard: str, team: str, folder: Path) -> dict[str, str]:
    """A path for each kind of page, found as a manager would: from the dashboard's
    links (a customer on the watch list, a rep, the downloads) and a customer's name."""
    page = html.unescape(client.get(dashboard).text)
    found: dict[str, str] = {"fleet": "/fleet", "dashboard": dashboard}
    customer = re.search(r'href="(/customers/[^"]+)"', page)
    if customer:
        found["customer"] = customer.group(1)
        name = re.search(r"<h1>([^<]+)</h1>", html.unescape(client.get(found["customer"]).text))
        word = max(re.findall(r"\w{3,}", name.group(1)) if name else [], key=len, default="")
        if word:
            found["customers"] = "/customers?" + urlencode({"q": word, "team": team})
    big = biggest_customer(folder)
    if big:
        found["customer-big"] = f"/customers/{big}"
    rep = re.search(r'href="(/reps/\d+)[?"]', page)
    if rep:
        found["rep"] = rep.group(1) + "?period=week"
    found["late"] = "/promises/late?" + urlencode({"team": team})
    for link in re.findall(r'href="(/reports/daily\?[^"]+)"', page):
        kind = re.search(r"format=(\w+)", link)
        if kind:
            found[f"report-{kind.group(1)}"] = link
    return found


async def browse(
    url: str, cookies: list[Any], pages: list[tuple[str, str]], rounds: int, pause: float
) -> dict[str, list[float]]:
    """Each user opens ``rounds`` pages of the mix (kind, path), in turn from their own
    place in it; the seconds of each answer by kind."""
    seen: dict[str, list[float]] = {kind: [] for kind, _ in pages}

    async def user(jar: Any, offset: int) -> None:
        async with httpx.AsyncClient(base_url=url, cookies=jar, timeout=600) as client:
            for n in range(rounds):
                if pause:  # a person reads the page before opening the next
                    await asyncio.sleep(pause * random.uniform(0.5, 1.5))
                kind, path = pages[(offset + n) % len(pages)]
                started = time.perf_counter()
                answer = await client.get(path)
                seen[kind].append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code}")

    await asyncio.gather(*(user(jar, n) for n, jar in enumerate(cookies)))
    return seen


def line(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"  {name:<12} n={len(values):>4}  p50 {1000 * statistics.median(values):7.0f} ms"
        f"  p95 {1000 * p95:7.0f} ms  max {1000 * ordered[-1]:7.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a dataset folder (make_dataset.py)")
    source.add_argument("--small", action="store_true", help="generate a small book (12 reps)")
    source.add_argument("--hub-db", type=Path, help="a Hub made by make_hub_dataset.py")
    parser.add_argument("--users", type=int, default=50, help="console users browsing at once")
    parser.add_argument("--rounds", type=int, default=6, help="pages each user opens")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds (+-50%%) a user reads each page"
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        help="the kinds of page the users open (all by default)",
    )
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        root = Path(tmp)
        team = TEAM
        if args.hub_db:
            db = f"sqlite:///{args.hub_db.resolve()}"
            viewers = add_viewers(db, args.users)
            team = first_team(db)
            print(f"hub: {args.hub_db}, dashboard of team {team}, {args.users} console users")
        else:
            data = args.data
            if args.small:
                data = root / "book"
                started = time.perf_counter()
                make_small(data, 12)
                print(f"generated the small book in {time.perf_counter() - started:.1f} s")
            rows = [(e, i, jsonable(d)) for e, i, d in dataset_rows(data)]
            reps = sorted(
                {d.get("owner") for e, _i, d in rows if e == "customer" and d.get("owner")}
            )
            db = f"sqlite:///{root / 'hub.sqlite3'}"
            seed_hub(db, rows)
            viewers = add_people(db, reps, args.users)
            counts: dict[str, int] = {}
            for entity, _i, _d in rows:
                counts[entity] = counts.get(entity, 0) + 1
            print(f"hub: {len(rows):,} records ({counts}), team {TEAM} of {len(reps)} reps, "
                  f"{args.users} console users")  # fmt: skip

        env = dict(os.environ)
        env.update(
            TOUCHPOINT_HUB_SECRET="benchmark-secret-" + "x" * 40,
            HOME=str(root / "home"),
            XDG_DATA_HOME=str(root / "home" / "data"),
            XDG_STATE_HOME=str(root / "home" / "state"),
            XDG_CACHE_HOME=str(root / "home" / "cache"),
        )
        dashboard = "/dashboard?" + urlencode({"team": team})
        proc, url = serve(db, env)
        try:
            first = sign_in(url, viewers[0])
            ready, waits = until_ready(first, dashboard)
            print("team dashboard (this week):")
            print(f"  first answer after the start ({waits} 'one moment' pages before) "
                  f"{ready:7.2f} s")  # fmt: skip
            warm = timed(first, dashboard)
            one_change(db, team)
            changed = timed(first, dashboard)
            fleet = timed(first, "/fleet")
            found = page_mix(first, dashboard, team, console_folder(db))
            missing = [kind for kind in args.pages if kind not in found]
            if missing:
                print(f"  (no link found for: {', '.join(missing)})")
            print(f"  again (report kept)                                  {warm:7.3f} s")
            print(f"  after one new change (pull 1, report again)          {changed:7.2f} s")
            print(f"fleet page, alone: {1000 * fleet:.0f} ms")

            started = time.perf_counter()
            clients = [first] + [sign_in(url, email) for email in viewers[1:]]
            print(f"{len(clients)} sign-ins in {time.perf_counter() - started:.1f} s")
            jars = [c.cookies for c in clients]
            pages = [(kind, found[kind]) for kind in args.pages if kind in found]
            for kind, path in pages:
                print(f"  {kind:<12} {path}")
            print(f"load now: {os.getloadavg()[0]:.2f}")
            started = time.perf_counter()
            seen = asyncio.run(browse(url, jars, pages, args.rounds, args.pause))
            wall = time.perf_counter() - started
            total = sum(len(v) for v in seen.values())
            print(f"{len(clients)} users browsing at once, {args.rounds} pages each, "
                  f"pausing {args.pause:g} s "
                  f"({total} requests in {wall:.1f} s, {total / wall:.1f}/s):")  # fmt: skip
            for name, values in seen.items():
                print(line(name, values))
            print(line("all", [v for values in seen.values() for v in values]))
            for c in clients:
                c.close()

            # The Hub restarts: its replica is on disk, so the dashboard answers at once
            # (only the report is figured again, this process never had it).
            proc.terminate()
            proc.wait(timeout=120)
            started = time.perf_counter()
            proc, url = serve(db, env)
            up = time.perf_counter() - started
            again = sign_in(url, viewers[0])
            ready, waits = until_ready(again, dashboard)
            print(f"after a restart: up in {up:.1f} s, first dashboard in {ready:.2f} s "
                  f"({waits} 'one moment' pages)")  # fmt: skip
            again.close()
        finally:
            proc.terminate()
            proc.wait(timeout=120)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
