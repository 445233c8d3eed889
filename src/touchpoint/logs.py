"""Rotating log files in the user log dir; never secrets, never customer notes."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path


def setup_logging(log_file: Path, level: int | str = logging.INFO) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "touchpoint", False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.touchpoint = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
