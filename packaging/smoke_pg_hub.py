"""The bundled Hub on PostgreSQL, with two workers: part of packaging/ci-smoke.sh.

    .venv/bin/python packaging/smoke_pg_hub.py /usr/bin/touchpoint-hub

Starts a throwaway PostgreSQL on 127.0.0.1 (tests/pg_cluster.py, the one the tests use),
then with the given `touchpoint-hub`: init (the Hub's migrations through psycopg), a user
(argon2), `serve --workers 2` (uvicorn's worker processes from the frozen program), and a
sign-in over HTTP answered by a worker. Prints one line; exits 1 on any failure, 0 with
"skipped" when PostgreSQL's server programs are not installed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pg_cluster
from touchpoint.sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

PASSWORD = "smoke-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def main(hub: str) -> int:
    bin_dir = pg_cluster.server_bin_dir()
    if bin_dir is None:
        print("Hub on PostgreSQL: skipped (no PostgreSQL server programs here)")
        return 0
    cluster = pg_cluster.Cluster(bin_dir).start()
    server = None
    try:
        db = ["--db", cluster.url]
        subprocess.run([hub, "init", *db], check=True, timeout=120)
        subprocess.run(
            [hub, "user", "add", *db, "ana@example.com", "--role", "rep", "--team", "north"],
            input=PASSWORD + "\n", text=True, check=True, timeout=60,
        )  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [hub, "serve", *db, "--port", str(port), "--workers", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                    health = json.load(answer)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print(server.stderr.read() if server.stderr else "", file=sys.stderr)
                    print("error: the Hub on PostgreSQL did not start", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        login = post_json(
            f"{base}/v1/login",
            {
                "email": "ana@example.com",
                "password": PASSWORD,
                "device_id": "00000000-0000-4000-8000-00000000beef",
                "device_name": "smoke",
            },
        )
        if not login.get("token"):
            print(f"error: no token from the Hub: {login}", file=sys.stderr)
            return 1
        print(f"Hub on PostgreSQL with 2 workers: {health['status']}, sign-in answered")
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
