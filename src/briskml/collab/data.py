"""CollabData: ratings coded into tensors, split, batched, with titles and side features.

Users and items are coded from the training rows only: code i (1..n) is the i-th known id, and code
0 is reserved for an id never seen in training (it may still appear in the validation rows).
Everything is vectorised: ids are coded with `pandas.Index.get_indexer`, and batches are slices of
tensors (see `CollabLoader`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.collab.checks import check_bs, checked_ratings, column_names, valid_mask
from briskml.collab.features import FeatureTable, build_feature_table
from briskml.data import TensorLoader
from briskml.errors import ConfigError, DataError

Batch = tuple[Tensor, ...]
VALID_BS = 4096   # validation has no gradients, so bigger batches only save per-batch overhead
UNKNOWN = "<unknown>"


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
    """Ratings ready for a collab learner: coded users and items, train/valid loaders, titles,
    per-item rating counts and means, and optional side features.

    Build it with `CollabData.from_df`; `train` and `valid` are the loaders a Learner reads.
    """

    def __init__(self, names: tuple[str, str, str], users: pd.Index, items: pd.Index,
                 train: RatingTensors | None = None, valid: RatingTensors | None = None,
                 bs: int = 1024, item_titles: pd.Series | None = None,
                 user_features: FeatureTable | None = None,
                 item_features: FeatureTable | None = None,
                 rating_range: tuple[float, float] | None = None) -> None:
        self.user_name, self.item_name, self.rating_name = names
        self.users, self.items, self.bs = users, items, bs
        self.item_titles = item_titles
        self.user_features, self.item_features = user_features, item_features
        self.rating_range = rating_range
        self.train_ratings, self.valid_ratings = train, valid
        self.user_counts = _counts(train.users if train else None, self.n_users)
        self.item_counts = _counts(train.items if train else None, self.n_items)
        self.item_means = _means(train, self.item_counts)
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
        `numpy.random.RandomState(seed).permutation(len(ratings))[:int(valid_pct * len(ratings))]`.
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
        check_bs(bs)
        is_valid = valid_mask(len(frame), valid_pct, valid_idx, seed)
        users = pd.Index(pd.unique(frame[names[0]][~is_valid])).sort_values()
        items = pd.Index(pd.unique(frame[names[1]][~is_valid])).sort_values()
        user_table = _feature_table(user_features, names[0], users, "user_features")
        item_table = _feature_table(item_features, names[1], items, "item_features")
        coded = _code(frame, names, users, items, user_table, item_table)
        rating_values = frame[names[2]]
        return cls(names, users, items, coded.take(_positions(~is_valid)),
                   coded.take(_positions(is_valid)) if is_valid.any() else None, bs,
                   _titles(item_titles, names[1]), user_table, item_table,
                   (float(rating_values.min()), float(rating_values.max())))

    def _loader(self, ratings: RatingTensors | None, bs: int, shuffle: bool = False,
                drop_last: bool = False) -> CollabLoader | None:
        if ratings is None:
            return None
        # A dataset smaller than one batch still trains on its one short batch.
        drop_last = drop_last and len(ratings) >= bs
        return CollabLoader(ratings, bs, shuffle, drop_last,
                            self.user_features.table if self.user_features else None,
                            self.item_features.table if self.item_features else None)

    # ----- what the learner and the user read -----------------------------------------------------
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
        """Mean training rating (NaN for a learner loaded from a file)."""
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
        return _decode(self.users, codes)

    def item_ids(self, codes: Tensor | np.ndarray) -> np.ndarray:
        """Item id of each code (<unknown> for 0)."""
        return _decode(self.items, codes)

    def titles_of(self, ids: Any) -> np.ndarray | None:
        """Title of each item id (None where unknown), or None when no titles were given."""
        if self.item_titles is None:
            return None
        titles = self.item_titles.reindex(_as_index(ids)).to_numpy(dtype=object)
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

    # ----- export -------------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """What prediction needs, as JSON-able data: names, ids, titles, counts, features."""
        titles = self.item_titles
        return {
            "names": [self.user_name, self.item_name, self.rating_name],
            "users": self.users.tolist(),
            "items": self.items.tolist(),
            "titles": None if titles is None else [titles.index.tolist(), titles.tolist()],
            "user_counts": self.user_counts.tolist(),
            "item_counts": self.item_counts.tolist(),
            "item_means": self.item_means.tolist(),
            "rating_range": self.rating_range,
            "user_features": self.user_features.to_json() if self.user_features else None,
            "item_features": self.item_features.to_json() if self.item_features else None,
            "bs": self.bs,
        }

    @classmethod
    def from_export_state(cls, state: dict[str, Any]) -> CollabData:
        """Rebuild, without ratings, from `export_state`'s output."""
        titles = state["titles"]
        data = cls(
            tuple(state["names"]), pd.Index(state["users"]), pd.Index(state["items"]),
            bs=state["bs"],
            item_titles=None if titles is None else pd.Series(titles[1], index=titles[0],
                                                              name="title"),
            user_features=_table_from_json(state["user_features"]),
            item_features=_table_from_json(state["item_features"]),
            rating_range=tuple(state["rating_range"]) if state["rating_range"] else None,
        )
        data.user_counts = torch.tensor(state["user_counts"], dtype=torch.long)
        data.item_counts = torch.tensor(state["item_counts"], dtype=torch.long)
        data.item_means = torch.tensor(state["item_means"], dtype=torch.float32)
        return data


def _positions(mask: np.ndarray) -> Tensor:
    return torch.from_numpy(np.flatnonzero(mask))


# ----- coding -----------------------------------------------------------------------------------
def _code(frame: pd.DataFrame, names: tuple[str, str, str], users: pd.Index, items: pd.Index,
          user_table: FeatureTable | None, item_table: FeatureTable | None) -> RatingTensors:
    user_ids, item_ids = frame[names[0]], frame[names[1]]
    return RatingTensors(
        users=torch.from_numpy(users.get_indexer(user_ids) + 1),
        items=torch.from_numpy(items.get_indexer(item_ids) + 1),
        ratings=torch.from_numpy(frame[names[2]].to_numpy(dtype=np.float32)),
        user_rows=user_table.rows_for(user_ids) if user_table else None,
        item_rows=item_table.rows_for(item_ids) if item_table else None,
    )


def _feature_table(frame: Any, id_name: str, fit_ids: pd.Index,
                   argument: str) -> FeatureTable | None:
    return None if frame is None else build_feature_table(frame, id_name, fit_ids, argument)


def _table_from_json(state: dict[str, Any] | None) -> FeatureTable | None:
    return None if state is None else FeatureTable.from_json(state)


def _titles(item_titles: Any, item_name: str) -> pd.Series | None:
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
    series = series[~series.index.duplicated()].dropna().astype(str)
    return series.rename("title")


def _title_column(frame: pd.DataFrame, item_name: str) -> pd.Series:
    if item_name in frame.columns:
        frame = frame.set_index(item_name)
    if "title" in frame.columns:
        return frame["title"]
    if frame.shape[1] == 1:
        return frame.iloc[:, 0]
    raise DataError(f"item_titles has columns {list(frame.columns)}; give it the item column "
                    f"'{item_name}' and a 'title' column (or pass a Series id -> title).")


def _counts(codes: Tensor | None, num_codes: int) -> Tensor:
    if codes is None:
        return torch.zeros(num_codes, dtype=torch.long)
    return torch.bincount(codes, minlength=num_codes)


def _means(ratings: RatingTensors | None, counts: Tensor) -> Tensor:
    if ratings is None:
        return torch.zeros(len(counts))
    sums = torch.bincount(ratings.items, weights=ratings.ratings.double(), minlength=len(counts))
    return (sums / counts.clamp(min=1)).float()


def _decode(index: pd.Index, codes: Tensor | np.ndarray) -> np.ndarray:
    positions = np.asarray(codes.cpu() if isinstance(codes, Tensor) else codes) - 1
    values = index.to_numpy(dtype=object)[positions.clip(min=0)] if len(index) else np.empty(
        len(positions), dtype=object)
    values[positions < 0] = UNKNOWN
    return values


def _as_index(ids: Any) -> pd.Index:
    if isinstance(ids, (pd.Index, pd.Series, np.ndarray, list, tuple, Tensor)):
        return pd.Index(ids.tolist() if isinstance(ids, Tensor) else ids)
    return pd.Index([ids])
