"""The check that a Qt test leaves no window open and no thread running: an autouse
fixture, imported by ``conftest.py`` (and by ``test_qt_leaks.py``'s own test runs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# How long a thread told to stop may take to return from its last call.
GRACE_SECONDS = 5.0


def _visible_windows() -> list[object]:
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        return []
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


@pytest.fixture(autouse=True)
def _qt_test_leaves_nothing_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A Qt test that leaves a window open or a thread running fails: the next test would
    otherwise inherit it (and with it the previous test's database). Set up before the
    test's other fixtures, so it checks after they (qtbot, backend, hub) have cleaned up.
    A test that means to leave one open says so with ``@pytest.mark.leaves_qt_open``."""
    if not {"qtbot", "qapp"} & set(request.fixturenames) or request.node.get_closest_marker(
        "leaves_qt_open"
    ):
        yield
        return
    windows_before = {id(w) for w in _visible_windows()}
    threads_before = set(threading.enumerate())
    # Threads that live as long as their process, by design: an in-process Hub's
    # password checker (started by its first sign-in) and its sync lane's threads.
    lifelong = ("password-check", "sync-lane")
    yield
    from PySide6.QtCore import QThreadPool

    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        threads = [
            t
            for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and not t.name.startswith(lifelong)
        ]
        if not threads or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    pool_busy = QThreadPool.globalInstance().activeThreadCount()
    windows = [w for w in _visible_windows() if id(w) not in windows_before]
    for window in windows:  # so the leak does not spill into the next test
        window.close()  # type: ignore[attr-defined]
        window.deleteLater()  # type: ignore[attr-defined]
    problems = [f"window {type(w).__name__} left open" for w in windows]
    problems += [f"thread {t.name!r} left running" for t in threads]
    if pool_busy:
        problems.append(f"{pool_busy} QThreadPool thread(s) left running")
    if problems:
        pytest.fail("the test " + ", ".join(problems), pytrace=False)
