"""The check that fails a Qt test leaving a window open or a thread running (qt_leaks.py),
tried on a test file of its own in a pytest run of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CONFTEST = f"""
import os
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {str(TESTS)!r})

import qt_leaks
from qt_leaks import _qt_test_leaves_nothing_running  # noqa: F401

# The thread left running is waited for this long, not the 5 s a real test gets.
qt_leaks.GRACE_SECONDS = 0.3


def pytest_configure(config):
    config.addinivalue_line("markers", "leaves_qt_open: leaves a window or thread")
"""

TESTS_OF_IT = """
import threading

import pytest
from PySide6.QtWidgets import QWidget

KEPT = []
STOP = threading.Event()


def test_a_window_closed_and_a_thread_joined(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    worker = threading.Thread(target=lambda: None, name="joined")
    worker.start()
    worker.join()
    window.close()


def test_a_window_left_open(qtbot):
    window = QWidget()
    window.setWindowTitle("left open")
    window.show()
    KEPT.append(window)


def test_a_thread_left_running(qtbot):
    threading.Thread(target=STOP.wait, name="left-behind", daemon=True).start()


@pytest.mark.leaves_qt_open
def test_a_window_left_open_on_purpose(qtbot):
    window = QWidget()
    window.show()
    KEPT.append(window)


def test_a_thread_outside_qt_tests_is_not_its_business():
    threading.Thread(target=STOP.wait, name="not-qt", daemon=True).start()


def test_the_next_qt_test_starts_clean(qtbot):
    STOP.set()
    assert not [w for w in KEPT[:1] if w.isVisible()], "the leaked window was closed"
"""


def test_a_qt_test_leaving_a_window_or_a_thread_fails_and_one_that_cleans_up_passes(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_leaks=TESTS_OF_IT)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "-rA", timeout=120
    )
    out = result.stdout.str()
    # Six tests pass their calls; the two that leave something fail at teardown.
    result.assert_outcomes(passed=6, errors=2)
    assert "ERROR at teardown of test_a_window_left_open " in out
    assert "the test window QWidget left open" in out
    assert "ERROR at teardown of test_a_thread_left_running" in out
    assert "the test thread 'left-behind' left running" in out
    summary = out.split("short test summary")[1]
    assert "PASSED test_leaks.py::test_a_window_left_open_on_purpose" in summary
    assert "ERROR test_leaks.py::test_a_window_left_open_on_purpose" not in summary
    assert "ERROR test_leaks.py::test_a_thread_outside_qt_tests" not in summary
    assert "ERROR test_leaks.py::test_the_next_qt_test_starts_clean" not in summary
