"""TOUCHPOINT_QUIT_AFTER_MS: the window opens, then closes cleanly by itself.

The install smoke test and bench_bundle.py start the installed app this way; here the
same start from source, in a process of its own as a user would start it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_window_opens_and_closes_cleanly_when_asked_to(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "TOUCHPOINT_DATA_DIR": str(data),
        "TOUCHPOINT_QUIT_AFTER_MS": "300",
    }
    subprocess.run(
        [sys.executable, "-m", "touchpoint", "demo", "--customers", "5"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint"],
        env=env, check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = (data / "logs" / "touchpoint.log").read_text(encoding="utf-8")
    assert log.count("window shown after") == 1
    assert log.count("database open after") == 1  # it closes once Today is shown
    assert log.rstrip().endswith("Touchpoint stopped")
