"""The `briskml` command. Thin: it parses options and calls what a Python user would call."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from briskml.errors import BriskError

app = typer.Typer(help="briskml: fast deep learning for tables, ratings and text.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
_state = {"debug": False}


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")) -> None:
    _state["debug"] = debug


@app.command()
def demo(quick: bool = typer.Option(False, "--quick", help="A smaller, faster run."),
         out: Path | None = typer.Option(None, "--out", help="Folder for the PNG plots.")) -> None:
    """Train a tabular and a collaborative-filtering model on bundled samples, print the tables.

    Example: briskml demo --quick --out demo_out
    """
    from briskml.demo import timed_demo  # imported here so `--help` stays quick

    summary = timed_demo(quick=quick, out=out)
    print(f"\n{summary}")
    if out is not None:
        print(f"plots written to {out}/", file=sys.stderr)


def main() -> None:
    """Entry point: a user error prints one line (no traceback unless --debug) and exits with 2."""
    try:
        app()  # click itself reports usage errors (unknown option, bad value) with status 2
    except (BriskError, FileNotFoundError, FileExistsError) as error:
        if _state["debug"]:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
