"""The training plots: losses, schedules and the learning-rate finder, as matplotlib Figures.

Figures are built without pyplot, so nothing depends on a display or a global backend; passing a
path also writes a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from briskml.persist import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _new_figure(width: float, height: float) -> Figure:
    # Imported on first use: matplotlib takes about a second to import, and most runs never plot.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _finish(figure: Figure, path: str | os.PathLike | None) -> Figure:
    figure.tight_layout()
    if path is not None:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    return figure


def smooth(values: Sequence[float], beta: float = 0.98) -> list[float]:
    """Debiased exponential moving average, as the lessons smooth noisy batch losses."""
    average, result = 0.0, []
    for i, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        result.append(average / (1 - beta**i))
    return result


def plot_loss(losses: Sequence[float], valid_losses: Sequence[float],
              batches_per_epoch: int, path: str | os.PathLike | None = None) -> Figure:
    """Training loss per batch (raw and smoothed) with the validation loss at each epoch's end."""
    figure = _new_figure(6, 4)
    axes = figure.subplots()
    iterations = range(len(losses))
    axes.plot(iterations, losses, alpha=0.3, label="train (per batch)")
    axes.plot(iterations, smooth(losses), label="train (smoothed)")
    if valid_losses:
        ends = [batches_per_epoch * (epoch + 1) - 1 for epoch in range(len(valid_losses))]
        axes.plot(ends, valid_losses, marker="o", label="valid")
    axes.set_xlabel("iteration")
    axes.set_ylabel("loss")
    axes.legend()
    return _finish(figure, path)


def plot_schedule(lrs: Sequence[float], moms: Sequence[float | None],
                  path: str | os.PathLike | None = None) -> Figure:
    """Learning rate and momentum per iteration, side by side."""
    figure = _new_figure(10, 4)
    lr_axes, mom_axes = figure.subplots(1, 2)
    lr_axes.plot(lrs)
    lr_axes.set_xlabel("iteration")
    lr_axes.set_ylabel("learning rate")
    known = [m for m in moms if m is not None]
    if known:
        mom_axes.plot([m if m is not None else float("nan") for m in moms])
    mom_axes.set_xlabel("iteration")
    mom_axes.set_ylabel("momentum")
    return _finish(figure, path)


def plot_lr_find(lrs: Sequence[float], losses: Sequence[float], suggestions: dict[str, float],
                 path: str | os.PathLike | None = None) -> Figure:
    """Smoothed loss against learning rate (log scale), with the suggested rates marked."""
    figure = _new_figure(6, 4)
    axes = figure.subplots()
    axes.plot(lrs, losses)
    axes.set_xscale("log")
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("loss (smoothed)")
    for (name, lr), marker in zip(suggestions.items(), "o^sv", strict=False):
        nearest = min(range(len(lrs)), key=lambda i: abs(lrs[i] - lr))
        axes.plot(lr, losses[nearest], marker, label=f"{name}: {lr:.2e}")
    if suggestions:
        axes.legend()
    return _finish(figure, path)
