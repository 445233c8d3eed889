"""Starting the window: ``touchpoint`` with no subcommand calls :func:`run`."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from types import TracebackType
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from touchpoint import __version__
from touchpoint.context import AppContext, resolve_context
from touchpoint.errors import TouchpointError
from touchpoint.logs import setup_logging
from touchpoint.ui import startup
from touchpoint.ui.errors import show_error
from touchpoint.ui.startup import after_first_paint

log = logging.getLogger(__name__)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An error nobody caught: log the details, show a human message, keep running."""
    log.error("uncaught error", exc_info=(kind, exc, tb))
    if QApplication.instance() is not None and isinstance(exc, Exception):
        show_error(QApplication.activeWindow(), exc)


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Crisp on fractional scaling (125%, 150%): no rounding of the device pixel ratio.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Touchpoint")
    app.setOrganizationName("Touchpoint")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("touchpoint")
    # Cyclic garbage is collected on this thread only: never a widget freed by a worker.
    from touchpoint.ui import gc_guard

    gc_guard.install(app)
    return app


def window_settings(config_dir: object) -> QSettings:
    """Window geometry, splitters and the last view: an INI file in the config folder."""
    return QSettings(str(config_dir) + "/window.ini", QSettings.Format.IniFormat)


def run(
    data_dir: AppContext | str | None = None,
    *,
    argv: list[str] | None = None,
    auto_backup: bool = True,
) -> int:
    """Open the window on the database of ``data_dir`` (the start-up context the command
    line resolved, else a folder to resolve here, once); returns the exit code.

    The database thread first reads Today straight from the file (the standard
    library's sqlite3, no SQLAlchemy) while the window is built, and the window is
    shown with it; then the database layer (SQLAlchemy, the models, a migration if one
    is due) loads and opens on that thread. Where Today cannot be read that way
    (encrypted, a migration due) the window shows first and Today follows the opening.
    The daily backup runs on a thread of its own once the database is open: copying a
    big database must never delay the start."""
    started = time.perf_counter()
    handover = startup.QuickLockHandover()  # until the database is open
    # The folder, the settings and the policy, read once: every step below is handed them.
    context = data_dir if isinstance(data_dir, AppContext) else resolve_context(data_dir)
    paths = context.paths.ensure()
    setup_logging(paths.log_file)
    logging.getLogger().setLevel(context.log_level)  # the policy's, else the user's
    log.info("Touchpoint %s starting; data in %s", __version__, paths.data_dir)
    from touchpoint.services import today_start
    from touchpoint.ui.backend import Backend
    from touchpoint.ui.today_view import TodayPrefetch

    def open_workspace() -> Any:
        from touchpoint.storage.workspace import Workspace

        return Workspace.open(context, auto_backup=False)

    backend = Backend(open_workspace, start=False)
    settings = window_settings(paths.config_dir)
    # Today straight from the file only when the window opens on Today: on another page
    # it would hold up the opening that page waits for. Its settings are read here, the
    # rows on the database thread (see services.today_start).
    today_first = str(settings.value("window/page", "today")) == "today"
    plan = today_start.plan_read(context) if today_first else None
    early = TodayPrefetch(
        backend,
        before_open=None if plan is None else lambda: today_start.read_planned(plan),
    )
    backend.start_before_open()  # Today's read overlaps the window's build
    app = make_application(argv)
    hooks = startup.ProcessHooks(_excepthook)
    from touchpoint.ui.theme import app_icon, apply_theme

    app.setWindowIcon(app_icon())
    apply_theme(app, context.settings.theme)

    from touchpoint.ui.main_window import MainWindow

    window = MainWindow(backend, settings, today_prefetch=early)
    # Shown with Today filled when its read is (nearly) done, "Loading…" otherwise.
    if getattr(window, "current_page", None) == "today":
        if plan is not None:
            # The database thread reads Today's rows (SQLite, without Python's lock);
            # the code that turns them into the view loads here meanwhile, on a thread
            # that would only wait, rather than after the read on that one.
            import touchpoint.services.today  # noqa: F401
        early.wait(startup.TODAY_WAIT_S)
    window.show()
    backend.start()
    log.info("window shown after %.0f ms", 1000 * (time.perf_counter() - started))
    exit_code = [0]

    def opened(error: BaseException | None) -> None:
        handover.end()
        if error is not None:
            # A lost database key, SQLCipher missing, a newer database...: said in words,
            # with the way out where there is one (start again from the Hub).
            from touchpoint.ui.start_problems import open_workspace

            ws = open_workspace(context)
            if ws is None:
                exit_code[0] = 1
                window.close()
                app.quit()
                return
            backend.adopt(ws)
            window.refresh()
        log.info("database open after %.0f ms", 1000 * (time.perf_counter() - started))
        from touchpoint.ui.start_problems import show_policy_problem

        show_policy_problem(window, backend.ws.policy)
        # With reminders in the tray, closing the window keeps them running; Quit ends the
        # app. Without a system tray nothing would stay visible: closing the window quits.
        reminders = window.reminders
        app.setQuitOnLastWindowClosed(reminders is None or not reminders.keeps_running)
        window.ask_before_close = reminders is not None and not reminders.keeps_running
        if auto_backup:
            threading.Thread(
                target=_daily_backup, args=(backend.ws,), name="touchpoint-backup", daemon=True
            ).start()
        after_first_paint(window, lambda: after_start(window, backend))
        startup.settle_later(app)
        quit_after = os.environ.get("TOUCHPOINT_QUIT_AFTER_MS", "").strip()
        if quit_after.isdigit():  # smoke tests, start benchmarks: Today shown, then close
            after_first_paint(
                window,
                lambda: QTimer.singleShot(int(quit_after), lambda: (window.close(), app.quit())),
            )

    backend.opened.connect(opened)
    app.setQuitOnLastWindowClosed(False)  # decided once the database is open
    try:
        code = app.exec()
        return exit_code[0] or code
    finally:
        handover.end()
        backend.shutdown()  # drafts still queued are written before its thread ends
        hooks.end()
        log.info("Touchpoint stopped")


def after_start(window: object, backend: object) -> None:
    """Once the window is up: an unfinished draft comes back, an empty book gets an offer."""
    from touchpoint.ui.log_dialog import offer_draft  # here: not needed for the first paint

    try:
        offer_draft(backend, window)  # type: ignore[arg-type]
    except OSError as exc:
        log.error("the draft could not be read: %s", exc)
    offer_demo_if_empty(window, backend)


def _daily_backup(ws: Any) -> None:
    from touchpoint.services import maintenance

    try:
        made = maintenance.backup_if_due(ws)
    except (OSError, TouchpointError) as exc:  # a full disk must not stop a rep from working
        log.error("daily backup failed: %s", exc)
    except Exception:
        log.exception("daily backup failed")
    else:
        if made is not None:
            log.info("daily backup written to %s", made)


def offer_demo_if_empty(window: object, backend: object) -> None:
    """The first-run wizard, when it is needed: an empty book, or a Hub set up for this
    laptop (by ``touchpoint provision``) that it has not signed in to yet."""
    from touchpoint.ui.first_run import offer_first_run

    can_import = "import" in window.actions_by_id  # type: ignore[attr-defined]
    open_import = getattr(window, "open_import", None) if can_import else None
    offer_first_run(window, backend, open_import=open_import, done=window.refresh)  # type: ignore[arg-type, attr-defined]
