"""Benchmark of the desktop window on a benchmark dataset (L by default, else S).

    xvfb-run -s "-screen 0 1440x900x24" .venv/bin/python tests/benchmarks/bench_ui.py
    .venv/bin/python tests/benchmarks/bench_ui.py --data bench-data/S   # offscreen works too
    .venv/bin/python tests/benchmarks/bench_ui.py --only start --rounds 5

It prints, in one run:
- start: process start to the main window's first paint, and to it painted with Today
  filled, against a bare PySide6 program painting an empty QMainWindow (the floor);
  the floor and the window start alternately in rounds, so both see the same load;
  the package's bytecode is compiled first, as an installed app has it;
- search: keystroke to results painted, p50/p95 over real queries typed letter by letter;
- profile: opening a customer with 2,000 interactions (the dataset's busiest customer,
  or one made in a scratch database when the dataset has none that busy);
- detail: Enter on a timeline row to the interaction's detail painted with all of it
  (fields, people, the promises made in it, its history), p50/p95 over 40 rows of the
  busiest customer (``--only detail`` for this figure alone);
- stalls: the longest the UI thread was busy while browsing (a 5 ms heartbeat);
- memory: peak resident memory of the window process after browsing;
- scroll (``--only scroll``, not part of a full run): the customer list with every
  column shown, scrolled a page at a time over the whole list, dragged to a dozen
  positions and turned with the mouse wheel; per kind of step, the longest the event
  loop was blocked (the step itself and each event delivery until its rows are all
  filled), max and p95, and how long until the rows in view are filled; the five
  slowest steps with what happened in them (garbage collections, blocks of rows landed).
The dataset is only read (a scratch copy is never needed; one at an older schema is
refused, not upgraded).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dataset_schema import require_current

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["quote", "delivery", "contract", "müller", "service visit", "forklift", "invoice"]

FLOOR = """
import sys, time
from PySide6.QtWidgets import QApplication, QMainWindow
from PySide6.QtCore import QTimer
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.resize(1280, 800); w.show()
def painted():
    w.repaint(); print("PAINTED", flush=True); app.quit()
QTimer.singleShot(0, painted)
app.exec()
"""

APP = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from touchpoint.ui import app

def hook():
    window = next(w for w in QApplication.topLevelWidgets() if hasattr(w, "today"))
    window.repaint()  # the first paint, Today's figures still on their way
    print("SHOWN", flush=True)
    def filled():
        window.repaint()  # synchronous paint of the filled Today view
        print("PAINTED", flush=True)
        QApplication.quit()
    if window.today.data is not None:
        filled()
    else:
        window.today.loaded.connect(filled)

app.make_application(["touchpoint"])
QTimer.singleShot(0, hook)  # runs once run() has shown the window
app.run(sys.argv[1], auto_backup=False)  # the dataset is shared: no backup copies of it
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def time_start(code: str, data: Path | None, runs: int) -> dict[str, float]:
    """Median wall time from starting the process to each of its marks (SHOWN: the
    window's first paint; PAINTED: with Today filled), in ms."""
    env = {**os.environ}
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        args = [sys.executable, "-c", code] + ([str(data)] if data else [])
        started = time.perf_counter()
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            mark = line.strip()
            times.setdefault(mark, []).append(1000 * (time.perf_counter() - started))
            if mark == "PAINTED":
                break
        proc.wait(timeout=120)
    return {mark: statistics.median(t) for mark, t in times.items()}


def compile_bytecode() -> None:
    """Write the package's bytecode, as an installed app has it (pip and PyInstaller
    install compiled modules): a checkout run with PYTHONDONTWRITEBYTECODE set would
    otherwise compile every module again at every start (a sixth of the start)."""
    spec = importlib.util.find_spec("touchpoint")
    assert spec is not None and spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        compileall.compile_dir(folder, quiet=1)


def start_figures(data: Path, rounds: int, runs: int) -> None:
    """The floor and the window started alternately, so both see the same machine load."""
    ratios_shown: list[float] = []
    ratios_filled: list[float] = []
    for r in range(rounds):
        floor = time_start(FLOOR, None, runs)["PAINTED"]
        app = time_start(APP, data, runs)
        shown, filled = app["SHOWN"], app["PAINTED"]
        ratios_shown.append(shown / floor)
        ratios_filled.append(filled / floor)
        print(
            f"start round {r + 1}: floor {floor:.0f} ms; window painted {shown:.0f} ms "
            f"({shown / floor:.2f}x); Today filled {filled:.0f} ms ({filled / floor:.2f}x)",
            flush=True,
        )
    print(
        f"start: median over {rounds} rounds of {runs} starts: window painted "
        f"{statistics.median(ratios_shown):.2f}x the floor, Today filled "
        f"{statistics.median(ratios_filled):.2f}x"
    )


def busiest_customer(data: Path) -> tuple[str, int]:
    conn = sqlite3.connect(f"file:{data / 'touchpoint.sqlite3'}?mode=ro", uri=True)
    row = conn.execute(
        "SELECT customer_id, COUNT(*) AS n FROM interactions WHERE deleted_at IS NULL"
        " GROUP BY customer_id ORDER BY n DESC LIMIT 1"
    ).fetchone()
    conn.close()
    return (str(row[0]), int(row[1])) if row else ("", 0)


def detail_figures(window, data: Path, wait) -> None:  # type: ignore[no-untyped-def]
    """Enter on a timeline row to the interaction's detail painted, filled."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from touchpoint.services import interactions

    cid, count = busiest_customer(data)
    window.open_customer(cid)
    profile = window.customers.profile
    model = profile.timeline_model
    wait(lambda: model.rowCount() > 0 and window.backend.pending == 0)
    in_db: list[float] = []
    read = interactions.interaction_detail

    def timed(ws, ref):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return read(ws, ref)
        finally:
            in_db.append(1000 * (time.perf_counter() - t0))

    interactions.interaction_detail = timed  # type: ignore[assignment]
    samples: list[float] = []
    cpu: list[float] = []  # the UI thread's CPU time (waiting for a core not counted)
    for row in range(min(40, model.rowCount())):
        profile.timeline.setFocus()
        profile.timeline.setCurrentIndex(model.index(row, 0))
        t0, c0 = time.perf_counter(), time.thread_time()
        QTest.keyClick(profile.timeline, Qt.Key.Key_Return)
        dialog = profile.interaction_dialog
        wait(lambda d=dialog: d.detail is not None and d.isVisible())
        dialog.repaint()
        samples.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.thread_time() - c0))
        dialog.close()
        wait(lambda d=dialog: not d.isVisible())
    interactions.interaction_detail = read  # type: ignore[assignment]
    print(
        f"detail: Enter to an interaction's detail painted p50 {percentile(samples, 50):.1f} ms, "
        f"p95 {percentile(samples, 95):.1f} ms over {len(samples)} interactions of a customer "
        f"with {count:,} (the database's part p50 {percentile(in_db, 50):.1f} ms, "
        f"p95 {percentile(in_db, 95):.1f} ms; the window thread's CPU time "
        f"p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms)"
    )


def scroll_figures(window, app, wait, page_steps: int | None) -> None:  # type: ignore[no-untyped-def]
    """The customer list with every column, scrolled three ways; see the module's text."""
    import random

    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QAbstractSlider

    backend = window.backend
    started = time.perf_counter()
    window.show_customers()
    view = window.customers.list
    table, model = view.table, view.model

    def in_view() -> tuple[int, int]:
        port = table.viewport()
        first = table.rowAt(0)
        last = table.rowAt(port.height() - 1)
        return first, (model.rowCount() - 1 if last < 0 else last)

    def filled() -> bool:
        first, last = in_view()
        return first >= 0 and all(model.row_at(r) is not None for r in range(first, last + 1))

    wait(lambda: model.rowCount() > 0 and filled())
    table.viewport().repaint()
    opened = 1000 * (time.perf_counter() - started)
    for action in view.column_actions:
        action.setChecked(True)
    wait(lambda: backend.pending == 0 and filled())
    shown = [c for c in range(model.columnCount()) if not table.isColumnHidden(c)]
    rows = model.rowCount()
    print(
        f"scroll: {rows:,} customers, {len(shown)} of {model.columnCount()} columns shown; "
        f"list open to its first rows painted {opened:.0f} ms",
        flush=True,
    )

    import gc

    collections: list[tuple[float, int]] = []  # each garbage collection: ms, generation
    collecting = [0.0]

    def collected(phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            took = 1000 * (time.perf_counter() - collecting[0])
            collections.append((took, int(info["generation"])))

    gc.callbacks.append(collected)
    landed: list[int] = []  # the blocks of rows that came in, in order
    model.block_loaded.connect(landed.append)
    # Each step: its kind and number, longest block (ms), and what happened meanwhile
    # (the collections and the blocks landed), to say what the slowest steps were.
    steps: list[tuple[float, str, int, list[tuple[float, int]], list[int]]] = []
    blocked: dict[str, list[float]] = {}
    busy: dict[str, list[float]] = {}  # the UI thread's own CPU time in the longest block
    fill: dict[str, list[float]] = {}

    def step(kind: str, act, settle: bool = True) -> None:  # type: ignore[no-untyped-def]
        """One step: the action and the events it posts (its paint: Qt paints only
        what scrolled into view), then each delivery of events until the rows in view
        are filled (``settle``); the longest of those blocks. On a loaded machine the
        wall time holds waits for a core; the thread's CPU time of the same block
        says what the window itself did."""
        seen_gc, seen_blocks = len(collections), len(landed)
        t0, c0 = time.perf_counter(), time.thread_time()
        act()
        app.processEvents()
        longest, cpu = time.perf_counter() - t0, time.thread_time() - c0
        while True:
            done = not settle or filled()
            t1, c1 = time.perf_counter(), time.thread_time()
            app.processEvents()  # once filled: what is left to deliver (its repaint)
            took = time.perf_counter() - t1
            if took > longest:
                longest, cpu = took, time.thread_time() - c1
            if done:
                break
            time.sleep(0.0005)
            if time.perf_counter() - t0 > 60:
                raise TimeoutError("rows did not come")
        number = len(blocked.get(kind, []))
        happened = (collections[seen_gc:], landed[seen_blocks:])
        steps.append((1000 * longest, kind, number, *happened))
        blocked.setdefault(kind, []).append(1000 * longest)
        busy.setdefault(kind, []).append(1000 * cpu)
        if settle:
            fill.setdefault(kind, []).append(1000 * (time.perf_counter() - t0))

    bar = table.verticalScrollBar()
    # Page steps, top to bottom (the scroll bar's page step: what Page Down does to the
    # view, without moving the current row and so opening customers on the way).
    bar.setValue(0)
    wait(filled)
    n = 0
    while bar.value() < bar.maximum() and (page_steps is None or n < page_steps):
        step("page", lambda: bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepAdd))
        n += 1
    # Drags: the handle pulled to a position in 8 mouse moves, the rows in view filled
    # once it stops (the moves on the way deliver what events come meanwhile).
    rng = random.Random(7)
    targets = [0.5, 0.1, 0.9, 1.0, 0.0, 0.75, 0.25] + [rng.random() for _ in range(5)]
    for target in targets:
        start, end = bar.value(), round(target * bar.maximum())
        bar.setSliderDown(True)
        for k in range(1, 9):
            position = start + (end - start) * k // 8
            step("drag move", lambda p=position: bar.setSliderPosition(p), settle=False)
        step("drag stop", lambda: bar.setSliderDown(False))
    # Wheel: 200 notches down, then 100 up, from the middle.
    bar.setValue(bar.maximum() // 2)
    wait(filled)
    port = table.viewport()
    centre = QPointF(port.width() / 2, port.height() / 2)

    def wheel(notches: int) -> None:
        event = QWheelEvent(
            centre,
            QPointF(port.mapToGlobal(centre.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 * notches),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        app.sendEvent(port, event)

    for notches in [-1] * 200 + [1] * 100:
        step("wheel", lambda d=notches: wheel(d))
    for kind, samples in blocked.items():
        filled_text = ""
        if kind in fill:
            f = fill[kind]
            filled_text = (
                f"; rows in view filled p50 {percentile(f, 50):.0f} ms, "
                f"p95 {percentile(f, 95):.0f} ms, max {max(f):.0f} ms"
            )
        cpu = busy[kind]
        print(
            f"scroll {kind}: {len(samples):,} steps, event loop blocked max "
            f"{max(samples):.1f} ms, p95 {percentile(samples, 95):.1f} ms (its CPU time max "
            f"{max(cpu):.1f} ms, p95 {percentile(cpu, 95):.1f} ms){filled_text}",
            flush=True,
        )
    gc.callbacks.remove(collected)
    model.block_loaded.disconnect(landed.append)
    for ms, kind, number, gcs, blocks in sorted(steps, key=lambda x: -x[0])[:5]:
        what = [f"gc of generation {g} {t:.0f} ms" for t, g in gcs]
        what += [f"block {b} landed" for b in blocks]
        told = "; ".join(what) or "nothing else"
        print(f"scroll slow step: {kind} #{number} {ms:.1f} ms ({told})")
    print(
        f"scroll: {model.fetched_rows:,} rows read, {model.cached_rows:,} held; "
        f"{len(collections)} garbage collections, the longest of each generation "
        + ", ".join(
            f"{g}: {max((ms for ms, gen in collections if gen == g), default=0):.0f} ms"
            for g in (0, 1, 2)
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = (
        ROOT / "bench-data" / ("L" if (ROOT / "bench-data" / "L" / "config").exists() else "S")
    )
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--starts", type=int, default=3, help="starts per round")
    parser.add_argument("--rounds", type=int, default=3, help="floor/window rounds")
    parser.add_argument(
        "--only", choices=("start", "search", "detail", "scroll"), help="just these figures"
    )
    parser.add_argument(
        "--page-steps", type=int, help="scroll: at most this many page steps (default: all)"
    )
    args = parser.parse_args()
    data: Path = args.data.resolve()
    require_current(data)
    os.environ.setdefault(
        "QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb"
    )
    print(f"dataset: {data}")

    if args.only in (None, "start", "scroll"):
        compile_bytecode()
        start_figures(data, args.rounds, args.starts)
        if args.only == "start":
            return 0

    # --- in this process: search, profile, browsing --------------------------------------
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest

    from touchpoint.storage.workspace import Workspace
    from touchpoint.ui.app import make_application
    from touchpoint.ui.backend import Backend
    from touchpoint.ui.main_window import MainWindow
    from touchpoint.ui.theme import apply_theme

    app = make_application(["touchpoint"])
    apply_theme(app, "light")
    backend = Backend(Workspace.open(data, auto_backup=False))
    scratch = Path(tempfile.mkdtemp(prefix="touchpoint-bench-ui-"))
    # No tray reminders: they keep state in the data folder, and the dataset is shared.
    window = MainWindow(
        backend, QSettings(str(scratch / "w.ini"), QSettings.Format.IniFormat), reminders=False
    )
    window.resize(1440, 880)
    window.show()

    def wait(predicate, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        end = time.perf_counter() + timeout_s
        while not predicate():
            if time.perf_counter() > end:
                raise TimeoutError("the window did not answer in time")
            app.processEvents()
            time.sleep(0.0005)

    wait(lambda: window.today.data is not None and backend.pending == 0)
    # As the app does once started (ui.startup.SETTLE_AFTER_MS): what the window holds for
    # good is set aside from collection, so a full collection walks only newer objects.
    from touchpoint.ui.gc_guard import MainThreadCollector

    collector = app.findChild(MainThreadCollector)
    if collector is not None:
        collector.settle()
    if args.only == "scroll":
        scroll_figures(window, app, wait, args.page_steps)
        sys.stdout.flush()
        os._exit(0)

    # A heartbeat measures how long the UI thread is ever busy (a freeze).
    beat = QElapsedTimer()
    beat.start()
    stalls: list[float] = []
    phase = ["search"]
    worst: dict[str, float] = {}

    def tick() -> None:
        gap = beat.restart()
        stalls.append(gap)
        worst[phase[0]] = max(worst.get(phase[0], 0), gap)

    heart = QTimer()
    heart.setInterval(5)
    heart.timeout.connect(tick)
    heart.start()

    # Search: each keystroke to its results painted; and the database's part of it.
    from touchpoint.ui import search_box

    box = window.search
    samples: list[float] = []
    in_db: list[float] = []
    query_of = search_box._search

    def timed_search(ws, query):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return query_of(ws, query)
        finally:
            in_db.append(1000 * (time.perf_counter() - t0))

    search_box._search = timed_search  # type: ignore[assignment]
    for query in QUERIES if args.only != "detail" else ():
        box.clear()
        box.setFocus()
        from touchpoint.ui.search_box import MIN_CHARS

        for n, ch in enumerate(query, start=1):
            if n < MIN_CHARS:  # too short to search: nothing to time
                QTest.keyClick(box, ch)
                continue
            target = box._generation + 1
            t0 = time.perf_counter()
            QTest.keyClick(box, ch)
            wait(lambda t=target: box._shown_generation >= t and backend.pending == 0)
            box.popup.repaint()
            samples.append(1000 * (time.perf_counter() - t0))
    box.clear()
    search_box._search = query_of  # type: ignore[assignment]
    if args.only == "detail":
        detail_figures(window, data, wait)
        sys.stdout.flush()
        os._exit(0)
    print(
        f"search: keystroke to results painted p50 {percentile(samples, 50):.1f} ms, "
        f"p95 {percentile(samples, 95):.1f} ms over {len(samples)} keystrokes "
        f"(the database's part p50 {percentile(in_db, 50):.1f} ms, "
        f"p95 {percentile(in_db, 95):.1f} ms)"
    )
    if args.only == "search":
        sys.stdout.flush()
        os._exit(0)

    phase[0] = "profile"
    # Profile of a busy customer.
    cid, count = busiest_customer(data)
    profile = window.customers.profile
    profile_backend = backend
    if count < 2000:
        from touchpoint.services import demo

        heart.stop()  # making the scratch database is set-up, not the window's work
        made = scratch / "busy"
        ws2 = Workspace.open(made, auto_backup=False)
        demo.generate_demo(ws2, customers=1, interactions=2000, followups=40, deals=3, contacts=4)
        ws2.close()
        cid, count = busiest_customer(made)
        print(f"(the dataset's busiest customer has fewer than 2,000 interactions: using {made})")
        window.close()
        profile_backend = Backend(Workspace.open(made, auto_backup=False))
        from touchpoint.ui.profile_view import ProfileView

        profile = ProfileView(profile_backend)
        profile.resize(1000, 800)
        profile.show()
        beat.restart()
        heart.start()
    opens: list[float] = []
    loaded: list[str] = []
    profile.loaded.connect(loaded.append)
    for _ in range(5):
        loaded.clear()
        t0 = time.perf_counter()
        profile.show_customer(cid)
        wait(lambda: bool(loaded))
        profile.repaint()
        opens.append(1000 * (time.perf_counter() - t0))
    profile.loaded.disconnect(loaded.append)
    print(
        f"profile: open a customer with {count:,} interactions, median "
        f"{statistics.median(opens):.0f} ms (first {opens[0]:.0f} ms)"
    )
    if profile_backend is not backend:
        profile.close()
        profile_backend.shutdown()
        window.show()

    phase[0] = "detail"
    detail_figures(window, data, wait)

    # Browsing: the customer list top to bottom, filters, a few profiles.
    phase[0] = "customer list"
    window.show_customers()
    table = window.customers.list.table
    model = window.customers.list.model
    wait(lambda: model.rowCount() > 0 and backend.pending == 0)
    rows = model.rowCount()
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9, 1.0):
        table.scrollTo(model.index(min(rows - 1, int(rows * fraction)), 0))
        table.viewport().repaint()
        wait(lambda: backend.pending == 0)
        app.processEvents()
    window.customers.list.attention.setChecked(True)
    wait(lambda: backend.pending == 0)
    window.customers.list.attention.setChecked(False)
    wait(lambda: backend.pending == 0)
    phase[0] = "profiles from the list"
    for r in range(0, 40, 8):
        customer = model.index(r, 0).data(Qt.ItemDataRole.UserRole + 1)
        if customer:
            window.open_customer(customer)
            wait(lambda: backend.pending == 0)
            app.processEvents()
    phase[0] = "today"
    window.show_today()
    wait(lambda: backend.pending == 0)
    heart.stop()
    print(
        f"browse: {rows:,} customers in the list, {model.fetched_rows:,} rows ever read, "
        f"{model.cached_rows:,} held; longest UI stall {max(stalls[1:] or [0]):.0f} ms"
    )
    print("longest stall by phase: " + ", ".join(f"{k} {v:.0f} ms" for k, v in worst.items()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: peak {peak_mb:.0f} MB after browsing")
    window.close()
    backend.shutdown()
    sys.stdout.flush()
    os._exit(0)  # skip tearing Qt objects down in garbage-collection order


if __name__ == "__main__":
    sys.exit(main())
