"""Frozen entry point of ``touchpoint-hub``: the team's sync server and its admin commands."""

import multiprocessing

from touchpoint.hub.cli import main

if __name__ == "__main__":
    # uvicorn --workers starts its workers with multiprocessing (spawn on Windows/macOS)
    multiprocessing.freeze_support()
    main()
