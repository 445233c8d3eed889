"""Starting the app: the window opens on the data folder; a first start opens the wizard
(its pages are tested in test_first_run.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

START_AND_QUIT = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWizard
from touchpoint.ui import app

# Look once the first-run wizard is up and the background backup is done (a loaded test
# machine may take seconds for either), or after a minute in any case.
log_file = Path(sys.argv[1]) / "logs" / "touchpoint.log"
deadline = time.monotonic() + 60

def settled():
    wizard = any(isinstance(w, QWizard) and w.isVisible() for w in QApplication.topLevelWidgets())
    backup = log_file.exists() and "daily backup written" in log_file.read_text()
    return wizard and backup

def look_then_quit():
    if not settled() and time.monotonic() < deadline:
        QTimer.singleShot(100, look_then_quit)
        return
    widgets = QApplication.topLevelWidgets()
    print("TITLES", [w.windowTitle() for w in widgets if w.isVisible()])
    print("BOXES", [w.currentPage().subTitle() for w in widgets
                    if isinstance(w, QWizard) and w.isVisible()])
    QApplication.quit()

application = app.make_application(["touchpoint"])
QTimer.singleShot(500, look_then_quit)
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


SHOWN_FILLED = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from touchpoint.ui import app, main_window, startup

startup.TODAY_WAIT_S = 60.0  # a slow test machine must not turn this into a race
shown = main_window.MainWindow.show

def show(window):  # what the first paint will show
    today = window.today
    print("FILLED", today.data is not None, today.interactions.list.count(),
          today.overdue.list.count(), "sqlalchemy" in sys.modules, flush=True)
    shown(window)

main_window.MainWindow.show = show
application = app.make_application(["touchpoint"])
QTimer.singleShot(0, QApplication.quit)
print("CODE", app.run(sys.argv[1], auto_backup=False))
"""


def test_the_window_is_shown_with_today_already_filled(data_dir: Path) -> None:
    from touchpoint.services import customers
    from touchpoint.services.interactions import FollowUpInput, log_interaction
    from touchpoint.storage.workspace import Workspace

    with Workspace.open(data_dir, auto_backup=False) as ws:
        acme = customers.create_customer(ws, {"name": "Acme GmbH", "status": "active"}).value
        log_interaction(
            ws, customer=acme.id, kind="call", followups=[FollowUpInput(title="Call", due="-1d")]
        )
    done = subprocess.run(
        [sys.executable, "-c", SHOWN_FILLED, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert "CODE 0" in done.stdout, done.stderr
    # Today's read from the file, before the database layer loaded, is in the first paint.
    assert "FILLED True 1 1 False" in done.stdout
    # (What the start-up tweaks in ui.startup are for, a shorter start, is measured by
    # tests/benchmarks/bench_ui.py, not asserted here.)
