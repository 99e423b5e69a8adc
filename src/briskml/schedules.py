"""Hyper-parameter schedules: pure functions from training progress in [0, 1] to a value.

The Learner's schedule callback only evaluates these, so each schedule is testable without training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from briskml.errors import ConfigError

Schedule = Callable[[float], float]


def cosine(start: float, end: float) -> Schedule:
    """Anneal from `start` to `end` along half a cosine wave."""
    def schedule(pos: float) -> float:
        return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2
    return schedule


def linear(start: float, end: float) -> Schedule:
    """Move from `start` to `end` in a straight line."""
    def schedule(pos: float) -> float:
        return start + pos * (end - start)
    return schedule


def exponential(start: float, end: float) -> Schedule:
    """Move from `start` to `end` geometrically (straight on a log scale), as lr_find sweeps."""
    if start <= 0 or end <= 0:
        raise ConfigError(f"An exponential schedule needs positive ends; got {start} and {end}.")

    def schedule(pos: float) -> float:
        return start * (end / start) ** pos
    return schedule


def constant(value: float) -> Schedule:
    """Stay at `value`."""
    def schedule(pos: float) -> float:
        return value
    return schedule


def combine(fractions: Sequence[float], schedules: Sequence[Schedule]) -> Schedule:
    """Run `schedules` one after another, each for its fraction of training (fractions sum to 1)."""
    if len(fractions) != len(schedules) or not math.isclose(sum(fractions), 1.0):
        raise ConfigError(f"combine needs one fraction per schedule summing to 1; got {fractions}.")
    bounds = [sum(fractions[:i]) for i in range(len(fractions) + 1)]

    def schedule(pos: float) -> float:
        pos = min(max(pos, 0.0), 1.0)
        for i, sched in enumerate(schedules):
            start, end = bounds[i], bounds[i + 1]
            if pos < end or i == len(schedules) - 1:
                width = end - start
                return sched((pos - start) / width if width > 0 else 1.0)
        raise AssertionError("unreachable")
    return schedule


def one_cycle_lr(lr_max: float, div: float = 25.0, div_final: float = 1e5,
                 pct_start: float = 0.25) -> Schedule:
    """Learning rate of the 1cycle policy: cosine warm-up lr_max/div -> lr_max, then cosine anneal.

    Example:
        >>> schedule = one_cycle_lr(1e-2)
        >>> schedule(0.0), schedule(0.25), schedule(1.0)  # about 4e-4, 1e-2 and 1e-7
    """
    _check_fraction("pct_start", pct_start)
    if div <= 0 or div_final <= 0:
        raise ConfigError(f"div and div_final must be positive; got {div} and {div_final}.")
    warm_up = cosine(lr_max / div, lr_max)
    anneal = cosine(lr_max, lr_max / div_final)
    return combine([pct_start, 1 - pct_start], [warm_up, anneal])


def one_cycle_momentum(moms: Sequence[float] = (0.95, 0.85, 0.95),
                       pct_start: float = 0.25) -> Schedule:
    """Momentum of the 1cycle policy: the mirror image of the learning rate (high, low, high)."""
    start, middle, end = normalize_moms(moms)
    return combine([pct_start, 1 - pct_start], [cosine(start, middle), cosine(middle, end)])


def normalize_moms(moms: Sequence[float]) -> tuple[float, float, float]:
    """Read `moms` as (start, middle, end), or as the lessons' pair (max, min) = (max, min, max)."""
    values = tuple(float(m) for m in moms)
    if len(values) == 2:
        values = (values[0], values[1], values[0])
    if len(values) != 3 or not all(0.0 <= m < 1.0 for m in values):
        raise ConfigError(
            f"moms must be (max, min) or (start, middle, end), each in [0, 1); got {tuple(moms)}."
        )
    return values


def slanted_triangular(lr_max: float, cut_frac: float = 0.1, ratio: float = 32.0) -> Schedule:
    """The ULMFiT paper's schedule: a short linear rise to lr_max, then a long linear decay.

    The rate goes from lr_max/ratio up to lr_max over the first `cut_frac` of training and back
    down to lr_max/ratio at the end (Howard & Ruder 2018, eq. 3).
    """
    _check_fraction("cut_frac", cut_frac)
    if ratio < 1:
        raise ConfigError(f"ratio must be at least 1; got {ratio}.")

    def schedule(pos: float) -> float:
        rise = pos / cut_frac if pos < cut_frac else 1 - (pos - cut_frac) / (1 - cut_frac)
        return lr_max * (1 + rise * (ratio - 1)) / ratio
    return schedule


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{name} must be strictly between 0 and 1; got {value}.")
