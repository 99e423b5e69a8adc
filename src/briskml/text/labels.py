"""Class labels encoded as integers, the classes taken from the training documents."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from briskml.errors import DataError
from briskml.frames import plain_value


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
    plain = [plain_value(value) for value in values.tolist()]
    unseen = sorted({str(value) for value in plain if value not in index})
    if unseen:
        raise DataError(f"{what} has label(s) {unseen[:5]} in validation rows but never in "
                        "training rows; every class needs training examples.")
    return np.array([index[value] for value in plain], dtype=np.int64), classes


def _sorted_classes(values: np.ndarray) -> list[Any]:
    classes = [plain_value(value) for value in values]
    try:
        return sorted(classes)
    except TypeError:  # mixed types: sort by their text
        return sorted(classes, key=str)
