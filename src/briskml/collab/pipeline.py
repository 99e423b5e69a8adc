"""CollabPipeline: what collab learns from the training ratings besides the weights, and how it
turns (user, item) rows into model inputs and model outputs into ratings.

It is fitted on the training ratings only (`CollabPipeline.fit`): the user and item id indexes
(code i in 1..n is the i-th known id; code 0 is kept for an id never seen in training), titles,
each id's number of ratings and each item's mean rating, the ratings' range and the side-feature
tables. It travels inside an exported learner as JSON (`to_json` / `from_json`), so a loaded
learner codes ids and reads features exactly as in training.

The checks of a ratings frame before fitting (`column_names`, `checked_ratings`) live here too;
each error names the column or argument, counts the rows affected and says how to fix it. The
caller's frame is never modified.

Example:
    >>> pipeline = data.pipeline                      # CollabData.from_df fitted it
    >>> users, items = pipeline.inputs(pd.DataFrame({"userId": [1], "movieId": [1]}))
    >>> pipeline.decode(learn.model(users, items))    # predicted ratings, a NumPy array
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.collab.export_checks import (
    columns_from_json,
    counts_from_json,
    ids_from_json,
    range_from_json,
    titles_from_json,
)
from briskml.collab.features import FeatureTable, build_feature_table, features_by_id
from briskml.errors import ConfigError, DataError, warn
from briskml.frames import check_columns, numeric_column, plain_value, require_frame
from briskml.schema import expect_dict, expect_key, expect_list, expect_optional, fail

UNKNOWN = "<unknown>"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


# ----- the ratings frame, before fitting --------------------------------------------------------
def column_names(ratings: Any, user_name: Any = None, item_name: Any = None,
                 rating_name: Any = None) -> tuple[Any, Any, Any]:
    """(user, item, rating) column names: as given, else the first three columns, checked."""
    ratings = require_frame(ratings, "ratings")
    given = (user_name, item_name, rating_name)
    if None in given and ratings.shape[1] < 3:
        raise DataError(f"The ratings have {ratings.shape[1]} column(s) {list(ratings.columns)}; "
                        "with no user_name / item_name / rating_name the first three are used, so "
                        "name the columns or add them.")
    names = tuple(plain_value(ratings.columns[i]) if name is None else name
                  for i, name in enumerate(given))
    check_columns(ratings, {"user_name": [names[0]], "item_name": [names[1]],
                            "rating_name": [names[2]]})
    return names


def checked_ratings(ratings: pd.DataFrame, names: tuple[Any, Any, Any]) -> pd.DataFrame:
    """The three columns as a new frame (the caller's is untouched), ratings as float64."""
    user_name, item_name, rating_name = names
    frame = ratings[[user_name, item_name, rating_name]]
    for name in (user_name, item_name):
        num_missing = int(frame[name].isna().sum())
        if num_missing:
            raise DataError(f"Column '{name}' has {num_missing} missing id(s); drop or fill those "
                            f"rows first (ratings.dropna(subset=['{name}'])).")
    values = _rating_values(frame[rating_name], rating_name)
    frame = pd.DataFrame({user_name: frame[user_name], item_name: frame[item_name],
                          rating_name: values}, index=frame.index)
    _warn_duplicates(frame, user_name, item_name)
    return frame


def _rating_values(column: pd.Series, name: Any) -> np.ndarray:
    """The ratings as float64, refusing (with the count and the fix) what would make the loss
    NaN or infinite: missing, infinite, or beyond float32, the precision the model trains in."""
    if pd.api.types.is_complex_dtype(column.dtype):
        raise DataError(f"Column '{name}' holds complex numbers; ratings must be real numbers.")
    values = numeric_column(column, str(name))
    huge = np.abs(np.where(np.isfinite(values), values, 0.0)) > _FLOAT32_MAX
    problems = (
        ("missing rating(s)", np.isnan(values),
         f"drop those rows (ratings.dropna(subset=['{name}']))"),
        ("infinite rating(s)", np.isinf(values),
         f"drop those rows (ratings = ratings[np.isfinite(ratings['{name}'])])"),
        ("rating(s) too large for float32, the precision the model trains in", huge,
         "rescale them or drop those rows"),
    )
    for what, rows, fix in problems:
        count = int(rows.sum())
        if count:
            raise DataError(f"Column '{name}' has {count} {what}; {fix} before building "
                            "CollabData.")
    return values


def _warn_duplicates(frame: pd.DataFrame, user_name: Any, item_name: Any) -> None:
    num_duplicates = int(frame.duplicated(subset=[user_name, item_name]).sum())
    if num_duplicates:
        warn(f"{num_duplicates} rating(s) repeat an earlier ({user_name}, {item_name}) pair; "
             "each is kept as a separate training example. Average them first "
             "(ratings.groupby([user, item]).mean()) if that is not what you want.")


def titles_by_id(item_titles: Any, item_name: Any) -> pd.Series | None:
    """`item_titles` (a frame with the item and 'title' columns, a Series or a mapping id ->
    title) as a Series of text titles indexed by item id, or None."""
    if item_titles is None:
        return None
    if isinstance(item_titles, pd.DataFrame):
        series = _title_column(item_titles, item_name)
    elif isinstance(item_titles, pd.Series):
        series = item_titles
    elif isinstance(item_titles, Mapping):
        series = pd.Series(dict(item_titles))
    else:
        raise DataError(f"item_titles must be a DataFrame, Series or mapping id -> title; got "
                        f"{type(item_titles).__name__}.")
    series = series[~series.index.duplicated() & series.index.notna()].dropna().astype(str)
    return series.rename("title")


def _title_column(frame: pd.DataFrame, item_name: Any) -> pd.Series:
    if item_name in frame.columns:
        frame = frame.set_index(item_name)
    if "title" in frame.columns:
        return frame["title"]
    if frame.shape[1] == 1:
        return frame.iloc[:, 0]
    raise DataError(f"item_titles has columns {list(frame.columns)}; give it the item column "
                    f"'{item_name}' and a 'title' column (or pass a Series id -> title).")


# ----- (user, item) rows as model inputs ---------------------------------------------------------
@dataclass
class CodedPairs:
    """Model inputs for some (user, item) rows, and which of their ids were seen in training
    (`*_known`) or have side features (`*_described`)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    inputs: tuple[Tensor, ...]   # (users, items) codes, then (user_x, item_x) with side features
    user_known: np.ndarray
    item_known: np.ndarray
    user_described: np.ndarray
    item_described: np.ndarray

    def fallback(self, reads_user_features: bool, reads_item_features: bool) -> np.ndarray:
        """True where an unseen id is predicted as the average one: it has no features, or the
        model does not read that side's features."""
        user_ok = self.user_known | (self.user_described & reads_user_features)
        item_ok = self.item_known | (self.item_described & reads_item_features)
        return ~(user_ok & item_ok)

    def unseen(self) -> np.ndarray:
        """Per row, which ids were not seen in training: "", "user", "item" or "user+item"."""
        labels = np.full(len(self.user_known), "", dtype=object)
        labels[~self.user_known] = "user"
        labels[~self.item_known] = "item"
        labels[~self.user_known & ~self.item_known] = "user+item"
        return labels

    def check_all_seen(self, user_name: Any, item_name: Any) -> None:
        """Raise naming the ids never seen in training (predict with unknown="error")."""
        for known, ids, name in ((self.user_known, self.user_ids, user_name),
                                 (self.item_known, self.item_ids, item_name)):
            if not known.all():
                examples = pd.unique(ids[~known])[:5].tolist()
                raise DataError(f"{int((~known).sum())} row(s) have a '{name}' never seen in "
                                f"training, e.g. {examples}; pass unknown='fallback' to predict "
                                "them from what the model knows (marked in the 'fallback' "
                                "column).")


# ----- the fitted pipeline -----------------------------------------------------------------------
class CollabPipeline:
    """The fitted state of a collab learner: column names, id indexes (code 0 = unknown), titles,
    rating counts and item means, the rating range and side-feature tables.

    Build it with `CollabPipeline.fit` (CollabData.from_df does) or `from_json`.
    """

    def __init__(self, names: tuple[Any, Any, Any], users: pd.Index, items: pd.Index,
                 item_titles: pd.Series | None = None,
                 user_features: FeatureTable | None = None,
                 item_features: FeatureTable | None = None,
                 counts_and_means: tuple[Tensor, Tensor, Tensor] | None = None,
                 rating_range: tuple[float, float] | None = None) -> None:
        self.user_name, self.item_name, self.rating_name = names
        self.users, self.items = users, items
        self.item_titles = item_titles
        self.user_features, self.item_features = user_features, item_features
        self.rating_range = rating_range
        if counts_and_means is None:   # no ratings: nobody rated anything
            counts_and_means = (torch.zeros(self.n_users, dtype=torch.long),
                                torch.zeros(self.n_items, dtype=torch.long),
                                torch.zeros(self.n_items))
        # Ratings per user code and per item code, and each item code's mean rating.
        self.user_counts, self.item_counts, self.item_means = counts_and_means

    @classmethod
    def fit(cls, frame: pd.DataFrame, names: tuple[Any, Any, Any], train: np.ndarray,
            item_titles: Any = None, user_features: pd.DataFrame | None = None,
            item_features: pd.DataFrame | None = None) -> CollabPipeline:
        """Fit on the training rows (`train`, positions) of a frame from `checked_ratings`."""
        rows = frame.iloc[train]
        user_ids, item_ids = rows[names[0]], rows[names[1]]
        users = pd.Index(pd.unique(user_ids)).sort_values()
        items = pd.Index(pd.unique(item_ids)).sort_values()
        ratings = rows[names[2]]
        # The means come from the float32 ratings the model trains on, as in briskml 0.1.0.
        stats = _counts_and_means(users.get_indexer(user_ids) + 1,
                                  items.get_indexer(item_ids) + 1,
                                  ratings.to_numpy(dtype=np.float32), len(users) + 1,
                                  len(items) + 1)
        return cls(names, users, items, titles_by_id(item_titles, names[1]),
                   _feature_table(user_features, names[0], users, "user_features"),
                   _feature_table(item_features, names[1], items, "item_features"),
                   stats, (float(ratings.min()), float(ratings.max())) if len(ratings) else None)

    # ----- ids and codes ----------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        """Number of user codes, counting the unknown code 0."""
        return len(self.users) + 1

    @property
    def n_items(self) -> int:
        """Number of item codes, counting the unknown code 0."""
        return len(self.items) + 1

    @property
    def has_features(self) -> bool:
        """Whether user or item side features were given."""
        return self.user_features is not None or self.item_features is not None

    @property
    def mean_rating(self) -> float:
        """Mean training rating (NaN when there were no ratings)."""
        counts = self.item_counts.sum()
        return float((self.item_means * self.item_counts).sum() / counts) if counts else np.nan

    def user_codes(self, ids: Any) -> np.ndarray:
        """Code of each user id (0 when unknown)."""
        return self.users.get_indexer(_as_index(ids)) + 1

    def item_codes(self, ids: Any) -> np.ndarray:
        """Code of each item id (0 when unknown)."""
        return self.items.get_indexer(_as_index(ids)) + 1

    def user_ids(self, codes: Tensor | np.ndarray) -> np.ndarray:
        """User id of each code (<unknown> for 0)."""
        return _ids_of(self.users, codes)

    def item_ids(self, codes: Tensor | np.ndarray) -> np.ndarray:
        """Item id of each code (<unknown> for 0)."""
        return _ids_of(self.items, codes)

    def titles_of(self, ids: Any) -> np.ndarray | None:
        """Title of each item id (None where unknown), or None when no titles were given."""
        if self.item_titles is None:
            return None
        titles = self.item_titles.reindex(_as_index(ids)).to_numpy(dtype=object, copy=True)
        titles[pd.isna(titles)] = None
        return titles

    def labels_of(self, ids: Any) -> list[str]:
        """Title of each item id where known, else the id, as text (for plots)."""
        ids = _as_index(ids)
        titles = self.titles_of(ids)
        if titles is None:
            return [str(item) for item in ids]
        return [str(title) if title is not None else str(item)
                for item, title in zip(ids, titles, strict=True)]

    def features_of(self, side: str, ids: Any, given: pd.DataFrame | None = None
                    ) -> tuple[Tensor, np.ndarray]:
        """(rows, width) side features of `ids` ("user" or "item" side) from `given` first, then
        the stored table, and whether each id has any; (rows, 0) for a side without features."""
        table = self.user_features if side == "user" else self.item_features
        argument, id_name = f"{side}_features", self.user_name if side == "user" else self.item_name
        if table is None:
            if given is not None:
                raise ConfigError(f"{argument} was given, but the learner was trained without "
                                  "them.")
            return torch.zeros(len(ids), 0), np.zeros(len(ids), dtype=bool)
        extra = features_by_id(given, id_name, argument) if given is not None else None
        return table.lookup(ids, extra)

    # ----- the Pipeline contract --------------------------------------------------------------
    def code_pairs(self, rows: Any, user_features: pd.DataFrame | None = None,
                   item_features: pd.DataFrame | None = None) -> CodedPairs:
        """Codes (0 = unseen) and, with side features, feature rows for each (user, item) row of
        the DataFrame `rows`, and which ids were seen; `*_features` describe new ids."""
        if not isinstance(rows, pd.DataFrame):
            raise DataError(f"predict takes a DataFrame with columns '{self.user_name}' and "
                            f"'{self.item_name}'; got {type(rows).__name__}.")
        check_columns(rows, {"user_name": [self.user_name], "item_name": [self.item_name]},
                      distinct=False)
        user_ids, item_ids = rows[self.user_name].to_numpy(), rows[self.item_name].to_numpy()
        users = torch.from_numpy(self.user_codes(user_ids))
        items = torch.from_numpy(self.item_codes(item_ids))
        user_x, user_described = self.features_of("user", user_ids, user_features)
        item_x, item_described = self.features_of("item", item_ids, item_features)
        inputs = (users, items, user_x, item_x) if self.has_features else (users, items)
        return CodedPairs(user_ids, item_ids, inputs, users.numpy() > 0, items.numpy() > 0,
                          user_described, item_described)

    def inputs(self, raw: Any, user_features: pd.DataFrame | None = None,
               item_features: pd.DataFrame | None = None) -> tuple[Tensor, ...]:
        """The model's input tensors for a DataFrame of (user, item) rows: codes, then the side
        features when the learner has them."""
        return self.code_pairs(raw, user_features, item_features).inputs

    def decode(self, outputs: Tensor | np.ndarray) -> np.ndarray:
        """The model's outputs as predicted ratings: one float per (user, item) row."""
        if isinstance(outputs, Tensor):
            outputs = outputs.detach().float().cpu().numpy()
        return np.asarray(outputs, dtype=np.float32).reshape(-1)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: columns, known users and items, titles, ratings, side features."""
        return {
            "columns": {"user": self.user_name, "item": self.item_name,
                        "rating": self.rating_name},
            "users": {"known": len(self.users), "examples": self.users[:3].tolist()},
            "items": {"known": len(self.items), "examples": self.items[:3].tolist(),
                      "titles": self.item_titles is not None},
            "rating_range": list(self.rating_range) if self.rating_range else None,
            "mean_rating": None if np.isnan(self.mean_rating) else self.mean_rating,
            "user_features": _feature_names(self.user_features),
            "item_features": _feature_names(self.item_features),
        }

    def to_json(self) -> dict[str, Any]:
        """The fitted state as JSON-able values (`from_json` rebuilds it)."""
        titles = self.item_titles
        return {
            "columns": {"user": self.user_name, "item": self.item_name,
                        "rating": self.rating_name},
            "users": self.users.tolist(),
            "items": self.items.tolist(),
            "titles": None if titles is None else {"ids": titles.index.tolist(),
                                                   "titles": titles.tolist()},
            "user_counts": self.user_counts.tolist(),
            "item_counts": self.item_counts.tolist(),
            "item_means": self.item_means.tolist(),
            "rating_range": list(self.rating_range) if self.rating_range else None,
            "user_features": self.user_features.to_json() if self.user_features else None,
            "item_features": self.item_features.to_json() if self.item_features else None,
        }

    @classmethod
    def from_json(cls, state: Any, field: str = "pipeline") -> CollabPipeline:
        """Rebuild what `to_json` wrote, checking every field first: a SchemaError names the one
        refused by its path under `field` (e.g. `pipeline.users[12]`)."""
        state = expect_dict(state, field)

        def read(key: str) -> tuple[Any, str]:
            return expect_key(state, key, field), f"{field}.{key}"

        users, items = ids_from_json(*read("users")), ids_from_json(*read("items"))
        return cls(columns_from_json(*read("columns")), users, items,
                   titles_from_json(*read("titles")),
                   expect_optional(*read("user_features"), FeatureTable.from_json),
                   expect_optional(*read("item_features"), FeatureTable.from_json),
                   counts_from_json(state, field, len(users), len(items)),
                   range_from_json(*read("rating_range")))

    def __repr__(self) -> str:
        return (f"CollabPipeline(user {self.user_name!r}: {len(self.users)} ids, item "
                f"{self.item_name!r}: {len(self.items)} ids, rating {self.rating_name!r})")


def pipeline_state_from_v1(state: Any, field: str = "extra.data") -> dict[str, Any]:
    """Today's pipeline JSON for what briskml 0.1.0 exported (`CollabData.export_state`: names,
    ids, [ids, titles], counts, means, range, feature tables, bs), checked field by field."""
    state = expect_dict(state, field)
    names = expect_list(expect_key(state, "names", field), f"{field}.names")
    if len(names) != 3:
        raise fail(f"{field}.names", f"must list the user, item and rating columns; got "
                   f"{len(names)} names")
    titles = expect_key(state, "titles", field)
    if titles is not None and len(expect_list(titles, f"{field}.titles")) != 2:
        raise fail(f"{field}.titles", "must be [ids, titles] or null")
    converted = {
        "columns": dict(zip(("user", "item", "rating"), names, strict=True)),
        "titles": None if titles is None else {"ids": titles[0], "titles": titles[1]},
        **{key: expect_key(state, key, field) for key in (
            "users", "items", "user_counts", "item_counts", "item_means", "rating_range",
            "user_features", "item_features")},
    }
    return CollabPipeline.from_json(converted, field).to_json()   # rebuilding checks it all


# ----- helpers -----------------------------------------------------------------------------------
def _counts_and_means(user_codes: np.ndarray, item_codes: np.ndarray, ratings: np.ndarray,
                      n_users: int, n_items: int) -> tuple[Tensor, Tensor, Tensor]:
    """Ratings per user and per item code, and each item's mean rating (0 for code 0)."""
    user_counts = np.bincount(user_codes, minlength=n_users)
    item_counts = np.bincount(item_codes, minlength=n_items)
    sums = np.bincount(item_codes, weights=ratings.astype(np.float64), minlength=n_items)
    means = sums / np.maximum(item_counts, 1)
    return (torch.from_numpy(user_counts).long(), torch.from_numpy(item_counts).long(),
            torch.from_numpy(means).float())


def _feature_table(frame: Any, id_name: Any, fit_ids: pd.Index,
                   argument: str) -> FeatureTable | None:
    return None if frame is None else build_feature_table(frame, id_name, fit_ids, argument)


def _feature_names(table: FeatureTable | None) -> list[str] | None:
    return None if table is None else [column.name for column in table.encoder.columns]


def _ids_of(index: pd.Index, codes: Tensor | np.ndarray) -> np.ndarray:
    positions = np.asarray(codes.cpu() if isinstance(codes, Tensor) else codes) - 1
    if len(index):
        values = index.to_numpy(dtype=object)[positions.clip(min=0)]
    else:
        values = np.empty(len(positions), dtype=object)
    values[positions < 0] = UNKNOWN
    return values


def _as_index(ids: Any) -> pd.Index:
    if isinstance(ids, Tensor):
        return pd.Index(ids.tolist())
    if isinstance(ids, (pd.Index, pd.Series, np.ndarray, list, tuple)):
        return pd.Index(ids)
    return pd.Index([ids])
