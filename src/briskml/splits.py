"""Training / validation splits, the same in every application.

`split_rows(n, valid_pct, seed)` draws one permutation from `numpy.random.RandomState(seed)`, so
the same seed and the same number of rows give the same validation rows whether they are table
rows, ratings or documents. `split(...)` adds what the data builders accept instead: explicit
`valid_idx` positions, or a boolean `valid_col` column.

Example:
    >>> train, valid = split_rows(10, valid_pct=0.2, seed=42)
    >>> train, valid = split(len(df), valid_mask=valid_col_mask(df, "is_valid"))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from briskml.checks import check_probability
from briskml.errors import ConfigError, DataError
from briskml.frames import plain_value

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def split_rows(n: int, valid_pct: float = 0.2, seed: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(training positions, validation positions), each sorted: a seeded random `valid_pct`.

    A share that rounds to no row still gives one validation row when there are two or more rows,
    so a tiny data set is validated at all.
    """
    valid_pct = check_probability(valid_pct, "valid_pct", "Use 0 for no validation rows.")
    order = np.random.RandomState(seed).permutation(n)
    cut = int(valid_pct * n)
    if valid_pct > 0 and cut == 0 and n > 1:
        cut = 1
    return np.sort(order[cut:]).astype(np.int64), np.sort(order[:cut]).astype(np.int64)


def split(n: int, valid_idx: Any = None, valid_mask: np.ndarray | None = None,
          valid_pct: float = 0.2, seed: int | None = None, what: str = "rows",
          min_train: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(training positions, validation positions) from `valid_idx`, `valid_mask` or `valid_pct`.

    `what` names the items in messages ("rows", "ratings", "documents"); at least `min_train` of
    them must be left to train on.
    """
    if n == 0:
        raise DataError(f"There are no {what}; give at least one.")
    if valid_idx is not None and valid_mask is not None:
        raise ConfigError("Give valid_idx or valid_col, not both.")
    if valid_idx is not None:
        valid_mask = np.zeros(n, dtype=bool)
        valid_mask[valid_positions(valid_idx, n)] = True
    if valid_mask is not None:
        train, valid = np.flatnonzero(~valid_mask), np.flatnonzero(valid_mask)
    else:
        train, valid = split_rows(n, valid_pct, seed)
    if len(train) < min_train:
        raise DataError(f"The validation split leaves {len(train)} training {what} of {n}; "
                        f"training needs at least {min_train}. Use fewer validation {what} "
                        "(a lower valid_pct or fewer valid_idx) or more data.")
    return train.astype(np.int64), valid.astype(np.int64)


def valid_positions(valid_idx: Any, n: int) -> np.ndarray:
    """`valid_idx` as int64 positions in 0..n-1 (0-based, as for `df.iloc`), checked."""
    positions = np.asarray(valid_idx).reshape(-1)
    if positions.size == 0:
        return positions.astype(np.int64)
    if positions.dtype.kind not in "iu":
        raise ConfigError(f"valid_idx must hold integer row positions; got dtype {positions.dtype}"
                          ". For a boolean mask pass np.flatnonzero(mask).")
    outside = positions[(positions < 0) | (positions >= n)]
    if outside.size:
        raise ConfigError(f"valid_idx holds positions outside 0..{n - 1}, e.g. "
                          f"{outside[:3].tolist()}; they are 0-based positions as for df.iloc, "
                          "not index labels.")
    return positions.astype(np.int64)


def valid_col_mask(df: pd.DataFrame, valid_col: str | None, argument: str = "valid_col"
                   ) -> np.ndarray | None:
    """The column `valid_col` as a boolean mask of the validation rows (None when not given).

    It may hold booleans, the numbers 1/0 (nullable Int64/boolean too), or text such as
    true/false, yes/no, t/f, y/n, 1/0 (any case, spaces ignored). Anything else, a missing value
    included, is a DataError naming the column (and `argument`: "--valid-col" on the command
    line) and the first bad value and row.
    """
    if valid_col is None:
        return None
    if valid_col not in df.columns:
        raise DataError(f"{argument} {valid_col!r} is not a column; the columns are "
                        f"{[str(name) for name in df.columns]}.")
    values = df[valid_col]
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{argument} {valid_col!r} has missing values ({int(missing.sum())} "
                        f"row(s), the first at {_row(values, int(np.argmax(missing)))}); fill them "
                        "with True (validation) or False (training).")
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    flags = _flags(values)
    bad = np.flatnonzero(flags < 0)
    if len(bad):
        examples = [plain_value(value) for value in pd.unique(values.iloc[bad[:100]])[:3]]
        raise DataError(
            f"{argument} {valid_col!r} must hold true/false, yes/no or 1/0 in every row; "
            f"{len(bad)} row(s) hold other values, e.g. {examples}; the first is "
            f"{plain_value(values.iloc[bad[0]])!r} at {_row(values, int(bad[0]))}. Mark "
            "validation rows True (or 1, yes) and the others False (or 0, no).")
    return flags == 1


def _flags(values: pd.Series) -> np.ndarray:
    """1 (validation), 0 (training) or -1 (not a flag) for each value (none missing)."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64)
        return np.where(numbers == 1, 1, np.where(numbers == 0, 0, -1)).astype(np.int8)
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        text = values.str.strip().str.lower()
        return np.where(text.isin(_TRUE), 1, np.where(text.isin(_FALSE), 0, -1)).astype(np.int8)
    return np.array([_flag(value) for value in values.tolist()], dtype=np.int8)


def _flag(value: Any) -> int:
    """1, 0, or -1 when `value` is not a validation flag."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer, float, np.floating)):
        return int(value) if value in (0, 1) else -1
    if isinstance(value, str):
        text = value.strip().lower()
        return 1 if text in _TRUE else 0 if text in _FALSE else -1
    return -1


def _row(values: pd.Series, position: int) -> str:
    """Where a row is, for messages: its position and, when different, its index label."""
    label = values.index[position]
    same = isinstance(label, (int, np.integer)) and int(label) == position
    return f"row {position}" if same else f"row {position} (index {label!r})"
