"""How the tabular processors read a column's raw values: numbers, category keys and labels.

- Continuous values are float64, and anything that is not a finite number (NaN, None, pd.NA,
  NaT, +-inf) is NaN there: the one notion of "missing" that FillMissing fills and flags and
  that Normalize is never fitted on.
- Categories and class labels are kept as they are when JSON holds them exactly (strings,
  integers, booleans, finite floats); other values (dates, durations, mixed types, tuples ...)
  are compared as text, each value written as `str(value)` on its own, so a value reads the same
  whichever rows it comes with. Dates and durations also remember their kind, so the text of a
  CSV read at predict time is parsed back and matches the training dates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from briskml.schema import is_json_scalar

DATE_KINDS = ("datetime", "timedelta")


def finite_numbers(values: pd.Series) -> np.ndarray:
    """The column as float64 with every missing or infinite value as NaN."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(numbers), numbers, np.nan)


def count_infinite(values: pd.Series) -> int:
    """How many values of a numeric column are +inf or -inf (0 for other columns)."""
    if not is_number_dtype(values.dtype):
        return 0
    return int(np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan)).sum())


def is_number_dtype(dtype: Any) -> bool:
    """True for integer and float dtypes (NumPy or nullable), never for booleans."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


# What pandas infers for values JSON holds as they are, and that compare unambiguously: bools
# mixed with numbers are not among them (True == 1, so which one a lookup finds would depend on
# the rows that come with it).
_PLAIN_KINDS = ("string", "integer", "floating", "mixed-integer-float", "boolean", "empty")


def plain_kind(values: pd.Series) -> bool:
    """True when the column holds only strings, only booleans, or only numbers (its categories
    if it is a Categorical): values compared as they are rather than as text."""
    sample = values.dtype.categories if isinstance(values.dtype, pd.CategoricalDtype) else values
    return pd.api.types.infer_dtype(sample, skipna=True) in _PLAIN_KINDS


def without_infinity(values: pd.Series) -> pd.Series:
    """A float column's +-inf as missing (other columns unchanged): they are no category."""
    if not (is_number_dtype(values.dtype) and values.dtype.kind == "f"):
        return values
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(numbers)
    return values.where(~infinite) if infinite.any() else values


def date_kind(values: pd.Series | pd.Index) -> str | None:
    """"datetime" or "timedelta" when the values are dates or durations (a Categorical's
    categories included), else None."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    kind = getattr(dtype, "kind", "")
    return {"M": "datetime", "m": "timedelta"}.get(kind)


def as_dates(values: pd.Series, kind: str) -> pd.Series:
    """`values` as the datetimes or durations `kind` names; text that is not one becomes NaT
    (and then reads as an unseen category). Values already of that kind are kept."""
    if date_kind(values) == kind:
        return values
    convert = pd.to_datetime if kind == "datetime" else pd.to_timedelta
    options = {"format": "mixed"} if kind == "datetime" else {}
    try:
        return pd.Series(convert(values, errors="coerce", **options), index=values.index)
    except (ValueError, TypeError, OverflowError):   # e.g. mixed time zones: none match
        return pd.Series(pd.NaT, index=values.index)


def text_of(values: pd.Series | pd.Index) -> np.ndarray:
    """Each value as `str(value)` (an object array), missing values as None."""
    if values.dtype == object:
        missing = pd.isna(values)
        return np.array([None if gone else str(value) for value, gone in zip(values, missing,
                                                                            strict=True)],
                        dtype=object)
    codes, uniques = pd.factorize(values)   # a typed column: str() each distinct value once
    labels = np.array([*(str(value) for value in uniques), None], dtype=object)
    return labels[codes]


def sorted_distinct(values: pd.Series) -> pd.Index | None:
    """The distinct present values, sorted (an ordered Categorical: in its order); None when
    they mix types that do not sort."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        codes = np.unique(values.cat.codes.to_numpy())
        return values.dtype.categories[codes[codes >= 0]]
    unique = pd.Index(values.dropna().unique())
    try:
        return unique.sort_values()
    except TypeError:
        return None


def all_json_scalars(index: pd.Index) -> bool:
    """True when JSON gives every value back unchanged (infinity is gone already)."""
    if index.dtype.kind in "biuf":
        return True
    return all(is_json_scalar(value) for value in index.tolist())
