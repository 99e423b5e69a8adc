"""CollabData: ratings coded into tensors, split, batched, with the fitted CollabPipeline.

The pipeline is fitted on the training rows only: code i (1..n) is the i-th known id, and code 0 is
reserved for an id never seen in training (it may still appear in the validation rows). Everything
is vectorised: ids are coded with `pandas.Index.get_indexer`, and batches are slices of tensors
(see `CollabLoader`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.checks import check_positive_int
from briskml.collab.features import FeatureTable
from briskml.collab.pipeline import CollabPipeline, checked_ratings, column_names
from briskml.data import TensorLoader
from briskml.errors import ConfigError, warn
from briskml.splits import split

Batch = tuple[Tensor, ...]
VALID_BS = 4096   # validation has no gradients, so bigger batches only save per-batch overhead


@dataclass
class RatingTensors:
    """Coded ratings: user and item codes, ratings, and (with side features) each rating's row in
    the user and item feature tables, looked up by raw id so an unknown id keeps its features."""

    users: Tensor
    items: Tensor
    ratings: Tensor
    user_rows: Tensor | None = None
    item_rows: Tensor | None = None

    def __len__(self) -> int:
        return len(self.ratings)

    def take(self, index: Tensor) -> RatingTensors:
        """The ratings at these positions."""
        return RatingTensors(*(None if t is None else t.index_select(0, index)
                               for t in (self.users, self.items, self.ratings, self.user_rows,
                                         self.item_rows)))


class CollabLoader:
    """Batches `(users, items, rating)`, or `(users, items, user_x, item_x, rating)` with features.

    Batches are slices of tensors (a TensorLoader); with side features each batch also gathers its
    rows from the small per-id feature tables, so features are not copied once per rating. A side
    without features gives a (batch, 0) tensor.
    """

    def __init__(self, ratings: RatingTensors, bs: int, shuffle: bool = False,
                 drop_last: bool = False, user_table: Tensor | None = None,
                 item_table: Tensor | None = None) -> None:
        self.tables = None
        tensors = [ratings.users, ratings.items, ratings.ratings]
        if user_table is not None or item_table is not None:
            self.tables = (_table_or_empty(user_table), _table_or_empty(item_table))
            tensors[2:2] = [_rows_or_zeros(ratings.user_rows, len(ratings)),
                            _rows_or_zeros(ratings.item_rows, len(ratings))]
        self._loader = TensorLoader(*tensors, bs=bs, shuffle=shuffle, drop_last=drop_last)
        self.bs, self.has_target = bs, True

    def __len__(self) -> int:
        """Number of batches per pass."""
        return len(self._loader)

    @property
    def n(self) -> int:
        """Number of ratings."""
        return self._loader.n

    def __iter__(self) -> Iterator[Batch]:
        if self.tables is None:
            yield from self._loader
            return
        user_table, item_table = self.tables
        for users, items, user_rows, item_rows, ratings in self._loader:
            yield (users, items, user_table.index_select(0, user_rows),
                   item_table.index_select(0, item_rows), ratings)

    def to(self, device: str | torch.device) -> CollabLoader:
        """Move the tensors to `device` once."""
        self._loader.to(device)
        if self.tables is not None:
            self.tables = tuple(t.to(device) for t in self.tables)
        return self


def _table_or_empty(table: Tensor | None) -> Tensor:
    return table if table is not None else torch.zeros(1, 0)


def _rows_or_zeros(rows: Tensor | None, num_rows: int) -> Tensor:
    return rows if rows is not None else torch.zeros(num_rows, dtype=torch.long)


class CollabData:
    """Ratings ready for a collab learner: the fitted `pipeline` (ids, titles, counts, side
    features), the coded training and validation ratings, and their loaders.

    Build it with `CollabData.from_df`; `train` and `valid` are the loaders a Learner reads. A
    learner loaded from a file holds a CollabData with its pipeline and no ratings.
    """

    def __init__(self, pipeline: CollabPipeline, train: RatingTensors | None = None,
                 valid: RatingTensors | None = None, bs: int = 1024,
                 valid_idx: np.ndarray | None = None) -> None:
        self.pipeline, self.bs = pipeline, check_positive_int(bs, "bs")
        self.train_ratings, self.valid_ratings = train, valid
        # Positions, in the ratings frame, of the validation ratings (empty without any).
        self.valid_idx = np.zeros(0, dtype=np.int64) if valid_idx is None else valid_idx
        self.train = self._loader(train, bs, shuffle=True, drop_last=True)
        self.valid = self._loader(valid, max(bs, VALID_BS))
        self.test = None

    @classmethod
    def from_df(cls, ratings: pd.DataFrame, user_name: str | None = None,
                item_name: str | None = None, rating_name: str | None = None,
                valid_pct: float = 0.1, valid_idx: Any = None, seed: int | None = None,
                bs: int = 1024, item_titles: Any = None, user_features: pd.DataFrame | None = None,
                item_features: pd.DataFrame | None = None) -> CollabData:
        """Code users and items from the training rows, split, and batch the ratings.

        Columns default to the first three (user, item, rating), as in the lessons. `valid_idx`
        (row positions) overrides `valid_pct`; a seeded split takes
        `numpy.random.RandomState(seed).permutation(len(ratings))[:int(valid_pct * len(ratings))]`
        (at least one of two or more ratings when valid_pct > 0), as every briskml application
        splits.
        `item_titles` (a Series or mapping id -> title, or a frame with the item column and a
        'title' column) lets outputs show titles. `user_features` / `item_features` are frames
        with one row per id (indexed by id, or holding the id column) for the hybrid model.

        Example:
            >>> data = CollabData.from_df(ratings, valid_pct=0.1, seed=42, bs=64,
            ...                           item_titles=movies[["movieId", "title"]])
            >>> data.show_batch(5)
        """
        names = column_names(ratings, user_name, item_name, rating_name)
        frame = checked_ratings(ratings, names)
        check_positive_int(bs, "bs")
        train, valid = split(len(frame), valid_idx=valid_idx, valid_pct=valid_pct, seed=seed,
                             what="ratings")
        pipeline = CollabPipeline.fit(frame, names, train, item_titles, user_features,
                                      item_features)
        coded = _code(frame, pipeline)
        valid_ratings = coded.take(torch.from_numpy(valid)) if len(valid) else None
        if valid_ratings is not None:
            _report_unseen(valid_ratings, pipeline)
        return cls(pipeline, coded.take(torch.from_numpy(train)), valid_ratings, bs, valid)

    def _loader(self, ratings: RatingTensors | None, bs: int, shuffle: bool = False,
                drop_last: bool = False) -> CollabLoader | None:
        if ratings is None:
            return None
        # A dataset smaller than one batch still trains on its one short batch.
        drop_last = drop_last and len(ratings) >= bs
        return CollabLoader(ratings, bs, shuffle, drop_last,
                            self.user_features.table if self.user_features else None,
                            self.item_features.table if self.item_features else None)

    # ----- what the learner and the user read (the pipeline's, for short) -------------------------
    @property
    def user_name(self) -> Any:
        """The user id column."""
        return self.pipeline.user_name

    @property
    def item_name(self) -> Any:
        """The item id column."""
        return self.pipeline.item_name

    @property
    def rating_name(self) -> Any:
        """The rating column."""
        return self.pipeline.rating_name

    @property
    def users(self) -> pd.Index:
        """The user ids seen in training, sorted (user code i is users[i - 1])."""
        return self.pipeline.users

    @property
    def items(self) -> pd.Index:
        """The item ids seen in training, sorted (item code i is items[i - 1])."""
        return self.pipeline.items

    @property
    def n_users(self) -> int:
        """Number of user codes, counting the unknown code 0."""
        return self.pipeline.n_users

    @property
    def n_items(self) -> int:
        """Number of item codes, counting the unknown code 0."""
        return self.pipeline.n_items

    @property
    def has_features(self) -> bool:
        """Whether user or item side features were given."""
        return self.pipeline.has_features

    @property
    def item_titles(self) -> pd.Series | None:
        """Titles by item id, or None."""
        return self.pipeline.item_titles

    @property
    def user_features(self) -> FeatureTable | None:
        """The users' side features, or None."""
        return self.pipeline.user_features

    @property
    def item_features(self) -> FeatureTable | None:
        """The items' side features, or None."""
        return self.pipeline.item_features

    @property
    def user_counts(self) -> Tensor:
        """Training ratings per user code (0 for code 0)."""
        return self.pipeline.user_counts

    @property
    def item_counts(self) -> Tensor:
        """Training ratings per item code (0 for code 0)."""
        return self.pipeline.item_counts

    @property
    def item_means(self) -> Tensor:
        """Mean training rating per item code (0 for code 0)."""
        return self.pipeline.item_means

    @property
    def rating_range(self) -> tuple[float, float] | None:
        """(lowest, highest) training rating."""
        return self.pipeline.rating_range

    @property
    def mean_rating(self) -> float:
        """Mean training rating."""
        return self.pipeline.mean_rating

    def user_codes(self, ids: Any) -> np.ndarray:
        """Code of each user id (0 when unknown)."""
        return self.pipeline.user_codes(ids)

    def item_codes(self, ids: Any) -> np.ndarray:
        """Code of each item id (0 when unknown)."""
        return self.pipeline.item_codes(ids)

    def user_ids(self, codes: Tensor | np.ndarray) -> np.ndarray:
        """User id of each code (<unknown> for 0)."""
        return self.pipeline.user_ids(codes)

    def item_ids(self, codes: Tensor | np.ndarray) -> np.ndarray:
        """Item id of each code (<unknown> for 0)."""
        return self.pipeline.item_ids(codes)

    def titles_of(self, ids: Any) -> np.ndarray | None:
        """Title of each item id (None where unknown), or None when no titles were given."""
        return self.pipeline.titles_of(ids)

    def labels_of(self, ids: Any) -> list[str]:
        """Title of each item id where known, else the id, as text (for plots)."""
        return self.pipeline.labels_of(ids)

    def show_batch(self, n: int = 10) -> pd.DataFrame:
        """`n` random training ratings, decoded back to ids (and titles).

        Example:
            >>> data.show_batch(3)
               userId  movieId                     title  rating
        """
        if self.train_ratings is None:
            raise ConfigError("This CollabData holds no ratings (it came from an exported "
                              "learner); build one with CollabData.from_df to see batches.")
        sample = self.train_ratings.take(torch.randperm(len(self.train_ratings))[:n])
        frame = pd.DataFrame({self.user_name: self.user_ids(sample.users),
                              self.item_name: self.item_ids(sample.items)})
        titles = self.titles_of(frame[self.item_name])
        if titles is not None:
            frame["title"] = titles
        frame[self.rating_name] = sample.ratings.numpy()
        return frame

    def to(self, device: str | torch.device) -> CollabData:
        """Move the batches' tensors to `device` once (fast when the ratings fit on the GPU)."""
        for loader in (self.train, self.valid):
            if loader is not None:
                loader.to(device)
        return self

    def seen_items(self, user_code: int) -> Tensor:
        """Codes of the items this user rated in the training rows (empty without ratings)."""
        if self.train_ratings is None:
            return torch.zeros(0, dtype=torch.long)
        return self.train_ratings.items[self.train_ratings.users == user_code]

    def __repr__(self) -> str:
        num_train = len(self.train_ratings) if self.train_ratings is not None else 0
        num_valid = len(self.valid_ratings) if self.valid_ratings is not None else 0
        return (f"CollabData({num_train} train / {num_valid} valid ratings, "
                f"{len(self.users)} users, {len(self.items)} items, bs={self.bs})")


def _code(frame: pd.DataFrame, pipeline: CollabPipeline) -> RatingTensors:
    """Every rating of a checked frame coded by the pipeline; feature rows are looked up by raw
    id, so a validation rating of an unseen id keeps its features."""
    user_ids, item_ids = frame[pipeline.user_name], frame[pipeline.item_name]
    user_table, item_table = pipeline.user_features, pipeline.item_features
    return RatingTensors(
        users=torch.from_numpy(pipeline.user_codes(user_ids)),
        items=torch.from_numpy(pipeline.item_codes(item_ids)),
        ratings=torch.from_numpy(frame[pipeline.rating_name].to_numpy(dtype=np.float32)),
        user_rows=user_table.rows_for(user_ids) if user_table else None,
        item_rows=item_table.rows_for(item_ids) if item_table else None,
    )


def _report_unseen(ratings: RatingTensors, pipeline: CollabPipeline) -> None:
    """Count, in one BriskWarning, the validation ratings whose user or item the training ratings
    never saw: they are predicted as the average user or item, as at predict time."""
    users, items = int((ratings.users == 0).sum()), int((ratings.items == 0).sum())
    if users or items:
        warn(f"{users} validation rating(s) have a '{pipeline.user_name}' and {items} an "
             f"'{pipeline.item_name}' never seen in the training ratings; they are predicted as "
             "the average user or item (code 0), as predict does for unseen ids. Pass valid_idx "
             "to choose the validation ratings yourself.")
