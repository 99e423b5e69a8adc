"""`briskml demo`: every application trained on the bundled samples, with plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from briskml.cli._common import Force, check_output, note
from briskml.demo import planned_plots, timed_demo


def demo(quick: Annotated[bool, typer.Option("--quick", help="A smaller, faster run.")] = False,
         out: Annotated[Path | None, typer.Option(
             "--out", metavar="DIR", help="Folder for the lr_find and loss plots (PNG).",
             show_default=False,
             file_okay=False)] = None,
         force: Force = False) -> None:
    """Train a tabular, a collaborative-filtering and a text model on bundled data, print tables.

    Example: briskml demo --quick --out demo_out
    """
    if out is not None:
        for plot in planned_plots(out):
            check_output(plot, force)
    summary = timed_demo(quick=quick, out=out)
    print(f"\n{summary}")
    if out is not None:
        note(f"plots written to {out}/")
