import math

import pytest

from briskml.errors import ConfigError
from briskml.schedules import (
    combine,
    cosine,
    exponential,
    linear,
    normalize_moms,
    one_cycle_lr,
    one_cycle_momentum,
    slanted_triangular,
)


def test_cosine_and_linear_run_from_start_to_end():
    assert cosine(1.0, 3.0)(0.0) == pytest.approx(1.0)
    assert cosine(1.0, 3.0)(0.5) == pytest.approx(2.0)
    assert cosine(1.0, 3.0)(1.0) == pytest.approx(3.0)
    assert linear(1.0, 3.0)(0.25) == pytest.approx(1.5)


def test_exponential_is_straight_on_a_log_scale():
    schedule = exponential(1e-6, 1.0)
    assert schedule(0.5) == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="positive"):
        exponential(0.0, 1.0)


def test_one_cycle_lr_starts_low_peaks_at_pct_start_and_ends_near_zero():
    schedule = one_cycle_lr(1e-2, div=25.0, div_final=1e5, pct_start=0.25)
    assert schedule(0.0) == pytest.approx(1e-2 / 25)
    assert schedule(0.25) == pytest.approx(1e-2)
    assert schedule(1.0) == pytest.approx(1e-2 / 1e5)
    rising = [schedule(p / 100) for p in range(26)]
    falling = [schedule(p / 100) for p in range(25, 101)]
    assert rising == sorted(rising)
    assert falling == sorted(falling, reverse=True)


def test_one_cycle_momentum_mirrors_the_learning_rate():
    schedule = one_cycle_momentum((0.95, 0.85, 0.95), pct_start=0.3)
    assert schedule(0.0) == pytest.approx(0.95)
    assert schedule(0.3) == pytest.approx(0.85)
    assert schedule(1.0) == pytest.approx(0.95)


def test_moms_pair_from_the_lessons_means_max_then_min_then_max():
    assert normalize_moms((0.8, 0.7)) == (0.8, 0.7, 0.8)
    with pytest.raises(ConfigError, match="moms"):
        normalize_moms((0.9,))
    with pytest.raises(ConfigError, match="moms"):
        normalize_moms((1.5, 0.7))


def test_slanted_triangular_rises_briefly_then_decays_linearly():
    schedule = slanted_triangular(0.01, cut_frac=0.1, ratio=32)
    assert schedule(0.0) == pytest.approx(0.01 / 32)
    assert schedule(0.1) == pytest.approx(0.01)
    assert schedule(1.0) == pytest.approx(0.01 / 32)
    # linear on both sides of the peak
    assert schedule(0.05) == pytest.approx((schedule(0.0) + schedule(0.1)) / 2)
    assert schedule(0.55) == pytest.approx((schedule(0.1) + schedule(1.0)) / 2)


@pytest.mark.parametrize("pct_start", [0.0, 1.0, -0.1, 1.5])
def test_pct_start_outside_zero_one_is_refused(pct_start):
    with pytest.raises(ConfigError, match="pct_start"):
        one_cycle_lr(1e-2, pct_start=pct_start)


def test_combine_checks_fractions_sum_to_one():
    with pytest.raises(ConfigError, match="summing to 1"):
        combine([0.5, 0.4], [linear(0, 1), linear(1, 0)])
    assert math.isclose(combine([0.5, 0.5], [linear(0, 1), linear(1, 0)])(0.5), 1.0)
