"""Checks of a ratings frame before it becomes CollabData: its columns, its ratings, the split.

Each problem raises an error (or, for repeated pairs, a warning) that names the column or argument,
says how many rows are affected, and how to fix it. The caller's frame is never modified.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import BriskWarning, ConfigError, DataError


def column_names(ratings: Any, user_name: str | None, item_name: str | None,
                 rating_name: str | None) -> tuple[str, str, str]:
    """(user, item, rating) column names: as given, else the first three columns."""
    if not isinstance(ratings, pd.DataFrame):
        raise DataError(f"ratings must be a pandas DataFrame; got {type(ratings).__name__}.")
    if ratings.empty:
        raise DataError("The ratings DataFrame is empty; it needs one row per (user, item, "
                        "rating).")
    given = (user_name, item_name, rating_name)
    if None in given and ratings.shape[1] < 3:
        raise DataError(f"The ratings have {ratings.shape[1]} column(s) {list(ratings.columns)}; "
                        "with no user_name / item_name / rating_name the first three are used, so "
                        "name the columns or add them.")
    names = tuple(name if name is not None else ratings.columns[i] for i, name in enumerate(given))
    missing = [name for name in names if name not in ratings.columns]
    if missing:
        raise DataError(f"Column(s) {missing} are not in the ratings; its columns are "
                        f"{list(ratings.columns)}. Pass user_name, item_name and rating_name.")
    if len(set(names)) < 3:
        raise DataError(f"user_name, item_name and rating_name must be three different columns; "
                        f"got {names}.")
    return names


def checked_ratings(ratings: pd.DataFrame, names: tuple[str, str, str]) -> pd.DataFrame:
    """The three columns as a new frame (the caller's is untouched), ratings as float64."""
    user_name, item_name, rating_name = names
    frame = ratings[[user_name, item_name, rating_name]]
    for name in (user_name, item_name):
        num_missing = int(frame[name].isna().sum())
        if num_missing:
            raise DataError(f"Column '{name}' has {num_missing} missing id(s); drop or fill those "
                            f"rows first (ratings.dropna(subset=['{name}'])).")
    frame = frame.assign(**{rating_name: numeric_ratings(frame[rating_name])})
    warn_duplicates(frame, user_name, item_name)
    return frame


def numeric_ratings(values: pd.Series) -> pd.Series:
    """The ratings as float64, refusing text, missing and infinite values (counted)."""
    name = values.name
    numbers = pd.to_numeric(values, errors="coerce")
    num_missing = int(values.isna().sum())
    num_bad = int(numbers.isna().sum()) - num_missing
    if num_bad:
        examples = values[numbers.isna() & values.notna()].unique()[:3].tolist()
        raise DataError(f"Column '{name}' has {num_bad} non-numeric rating(s), e.g. {examples}; "
                        "ratings must be numbers (convert them with pd.to_numeric).")
    if num_missing:
        raise DataError(f"Column '{name}' has {num_missing} missing rating(s); drop those rows "
                        f"(ratings.dropna(subset=['{name}'])) before building CollabData.")
    numbers = numbers.astype(np.float64)
    num_infinite = int((~np.isfinite(numbers.to_numpy())).sum())
    if num_infinite:
        raise DataError(f"Column '{name}' has {num_infinite} infinite rating(s); drop those rows.")
    return numbers


def warn_duplicates(frame: pd.DataFrame, user_name: str, item_name: str) -> None:
    """Warn, with their number, about ratings that repeat a (user, item) pair."""
    num_duplicates = int(frame.duplicated(subset=[user_name, item_name]).sum())
    if num_duplicates:
        warnings.warn(f"{num_duplicates} rating(s) repeat an earlier ({user_name}, {item_name}) "
                      "pair; each is kept as a separate training example. Average them first "
                      "(ratings.groupby([user, item]).mean()) if that is not what you want.",
                      BriskWarning, stacklevel=4)


def check_bs(bs: Any) -> None:
    """A positive integer batch size."""
    if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
        raise ConfigError(f"bs must be a positive integer; got {bs!r}.")


def valid_mask(num_rows: int, valid_pct: float, valid_idx: Any, seed: int | None) -> np.ndarray:
    """Boolean mask of the validation rows: `valid_idx`, or a seeded `valid_pct` permutation."""
    mask = np.zeros(num_rows, dtype=bool)
    if valid_idx is not None:
        mask[checked_positions(valid_idx, num_rows)] = True
    else:
        if not isinstance(valid_pct, (int, float)) or not 0.0 <= valid_pct < 1.0:
            raise ConfigError(f"valid_pct must be in [0, 1); got {valid_pct!r}.")
        num_valid = int(valid_pct * num_rows)
        mask[np.random.RandomState(seed).permutation(num_rows)[:num_valid]] = True
    if mask.all():
        raise DataError("Every rating is in the validation set; lower valid_pct or pass fewer "
                        "valid_idx so some ratings are left to train on.")
    return mask


def checked_positions(valid_idx: Any, num_rows: int) -> np.ndarray:
    """`valid_idx` as integer row positions within the frame."""
    positions = np.asarray(valid_idx).reshape(-1)
    if positions.size == 0:
        return positions.astype(np.int64)
    if not np.issubdtype(positions.dtype, np.integer):
        raise ConfigError("valid_idx must hold integer row positions; got dtype "
                          f"{positions.dtype}.")
    if positions.min() < 0 or positions.max() >= num_rows:
        raise ConfigError(f"valid_idx holds positions outside 0..{num_rows - 1} (the ratings have "
                          f"{num_rows} rows); pass row positions, not index labels.")
    return positions
