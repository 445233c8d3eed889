"""Benchmark of email capture: saved .eml messages imported per second.

    python tests/benchmarks/bench_capture.py --messages 500

Makes N messages (plain text, some with an HTML alternative and an attachment)
from 50 contacts of 10 customers in a fresh data folder, then times one
`import_emails` of them all, and a second import of the same files (all already
there). The target is at least 200 messages per second.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from touchpoint.services import customers
from touchpoint.services.capture import import_emails
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.workspace import Workspace

TARGET_PER_SECOND = 200


def make_messages(folder: Path, count: int, people: list[str]) -> list[Path]:
    rng = random.Random(7)
    paths = []
    for n in range(count):
        msg = EmailMessage()
        msg["From"] = rng.choice(people)
        msg["To"] = "maria@example.com"
        msg["Subject"] = f"Order {n}"
        msg["Date"] = f"Mon, {1 + n % 28} Sep 2026 10:{n % 60:02d}:00 +0200"
        msg["Message-ID"] = f"<bench-{n}@example.net>"
        msg.set_content(f"Please send {n} units.\n" * 5)
        if n % 3 == 0:
            msg.add_alternative(f"<p>Please send <b>{n}</b> units.</p>", subtype="html")
        if n % 5 == 0:
            msg.add_attachment(b"x" * 2000, maintype="application", subtype="pdf", filename="a.pdf")
        path = folder / f"m{n:05d}.eml"
        path.write_bytes(bytes(msg))
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        Workspace.open(data, auto_backup=False).close()
        save_settings(
            data / "config" / "settings.toml",
            Settings(user="maria@example.com", timezone="Europe/Berlin", default_region="DE"),
        )
        ws = Workspace.open(data, auto_backup=False)
        try:
            people = []
            for c in range(10):
                customer = customers.create_customer(ws, {"name": f"Customer {c}"}).value
                for p in range(5):
                    address = f"person{p}@customer{c}.example"
                    customers.add_contact(
                        ws, customer.id, {"name": f"Person {c}-{p}", "emails": [address]}
                    )
                    people.append(address)
            mail = root / "mail"
            mail.mkdir()
            paths = make_messages(mail, args.messages, people)

            start = time.perf_counter()
            report = import_emails(ws, paths)
            first = time.perf_counter() - start
            start = time.perf_counter()
            again = import_emails(ws, paths)
            second = time.perf_counter() - start
        finally:
            ws.close()
    rate = report.logged / first if first else float("inf")
    print(f"import emails: {report.logged} logged in {first:.2f} s = {rate:.0f} messages/s")
    print(
        f"again: {again.already_there} already there in {second:.2f} s = "
        f"{again.already_there / second:.0f} messages/s"
    )
    ok = report.logged == args.messages and rate >= TARGET_PER_SECOND
    print(f"target {TARGET_PER_SECOND} messages/s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
