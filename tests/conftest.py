"""Shared fixtures: every test runs away from the developer's real files and keyring."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import fresh_db
import route_fields
from qt_leaks import _qt_test_leaves_nothing_running  # noqa: F401 - an autouse fixture
from touchpoint.settings import Settings, save_settings
from touchpoint.storage.workspace import Workspace

# pytester: the Qt leak check's own tests (test_qt_leaks.py) run pytest on test files.
pytest_plugins = ["pytester"]


def _temp_folders_in_memory(root: Path = Path("/dev/shm"), room: int = 2 << 30) -> None:
    """Temporary folders (pytest's tmp_path, the database templates, the throwaway
    PostgreSQL, the processes tests start) in memory when the machine has a tmpfs with
    room, unless TMPDIR names a place. Laptop and Hub databases commit with
    ``synchronous=FULL``: on a disk each commit waits for its fsync, which was half the
    time of a sync test; on tmpfs an fsync returns at once. Nothing a test checks
    depends on it: a killed process loses nothing the page cache holds either way."""
    if os.environ.get("TMPDIR"):
        return
    try:
        stats = os.statvfs(root)
    except OSError:
        return
    if stats.f_bavail * stats.f_frsize < room or not os.access(root, os.W_OK | os.X_OK):
        return
    os.environ["TMPDIR"] = str(root)  # the test processes xdist starts, and theirs
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


_temp_folders_in_memory()

# Every Hub a test process builds shares its routes' pydantic adapters (route_fields.py).
route_fields.install()

# Qt runs offscreen in tests, set before pytest-qt's session-wide QApplication exists.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collecting the tests imported (modules, classes, the tests themselves) lives
    as long as the test process: set aside from the garbage collector, as the app and
    the Hub's workers do once started, the full collections of a long run (automatic
    ones, and those the UI tests and the collector's tests make) walk only what the
    tests make."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("TOUCHPOINT_DATA_DIR", raising=False)
    # Never the machine's real policy (/etc/xdg/touchpoint/policy.toml): the site config
    # folder is an empty one, unless a test writes a policy and sets TOUCHPOINT_POLICY_FILE.
    monkeypatch.delenv("TOUCHPOINT_POLICY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "site-config"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    try:
        import keyring
        from keyring.backend import KeyringBackend

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

        keyring.set_keyring(MemoryKeyring())
    except ImportError:  # pragma: no cover
        pass


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 18, 9, 30, tzinfo=UTC))  # a Wednesday


@pytest.fixture(autouse=True)
def _edits_placed_by_the_clock_offset(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests move laptops' clocks by hand while the Hub runs on real time: placing edits
    by the real boot clock (storage.hub_clock) would order them by the milliseconds
    between test steps. Edits are placed by the clock offset, as on a laptop without a
    boot clock, except in tests marked ``hub_clock``, which test that mechanism."""
    if request.node.get_closest_marker("hub_clock"):
        return
    from touchpoint.storage import hub_clock

    monkeypatch.setattr(hub_clock, "hub_time", lambda *_args: None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding a freshly migrated database (copied from a template: fast),
    with a device id of its own: each copy is a different laptop."""
    target = tmp_path / "data"
    fresh_db.laptop_database(target)
    save_settings(
        target / "config" / "settings.toml",
        Settings(user="maria@example.com", timezone="Europe/Berlin", default_region="DE"),
    )
    return target


@pytest.fixture
def ws(data_dir: Path, clock: Clock) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir, auto_backup=False, clock=clock)
    yield workspace
    workspace.close()
