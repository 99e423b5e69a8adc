"""Side features of users or items (genres, year, age ...) as one float row per id.

Numbers are standardised (missing values become the mean, i.e. 0), booleans become 0/1, and text or
categorical columns become one-hot columns over the categories of the fitted rows (an unseen
category is all zeros). The fitting uses only the ids that have training ratings, and the fitted
state is JSON, so an exported learner encodes new users or items exactly as in training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from pandas.api import types as ptypes
from torch import Tensor

from briskml.collab.export_checks import ids_from_json
from briskml.errors import DataError
from briskml.frames import numeric_column, plain_value
from briskml.schema import (
    expect_dict,
    expect_key,
    expect_list,
    expect_number,
    expect_str,
    fail,
    is_json_scalar,
    shown,
)

KINDS = ("numeric", "bool", "category")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


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
        numbers = numeric_column(values, self.name)   # text that is not a number is refused
        if self.kind == "numeric":
            numbers = (numbers - self.mean) / self.std
        with np.errstate(over="ignore"):
            encoded = np.nan_to_num(numbers, nan=0.0, posinf=np.inf, neginf=-np.inf
                                    ).astype(np.float32)
        _refuse_non_finite(encoded, values, self.name)
        return encoded[:, None]


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
    def from_json(cls, state: Any, field: str = "encoder") -> FeatureEncoder:
        """Rebuild from `to_json`'s output, checking every field (a SchemaError names the one
        refused, by its path under `field`)."""
        columns: list[ColumnEncoding] = []
        for position, item in enumerate(expect_list(state, field)):
            column = _column_from_json(item, f"{field}[{position}]")
            if any(column.name == earlier.name for earlier in columns):
                raise fail(f"{field}[{position}].name", f"repeats the column {column.name!r}; "
                           "each feature column is encoded once")
            columns.append(column)
        if not columns:
            raise fail(field, "is empty; a feature table encodes at least one column")
        return cls(tuple(columns))


def _column_from_json(item: Any, field: str) -> ColumnEncoding:
    item = expect_dict(item, field)
    name = expect_str(expect_key(item, "name", field), f"{field}.name")
    kind = expect_str(expect_key(item, "kind", field), f"{field}.kind", KINDS)
    mean = expect_number(expect_key(item, "mean", field), f"{field}.mean")
    std = expect_number(expect_key(item, "std", field), f"{field}.std", positive=True)
    categories = expect_key(item, "categories", field)
    ids_from_json(categories, f"{field}.categories", "category")   # distinct strings or numbers
    return ColumnEncoding(name, kind, mean, std, tuple(categories))


def _refuse_non_finite(encoded: np.ndarray, values: pd.Series, name: str) -> None:
    """Infinite values (or ones too far out to be float32) would make every loss NaN."""
    bad = ~np.isfinite(encoded)
    if bad.any():
        example = plain_value(values.iloc[int(np.flatnonzero(bad)[0])])
        raise DataError(f"Feature column '{name}' has {int(bad.sum())} value(s) that are "
                        f"infinite or too large to encode as float32, e.g. {example!r}; replace "
                        "them with NaN (a missing value counts as the column's mean) or drop "
                        "those rows.")


def fit_encoder(frame: pd.DataFrame, argument: str) -> FeatureEncoder:
    """Fit one ColumnEncoding per column of `frame` (the rows of ids with training ratings)."""
    return FeatureEncoder(tuple(_fit_column(frame[name], argument) for name in frame.columns))


def _fit_column(values: pd.Series, argument: str) -> ColumnEncoding:
    name = str(values.name)
    if ptypes.is_bool_dtype(values):
        return ColumnEncoding(name, "bool")
    if ptypes.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = numbers[np.isfinite(numbers)]
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size > 1 else 0.0
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise DataError(f"{argument} column '{name}' has values too large to standardise "
                            f"(up to {np.abs(finite).max():g}); rescale it, e.g. divide it by "
                            "a power of ten.")
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
    def from_json(cls, state: Any, field: str = "features") -> FeatureTable:
        """Rebuild from `to_json`'s output, checking every field (a SchemaError names the one
        refused, by its path under `field`): distinct ids, the encoding, and one raw value per
        id in each encoded column."""
        state = expect_dict(state, field)
        ids = ids_from_json(expect_key(state, "ids", field), f"{field}.ids")
        encoder = FeatureEncoder.from_json(expect_key(state, "encoder", field), f"{field}.encoder")
        columns = expect_dict(expect_key(state, "columns", field), f"{field}.columns")
        raw = _raw_from_json(columns, encoder, len(ids), f"{field}.columns")
        return cls(ids, raw, encoder)


def _raw_from_json(columns: dict[str, Any], encoder: FeatureEncoder, num_ids: int,
                   field: str) -> pd.DataFrame:
    """The raw feature values: a column per encoded name, one value per id, each a number (or
    true/false) for numeric and bool columns, a string or number for categories, or missing
    (null, or NaN as `to_json` gives it before JSON turns it into null)."""
    names = [column.name for column in encoder.columns]
    extra = [name for name in columns if name not in names]
    if extra:
        raise fail(f"{field}.{extra[0]}", "is not a column the encoder knows "
                   f"(it encodes {names})")
    raw = {}
    for column in encoder.columns:
        path = f"{field}.{column.name}"
        values = expect_list(expect_key(columns, column.name, field), path)
        if len(values) != num_ids:
            raise fail(path, f"has {len(values)} values but the table has {num_ids} ids; "
                       "each id has one value per column")
        for position, value in enumerate(values):
            if not _is_missing(value) and not _is_raw_value(value, column.kind):
                wanted = "a string, a number" if column.kind == "category" else "a finite number"
                raise fail(f"{path}[{position}]", f"must be {wanted} or null; got {shown(value)}")
        raw[column.name] = values
    return pd.DataFrame(raw)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_raw_value(value: Any, kind: str) -> bool:
    if isinstance(value, str):
        return kind == "category"
    return is_json_scalar(value)


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
    # The encoding (and an export's JSON) names columns by text: a numbered column 5 is '5'.
    return frame.rename(columns=str)


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
