"""Open each screen of the window on a demo database and save a PNG of it.

Run on demand under Xvfb (never part of the test suite):

    xvfb-run -s "-screen 0 1440x900x24" .venv/bin/python tests/screenshots/take_screenshots.py

Screens are written to tests/screenshots/out/ (git-ignored). ``--data DIR`` uses an
existing data folder instead of making a demo one; ``--theme dark`` for the dark look.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from touchpoint.services.workspace import Workspace

OUT = Path(__file__).parent / "out"


def pump(app: QApplication, seconds: float = 0.4, until: Callable[[], bool] | None = None) -> None:
    end = time.monotonic() + 20
    quiet_until = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if time.monotonic() >= quiet_until and (until is None or until()):
            break
        time.sleep(0.01)


def grab(widget: QWidget, name: str) -> Path:
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="an existing data folder (default: a fresh demo one)")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    from touchpoint.ui.app import make_application
    from touchpoint.ui.theme import apply_theme

    app = make_application(["touchpoint"])
    apply_theme(app, args.theme)
    temp = None
    if args.data:
        data_dir = Path(args.data)
    else:
        temp = Path(tempfile.mkdtemp(prefix="touchpoint-shots-"))
        data_dir = temp / "data"
        ws = Workspace.open(data_dir, auto_backup=False)
        from touchpoint.services import demo

        demo.generate_demo(ws, customers=args.customers)
        ws.close()

    from touchpoint.ui.backend import Backend
    from touchpoint.ui.main_window import MainWindow

    backend = Backend(Workspace.open(data_dir, auto_backup=False))
    settings = QSettings(str(data_dir / "config" / "shots.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(backend, settings)
    window.resize(1440, 880)
    window.show()
    idle = lambda: backend.pending == 0  # noqa: E731
    suffix = "" if args.theme == "light" else f"-{args.theme}"

    window.show_today()
    pump(app, 0.8, idle)
    grab(window, f"01-today{suffix}")

    window.show_customers()
    pump(app, 0.8, idle)
    grab(window, f"02-customers{suffix}")

    # The customer with the most interactions makes the fullest profile.
    first = window.customers.list.model.index(3, 0).data(0x0101)
    if first:
        window.open_customer(first)
    pump(app, 1.0, idle)
    grab(window, f"03-profile{suffix}")
    window.customers.profile.tabs.setCurrentIndex(1)
    pump(app, 0.3, idle)
    grab(window, f"04-profile-followups{suffix}")
    window.customers.profile.tabs.setCurrentIndex(2)
    pump(app, 0.3, idle)
    grab(window, f"05-profile-history{suffix}")
    window.customers.profile.tabs.setCurrentIndex(0)

    window.search.setFocus()
    window.search.setText("quote")
    window.search._start_search()
    pump(app, 0.8, idle)
    grab(window, f"06-search{suffix}")
    window.search.clear()

    window.new_customer()
    profile = window.customers.profile
    name = profile.form.editors["name"]
    existing = window.customers.list.model.index(0, 0).data()
    name.setText(str(existing))  # type: ignore[attr-defined]
    profile._check_duplicates()
    profile.form.editors["emails"].setText("not-an-email")  # type: ignore[attr-defined]
    profile.create()
    pump(app, 1.0, idle)
    grab(window, f"07-new-customer{suffix}")
    profile._cancel_new()

    window.customers.list.attention.setChecked(True)
    pump(app, 0.8, idle)
    grab(window, f"08-customers-needs-attention{suffix}")
    window.customers.list.attention.setChecked(False)

    for key in ("followups", "activity", "reports"):
        if key in window.pages:
            window.show_page(key)
            pump(app, 0.8, idle)
            grab(window, f"09-{key}{suffix}")

    window.close()
    backend.shutdown()
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
