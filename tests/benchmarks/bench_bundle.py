"""Benchmark of the installers: sizes, and the start of the bundled app against the source.

    ./packaging/build-deb.sh && .venv/bin/python tests/benchmarks/bench_bundle.py
    .venv/bin/python tests/benchmarks/bench_bundle.py --starts 7 --data bench-data/S

It prints, in one run:
- sizes: the PyInstaller folder, the .deb, and what the .deb installs (its Installed-Size);
- start: a new process to the main window showing Today's figures, then closed, for the
  bundled app (the installed /usr/bin/touchpoint when the package is installed, else the
  built folder) and for the same code from source (.venv), on the same copy of a
  dataset, turn about, median of several starts. Both close through the same
  TOUCHPOINT_QUIT_AFTER_MS hook, so closing costs the same on both sides; the log line
  "window shown after N ms" (measured inside the app) is reported beside it.
Targets: .deb under 60 MB; the bundled start no slower than 1.2 times the source start.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "packaging" / "dist"
DEB_TARGET_MB = 60
START_TARGET = 1.2
SHOWN = re.compile(r"window shown after (\d+) ms")


def folder_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def newest_deb() -> Path | None:
    debs = sorted(DIST.glob("touchpoint_*.deb"), key=lambda p: p.stat().st_mtime)
    return debs[-1] if debs else None


def one_start(command: list[str], data: Path) -> tuple[float, float | None]:
    """(ms from the process start to its clean exit, 'window shown' ms from its log)."""
    log = data / "logs" / "touchpoint.log"
    before = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    env = {**os.environ, "TOUCHPOINT_QUIT_AFTER_MS": "0", "TOUCHPOINT_DATA_DIR": str(data)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, timeout=180, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wall = 1000 * (time.perf_counter() - started)
    after = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    shown = SHOWN.findall(after[len(before) :])
    return wall, float(shown[-1]) if shown else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deb", type=Path, default=newest_deb())
    parser.add_argument("--bundle", type=Path, default=DIST / "touchpoint")
    parser.add_argument("--data", type=Path, help="a dataset folder (default: a demo one)")
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()

    # --- sizes -------------------------------------------------------------------------
    failed = False
    if args.bundle.is_dir():
        print(f"bundle: {mb(folder_bytes(args.bundle))} ({args.bundle})")
    if args.deb and args.deb.exists():
        deb_size = args.deb.stat().st_size
        installed_kb = subprocess.run(
            ["dpkg-deb", "-f", str(args.deb), "Installed-Size"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        verdict = "ok" if deb_size < DEB_TARGET_MB * 1e6 else "OVER TARGET"
        failed |= verdict != "ok"
        print(f".deb: {mb(deb_size)} (target < {DEB_TARGET_MB} MB: {verdict}) ({args.deb.name})")
        print(f"installed: {mb(int(installed_kb) * 1024)}")
    else:
        print(".deb: none built (packaging/build-deb.sh makes one)")

    # --- start: bundled against source, same data, turn about --------------------------
    installed = Path("/usr/bin/touchpoint")
    frozen = installed if installed.exists() else args.bundle / "touchpoint"
    if not frozen.exists():
        print("start: no bundle to start (build it first)")
        return 1
    source = [str(ROOT / ".venv" / "bin" / "python"), "-m", "touchpoint"]
    scratch = Path(tempfile.mkdtemp(prefix="touchpoint-bench-bundle-"))
    data = scratch / "data"
    try:
        if args.data:
            shutil.copytree(args.data, data)
        else:
            subprocess.run(
                [*source, "--data-dir", str(data), "demo", "--customers", "300"],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        for command in ([str(frozen)], source):  # first starts: backups, caches, migration
            one_start(command, data)
        runs: dict[str, list[tuple[float, float | None]]] = {"bundled": [], "source": []}
        for _ in range(args.starts):
            runs["bundled"].append(one_start([str(frozen)], data))
            runs["source"].append(one_start(source, data))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    medians = {}
    for name, samples in runs.items():
        wall = statistics.median(s[0] for s in samples)
        shown = [s[1] for s in samples if s[1] is not None]
        medians[name] = wall
        inside = f"; window shown {statistics.median(shown):.0f} ms after run()" if shown else ""
        print(f"start {name}: {wall:.0f} ms to Today shown and the window closed{inside}")
    ratio = medians["bundled"] / medians["source"]
    verdict = "ok" if ratio <= START_TARGET else "OVER TARGET"
    failed |= verdict != "ok"
    print(
        f"bundled start: {ratio:.2f}x the source start (target <= {START_TARGET}x: {verdict});"
        f" {args.starts} starts each, {frozen}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
