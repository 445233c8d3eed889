"""A throwaway PostgreSQL server for the Hub's tests, started by the test run itself.

``TOUCHPOINT_TEST_PG_URL`` wins when it is set. Otherwise, when PostgreSQL's server
programs are installed (``packaging/bootstrap.sh`` installs Debian's package), a
cluster is made in a temporary folder, listens on 127.0.0.1 on a free port, and is
removed when the run ends. So the README's test command and CI run the same tests,
with no system service to set up. initdb refuses to run as root; as root the
cluster runs as the ``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="touchpoint-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self, extra_options: str = "") -> Cluster:
        """Start it; ``extra_options`` are more ``-c name=value`` server settings."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        # fsync off: a test server needs speed, not durability; the Hub's own
        # transactions and locks behave the same.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            + extra_options
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def url_for_tests() -> str:
    """The PostgreSQL URL for this test run, starting a throwaway server the first time it
    is asked for (only runs that reach the Hub's tests pay for it). Child processes
    inherit the URL, so they never start their own. Empty when no server can be had."""
    url = os.environ.get("TOUCHPOINT_TEST_PG_URL", "")
    if url:
        return url
    bin_dir = server_bin_dir()
    if bin_dir is None:
        return ""
    cluster = Cluster(bin_dir).start()
    atexit.register(cluster.stop)
    os.environ["TOUCHPOINT_TEST_PG_URL"] = cluster.url
    # Installed but failing later must fail the PostgreSQL tests, never skip them.
    os.environ["TOUCHPOINT_REQUIRE_PG"] = "1"
    return cluster.url
