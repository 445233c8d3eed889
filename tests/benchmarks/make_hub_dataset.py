"""Make a Hub database holding a benchmark dataset, as the Hub holds it once every rep's
laptop has pushed its work.

    python tests/benchmarks/make_hub_dataset.py --data bench-data/L --out bench-data/hub-L.sqlite3
    python tests/benchmarks/make_hub_dataset.py --size S --out /tmp/hub-S.sqlite3
    python tests/benchmarks/make_hub_dataset.py --data bench-data/L \\
        --postgres postgresql://postgres@127.0.0.1/touchpoint_l

The book comes from a dataset folder made by make_dataset.py (its database is copied
first, never written) or is generated with services/demo (--size). The Hub gets one
user per rep, in the demo's five teams (rep i of n in team i * 5 // n), a manager per
team, an admin, a laptop (device and token) per rep, and every record with its change
log, numbered in order.

The records are written by the Hub's own push (``exchange.push_once``, what
``POST /v1/push`` runs) with each rep as the caller and its laptop as the device, in
the order laptops would deliver them (parents first): the same rows, versions, log and
answers as real pushes, only without HTTP and with many batches to a transaction.
tests/hub/test_hub_dataset.py checks, on a small book, that the result equals a Hub
that real laptops pushed the same data to.

--password is every account's password (default "touchpoint demo").

--console-only makes, in seconds instead of the push's hour at L, what the console
reads after a restart: the Hub's people, laptops and a record row per customer (and
one interaction per team), with an empty change log numbered up to the book's size,
and beside it the console's replica caught up to that number: the book's database
itself. For bench_console.py --hub-db at L; not for the feed, which needs the log.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, delete, insert, select, update

from touchpoint.hub import accounts, door, exchange, replica
from touchpoint.hub.db import counter, make_engine, records, tokens, upgrade, write
from touchpoint.hub.db import devices as device_rows
from touchpoint.services import demo
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.models import Change, CustomerTeam
from touchpoint.storage.types import to_utc_text
from touchpoint.storage.workspace import Workspace
from touchpoint.sync.engine import CURSOR_KEY, SCOPE_KEY, write_meta
from touchpoint.sync.protocol import ChangeIn
from touchpoint.sync.pushing import outbox_change

PASSWORD = "touchpoint demo"
TEAM_NAMES = ("dach", "uk-benelux", "france", "southern-europe", "north-america")
# The order laptops deliver records in: a parent reaches the Hub before its children.
ENTITY_ORDER = ("custom_field", "customer", "contact", "interaction", "followup", "deal", "merge")
CHUNK = 200_000  # changes read from the laptop's log at a time (one Hub transaction)


def team_of(reps: list[str]) -> dict[str, str]:
    """The demo's teams: rep i of n is in team i * 5 // n (services/demo.py)."""
    return {r: TEAM_NAMES[i * len(TEAM_NAMES) // len(reps)] for i, r in enumerate(reps)}


def device_of(email: str) -> str:
    """A rep's laptop: one device id per rep, the same at every build."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"touchpoint-bench-laptop:{email}"))


@dataclass
class Built:
    counts: dict[str, int] = field(default_factory=dict)
    users: int = 0
    changes: int = 0
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_changes(laptop_db: Path, chunk: int = CHUNK) -> Iterator[list[ChangeIn]]:
    """The laptop's change log in its order, as the sync engine sends it, a chunk at a
    time (never the whole book in memory)."""
    engine = create_engine(f"sqlite:///{laptop_db}")
    table = Change.__table__
    try:
        with engine.connect() as conn:
            rows = conn.execution_options(yield_per=20_000).execute(
                select(table).order_by(table.c.seq)
            )
            batch: list[ChangeIn] = []
            for c in rows:
                batch.append(outbox_change(c))
                if len(batch) >= chunk:
                    yield batch
                    batch = []
            if batch:
                yield batch
    finally:
        engine.dispose()


def authors(laptop_db: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{laptop_db}")
    try:
        with engine.connect() as conn:
            found = set(conn.execute(select(Change.__table__.c.author).distinct()).scalars())
    finally:
        engine.dispose()
    # In the demo's order (its teams are by place in that list), else by email.
    team = demo.sales_team(len(found))
    return team if set(team) == found else sorted(found)


def add_people(url: str, reps: list[str], password: str) -> dict[str, accounts.Principal]:
    """Reps (a laptop and token each), a manager per team and an admin; the reps as
    the Hub sees them when they push."""
    engine = make_engine(url)
    upgrade(engine)
    teams = team_of(reps)
    who: dict[str, accounts.Principal] = {}
    stamp = to_utc_text(datetime.now(UTC))
    try:
        for email in reps:
            user_id = accounts.add_user(engine, email, password, "rep", [teams[email]])
            device = device_of(email)
            with write(engine) as conn:
                conn.execute(
                    insert(tokens).values(
                        user_id=user_id,
                        token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                        device_id=device,
                        device_name=f"{email.split('@')[0]}-laptop",
                        created_at=stamp,
                    )
                )
            who[email] = accounts.Principal(
                user_id=user_id,
                email=email,
                role="rep",
                teams=(teams[email],),
                device_id=device,
                token_id=0,
            )
        domain = reps[0].split("@", 1)[1] if reps else demo.TEAM_DOMAIN
        for name in sorted(set(teams.values())):
            accounts.add_user(engine, f"manager.{name}@{domain}", password, "manager", [name])
        accounts.add_user(engine, f"admin@{domain}", password, "admin", [])
    finally:
        engine.dispose()
    return who


def build(
    url: str,
    laptop_db: Path,
    *,
    now: datetime | None = None,
    password: str = PASSWORD,
    devices: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> Built:
    """Fill an empty Hub database at ``url`` with the book of ``laptop_db`` (a laptop's
    database, only read). ``devices`` overrides the device id of some reps' laptops;
    ``now`` is the Hub's clock during the pushes (and the laptops' too: no offset)."""
    started = time.perf_counter()
    reps = authors(laptop_db)
    who = add_people(url, reps, password)
    for email, device in (devices or {}).items():
        p = who[email]
        who[email] = accounts.Principal(p.user_id, p.email, p.role, p.teams, device, 0)
    stamp = now or datetime.now(UTC)
    engine = make_engine(url)
    built = Built(users=len(reps) + len(set(team_of(reps).values())) + 1)
    order = {e: n for n, e in enumerate(ENTITY_ORDER)}
    last_seq: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # A build, not a service: a crash means building again, so no fsync
                # per commit (the Hub opens it with synchronous = FULL as ever).
                raw = conn.connection.driver_connection
                raw.execute("PRAGMA synchronous = OFF")
                raw.execute("PRAGMA cache_size = -262144")
            for batch in read_changes(laptop_db, chunk):
                # Each rep's laptop sends its own work; parents reach the Hub first.
                groups: dict[tuple[int, str], list[ChangeIn]] = {}
                for change in batch:
                    key = (order.get(change.entity, len(order)), change.author)
                    groups.setdefault(key, []).append(change)
                with write(conn), _door_open():
                    for (_n, author), group in sorted(groups.items()):
                        last_seq[author] = max(last_seq.get(author, 0), group[-1].seq)
                        results = exchange.push_once(
                            conn,
                            who[author],
                            device_id=who[author].device_id,
                            batch=group,
                            offset=stamp - stamp,
                            now=stamp,
                        )
                        for change, result in zip(group, results, strict=True):
                            if result.status == "applied":
                                built.counts[change.entity] = built.counts.get(change.entity, 0) + 1
                            else:
                                built.refused.append(
                                    f"{change.entity} {change.record_id}: {result.error}"
                                )
                built.changes += len(batch)
                if progress is not None:
                    progress(built.changes)
            with write(conn):
                # A laptop sends its log in order, so its device row ends at its last seq
                # (here the groups of one laptop arrive entity by entity).
                for author, seq in last_seq.items():
                    conn.execute(
                        update(device_rows)
                        .where(device_rows.c.device_id == who[author].device_id)
                        .values(last_seq=seq)
                    )
            if conn.dialect.name == "sqlite":
                conn.rollback()  # leave the autobegun read transaction
                raw.execute("PRAGMA synchronous = FULL")
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
    finally:
        engine.dispose()
    built.seconds = time.perf_counter() - started
    return built


@contextmanager
def _door_open() -> Iterator[None]:
    """The door's shape and size checks skipped: they only refuse (a fifth of a push's
    time), and the demo's records pass them, as the test's real pushes show."""
    checked = door.check_change
    door.check_change = lambda _change: None
    try:
        yield
    finally:
        door.check_change = checked


def console_only(url: str, laptop_db: Path, *, password: str = PASSWORD) -> int:
    """The Hub's people and records index, and the book as the console's replica (see
    the module); the number the replica is caught up to."""
    reps = authors(laptop_db)
    who = add_people(url, reps, password)
    teams = team_of(reps)
    stamp = to_utc_text(datetime.now(UTC))
    source = create_engine(f"sqlite:///{laptop_db}")
    engine = make_engine(url)
    try:
        with source.connect() as conn:
            owners = conn.exec_driver_sql("SELECT id, owner FROM customers").all()
            total = conn.exec_driver_sql("SELECT count(*) FROM change_log").scalar_one()
            firsts = conn.exec_driver_sql(
                "SELECT c.owner, min(i.id) FROM interactions i"
                " JOIN customers c ON c.id = i.customer_id GROUP BY c.owner"
            ).all()
        team_of_customer = {cid: teams.get(owner, TEAM_NAMES[0]) for cid, owner in owners}
        with write(engine) as conn:
            rows = [
                {"entity": "customer", "record_id": cid, "team": team, "data": {}, "versions": {}}
                for cid, team in team_of_customer.items()
            ]
            seen: set[str] = set()
            for owner, interaction in firsts:
                if teams.get(owner) not in seen:
                    seen.add(teams[owner])
                    rows.append(
                        {
                            "entity": "interaction",
                            "record_id": interaction,
                            "team": teams[owner],
                            "data": {},
                            "versions": {},
                        }
                    )
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(records), rows[start : start + 20_000])
            conn.execute(update(counter).where(counter.c.id == 1).values(value=total))
            for principal in who.values():
                conn.execute(
                    insert(device_rows).values(
                        device_id=principal.device_id,
                        user_id=principal.user_id,
                        last_seq=0,
                        clock_offset_ms=0,
                        last_seen=stamp,
                    )
                )
    finally:
        source.dispose()
        engine.dispose()
    folder = replica.console_folder(url)
    folder.mkdir()
    shutil.copyfile(laptop_db, folder / "touchpoint.sqlite3")
    ws = Workspace.open(folder, auto_backup=False)
    try:
        with ws.unit_of_work(origin="remote") as uow:
            write_meta(uow.session, CURSOR_KEY, str(total))
            write_meta(uow.session, SCOPE_KEY, replica.SCOPE)
            # Each customer's team, as the pulls that filled a real replica leave it:
            # without them every team check of the console finds nothing.
            uow.session.execute(delete(CustomerTeam))
            pairs = list(team_of_customer.items())
            for start in range(0, len(pairs), 20_000):
                uow.session.execute(
                    insert(CustomerTeam),
                    [{"customer_id": c, "team": t} for c, t in pairs[start : start + 20_000]],
                )
            uow.commit()
        replica.mark_caught_up(ws, total)
    finally:
        ws.close()
    return total


def generated(folder: Path, size: str, seed: int) -> Path:
    """A laptop folder with the demo's book of that size (make_dataset.py's)."""
    spec = dict(demo.SIZES[size])
    team = demo.sales_team(spec.pop("reps"))
    save_settings(
        folder / "config" / "settings.toml",
        Settings(user=team[0], display_name="Maria Keller", timezone="Europe/Berlin"),
    )
    ws = Workspace.open(folder, auto_backup=False)
    try:
        demo.generate_demo(ws, reps=team if len(team) > 1 else None, seed=seed, **spec)
    finally:
        ws.close()
    return folder / "touchpoint.sqlite3"


def copied(data: Path, into: Path) -> Path:
    """The dataset's database copied (with its WAL, if any): the dataset is only read."""
    source = data / "touchpoint.sqlite3"
    if not source.is_file():
        raise SystemExit(f"{data} holds no dataset (no touchpoint.sqlite3)")
    target = into / "laptop.sqlite3"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").is_file():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a dataset folder (make_dataset.py)")
    source.add_argument("--size", choices=sorted(demo.SIZES), help="generate the book")
    parser.add_argument("--seed", type=int, default=1)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="the Hub's SQLite file to make (new)")
    target.add_argument("--postgres", help="an empty PostgreSQL database's URL")
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument(
        "--console-only", action="store_true", help="people, records index and the replica"
    )
    args = parser.parse_args()

    if args.out is not None:
        if args.out.exists():
            print(f"{args.out} exists: give a new file", file=sys.stderr)
            return 1
        url = f"sqlite:///{args.out.resolve()}"
    else:
        url = args.postgres
        engine = make_engine(url)
        with engine.connect() as conn:
            has_tables = conn.exec_driver_sql(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'changes'"
            ).scalar()
        engine.dispose()
        if has_tables:
            print(
                "that PostgreSQL database already holds a Hub: give an empty one", file=sys.stderr
            )
            return 1

    with tempfile.TemporaryDirectory(prefix="hub-dataset-") as tmp:
        started = time.perf_counter()
        if args.data is not None:
            laptop = copied(args.data, Path(tmp))
            print(f"copied the dataset in {time.perf_counter() - started:.1f} s")
        else:
            laptop = generated(Path(tmp) / "laptop", args.size, args.seed)
            print(f"generated the {args.size} book in {time.perf_counter() - started:.1f} s")
        last = [0.0]

        def progress(done: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 10:
                last[0] = now
                print(f"  {done:>10,} changes  {now - started:6.1f} s", file=sys.stderr)

        if args.console_only:
            if args.out is None:
                print("--console-only makes a SQLite Hub (--out)", file=sys.stderr)
                return 1
            total = console_only(url, laptop, password=args.password)
            print(f"hub at {args.out}: people and records index, log numbered to {total:,}")
            print(f"console replica at {replica.console_folder(url)}")
            print(f"made in {time.perf_counter() - started:.1f} s")
            return 0
        built = build(url, laptop, password=args.password, progress=progress)
    print(f"hub at {args.out or url}")
    for entity, count in sorted(built.counts.items()):
        print(f"  {entity:<13} {count:>10,}")
    print(f"  users         {built.users:>10,}  (reps, a manager per team, an admin)")
    print(f"  changes       {built.changes:>10,}")
    if built.refused:
        print(f"REFUSED {len(built.refused)} changes, the first: {built.refused[:3]}")
        return 1
    print(f"pushed in {built.seconds:.1f} s ({time.perf_counter() - started:.1f} s in all)")
    if args.out is not None:
        print(f"database: {args.out.stat().st_size / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
