import numpy as np
import pytest

from briskml.checks import (
    check_dropouts,
    check_fraction,
    check_non_negative_int,
    check_one_of,
    check_positive_int,
    check_positive_number,
    check_probability,
)
from briskml.errors import ConfigError


def test_accepted_values_come_back_as_plain_python_values():
    assert check_positive_int(np.int64(3), "bs") == 3 and type(check_positive_int(3, "bs")) is int
    assert check_non_negative_int(0, "freeze_epochs") == 0
    assert check_probability(0.5, "p") == 0.5 and check_fraction(1, "pct_start") == 1.0
    assert check_positive_number(2e-3, "lr") == 2e-3
    assert check_one_of("warn", ("warn", "error"), "unknown") == "warn"
    assert check_dropouts(0.1, 3) == (0.1, 0.1, 0.1)
    assert check_dropouts([0.1, 0.2], 2) == (0.1, 0.2)


@pytest.mark.parametrize(("check", "value", "message"), [
    (check_positive_int, 0, "bs must be a positive integer; got 0."),
    (check_positive_int, True, "bs must be a positive integer; got True."),
    (check_positive_int, 2.0, "bs must be a positive integer; got 2.0."),
    (check_non_negative_int, -1, "bs must be an integer >= 0; got -1."),
    (check_probability, 1.0, r"bs must be in \[0, 1\); got 1.0."),
    (check_fraction, 1.5, r"bs must be in \[0, 1\]; got 1.5."),
    (check_positive_number, float("inf"), "bs must be a positive, finite number; got inf."),
    (check_positive_number, "1e-3", "bs must be a positive, finite number; got '1e-3'."),
])
def test_each_check_names_the_argument_and_the_value(check, value, message):
    with pytest.raises(ConfigError, match=message):
        check(value, "bs")


def test_a_hint_says_how_to_fix_it_and_choices_are_listed():
    expected = r"freeze_epochs must be a positive integer; got 0\. Use 0"
    with pytest.raises(ConfigError, match=expected):
        check_positive_int(0, "freeze_epochs", "Use 0 to skip the frozen stage.")
    with pytest.raises(ConfigError, match="unknown must be one of 'warn', 'error'; got 'x'"):
        check_one_of("x", ("warn", "error"), "unknown")
    with pytest.raises(ConfigError, match=r"ps has 1 value\(s\) for 2 layer\(s\)"):
        check_dropouts([0.1], 2)
