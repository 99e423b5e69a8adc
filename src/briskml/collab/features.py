"""Side features of users or items (genres, year, age ...) as one float row per id.

Numbers are standardised (missing values become the mean, i.e. 0), booleans become 0/1, and text or
categorical columns become one-hot columns over the categories of the fitted rows (an unseen
category is all zeros). The fitting uses only the ids that have training ratings, and the fitted
state is JSON, so an exported learner encodes new users or items exactly as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from pandas.api import types as ptypes
from torch import Tensor

from briskml.errors import DataError


@dataclass(frozen=True)
class ColumnEncoding:
    """How one feature column becomes floats: standardised number, 0/1 flag, or one-hot."""

    name: str
    kind: str                          # "numeric", "bool" or "category"
    mean: float = 0.0
    std: float = 1.0
    categories: tuple[Any, ...] = ()

    @property
    def width(self) -> int:
        """Number of float columns this column becomes."""
        return len(self.categories) if self.kind == "category" else 1

    def encode(self, values: pd.Series) -> np.ndarray:
        """(rows, width) float32 array for these values."""
        if self.kind == "category":
            codes = pd.Index(list(self.categories)).get_indexer(values)   # -1: unseen
            one_hot = np.zeros((len(values), self.width), dtype=np.float32)
            known = codes >= 0
            one_hot[np.flatnonzero(known), codes[known]] = 1.0
            return one_hot
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        if self.kind == "numeric":
            numbers = (numbers - self.mean) / self.std
        return np.nan_to_num(numbers, nan=0.0).astype(np.float32)[:, None]


@dataclass(frozen=True)
class FeatureEncoder:
    """The fitted encoding of a features frame's columns."""

    columns: tuple[ColumnEncoding, ...]

    @property
    def num_features(self) -> int:
        """Width of an encoded row."""
        return sum(column.width for column in self.columns)

    def encode(self, frame: pd.DataFrame) -> Tensor:
        """(rows, num_features) float32 tensor for a features frame with the fitted columns."""
        missing = [column.name for column in self.columns if column.name not in frame.columns]
        if missing:
            raise DataError(f"The features frame lacks column(s) {missing} that the model was "
                            f"trained with; it has {list(frame.columns)}.")
        parts = [column.encode(frame[column.name]) for column in self.columns]
        return torch.from_numpy(np.concatenate(parts, axis=1) if parts else
                                np.zeros((len(frame), 0), dtype=np.float32))

    def to_json(self) -> list[dict[str, Any]]:
        """The fitted state as JSON-able data."""
        return [{"name": c.name, "kind": c.kind, "mean": c.mean, "std": c.std,
                 "categories": list(c.categories)} for c in self.columns]

    @classmethod
    def from_json(cls, state: list[dict[str, Any]]) -> FeatureEncoder:
        """Rebuild from `to_json`'s output."""
        return cls(tuple(ColumnEncoding(item["name"], item["kind"], item["mean"], item["std"],
                                        tuple(item["categories"])) for item in state))


def fit_encoder(frame: pd.DataFrame, argument: str) -> FeatureEncoder:
    """Fit one ColumnEncoding per column of `frame` (the rows of ids with training ratings)."""
    return FeatureEncoder(tuple(_fit_column(frame[name], argument) for name in frame.columns))


def _fit_column(values: pd.Series, argument: str) -> ColumnEncoding:
    name = str(values.name)
    if ptypes.is_bool_dtype(values):
        return ColumnEncoding(name, "bool")
    if ptypes.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        mean = float(finite.mean()) if finite.size else 0.0
        std = float(finite.std()) if finite.size > 1 else 0.0
        return ColumnEncoding(name, "numeric", mean, std if std > 0 else 1.0)
    if ptypes.is_object_dtype(values) or ptypes.is_string_dtype(values) or isinstance(
            values.dtype, pd.CategoricalDtype):
        categories = sorted(values.dropna().unique().tolist(), key=str)
        return ColumnEncoding(name, "category", categories=tuple(categories))
    raise DataError(f"{argument} column '{name}' has dtype {values.dtype}, which briskml cannot "
                    "encode; convert it to numbers (e.g. a date to its year) or to text "
                    "categories.")


class FeatureTable:
    """Encoded side features by id: row 0 is 'no features' (all zeros), then one row per id."""

    def __init__(self, ids: pd.Index, raw: pd.DataFrame, encoder: FeatureEncoder) -> None:
        self.ids, self.raw, self.encoder = ids, raw, encoder
        encoded = encoder.encode(raw)
        self.table = torch.cat([torch.zeros(1, encoded.shape[1]), encoded])

    @property
    def num_features(self) -> int:
        """Width of a feature row."""
        return self.encoder.num_features

    def rows_for(self, ids: Any) -> Tensor:
        """Row of each id in `table` (0 where the id has no features)."""
        return torch.from_numpy(self.ids.get_indexer(ids) + 1).long()

    def lookup(self, ids: Any, extra: pd.DataFrame | None = None) -> tuple[Tensor, np.ndarray]:
        """Feature rows of `ids` (`extra` first, then this table) and whether each is known."""
        rows = self.table.index_select(0, self.rows_for(ids))
        known = self.ids.get_indexer(ids) >= 0
        if extra is not None and len(extra):
            position = extra.index.get_indexer(ids)
            given = position >= 0
            rows[torch.from_numpy(given)] = self.encoder.encode(extra.iloc[position[given]])
            known = known | given
        return rows, known

    def to_json(self) -> dict[str, Any]:
        """Ids, raw values and the fitted encoding, as JSON-able data."""
        return {"ids": self.ids.tolist(), "encoder": self.encoder.to_json(),
                "columns": {str(name): self.raw[name].tolist() for name in self.raw.columns}}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> FeatureTable:
        """Rebuild from `to_json`'s output."""
        raw = pd.DataFrame(state["columns"])
        return cls(pd.Index(state["ids"]), raw, FeatureEncoder.from_json(state["encoder"]))


def features_by_id(frame: Any, id_name: str, argument: str) -> pd.DataFrame:
    """A features frame indexed by id: the `id_name` column if present, else the frame's index."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{argument} must be a pandas DataFrame of features, one row per id; got "
                        f"{type(frame).__name__}.")
    if id_name in frame.columns:
        frame = frame.set_index(id_name)
    if frame.index.has_duplicates:
        duplicated = frame.index[frame.index.duplicated()].unique().tolist()[:5]
        raise DataError(f"{argument} has more than one row for id(s) {duplicated}; keep one row "
                        f"per {id_name}.")
    if frame.shape[1] == 0:
        raise DataError(f"{argument} has no feature columns besides the id '{id_name}'.")
    return frame


def build_feature_table(frame: Any, id_name: str, fit_ids: pd.Index,
                        argument: str) -> FeatureTable:
    """Index `frame` by id, fit the encoding on the ids with training ratings, encode every row."""
    frame = features_by_id(frame, id_name, argument)
    fit_rows = frame.loc[frame.index.intersection(fit_ids)]
    if len(fit_rows) == 0:
        raise DataError(f"{argument} has no row for any {id_name} in the training ratings; its "
                        f"index (or its '{id_name}' column) must hold the same ids as the ratings.")
    encoder = fit_encoder(fit_rows, argument)
    return FeatureTable(frame.index, frame.reset_index(drop=True), encoder)
