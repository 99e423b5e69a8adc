"""The demo `make demo` runs: each application trained end to end on briskml's bundled samples.

Each application's `demo.run_demo(quick, out)` trains on its sample, prints the epoch table and
returns a DemoResult; this module runs them in turn and prints the summary table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from briskml.learner import Learner

PLOT_KINDS = ("lr_find", "loss")


@dataclass(frozen=True)
class DemoResult:
    """What one part of the demo trained and measured."""

    name: str
    metrics: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class DemoPart:
    """One application's demo: its heading, the prefix of its plot files, and how to run it."""

    title: str
    plot_prefix: str
    run: Callable[..., DemoResult]


def plot_path(out: Path, prefix: str, kind: str) -> Path:
    """Where a demo part's plot goes: `<out>/<prefix>_<kind>.png`."""
    return out / f"{prefix}_{kind}.png"


def save_plots(learn: Learner, out: Path | None, prefix: str) -> None:
    """Write `<prefix>_lr_find.png` and `<prefix>_loss.png` into `out` (if given)."""
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    learn.recorder.plot_lr_find(plot_path(out, prefix, "lr_find"))
    learn.recorder.plot_loss(plot_path(out, prefix, "loss"))


def demo_parts() -> list[DemoPart]:
    """The demo's parts, in the order they run (each application's `demo.run_demo`)."""
    # Imported here: the applications build on the core, which must not import them.
    from briskml.collab.demo import run_demo as run_collab_demo
    from briskml.tabular.demo import run_demo as run_tabular_demo
    from briskml.text.demo import run_demo as run_text_demo

    return [DemoPart("Tabular: Adult census sample", "tabular", run_tabular_demo),
            DemoPart("Collaborative filtering: MovieLens sample", "collab", run_collab_demo),
            DemoPart("Text: ULMFiT on synthetic reviews", "text", run_text_demo)]


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
