"""``python -m touchpoint``: the same as the ``touchpoint`` command."""

from touchpoint.cli.main import main

if __name__ == "__main__":
    main()
