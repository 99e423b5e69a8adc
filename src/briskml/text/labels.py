"""Training/validation splits of documents and class labels encoded as integers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import ConfigError, DataError


def split_documents(num_docs: int, valid_mask: np.ndarray | None, valid_pct: float,
                    seed: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(training rows, validation rows or None): from a boolean mask, else a random `valid_pct`.

    Rows stay in their original order inside each part. `seed` makes the random split repeat.
    """
    if num_docs == 0:
        raise DataError("There are no documents; give at least one text.")
    if valid_mask is not None:
        train, valid = np.flatnonzero(~valid_mask), np.flatnonzero(valid_mask)
    else:
        if not isinstance(valid_pct, (int, float)) or not 0 <= valid_pct < 1:
            raise ConfigError(f"valid_pct must be in [0, 1); got {valid_pct!r}.")
        order = np.random.default_rng(seed).permutation(num_docs)
        cut = int(valid_pct * num_docs)
        if valid_pct > 0 and cut == 0 and num_docs > 1:
            cut = 1  # a tiny corpus still gets one validation document
        train, valid = np.sort(order[cut:]), np.sort(order[:cut])
    if len(train) == 0:
        raise DataError("Every document is in the validation set; keep some for training.")
    return train.astype(np.int64), (valid.astype(np.int64) if len(valid) else None)


def encode_labels(values: pd.Series, train_docs: np.ndarray, what: str
                  ) -> tuple[np.ndarray, list[Any]]:
    """(class index of each row, classes sorted) with classes taken from the training rows."""
    missing = values.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise DataError(f"{what} has {int(missing.sum())} missing value(s) (first rows: {rows}); "
                        "drop those rows or fill in their labels.")
    classes = _sorted_classes(pd.unique(values.iloc[train_docs]))
    index = {value: code for code, value in enumerate(classes)}
    plain = [_plain(value) for value in values.tolist()]
    unseen = sorted({str(value) for value in plain if value not in index})
    if unseen:
        raise DataError(f"{what} has label(s) {unseen[:5]} in validation rows but never in "
                        "training rows; every class needs training examples.")
    return np.array([index[value] for value in plain], dtype=np.int64), classes


def _sorted_classes(values: np.ndarray) -> list[Any]:
    classes = [_plain(value) for value in values]
    try:
        return sorted(classes)
    except TypeError:  # mixed types: sort by their text
        return sorted(classes, key=str)


def _plain(value: Any) -> Any:
    """A JSON-able Python scalar for NumPy scalars (np.int64(1) -> 1)."""
    return value.item() if isinstance(value, np.generic) else value
