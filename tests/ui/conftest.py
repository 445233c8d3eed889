"""Fixtures for widget tests: a Backend over the test's real database file.

Qt runs offscreen (QT_QPA_PLATFORM is set by the top-level conftest). QSettings are
pointed at the test's temporary config folder so no test touches real settings.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QSettings

from touchpoint.storage.workspace import Workspace
from touchpoint.ui.backend import Backend

T = TypeVar("T")

# The sync tests' harness (a real Hub on 127.0.0.1, laptops) serves the window's sync tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

# The QApplication is session-wide and made before function fixtures run: set this first.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="module")
def _collect_on_the_gui_thread(qapp: Any) -> Iterator[None]:
    """As the app does: cyclic garbage (closed dialogs and their lambdas) is collected on
    the GUI thread, never by a worker thread that happens to cross a threshold. For the
    UI modules only: the tests a worker runs after them collect as Python does."""
    from touchpoint.ui import gc_guard

    collector = gc_guard.install(qapp)
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    gc.collect()
    # What outlived the test is set aside (as the app's settle() does at start): the next
    # full collection walks only newer objects, not every module, class and widget the
    # test process has loaded, which took seconds per test late in a long run.
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


@pytest.fixture
def backend(ws: Workspace, qtbot: Any) -> Iterator[Backend]:
    b = Backend(ws)
    yield b
    b.shutdown()


def wait_idle(qtbot: Any, backend: Backend, timeout: int = 10_000) -> None:
    """Wait until every submitted op has been delivered on the UI thread."""
    qtbot.waitUntil(lambda: backend.pending == 0, timeout=timeout)


@pytest.fixture
def idle(qtbot: Any, backend: Backend) -> Callable[[], None]:
    """``idle()`` waits until the backend has delivered every op."""
    return lambda: wait_idle(qtbot, backend)


@pytest.fixture
def on_worker(qtbot: Any, backend: Backend) -> Callable[[Callable[[Workspace], Any]], Any]:
    """``on_worker(fn)`` runs ``fn(ws)`` on the database thread and returns its value."""

    def run(fn: Callable[[Workspace], T]) -> T:
        box: list[T] = []
        backend.query(fn).success(box.append).run()
        qtbot.waitUntil(lambda: bool(box), timeout=10_000)
        return box[0]

    return run


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Any]:
    """A real Hub on 127.0.0.1 (SQLite) with two reps, maria and ben (a module may
    define its own, as the first-run wizard's tests do)."""
    from harness import start_hub

    server, stop = start_hub("sqlite", tmp_path)
    server.add_user("maria@example.com")
    server.add_user("ben@example.com")
    yield server
    stop()
