"""The lessons' column helpers: `cont_cat_split` guesses which columns are continuous and which
categorical, `add_datepart` expands a date into the columns a model can use.

Example:
    >>> df = add_datepart(df, "saledate")
    >>> cont_names, cat_names = cont_cat_split(df, max_card=20, dep_var="price")
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from briskml.checks import check_non_negative_int
from briskml.errors import DataError
from briskml.frames import check_unique_columns


def cont_cat_split(df: pd.DataFrame, max_card: int = 20, dep_var: str | Sequence[str] | None = None
                   ) -> tuple[list[str], list[str]]:
    """Guess (cont_names, cat_names): floats, and integers with more than `max_card` values, are
    continuous; everything else is categorical. Dates are left out (use `add_datepart`).

    Example:
        >>> cont_names, cat_names = cont_cat_split(df, max_card=20, dep_var="salary")
    """
    check_non_negative_int(max_card, "max_card")
    check_unique_columns(df, "df")
    excluded = {dep_var} if isinstance(dep_var, str) else set(dep_var or ())
    cont_names, cat_names = [], []
    for name in df.columns:
        if name in excluded or pd.api.types.is_datetime64_any_dtype(df[name].dtype):
            continue
        dtype = df[name].dtype
        is_bool = pd.api.types.is_bool_dtype(dtype)
        is_integer = pd.api.types.is_integer_dtype(dtype) and not is_bool
        if pd.api.types.is_float_dtype(dtype) or (is_integer and df[name].nunique() > max_card):
            cont_names.append(name)
        else:
            cat_names.append(name)
    return cont_names, cat_names


_DATE_PARTS = ("Year", "Month", "Week", "Day", "Dayofweek", "Dayofyear", "Is_month_end",
               "Is_month_start", "Is_quarter_end", "Is_quarter_start", "Is_year_end",
               "Is_year_start")

_PANDAS_NAMES = {"Dayofweek": "day_of_week", "Dayofyear": "day_of_year"}


def add_datepart(df: pd.DataFrame, column: str, prefix: str | None = None, drop: bool = True,
                 time: bool = False) -> pd.DataFrame:
    """A new DataFrame where the date `column` becomes Year, Month, Week, Day, Dayofweek, Dayofyear,
    Is_month_end/start, Is_quarter_end/start, Is_year_end/start and Elapsed (seconds since 1970);
    `time=True` adds Hour, Minute and Second. `df` itself is not modified.

    Example:
        >>> df = add_datepart(df, "saledate")   # saleYear, saleMonth, ..., saleElapsed
    """
    if column not in df.columns:
        raise DataError(f"add_datepart: no column {column!r}; the columns are {list(df.columns)}.")
    dates = _as_dates(df[column], column)
    prefix = re.sub("[Dd]ate$", "", column) if prefix is None else prefix
    parts = {prefix + part: _date_part(dates, part) for part in _DATE_PARTS}
    if time:
        parts.update({prefix + unit: getattr(dates.dt, unit.lower()) for unit in
                      ("Hour", "Minute", "Second")})
    parts[prefix + "Elapsed"] = _whole_numbers(_seconds_since_epoch(dates))
    out = df.drop(columns=[column]) if drop else df.copy(deep=False)
    return out.assign(**pd.DataFrame(parts, index=df.index))


def _as_dates(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError) as error:
        raise DataError(f"add_datepart: column {column!r} does not hold dates ({error}); convert "
                        "it with pd.to_datetime(..., format=...) first.") from error


def _date_part(dates: pd.Series, part: str) -> pd.Series:
    if part == "Week":
        return _whole_numbers(dates.dt.isocalendar().week)
    values = getattr(dates.dt, _PANDAS_NAMES.get(part, part.lower()))
    return values if part.startswith("Is_") else _whole_numbers(values)


def _seconds_since_epoch(dates: pd.Series) -> pd.Series:
    epoch = pd.Timestamp(0, tz=dates.dt.tz)
    return (dates - epoch).dt.total_seconds() // 1


def _whole_numbers(values: pd.Series) -> pd.Series:
    """int64, or float64 when some dates are missing (NaN marks them, for FillMissing)."""
    return values.astype("float64") if values.isna().any() else values.astype("int64")
