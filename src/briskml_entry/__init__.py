"""The `briskml` console script's entry point: a Ctrl-C at any moment, even while briskml is
still importing torch and pandas (seconds on a cold start), prints `interrupted` and exits 130.

It is a package of its own, outside `briskml`, because importing any module inside `briskml`
first runs `briskml/__init__.py`, which imports torch: a KeyboardInterrupt raised there would
come before any of briskml's code could catch it, and print a traceback.
"""

import sys

INTERRUPTED = 130   # 128 + SIGINT, the status a shell gives a command stopped with Ctrl-C


def run() -> None:
    """Import the command and run it (`briskml.cli.main`); a Ctrl-C before `main` has taken
    over prints one line and exits with status 130."""
    try:
        from briskml.cli import main

        main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
