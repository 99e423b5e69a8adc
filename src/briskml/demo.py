"""The demo `make demo` runs: each application trained end to end on briskml's bundled samples.

Each application's `demo.run_demo(quick, out)` trains on its sample, prints the epoch table and
returns a DemoResult; this module runs them in turn and prints the summary table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from briskml.learner import Learner


@dataclass(frozen=True)
class DemoResult:
    """What one part of the demo trained and measured."""

    name: str
    metrics: dict[str, float]
    seconds: float


def save_plots(learn: Learner, out: Path | None, prefix: str) -> None:
    """Write `<prefix>_lr_find.png` and `<prefix>_loss.png` into `out` (if given)."""
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    learn.recorder.plot_lr_find(out / f"{prefix}_lr_find.png")
    learn.recorder.plot_loss(out / f"{prefix}_loss.png")


def run_demo(quick: bool = False, out: Path | None = None) -> list[DemoResult]:
    """Train the tabular and collaborative-filtering demos in turn; plots go into `out`."""
    # Imported here: the applications build on the core, which must not import them.
    from briskml.collab.demo import run_demo as run_collab_demo
    from briskml.tabular.demo import run_demo as run_tabular_demo

    results = []
    for title, run in [("Tabular: Adult census sample", run_tabular_demo),
                       ("Collaborative filtering: MovieLens sample", run_collab_demo)]:
        print(f"\n=== {title} ===", flush=True)
        results.append(run(quick=quick, out=out))
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
