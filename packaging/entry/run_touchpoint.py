"""Frozen entry point of ``touchpoint``: the window with no command, the CLI with one."""

import multiprocessing

from touchpoint.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
