"""The learning-rate finder: the sweep (exponentially growing lr, smoothed loss, stop on
divergence), its result and the learning rates it suggests."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from briskml import plots
from briskml.callbacks.core import Callback, CancelFit
from briskml.optim import set_learning_rates
from briskml.schedules import exponential

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class LRFinder(Callback):
    """Raise the lr from `start_lr` to `end_lr` over `num_it` training batches, recording the
    smoothed loss; stop early once it passes 4x its minimum (with `stop_div`) or is not finite."""

    order = -5

    def __init__(self, start_lr: float, end_lr: float, num_it: int, stop_div: bool,
                 show_progress: bool) -> None:
        self.schedule = exponential(start_lr, end_lr)
        self.num_it = num_it
        self.stop_div = stop_div
        self.show_progress = show_progress
        self.lrs: list[float] = []
        self.losses: list[float] = []

    def before_fit(self) -> None:
        """Reset the sweep."""
        self.lrs, self.losses = [], []
        self._average, self._best = 0.0, math.inf
        self._bar: Any = tqdm(total=self.num_it, desc="lr_find", leave=False, file=sys.stderr,
                              disable=None if self.show_progress else True)

    def before_batch(self) -> None:
        """Set this iteration's learning rate on every layer group."""
        lr = self.schedule(len(self.lrs) / (self.num_it - 1))
        set_learning_rates(self.learn.opt, [lr] * len(self.learn.layer_groups))
        self._lr = lr

    def after_batch(self) -> None:
        """Record the smoothed loss; stop when done or diverging."""
        loss = self.learn.loss.item() if self.learn.loss is not None else math.nan
        beta = 0.98
        self._average = beta * self._average + (1 - beta) * loss
        smoothed = self._average / (1 - beta ** (len(self.lrs) + 1))
        self.lrs.append(self._lr)
        self.losses.append(smoothed)
        self._bar.update()
        self._best = min(self._best, smoothed)
        diverged = not math.isfinite(smoothed) or (self.stop_div and smoothed > 4 * self._best)
        if diverged or len(self.lrs) >= self.num_it:
            raise CancelFit

    def after_fit(self) -> None:
        """Close the bar."""
        self._bar.close()


@dataclass(frozen=True)
class LRFindResult:
    """What lr_find measured (learning rates and smoothed losses) and the rates it suggests."""

    lrs: list[float]
    losses: list[float]
    minimum: float    # the lr at the lowest loss, divided by 10
    steepest: float   # where the loss falls fastest against log(lr)
    valley: float     # the middle of the longest stretch over which the loss keeps falling

    @property
    def suggestions(self) -> dict[str, float]:
        """The suggested learning rates by name."""
        return {"valley": self.valley, "minimum": self.minimum, "steepest": self.steepest}

    def plot(self, path: str | os.PathLike | None = None) -> Figure:
        """Loss against learning rate (log scale); writes a PNG when given a path."""
        return plots.plot_lr_find(self.lrs, self.losses, self.suggestions, path)


def suggest_learning_rates(lrs: Sequence[float], losses: Sequence[float]) -> dict[str, float]:
    """minimum, steepest and valley suggestions from a sweep (NaN when it stopped too early)."""
    lr_values, loss_values = _trimmed(lrs, losses)
    if len(lr_values) < 3:
        return {"minimum": math.nan, "steepest": math.nan, "valley": math.nan}
    lowest = min(range(len(loss_values)), key=loss_values.__getitem__)
    # Slopes over a window of about a tenth of the sweep, so batch noise between neighbouring
    # points does not pass for a steep descent.
    window = max(1, len(lr_values) // 10)
    slopes = [(loss_values[i + window] - loss_values[i])
              / math.log(lr_values[i + window] / lr_values[i])
              for i in range(len(lr_values) - window)]
    steepest = min(range(len(slopes)), key=slopes.__getitem__) + window // 2
    start, end = _longest_descent(loss_values)
    return {"minimum": lr_values[lowest] / 10, "steepest": lr_values[steepest],
            "valley": lr_values[(start + end) // 2]}


def _trimmed(lrs: Sequence[float], losses: Sequence[float]) -> tuple[list[float], list[float]]:
    """Drop the noisy first tenth and the diverging last few points, and any non-finite loss."""
    pairs = [(lr, loss) for lr, loss in zip(lrs, losses, strict=True) if math.isfinite(loss)]
    head, tail = len(pairs) // 10, 5 if len(pairs) > 20 else 0
    kept = pairs[head:len(pairs) - tail]
    return [lr for lr, _ in kept], [loss for _, loss in kept]


def _longest_descent(losses: Sequence[float]) -> tuple[int, int]:
    """First and last index of the longest strictly decreasing subsequence of `losses`."""
    length = [1] * len(losses)
    first = list(range(len(losses)))
    for i in range(len(losses)):
        for j in range(i):
            if losses[j] > losses[i] and length[j] + 1 > length[i]:
                length[i], first[i] = length[j] + 1, first[j]
    end = max(range(len(losses)), key=length.__getitem__)
    return first[end], end
