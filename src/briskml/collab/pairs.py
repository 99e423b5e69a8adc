"""(user, item) pairs to model inputs: codes, side features, and which ids the model knows.

`CollabLearner.predict` and `recommend` build their inputs here; an id never seen in training gets
code 0, and with side features its feature row still comes from the stored table or from the
features the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from briskml.collab.data import CollabData
from briskml.collab.features import FeatureTable, features_by_id
from briskml.errors import ConfigError, DataError


@dataclass
class Pairs:
    """Model inputs for some (user, item) pairs, which ids were seen, and which rows fall back."""

    inputs: tuple[Tensor, ...]
    user_known: np.ndarray
    item_known: np.ndarray
    fallback: np.ndarray


def reads_features(model: nn.Module, side: str) -> bool:
    """Whether `model` reads side features of "user" or "item" (a hybrid built with them)."""
    return getattr(getattr(model, "config", None), f"n_{side}_features", 0) > 0


def pairs_for(data: CollabData, model: nn.Module, user_ids: Any, item_ids: Any,
              user_features: pd.DataFrame | None = None,
              item_features: pd.DataFrame | None = None) -> Pairs:
    """Codes (0 = unseen) and, with side features, feature rows for (user, item) id pairs."""
    users = torch.from_numpy(data.user_codes(user_ids))
    items = torch.from_numpy(data.item_codes(item_ids))
    user_known, item_known = users.numpy() > 0, items.numpy() > 0
    if not data.has_features:
        return Pairs((users, items), user_known, item_known, ~(user_known & item_known))
    user_x, user_described = side_features(data.user_features, user_ids, user_features,
                                           data.user_name, "user_features")
    item_x, item_described = side_features(data.item_features, item_ids, item_features,
                                           data.item_name, "item_features")
    # An unseen id is personalised only by a model that reads that side's features.
    user_ok = user_known | (user_described & reads_features(model, "user"))
    item_ok = item_known | (item_described & reads_features(model, "item"))
    return Pairs((users, items, user_x, item_x), user_known, item_known, ~(user_ok & item_ok))


def id_columns(df: Any, user_name: str, item_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The user and item id columns of a frame to predict, checked."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"predict takes a DataFrame with columns '{user_name}' and '{item_name}'; "
                        f"got {type(df).__name__}.")
    missing = [name for name in (user_name, item_name) if name not in df.columns]
    if missing:
        raise DataError(f"Column(s) {missing} are not in the frame to predict; it has "
                        f"{list(df.columns)}. Give one row per (user, item) pair.")
    return df[user_name].to_numpy(), df[item_name].to_numpy()


def side_features(table: FeatureTable | None, ids: Any, extra: pd.DataFrame | None,
                  id_name: str, argument: str) -> tuple[Tensor, np.ndarray]:
    """(rows, width) features of `ids` and whether each id has any; (rows, 0) without a table."""
    if table is None:
        if extra is not None:
            raise ConfigError(f"{argument} was given, but the learner was trained without them.")
        return torch.zeros(len(ids), 0), np.zeros(len(ids), dtype=bool)
    given = features_by_id(extra, id_name, argument) if extra is not None else None
    return table.lookup(ids, given)


def raise_on_unseen(pairs: Pairs, user_ids: np.ndarray, item_ids: np.ndarray,
                    data: CollabData) -> None:
    """Raise naming the unseen ids (predict with unknown="error")."""
    for known, ids, name in ((pairs.user_known, user_ids, data.user_name),
                             (pairs.item_known, item_ids, data.item_name)):
        if not known.all():
            examples = pd.unique(ids[~known])[:5].tolist()
            raise DataError(f"{int((~known).sum())} row(s) have a '{name}' never seen in training, "
                            f"e.g. {examples}; pass unknown='fallback' to predict them from what "
                            "the model knows (marked in the 'fallback' column).")


def unseen_labels(user_unseen: np.ndarray, item_unseen: np.ndarray) -> np.ndarray:
    """Per row, which ids were not seen in training: "", "user", "item" or "user+item"."""
    labels = np.full(len(user_unseen), "", dtype=object)
    labels[user_unseen] = "user"
    labels[item_unseen] = "item"
    labels[user_unseen & item_unseen] = "user+item"
    return labels
