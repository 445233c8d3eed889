"""Where Touchpoint keeps its files.

Every location comes from platformdirs. ``--data-dir`` (or the
``TOUCHPOINT_DATA_DIR`` environment variable) puts everything under one
folder instead, for tests and for portable use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "touchpoint"
APP_AUTHOR = "Touchpoint"
DATA_DIR_ENV = "TOUCHPOINT_DATA_DIR"


@dataclass(frozen=True, slots=True)
class AppPaths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "touchpoint.sqlite3"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "touchpoint.log"

    def ensure(self) -> AppPaths:
        for folder in (self.data_dir, self.config_dir, self.log_dir, self.backup_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """The paths in force: an explicit folder, then the environment, then platformdirs."""
    override = data_dir or os.environ.get(DATA_DIR_ENV)
    if override:
        root = Path(override).expanduser().resolve()
        return AppPaths(data_dir=root, config_dir=root / "config", log_dir=root / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
    )
