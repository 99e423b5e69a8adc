"""`briskml demo` (what `make demo` runs): each application trained end to end on briskml's
bundled samples, in turn, then a summary table. The parts are in `cli/demos/`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from briskml.cli._common import Force, check_output, note
from briskml.cli.demos import collab, tabular, text
from briskml.cli.demos.common import PLOT_KINDS, DemoResult, plot_path


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


@dataclass(frozen=True)
class DemoPart:
    """One application's demo: its heading, the prefix of its plot files, and how to run it."""

    title: str
    plot_prefix: str
    run: Callable[..., DemoResult]


def demo_parts() -> list[DemoPart]:
    """The demo's parts, in the order they run (each `cli/demos/<app>.run_demo`)."""
    return [DemoPart("Tabular: Adult census sample", "tabular", tabular.run_demo),
            DemoPart("Collaborative filtering: MovieLens sample", "collab", collab.run_demo),
            DemoPart("Text: ULMFiT on synthetic reviews", "text", text.run_demo)]


def planned_plots(out: Path) -> list[Path]:
    """Every plot file the demo writes into `out` (so the CLI can refuse to overwrite them)."""
    return [plot_path(out, part.plot_prefix, kind) for part in demo_parts() for kind in PLOT_KINDS]


def run_demo(quick: bool = False, out: Path | None = None) -> list[DemoResult]:
    """Train each application's demo in turn; plots go into `out`."""
    results = []
    for part in demo_parts():
        print(f"\n=== {part.title} ===", flush=True)
        results.append(part.run(quick=quick, out=out))
    return results


def format_summary(results: list[DemoResult], total_seconds: float) -> str:
    """The closing table: one line per part with its metrics and training time."""
    lines = [f"{'part':<46}{'metrics':<46}{'seconds':>8}"]
    for result in results:
        metrics = ", ".join(f"{name}={value:.4f}" for name, value in result.metrics.items())
        lines.append(f"{result.name:<46}{metrics:<46}{result.seconds:>8.1f}")
    lines.append(f"{'total (with data preparation)':<92}{total_seconds:>8.1f}")
    return "\n".join(lines)


def timed_demo(quick: bool = False, out: Path | None = None) -> str:
    """Run the whole demo and return its summary table."""
    start = time.perf_counter()
    results = run_demo(quick=quick, out=out)
    return format_summary(results, time.perf_counter() - start)
