import math

import pytest

from briskml.callbacks import LRFindResult, suggest_learning_rates


def synthetic_sweep():
    """A loss that is flat, then falls fastest around lr=1e-2, bottoms at 1e-1, then explodes."""
    lrs = [10 ** (-6 + 6 * i / 99) for i in range(100)]
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        losses.append(2.0 - 1.0 / (1 + math.exp(-3 * (x + 2))) + (max(0.0, x + 1) ** 2) * 5)
    return lrs, losses


def test_suggestions_follow_the_shape_of_the_curve():
    lrs, losses = synthetic_sweep()
    suggestions = suggest_learning_rates(lrs, losses)
    lowest = lrs[losses.index(min(losses))]
    assert suggestions["minimum"] == pytest.approx(lowest / 10)
    assert 3e-3 < suggestions["steepest"] < 3e-2
    assert lrs[0] < suggestions["valley"] < lowest


def test_too_short_a_sweep_gives_nan_suggestions():
    suggestions = suggest_learning_rates([1e-5, 1e-4], [1.0, 0.9])
    assert all(math.isnan(value) for value in suggestions.values())


def test_result_exposes_suggestions_by_name_and_plots(tmp_path):
    lrs, losses = synthetic_sweep()
    result = LRFindResult(lrs, losses, **suggest_learning_rates(lrs, losses))
    assert set(result.suggestions) == {"valley", "minimum", "steepest"}
    result.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 0
