"""Small samples of public datasets shipped inside the package (each with its licence file), and
the registry of the public datasets the lessons use (`fetch_dataset`, `dataset_path`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from briskml.datasets.registry import (
    dataset_path,
    fetch_dataset,
    get_dataset,
    is_fetched,
    list_datasets,
)
from briskml.datasets.reviews import synthetic_reviews
from briskml.errors import ConfigError

__all__ = [
    "ADULT_CAT_NAMES",
    "ADULT_CONT_NAMES",
    "adult_sample",
    "bundled_path",
    "dataset_path",
    "fetch_dataset",
    "get_dataset",
    "is_fetched",
    "list_datasets",
    "synthetic_reviews",
]

_DATA = Path(__file__).parent / "data"


def bundled_path(filename: str) -> Path:
    """Path of a file shipped in briskml/datasets/data (samples and their licences)."""
    path = _DATA / filename
    if not path.is_file():
        available = sorted(p.name for p in _DATA.iterdir()) if _DATA.is_dir() else []
        raise ConfigError(f"No bundled file {filename!r}; bundled files: {available}.")
    return path


# The lesson's input columns for the Adult sample (fast.ai lesson on tabular data).
ADULT_CAT_NAMES = ["workclass", "education", "marital-status", "occupation", "relationship",
                   "race"]
ADULT_CONT_NAMES = ["age", "fnlwgt", "education-num"]


def adult_sample() -> pd.DataFrame:
    """The bundled Adult sample: 5,000 rows, target `salary` ("<50k" / ">=50k"), CC BY 4.0.

    Example:
        >>> df = adult_sample()
        >>> df.shape
        (5000, 15)
    """
    return pd.read_csv(bundled_path("adult_sample.csv.gz"))
