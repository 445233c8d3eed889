"""A laptop's sync in its own process, killed with SIGKILL at a named point.

Usage: crash_client.py DATA_DIR TOKEN POINT COUNT [CHUNK,BIG_PAGE,TRANSACTION]
(POINT "none": run to the end; the sizes of the bulk path, small so that a test's
pages take it: new records per bulk-load batch, changes that make a page big, and
changes of big pages per transaction).
"""

from __future__ import annotations

import os
import signal
import sys

import keyring
from keyring.backend import KeyringBackend


class OneToken(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def get_password(self, service: str, username: str) -> str | None:
        return self.token

    def set_password(self, service: str, username: str, password: str) -> None:
        self.token = password

    def delete_password(self, service: str, username: str) -> None:
        pass


def main() -> int:
    data_dir, token, point, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    keyring.set_keyring(OneToken(token))
    from touchpoint.storage.workspace import Workspace
    from touchpoint.sync import first_sync, pulling
    from touchpoint.sync.engine import SyncEngine

    if len(sys.argv) > 5:
        chunk, big, transaction = (int(n) for n in sys.argv[5].split(","))
        first_sync.FRESH_CHUNK = chunk
        pulling.BIG_PAGE = big
        pulling.BULK_TRANSACTION = transaction

    seen = {"n": 0}

    def crash(name: str) -> None:
        if name == point:
            seen["n"] += 1
            if seen["n"] >= count:
                os.kill(os.getpid(), signal.SIGKILL)

    ws = Workspace.open(data_dir, auto_backup=False)
    engine = SyncEngine.for_workspace(
        ws, batch_size=20, page_size=25, crash_point=crash, sleep=lambda _s: None
    )
    result = engine.run()
    print(result.status, result.pushed, result.pulled)
    return 0 if result.in_sync else 1


if __name__ == "__main__":
    sys.exit(main())
