"""Starting the app: the window opens on the data folder; a first start offers demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget

from touchpoint.services.customer_list import CustomerQuery, count_customers
from touchpoint.services.workspace import Workspace
from touchpoint.ui.backend import Backend
from touchpoint.ui.first_run import offer_first_run

START_AND_QUIT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from touchpoint.ui import app

def look_then_quit():
    widgets = QApplication.topLevelWidgets()
    print("TITLES", [w.windowTitle() for w in widgets if w.isVisible()])
    print("BOXES", [w.text() for w in widgets if isinstance(w, QMessageBox) and w.isVisible()])
    QApplication.quit()

application = app.make_application(["touchpoint"])
QTimer.singleShot(1500, look_then_quit)
print("CODE", app.run(sys.argv[1]))
"""


def test_run_opens_the_window_and_logs_to_the_log_file(data_dir: Path) -> None:
    # A process of its own, as a real start is: run() owns the event loop until quit.
    done = subprocess.run(
        [sys.executable, "-c", START_AND_QUIT, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    out = done.stdout
    assert "CODE 0" in out, done.stderr
    assert "'Touchpoint'" in out.split("TITLES", 1)[1].splitlines()[0]
    # An empty book: the first start offers demo data or an import.
    assert "Your customer book is empty." in out.split("BOXES", 1)[1].splitlines()[0]
    log_text = (data_dir / "logs" / "touchpoint.log").read_text()
    assert "window shown after" in log_text
    # The daily backup was made in the background once the window was up.
    assert "daily backup written" in log_text
    assert list((data_dir / "backups").glob("*.sqlite3"))


def test_the_demo_offer_fills_an_empty_book(
    qtbot: Any, ws: Workspace, backend: Backend, idle: Any
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    failures: list[object] = []
    backend.failed.connect(failures.append)
    done: list[bool] = []
    box = offer_first_run(parent, backend, open_import=None, done=lambda: done.append(True))
    labels = [b.text() for b in box.buttons()]
    assert "Load &demo data" in labels and "Start &empty" in labels
    demo_button = next(b for b in box.buttons() if b.text() == "Load &demo data")
    demo_button.click()
    qtbot.waitUntil(lambda: bool(done) or bool(failures), timeout=60_000)
    assert failures == []
    idle()
    assert count_customers(ws, CustomerQuery()) > 0
