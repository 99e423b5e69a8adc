"""The target of a tabular model: its kind, its classes, and what its values must be.

Every target value must be present and, when it is a number, finite: a missing or infinite
target makes the loss NaN (and with it early stopping and the best-model checkpoint), so such rows
are refused by name, never dropped or kept silently. A classifier needs at least two classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from briskml.checks import check_one_of
from briskml.errors import ConfigError, DataError
from briskml.frames import plain_value
from briskml.schema import is_json_scalar
from briskml.tabular.procs import FLOAT32_MAX
from briskml.tabular.values import is_number_dtype, text_of

TARGET_KINDS = ("category", "regression", "multi_label")


def target_kind(df: pd.DataFrame, y_names: list[str], y_block: str | None) -> str:
    """"category" (one text/categorical/bool column), "regression" (numbers) or "multi_label"."""
    if not y_names:
        raise ConfigError("y must name at least one target column.")
    if y_block is not None:
        check_one_of(y_block, TARGET_KINDS, "y_block")
        if y_block == "category" and len(y_names) != 1:
            raise ConfigError(f"y_block='category' takes one target column; got {y_names}. Use "
                              "y_block='multi_label' for several 0/1 columns.")
        return y_block
    dtypes = [df[name].dtype for name in y_names]
    if len(y_names) > 1:
        flags = all(pd.api.types.is_bool_dtype(dtype) or _is_zero_one(df[name])
                    for name, dtype in zip(y_names, dtypes, strict=True))
        return "multi_label" if flags else "regression"
    dtype = dtypes[0]
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "category"
    return "regression"


def _is_zero_one(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dtype) and values.dropna().isin([0, 1]).all()


def check_targets(values: pd.DataFrame, train_rows: np.ndarray | None = None,
                  rows: str | None = None) -> None:
    """Every target value is present and, for numbers, finite; else a DataError naming the
    column, how many rows (of them, how many are `train_rows`) and how to drop them."""
    for name in values.columns:
        column = values[name]
        numeric = is_number_dtype(column.dtype)
        bad = column.isna().to_numpy()
        if numeric:
            bad = bad | np.isinf(column.to_numpy(dtype=np.float64, na_value=np.nan))
        if not bad.any():
            continue
        count = int(bad.sum())
        where = f" of the {rows}" if rows else ""
        examples = [plain_value(label) for label in values.index[bad][:5]]
        detail = (f" ({int(bad[train_rows].sum())} of them training rows)"
                  if train_rows is not None else "")
        drop = (f"df = df.replace([np.inf, -np.inf], np.nan).dropna(subset=[{name!r}])"
                if numeric else f"df = df.dropna(subset=[{name!r}])")
        raise DataError(f"Target {name!r} has missing{' or infinite' if numeric else ''} values "
                        f"in {count} row(s){where}, e.g. rows {examples}{detail}; a model can "
                        f"neither learn from nor be scored on them. Drop those rows first: {drop}.")


def class_labels(values: pd.Series, name: str) -> list[Any]:
    """The sorted distinct labels of a class target, as plain Python values (labels JSON cannot
    hold, such as dates, as text); a DataError when there are fewer than two."""
    unique = pd.Index(values.dropna().unique())
    if not plain_labels(values):
        unique = pd.Index(pd.unique(text_of(unique)))
    try:
        unique = unique.sort_values()
    except TypeError as error:
        raise DataError(f"Target {name!r} mixes label types that cannot be sorted "
                        f"({error}); convert it with df[{name!r}].astype(str).") from error
    return [plain_value(value) for value in unique.tolist()]


def check_two_classes(classes: list[Any], name: str) -> None:
    """A DataError unless the training rows hold at least two classes."""
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        raise DataError(f"Target {name!r} has one class in the training rows ({found}); a "
                        "classifier needs at least 2 classes in the training rows. Check the "
                        "target column, or use y_block='regression' if it is a number.")


def label_keys(labels: pd.Series) -> Any:
    """The labels as the classes hold them: as they are, or as text (see `class_labels`)."""
    return labels if plain_labels(labels) else text_of(labels)


def plain_labels(values: pd.Series) -> bool:
    """True when the labels are JSON-able scalars; other labels are compared as text."""
    if values.dtype.kind in "biuf":
        return True
    return all(is_json_scalar(value) for value in pd.Index(values.dropna().unique()).tolist())


def some_labels(labels: pd.Series, where: np.ndarray) -> list[Any]:
    """Up to five distinct labels of the rows `where` marks, as plain values (for messages)."""
    return [plain_value(label) for label in pd.unique(labels.to_numpy()[where])[:5]]


def log_targets(values: np.ndarray, y_names: list[str]) -> np.ndarray:
    """log(values) for log_y=True; a DataError when some are <= 0."""
    if (values <= 0).any():
        raise DataError(f"log_y=True needs positive targets, but {y_names} has "
                        f"{int((values <= 0).sum())} value(s) <= 0; shift them or drop log_y.")
    return np.log(values)


def float32_targets(numbers: np.ndarray, y_names: list[str]) -> np.ndarray:
    """(rows, targets) float64 values as float32, the model's precision; a DataError naming the
    column when some are beyond its range (they would become infinite)."""
    too_big = np.abs(numbers) > FLOAT32_MAX
    if too_big.any():
        column = int(np.argmax(too_big.any(axis=0)))
        name = y_names[column]
        raise DataError(f"Target {name!r} has {int(too_big[:, column].sum())} value(s) beyond "
                        "+-3.4e38, which float32 (the model's precision) cannot hold; rescale "
                        f"it (e.g. df[{name!r}] / 1e6) or pass log_y=True.")
    return numbers.astype(np.float32)
