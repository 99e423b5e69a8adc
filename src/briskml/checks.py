"""Argument checks every application shares: each names the argument, the value and the fix.

Each check returns the value it accepted, so a constructor can write
`self.bs = check_positive_int(bs, "bs")`, and raises `ConfigError` (a `ValueError`) otherwise.

Example:
    >>> check_positive_int(64, "bs")
    64
    >>> check_probability(0.5, "embed_p")
    0.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any, TypeVar

from briskml.errors import ConfigError

Choice = TypeVar("Choice")


def _fix(hint: str) -> str:
    return f" {hint}" if hint else ""


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, never for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for finite or infinite real numbers (ints and floats), never for booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(value: Any, name: str, hint: str = "") -> int:
    """`value` as an int when it is an integer >= 1, else a ConfigError naming `name`."""
    if not is_int(value) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}.{_fix(hint)}")
    return int(value)


def check_non_negative_int(value: Any, name: str, hint: str = "") -> int:
    """`value` as an int when it is an integer >= 0, else a ConfigError naming `name`."""
    if not is_int(value) or value < 0:
        raise ConfigError(f"{name} must be an integer >= 0; got {value!r}.{_fix(hint)}")
    return int(value)


def check_probability(value: Any, name: str, hint: str = "") -> float:
    """`value` as a float in [0, 1) (a dropout probability, a validation share)."""
    if not is_number(value) or not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{name} must be in [0, 1); got {value!r}.{_fix(hint)}")
    return float(value)


def check_fraction(value: Any, name: str, hint: str = "") -> float:
    """`value` as a float in [0, 1] (a share that may be all of it, e.g. pct_start)."""
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{name} must be in [0, 1]; got {value!r}.{_fix(hint)}")
    return float(value)


def check_positive_number(value: Any, name: str, hint: str = "") -> float:
    """`value` as a float when it is finite and > 0 (a learning rate, a temperature)."""
    if not is_number(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise ConfigError(f"{name} must be a positive, finite number; got {value!r}.{_fix(hint)}")
    return float(value)


def check_one_of(value: Choice, choices: Collection[Choice], name: str, hint: str = "") -> Choice:
    """`value` when it is one of `choices`, else a ConfigError listing them."""
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(f"{name} must be one of {listed}; got {value!r}.{_fix(hint)}")
    return value


def check_dropouts(ps: Any, num_layers: int, name: str = "ps") -> tuple[float, ...]:
    """One dropout probability per layer, from one value or one value each."""
    if is_number(ps):
        values = (float(ps),) * num_layers
    else:
        values = tuple(float(p) for p in ps)
        if len(values) != num_layers:
            raise ConfigError(f"{name} has {len(values)} value(s) for {num_layers} layer(s); give "
                              "one value, or one per layer.")
    for value in values:
        check_probability(value, name, "Dropout probabilities are fractions, e.g. 0.1.")
    return values
