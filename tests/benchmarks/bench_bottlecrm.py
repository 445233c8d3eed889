"""Interactions from the Hub into a real BottleCRM, against BottleCRM's own create rate.

    python tests/benchmarks/bench_bottlecrm.py [--interactions 500] [--probe 100]

Starts BottleCRM (``.venv-bottlecrm``, see packaging/bootstrap.sh) and a Hub database,
brings one BottleCRM account in as a customer, then in the same run:

1. BottleCRM's own rate: ``--probe`` interactions created one by one with plain POSTs;
2. the connector: ``--interactions`` interactions pushed to the Hub (as laptops would),
   then one ``connector run`` carrying them all into BottleCRM.

Prints both rates in records per second and the connector's share of BottleCRM's rate.
BottleCRM's rate is probed before and after the run (it slows as its tables grow).
The issue's size is 10,000 interactions; the default is small.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [
    str(HERE.parent / "fixtures" / "bottlecrm"),
    str(HERE.parent / "sync"),
    str(HERE.parent),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=500)
    parser.add_argument("--probe", type=int, default=100)
    args = parser.parse_args()

    from bottlecrm_server import BottleCRM, unavailable

    why = unavailable()
    if why:
        print(f"skipped: {why}")
        return 0
    import harness  # noqa: F401  (cheap argon2 for the Hub's users)
    from sqlalchemy import select

    from touchpoint.hub import accounts, exchange
    from touchpoint.hub.connectors import bottlecrm, core
    from touchpoint.hub.db import make_engine, upgrade, users
    from touchpoint.storage.models import new_id
    from touchpoint.storage.utc_text import to_utc_text
    from touchpoint.sync.protocol import ChangeIn

    root = Path(tempfile.mkdtemp(prefix="bench-bottlecrm-"))
    t0 = time.perf_counter()
    crm_server = BottleCRM(root / "bottlecrm").start()
    print(f"BottleCRM started in {time.perf_counter() - t0:.1f} s")
    try:
        engine = make_engine(f"sqlite:///{root / 'hub.sqlite3'}")
        upgrade(engine)
        token = root / "token"
        token.write_text(crm_server.token)
        token.chmod(0o600)
        connector = core.add_connector(
            engine, "bottlecrm", name="bench", url=crm_server.url, token_file=str(token),
            team="north",
        )  # fmt: skip
        crm = crm_server.client()
        account = crm.post("accounts/", json={"name": "Bench Account"}).json()["id"]
        bottlecrm.run_once(engine, core.get_connector(engine, "bench"))
        customer_id = core.HubSide(engine, connector).links("customer")
        [customer] = [ln.record_id for ln in customer_id.values()]

        # 1. BottleCRM's own single-create rate, in this run: before the connector's run
        # and again after it, since BottleCRM slows as its tables grow.
        occurred = to_utc_text(datetime.now(UTC) - timedelta(hours=1))

        def probe(when: str) -> float:
            t0 = time.perf_counter()
            for i in range(args.probe):
                answer = crm.post(
                    "interactions/",
                    json={"kind": "call", "subject": f"Probe {i}", "body": "probe",
                          "occurred_at": occurred, "account": account},
                )  # fmt: skip
                assert answer.status_code == 201, answer.text
            rate = args.probe / (time.perf_counter() - t0)
            print(f"BottleCRM alone, {when}: {args.probe} creates, {rate:.1f} records/s "
                  f"({1000 / rate:.1f} ms each)")  # fmt: skip
            return rate

        before = probe("before")

        # 2. Interactions on the Hub (pushed as a rep's laptop would), then one run.
        accounts.add_user(engine, "rep@example.com", "bench-password", "rep", ["north"])
        with engine.connect() as conn:
            rep = select(users.c.id).where(users.c.email == "rep@example.com")
            rep_id = int(conn.execute(rep).scalar_one())
        who = accounts.Principal(rep_id, "rep@example.com", "rep", ("north",), "bench-laptop", 0)
        for start in range(0, args.interactions, 500):
            batch = []
            for i in range(start, min(start + 500, args.interactions)):
                change_id = new_id()
                batch.append(
                    ChangeIn(
                        change_id=change_id, seq=i + 1, tx_id=change_id, entity="interaction",
                        record_id=new_id(), op="insert", at=occurred, author="rep@example.com",
                        schema_version="bench",
                        fields={"customer_id": [None, customer], "kind": [None, "visit"],
                                "occurred_at": [None, occurred], "rep": [None, "rep@example.com"],
                                "subject": [None, f"Visit {i}"],
                                "notes": [None, "Walked the site"]},
                    )
                )  # fmt: skip
            now = datetime.now(UTC)
            with engine.connect() as conn:
                answers = exchange.push(
                    conn, lambda _c: who, device_id="bench-laptop", client_time=to_utc_text(now),
                    batch=batch, server_now=now,
                )  # fmt: skip
            assert all(a.status == "applied" for a in answers)
        t0 = time.perf_counter()
        result = bottlecrm.run_once(engine, core.get_connector(engine, "bench"))
        took = time.perf_counter() - t0
        assert result.counts.get("interaction created") == args.interactions, result.counts
        rate = args.interactions / took
        print(
            f"Connector: {args.interactions} interactions Hub -> BottleCRM in {took:.1f} s, "
            f"{rate:.1f} records/s"
        )
        after = probe("after")
        own = (before + after) / 2
        print(f"Connector = {100 * rate / own:.0f}% of BottleCRM's own create rate "
              f"(the mean of before and after, {own:.1f} records/s)")  # fmt: skip
        listed = crm.get("interactions/", params={"account": account, "limit": 1}).json()
        assert listed["count"] == args.interactions + 2 * args.probe
    finally:
        crm_server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
