"""What the demo parts share: their result and where their plots go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from briskml.learner import Learner

PLOT_KINDS = ("lr_find", "loss")


@dataclass(frozen=True)
class DemoResult:
    """What one part of the demo trained and measured."""

    name: str
    metrics: dict[str, float]
    seconds: float


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
