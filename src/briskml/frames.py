"""DataFrame checks every application shares: columns that must exist (once), numbers that must
be numbers.

Each error names the column, the argument that named it, and the fix; a misspelt column gets the
closest existing names. Nothing here modifies the caller's frame.

Example:
    >>> check_unique_columns(df, "df")
    >>> check_columns(df, {"y": ["salary"], "cat_names": ["workclass"]})
    >>> ages = numeric_column(df["age"], "age")
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import ConfigError, DataError


def plain_value(value: Any) -> Any:
    """A NumPy scalar as the Python value JSON can hold (np.int64(1) -> 1)."""
    return value.item() if isinstance(value, np.generic) else value


def require_frame(value: Any, argument: str) -> pd.DataFrame:
    """`value` when it is a non-empty DataFrame, else a DataError naming `argument`."""
    if not isinstance(value, pd.DataFrame):
        raise DataError(f"{argument} must be a pandas DataFrame; got {type(value).__name__}.")
    if value.empty:
        raise DataError(f"{argument} is empty; it needs at least one row.")
    return value


def check_unique_columns(df: pd.DataFrame, argument: str,
                         columns: Iterable[Any] | None = None) -> None:
    """No column name occurs twice in `df` (of `columns`, when given: the ones a model reads),
    else a DataError naming the duplicated names and the fix.

    Example:
        >>> check_unique_columns(pd.concat([left, right], axis=1), "df")
    """
    duplicated = list(dict.fromkeys(plain_value(name) for name in
                                    df.columns[df.columns.duplicated()]))
    if columns is not None:
        wanted = list(columns)
        duplicated = [name for name in duplicated if name in wanted]
    if duplicated:
        raise DataError(f"{argument} has more than one column named {duplicated[:10]} (pd.concat "
                        "of frames that share columns does this); keep the first of each with "
                        f"{argument} = {argument}.loc[:, ~{argument}.columns.duplicated()], or "
                        "rename them.")


def missing_column_message(df: pd.DataFrame, name: Any, argument: str) -> str:
    """'Column X (in ARG) is not in the DataFrame; closest names: [...]'."""
    columns = [str(column) for column in df.columns]
    closest = difflib.get_close_matches(str(name), columns, n=3, cutoff=0.5)
    hint = f"closest names: {closest}" if closest else f"the columns are {columns}"
    return f"Column {name!r} (in {argument}) is not in the DataFrame; {hint}."


def check_columns(df: pd.DataFrame, groups: Mapping[str, Sequence[Any]],
                  distinct: bool = True) -> None:
    """Every named column exists (else the closest names are listed) and, with `distinct`, no
    column is named by two arguments.

    `groups` maps an argument ("y", "cat_names", "--text-col") to the columns it names.
    """
    for argument, names in groups.items():
        for name in names:
            if name not in df.columns:
                raise DataError(missing_column_message(df, name, argument))
    if not distinct:
        return
    seen: dict[Any, str] = {}
    for argument, names in groups.items():
        for name in names:
            if name in seen:
                raise ConfigError(f"Column {name!r} is in both {seen[name]} and {argument}; "
                                  "use each column once. To use a number both ways, copy it: "
                                  f"df.assign(**{{'{name}_cat': df['{name}']}}).")
            seen[name] = argument


def numeric_column(values: pd.Series, name: str) -> np.ndarray:
    """A column as float64 (missing as NaN; infinity is kept); booleans are 0 and 1. Dates,
    durations, complex numbers and text that is not a number are errors naming the column (and
    the first offending row)."""
    _refuse_non_numbers(values.dtype, name)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        numbers = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError):   # values pandas cannot even try (lists, dicts ...)
        numbers = pd.Series(np.nan, index=values.index)
    bad = (numbers.isna() & values.notna()).to_numpy()
    if bad.any():
        position = int(np.argmax(bad))
        raise DataError(f"Column {name!r} holds non-numeric values, e.g. "
                        f"{values.iloc[position]!r} at row {plain_value(values.index[position])!r} "
                        f"({int(bad.sum())} such rows); convert or clean them, or treat the "
                        "column as categorical.")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _refuse_non_numbers(dtype: Any, name: str) -> None:
    if pd.api.types.is_datetime64_any_dtype(dtype):
        raise DataError(f"Column {name!r} holds dates; expand it with add_datepart(df, {name!r}) "
                        "and use the new columns instead.")
    if pd.api.types.is_timedelta64_dtype(dtype):
        raise DataError(f"Column {name!r} holds durations; give it as a number, e.g. "
                        f"df[{name!r}].dt.total_seconds().")
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"Column {name!r} holds complex numbers; give its real and imaginary "
                        "parts as two columns.")
