"""What a command or the window starts from: the data folder, the settings and the policy.

:func:`resolve_context` is called once per command (in the ``touchpoint`` group, kept on
click's context object) and once per window (in ``ui.app.run``); everything after
that, the Workspace's opening included, is handed this :class:`AppContext` rather than
a folder name to resolve again. A command that changes the settings file writes it and
re-reads it itself (``config set``); the context says what was in force at the start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from touchpoint import paths as _paths
from touchpoint import policy as _policy
from touchpoint import settings as _settings


@dataclass(frozen=True, slots=True)
class AppContext:
    """The data folder's paths, the user's settings file, and the machine policy."""

    paths: _paths.AppPaths
    user_settings: _settings.Settings  # the user's file alone (defaults where it is silent)
    settings_in_file: frozenset[str]  # the names the file itself sets
    policy: _policy.LoadedPolicy

    @property
    def data_dir(self) -> Path:
        return self.paths.data_dir

    @property
    def database(self) -> Path:
        return self.paths.database

    @property
    def settings(self) -> _settings.Settings:
        """The settings in force: the user's, with the policy's values on top."""
        return _policy.apply_policy(self.user_settings, self.policy)

    def effective(self) -> _policy.Effective:
        """Every setting in force and where it came from (``config show``, ``policy show``)."""
        return _policy.effective_settings(
            self.paths.settings_file, self.policy, read=(self.user_settings, self.settings_in_file)
        )

    @property
    def log_level(self) -> str:
        """The log level in force: the policy's, else the user's setting."""
        return self.settings.log_level


def resolve_context(data_dir: str | os.PathLike[str] | None = None) -> AppContext:
    """The one place the data folder, the settings file and the policy are read.

    ``data_dir`` is ``--data-dir`` (None: ``TOUCHPOINT_DATA_DIR``, then the platform's
    folders); the policy is ``TOUCHPOINT_POLICY_FILE``'s, else the machine's. No folder
    is made here: opening the database makes them (``AppPaths.ensure``)."""
    found = _paths.resolve_paths(data_dir)
    user, in_file = _settings.read_settings_file(found.settings_file)
    return AppContext(found, user, in_file, _policy.current_policy())


__all__ = ["AppContext", "resolve_context"]
